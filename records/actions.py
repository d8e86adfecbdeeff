"""What the record pages' buttons do: each handler calls one service.

Write callables take ``(request, ...)`` and the cleaned form data; action handlers return a
message (shown after the action) or a response (Post opens the new invoice). Refusals are
the services' ValidationErrors, shown by the page framework.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils import timezone

from bcsite.pages.actionbar import run_each
from bcsite.pages.display import format_decimal
from bcsite.registry import registry
from records import services
from records.models import Customer, Item, SalesOrder, SalesOrderLine


def _given(data: dict) -> dict:
    """Inputs left blank mean "use the default" (item price, no discount), not None."""
    return {name: value for name, value in data.items() if value is not None}


# -- Customers ------------------------------------------------------------------------------


def customer_create(request: HttpRequest, data: dict) -> Customer:
    return services.customer_create(company=request.company, user=request.user, **data)


def customer_update(request: HttpRequest, customer: Customer, data: dict) -> None:
    services.customer_update(customer=customer, user=request.user, **data)
    _tell_held_changes(request, customer)


def _tell_held_changes(request: HttpRequest, record) -> None:
    """Say which changes an approval workflow holds back (a credit limit, a unit price)."""
    for message in getattr(record, "held_changes", []):
        messages.info(request, message)


def customer_delete(request: HttpRequest, customer: Customer) -> None:
    services.customer_delete(customer=customer, user=request.user)


def record_readonly_reason(record) -> str | None:
    """Why a customer or an item cannot be changed now: it is pending approval. Asked once
    per record object, however often the page asks."""
    if "_readonly_reason" not in record.__dict__:
        record._readonly_reason = registry.guard_refusal(record, None, "modify")
    return record._readonly_reason


# -- Items ----------------------------------------------------------------------------------


def item_create(request: HttpRequest, data: dict) -> Item:
    return services.item_create(company=request.company, user=request.user, **data)


def item_update(request: HttpRequest, item: Item, data: dict) -> None:
    services.item_update(item=item, user=request.user, **data)
    _tell_held_changes(request, item)


def item_delete(request: HttpRequest, item: Item) -> None:
    services.item_delete(item=item, user=request.user)


class AdjustInventoryForm(forms.Form):
    new_inventory = forms.DecimalField(
        label="New Inventory",
        max_digits=18,
        decimal_places=5,
        min_value=0,
        widget=forms.TextInput(attrs={"inputmode": "decimal", "autofocus": True}),
    )
    posting_date = forms.DateField(
        label="Posting Date",
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        help_text="Leave blank for today.",
    )


def adjust_inventory_initial(item: Item) -> dict:
    return {"new_inventory": item.inventory.normalize(), "posting_date": timezone.localdate()}


def item_adjust_inventory(
    request: HttpRequest, item: Item, *, new_inventory, posting_date=None
) -> str:
    entry = services.item_adjust_inventory(
        item=item, user=request.user, new_inventory=new_inventory, posting_date=posting_date
    )
    quantity = format_decimal(item.inventory, 5)
    if entry is None:
        return f"The inventory of item {item.no} already is {quantity}."
    return f"The inventory of item {item.no} is now {quantity} (entry {entry.document_no})."


# -- Sales orders ---------------------------------------------------------------------------


def sales_order_create(request: HttpRequest, data: dict) -> SalesOrder:
    fields = _given(data)
    customer = fields.pop("customer", None)
    return services.sales_order_create(
        company=request.company, user=request.user, customer=customer, **fields
    )


def sales_order_update(request: HttpRequest, order: SalesOrder, data: dict) -> None:
    services.sales_order_update(order=order, user=request.user, **data)


def sales_order_delete(request: HttpRequest, order: SalesOrder) -> None:
    services.sales_order_delete(order=order, user=request.user)


def sales_line_add(request: HttpRequest, order: SalesOrder, data: dict) -> SalesOrderLine:
    return services.sales_order_line_add(order=order, user=request.user, **_given(data))


def sales_line_update(request: HttpRequest, line: SalesOrderLine, data: dict) -> None:
    services.sales_order_line_update(line=line, user=request.user, **_given(data))


def sales_line_delete(request: HttpRequest, line: SalesOrderLine) -> None:
    services.sales_order_line_delete(line=line, user=request.user)


def sales_order_release(request: HttpRequest, order: SalesOrder) -> str:
    services.sales_order_release(order=order, user=request.user)
    return f"Sales order {order.no} was released."


def sales_order_reopen(request: HttpRequest, order: SalesOrder) -> str:
    services.sales_order_reopen(order=order, user=request.user)
    return f"Sales order {order.no} was reopened."


def sales_order_post(request: HttpRequest, order: SalesOrder) -> HttpResponse:
    """Post, then open the posted invoice: the order itself is gone once fully invoiced."""
    no = order.no
    invoice = services.sales_order_post(order=order, user=request.user)
    messages.success(request, f"Sales order {no} was posted as posted sales invoice {invoice.no}.")
    return redirect(registry.pages["posted_sales_invoice"].card_url(invoice))


def _run_on_selected(request: HttpRequest, orders: QuerySet, service, verb: str) -> str | None:
    def done(count: int) -> str:
        return f"1 sales order was {verb}." if count == 1 else f"{count} sales orders were {verb}."

    return run_each(
        request, orders, lambda order: service(order=order, user=request.user), done=done
    )


def release_selected(request: HttpRequest, orders: QuerySet) -> str | None:
    return _run_on_selected(request, orders, services.sales_order_release, "released")


def reopen_selected(request: HttpRequest, orders: QuerySet) -> str | None:
    return _run_on_selected(request, orders, services.sales_order_reopen, "reopened")


def post_selected(request: HttpRequest, orders: QuerySet) -> str | None:
    return _run_on_selected(request, orders, services.sales_order_post, "posted")


def order_can(flag: str):
    """``enabled`` for an order's status action: SalesOrder.can_release and friends."""

    def enabled(order: Any, request: HttpRequest) -> bool:
        return bool(order is not None and getattr(order, flag))

    return enabled
