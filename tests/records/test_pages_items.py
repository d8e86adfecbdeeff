"""Item list and card, and the Adjust Inventory action with its small form."""

import html
from decimal import Decimal

import pytest

from bcsite.registry import registry
from records.models import Item, ItemLedgerEntry
from tests.factories import ItemFactory
from tests.records.snapshots import db_snapshot

LIST = registry.pages["item_list"]
CARD = registry.pages["item_card"]


@pytest.fixture
def bicycle(company):
    return ItemFactory(company=company, no="1000", description="Bicycle", inventory=Decimal("5"))


def _text(response) -> str:
    return html.unescape(response.content.decode())


def test_item_list_and_card_render(sales_client, bicycle):
    listing = sales_client.get(LIST.list_url(q="bicy"))
    card = sales_client.get(CARD.card_url(bicycle))

    assert [r.cells[0].text for r in listing.context["rows"]] == ["1000"]
    assert listing.context["factboxes"][0].title == "Item Details"
    fields = {f.name: f for tab in card.context["fasttabs"] for f in tab.fields}
    assert fields["inventory"].text == "5"
    assert fields["unit_price"].text == "100.00"
    assert 'href="/item-ledger-entries/?item=1000"' in card.content.decode()


def test_filter_blocked_items_as_the_cue_links(sales_client, bicycle, company):
    blocked = ItemFactory(company=company, blocked=True)

    rows = sales_client.get(LIST.list_url(blocked="yes")).context["rows"]

    assert [r.pk for r in rows] == [blocked.pk]


def test_adjust_inventory_shows_a_form_then_posts_an_adjustment(sales_client, bicycle):
    url = CARD.url("action", bicycle.pk, "adjust_inventory")

    form_page = sales_client.get(url)
    assert form_page.status_code == 200
    assert form_page.context["form"].initial["new_inventory"] == Decimal("5")
    assert not ItemLedgerEntry.objects.exists()

    response = sales_client.post(
        url, {"confirmed": "1", "new_inventory": "12", "posting_date": ""}, follow=True
    )

    bicycle.refresh_from_db()
    entry = ItemLedgerEntry.objects.get()
    assert bicycle.inventory == 12
    assert entry.quantity == 7 and entry.entry_type == "positive_adjmt"
    assert response.redirect_chain[-1][0] == CARD.card_url(bicycle)
    assert "The inventory of item 1000 is now 12" in _text(response)


def test_adjust_inventory_with_bad_input_explains_and_writes_nothing(sales_client, bicycle):
    before = db_snapshot()

    response = sales_client.post(
        CARD.url("action", bicycle.pk, "adjust_inventory"),
        {"confirmed": "1", "new_inventory": "-3"},
    )

    assert response.status_code == 200
    assert response.context["form"].errors["new_inventory"]
    assert db_snapshot() == before


def test_adjust_inventory_of_a_service_item_is_refused_with_the_reason(sales_client, company):
    service = ItemFactory(company=company, no="S1", type=Item.Type.SERVICE)

    card = sales_client.get(CARD.card_url(service))
    response = sales_client.post(
        CARD.url("action", service.pk, "adjust_inventory"),
        {"confirmed": "1", "new_inventory": "3"},
        follow=True,
    )

    adjust = next(i for i in card.context["actionbar"].items if i.key == "adjust_inventory")
    assert not adjust.enabled
    assert "Type must be equal to 'Inventory'" in _text(response)
    assert not ItemLedgerEntry.objects.exists()


def test_item_new_edit_and_delete(sales_client, company):
    created = sales_client.post(
        CARD.new_url(),
        {
            "description": "Chair",
            "type": "inventory",
            "base_unit_of_measure": "PCS",
            "unit_price": "12.50",
            "unit_cost": "7",
        },
    )
    item = Item.objects.get(company=company, description="Chair")
    assert created["Location"] == CARD.card_url(item)
    assert item.no == "1000"

    bad = sales_client.post(CARD.edit_url(item), {"description": "Chair", "unit_price": "abc"})
    assert bad.context["form"].errors["unit_price"] == ["Enter a number."]

    sales_client.post(CARD.delete_url(item))
    assert not Item.objects.filter(pk=item.pk).exists()


def test_outsiders_cannot_adjust_our_inventory(outsider_client, bicycle):
    url = CARD.url("action", bicycle.pk, "adjust_inventory")

    assert outsider_client.get(url).status_code == 404
    assert outsider_client.post(url, {"confirmed": "1", "new_inventory": "0"}).status_code == 404
    bicycle.refresh_from_db()
    assert bicycle.inventory == 5
