"""The audit log of approval decisions: approved, rejected, delegated, cancelled."""

import datetime

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from approvals.models import ApprovalRequest
from approvals.services import (
    approval_entry_approve,
    approval_entry_delegate,
    approval_entry_reject,
    approval_entry_respond,
    approval_request_cancel,
    approval_request_send,
    approvals_overdue_process,
    flow_approval_start,
    flow_entry_respond,
)
from bcsite.models import AuditEntry
from tests.approvals.conftest import enable

pytestmark = pytest.mark.django_db


def decisions(**filters):
    return list(AuditEntry.objects.filter(area="Approval", **filters).order_by("pk"))


def only_decision(**filters):
    found = decisions(**filters)
    assert len(found) == 1, found
    return found[0]


def amount_text(request: ApprovalRequest) -> str:
    return f"Amount {request.amount:,.2f}."


def test_an_approval_is_logged_with_record_amount_and_comment(
    order_workflow, order_of, sales, approver, company
):
    request = approval_request_send(record=order_of(5000), user=sales)
    assert decisions() == []

    approval_entry_approve(entry=request.entries.get(), user=approver, comment="Fine by me")

    entry = only_decision()
    request.refresh_from_db()
    assert entry.company_id == company.pk
    assert (entry.action, entry.actor, entry.actor_name) == ("approved", approver, "approver")
    assert (entry.object_type, entry.object_id, entry.object_repr) == (
        "Approval Request",
        str(request.pk),
        request.title,
    )
    # The only level approved it: the request is approved too.
    assert entry.before == {"status": "Open", "request": "Open"}
    assert entry.after == {"status": "Approved", "request": "Approved"}
    assert f"Document No. {request.record_no}." in entry.message
    assert amount_text(request) in entry.message
    assert "Comment: Fine by me" in entry.message


def test_an_approval_that_leaves_a_level_open_does_not_end_the_request(
    order_workflow, order_of, sales, approver
):
    request = approval_request_send(record=order_of(50000), user=sales)

    approval_entry_approve(entry=request.entries.get(approver=approver), user=approver)

    entry = only_decision()
    assert (entry.before, entry.after) == ({"status": "Open"}, {"status": "Approved"})
    assert "Comment" not in entry.message


def test_a_rejection_is_logged(order_workflow, order_of, sales, approver):
    request = approval_request_send(record=order_of(5000), user=sales)

    approval_entry_reject(entry=request.entries.get(), user=approver, comment="Too dear")

    entry = only_decision()
    assert (entry.action, entry.actor) == ("rejected", approver)
    assert entry.after == {"status": "Rejected", "request": "Rejected"}
    assert "Comment: Too dear" in entry.message


def test_a_delegation_logs_the_approver_before_and_after(
    order_workflow, order_of, chain, sales, approver, boss
):
    request = approval_request_send(record=order_of(50000), user=sales)

    approval_entry_delegate(entry=request.entries.get(approver=approver), user=approver)

    entry = only_decision()
    assert (entry.action, entry.actor) == ("delegated", approver)
    assert (entry.before, entry.after) == ({"approver": "approver"}, {"approver": "boss"})
    assert amount_text(request) in entry.message


def test_an_overdue_delegation_is_logged_as_the_system(
    workflows, chain, order_of, sales, approver, boss
):
    enable(workflows["MS-SOAPW"], delegate_after="1D", due_date_formula="1D")
    approval_request_send(record=order_of(5000), user=sales)

    approvals_overdue_process(timezone.now() + datetime.timedelta(days=1, hours=1))

    entry = only_decision()
    assert (entry.action, entry.actor, entry.actor_name) == ("delegated", None, "")
    assert entry.after == {"approver": "boss"}
    assert "overdue" in entry.message


def test_a_cancellation_is_logged(order_workflow, order_of, sales):
    request = approval_request_send(record=order_of(5000), user=sales)

    approval_request_cancel(request=request, user=sales)

    entry = only_decision()
    assert (entry.action, entry.actor) == ("cancelled", sales)
    assert (entry.before, entry.after) == ({"status": "Open"}, {"status": "Canceled"})
    assert f"Document No. {request.record_no}." in entry.message


def test_a_requester_approving_their_own_request_at_once_is_logged(order_workflow, order_of, sales):
    request = approval_request_send(record=order_of(800), user=sales)

    entry = only_decision()
    assert (entry.action, entry.actor) == ("approved", sales)
    assert entry.object_id == str(request.pk)
    assert "requester is the approver" in entry.message


def test_refused_decisions_log_nothing(order_workflow, order_of, sales, approver, colleague):
    request = approval_request_send(record=order_of(5000), user=sales)
    entry = request.entries.get()

    with pytest.raises(PermissionDenied):
        approval_entry_approve(entry=entry, user=colleague)
    with pytest.raises(PermissionDenied):
        approval_request_cancel(request=request, user=approver)
    approval_entry_approve(entry=entry, user=approver)
    with pytest.raises(ValidationError):
        approval_entry_reject(entry=entry, user=approver)

    assert [d.action for d in decisions()] == ["approved"]


def test_a_rolled_back_decision_leaves_no_entry(order_workflow, order_of, sales, approver):
    request = approval_request_send(record=order_of(5000), user=sales)

    with pytest.raises(RuntimeError), transaction.atomic():
        approval_entry_approve(entry=request.entries.get(), user=approver)
        raise RuntimeError("the page failed after the decision")

    assert decisions() == []
    request.refresh_from_db()
    assert request.status == ApprovalRequest.Status.OPEN


def test_flow_approval_answers_are_logged(company, sales, approver):
    question = flow_approval_start(
        company_id=company.pk,
        requester=sales,
        title="Which carrier?",
        assigned_to=[approver],
        approval_type=ApprovalRequest.ApprovalType.CUSTOM_ONE,
        response_options=["DHL", "UPS"],
    )
    approval = flow_approval_start(
        company_id=company.pk,
        requester=sales,
        title="Ship today?",
        assigned_to=[approver],
        approval_type=ApprovalRequest.ApprovalType.FIRST_TO_RESPOND,
    )

    approval_entry_respond(entry=question.entries.get(), user=approver, response="UPS")
    approval_entry_reject(entry=approval.entries.get(), user=approver, comment="Not today")

    responded, rejected = decisions()
    assert (responded.action, responded.object_repr) == ("responded", "Which carrier?")
    assert responded.after == {"status": "Responded", "response": "UPS", "request": "Completed"}
    assert (rejected.action, rejected.object_repr) == ("rejected", "Ship today?")
    assert rejected.after == {"status": "Rejected", "request": "Rejected"}
    assert "Comment: Not today" in rejected.message


def test_an_approval_flows_answer_is_logged(company, sales, approver, order_workflow, order_of):
    request = approval_request_send(record=order_of(5000), user=sales)
    # A request handed to a flow: the flow's owner answers through the flow.
    ApprovalRequest.objects.filter(pk=request.pk).update(kind=ApprovalRequest.Kind.FLOW_ENTRY)

    flow_entry_respond(request=request, user=approver, response="Approve")

    entry = only_decision()
    assert (entry.action, entry.actor) == ("approved", approver)
    assert (entry.before, entry.after) == ({"status": "Open"}, {"status": "Approved"})
    assert entry.message.startswith("Answered by an approval flow.")
