"""The business events of sales, customers and items (BC's external business events).

The services raise them inside the transaction of the change, through ``raise_*`` below,
so a payload is built the same way wherever the change happens.
"""

from __future__ import annotations

from decimal import Decimal

from bcsite.events import BusinessEvent, PayloadField, events
from bcsite.pages import card_url_for
from records.models import Customer, Item, PostedSalesInvoice, SalesOrder


def _f(name: str, type_: str, description: str) -> PayloadField:
    return PayloadField(name, type_, description)


_CUSTOMER = (
    _f("customerId", "uuid", "The customer's id."),
    _f("customerNumber", "text", "The customer's No."),
    _f("customerName", "text", "The customer's name."),
    _f("customerEmail", "text", "The customer's email."),
)
_RECORD_URL = _f("recordUrl", "text", "The path of the page that shows the record.")

SALES_ORDER_RELEASED = events.declare(
    BusinessEvent(
        key="salesOrderReleased",
        name="Sales order released",
        category="Sales",
        description="A sales order was released, from Open or by an approval.",
        table_id=36,
        payload=(
            _f("salesOrderId", "uuid", "The order's id."),
            _f("salesOrderNumber", "text", "The order's No."),
            *_CUSTOMER,
            _f("amount", "number", "The order's amount excluding VAT."),
            _f("amountIncludingVat", "number", "The order's amount including VAT."),
            _f("orderDate", "date", "The order date."),
            _RECORD_URL,
        ),
    )
)
SALES_INVOICE_POSTED = events.declare(
    BusinessEvent(
        key="salesInvoicePosted",
        name="Sales invoice posted",
        category="Sales",
        description="A sales order was posted: its posted sales invoice was created.",
        table_id=112,
        payload=(
            _f("salesInvoiceId", "uuid", "The posted invoice's id."),
            _f("salesInvoiceNumber", "text", "The posted invoice's No."),
            _f("orderNumber", "text", "The No. of the order it was posted from."),
            *_CUSTOMER,
            _f("amount", "number", "The invoice's amount excluding VAT."),
            _f("amountIncludingVat", "number", "The invoice's amount including VAT."),
            _f("postingDate", "date", "The posting date."),
            _f("dueDate", "date", "The due date."),
            _RECORD_URL,
        ),
    )
)
_BLOCKING = (
    *_CUSTOMER,
    _f("blocked", "text", "Blocked, as it is now (' ', Ship, Invoice, All)."),
    _f("previousBlocked", "text", "Blocked, as it was before."),
    _RECORD_URL,
)
CUSTOMER_BLOCKED = events.declare(
    BusinessEvent(
        key="customerBlocked",
        name="Customer blocked",
        category="Customers",
        description="A customer that was not blocked became blocked (Ship, Invoice or All).",
        table_id=18,
        payload=_BLOCKING,
    )
)
CUSTOMER_UNBLOCKED = events.declare(
    BusinessEvent(
        key="customerUnblocked",
        name="Customer unblocked",
        category="Customers",
        description="A blocked customer's Blocked field was cleared.",
        table_id=18,
        payload=_BLOCKING,
    )
)
SALES_CREDIT_LIMIT_EXCEEDED = events.declare(
    BusinessEvent(
        key="salesCreditLimitExceeded",
        name="Sales credit limit exceeded",
        category="Sales",
        description=(
            "A sales order was released for a customer whose balance plus the order's amount "
            "including VAT is over the customer's credit limit."
        ),
        table_id=36,
        payload=(
            *_CUSTOMER,
            _f("creditLimit", "number", "The customer's Credit Limit (LCY)."),
            _f("balance", "number", "The customer's Balance (LCY)."),
            _f("orderAmount", "number", "The order's amount including VAT."),
            _f("exceededBy", "number", "How far balance plus order go over the limit."),
            _f("salesOrderNumber", "text", "The order's No."),
            _RECORD_URL,
        ),
    )
)
ITEM_UNIT_PRICE_CHANGED = events.declare(
    BusinessEvent(
        key="itemUnitPriceChanged",
        name="Item unit price changed",
        category="Items",
        description="An item's Unit Price changed.",
        table_id=27,
        payload=(
            _f("itemId", "uuid", "The item's id."),
            _f("itemNumber", "text", "The item's No."),
            _f("itemName", "text", "The item's description."),
            _f("unitPrice", "number", "The new unit price."),
            _f("previousUnitPrice", "number", "The unit price before."),
            _RECORD_URL,
        ),
    )
)


def _number(value: Decimal | None) -> float | None:
    return None if value is None else float(value)


def _customer(customer: Customer) -> dict:
    return {
        "customerId": str(customer.system_id),
        "customerNumber": customer.no,
        "customerName": customer.name,
        "customerEmail": customer.email,
    }


def raise_sales_order_released(order: SalesOrder) -> None:
    customer = order.customer
    events.emit(
        SALES_ORDER_RELEASED.key,
        company_id=order.company_id,
        record=order,
        payload={
            "salesOrderId": str(order.system_id),
            "salesOrderNumber": order.no,
            **_customer(customer),
            "amount": _number(order.amount),
            "amountIncludingVat": _number(order.amount_including_vat),
            "orderDate": order.order_date.isoformat() if order.order_date else None,
            "recordUrl": card_url_for(order) or "",
        },
    )
    limit = customer.credit_limit or Decimal(0)
    total = customer.balance + order.amount_including_vat
    if limit > 0 and total > limit:
        events.emit(
            SALES_CREDIT_LIMIT_EXCEEDED.key,
            company_id=order.company_id,
            record=customer,
            payload={
                **_customer(customer),
                "creditLimit": _number(limit),
                "balance": _number(customer.balance),
                "orderAmount": _number(order.amount_including_vat),
                "exceededBy": _number(total - limit),
                "salesOrderNumber": order.no,
                "recordUrl": card_url_for(customer) or "",
            },
        )


def raise_sales_invoice_posted(invoice: PostedSalesInvoice, customer: Customer) -> None:
    events.emit(
        SALES_INVOICE_POSTED.key,
        company_id=invoice.company_id,
        record=invoice,
        payload={
            "salesInvoiceId": str(invoice.system_id),
            "salesInvoiceNumber": invoice.no,
            "orderNumber": invoice.order_no,
            **_customer(customer),
            "amount": _number(invoice.amount),
            "amountIncludingVat": _number(invoice.amount_including_vat),
            "postingDate": invoice.posting_date.isoformat() if invoice.posting_date else None,
            "dueDate": invoice.due_date.isoformat() if invoice.due_date else None,
            "recordUrl": card_url_for(invoice) or "",
        },
    )


def raise_customer_blocking_changed(customer: Customer, previous: str) -> None:
    """Blocked went from ``previous`` to the customer's value: blocked, or unblocked."""
    if bool(previous) == bool(customer.blocked):
        return
    event = CUSTOMER_BLOCKED if customer.blocked else CUSTOMER_UNBLOCKED
    captions = dict(Customer.Blocked.choices)
    events.emit(
        event.key,
        company_id=customer.company_id,
        record=customer,
        payload={
            **_customer(customer),
            "blocked": captions.get(customer.blocked, customer.blocked),
            "previousBlocked": captions.get(previous, previous),
            "recordUrl": card_url_for(customer) or "",
        },
    )


def raise_item_unit_price_changed(item: Item, previous: Decimal) -> None:
    if previous == item.unit_price:
        return
    events.emit(
        ITEM_UNIT_PRICE_CHANGED.key,
        company_id=item.company_id,
        record=item,
        payload={
            "itemId": str(item.system_id),
            "itemNumber": item.no,
            "itemName": item.description,
            "unitPrice": _number(item.unit_price),
            "previousUnitPrice": _number(previous),
            "recordUrl": card_url_for(item) or "",
        },
    )
