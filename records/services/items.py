"""Items: create, update, delete, and BC's Adjust Inventory."""

import datetime
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from bcsite.registry import registry
from records.events import raise_item_unit_price_changed
from records.models import (
    Company,
    Item,
    ItemLedgerEntry,
    PostedSalesInvoiceLine,
    SalesOrderLine,
    round_amount,
)
from records.services.common import (
    add_error,
    assign_fields,
    card_create,
    card_errors,
    check_field_names,
    delete_unless_referred,
    hold_change,
    raise_errors,
    save_with_unique_no,
    writable_fields,
)
from records.services.locks import item_lock
from records.services.no_series import no_series_next

ITEM_FIELDS = writable_fields(Item)
ITEM_PROTECTED = {
    "inventory": (
        "Inventory cannot be changed directly; it changes by posting or by Adjust Inventory."
    ),
    "company": "An item cannot move to another company.",
}


def item_create(*, company: Company, user, **fields) -> Item:
    """Create an item; a blank No. takes the next number of the ITEM series."""
    check_field_names(fields, writable=ITEM_FIELDS, protected=ITEM_PROTECTED)
    return card_create(Item, company=company, series="ITEM", label="Item", fields=fields)


def item_update(*, item: Item, user, **fields) -> Item:
    """Change the given fields only, so inventory posted meanwhile is never overwritten."""
    check_field_names(fields, writable=ITEM_FIELDS, protected=ITEM_PROTECTED)
    if not fields:
        return item
    with transaction.atomic():
        registry.check_guards(item, user, "modify")
        old = Item.objects.filter(pk=item.pk).values("type", "unit_price").first()
        if old and "unit_price" in fields:
            hold_change(item, user, fields, "unit_price", old["unit_price"])
            if not fields:
                return item
        _update(item, fields, old)
        if old is not None:
            raise_item_unit_price_changed(item, old["unit_price"])
    return item


def _update(item: Item, fields: dict, old: dict | None) -> None:
    old_type = old["type"] if old else None
    assign_fields(item, fields)
    errors = card_errors(item, label="Item")
    if (
        old_type is not None
        and item.type != old_type
        and ItemLedgerEntry.objects.filter(item_id=item.pk).exists()
    ):
        add_error(
            errors,
            "type",
            f"You cannot change the Type field on Item {item.no} because at least one "
            "Item Ledger Entry exists for this item.",
        )
    raise_errors(errors)
    save_with_unique_no(item, label="Item", update_fields=[*fields, "last_modified"])


def item_delete(*, item: Item, user) -> None:
    label = f"Item {item.no}"
    registry.check_guards(item, user, "delete")
    if SalesOrderLine.objects.filter(item_id=item.pk).exists():
        raise ValidationError(
            f"You cannot delete {label} because there is at least one outstanding "
            "Sales Order that includes this item."
        )
    if PostedSalesInvoiceLine.objects.filter(item_id=item.pk).exists():
        raise ValidationError(f"You cannot delete {label} because it is on posted sales invoices.")
    if ItemLedgerEntry.objects.filter(item_id=item.pk).exists():
        raise ValidationError(f"You cannot delete {label} because it has ledger entries.")
    delete_unless_referred(item, label=label)


def item_adjust_inventory(
    *, item: Item, user, new_inventory, posting_date: datetime.date | None = None
) -> ItemLedgerEntry | None:
    """Set the item's inventory by posting an adjustment entry for the difference.

    Returns the entry, or None when the inventory already is ``new_inventory``.
    """
    target = _parse_quantity(new_inventory)
    with transaction.atomic():
        item_lock(item=item)
        if item.type != Item.Type.INVENTORY:
            raise ValidationError(
                f"Type must be equal to 'Inventory' in Item: No.={item.no}. "
                f"Current value is '{item.get_type_display()}'."
            )
        if item.blocked:
            raise ValidationError(f"Item {item.no} is blocked.")
        difference = target - item.inventory
        if not difference:
            return None
        entry = ItemLedgerEntry.objects.create(
            company_id=item.company_id,
            item=item,
            posting_date=posting_date or timezone.localdate(),
            entry_type=(
                ItemLedgerEntry.EntryType.POSITIVE_ADJMT
                if difference > 0
                else ItemLedgerEntry.EntryType.NEGATIVE_ADJMT
            ),
            document_no=no_series_next(company=item.company, code="IJNL-GEN"),
            description=item.description,
            quantity=difference,
            cost_amount=round_amount(difference * item.unit_cost),
        )
        Item.objects.filter(pk=item.pk).update(inventory=F("inventory") + difference)
        item.inventory = target
    return entry


def _parse_quantity(value) -> Decimal:
    field = Item._meta.get_field("inventory")
    try:
        quantity = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise ValidationError({"new_inventory": ["Enter a number."]}) from None
    if not quantity.is_finite():
        raise ValidationError({"new_inventory": ["Enter a number."]})
    if quantity < 0:
        raise ValidationError({"new_inventory": ["Inventory cannot be negative."]})
    try:
        field.clean(quantity, None)
    except ValidationError as exc:
        raise ValidationError({"new_inventory": exc.messages}) from None
    return quantity
