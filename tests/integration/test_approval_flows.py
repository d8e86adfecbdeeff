"""Approval flows on a real Celery worker process, a real Redis and a real SMTP server.

A sales order sent for approval goes to the "Request approval for a sales order" flow; its
run waits for the approver as a row, holding no worker; the approver's decision wakes it at
once, and the flow releases or reopens the order. The same paths run in one process in
tests/automate/test_approval_flows.py.
"""

import copy
import re
import time
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from approvals.models import ApprovalEntry, ApprovalRequest, ApprovalUserSetup
from approvals.services import (
    approval_entry_approve,
    approval_entry_reject,
    approval_request_send,
)
from automate.gallery import GALLERY
from automate.models import Flow, FlowRun, RunStatus
from automate.services import flow_create, flow_run_start
from records import services as records
from records.models import SalesOrder
from tests.e2e import conftest as e2e
from tests.factories import CustomerFactory, ItemFactory, MembershipFactory, UserFactory
from tests.smtp import smtp_server
from tests.workers import _delete_queue, routed_to, start_worker

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

# Chromium for the designer's test, as tests/e2e has it.
browser, page, screenshots_dir = e2e.browser, e2e.page, e2e.screenshots_dir

TEMPLATE = GALLERY["request-approval-for-a-sales-order"]
START = "Start_and_wait_for_an_approval"
# What "at once" means here: a decision wakes the run through Redis, not the tick.
WAKE_TIMEOUT = 10


@pytest.fixture
def worker_and_inbox(worker_url, tmp_path):
    """A worker whose mail goes to a real SMTP server; yields (worker, inbox)."""
    with smtp_server() as (inbox, port):
        env = {"EMAIL_HOST": "127.0.0.1", "EMAIL_PORT": str(port), "SITE_URL": "http://erp.test"}
        worker = start_worker(worker_url, tmp_path / "worker.log", env=env)
        try:
            with routed_to(worker.queue):
                yield worker, inbox
        finally:
            worker.stop()
            _delete_queue(worker.queue)


@pytest.fixture
def approver(company):
    user = UserFactory(username="approver", email="approver@example.com")
    MembershipFactory(user=user, company=company)
    return user


@pytest.fixture
def setup(company, sales, approver):
    ApprovalUserSetup.objects.create(
        company=company, user=sales, approver=approver, sales_amount_approval_limit=1000
    )
    ApprovalUserSetup.objects.create(
        company=company, user=approver, sales_amount_approval_limit=0, unlimited_sales_approval=True
    )


def big_order(company, user):
    order = records.sales_order_create(
        company=company, user=user, customer=CustomerFactory(company=company)
    )
    item = ItemFactory(company=company, unit_price=Decimal("2500"))
    records.sales_order_line_add(order=order, user=user, item=item, quantity=2)
    order.refresh_from_db()
    return order


def template_flow(company, owner):
    return flow_create(
        company=company,
        owner=owner,
        name=TEMPLATE.title,
        definition=copy.deepcopy(TEMPLATE.definition),
        template_key=TEMPLATE.key,
    )


def waiting_run(worker, flow):
    """The flow's run once it waits for its approval, with that approval's entries."""

    def found():
        run = FlowRun.objects.filter(flow=flow, status=RunStatus.WAITING).first()
        if run is None:
            return None
        approval = ApprovalRequest.objects.filter(flow_run_id=run.pk).first()
        return (run, approval) if approval else None

    return worker.wait_until(found, what=f"a run of {flow.name} waiting for its approval")


def finished(worker, run, *, timeout=WAKE_TIMEOUT):
    def done():
        run.refresh_from_db()
        return run if run.is_finished else None

    return worker.wait_until(done, timeout=timeout, what=f"run {run.pk} to finish")


def test_the_template_flow_releases_an_approved_order(
    worker_and_inbox, company, sales, approver, setup
):
    worker, inbox = worker_and_inbox
    flow = template_flow(company, sales)
    order = big_order(company, sales)

    request = approval_request_send(record=order, user=sales)

    assert request.kind == ApprovalRequest.Kind.FLOW_ENTRY
    order.refresh_from_db()
    assert order.status == SalesOrder.Status.PENDING_APPROVAL
    run, approval = waiting_run(worker, flow)
    # Parked: no delivery holds it, the tick wakes it at the expiry at the latest.
    assert (run.lease_token, run.wake_at) == (None, approval.expires_at)
    # The approver is told, with a link to decide.
    mail = worker.wait_until(
        lambda: next((m for m in inbox.messages if "approver@example.com" in m["to"]), None),
        what="the approver's notification",
    )
    assert order.no in mail["message"]["Subject"]
    assert "http://erp.test/approvals/entries/" in mail["message"].get_content()

    entry = ApprovalEntry.objects.get(request=approval, approver=approver)
    decided_at = time.monotonic()
    approval_entry_approve(entry=entry, user=approver, comment="Go ahead")
    run = finished(worker, run)
    woke_in = time.monotonic() - decided_at

    assert run.status == RunStatus.SUCCEEDED, run.error
    start = run.steps.get(path=START)
    approval.refresh_from_db()
    resumed = (start.finished_at - approval.decided_at).total_seconds()
    print(f"decided -> step resumed {resumed:.2f} s, -> run finished (seen) {woke_in:.2f} s")
    assert start.outputs["body"]["outcome"] == "Approve"
    order.refresh_from_db()
    assert order.status == SalesOrder.Status.RELEASED
    request.refresh_from_db()
    assert request.status == ApprovalRequest.Status.APPROVED
    history = ApprovalRequest.objects.filter(record_id=order.system_id)
    assert list(history.values_list("kind", "status")) == [("flow_entry", "approved")]


def test_the_template_flow_reopens_a_rejected_order(
    worker_and_inbox, company, sales, approver, setup
):
    worker, _inbox = worker_and_inbox
    flow = template_flow(company, sales)
    order = big_order(company, sales)

    approval_request_send(record=order, user=sales)
    run, approval = waiting_run(worker, flow)
    approval_entry_reject(
        entry=ApprovalEntry.objects.get(request=approval, approver=approver), user=approver
    )
    run = finished(worker, run)

    assert run.status == RunStatus.SUCCEEDED, run.error
    order.refresh_from_db()
    assert order.status == SalesOrder.Status.OPEN


def test_waiting_runs_hold_no_worker(worker_and_inbox, company, sales, approver):
    """More runs wait for approvals than the worker has processes, and it still runs others."""
    worker, _inbox = worker_and_inbox
    waiting = flow_create(
        company=company,
        owner=sales,
        name="Ask",
        definition={
            "schemaVersion": 1,
            "trigger": {"type": "selected_record", "table": 18, "inputs": []},
            "steps": [
                {
                    "name": START,
                    "type": "approvals.start_and_wait_for_approval",
                    "inputs": {"approvalType": "first", "title": "Ok?", "assignedTo": "approver"},
                }
            ],
        },
    )
    quick = flow_create(
        company=company,
        owner=sales,
        name="Quick",
        definition={
            "schemaVersion": 1,
            "trigger": {"type": "selected_record", "table": 18, "inputs": []},
            "steps": [{"name": "Compose", "type": "data.compose", "inputs": {"value": "done"}}],
        },
    )
    body = {"body": {}, "headers": {}}
    runs = [flow_run_start(flow=waiting, trigger_data=body, user=sales) for _ in range(4)]
    worker.wait_until(
        lambda: FlowRun.objects.filter(flow=waiting, status=RunStatus.WAITING).count() == 4,
        what="four runs waiting for their approvals",
    )

    other = finished(worker, flow_run_start(flow=quick, trigger_data=body, user=sales))

    assert other.status == RunStatus.SUCCEEDED
    for run in runs:
        approval = ApprovalRequest.objects.get(flow_run_id=run.pk)
        entry = approval.entries.get()
        approval_entry_approve(entry=entry, user=approver)
    for run in runs:
        assert finished(worker, run).status == RunStatus.SUCCEEDED


# -- The designer, in Chromium ----------------------------------------------------------------


@pytest.mark.e2e
def test_the_designer_edits_an_approval_trigger_and_its_conditions(page, company, sales):
    e2e.log_in(page, "sales")
    page.goto("/automate/flows/new/")
    page.get_by_label("Flow name").fill("Orders of C10000")
    page.get_by_role("combobox", name="Trigger", exact=True).select_option("approval_requested")
    kind = page.get_by_label("When")
    kind.select_option(label="When a sales document approval is requested")

    page.get_by_role("button", name="+ Add a condition").click()
    page.get_by_label("Condition 1: field").select_option("customerNumber")
    page.get_by_label("Condition 1: operator").select_option("eq")
    page.get_by_label("Condition 1: value").fill("C10000")
    page.get_by_role("button", name="+ Add a condition").click()
    page.get_by_label("Condition 2: field").select_option("totalAmountExcludingTax")
    page.get_by_label("Condition 2: operator").select_option("gt")
    page.get_by_label("Condition 2: value").fill("1000")

    # Start and wait for an approval, assigned to the requester's approver.
    page.get_by_role("button", name="+ New step").last.click()
    picker = page.locator(".action-picker")
    picker.get_by_role("searchbox", name="Search connectors and actions").fill("approval")
    picker.get_by_role("button", name="Start and wait for an approval", exact=True).click()
    step = page.locator('section.step-card[data-step="Start_and_wait_for_an_approval"]')
    step.get_by_label("Title").fill("Approve it")
    assigned = step.get_by_label("Assigned to")
    assigned.click()
    page.get_by_role("dialog", name="Add dynamic content").get_by_role(
        "button", name="Approver user name", exact=True
    ).click()
    expect(assigned).to_have_value("@{triggerBody()?['approverUserName']}")

    page.get_by_role("button", name="Save").click()
    expect(page).to_have_url(re.compile(r"/automate/flows/\d+/$"))

    flow = Flow.objects.get(name="Orders of C10000")
    assert flow.current_version.definition["trigger"] == {
        "type": "approval_requested",
        "table": 36,
        "filters": [
            {"field": "customerNumber", "operator": "eq", "value": "C10000"},
            {"field": "totalAmountExcludingTax", "operator": "gt", "value": "1000"},
        ],
    }
    # It opens as it was saved, and removing a condition keeps the other.
    expect(page.get_by_label("When")).to_have_value("36")
    expect(page.get_by_label("Condition 2: value")).to_have_value("1000")
    page.get_by_role("button", name="Remove condition 1").click()
    expect(page.get_by_label("Condition 1: field")).to_have_value("totalAmountExcludingTax")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Saved as version 2.")).to_be_visible()
    flow.refresh_from_db()
    assert flow.current_version.definition["trigger"]["filters"] == [
        {"field": "totalAmountExcludingTax", "operator": "gt", "value": "1000"}
    ]
