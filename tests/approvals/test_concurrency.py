"""Concurrent decisions on one request: exactly one outcome, on real PostgreSQL connections.

Each action runs in its own thread with its own connection, all released together; the
request row lock and the conditional UPDATE of the entry decide who wins.
"""

import pytest
from django.core.exceptions import ValidationError
from django.db import connection

from approvals.models import ApprovalEntry, ApprovalRequest
from approvals.services import (
    approval_entry_approve,
    approval_entry_reject,
    approval_request_cancel,
    approval_request_send,
    workflow_user_group_save,
)
from records.models import SalesOrder
from tests.approvals.conftest import enable, member
from tests.records.concurrency import run_at_once

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks need PostgreSQL"),
]
ROUNDS = 5


def fresh(entry):
    return ApprovalEntry.objects.get(pk=entry.pk)


def test_approver_and_administrator_deciding_at_once_give_one_outcome(
    order_workflow, order_of, sales, approver, admin_user
):
    for round_no in range(ROUNDS):
        order = order_of(5000)
        request = approval_request_send(record=order, user=sales)
        entry = request.entries.get()
        outcomes = run_at_once(
            [
                lambda e=entry: approval_entry_approve(entry=fresh(e), user=approver),
                lambda e=entry: approval_entry_reject(entry=fresh(e), user=admin_user),
                lambda e=entry: approval_entry_approve(entry=fresh(e), user=admin_user),
            ]
        )
        won = [o for o in outcomes if isinstance(o, ApprovalRequest)]
        lost = [o for o in outcomes if isinstance(o, ValidationError)]
        assert (len(won), len(lost)) == (1, 2), (round_no, outcomes)
        request.refresh_from_db()
        order.refresh_from_db()
        entry.refresh_from_db()
        expected = {
            ApprovalRequest.Status.APPROVED: (SalesOrder.Status.RELEASED, "approved"),
            ApprovalRequest.Status.REJECTED: (SalesOrder.Status.OPEN, "rejected"),
        }[request.status]
        assert (order.status, entry.status) == expected
        assert request.comments.count() == 0


def test_two_approvers_of_an_any_one_level_give_one_decision(
    company, workflows, chain, order_of, sales, approver, colleague
):
    group = workflow_user_group_save(
        company=company,
        by=None,
        code="ANYONE",
        members=[(approver, 1), (colleague, 1), (member(company, "last"), 2)],
    )
    enable(workflows["MS-SOAPW"], approver_type="user_group", user_group=group)
    for _ in range(ROUNDS):
        request = approval_request_send(record=order_of(50), user=sales)
        first, second = request.entries.filter(sequence_no=1).order_by("pk")
        outcomes = run_at_once(
            [
                lambda e=first: approval_entry_approve(entry=fresh(e), user=approver),
                lambda e=second: approval_entry_reject(entry=fresh(e), user=colleague),
            ]
        )
        assert sum(isinstance(o, ValidationError) for o in outcomes) == 1, outcomes
        statuses = sorted(request.entries.filter(sequence_no=1).values_list("status", flat=True))
        assert statuses in (["approved", "canceled"], ["canceled", "rejected"])


def test_everyone_at_the_last_level_approving_at_once_approves_once(
    company, workflows, chain, order_of, sales, approver, colleague
):
    group = workflow_user_group_save(
        company=company, by=None, code="ALL", members=[(approver, 1), (colleague, 1)]
    )
    enable(workflows["MS-SOAPW"], approver_type="user_group", user_group=group)
    for _ in range(ROUNDS):
        order = order_of(50)
        request = approval_request_send(record=order, user=sales)
        first, second = request.entries.order_by("pk")
        outcomes = run_at_once(
            [
                lambda e=first: approval_entry_approve(entry=fresh(e), user=approver),
                lambda e=second: approval_entry_approve(entry=fresh(e), user=colleague),
            ]
        )
        assert all(isinstance(o, ApprovalRequest) for o in outcomes), outcomes
        request.refresh_from_db()
        order.refresh_from_db()
        assert request.status == ApprovalRequest.Status.APPROVED
        assert order.status == SalesOrder.Status.RELEASED


def test_cancel_racing_an_approval_gives_one_outcome(order_workflow, order_of, sales, approver):
    for _ in range(ROUNDS):
        order = order_of(5000)
        request = approval_request_send(record=order, user=sales)
        entry = request.entries.get()
        outcomes = run_at_once(
            [
                lambda e=entry: approval_entry_approve(entry=fresh(e), user=approver),
                lambda r=request: approval_request_cancel(
                    request=ApprovalRequest.objects.get(pk=r.pk), user=sales
                ),
            ]
        )
        assert sum(isinstance(o, ValidationError) for o in outcomes) == 1, outcomes
        request.refresh_from_db()
        order.refresh_from_db()
        if request.status == ApprovalRequest.Status.APPROVED:
            assert order.status == SalesOrder.Status.RELEASED
        else:
            assert request.status == ApprovalRequest.Status.CANCELED
            assert order.status == SalesOrder.Status.OPEN
