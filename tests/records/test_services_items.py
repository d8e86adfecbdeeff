import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from records.models import Item, ItemLedgerEntry
from records.services import (
    item_adjust_inventory,
    item_create,
    item_delete,
    item_update,
    sales_order_line_add,
)
from tests.factories import ItemFactory, SalesOrderFactory
from tests.records.snapshots import db_snapshot


def test_it_creates_an_item_numbered_from_the_item_series(company, sales):
    first = item_create(company=company, user=sales, description="Bicycle", unit_price="4000")
    second = item_create(company=company, user=sales, description="Tyre", type="service")
    first.refresh_from_db()
    assert (first.no, second.no) == ("1000", "1010")
    assert (first.unit_price, first.inventory, second.type) == (Decimal("4000"), 0, "service")


def test_it_refuses_a_no_already_used_in_the_company(company, sales):
    ItemFactory(company=company, no="1000")
    before = db_snapshot()
    with pytest.raises(ValidationError) as exc:
        item_create(company=company, user=sales, no="1000", description="Again")
    assert exc.value.message_dict == {"no": ["Item 1000 already exists."]}
    assert db_snapshot() == before


def test_it_refuses_setting_the_inventory(company, sales):
    with pytest.raises(ValidationError) as exc:
        item_create(company=company, user=sales, description="X", inventory=5)
    assert "Adjust Inventory" in exc.value.message_dict["inventory"][0]
    assert not Item.objects.exists()


def test_field_errors_come_together(company, sales):
    with pytest.raises(ValidationError) as exc:
        item_create(company=company, user=sales, description="", unit_price="-1", type="car")
    assert set(exc.value.message_dict) == {"description", "unit_price", "type"}


def test_update_never_overwrites_inventory_posted_meanwhile(company, sales):
    item = ItemFactory(company=company, inventory=Decimal("10"))
    Item.objects.filter(pk=item.pk).update(inventory=Decimal("7"))
    item_update(item=item, user=sales, unit_price=Decimal("12.50"))
    item.refresh_from_db()
    assert (item.unit_price, item.inventory) == (Decimal("12.50"), Decimal("7"))


def test_update_refuses_changing_the_type_of_an_item_with_ledger_entries(company, sales):
    item = ItemFactory(company=company, no="1000")
    item_adjust_inventory(item=item, user=sales, new_inventory=5)
    before = db_snapshot()
    with pytest.raises(ValidationError) as exc:
        item_update(item=item, user=sales, type=Item.Type.SERVICE)
    assert exc.value.message_dict == {
        "type": [
            "You cannot change the Type field on Item 1000 because at least one "
            "Item Ledger Entry exists for this item."
        ]
    }
    assert db_snapshot() == before


def test_delete_removes_an_unused_item(company, sales):
    item = ItemFactory(company=company)
    item_delete(item=item, user=sales)
    assert not Item.objects.exists()


def test_delete_refuses_an_item_on_a_sales_order(company, sales):
    item = ItemFactory(company=company, no="1000")
    order = SalesOrderFactory(company=company)
    sales_order_line_add(order=order, user=sales, item=item, quantity=1)
    with pytest.raises(ValidationError) as exc:
        item_delete(item=item, user=sales)
    assert exc.value.messages == [
        "You cannot delete Item 1000 because there is at least one outstanding "
        "Sales Order that includes this item."
    ]
    assert Item.objects.filter(pk=item.pk).exists()


def test_delete_refuses_an_item_with_ledger_entries(company, sales):
    item = ItemFactory(company=company, no="1000")
    item_adjust_inventory(item=item, user=sales, new_inventory=1)
    with pytest.raises(ValidationError) as exc:
        item_delete(item=item, user=sales)
    assert exc.value.messages == ["You cannot delete Item 1000 because it has ledger entries."]
    assert Item.objects.filter(pk=item.pk).exists()


def test_adjust_inventory_posts_a_positive_adjustment(company, sales):
    item = ItemFactory(company=company, inventory=Decimal("10"), unit_cost=Decimal("2.50"))
    entry = item_adjust_inventory(
        item=item, user=sales, new_inventory="14.5", posting_date=datetime.date(2025, 3, 1)
    )
    item.refresh_from_db()
    assert item.inventory == Decimal("14.5")
    assert entry.entry_type == ItemLedgerEntry.EntryType.POSITIVE_ADJMT
    assert (entry.quantity, entry.cost_amount, entry.sales_amount) == (
        Decimal("4.5"),
        Decimal("11.25"),
        Decimal("0"),
    )
    assert (entry.document_no, entry.posting_date, entry.company) == (
        "T00001",
        datetime.date(2025, 3, 1),
        company,
    )


def test_adjust_inventory_posts_a_negative_adjustment(company, sales):
    item = ItemFactory(company=company, inventory=Decimal("10"), unit_cost=Decimal("3"))
    entry = item_adjust_inventory(item=item, user=sales, new_inventory=4)
    item.refresh_from_db()
    assert item.inventory == Decimal("4")
    assert entry.entry_type == ItemLedgerEntry.EntryType.NEGATIVE_ADJMT
    assert (entry.quantity, entry.cost_amount) == (Decimal("-6"), Decimal("-18.00"))


def test_adjust_inventory_works_from_the_committed_inventory(company, sales):
    item = ItemFactory(company=company, inventory=Decimal("10"))
    Item.objects.filter(pk=item.pk).update(inventory=Decimal("8"))
    entry = item_adjust_inventory(item=item, user=sales, new_inventory=10)
    assert entry.quantity == Decimal("2")


def test_adjust_inventory_to_the_same_value_posts_nothing(company, sales):
    item = ItemFactory(company=company, inventory=Decimal("10"))
    assert item_adjust_inventory(item=item, user=sales, new_inventory=10) is None
    assert not ItemLedgerEntry.objects.exists()


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("-1", "Inventory cannot be negative."),
        ("abc", "Enter a number."),
        ("NaN", "Enter a number."),
        (None, "Enter a number."),
    ],
)
def test_adjust_inventory_refuses_a_bad_target(company, sales, value, message):
    item = ItemFactory(company=company)
    before = db_snapshot()
    with pytest.raises(ValidationError) as exc:
        item_adjust_inventory(item=item, user=sales, new_inventory=value)
    assert exc.value.message_dict == {"new_inventory": [message]}
    assert db_snapshot() == before


def test_adjust_inventory_refuses_a_service_item(company, sales):
    item = ItemFactory(company=company, no="1000", type=Item.Type.SERVICE, inventory=0)
    before = db_snapshot()
    with pytest.raises(ValidationError) as exc:
        item_adjust_inventory(item=item, user=sales, new_inventory=3)
    assert exc.value.messages == [
        "Type must be equal to 'Inventory' in Item: No.=1000. Current value is 'Service'."
    ]
    assert db_snapshot() == before


def test_adjust_inventory_refuses_a_blocked_item(company, sales):
    item = ItemFactory(company=company, no="1000", blocked=True)
    before = db_snapshot()
    with pytest.raises(ValidationError) as exc:
        item_adjust_inventory(item=item, user=sales, new_inventory=3)
    assert exc.value.messages == ["Item 1000 is blocked."]
    assert db_snapshot() == before
