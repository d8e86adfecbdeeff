"""The Request Approval action group on the sales order, customer and item pages.

As in Business Central: Send Approval Request (while no request is open), Cancel Approval
Request (while one is), and Approvals, the record's approval entries. The buttons only
grey out; the services decide, and their refusals come back as messages on the page.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest

from approvals.documents import record_label
from approvals.models import ApprovalEntry, ApprovalRequest
from approvals.services import approval_request_cancel_for, approval_request_send, open_request
from approvals.templates import CUSTOMERS, ITEMS, SALES_ORDERS
from approvals.views.requests import entries_url, user_name
from bcsite.pages.base import Action, ActionGroup, Page
from bcsite.registry import registry
from records.models import SalesOrder

GROUP_KEY = "request_approval"
PAGES = {"sales_order": SALES_ORDERS, "customer_card": CUSTOMERS, "item_card": ITEMS}
KINDS = (ApprovalRequest.Kind.WORKFLOW, ApprovalRequest.Kind.FLOW_ENTRY)
_CACHE_ATTRIBUTE = "_approvals_open_requests"


def pending_request(request: HttpRequest, record: Any) -> ApprovalRequest | None:
    """The record's open request: one query per request and record, however often the
    action bar is drawn or searched."""
    cache = request.__dict__.setdefault(_CACHE_ATTRIBUTE, {})
    key = (type(record), record.pk)
    if key not in cache:
        cache[key] = open_request(record, kinds=KINDS)
    return cache[key]


def _may_send(record: Any, request: HttpRequest) -> bool:
    if isinstance(record, SalesOrder) and record.status != SalesOrder.Status.OPEN:
        return False
    return pending_request(request, record) is None


def _may_cancel(record: Any, request: HttpRequest) -> bool:
    return pending_request(request, record) is not None


def sent_message(approval_request: ApprovalRequest) -> str:
    """Where the request went: approved at once, to approval flows, or to its approvers."""
    title = approval_request.title
    if approval_request.status == ApprovalRequest.Status.APPROVED:
        return (
            f"The approval request for {title} was approved at once: you may approve it yourself."
        )
    if approval_request.kind == ApprovalRequest.Kind.FLOW_ENTRY:
        flows = approval_request.flow_name
        return f"The approval request for {title} was sent to the approval flow {flows}."
    approvers = [
        user_name(entry.approver)
        for entry in approval_request.entries.filter(status=ApprovalEntry.Status.OPEN)
        .select_related("approver")
        .order_by("pk")
    ]
    if not approvers:
        return f"The approval request for {title} was sent."
    return f"The approval request for {title} was sent to {', '.join(approvers)}."


def send_approval_request(request: HttpRequest, record: Any) -> str:
    try:
        approval_request = approval_request_send(record=record, user=request.user)
    except PermissionDenied as error:
        raise ValidationError(str(error) or "You may not send this approval request.") from None
    return sent_message(approval_request)


def cancel_approval_request(request: HttpRequest, record: Any) -> str:
    try:
        approval_request_cancel_for(record=record, user=request.user)
    except PermissionDenied as error:
        raise ValidationError(str(error) or "You may not cancel this approval request.") from None
    return f"The approval request for {record_label(record)} was cancelled."


def request_approval_group(page: Page, request: HttpRequest, obj: Any) -> list[ActionGroup]:
    table_id = PAGES.get(page.key)
    user = getattr(request, "user", None)
    if table_id is None or obj is None or user is None or not user.is_authenticated:
        return []
    actions = [
        Action(
            key="send-approval-request",
            label="Send Approval Request",
            handler=send_approval_request,
            enabled=_may_send,
        ),
        Action(
            key="cancel-approval-request",
            label="Cancel Approval Request",
            handler=cancel_approval_request,
            enabled=_may_cancel,
        ),
        Action(
            key="approvals",
            label="Approvals",
            url=lambda record, _request: entries_url(table_id, record),
        ),
    ]
    return [ActionGroup(GROUP_KEY, "Request Approval", actions)]


# Registered once, however often this module is imported or reloaded.
if not any(
    getattr(p, "__qualname__", "") == "request_approval_group"
    and getattr(p, "__module__", "") == __name__
    for p in registry.action_group_providers
):
    registry.register_action_groups(request_approval_group)
