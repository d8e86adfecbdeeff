"""FastTabs as BC draws them: a summary of key values when collapsed, "Show more" for
rarely used fields; and the list's "Select all"."""

import re

import pytest

from bcsite.pages.base import Field
from bcsite.registry import registry
from tests.factories import CustomerFactory, ItemFactory

CUSTOMER = registry.pages["customer_card"]
CUSTOMERS = registry.pages["customer_list"]
ITEM = registry.pages["item_card"]


@pytest.fixture
def adatum(company):
    return CustomerFactory(
        company=company,
        no="C10000",
        name="Adatum Corporation",
        city="Atlanta",
        phone="",
        salesperson_code="PS",
    )


def _tabs(response):
    return {tab.key: tab for tab in response.context["fasttabs"]}


def _summary(tab):
    return [(f.name, f.text) for f in tab.summary]


def test_a_collapsed_tab_sums_up_its_promoted_fields(sales_client, adatum):
    response = sales_client.get(CUSTOMER.card_url(adatum))

    tabs = _tabs(response)
    assert _summary(tabs["general"]) == [
        ("no", "C10000"),
        ("name", "Adatum Corporation"),
        ("balance", "0.00"),
    ]
    # A blank promoted value takes no room; CSS hides the empty element.
    assert _summary(tabs["address"]) == [("city", "Atlanta"), ("phone", "")]
    html = response.content.decode()
    assert re.search(
        r'<summary class="fasttab-title"><span class="fasttab-name">General</span>'
        r'<span class="fasttab-summary"><span class="fasttab-summary-value" id="summary-no" '
        r'title="No.">C10000</span>',
        html,
    )


def test_without_promoted_fields_the_first_two_sum_up_a_tab(sales_client, company):
    item = ItemFactory(company=company, no="1000")

    tabs = _tabs(sales_client.get(ITEM.card_url(item)))

    assert _summary(tabs["prices"]) == [("unit_price", "100.00"), ("unit_cost", "60.00")]
    assert [f.name for f in tabs["general"].summary] == [
        "no",
        "description",
        "base_unit_of_measure",
    ]


def test_additional_fields_wait_behind_show_more(sales_client, adatum):
    response = sales_client.get(CUSTOMER.card_url(adatum))

    general = _tabs(response)["general"]
    assert [f.name for f in general.additional_fields] == ["salesperson_code"]
    assert "salesperson_code" not in [f.name for f in general.standard_fields]
    html = response.content.decode()
    show_more = re.search(r'<details class="show-more">(.*?)</details>', html, re.S)
    assert show_more is not None
    assert 'id="field-salesperson_code">PS<' in show_more.group(1)
    assert "Show more" in show_more.group(1) and "Show less" in show_more.group(1)


def test_an_error_in_an_additional_field_opens_show_more(sales_client, adatum):
    response = sales_client.post(
        CUSTOMER.edit_url(adatum),
        {"name": "Adatum", "credit_limit": "0", "salesperson_code": "X" * 40},
    )

    assert response.status_code == 200
    assert "salesperson_code" in response.context["form"].errors
    assert '<details class="show-more" open>' in response.content.decode()


def test_a_new_record_has_no_summary(sales_client):
    response = sales_client.get(CUSTOMER.new_url())

    assert all(not tab.summary for tab in response.context["fasttabs"])
    assert 'class="fasttab-summary"' not in response.content.decode()


def test_importance_is_one_of_bcs():
    with pytest.raises(ValueError, match="unknown importance"):
        Field("name", importance="hidden")


def test_select_all_is_there_for_script_only(sales_client, adatum):
    html = sales_client.get(CUSTOMERS.list_url()).content.decode()

    assert (
        '<input type="checkbox" class="select-all" data-select-all hidden '
        'aria-label="Select all rows">'
    ) in html
    assert '<script src="/static/bcsite/pages.js" defer></script>' in html
