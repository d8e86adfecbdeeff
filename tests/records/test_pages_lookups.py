"""Looking customers and items up as people type a No. on a sales order."""

import re
from decimal import Decimal

import pytest
from django.test import Client

from bcsite.pages.forms import DATALIST_LIMIT
from bcsite.registry import registry
from records import services
from records.models import Customer
from tests.factories import CustomerFactory, ItemFactory

CUSTOMERS = registry.pages["customer_list"]
ITEMS = registry.pages["item_list"]
ORDER = registry.pages["sales_order"]
LOOKUP = CUSTOMERS.url("lookup")


@pytest.fixture
def customers(company, other_company):
    CustomerFactory(company=company, no="C10000", name="Adatum Corporation")
    CustomerFactory(company=company, no="C20000", name="Trey Research")
    CustomerFactory(company=company, no="C30000", name="School of Fine Art")
    CustomerFactory(company=company, no="K10000", name="Contoso C1 Retail")
    CustomerFactory(company=other_company, no="C10001", name="Foreign Adatum")


def _options(response) -> list[tuple[str, str]]:
    return re.findall(r'<option value="([^"]*)">([^<]*)</option>', response.content.decode())


def test_it_matches_by_no_prefix_first_then_by_name(sales_client, customers):
    response = sales_client.get(LOOKUP, {"field": "customer", "customer": "c1"})

    assert response.status_code == 200
    assert _options(response) == [
        ("C10000", "C10000 Adatum Corporation"),
        ("K10000", "K10000 Contoso C1 Retail"),
    ]
    assert "<html" not in response.content.decode()


def test_it_matches_names_anywhere_ignoring_case(sales_client, customers):
    assert [v for v, _ in _options(sales_client.get(LOOKUP, {"q": "RESEARCH"}))] == ["C20000"]
    assert [v for v, _ in _options(sales_client.get(LOOKUP, {"q": "o"}))] == [
        "C10000",
        "C30000",
        "K10000",
    ]


def test_it_never_offers_another_companys_rows(sales, outsider, customers):
    ours, theirs = Client(), Client()
    ours.force_login(sales)
    theirs.force_login(outsider)

    ours = [v for v, _ in _options(ours.get(LOOKUP, {"q": "adatum"}))]
    theirs = [v for v, _ in _options(theirs.get(LOOKUP, {"q": "adatum"}))]

    assert ours == ["C10000"]
    assert theirs == ["C10001"]


def test_it_refuses_anonymous_users(client, customers):
    response = client.get(LOOKUP, {"q": "C"})

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_it_refuses_changes_and_lists_without_a_lookup(sales_client, customers):
    assert sales_client.post(LOOKUP, {"q": "C"}).status_code == 405
    assert sales_client.get(registry.pages["sales_order_list"].url("lookup")).status_code == 404


def test_it_is_bounded_whatever_matches(
    sales_client, company, customers, django_assert_max_num_queries
):
    for n in range(30):
        CustomerFactory(company=company, no=f"C5{n:04d}", name=f"Bulk {n}")

    with django_assert_max_num_queries(6):
        everything = sales_client.get(LOOKUP)
    prefixed = sales_client.get(LOOKUP, {"q": "C5"})
    odd = sales_client.get(LOOKUP, {"q": "x\x00%_" * 100})

    assert len(_options(everything)) == 20
    assert len(_options(prefixed)) == 20
    assert odd.status_code == 200 and _options(odd) == []


def test_items_are_looked_up_by_description(sales_client, company):
    ItemFactory(company=company, no="1000", description="Bicycle")
    ItemFactory(company=company, no="1100", description="Front Wheel")

    response = sales_client.get(ITEMS.url("lookup"), {"q": "wheel"})

    assert _options(response) == [("1100", "1100 Front Wheel")]


# -- The inputs that ask ---------------------------------------------------------------------


def test_no_inputs_ask_the_lookup_as_people_type(sales_client, company, customers, sales):
    item = ItemFactory(company=company, no="1000", unit_price=Decimal("10"))
    customer = Customer.objects.get(company=company, no="C10000")
    order = services.sales_order_create(company=company, user=sales, customer=customer)
    services.sales_order_line_add(order=order, user=sales, item=item, quantity=1)

    header = sales_client.get(ORDER.new_url()).content.decode()
    lines = sales_client.get(ORDER.card_url(order)).content.decode()

    assert 'hx-get="/customers/lookup/?field=customer"' in header
    assert 'hx-trigger="input changed delay:200ms"' in header
    assert 'hx-target="#customer-options"' in header
    assert '<datalist id="customer-options">' in header
    assert 'hx-get="/items/lookup/?field=new-item"' in lines
    assert 'hx-target="#new-item-options"' in lines
    assert '<datalist id="new-item-options">' in lines


def test_without_script_the_datalist_is_bounded_and_a_typed_no_still_validates(
    sales_client, company
):
    for n in range(DATALIST_LIMIT + 5):
        CustomerFactory(company=company, no=f"C{n:05d}")

    page = sales_client.get(ORDER.new_url()).content.decode()
    refused = sales_client.post(ORDER.new_url(), {"customer": "NOPE"})
    created = sales_client.post(ORDER.new_url(), {"customer": f"c{DATALIST_LIMIT + 2:05d}"})

    assert page.count('<option value="C') == DATALIST_LIMIT
    assert refused.context["form"].errors["customer"] == ["There is no Customer with No. NOPE."]
    assert created.status_code == 302


def test_an_empty_company_still_gets_a_datalist_to_refresh(sales_client, company):
    page = sales_client.get(ORDER.new_url()).content.decode()

    assert '<datalist id="customer-options"></datalist>' in page
