"""Filtering the record lists with BC expressions: the filter pane, chips, messages, cues."""

import html
from decimal import Decimal

import pytest
from django.urls import reverse

from bcsite.pages.filters import FilterError
from bcsite.pages.listing import filter_rows
from bcsite.registry import registry
from records.models import Customer
from tests.factories import CustomerFactory, SalesOrderFactory

CUSTOMERS = registry.pages["customer_list"]
ORDERS = registry.pages["sales_order_list"]


@pytest.fixture
def customers(company, other_company):
    for no, name, city, blocked, limit in [
        ("C10000", "Adatum Corporation", "Atlanta", "", "1000"),
        ("C20000", "Trey Research", "Chicago", "ship", "25000"),
        ("C30000", "School of Fine Art", "Miami", "invoice", "0"),
        ("C40000", "Alpine Ski House", "Atlanta", "all", "125000"),
    ]:
        CustomerFactory(
            company=company,
            no=no,
            name=name,
            city=city,
            blocked=blocked,
            credit_limit=Decimal(limit),
        )
    CustomerFactory(company=other_company, no="C90000", blocked="all")


def _nos(response):
    return [row.cells[0].text for row in response.context["rows"]]


def _text(response):
    return html.unescape(response.content.decode())


def test_the_list_takes_expressions(sales_client, customers):
    get = sales_client.get

    assert _nos(get(CUSTOMERS.list_url(blocked="<>''"))) == ["C20000", "C30000", "C40000"]
    assert _nos(get(CUSTOMERS.list_url(credit_limit=">1000"))) == ["C20000", "C40000"]
    assert _nos(get(CUSTOMERS.list_url(credit_limit="500..30000"))) == ["C10000", "C20000"]
    assert _nos(get(CUSTOMERS.list_url(name="*re*|a*"))) == ["C10000", "C20000", "C40000"]
    assert _nos(get(CUSTOMERS.list_url(no="c1*|C3*"))) == ["C10000", "C30000"]
    assert _nos(get(CUSTOMERS.list_url(city="atlanta", blocked="''"))) == ["C10000"]


def test_active_filters_show_as_chips_that_remove_themselves(sales_client, customers):
    response = sales_client.get(CUSTOMERS.list_url(q="a", city="Atlanta", blocked="<>''"))

    chips = {chip.label: chip for chip in response.context["query"].chips}
    assert [(c.label, c.text) for c in chips.values()] == [
        ("Search", "a"),
        ("City", "Atlanta"),
        ("Blocked", "<>''"),
    ]
    assert chips["Blocked"].remove_url == "?q=a&city=Atlanta"
    assert chips["Search"].remove_url == "?city=Atlanta&blocked=%3C%3E%27%27"
    text = _text(response)
    assert "aria-label=\"Remove filter Blocked: <>''\"" in text
    unblocked = sales_client.get(CUSTOMERS.list_url() + chips["Blocked"].remove_url)
    assert _nos(unblocked) == ["C10000", "C40000"]


def test_a_bad_expression_is_explained_and_the_list_is_unfiltered_by_it(sales_client, customers):
    response = sales_client.get(CUSTOMERS.list_url(credit_limit=">abc", city="Atlanta"))

    assert response.status_code == 200
    assert _nos(response) == ["C10000", "C40000"]
    message = "The filter '>abc' is not valid for Credit Limit (LCY): abc is not a number."
    assert response.context["query"].filter_errors == [message]
    text = _text(response)
    assert text.count(message) == 1  # above the list
    assert '<p class="field-error" id="filter-credit_limit-error">abc is not a number.</p>' in text
    assert 'aria-invalid="true"' in text
    # The pane keeps what was typed, so it can be corrected.
    assert 'value=">abc"' in text
    # Links made from this state (sort, paging) leave the bad filter out.
    assert "credit_limit" not in response.context["query"].url(sort="name")


@pytest.mark.parametrize(
    "params",
    [
        {"credit_limit": "1" * 40},
        {"credit_limit": "x" * 5000},
        {"name": "a\x00b"},
        {"q": "a\x00b"},
        {"name": "'"},
        {"blocked": "|||"},
        {"no": "*" * 10},
    ],
)
def test_no_input_makes_the_list_fail(sales_client, customers, params):
    response = sales_client.get(CUSTOMERS.list_url(**params))

    assert response.status_code == 200


def test_the_pane_offers_the_options_of_a_field(sales_client, customers):
    text = _text(sales_client.get(CUSTOMERS.list_url()))

    assert '<datalist id="filter-blocked-options">' in text
    for option in ("Ship", "Invoice", "All", "''", "<>''"):
        assert f'<option value="{option}">' in text


def test_a_filter_through_the_customer_relation(sales_client, company, customers):
    adatum = Customer.objects.get(company=company, no="C10000")
    trey = Customer.objects.get(company=company, no="C20000")
    SalesOrderFactory(company=company, customer=adatum, no="S-1")
    SalesOrderFactory(company=company, customer=trey, no="S-2")

    assert _nos(sales_client.get(ORDERS.list_url(customer="c1*"))) == ["S-1"]
    assert _nos(sales_client.get(ORDERS.list_url(customer="<>C10000"))) == ["S-2"]


def test_filtered_list_queries_do_not_grow_with_rows(
    sales_client, company, customers, django_assert_max_num_queries
):
    url = CUSTOMERS.list_url(blocked="<>''", credit_limit=">=0", name="*a*")
    sales_client.get(url)
    for _ in range(40):
        CustomerFactory(company=company, blocked="ship", name="Many Alike")
    with django_assert_max_num_queries(12):
        assert len(_nos(sales_client.get(url))) > 40


# -- Cues ------------------------------------------------------------------------------------


def _cue(client, label):
    return next(
        tile
        for group in client.get(reverse("home")).context["cue_groups"]
        for tile in group.tiles
        if tile.label == label
    )


def test_the_blocked_customers_cue_counts_any_blocked_value_and_the_list_agrees(
    sales_client, customers, settings
):
    settings.LIST_PAGE_SIZE = 2  # the count must agree beyond the first page too
    tile = _cue(sales_client, "Customers - Blocked")

    listed = sales_client.get(tile.url)

    assert tile.url == "/customers/?blocked=%3C%3E%27%27"
    assert tile.count == 3
    assert listed.context["count"] == tile.count
    assert listed.context["query"].filters == {"blocked": "<>''"}
    assert _nos(listed) == ["C20000", "C30000"]


def test_every_cue_counts_what_its_list_shows(sales_client, company, customers):
    SalesOrderFactory(company=company, status="open")
    SalesOrderFactory(company=company, status="released")
    for group in sales_client.get(reverse("home")).context["cue_groups"]:
        for tile in group.tiles:
            listed = sales_client.get(tile.url)
            if "count" in listed.context:
                assert listed.context["count"] == tile.count, tile.label
                # A cue may open a page that is not a list page (Requests to Approve).
                query = listed.context.get("query")
                assert query is None or not query.filter_errors, tile.label


def test_filter_rows_refuses_what_the_list_would_refuse(sales_client, customers):
    request = sales_client.get(CUSTOMERS.list_url()).wsgi_request

    rows = filter_rows(CUSTOMERS, CUSTOMERS.queryset(request), {"blocked": "ship|invoice"})

    assert sorted(rows.values_list("no", flat=True)) == ["C20000", "C30000"]
    with pytest.raises(FilterError):
        filter_rows(CUSTOMERS, CUSTOMERS.queryset(request), {"credit_limit": ">abc"})


def test_a_filter_through_a_relation_looks_only_at_this_companys_related_rows(
    sales_client, company, customers
):
    adatum = Customer.objects.get(company=company, no="C10000")
    SalesOrderFactory(company=company, customer=adatum, no="S-1")

    response = sales_client.get(ORDERS.list_url(customer="C*"))

    assert _nos(response) == ["S-1"]
    condition = next(s.condition for s in response.context["query"].filter_states if s.applied)
    related = condition.children[0][1]
    assert "company_id" in str(related.query)
