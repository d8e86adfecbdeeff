"""Posting a sales order: BC's Sales-Post, ship and invoice in one go."""

from collections import defaultdict
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F

from bcsite.events import records_created
from bcsite.registry import registry
from records.events import raise_sales_invoice_posted, raise_sales_order_released
from records.models import (
    Customer,
    CustomerLedgerEntry,
    Item,
    ItemLedgerEntry,
    PostedSalesInvoice,
    PostedSalesInvoiceLine,
    SalesOrder,
    SalesOrderLine,
    round_amount,
)
from records.services.common import check_amount_fits
from records.services.locks import sales_order_lock_for_posting
from records.services.no_series import no_series_next


def sales_order_post(*, order: SalesOrder, user) -> PostedSalesInvoice:
    """Ship and invoice the whole order, then delete it, as BC does with a fully invoiced order.

    All in one transaction, in this order:
    1. lock the customer, the items and the order (one lock order, see ``locks``);
    2. check: not pending approval, something to post, posting date, customer and
       items not blocked; release the order if it is open;
    3. create the posted invoice with its lines, numbered from the S-INV+ series;
    4. post the customer ledger entry and raise the customer's balance;
    5. post an item ledger entry per inventory line and lower the items' inventory;
    6. delete the order and its lines.
    """
    with transaction.atomic():
        customer, items = sales_order_lock_for_posting(order=order)
        lines = list(order.lines.filter(quantity__gt=0).order_by("line_no"))
        _check_postable(order, customer, items, lines)
        if order.status == SalesOrder.Status.OPEN:
            # Posting an open order releases it: an approval workflow that applies to it
            # refuses that as it refuses Release.
            registry.check_guards(order, user, "release")
            order.status = SalesOrder.Status.RELEASED
            order.save(update_fields=["status", "last_modified"])
            raise_sales_order_released(order)
        invoice = _create_invoice(order, lines, user)
        _post_customer_entry(invoice, customer)
        _post_item_entries(invoice, lines, items)
        order.delete()
        raise_sales_invoice_posted(invoice, customer)
    return invoice


def _check_postable(
    order: SalesOrder, customer: Customer, items: dict[int, Item], lines: list[SalesOrderLine]
) -> None:
    if order.status == SalesOrder.Status.PENDING_APPROVAL:
        raise ValidationError(
            f"Sales Order {order.no} is pending approval. It can be posted when the approval "
            "process is complete."
        )
    if not lines:
        raise ValidationError(f"There is nothing to post for Order {order.no}.")
    if not order.posting_date:
        raise ValidationError(f"Posting Date must have a value in {order.document_label}.")
    for purpose in ("ship", "invoice"):
        reason = customer.blocked_reason(for_=purpose)
        if reason:
            raise ValidationError(reason)
    for line in lines:
        if items[line.item_id].blocked:
            raise ValidationError(f"Item {items[line.item_id].no} is blocked.")
    registry.check_guards(customer, None, "use")
    registry.check_guards(list(items.values()), None, "use")


def _create_invoice(order: SalesOrder, lines: list[SalesOrderLine], user) -> PostedSalesInvoice:
    amounts = {line.pk: line.compute_line_amount() for line in lines}
    amount = sum(amounts.values(), Decimal("0"))
    invoice = PostedSalesInvoice.objects.create(
        company_id=order.company_id,
        no=no_series_next(company=order.company, code="S-INV+"),
        order_no=order.no,
        customer_id=order.customer_id,
        sell_to_customer_name=order.sell_to_customer_name,
        order_date=order.order_date,
        posting_date=order.posting_date,
        due_date=order.due_date,
        external_document_no=order.external_document_no,
        vat_percent=order.vat_percent,
        amount=amount,
        amount_including_vat=order.compute_amount_including_vat(amount),
        posted_by=user if user is not None and user.is_authenticated else None,
    )
    PostedSalesInvoiceLine.objects.bulk_create(
        PostedSalesInvoiceLine(
            invoice=invoice,
            line_no=line.line_no,
            item_id=line.item_id,
            description=line.description,
            quantity=line.quantity,
            unit_of_measure=line.unit_of_measure,
            unit_price=line.unit_price,
            line_discount_percent=line.line_discount_percent,
            line_amount=amounts[line.pk],
        )
        for line in lines
    )
    return invoice


def _post_customer_entry(invoice: PostedSalesInvoice, customer: Customer) -> None:
    # The customer row is locked, so its balance cannot move between this check and the update.
    check_amount_fits(
        customer.balance + invoice.amount_including_vat,
        what=f"The balance of Customer {customer.no}",
    )
    CustomerLedgerEntry.objects.create(
        company_id=invoice.company_id,
        customer=customer,
        posting_date=invoice.posting_date,
        document_type=CustomerLedgerEntry.DocumentType.INVOICE,
        document_no=invoice.no,
        description=f"Order {invoice.order_no}",
        amount=invoice.amount_including_vat,
        remaining_amount=invoice.amount_including_vat,
        due_date=invoice.due_date,
        open=True,
    )
    Customer.objects.filter(pk=customer.pk).update(
        balance=F("balance") + invoice.amount_including_vat
    )


def _post_item_entries(
    invoice: PostedSalesInvoice, lines: list[SalesOrderLine], items: dict[int, Item]
) -> None:
    """Service items have no inventory, so only inventory items get entries."""
    entries = []
    sold = defaultdict(Decimal)
    for line in lines:
        item = items[line.item_id]
        if item.type != Item.Type.INVENTORY:
            continue
        entries.append(
            ItemLedgerEntry(
                company_id=invoice.company_id,
                item=item,
                posting_date=invoice.posting_date,
                entry_type=ItemLedgerEntry.EntryType.SALE,
                document_no=invoice.no,
                description=line.description,
                quantity=-line.quantity,
                sales_amount=line.compute_line_amount(),
                cost_amount=-round_amount(line.quantity * item.unit_cost),
            )
        )
        sold[item.pk] += line.quantity
    ItemLedgerEntry.objects.bulk_create(entries)
    records_created(ItemLedgerEntry, entries)
    for item_pk, quantity in sold.items():
        Item.objects.filter(pk=item_pk).update(inventory=F("inventory") - quantity)
