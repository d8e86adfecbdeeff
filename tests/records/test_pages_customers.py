"""Customer list and card: search, filter, sort, paging, editing, deleting, refusals."""

import base64
import html
import re
from decimal import Decimal

import pytest
from django.db import connection
from django.http import QueryDict
from django.test.utils import CaptureQueriesContext

from bcsite.pages.base import Action
from bcsite.pages.listing import list_cursor
from bcsite.registry import registry
from records import services
from records.models import Customer
from tests.factories import CustomerFactory, ItemFactory
from tests.records.snapshots import db_snapshot

LIST = registry.pages["customer_list"]
CARD = registry.pages["customer_card"]


@pytest.fixture
def adatum(company):
    return CustomerFactory(company=company, no="C10000", name="Adatum Corporation", city="Atlanta")


@pytest.fixture
def trey(company):
    return CustomerFactory(company=company, no="C20000", name="Trey Research", city="Chicago")


@pytest.fixture
def foreign(other_company):
    return CustomerFactory(company=other_company, no="C10000", name="Foreign Customer")


def _row_nos(response):
    return [row.cells[0].text for row in response.context["rows"]]


# -- List -----------------------------------------------------------------------------------


def test_list_shows_the_companys_customers_with_links_and_aligned_numbers(
    sales_client, adatum, trey, foreign
):
    response = sales_client.get(LIST.list_url())

    assert response.status_code == 200
    assert _row_nos(response) == ["C10000", "C20000"]
    html = response.content.decode()
    assert f'<a href="{CARD.card_url(adatum)}">C10000</a>' in html
    assert "Foreign Customer" not in html
    assert re.search(r'<td class="num">\s*0\.00\s*</td>', html)
    assert 'name="selected"' in html
    assert "2 records" in html


def test_search_matches_any_search_field(sales_client, adatum, trey):
    assert _row_nos(sales_client.get(LIST.list_url(q="trey"))) == ["C20000"]
    assert _row_nos(sales_client.get(LIST.list_url(q="atlan"))) == ["C10000"]
    assert _row_nos(sales_client.get(LIST.list_url(q="nobody"))) == []


def test_filter_by_field_and_by_option(sales_client, adatum, trey, company):
    blocked = CustomerFactory(company=company, no="C30000", blocked=Customer.Blocked.ALL)

    assert _row_nos(sales_client.get(LIST.list_url(city="chicago"))) == ["C20000"]
    assert _row_nos(sales_client.get(LIST.list_url(blocked="all"))) == [blocked.no]


def test_an_invalid_filter_value_is_explained_and_ignored(sales_client, adatum, trey):
    response = sales_client.get(LIST.list_url(blocked="sideways", city="Atlanta"))

    assert response.status_code == 200
    # The bad filter is left out; the good one still applies.
    assert _row_nos(response) == ["C10000"]
    text = html.unescape(response.content.decode())
    assert (
        "The filter 'sideways' is not valid for Blocked: sideways is not an option. "
        "The options are: '' (blank), Ship, Invoice, All." in text
    )


def test_sort_by_column_header_both_ways(sales_client, adatum, trey, company):
    CustomerFactory(company=company, no="C05000", name="Zeta", city="Atlanta")

    by_name = sales_client.get(LIST.list_url(sort="name"))
    by_name_desc = sales_client.get(LIST.list_url(sort="-name"))
    by_city_desc = sales_client.get(LIST.list_url(sort="-city"))

    assert _row_nos(by_name) == ["C10000", "C20000", "C05000"]
    assert _row_nos(by_name_desc) == ["C05000", "C20000", "C10000"]
    # Ties in the sort column keep the primary key order, reversed with the direction.
    assert _row_nos(by_city_desc) == ["C20000", "C05000", "C10000"]
    header = next(h for h in by_name.context["headers"] if h.label == "Name")
    assert header.sorted == "asc" and "sort=-name" in header.sort_url


def test_an_unknown_sort_falls_back_to_the_default(sales_client, adatum, trey):
    response = sales_client.get(LIST.list_url(sort="password"))

    assert _row_nos(response) == ["C10000", "C20000"]


def test_paging_next_and_previous(sales_client, company, settings):
    settings.LIST_PAGE_SIZE = 2
    for n in range(5):
        CustomerFactory(company=company, no=f"C{n:05d}", city="Atlanta")

    first = sales_client.get(LIST.list_url(sort="city"))
    second = sales_client.get(LIST.list_url() + first.context["next_url"])
    third = sales_client.get(LIST.list_url() + second.context["next_url"])
    back = sales_client.get(LIST.list_url() + third.context["previous_url"])

    assert _row_nos(first) == ["C00000", "C00001"]
    assert _row_nos(second) == ["C00002", "C00003"]
    assert _row_nos(third) == ["C00004"]
    assert third.context["next_url"] is None
    assert _row_nos(back) == ["C00002", "C00003"]
    assert first.context["previous_url"] is None and first.context["first_url"] is None
    assert "sort=city" in second.context["next_url"]


def test_a_tampered_cursor_is_a_bad_request(sales_client, adatum):
    response = sales_client.get(LIST.list_url(after="garbage!"))

    assert response.status_code == 400


@pytest.mark.parametrize(
    "raw",
    [
        "[" * 1200 + "1" + "]" * 1200,
        '["a\\u0000b",1]',
        '["\\ud800",1]',
        '["Adatum Corporation",1]',
    ],
)
@pytest.mark.parametrize("sort", ["name", "no"])
@pytest.mark.parametrize("direction", ["after", "before"])
def test_a_forged_cursor_is_a_bad_request(sales_client, adatum, raw, sort, direction):
    token = base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")

    response = sales_client.get(LIST.list_url(sort=sort, **{direction: token}))

    assert response.status_code == 400


def test_a_cursor_from_another_sort_is_a_bad_request(sales_client, company, settings):
    settings.LIST_PAGE_SIZE = 1
    CustomerFactory.create_batch(3, company=company)
    by_name = sales_client.get(LIST.list_url(sort="name"))
    after = QueryDict(by_name.context["next_url"].lstrip("?"))["after"]

    assert sales_client.get(LIST.list_url(sort="name", after=after)).status_code == 200
    assert sales_client.get(LIST.list_url(sort="-name", after=after)).status_code == 400


def test_a_selected_id_that_is_not_plain_digits_is_ignored(sales_client, adatum, trey):
    for selected in ["\u00b2", "\u0661\u0662", "12a", "9" * 40]:
        response = sales_client.get(LIST.list_url(selected=selected))

        assert response.status_code == 200
        assert response.context["factboxes"][0].rows[0].text == "C10000"


def test_after_the_last_page_is_emptied_the_list_shows_the_page_before(
    sales_client, company, settings
):
    settings.LIST_PAGE_SIZE = 2
    for n in range(5):
        CustomerFactory(company=company, no=f"C{n:05d}")
    second = sales_client.get(
        LIST.list_url() + sales_client.get(LIST.list_url()).context["next_url"]
    )
    third_url = LIST.list_url() + second.context["next_url"]
    Customer.objects.filter(company=company, no="C00004").delete()

    back_on_third = sales_client.get(third_url)

    assert _row_nos(back_on_third) == ["C00002", "C00003"]
    assert back_on_third.context["next_url"] is None
    assert back_on_third.context["first_url"] and back_on_third.context["previous_url"]
    previous = sales_client.get(LIST.list_url() + back_on_third.context["previous_url"])
    assert _row_nos(previous) == ["C00000", "C00001"]


def test_a_sort_swapped_in_with_htmx_updates_the_search_form_and_action_bar(
    sales_client, adatum, trey, monkeypatch
):
    plain = Action(key="plain", label="Plain", handler=lambda r, o: None, scope="page")
    monkeypatch.setattr(
        registry, "custom_actions", [*registry.custom_actions, ("customer_list", "more", plain)]
    )
    page = sales_client.get(LIST.list_url())
    assert 'id="list-search-sort"' in page.content.decode()
    assert "hx-swap-oob" not in page.content.decode()

    response = sales_client.get(LIST.list_url(sort="-name"), headers={"HX-Request": "true"})

    text = response.content.decode()
    search_sort = re.search(r'<span id="list-search-sort" hx-swap-oob="true">(.*?)</span>', text)
    assert search_sort is not None
    assert '<input type="hidden" name="sort" value="-name">' in search_sort.group(1)
    actionbar = re.search(r'<div id="actionbar"[^>]*hx-swap-oob="true"', text)
    assert actionbar is not None
    next_values = re.findall(r'name="next" value="([^"]*)"', text[actionbar.start() :])
    assert next_values and all("sort=-name" in html.unescape(v) for v in next_values)


def test_the_count_is_bounded(sales_client, company, settings):
    settings.LIST_COUNT_LIMIT = 3
    for _ in range(5):
        CustomerFactory(company=company)

    response = sales_client.get(LIST.list_url())

    assert (response.context["count"], response.context["count_more"]) == (3, True)
    assert "3+ records" in response.content.decode()


def _list_queries(client, url):
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    return len(queries)


def test_list_query_count_does_not_grow_with_rows(sales_client, company):
    for _ in range(5):
        CustomerFactory(company=company)
    few = _list_queries(sales_client, LIST.list_url())
    for _ in range(55):
        CustomerFactory(company=company)
    many = _list_queries(sales_client, LIST.list_url())

    assert few == many
    assert many <= 12


def test_htmx_list_request_gets_only_the_grid(sales_client, adatum):
    response = sales_client.get(LIST.list_url(sort="-no"), headers={"HX-Request": "true"})

    html = response.content.decode()
    assert response.status_code == 200
    assert html.lstrip().startswith('<div id="list-grid"')
    assert "<html" not in html
    assert "C10000" in html
    assert "HX-Request" in response["Vary"]


def test_the_factbox_shows_the_selected_row(sales_client, adatum, trey, sales):
    item = ItemFactory(company=adatum.company)
    order = services.sales_order_create(company=adatum.company, user=sales, customer=trey)
    services.sales_order_line_add(order=order, user=sales, item=item, quantity=2)

    response = sales_client.get(LIST.list_url(selected=trey.pk))

    box = response.context["factboxes"][0]
    rows = {row.label: row.text for row in box.rows}
    assert box.title == "Customer Statistics"
    assert rows["Customer No."] == "C20000"
    assert rows["Sales Orders"] == "1"
    assert rows["Outstanding Orders (LCY)"] == "250.00"
    assert 'class="factbox-pane"' in response.content.decode()


def test_clicking_a_row_loads_its_factbox_with_htmx(sales_client, adatum, trey):
    url = LIST.url("factboxes", trey.pk)

    partial = sales_client.get(url, headers={"HX-Request": "true"})
    plain = sales_client.get(url)

    assert partial.status_code == 200
    assert "<html" not in partial.content.decode()
    assert "C20000" in partial.content.decode()
    assert plain.status_code == 302
    assert plain["Location"] == f"{LIST.list_url()}?selected={trey.pk}"


# -- Card -----------------------------------------------------------------------------------


def test_card_shows_fasttabs_and_related_actions(sales_client, adatum):
    response = sales_client.get(CARD.card_url(adatum))

    html = response.content.decode()
    assert response.status_code == 200
    assert "C10000 · Adatum Corporation" in html
    assert [t.title for t in response.context["fasttabs"]] == ["General", "Address & Contact"]
    assert '<details class="fasttab"' in html
    assert f'href="/sales-orders/?customer={adatum.no}"' in html
    assert f'href="/customer-ledger-entries/?customer={adatum.no}"' in html
    assert f'href="/sales-orders/new/?customer={adatum.no}"' in html
    assert f'href="{CARD.edit_url(adatum)}"' in html


def test_edit_saves_through_the_service(sales_client, adatum):
    response = sales_client.post(
        CARD.edit_url(adatum),
        {"name": "Adatum Corp.", "city": "Miami", "credit_limit": "5000", "blocked": "ship"},
    )

    assert response.status_code == 302
    assert response["Location"] == CARD.card_url(adatum)
    adatum.refresh_from_db()
    assert (adatum.name, adatum.city, adatum.credit_limit) == ("Adatum Corp.", "Miami", 5000)
    assert adatum.blocked == Customer.Blocked.SHIP


def test_invalid_input_is_shown_next_to_the_field_and_nothing_is_written(sales_client, adatum):
    before = db_snapshot()

    response = sales_client.post(
        CARD.edit_url(adatum), {"name": "", "email": "not-an-email", "credit_limit": "-5"}
    )

    assert response.status_code == 200
    form = response.context["form"]
    assert set(form.errors) >= {"name", "email", "credit_limit"}
    html = response.content.decode()
    assert re.search(r'class="field has-error">\s*<label class="field-label" for="id_email"', html)
    assert "Enter a valid email address." in html
    assert db_snapshot() == before


def test_read_only_fields_are_shown_but_not_editable(sales_client, adatum):
    response = sales_client.get(CARD.edit_url(adatum))

    form = response.context["form"]
    assert "balance" not in form.fields and "no" not in form.fields
    fields = {f.name: f for tab in response.context["fasttabs"] for f in tab.fields}
    assert fields["balance"].input is None and fields["balance"].text == "0.00"
    assert fields["name"].input is not None


def test_posting_a_read_only_field_changes_nothing(sales_client, adatum):
    sales_client.post(CARD.edit_url(adatum), {"name": adatum.name, "balance": "999", "no": "X1"})

    adatum.refresh_from_db()
    assert (adatum.balance, adatum.no) == (Decimal("0"), "C10000")


def test_new_customer_takes_the_next_number(sales_client, company):
    response = sales_client.post(CARD.new_url(), {"name": "Fabrikam", "credit_limit": "0"})

    customer = Customer.objects.get(company=company, name="Fabrikam")
    assert response.status_code == 302
    assert response["Location"] == CARD.card_url(customer)
    assert customer.no == "C00010"


def test_a_service_refusal_lands_next_to_its_field(sales_client, adatum):
    before = db_snapshot()

    response = sales_client.post(
        CARD.new_url(), {"no": "c10000", "name": "Copy", "credit_limit": "0"}
    )

    assert response.status_code == 200
    assert response.context["form"].errors["no"] == ["Customer C10000 already exists."]
    assert db_snapshot() == before


def test_delete_asks_first_then_deletes(sales_client, adatum):
    confirm = sales_client.get(CARD.delete_url(adatum))
    assert confirm.status_code == 200
    assert "Do you want to delete customer C10000 · Adatum Corporation?" in confirm.content.decode()
    assert Customer.objects.filter(pk=adatum.pk).exists()

    response = sales_client.post(CARD.delete_url(adatum), follow=True)

    assert not Customer.objects.filter(pk=adatum.pk).exists()
    assert response.redirect_chain[-1][0] == LIST.list_url()
    assert "Customer C10000 · Adatum Corporation was deleted." in response.content.decode()


def test_delete_refused_by_the_service_shows_why(sales_client, adatum, sales):
    services.sales_order_create(company=adatum.company, user=sales, customer=adatum)

    response = sales_client.post(CARD.delete_url(adatum), follow=True)

    assert Customer.objects.filter(pk=adatum.pk).exists()
    assert "at least one outstanding Sales Order" in response.content.decode()


def test_bulk_delete_confirms_then_deletes_only_the_companys_rows(
    sales_client, adatum, trey, foreign
):
    url = LIST.url("list-action", "delete")
    data = {"selected": [adatum.pk, foreign.pk]}

    question = sales_client.post(url, data)
    assert question.status_code == 200
    assert "Delete the selected customers?" in question.content.decode()
    assert Customer.objects.filter(pk=adatum.pk).exists()

    done = sales_client.post(url, {**data, "confirmed": "1"}, follow=True)

    assert not Customer.objects.filter(pk=adatum.pk).exists()
    assert Customer.objects.filter(pk__in=[trey.pk, foreign.pk]).count() == 2
    assert "1 customer was deleted." in done.content.decode()


def test_bulk_action_needs_a_selection_of_ids(sales_client, adatum):
    url = LIST.url("list-action", "delete")

    assert sales_client.post(url, {"selected": ["1; DROP TABLE"]}).status_code == 400
    nothing = sales_client.post(url, {"confirmed": "1"}, follow=True)
    assert "Select one or more lines first." in nothing.content.decode()


# -- Refusals -------------------------------------------------------------------------------


def _record_urls(customer):
    return [
        CARD.card_url(customer),
        CARD.edit_url(customer),
        CARD.delete_url(customer),
        LIST.url("factboxes", customer.pk),
    ]


def test_anonymous_users_are_sent_to_sign_in(client, adatum):
    for url in [LIST.list_url(), CARD.new_url(), *_record_urls(adatum)]:
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith("/accounts/login/?next="), url
    response = client.post(CARD.delete_url(adatum))
    assert response.status_code == 302
    assert Customer.objects.filter(pk=adatum.pk).exists()


def test_another_companys_customer_does_not_exist_here(outsider_client, adatum):
    for url in _record_urls(adatum):
        assert outsider_client.get(url).status_code == 404, url
    assert outsider_client.post(CARD.edit_url(adatum), {"name": "Hacked"}).status_code == 404
    assert outsider_client.post(CARD.delete_url(adatum)).status_code == 404
    adatum.refresh_from_db()
    assert adatum.name == "Adatum Corporation"


def test_the_outsiders_list_does_not_show_our_customers(outsider_client, adatum, foreign):
    response = outsider_client.get(LIST.list_url())

    assert _row_nos(response) == ["C10000"]
    assert "Foreign Customer" in response.content.decode()
    assert "Adatum" not in response.content.decode()


def test_wrong_methods_are_refused(sales_client, adatum):
    assert sales_client.post(CARD.card_url(adatum)).status_code == 405
    assert sales_client.post(LIST.list_url()).status_code == 405
    assert sales_client.put(CARD.edit_url(adatum)).status_code == 405
    assert sales_client.get(LIST.url("list-action", "delete")).status_code == 405


def test_unknown_ids_and_huge_ids_are_not_found(sales_client, adatum):
    assert sales_client.get(CARD.url("card", 987654)).status_code == 404
    assert sales_client.get(f"/customers/{10**30}/").status_code == 404


def test_a_cursor_made_for_the_list_opens_the_page_after_that_row(sales_client, adatum, trey):
    after = list_cursor(LIST, adatum.no, adatum.pk)
    by_name = list_cursor(LIST, trey.name, trey.pk, sort="-name")

    assert _row_nos(sales_client.get(LIST.list_url(after=after))) == ["C20000"]
    assert _row_nos(sales_client.get(LIST.list_url(sort="-name", after=by_name))) == ["C10000"]
    assert sales_client.get(LIST.list_url(sort="name", after=by_name)).status_code == 400
