"""Sales orders: the header, its lines, and the status transitions.

Every change to an order or its lines locks the order row first, so a concurrent
release or post always sees (and leaves) a consistent document.
"""

import datetime
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max, Sum
from django.utils import timezone

from bcsite.registry import registry
from records.events import raise_sales_order_released
from records.models import ZERO, Company, Customer, Item, SalesOrder, SalesOrderLine, round_amount
from records.services.common import (
    add_error,
    add_no_exists_error,
    assign_fields,
    check_amount_fits,
    check_field_names,
    clean_errors,
    ensure_order_editable,
    normalize_no,
    order_status_error,
    raise_errors,
    save_with_unique_no,
)
from records.services.locks import sales_order_lock
from records.services.no_series import no_series_next

# Without payment terms, an order is due this many days after its order date.
PAYMENT_DAYS = 30
LINE_NO_STEP = 10000

ORDER_FIELDS = frozenset({"no", "order_date", "posting_date", "due_date", "external_document_no"})
ORDER_PROTECTED = {
    "status": "Status changes only by Release, Reopen and approvals.",
    "amount": "Amount is the sum of the lines.",
    "amount_including_vat": "Amount Including VAT is computed from the lines and VAT %.",
    "vat_percent": "VAT % comes from the company.",
    "sell_to_customer_name": "Sell-to Customer Name comes from the customer.",
    "created_by": "Created By is set when the order is created.",
    "company": "A sales order cannot move to another company.",
}
LINE_FIELDS = frozenset({"item", "quantity", "unit_price", "line_discount_percent", "description"})
LINE_PROTECTED = {
    "line_amount": "Line Amount is computed from quantity, price and discount.",
    "line_no": "Line No. is assigned when the line is added.",
    "order": "A line cannot move to another order.",
    "unit_of_measure": "Unit of Measure comes from the item.",
    "type": "Only item lines are supported.",
}


def sales_order_create(*, company: Company, user, customer: Customer, **fields) -> SalesOrder:
    """Create an open order; a blank No. takes the next number of the S-ORD series."""
    check_field_names(fields, writable=ORDER_FIELDS, protected=ORDER_PROTECTED)
    _check_customer(company.pk, customer, company_name=company.name)
    with transaction.atomic():
        order = SalesOrder(
            company=company,
            customer=customer,
            sell_to_customer_name=customer.name,
            vat_percent=company.vat_percent,
            status=SalesOrder.Status.OPEN,
            created_by=user if user is not None and user.is_authenticated else None,
            **fields,
        )
        today = timezone.localdate()
        order.order_date = order.order_date or today
        order.posting_date = order.posting_date or today
        order.no = normalize_no(order.no) or no_series_next(company=company, code="S-ORD")
        _validate_header(order, default_due_date=not order.due_date)
        save_with_unique_no(order, label="Sales Order")
    return order


def sales_order_update(*, order: SalesOrder, user, **fields) -> SalesOrder:
    """Change header fields of an open order; a new customer brings its name along."""
    check_field_names(fields, writable=ORDER_FIELDS | {"customer"}, protected=ORDER_PROTECTED)
    if not fields:
        return order
    with transaction.atomic():
        sales_order_lock(order=order)
        ensure_order_editable(order)
        changed = set(fields)
        if "customer" in fields:
            customer = fields["customer"]
            _check_customer(order.company_id, customer, company_name=order.company.name)
            order.customer = customer
            order.sell_to_customer_name = customer.name
            changed.add("sell_to_customer_name")
        assign_fields(order, {name: value for name, value in fields.items() if name != "customer"})
        # A new order date moves the due date along, unless a due date is given too.
        default_due_date = "order_date" in fields and "due_date" not in fields
        if default_due_date:
            changed.add("due_date")
        _validate_header(order, default_due_date=default_due_date)
        save_with_unique_no(order, label="Sales Order", update_fields=[*changed, "last_modified"])
    return order


def sales_order_delete(*, order: SalesOrder, user) -> None:
    with transaction.atomic():
        sales_order_lock(order=order)
        ensure_order_editable(order)
        order.delete()


def sales_order_line_add(
    *,
    order: SalesOrder,
    user,
    item: Item,
    quantity,
    unit_price=None,
    line_discount_percent=0,
    description=None,
) -> SalesOrderLine:
    """Add an item line at the end; price, description and unit come from the item."""
    with transaction.atomic():
        sales_order_lock(order=order)
        ensure_order_editable(order)
        _check_item(order, item)
        last_line_no = order.lines.aggregate(last=Max("line_no"))["last"] or 0
        line = SalesOrderLine(
            order=order,
            line_no=last_line_no + LINE_NO_STEP,
            item=item,
            description=description or item.description,
            quantity=quantity,
            unit_of_measure=item.base_unit_of_measure,
            unit_price=item.unit_price if unit_price is None else unit_price,
            line_discount_percent=line_discount_percent,
        )
        _validate_line(line)
        line.line_amount = line.compute_line_amount()
        check_amount_fits(line.line_amount, what=f"The line amount of Sales Order {order.no}")
        line.save()
        _recompute_totals(order)
    return line


def sales_order_line_update(*, line: SalesOrderLine, user, **fields) -> SalesOrderLine:
    """Change a line of an open order; a new item brings its price, description and unit."""
    check_field_names(fields, writable=LINE_FIELDS, protected=LINE_PROTECTED)
    order = line.order
    with transaction.atomic():
        sales_order_lock(order=order)
        ensure_order_editable(order)
        try:
            line.refresh_from_db()
        except SalesOrderLine.DoesNotExist:
            raise ValidationError(
                f"Line {line.line_no} of Sales Order {order.no} does not exist."
            ) from None
        changed = set(fields)
        item = fields.get("item", line.item)
        if item is None or item.pk != line.item_id:
            _check_item(order, item)
            line.item = item
            line.unit_of_measure = item.base_unit_of_measure
            line.unit_price = item.unit_price
            line.description = item.description
            changed |= {"unit_of_measure", "unit_price", "description"}
        for name in fields.keys() - {"item"}:
            setattr(line, name, fields[name])
        if "description" in fields and not line.description:
            line.description = item.description
        _validate_line(line)
        line.line_amount = line.compute_line_amount()
        check_amount_fits(line.line_amount, what=f"The line amount of Sales Order {order.no}")
        line.save(update_fields=[*changed, "line_amount", "last_modified"])
        _recompute_totals(order)
    return line


def sales_order_line_delete(*, line: SalesOrderLine, user) -> None:
    order = line.order
    with transaction.atomic():
        sales_order_lock(order=order)
        ensure_order_editable(order)
        SalesOrderLine.objects.filter(pk=line.pk, order=order).delete()
        _recompute_totals(order)


def sales_order_release(*, order: SalesOrder, user) -> SalesOrder:
    """Open -> Released, after checking that the order can be shipped.

    Releasing a released order changes nothing, as in BC: two users, or a retried flow
    step, releasing the same order both succeed, and the order is released once.
    """
    with transaction.atomic():
        sales_order_lock(order=order)
        if order.status == SalesOrder.Status.RELEASED:
            return order
        if order.status == SalesOrder.Status.PENDING_APPROVAL:
            raise ValidationError(
                f"Sales Order {order.no} is pending approval. This document can only be "
                "released when the approval process is complete."
            )
        registry.check_guards(order, user, "release")
        check_releasable(order)
        _set_status(order, SalesOrder.Status.RELEASED)
        raise_sales_order_released(order)
    return order


def sales_order_reopen(*, order: SalesOrder, user) -> SalesOrder:
    """Released -> Open, so the order can be edited again; an open order stays as it is."""
    with transaction.atomic():
        sales_order_lock(order=order)
        if order.status == SalesOrder.Status.OPEN:
            return order
        if order.status == SalesOrder.Status.PENDING_APPROVAL:
            raise ValidationError(
                f"Sales Order {order.no} is pending approval. Cancel the approval request "
                "before you reopen the document."
            )
        _set_status(order, SalesOrder.Status.OPEN)
    return order


def sales_order_mark_pending_approval(*, order: SalesOrder, user) -> SalesOrder:
    """Open -> Pending Approval, when an approval request is sent for the order."""
    with transaction.atomic():
        sales_order_lock(order=order)
        if order.status != SalesOrder.Status.OPEN:
            raise order_status_error(order)
        check_releasable(order)
        _set_status(order, SalesOrder.Status.PENDING_APPROVAL)
    return order


def sales_order_end_approval(*, order: SalesOrder, user, approved: bool) -> SalesOrder:
    """Pending Approval -> Released when approved, -> Open when rejected or cancelled."""
    with transaction.atomic():
        sales_order_lock(order=order)
        if order.status != SalesOrder.Status.PENDING_APPROVAL:
            raise order_status_error(order, expected="Pending Approval")
        if approved:
            check_releasable(order)
        _set_status(order, SalesOrder.Status.RELEASED if approved else SalesOrder.Status.OPEN)
        if approved:
            raise_sales_order_released(order)
    return order


def check_releasable(order: SalesOrder, *, customer: Customer | None = None) -> None:
    """Refuse an order that has nothing to ship, a blocked customer or a blocked item."""
    if not order.lines.filter(quantity__gt=0).exists():
        raise ValidationError(f"There is nothing to release for Order {order.no}.")
    reason = (customer or order.customer).blocked_reason(for_="ship")
    if reason:
        raise ValidationError(reason)
    check_no_blocked_items(order)


def check_no_blocked_items(order: SalesOrder) -> None:
    blocked_no = (
        order.lines.filter(item__blocked=True)
        .order_by("line_no")
        .values_list("item__no", flat=True)
        .first()
    )
    if blocked_no is not None:
        raise ValidationError(f"Item {blocked_no} is blocked.")


def _set_status(order: SalesOrder, status: str) -> None:
    order.status = status
    order.save(update_fields=["status", "last_modified"])


def _check_customer(company_id: int, customer, *, company_name: str) -> None:
    if not isinstance(customer, Customer):
        raise ValidationError({"customer": ["Sell-to Customer No. must have a value."]})
    if customer.company_id != company_id:
        raise ValidationError(
            {"customer": [f"Customer {customer.no} does not exist in company {company_name}."]}
        )
    reason = customer.blocked_reason(for_="order")
    if reason:
        raise ValidationError({"customer": [reason]})
    registry.check_guards(customer, None, "use", field="customer")


def _check_item(order: SalesOrder, item) -> None:
    if not isinstance(item, Item):
        raise ValidationError({"item": ["No. must have a value."]})
    if item.company_id != order.company_id:
        raise ValidationError({"item": [f"Item {item.no} does not exist in this company."]})
    if item.blocked:
        raise ValidationError({"item": [f"Item {item.no} is blocked."]})
    registry.check_guards(item, None, "use", field="item")


def _validate_header(order: SalesOrder, *, default_due_date: bool) -> None:
    errors = clean_errors(order, exclude=("company", "customer", "created_by"))
    if default_due_date and "order_date" not in errors:
        order.due_date = order.order_date + datetime.timedelta(days=PAYMENT_DAYS)
        errors.pop("due_date", None)
    if (
        not errors.keys() & {"order_date", "due_date"}
        and order.due_date is not None
        and order.due_date < order.order_date
    ):
        add_error(errors, "due_date", "Due Date must not be before Order Date.")
    add_no_exists_error(errors, order, label="Sales Order")
    raise_errors(errors)


def _validate_line(line: SalesOrderLine) -> None:
    # The range checks run before the model's own validators, so an out-of-range
    # number gets this one message rather than a generic "greater than or equal to 0".
    errors = {}
    quantity = _as_decimal(line.quantity)
    if quantity is not None and quantity <= 0:
        add_error(errors, "quantity", "Quantity must be greater than 0.")
    discount = _as_decimal(line.line_discount_percent)
    if discount is not None and not 0 <= discount <= 100:
        add_error(errors, "line_discount_percent", "Line Discount % must be between 0 and 100.")
    for field, messages in clean_errors(line, exclude=("order", "item", "line_no")).items():
        errors.setdefault(field, messages)
    raise_errors(errors)


def _as_decimal(value) -> Decimal | None:
    try:
        number = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        return None
    return number if number.is_finite() else None


def _recompute_totals(order: SalesOrder) -> None:
    """Amount and Amount Including VAT from the lines, summed by the database."""
    amount = order.lines.aggregate(total=Sum("line_amount"))["total"] or ZERO
    order.amount = round_amount(amount)
    order.amount_including_vat = order.compute_amount_including_vat(order.amount)
    check_amount_fits(order.amount_including_vat, what=f"The total of Sales Order {order.no}")
    order.save(update_fields=["amount", "amount_including_vat", "last_modified"])
