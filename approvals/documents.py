"""What sending a record for approval does to it, per table, as BC's workflow responses do.

- A sales order goes Pending Approval, then Released when approved, back to Open when the
  request is rejected or cancelled.
- A customer or an item is restricted (it cannot be used on documents) until approved.
- A held change (a credit limit, a unit price) is applied when approved, dropped otherwise.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from approvals.models import RestrictedRecord
from approvals.templates import CUSTOMERS, ITEMS, SALES_ORDERS
from bcsite.registry import registry
from records import services as records_services
from records.models import ZERO, SalesOrder


@dataclass(frozen=True)
class Approvable:
    """A table whose records can be sent for approval."""

    table_id: int
    label: str  # "Sales Order"
    amount: Callable[[Any], Decimal]
    on_request: Callable[[Any, Any], None]
    on_approve: Callable[[Any, Any], None]
    on_reject: Callable[[Any, Any], None]
    on_cancel: Callable[[Any, Any], None]
    # The service that applies a change of these records' fields: (record, user, **fields).
    apply_change: Callable[..., Any] | None = None


def _order_pending(order: SalesOrder, user) -> None:
    records_services.sales_order_mark_pending_approval(order=order, user=user)


def _order_approved(order: SalesOrder, user) -> None:
    records_services.sales_order_end_approval(order=order, user=user, approved=True)


def _order_reopened(order: SalesOrder, user) -> None:
    records_services.sales_order_end_approval(order=order, user=user, approved=False)


def restrict(record, *, table_id: int, details: str) -> None:
    RestrictedRecord.objects.get_or_create(
        table_id=table_id,
        record_id=record.system_id,
        defaults={"company_id": record.company_id, "details": details[:250]},
    )


def _restrict(table_id: int, label: str):
    def on_request(record, user) -> None:
        restrict(
            record,
            table_id=table_id,
            details=f"{label} {record.no} is pending approval.",
        )

    return on_request


def _allow(table_id: int):
    def allow(record, user) -> None:
        RestrictedRecord.objects.filter(table_id=table_id, record_id=record.system_id).delete()

    return allow


def _keep(record, user) -> None:
    """A rejected or cancelled request leaves the record restricted: it is still not approved."""


_applying = threading.local()


@contextmanager
def applying_approved_change():
    """While an approved change is applied, no holder holds it back again."""
    _applying.active = True
    try:
        yield
    finally:
        _applying.active = False


def is_applying_approved_change() -> bool:
    return getattr(_applying, "active", False)


def _applying(update, name: str):
    """Apply an approved change through the records service ``update`` (``name`` is its
    record argument), without holding it back again."""

    def apply_change(record, user, **fields) -> None:
        with applying_approved_change():
            update(**{name: record}, user=user, **fields)

    return apply_change


APPROVABLES: dict[int, Approvable] = {
    SALES_ORDERS: Approvable(
        table_id=SALES_ORDERS,
        label="Sales Order",
        amount=lambda order: order.amount,
        on_request=_order_pending,
        on_approve=_order_approved,
        on_reject=_order_reopened,
        on_cancel=_order_reopened,
    ),
    CUSTOMERS: Approvable(
        table_id=CUSTOMERS,
        label="Customer",
        amount=lambda customer: ZERO,
        on_request=_restrict(CUSTOMERS, "Customer"),
        on_approve=_allow(CUSTOMERS),
        on_reject=_keep,
        on_cancel=_keep,
        apply_change=_applying(records_services.customer_update, "customer"),
    ),
    ITEMS: Approvable(
        table_id=ITEMS,
        label="Item",
        amount=lambda item: ZERO,
        on_request=_restrict(ITEMS, "Item"),
        on_approve=_allow(ITEMS),
        on_reject=_keep,
        on_cancel=_keep,
        apply_change=_applying(records_services.item_update, "item"),
    ),
}


def approvable(record: Any) -> Approvable | None:
    table = registry.table_for_model(type(record))
    return APPROVABLES.get(table.id) if table is not None else None


def record_label(record: Any) -> str:
    found = approvable(record)
    label = found.label if found else type(record)._meta.verbose_name.title()
    return f"{label} {getattr(record, 'no', '')}".strip()
