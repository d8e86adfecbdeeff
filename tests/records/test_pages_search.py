"""Searching the sales order list, also through the customer relation."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from bcsite.pages import listing
from records.models import SalesOrder
from tests.factories import CustomerFactory, SalesOrderFactory

URL = "/sales-orders/"


@pytest.fixture
def orders(company, other_company):
    acme = CustomerFactory(company=company, no="C77001", name="Acme Trading")
    globex = CustomerFactory(company=company, no="C77002", name="Globex")
    stranger = CustomerFactory(company=other_company, no="C77003", name="Acme Abroad")
    return {
        "acme": SalesOrderFactory(company=company, customer=acme, no="S-ORD900001"),
        "globex": SalesOrderFactory(company=company, customer=globex, no="S-ORD900002"),
        "stranger": SalesOrderFactory(company=other_company, customer=stranger, no="S-ORD900003"),
    }


def _listed(response) -> set[str]:
    return {no for no in ("S-ORD900001", "S-ORD900002", "S-ORD900003") if no in response.text}


def test_it_finds_orders_by_the_customer_no(sales_client, orders):
    response = sales_client.get(URL, {"q": "c77001"})
    assert _listed(response) == {"S-ORD900001"}


def test_it_never_lists_another_companys_order_found_through_its_customer(sales_client, orders):
    response = sales_client.get(URL, {"q": "C7700"})
    assert _listed(response) == {"S-ORD900001", "S-ORD900002"}


def test_it_stays_right_when_more_customers_match_than_it_looks_up(
    sales_client, orders, monkeypatch
):
    monkeypatch.setattr(listing, "RELATED_SEARCH_LIMIT", 1)
    response = sales_client.get(URL, {"q": "C7700"})
    assert _listed(response) == {"S-ORD900001", "S-ORD900002"}


def test_a_search_through_the_customer_costs_one_query_more_whatever_the_rows(
    sales_client, orders, django_assert_max_num_queries
):
    sales_client.get(URL)  # warm the session
    with CaptureQueriesContext(connection) as plain:
        sales_client.get(URL)
    with CaptureQueriesContext(connection) as searched:
        sales_client.get(URL, {"q": "S-ORD9000"})
    assert len(searched) == len(plain) + 1
    SalesOrderFactory.create_batch(30, company=orders["acme"].company)
    with django_assert_max_num_queries(len(searched)):
        sales_client.get(URL, {"q": "S-ORD9000"})


def test_other_companies_customers_do_not_use_up_the_lookup(
    sales_client, orders, company, monkeypatch
):
    """With room for two related ids, the other company's "C77003" must not take one: the
    search stays on the indexed ``customer IN (ids)`` form, with this company's ids only."""
    monkeypatch.setattr(listing, "RELATED_SEARCH_LIMIT", 2)

    term = listing.search_term(SalesOrder, "customer__no", "C7700", company=company)
    response = sales_client.get(URL, {"q": "C7700"})

    ours = {orders["acme"].customer_id, orders["globex"].customer_id}
    [(lookup, ids)] = term.children
    assert lookup == "customer__in" and sorted(ids) == sorted(ours)
    assert _listed(response) == {"S-ORD900001", "S-ORD900002"}
