"""Sending, deciding, delegating and cancelling approval requests: the services."""

import datetime
from decimal import Decimal

import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from approvals.models import ApprovalEntry, ApprovalRequest, ApprovalUserSetup, RestrictedRecord
from approvals.services import (
    approval_entries_approve,
    approval_entry_approve,
    approval_entry_delegate,
    approval_entry_reject,
    approval_request_cancel,
    approval_request_send,
    approvals_overdue_process,
    workflow_user_group_save,
)
from records import services
from records.models import SalesOrder
from tests.approvals.conftest import enable, member
from tests.factories import CustomerFactory, ItemFactory

pytestmark = pytest.mark.django_db

OPEN, CREATED = ApprovalEntry.Status.OPEN, ApprovalEntry.Status.CREATED


def entries(request):
    return [
        (e.sequence_no, e.approver.username, e.status)
        for e in request.entries.select_related("approver").order_by("sequence_no", "pk")
    ]


def status_of(order):
    order.refresh_from_db()
    return order.status


# -- Approver types ---------------------------------------------------------------------------


def test_approver_chain_goes_up_until_a_limit_covers_the_amount(order_workflow, order_of, sales):
    order = order_of(5000)
    request = approval_request_send(record=order, user=sales)
    assert entries(request) == [(1, "approver", OPEN)]
    assert status_of(order) == SalesOrder.Status.PENDING_APPROVAL

    order = order_of(50000)
    request = approval_request_send(record=order, user=sales)
    # approver's 10,000 does not cover 50,000: boss decides after approver.
    assert entries(request) == [(1, "approver", OPEN), (2, "boss", CREATED)]


def test_chain_approves_level_by_level_and_releases_the_order(
    order_workflow, order_of, sales, approver, boss
):
    order = order_of(50000)
    request = approval_request_send(record=order, user=sales)
    first = request.entries.get(approver=approver)
    approval_entry_approve(entry=first, user=approver, comment="Fine by me")
    assert entries(request) == [(1, "approver", "approved"), (2, "boss", OPEN)]
    assert status_of(order) == SalesOrder.Status.PENDING_APPROVAL

    approval_entry_approve(entry=request.entries.get(approver=boss), user=boss)
    request.refresh_from_db()
    assert request.status == ApprovalRequest.Status.APPROVED
    assert status_of(order) == SalesOrder.Status.RELEASED
    assert request.comments.get().text == "Fine by me"


def test_requester_within_their_own_limit_is_approved_at_once(order_workflow, order_of, sales):
    order = order_of(800)
    request = approval_request_send(record=order, user=sales)
    request.refresh_from_db()
    assert request.status == ApprovalRequest.Status.APPROVED
    assert entries(request) == [(1, "sales", "approved")]
    assert status_of(order) == SalesOrder.Status.RELEASED


def test_first_qualified_approver_skips_to_the_one_whose_limit_covers_it(
    workflows, chain, order_of, sales
):
    enable(workflows["MS-SOAPW"], approver_type="first_qualified")
    request = approval_request_send(record=order_of(50000), user=sales)
    assert entries(request) == [(1, "boss", OPEN)]


def test_direct_approver_is_the_requesters_approver_whatever_the_amount(
    workflows, chain, order_of, sales
):
    enable(workflows["MS-SOAPW"], approver_type="direct_approver")
    request = approval_request_send(record=order_of(50000), user=sales)
    assert entries(request) == [(1, "approver", OPEN)]


def test_specific_approver(workflows, chain, order_of, sales, boss):
    enable(workflows["MS-SOAPW"], approver_type="specific_approver", specific_approver=boss)
    request = approval_request_send(record=order_of(50), user=sales)
    assert entries(request) == [(1, "boss", OPEN)]


def test_user_group_any_one_per_level_and_everyone_at_the_last(
    company, workflows, chain, order_of, sales, approver, boss, colleague
):
    third = member(company, "third")
    group = workflow_user_group_save(
        company=company,
        by=None,
        code="SALESAPP",
        members=[(approver, 1), (colleague, 1), (boss, 2), (third, 2)],
    )
    enable(workflows["MS-SOAPW"], approver_type="user_group", user_group=group)
    order = order_of(50)
    request = approval_request_send(record=order, user=sales)
    assert entries(request) == [
        (1, "approver", OPEN),
        (1, "colleague", OPEN),
        (2, "boss", CREATED),
        (2, "third", CREATED),
    ]
    # Any one at the first level: the colleague's entry is no longer needed.
    approval_entry_approve(entry=request.entries.get(approver=colleague), user=colleague)
    assert entries(request) == [
        (1, "approver", "canceled"),
        (1, "colleague", "approved"),
        (2, "boss", OPEN),
        (2, "third", OPEN),
    ]
    # Everyone at the last level.
    approval_entry_approve(entry=request.entries.get(approver=boss), user=boss)
    assert status_of(order) == SalesOrder.Status.PENDING_APPROVAL
    approval_entry_approve(entry=request.entries.get(approver=third), user=third)
    assert status_of(order) == SalesOrder.Status.RELEASED


def test_a_group_of_one_level_needs_everyone(company, workflows, chain, order_of, sales, boss):
    group = workflow_user_group_save(
        company=company, by=None, code="BOARD", members=[(boss, 1), (sales, 1)]
    )
    enable(workflows["MS-SOAPW"], approver_type="user_group", user_group=group)
    order = order_of(50)
    request = approval_request_send(record=order, user=sales)
    # The requester's own entry is approved at once; boss still has to.
    assert entries(request) == [(1, "boss", OPEN), (1, "sales", "approved")]
    approval_entry_approve(entry=request.entries.get(approver=boss), user=boss)
    assert status_of(order) == SalesOrder.Status.RELEASED


# -- Refusals ---------------------------------------------------------------------------------


def test_setup_problems_are_refused_with_what_to_fix(order_workflow, order_of, chain, company):
    loner = member(company, "loner")
    with pytest.raises(ValidationError, match="does not exist in the Approval User Setup"):
        approval_request_send(record=order_of(5000, loner), user=loner)
    ApprovalUserSetup.objects.create(company=company, user=loner)
    with pytest.raises(ValidationError, match="Approver ID must have a value"):
        approval_request_send(record=order_of(5000, loner), user=loner)
    assert not ApprovalRequest.objects.exists()


def test_chain_that_never_covers_the_amount_is_refused(order_workflow, order_of, chain, sales):
    chain["boss"].unlimited_sales_approval = False
    chain["boss"].sales_amount_approval_limit = Decimal("20000")
    chain["boss"].approver = chain["sales"].user
    chain["boss"].save()
    order = order_of(50000)
    with pytest.raises(ValidationError, match="comes back to"):
        approval_request_send(record=order, user=sales)
    assert status_of(order) == SalesOrder.Status.OPEN


def test_no_enabled_workflow_and_a_second_request_are_refused(workflows, chain, order_of, sales):
    order = order_of(5000)
    with pytest.raises(ValidationError, match="No approval workflow"):
        approval_request_send(record=order, user=sales)
    enable(workflows["MS-SOAPW"])
    approval_request_send(record=order, user=sales)
    with pytest.raises(ValidationError, match="already exists"):
        approval_request_send(record=order, user=sales)


def test_conditions_decide_whether_an_order_needs_approval(workflows, chain, order_of, sales):
    enable(
        workflows["MS-SOAPW"],
        conditions=[{"field": "totalAmountExcludingTax", "operator": "gt", "value": 1000}],
    )
    small = order_of(500)
    services.sales_order_release(order=small, user=sales)
    assert status_of(small) == SalesOrder.Status.RELEASED
    large = order_of(5000)
    with pytest.raises(ValidationError, match="only be released when the approval process"):
        services.sales_order_release(order=large, user=sales)
    with pytest.raises(ValidationError, match="only be released when the approval process"):
        services.sales_order_post(order=large, user=sales)


def test_only_the_approver_or_the_approval_administrator_decides(
    order_workflow, order_of, sales, approver, colleague, admin_user
):
    request = approval_request_send(record=order_of(5000), user=sales)
    entry = request.entries.get()
    for outsider in (sales, colleague):
        with pytest.raises(PermissionDenied):
            approval_entry_approve(entry=entry, user=outsider)
        with pytest.raises(PermissionDenied):
            approval_entry_reject(entry=entry, user=outsider)
    approval_entry_approve(entry=entry, user=admin_user)
    request.refresh_from_db()
    assert request.status == ApprovalRequest.Status.APPROVED
    assert request.entries.get().decided_by == admin_user


def test_a_decided_entry_cannot_be_decided_again(order_workflow, order_of, sales, approver):
    request = approval_request_send(record=order_of(5000), user=sales)
    entry = request.entries.get()
    approval_entry_reject(entry=entry, user=approver, comment="Too much")
    with pytest.raises(ValidationError, match="already rejected by approver"):
        approval_entry_approve(entry=entry, user=approver)


def test_reject_reopens_and_cancel_reopens(order_workflow, order_of, sales, approver):
    order = order_of(5000)
    request = approval_request_send(record=order, user=sales)
    approval_entry_reject(entry=request.entries.get(), user=approver)
    assert status_of(order) == SalesOrder.Status.OPEN
    request = approval_request_send(record=order, user=sales)
    with pytest.raises(PermissionDenied):
        approval_request_cancel(request=request, user=approver)
    approval_request_cancel(request=request, user=sales)
    assert status_of(order) == SalesOrder.Status.OPEN
    assert entries(request) == [(1, "approver", "canceled")]


def test_pending_order_cannot_be_edited_released_or_posted(order_workflow, order_of, sales):
    order = order_of(5000)
    approval_request_send(record=order, user=sales)
    order.refresh_from_db()
    with pytest.raises(ValidationError):
        services.sales_order_update(order=order, user=sales, external_document_no="X")
    with pytest.raises(ValidationError, match="pending approval"):
        services.sales_order_release(order=order, user=sales)
    with pytest.raises(ValidationError, match="pending approval"):
        services.sales_order_post(order=order, user=sales)


# -- Delegation, bulk, reminders ---------------------------------------------------------------


def test_delegate_goes_to_the_substitute_then_the_approver(
    order_workflow, order_of, chain, sales, approver, boss
):
    request = approval_request_send(record=order_of(50000), user=sales)
    entry = request.entries.get(approver=approver)
    new = approval_entry_delegate(entry=entry, user=approver)
    # approver has no substitute: their own approver, boss, takes it.
    assert new.approver == boss
    assert entries(request) == [
        (1, "approver", "delegated"),
        (1, "boss", OPEN),
        (2, "boss", CREATED),
    ]
    approval_entry_approve(entry=new, user=boss)
    assert request.entries.get(pk=new.pk).status == "approved"


def test_bulk_approve_reports_what_it_could_not_approve(order_workflow, order_of, sales, approver):
    requests = [approval_request_send(record=order_of(5000), user=sales) for _ in range(3)]
    mine = [r.entries.get() for r in requests]
    approval_entry_reject(entry=mine[1], user=approver)
    approved, refusals = approval_entries_approve(entries=mine, user=approver)
    assert approved == 2
    assert len(refusals) == 1 and "already rejected" in refusals[0]


def test_notifications_link_to_the_confirmation_page(
    order_workflow, order_of, sales, approver, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        request = approval_request_send(record=order_of(5000), user=sales)
    entry = request.entries.get()
    assert [m.to for m in mail.outbox] == [["approver@cronus.example.com"]]
    assert f"/approvals/entries/{entry.pk}/decide/" in mail.outbox[0].body
    with django_capture_on_commit_callbacks(execute=True):
        approval_entry_approve(entry=entry, user=approver)
    assert mail.outbox[-1].to == [sales.email]
    assert "approved" in mail.outbox[-1].subject


def test_overdue_entries_are_delegated_and_reminded_once_a_day(
    workflows, chain, order_of, sales, approver, boss, django_capture_on_commit_callbacks
):
    enable(workflows["MS-SOAPW"], delegate_after="1D", due_date_formula="1D")
    request = approval_request_send(record=order_of(5000), user=sales)
    later = timezone.now() + datetime.timedelta(days=1, hours=1)
    with django_capture_on_commit_callbacks(execute=True):
        counts = approvals_overdue_process(later)
    assert counts["delegated"] == 1
    assert entries(request) == [(1, "approver", "delegated"), (1, "boss", OPEN)]
    # Two days on, the delegated entry is overdue: one reminder, not one per pass.
    mail.outbox.clear()
    much_later = timezone.now() + datetime.timedelta(days=3)
    ApprovalEntry.objects.filter(status=OPEN).update(delegate_at=None)
    with django_capture_on_commit_callbacks(execute=True):
        assert approvals_overdue_process(much_later)["reminded"] == 1
        assert approvals_overdue_process(much_later)["reminded"] == 0
    assert [m.subject.split(":")[0] for m in mail.outbox] == ["Overdue"]


# -- Customers and items ------------------------------------------------------------------------


def test_new_customer_is_restricted_until_approved(company, workflows, chain, sales, approver):
    enable(workflows["MS-CUSTAPW"])
    customer = services.customer_create(company=company, user=sales, name="New Co")
    assert RestrictedRecord.objects.filter(record_id=customer.system_id).exists()
    with pytest.raises(ValidationError, match="restricted"):
        services.sales_order_create(company=company, user=sales, customer=customer)
    request = approval_request_send(record=customer, user=sales)
    with pytest.raises(ValidationError, match="pending approval"):
        services.customer_update(customer=customer, user=sales, name="Renamed")
    approval_entry_approve(entry=request.entries.get(), user=approver)
    assert not RestrictedRecord.objects.filter(record_id=customer.system_id).exists()
    services.sales_order_create(company=company, user=sales, customer=customer)


def test_new_item_is_restricted_on_order_lines(company, workflows, chain, sales, order_of):
    order = order_of(10)
    enable(workflows["MS-ITEMAPW"])
    item = services.item_create(company=company, user=sales, description="Gadget")
    with pytest.raises(ValidationError, match="restricted"):
        services.sales_order_line_add(order=order, user=sales, item=item, quantity=Decimal(1))


def test_credit_limit_change_is_held_until_approved(company, workflows, chain, sales, approver):
    enable(
        workflows["MS-CCLCAPW"],
        conditions=[{"field": "creditLimit", "operator": "gt", "value": 10000}],
    )
    customer = CustomerFactory(company=company, credit_limit=Decimal("5000"))
    services.customer_update(customer=customer, user=sales, credit_limit=Decimal("8000"))
    customer.refresh_from_db()
    assert customer.credit_limit == Decimal("8000")  # under the condition: no approval

    updated = services.customer_update(
        customer=customer, user=sales, credit_limit=Decimal("20000"), city="Miami"
    )
    assert "sent for approval" in updated.held_changes[0]
    customer.refresh_from_db()
    assert (customer.credit_limit, customer.city) == (Decimal("8000"), "Miami")
    request = ApprovalRequest.objects.get(change__isnull=False)
    assert request.change["new"] == 20000
    # The customer can still be edited meanwhile; the same change cannot be sent twice.
    services.customer_update(customer=customer, user=sales, phone="555")
    with pytest.raises(ValidationError, match="already waiting"):
        services.customer_update(customer=customer, user=sales, credit_limit=Decimal("30000"))
    approval_entry_approve(entry=request.entries.get(), user=approver)
    customer.refresh_from_db()
    assert customer.credit_limit == Decimal("20000")


def test_unit_price_change_rejected_keeps_the_old_price(company, workflows, chain, sales, approver):
    enable(workflows["MS-IUPCAPW"])
    item = ItemFactory(company=company, unit_price=Decimal("10"))
    services.item_update(item=item, user=sales, unit_price=Decimal("12"))
    request = ApprovalRequest.objects.get(change__field="unitPrice")
    approval_entry_reject(entry=request.entries.get(), user=approver)
    item.refresh_from_db()
    assert item.unit_price == Decimal("10")
