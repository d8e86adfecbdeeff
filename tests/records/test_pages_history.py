"""Posted sales invoices and ledger entries: read-only pages, filtered from the cards."""

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from bcsite.registry import registry
from records import services
from tests.factories import CustomerFactory, ItemFactory

INVOICES = registry.pages["posted_sales_invoice_list"]
INVOICE = registry.pages["posted_sales_invoice"]
CUSTOMER_ENTRIES = registry.pages["customer_ledger_entries"]
ITEM_ENTRIES = registry.pages["item_ledger_entries"]


def _post_order(company, user, customer, item, quantity=1):
    order = services.sales_order_create(company=company, user=user, customer=customer)
    services.sales_order_line_add(order=order, user=user, item=item, quantity=quantity)
    return services.sales_order_post(order=order, user=user)


@pytest.fixture
def customer(company):
    return CustomerFactory(company=company, no="C10000", name="Adatum")


@pytest.fixture
def other_customer(company):
    return CustomerFactory(company=company, no="C20000", name="Trey")


@pytest.fixture
def item(company):
    return ItemFactory(company=company, no="1000", unit_price=Decimal("100"), inventory=50)


@pytest.fixture
def invoice(company, sales, customer, item):
    return _post_order(company, sales, customer, item, quantity=2)


def test_posted_invoice_is_a_read_only_document(sales_client, invoice):
    response = sales_client.get(INVOICE.card_url(invoice))

    html = response.content.decode()
    assert response.status_code == 200
    assert response.context["form"] is None
    assert response.context["lines"]["add_form"] is None
    assert not response.context["lines"]["editable"]
    assert {t.label: t.text for t in response.context["lines"]["totals"]} == {
        "Subtotal Excl. VAT": "200.00",
        "Total VAT": "50.00",
        "Total Incl. VAT": "250.00",
    }
    keys = {i.key for i in response.context["actionbar"].items}
    assert not keys & {"new", "edit", "delete"}
    assert f'href="/customers/{invoice.customer_id}/"' in html
    assert f'href="/customer-ledger-entries/?document_no={invoice.no}"' in html


def test_posted_invoices_cannot_be_changed(sales_client, invoice):
    assert sales_client.get(INVOICE.new_url()).status_code == 404
    assert sales_client.post(INVOICE.edit_url(invoice), {"no": "X"}).status_code == 404
    assert sales_client.post(INVOICE.delete_url(invoice)).status_code == 404
    lines = INVOICE.url("line-add", invoice.pk)
    assert sales_client.post(lines, {"new-item": "1000", "new-quantity": "1"}).status_code == 404
    invoice.refresh_from_db()
    assert invoice.no.startswith("PS-INV")


def test_invoice_list_filters_by_customer(
    sales_client, invoice, company, sales, other_customer, item
):
    _post_order(company, sales, other_customer, item)

    rows = sales_client.get(INVOICES.list_url(customer="C10000")).context["rows"]

    assert [r.pk for r in rows] == [invoice.pk]


def test_ledger_entries_are_filtered_by_customer_and_item(
    sales_client, invoice, company, sales, other_customer, item
):
    _post_order(company, sales, other_customer, item, quantity=3)

    customer_rows = sales_client.get(CUSTOMER_ENTRIES.list_url(customer="C10000")).context["rows"]
    item_rows = sales_client.get(ITEM_ENTRIES.list_url(item="1000")).context["rows"]

    assert [r.cells[3].text for r in customer_rows] == [invoice.no]
    # Newest entry first; quantities leave inventory as negatives.
    assert [r.cells[6].text for r in item_rows] == ["-3", "-2"]
    assert customer_rows[0].cells[3].url == INVOICES.list_url(no=invoice.no)


def test_ledger_entries_have_no_card_and_no_changes(sales_client, invoice):
    entry_pk = sales_client.get(CUSTOMER_ENTRIES.list_url()).context["rows"][0].pk

    assert sales_client.get(f"/customer-ledger-entries/{entry_pk}/").status_code == 404
    assert sales_client.post(f"/customer-ledger-entries/{entry_pk}/delete/").status_code == 404
    assert sales_client.post(CUSTOMER_ENTRIES.url("list-action", "delete")).status_code == 404


def test_ledger_list_query_count_does_not_grow_with_rows(
    sales_client, company, sales, customer, item
):
    def queries():
        with CaptureQueriesContext(connection) as captured:
            assert sales_client.get(CUSTOMER_ENTRIES.list_url()).status_code == 200
        return len(captured)

    for _ in range(2):
        _post_order(company, sales, customer, item)
    few = queries()
    for _ in range(12):
        _post_order(company, sales, customer, item)
    many = queries()

    assert few == many
