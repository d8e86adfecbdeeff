"""Approval flows in one process (Celery eager): a request handed to a flow, the run that
waits for an approval without holding a worker, and the decision that wakes it.

The same path with a real worker is in tests/integration/test_approval_flows.py.
"""

import copy
import datetime
import json
import uuid
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from approvals import hooks
from approvals.models import ApprovalEntry, ApprovalRequest, ApprovalUserSetup
from approvals.services import (
    approval_entry_approve,
    approval_entry_reject,
    approval_entry_respond,
    approval_request_cancel_for,
    approval_request_send,
    approvals_overdue_process,
)
from automate.connectors import find_action
from automate.connectors.base import ActionCall
from automate.designer import designer_catalog
from automate.engine import execution
from automate.engine.runner import automate_tick, flow_run_execute
from automate.gallery import GALLERY
from automate.models import FlowRun, RunStatus, StepStatus, TriggerEvent
from automate.services import (
    flow_create,
    flow_run_cancel,
    flow_run_start,
    flow_set_enabled,
    flow_update,
)
from automate.services.approval_flows import (
    approval_flow_names,
    flow_approvals_cancel,
    workflow_list_rows,
)
from records import services as records
from records.models import Membership, SalesOrder
from tests.factories import CustomerFactory, ItemFactory, MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db

START = "Start_and_wait_for_an_approval"
START_TYPE = "approvals.start_and_wait_for_approval"


# -- Personas and data ----------------------------------------------------------------------


@pytest.fixture
def approver(company):
    user = UserFactory(username="approver", email="approver@example.com")
    MembershipFactory(user=user, company=company)
    return user


@pytest.fixture
def setup(company, sales, approver):
    """sales approves up to 1,000 and asks approver, who approves anything."""
    ApprovalUserSetup.objects.create(
        company=company, user=sales, approver=approver, sales_amount_approval_limit=1000
    )
    ApprovalUserSetup.objects.create(
        company=company,
        user=approver,
        sales_amount_approval_limit=0,
        unlimited_sales_approval=True,
        email="approvals@example.com",
    )


def make_order(company, user, *, amount=Decimal("2500"), customer=None):
    customer = customer or CustomerFactory(company=company)
    order = records.sales_order_create(company=company, user=user, customer=customer)
    item = ItemFactory(company=company, unit_price=amount)
    records.sales_order_line_add(order=order, user=user, item=item, quantity=1)
    order.refresh_from_db()
    return order


@pytest.fixture
def decided(django_capture_on_commit_callbacks):
    """Decide as a view would: the decision commits, and what it queued runs."""

    def decide(service, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return service(**kwargs)

    return decide


@pytest.fixture
def order(company, sales):
    return make_order(company, sales)


def template_flow(company, owner, **trigger):
    template = GALLERY["request-approval-for-a-sales-order"]
    definition = copy.deepcopy(template.definition)
    definition["trigger"].update(trigger)
    return flow_create(
        company=company,
        owner=owner,
        name=template.title,
        definition=definition,
        template_key=template.key,
    )


def approval_flow(company, owner, table=36, filters=None, name="Approval flow", steps=None):
    trigger = {"type": "approval_requested", "table": table}
    if filters is not None:
        trigger["filters"] = filters
    return flow_create(
        company=company,
        owner=owner,
        name=name,
        definition={"schemaVersion": 1, "trigger": trigger, "steps": steps or []},
    )


def waiting_flow(company, owner, **inputs):
    """An instant flow whose one step starts an approval and waits for it."""
    step_inputs = {"approvalType": "first", "title": "Buy a van", "assignedTo": "approver"}
    step_inputs.update(inputs)
    return flow_create(
        company=company,
        owner=owner,
        name="Ask",
        definition={
            "schemaVersion": 1,
            "trigger": {"type": "selected_record", "table": 18, "inputs": []},
            "steps": [{"name": START, "type": START_TYPE, "inputs": step_inputs}],
        },
    )


def start_run(flow, owner):
    run = flow_run_start(flow=flow, trigger_data={"body": {}, "headers": {}}, user=owner)
    flow_run_execute(run_id=run.pk)
    run.refresh_from_db()
    return run


def flow_approval(run=None):
    approvals = ApprovalRequest.objects.filter(kind=ApprovalRequest.Kind.FLOW_APPROVAL)
    if run is not None:
        approvals = approvals.filter(flow_run_id=run.pk)
    return approvals.get()


def entry_of(request, user):
    return ApprovalEntry.objects.get(request=request, approver=user)


def send(order, user, callbacks):
    with callbacks(execute=True):
        return approval_request_send(record=order, user=user)


def only_run(flow):
    return FlowRun.objects.get(flow=flow)


# -- Which flows take a request --------------------------------------------------------------


def test_an_approval_flow_on_the_table_takes_the_request(company, sales):
    approval_flow(company, sales, name="Orders")
    approval_flow(company, sales, table=18, name="Customers")
    off = approval_flow(company, sales, name="Off")
    flow_set_enabled(flow=off, user=sales, enabled=False)

    assert approval_flow_names(company.pk, 36, {"status": "Open"}) == ["Orders"]
    assert approval_flow_names(company.pk, 18, {}) == ["Customers"]
    assert approval_flow_names(company.pk, 27, {}) == []
    # Registered with approvals, which asks every finder.
    assert approval_flow_names in hooks.approval_flow_finders


def test_conditions_on_fields_decide_which_requests_a_flow_takes(company, sales):
    approval_flow(
        company,
        sales,
        filters=[
            {"field": "customerNumber", "value": "c10000"},
            {"field": "totalAmountExcludingTax", "operator": "gt", "value": "1000"},
        ],
    )

    assert approval_flow_names(
        company.pk, 36, {"customerNumber": "C10000", "totalAmountExcludingTax": 2500.0}
    ) == ["Approval flow"]
    assert (
        approval_flow_names(
            company.pk, 36, {"customerNumber": "C10000", "totalAmountExcludingTax": 900.0}
        )
        == []
    )
    assert (
        approval_flow_names(
            company.pk, 36, {"customerNumber": "C20000", "totalAmountExcludingTax": 2500.0}
        )
        == []
    )


def test_a_flow_whose_owner_may_not_use_power_automate_takes_nothing(
    company, sales, colleague, order, django_capture_on_commit_callbacks
):
    approval_flow(company, colleague)
    Membership.objects.filter(user=colleague, company=company).delete()

    assert approval_flow_names(company.pk, 36, {}) == []
    with pytest.raises(ValidationError, match="No approval workflow"):
        send(order, sales, django_capture_on_commit_callbacks)
    assert not ApprovalRequest.objects.exists()
    order.refresh_from_db()
    assert order.status == SalesOrder.Status.OPEN


def test_another_companys_flows_take_nothing(company, other_company, outsider):
    approval_flow(other_company, outsider)

    assert approval_flow_names(company.pk, 36, {}) == []


def test_the_trigger_takes_only_approvable_tables_and_known_fields(company, sales):
    with pytest.raises(ValidationError, match="choose what is sent for approval"):
        approval_flow(company, sales, table=37)
    with pytest.raises(ValidationError, match="nope is not a field"):
        approval_flow(company, sales, filters=[{"field": "nope", "value": "x"}])
    with pytest.raises(ValidationError, match="at most 4 conditions"):
        approval_flow(company, sales, filters=[{"field": "status", "value": "Open"}] * 5)
    with pytest.raises(ValidationError, match="unknown keys conditions"):
        flow_create(
            company=company,
            owner=sales,
            name="Expressions",
            definition={
                "schemaVersion": 1,
                "trigger": {
                    "type": "approval_requested",
                    "table": 36,
                    "conditions": ["@equals(1, 1)"],
                },
                "steps": [],
            },
        )


# -- Sending a request to the template flow --------------------------------------------------


def test_sending_an_order_starts_the_template_flow_which_waits_for_the_approver(
    company, sales, approver, setup, order, django_capture_on_commit_callbacks
):
    flow = template_flow(company, sales)

    request = send(order, sales, django_capture_on_commit_callbacks)

    assert (request.kind, request.status) == (ApprovalRequest.Kind.FLOW_ENTRY, "open")
    assert request.flow_name == flow.name
    order.refresh_from_db()
    assert order.status == SalesOrder.Status.PENDING_APPROVAL
    event = TriggerEvent.objects.get(flow=flow)
    assert (event.status, event.trigger_type) == (TriggerEvent.Status.STARTED, "approval_requested")
    body = event.trigger_data["body"]
    assert body["approvalRequestId"] == str(request.system_id)
    assert body["number"] == order.no and body["amount"] == 2500.0
    assert (body["requesterUserName"], body["requesterEmail"]) == ("sales", sales.email)
    assert (body["approverUserName"], body["approverEmail"]) == (
        "approver",
        "approvals@example.com",
    )
    assert body["recordLink"].endswith(body["recordUrl"]) and body["recordUrl"]
    assert (body["documentType"], body["tableId"]) == ("Sales Order", 36)
    # The run waits as a row: no worker holds it, and the tick wakes it when it expires.
    run = event.run
    run.refresh_from_db()
    assert run.status == RunStatus.WAITING
    assert (run.lease_token, run.lease_until) == (None, None)
    approval = flow_approval(run)
    assert run.wake_at == approval.expires_at
    assert approval.expires_at > timezone.now() + datetime.timedelta(days=29)
    assert approval.title == (
        f"Sales order {order.no} for {order.sell_to_customer_name}: 2500 {body['currencyCode']}"
    )
    assert approval.link == body["recordLink"]
    assert [e.approver for e in approval.entries.all()] == [approver]
    assert (approval.flow_id, approval.requester) == (flow.pk, sales)
    step = run.steps.get(path=START)
    assert step.status == StepStatus.WAITING
    assert step.outputs["name"] == str(approval.system_id)
    assert step.outputs["assignedTo"] == ["approver"]


def test_approving_wakes_the_run_at_once_and_releases_the_order(
    company, sales, approver, setup, order, django_capture_on_commit_callbacks
):
    flow = template_flow(company, sales)
    request = send(order, sales, django_capture_on_commit_callbacks)
    approval = flow_approval()

    with django_capture_on_commit_callbacks(execute=True):
        approval_entry_approve(entry=entry_of(approval, approver), user=approver, comment="Fine")

    # No tick: the decision woke the run.
    run = only_run(flow)
    assert run.status == RunStatus.SUCCEEDED, run.error
    outputs = run.steps.get(path=START).outputs["body"]
    assert (outputs["outcome"], outputs["status"]) == ("Approve", "Approved")
    assert outputs["responses"][0]["responder"]["userName"] == "approver"
    assert outputs["responses"][0]["comments"] == "Fine"
    assert outputs["responseSummary"] == "approver: Approve"
    assert outputs["completionDate"]
    assert dict(run.steps.values_list("path", "status")) == {
        START: "Succeeded",
        "Approved": "Succeeded",
        "Approve_the_request": "Succeeded",
        "Cancel_the_request": "Skipped",
    }
    request.refresh_from_db()
    assert (request.status, request.decided_by) == ("approved", sales)
    order.refresh_from_db()
    assert order.status == SalesOrder.Status.RELEASED


def test_rejecting_reopens_the_order(
    company, sales, approver, setup, order, django_capture_on_commit_callbacks
):
    flow = template_flow(company, sales)
    request = send(order, sales, django_capture_on_commit_callbacks)

    with django_capture_on_commit_callbacks(execute=True):
        approval_entry_reject(entry=entry_of(flow_approval(), approver), user=approver)

    run = only_run(flow)
    assert run.status == RunStatus.SUCCEEDED, run.error
    assert run.steps.get(path=START).outputs["body"]["outcome"] == "Reject"
    assert run.steps.get(path="Reject_the_request").status == StepStatus.SUCCEEDED
    request.refresh_from_db()
    assert request.status == "rejected"
    order.refresh_from_db()
    assert order.status == SalesOrder.Status.OPEN


def test_a_requester_without_an_approver_gets_the_request_cancelled(
    company, sales, order, django_capture_on_commit_callbacks
):
    flow = template_flow(company, sales)

    request = send(order, sales, django_capture_on_commit_callbacks)

    run = only_run(flow)
    start = run.steps.get(path=START)
    assert start.status == StepStatus.FAILED
    assert "Assigned to is empty" in start.error["message"]
    assert run.steps.get(path="Cancel_the_request").status == StepStatus.SUCCEEDED
    request.refresh_from_db()
    assert request.status == "canceled"
    order.refresh_from_db()
    assert order.status == SalesOrder.Status.OPEN


def test_cancelling_the_request_cancels_the_approval_it_waits_for(
    company, sales, approver, setup, order, django_capture_on_commit_callbacks
):
    flow = template_flow(company, sales)
    send(order, sales, django_capture_on_commit_callbacks)

    with django_capture_on_commit_callbacks(execute=True):
        approval_request_cancel_for(record=order, user=sales)

    approval = flow_approval()
    assert approval.status == "canceled"
    assert not approval.entries.filter(status="open").exists()
    run = only_run(flow)
    assert run.is_finished
    assert "was cancelled" in run.steps.get(path=START).error["message"]
    order.refresh_from_db()
    assert order.status == SalesOrder.Status.OPEN


def test_the_approval_history_is_on_the_order(
    company, sales, approver, setup, order, settings, django_capture_on_commit_callbacks
):
    template_flow(company, sales)
    request = send(order, sales, django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        approval_entry_approve(entry=entry_of(flow_approval(), approver), user=approver)

    history = ApprovalRequest.objects.filter(table_id=36, record_id=order.system_id)
    assert list(history.values_list("kind", "status")) == [("flow_entry", "approved")]
    # The approver's request links to the order.
    assert flow_approval().link == f"{settings.SITE_URL}{request.link}"
    assert request.link


# -- Start and wait for an approval ----------------------------------------------------------


def test_everyone_must_approve(company, sales, approver, colleague, decided):
    run = start_run(
        waiting_flow(company, sales, approvalType="everyone", assignedTo="approver; colleague"),
        sales,
    )
    approval = flow_approval(run)

    decided(approval_entry_approve, entry=entry_of(approval, approver), user=approver)
    run.refresh_from_db()
    assert run.status == RunStatus.WAITING  # one of two has approved

    decided(approval_entry_approve, entry=entry_of(approval, colleague), user=colleague)
    run.refresh_from_db()
    assert run.status == RunStatus.SUCCEEDED, run.error
    body = run.steps.get(path=START).outputs["body"]
    assert body["outcome"] == "Approve"
    assert [r["responder"]["userName"] for r in body["responses"]] == ["approver", "colleague"]


def test_one_rejection_ends_an_everyone_must_approve(company, sales, approver, colleague, decided):
    run = start_run(
        waiting_flow(company, sales, approvalType="everyone", assignedTo="approver;colleague"),
        sales,
    )

    decided(approval_entry_reject, entry=entry_of(flow_approval(run), colleague), user=colleague)

    run.refresh_from_db()
    assert run.status == RunStatus.SUCCEEDED
    assert run.steps.get(path=START).outputs["body"]["outcome"] == "Reject"


def test_the_first_to_respond_decides(company, sales, approver, colleague, decided):
    run = start_run(waiting_flow(company, sales, assignedTo="approver;colleague"), sales)
    approval = flow_approval(run)

    decided(approval_entry_approve, entry=entry_of(approval, colleague), user=colleague)

    run.refresh_from_db()
    assert run.steps.get(path=START).outputs["body"]["outcome"] == "Approve"
    assert entry_of(approval, approver).status == "canceled"


def test_custom_responses_end_with_the_chosen_response(company, sales, approver, decided):
    run = start_run(
        waiting_flow(
            company,
            sales,
            approvalType="Custom Responses - Wait for one response",
            responseOptions="Ship now; Ship next week;Cancel order",
        ),
        sales,
    )
    approval = flow_approval(run)
    assert approval.response_options == ["Ship now", "Ship next week", "Cancel order"]

    decided(
        approval_entry_respond,
        entry=entry_of(approval, approver),
        user=approver,
        response="ship next week",
    )

    run.refresh_from_db()
    assert run.status == RunStatus.SUCCEEDED
    body = run.steps.get(path=START).outputs["body"]
    assert (body["outcome"], body["status"]) == ("Ship next week", "Completed")


def test_custom_responses_waiting_for_all(company, sales, approver, colleague, decided):
    run = start_run(
        waiting_flow(
            company,
            sales,
            approvalType="custom_all",
            assignedTo=["approver", "colleague@example.com"],
            responseOptions='["A", "B"]',
        ),
        sales,
    )
    approval = flow_approval(run)
    decided(approval_entry_respond, entry=entry_of(approval, approver), user=approver, response="A")
    run.refresh_from_db()
    assert run.status == RunStatus.WAITING
    decided(
        approval_entry_respond, entry=entry_of(approval, colleague), user=colleague, response="B"
    )
    run.refresh_from_db()
    assert run.steps.get(path=START).outputs["body"]["outcome"] == "A, B"


def test_people_are_found_by_user_name_or_email_in_the_company(
    company, sales, approver, outsider, setup
):
    run = start_run(
        waiting_flow(company, sales, assignedTo="APPROVER@example.com; approvals@example.com"),
        sales,
    )
    # Both addresses are approver's (their account's and their approval setup's): once.
    assert [e.approver for e in flow_approval(run).entries.all()] == [approver]

    run = start_run(waiting_flow(company, sales, assignedTo="approver;outsider;nobody"), sales)
    step = run.steps.get(path=START)
    assert run.status == RunStatus.FAILED
    assert step.status == StepStatus.FAILED
    assert "outsider, nobody are not users of CRONUS" in step.error["message"]
    assert not ApprovalRequest.objects.filter(flow_run_id=run.pk).exists()


def test_bad_inputs_are_refused_when_saved(company, sales):
    with pytest.raises(ValidationError) as refused:
        waiting_flow(
            company,
            sales,
            approvalType="custom_one",
            responseOptions="",
            expiresAfter=-1,
            assignedTo="",
        )
    messages = " ".join(refused.value.messages)
    assert "Assigned to is required." in messages
    assert "Custom responses need response options" in messages
    assert "greater than 0" in messages
    with pytest.raises(ValidationError, match="is not one of"):
        waiting_flow(company, sales, approvalType="Maybe")


def test_the_approval_expires_and_the_step_times_out(company, sales, approver, settings):
    settings.AUTOMATE_APPROVAL_EXPIRY_DAYS = 2
    before = timezone.now()
    run = start_run(waiting_flow(company, sales), sales)
    approval = flow_approval(run)
    assert before + datetime.timedelta(days=2) <= approval.expires_at == run.wake_at

    automate_tick()  # not due: nothing happens
    run.refresh_from_db()
    assert run.status == RunStatus.WAITING
    past = timezone.now() - datetime.timedelta(seconds=1)
    ApprovalRequest.objects.filter(pk=approval.pk).update(expires_at=past)
    FlowRun.objects.filter(pk=run.pk).update(wake_at=past)
    automate_tick()

    run.refresh_from_db()
    approval.refresh_from_db()
    assert approval.status == "expired"
    step = run.steps.get(path=START)
    assert step.status == StepStatus.TIMED_OUT
    assert "expired: nobody responded" in step.error["message"]
    assert run.status == RunStatus.FAILED
    assert not approval.entries.filter(status="open").exists()


def test_an_approval_the_overdue_pass_expires_wakes_its_run(company, sales, approver, decided):
    run = start_run(waiting_flow(company, sales, expiresAfter=1), sales)
    approval = flow_approval(run)
    ApprovalRequest.objects.filter(pk=approval.pk).update(
        expires_at=timezone.now() - datetime.timedelta(seconds=1)
    )

    decided(approvals_overdue_process)

    run.refresh_from_db()
    assert run.steps.get(path=START).status == StepStatus.TIMED_OUT


def test_the_expiry_is_capped_by_the_run_time_limit(company, sales, approver, settings):
    settings.AUTOMATE_RUN_TIME_LIMIT = 3 * 86400
    run = start_run(waiting_flow(company, sales, expiresAfter=10), sales)

    assert flow_approval(run).expires_at < run.deadline
    assert flow_approval(run).expires_at > timezone.now() + datetime.timedelta(days=2)


def test_a_redelivered_step_does_not_start_a_second_approval(company, sales, approver):
    run = start_run(waiting_flow(company, sales), sales)
    first = flow_approval(run)

    # Delivered again (the tick's redispatch, a woken run, a duplicate message): checked, not
    # started again.
    for _ in range(3):
        FlowRun.objects.filter(pk=run.pk).update(status=RunStatus.QUEUED)
        flow_run_execute(run_id=run.pk)
    run.refresh_from_db()
    assert run.status == RunStatus.WAITING
    assert flow_approval(run) == first
    assert run.steps.get(path=START).attempts == 1


def test_a_worker_that_dies_while_starting_the_approval_leaves_none_behind(
    company, sales, approver, monkeypatch
):
    settle = execution.Execution._settle
    deaths = []

    def dies_once(self, *args):
        if not deaths:
            deaths.append(ApprovalRequest.objects.count())  # created, not committed
            raise SystemExit("the worker died")
        return settle(self, *args)

    monkeypatch.setattr(execution.Execution, "_settle", dies_once)
    flow = waiting_flow(company, sales)
    run = flow_run_start(flow=flow, trigger_data={"body": {}, "headers": {}}, user=sales)
    with pytest.raises(SystemExit):
        flow_run_execute(run_id=run.pk)
    assert deaths == [1]
    assert not ApprovalRequest.objects.exists()  # rolled back with the step
    assert run.steps.get(path=START).status == StepStatus.RUNNING

    # Its lease runs out; the tick hands the run on, and the approval is started once.
    FlowRun.objects.filter(pk=run.pk).update(
        lease_until=timezone.now() - datetime.timedelta(seconds=1)
    )
    automate_tick()
    run.refresh_from_db()
    assert run.status == RunStatus.WAITING
    assert ApprovalRequest.objects.count() == 1
    assert run.steps.get(path=START).attempts == 2


def test_a_decision_while_the_run_is_running_is_seen_by_its_check(company, sales, approver):
    run = start_run(waiting_flow(company, sales), sales)
    # A delivery holds the run (woken by the tick, say) when the approver decides.
    FlowRun.objects.filter(pk=run.pk).update(status=RunStatus.QUEUED)

    approval_entry_approve(entry=entry_of(flow_approval(run), approver), user=approver)
    run.refresh_from_db()
    assert run.status == RunStatus.QUEUED  # not woken twice
    flow_run_execute(run_id=run.pk)

    run.refresh_from_db()
    assert run.status == RunStatus.SUCCEEDED


def test_a_run_lost_while_starting_the_approval_does_not_keep_it(
    company, sales, approver, monkeypatch
):
    settle = execution.Execution._settle

    def lease_lost(self, *args):
        # Another delivery took the run (or it was cancelled) just before it could park.
        self.token = uuid.uuid4()
        return settle(self, *args)

    monkeypatch.setattr(execution.Execution, "_settle", lease_lost)
    run = start_run(waiting_flow(company, sales), sales)

    assert not ApprovalRequest.objects.exists()
    step = run.steps.get(path=START)
    assert (step.status, step.outputs) == (StepStatus.RUNNING, None)


def test_cancelling_a_run_cancels_the_approval_it_waits_for(company, sales, approver, decided):
    run = start_run(waiting_flow(company, sales), sales)
    decided(flow_run_cancel, run=run, user=sales)

    approval = flow_approval(run)
    assert approval.status == "canceled"
    assert not approval.entries.filter(status="open").exists()
    assert decided(flow_approvals_cancel, run_id=run.pk) == 0


def test_a_run_that_times_out_while_waiting_cancels_its_approval(company, sales, approver):
    run = start_run(waiting_flow(company, sales), sales)
    FlowRun.objects.filter(pk=run.pk).update(
        deadline=timezone.now() - datetime.timedelta(seconds=1)
    )
    automate_tick()

    run.refresh_from_db()
    assert run.status == RunStatus.TIMED_OUT
    assert flow_approval(run).status == "canceled"


# -- Answering the request ---------------------------------------------------------------------


def respond_call(run, inputs):
    return ActionCall(
        inputs=inputs,
        company=run.company,
        user=run.flow.owner,
        run=run,
        step_name="Respond",
        idempotency_key=f"{run.system_id}:Respond",
    )


def test_only_a_flow_the_request_was_sent_to_may_answer_it(
    company, sales, approver, setup, order, colleague, django_capture_on_commit_callbacks
):
    template_flow(company, sales)
    request = send(order, sales, django_capture_on_commit_callbacks)
    other = start_run(waiting_flow(company, colleague, assignedTo="approver"), colleague)
    action = find_action("business_central.respond_to_approval_request")

    with pytest.raises(Exception, match="was not sent to this flow"):
        action.run(
            respond_call(
                other, {"approvalRequestId": str(request.system_id), "response": "Approve"}
            )
        )
    with pytest.raises(Exception, match="is not an approval request id"):
        action.run(respond_call(other, {"approvalRequestId": "S-ORD1", "response": "Approve"}))
    request.refresh_from_db()
    assert request.status == "open"


def test_the_approval_administrators_flow_may_answer_any_request(
    company, sales, approver, setup, order, django_capture_on_commit_callbacks
):
    approval_flow(company, sales)  # takes the request, never answers it
    request = send(order, sales, django_capture_on_commit_callbacks)
    ApprovalUserSetup.objects.filter(user=approver).update(approval_administrator=True)
    admin_run = start_run(waiting_flow(company, approver, assignedTo="sales"), approver)
    action = find_action("business_central.respond_to_approval_request")

    outputs = action.run(
        respond_call(admin_run, {"approvalRequestId": str(request.system_id), "response": "Reject"})
    )

    assert outputs["body"]["status"] == "Rejected"
    order.refresh_from_db()
    assert order.status == SalesOrder.Status.OPEN
    with pytest.raises(Exception, match="already rejected"):
        action.run(
            respond_call(
                admin_run, {"approvalRequestId": str(request.system_id), "response": "Approve"}
            )
        )


def test_a_response_that_is_not_approve_reject_or_cancel_is_refused_when_saved(company, sales):
    with pytest.raises(ValidationError, match="Response Maybe is not one of"):
        approval_flow(
            company,
            sales,
            steps=[
                {
                    "name": "Answer",
                    "type": "business_central.respond_to_approval_request",
                    "inputs": {"approvalRequestId": "x", "response": "Maybe"},
                }
            ],
        )


# -- The designer, the gallery and the Workflows list ------------------------------------------


def test_the_designer_offers_the_three_approval_triggers_and_their_fields():
    catalog = designer_catalog()
    kind = next(t for t in catalog["triggerTypes"] if t["type"] == "approval_requested")
    assert kind["keys"] == ["filters", "table"]
    assert [t["title"] for t in catalog["approvalTriggers"]] == [
        "When a sales document approval is requested",
        "When a customer approval is requested",
        "When an item approval is requested",
    ]
    assert catalog["maxApprovalFilters"] == 4
    assert {"approvalRequestId", "approverUserName", "amount", "recordLink"} <= {
        f["name"] for f in catalog["triggerFields"]["approval_requested"]
    }
    actions = {a["type"]: a for a in catalog["actions"]}
    start = actions[START_TYPE]
    assert start["connector"] == "Approvals"
    assert "body/outcome" in [o["path"] for o in start["outputs"]]
    assert actions["business_central.respond_to_approval_request"]["title"] == (
        "Approve, reject or cancel an approval request"
    )


def test_the_designer_saves_an_approval_trigger(sales_client, sales):
    definition = {
        "schemaVersion": 1,
        "trigger": {
            "type": "approval_requested",
            "table": 18,
            "filters": [{"field": "city", "operator": "eq", "value": "Oslo"}],
        },
        "steps": [],
    }
    response = sales_client.post(
        reverse("automate:flow-new"),
        {
            "name": "Customers",
            "description": "",
            "concurrency_limit": 25,
            "definition": json.dumps(definition),
        },
    )

    assert response.status_code == 302, response.content.decode()
    flow = sales.flows.get()
    assert (flow.trigger_type, flow.table_id, flow.kind) == ("approval_requested", 18, "automated")


def test_the_template_is_in_the_gallery_for_sales_orders(sales_client):
    response = sales_client.get(reverse("automate:gallery") + "?table=36")

    assert "Request approval for a sales order" in response.content.decode()


def test_the_workflows_list_shows_the_approval_flows(rf, company, sales):
    flow = template_flow(company, sales)
    flow_update(flow=flow, user=sales, name="Big orders")
    approval_flow(company, sales, table=27, name="Items")
    request = rf.get("/")
    request.company = company

    rows = workflow_list_rows(request)

    assert [(r.description, r.kind, r.table, r.category, r.owner, r.enabled) for r in rows] == [
        ("Big orders", "Power Automate approval flow", "Sales Order", "Sales", "sales", True),
        ("Items", "Power Automate approval flow", "Item", "Inventory", "sales", True),
    ]
    assert rows[0].url == f"/automate/flows/{flow.pk}/"
    assert workflow_list_rows in hooks.workflow_list_sources
