"""The Approvals FactBox on the sales order, customer and item pages: the record's latest
approval request, its approvers with their status and due dates, and a link to its history.

Two queries whatever the page: the latest request, then its entries with their approvers.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from approvals.models import ApprovalRequest
from approvals.templates import CUSTOMERS, ITEMS, SALES_ORDERS
from approvals.views.requests import entries_url, entry_views, request_view
from bcsite.pages.base import FactBox
from bcsite.registry import registry

PAGES = {"sales_order": SALES_ORDERS, "customer_card": CUSTOMERS, "item_card": ITEMS}


def latest_request(company, table_id: int, record) -> ApprovalRequest | None:
    return (
        ApprovalRequest.objects.filter(
            company=company, table_id=table_id, record_id=record.system_id
        )
        .exclude(kind=ApprovalRequest.Kind.FLOW_APPROVAL)
        .select_related("requester", "decided_by")
        .order_by("-created_at", "-pk")
        .first()
    )


def _context(table_id: int):
    def context(request: HttpRequest, obj: Any) -> dict:
        found = latest_request(request.company, table_id, obj)
        entries = []
        if found is not None:
            rows = list(found.entries.select_related("approver", "decided_by"))
            for row in rows:
                row.request = found  # already read, with its requester
            entries = entry_views(rows)
        return {
            "approval_request": request_view(found) if found is not None else None,
            "approval_entries": entries,
            "history_url": entries_url(table_id, obj),
        }

    return context


def _visible(obj: Any, request: HttpRequest) -> bool:
    return obj is not None and getattr(request, "company", None) is not None


FACTBOXES = {
    page_key: FactBox(
        key="approvals",
        title="Approvals",
        template="approvals/requests/_factbox.html",
        context=_context(table_id),
        visible=_visible,
    )
    for page_key, table_id in PAGES.items()
}

# Registered once, however often this module is imported or reloaded.
for _page_key, _box in FACTBOXES.items():
    if not any(key == _page_key and box.key == _box.key for key, box in registry.factboxes):
        registry.register_factbox(_page_key, _box)
