"""The sales order list and document: header, inline lines, totals, Release, Reopen, Post."""

import html as html_lib
import json
import re
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from bcsite.registry import registry
from records import services
from records.models import PostedSalesInvoice, SalesOrder, SalesOrderLine
from tests.factories import CustomerFactory, ItemFactory
from tests.records.snapshots import db_snapshot

LIST = registry.pages["sales_order_list"]
DOC = registry.pages["sales_order"]
INVOICE = registry.pages["posted_sales_invoice"]
HTMX = {"HX-Request": "true"}
Status = SalesOrder.Status


@pytest.fixture
def bicycle(company):
    return ItemFactory(company=company, no="1000", description="Bicycle", unit_price=Decimal("100"))


@pytest.fixture
def lamp(company):
    return ItemFactory(company=company, no="1100", description="Lamp", unit_price=Decimal("40"))


@pytest.fixture
def order(company, sales, customer, bicycle):
    order = services.sales_order_create(company=company, user=sales, customer=customer)
    services.sales_order_line_add(order=order, user=sales, item=bicycle, quantity=2)
    return order


@pytest.fixture
def line(order):
    return order.lines.get()


@pytest.fixture
def released(order, sales):
    return services.sales_order_release(order=order, user=sales)


@pytest.fixture
def foreign_order(other_company, outsider):
    customer = CustomerFactory(company=other_company)
    return services.sales_order_create(company=other_company, user=outsider, customer=customer)


def _text(response) -> str:
    return html_lib.unescape(response.content.decode())


def _totals(response):
    return {t.label: t.text for t in response.context["lines"]["totals"]}


def _fields(response):
    return {f.name: f for tab in response.context["fasttabs"] for f in tab.fields}


# -- Document -------------------------------------------------------------------------------


def test_document_shows_header_lines_and_totals(sales_client, order):
    response = sales_client.get(DOC.card_url(order))

    html = response.content.decode()
    assert response.status_code == 200
    assert [t.title for t in response.context["fasttabs"]] == ["General", "Invoice Details"]
    assert _fields(response)["customer"].text == "C10000"
    assert _fields(response)["customer"].url == f"/customers/{order.customer_id}/"
    assert _fields(response)["status"].text == "Open"
    assert _totals(response) == {
        "Subtotal Excl. VAT": "200.00",
        "Total VAT": "50.00",
        "Total Incl. VAT": "250.00",
    }
    assert 'id="lines"' in html and "Bicycle" in html
    labels = [label for label, _ in response.context["lines"]["columns"]]
    assert labels == [
        "Type",
        "No.",
        "Description",
        "Quantity",
        "Unit of Measure",
        "Unit Price Excl. VAT",
        "Line Discount %",
        "Line Amount Excl. VAT",
    ]
    assert 'id="line-new-form"' in html
    assert f'hx-post="{DOC.url("line-add", order.pk)}"' in html


def test_new_order_from_a_customer_card_is_prefilled_and_created(sales_client, customer, company):
    form_page = sales_client.get(DOC.new_url(customer="C10000"))
    assert form_page.context["form"]["customer"].value() == "C10000"

    response = sales_client.post(
        DOC.new_url(), {"customer": "c10000", "external_document_no": "PO-1"}
    )

    order = SalesOrder.objects.get(company=company)
    assert response.status_code == 302
    assert response["Location"] == DOC.card_url(order)
    assert (order.customer, order.external_document_no, order.no) == (
        customer,
        "PO-1",
        "S-ORD101001",
    )


def test_new_order_for_an_unknown_or_blocked_customer_is_refused(sales_client, company, customer):
    CustomerFactory(company=company, no="C99999", blocked="all")
    before = db_snapshot()

    unknown = sales_client.post(DOC.new_url(), {"customer": "NOPE"})
    blocked = sales_client.post(DOC.new_url(), {"customer": "C99999"})

    assert unknown.context["form"].errors["customer"] == ["There is no Customer with No. NOPE."]
    assert blocked.context["form"].errors["customer"] == [
        "Customer C99999 is blocked for all transactions."
    ]
    assert db_snapshot() == before


def test_the_customer_picker_never_lists_a_whole_table(sales_client, company):
    for n in range(120):
        CustomerFactory(company=company, no=f"C{n:05d}")

    response = sales_client.get(DOC.new_url())

    assert response.content.decode().count('<option value="C') == 100


def test_header_edit_saves_and_validates(sales_client, order):
    bad = sales_client.post(
        DOC.edit_url(order),
        {"customer": "C10000", "order_date": "2025-02-10", "due_date": "2025-01-01"},
    )
    assert bad.context["form"].errors["due_date"] == ["Due Date must not be before Order Date."]

    good = sales_client.post(
        DOC.edit_url(order),
        {
            "customer": "C10000",
            "order_date": "2025-02-10",
            "posting_date": "2025-02-10",
            "external_document_no": "PO-9",
        },
    )

    assert good.status_code == 302
    order.refresh_from_db()
    assert (str(order.order_date), order.external_document_no) == ("2025-02-10", "PO-9")


def test_a_released_order_is_read_only(sales_client, released):
    page = sales_client.get(DOC.card_url(released))
    edit = sales_client.get(DOC.edit_url(released), follow=True)
    before = db_snapshot()
    post = sales_client.post(
        DOC.edit_url(released), {"customer": "C10000", "external_document_no": "X"}
    )

    assert page.context["lines"]["add_form"] is None
    assert not page.context["lines"]["editable"]
    assert "Released: it can be changed only while it is Open" in page.content.decode()
    items = {i.key: i for i in page.context["actionbar"].items}
    assert (
        not items["edit"].enabled and not items["release"].enabled and not items["delete"].enabled
    )
    assert items["reopen"].enabled and items["post"].enabled
    assert edit.redirect_chain[-1][0] == DOC.card_url(released)
    assert "Status must be equal to 'Open'" in _text(post)
    assert db_snapshot() == before


# -- Lines ----------------------------------------------------------------------------------


def test_add_a_line_without_javascript(sales_client, order, lamp):
    response = sales_client.post(
        DOC.url("line-add", order.pk),
        {"new-item": "1100", "new-quantity": "3", "new-line_discount_percent": "10"},
    )

    assert response.status_code == 302
    assert response["Location"] == DOC.card_url(order) + "#lines"
    added = order.lines.get(item=lamp)
    assert (added.unit_price, added.line_amount) == (Decimal("40.00"), Decimal("108.00"))
    order.refresh_from_db()
    assert order.amount == Decimal("308.00")


def test_add_a_line_with_htmx_returns_the_lines_and_totals(sales_client, order, lamp):
    response = sales_client.post(
        DOC.url("line-add", order.pk),
        {"new-item": "1100", "new-quantity": "1", "new-unit_price": "50"},
        headers=HTMX,
    )

    html = response.content.decode()
    assert response.status_code == 200
    assert html.lstrip().startswith('<section id="lines"')
    assert "<html" not in html and "Lamp" in html
    assert _totals(response)["Subtotal Excl. VAT"] == "250.00"
    # The header's amounts follow the lines, swapped out of band.
    assert re.search(r'id="field-amount" hx-swap-oob="true">250.00<', html)


def test_an_invalid_line_shows_its_errors_and_writes_nothing(sales_client, order):
    before = db_snapshot()

    partial = sales_client.post(
        DOC.url("line-add", order.pk), {"new-item": "NOPE", "new-quantity": "x"}, headers=HTMX
    )
    page = sales_client.post(
        DOC.url("line-add", order.pk), {"new-item": "1000", "new-quantity": "0"}
    )

    form = partial.context["lines"]["add_form"]
    assert form.errors["item"] == ["There is no Item with No. NOPE."]
    assert form.errors["quantity"] == ["Enter a number."]
    assert "There is no Item with No. NOPE." in partial.content.decode()
    assert page.status_code == 200 and "<html" in page.content.decode()
    assert page.context["lines"]["add_form"].errors["quantity"] == [
        "Quantity must be greater than 0."
    ]
    assert db_snapshot() == before


def test_edit_a_line_inline(sales_client, order, line):
    form = sales_client.get(DOC.url("line-edit", order.pk, line.pk), headers=HTMX)
    assert form.status_code == 200
    assert f'id="line-{line.pk}-form"' in _text(form)
    # Quantities are offered as typed ("2"), amounts with their cents.
    assert f'name="line-{line.pk}-quantity" value="2"' in _text(form)
    assert f'name="line-{line.pk}-unit_price" value="100.00"' in _text(form)

    prefix = f"line-{line.pk}"
    response = sales_client.post(
        DOC.url("line-edit", order.pk, line.pk),
        {
            f"{prefix}-item": "1000",
            f"{prefix}-quantity": "5",
            f"{prefix}-unit_price": "100",
            f"{prefix}-line_discount_percent": "0",
            f"{prefix}-description": "Bicycle",
        },
        headers=HTMX,
    )

    assert response.status_code == 200
    line.refresh_from_db()
    assert line.quantity == 5
    assert _totals(response)["Total Incl. VAT"] == "625.00"


def test_edit_a_line_without_javascript_shows_the_form_on_the_page(sales_client, order, line):
    response = sales_client.get(DOC.url("line-edit", order.pk, line.pk))

    assert "<html" in response.content.decode()
    assert [r.form is not None for r in response.context["lines"]["rows"]] == [True]


def test_delete_a_line(sales_client, order, line):
    response = sales_client.post(DOC.url("line-delete", order.pk, line.pk), headers=HTMX)

    assert response.status_code == 200
    assert not SalesOrderLine.objects.filter(pk=line.pk).exists()
    assert _totals(response)["Subtotal Excl. VAT"] == "0.00"


# -- FactBoxes follow the lines --------------------------------------------------------------


def test_line_changes_tell_the_page_with_an_htmx_event(sales_client, order, line, lamp):
    add = sales_client.post(
        DOC.url("line-add", order.pk), {"new-item": "1100", "new-quantity": "1"}, headers=HTMX
    )
    prefix = f"line-{line.pk}"
    edit = sales_client.post(
        DOC.url("line-edit", order.pk, line.pk),
        {f"{prefix}-item": "1000", f"{prefix}-quantity": "3", f"{prefix}-description": "Bike"},
        headers=HTMX,
    )
    delete = sales_client.post(DOC.url("line-delete", order.pk, line.pk), headers=HTMX)

    assert [json.loads(r["HX-Trigger"]) for r in (add, edit, delete)] == [{"lines-changed": {}}] * 3


def test_refused_line_changes_and_plain_posts_send_no_event(sales_client, order):
    refused = sales_client.post(
        DOC.url("line-add", order.pk), {"new-item": "NOPE", "new-quantity": "1"}, headers=HTMX
    )
    plain = sales_client.post(
        DOC.url("line-add", order.pk), {"new-item": "1000", "new-quantity": "1"}
    )

    assert "HX-Trigger" not in refused
    assert plain.status_code == 302 and "HX-Trigger" not in plain


def test_the_factbox_pane_reloads_itself_when_lines_change(sales_client, order, lamp):
    url = DOC.url("factboxes", order.pk, on="card")
    page = sales_client.get(DOC.card_url(order)).content.decode()
    assert (
        f'<div id="factboxes" class="factboxes" hx-get="{html_lib.escape(url)}" '
        'hx-trigger="lines-changed from:body" hx-swap="innerHTML">'
    ) in page
    sales_client.post(
        DOC.url("line-add", order.pk), {"new-item": "1100", "new-quantity": "5"}, headers=HTMX
    )

    boxes = sales_client.get(url, headers=HTMX)

    assert boxes.status_code == 200 and "<html" not in boxes.content.decode()
    statistics = next(b for b in boxes.context["factboxes"] if b.key == "customer_statistics")
    # 2 bicycles at 100 and 5 lamps at 40, plus 25% VAT.
    assert {r.label: r.text for r in statistics.rows}["Outstanding Orders (LCY)"] == "500.00"


def test_the_card_factbox_endpoint_checks_like_the_card(sales_client, order, foreign_order):
    url = DOC.url("factboxes", order.pk, on="card")

    plain = sales_client.get(url)

    assert plain.status_code == 302 and plain["Location"] == DOC.card_url(order)
    foreign = DOC.url("factboxes", foreign_order.pk, on="card")
    assert sales_client.get(foreign, headers=HTMX).status_code == 404
    assert sales_client.post(url, headers=HTMX).status_code == 405


def test_collapsed_tab_summaries_follow_the_lines_too(sales_client, order, lamp):
    response = sales_client.post(
        DOC.url("line-add", order.pk), {"new-item": "1100", "new-quantity": "1"}, headers=HTMX
    )

    html = response.content.decode()
    assert re.search(r'id="summary-amount" title="Amount" hx-swap-oob="true">240.00<', html)
    assert re.search(r'id="summary-amount_including_vat"[^>]*hx-swap-oob="true">300.00<', html)


def test_lines_of_a_released_order_are_refused(sales_client, released, bicycle):
    line = released.lines.get()
    before = db_snapshot()

    add = sales_client.post(
        DOC.url("line-add", released.pk), {"new-item": "1000", "new-quantity": "1"}, headers=HTMX
    )
    delete = sales_client.post(DOC.url("line-delete", released.pk, line.pk), headers=HTMX)

    assert "Status must be equal to 'Open'" in _text(add)
    assert "Status must be equal to 'Open'" in _text(delete)
    assert db_snapshot() == before


def test_line_endpoints_refuse_wrong_methods_and_lines_of_other_orders(
    sales_client, order, line, company, sales, customer
):
    other = services.sales_order_create(company=company, user=sales, customer=customer)

    assert sales_client.get(DOC.url("line-add", order.pk)).status_code == 405
    assert sales_client.get(DOC.url("line-delete", order.pk, line.pk)).status_code == 405
    assert sales_client.post(DOC.url("line-delete", other.pk, line.pk)).status_code == 404
    assert sales_client.get(DOC.url("line-edit", other.pk, line.pk)).status_code == 404
    assert SalesOrderLine.objects.filter(pk=line.pk).exists()


def test_line_endpoints_refuse_outsiders(outsider_client, order, line):
    prefix = f"line-{line.pk}"
    assert outsider_client.post(DOC.url("line-delete", order.pk, line.pk)).status_code == 404
    assert outsider_client.get(DOC.url("lines", order.pk), headers=HTMX).status_code == 404
    assert (
        outsider_client.post(
            DOC.url("line-add", order.pk), {"new-item": "1000", "new-quantity": "1"}
        ).status_code
        == 404
    )
    assert (
        outsider_client.post(
            DOC.url("line-edit", order.pk, line.pk),
            {f"{prefix}-item": "1000", f"{prefix}-quantity": "9"},
        ).status_code
        == 404
    )
    line.refresh_from_db()
    assert line.quantity == 2
    assert order.lines.count() == 1


# -- Release, Reopen, Post --------------------------------------------------------------------


def test_release_and_reopen_through_their_endpoints(sales_client, order):
    released = sales_client.post(DOC.url("action", order.pk, "release"), follow=True)
    order.refresh_from_db()
    assert order.status == Status.RELEASED
    assert f"Sales order {order.no} was released." in released.content.decode()

    sales_client.post(DOC.url("action", order.pk, "reopen"))
    order.refresh_from_db()
    assert order.status == Status.OPEN


def test_a_disabled_action_is_still_refused_by_its_service(sales_client, order):
    SalesOrder.objects.filter(pk=order.pk).update(status=Status.PENDING_APPROVAL)

    response = sales_client.post(DOC.url("action", order.pk, "release"), follow=True)

    order.refresh_from_db()
    assert order.status == Status.PENDING_APPROVAL
    assert f"Sales Order {order.no} is pending approval." in _text(response)


def test_release_refused_for_an_empty_order(sales_client, company, sales, customer):
    empty = services.sales_order_create(company=company, user=sales, customer=customer)

    response = sales_client.post(DOC.url("action", empty.pk, "release"), follow=True)

    assert f"There is nothing to release for Order {empty.no}." in response.content.decode()
    empty.refresh_from_db()
    assert empty.status == Status.OPEN


def test_post_asks_first_then_opens_the_posted_invoice(sales_client, order):
    url = DOC.url("action", order.pk, "post")

    question = sales_client.get(url)
    unconfirmed = sales_client.post(url)
    assert "Do you want to post the order?" in question.content.decode()
    assert "Do you want to post the order?" in unconfirmed.content.decode()
    assert SalesOrder.objects.filter(pk=order.pk).exists()

    response = sales_client.post(url, {"confirmed": "1"}, follow=True)

    invoice = PostedSalesInvoice.objects.get(order_no=order.no)
    assert response.redirect_chain[-1][0] == INVOICE.card_url(invoice)
    assert f"was posted as posted sales invoice {invoice.no}" in response.content.decode()
    assert not SalesOrder.objects.filter(pk=order.pk).exists()


def test_actions_refuse_get_and_unknown_keys(sales_client, order):
    assert sales_client.get(DOC.url("action", order.pk, "release")).status_code == 405
    assert sales_client.post(DOC.url("action", order.pk, "explode")).status_code == 404
    # Navigation actions are links, not endpoints.
    assert sales_client.post(DOC.url("action", order.pk, "customer")).status_code == 404


def test_actions_refuse_outsiders(outsider_client, order):
    assert outsider_client.post(DOC.url("action", order.pk, "release")).status_code == 404
    post = outsider_client.post(DOC.url("action", order.pk, "post"), {"confirmed": "1"})
    assert post.status_code == 404
    assert outsider_client.get(DOC.card_url(order)).status_code == 404
    assert outsider_client.get(DOC.edit_url(order)).status_code == 404
    order.refresh_from_db()
    assert order.status == Status.OPEN


def test_anonymous_users_cannot_run_actions(client, order):
    response = client.post(DOC.url("action", order.pk, "release"))

    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    order.refresh_from_db()
    assert order.status == Status.OPEN


# -- List -----------------------------------------------------------------------------------


def test_list_filters_by_status_and_customer_as_cues_link(
    sales_client, order, released, company, sales
):
    other_customer = CustomerFactory(company=company, no="C20000")
    open_order = services.sales_order_create(company=company, user=sales, customer=other_customer)

    open_rows = sales_client.get(LIST.list_url(status="open")).context["rows"]
    customer_rows = sales_client.get(LIST.list_url(customer="C10000")).context["rows"]

    assert [r.pk for r in open_rows] == [open_order.pk]
    assert [r.pk for r in customer_rows] == [order.pk]


def test_bulk_release_and_post_report_each_order(sales_client, company, sales, customer, bicycle):
    orders = []
    for _ in range(2):
        o = services.sales_order_create(company=company, user=sales, customer=customer)
        services.sales_order_line_add(order=o, user=sales, item=bicycle, quantity=1)
        orders.append(o)
    empty = services.sales_order_create(company=company, user=sales, customer=customer)
    selected = [o.pk for o in [*orders, empty]]

    response = sales_client.post(
        LIST.url("list-action", "release"), {"selected": selected}, follow=True
    )

    html = response.content.decode()
    assert "2 sales orders were released." in html
    assert f"There is nothing to release for Order {empty.no}." in html
    assert SalesOrder.objects.filter(status=Status.RELEASED).count() == 2

    posted = sales_client.post(
        LIST.url("list-action", "post"), {"selected": selected[:2], "confirmed": "1"}, follow=True
    )
    assert "2 sales orders were posted." in posted.content.decode()
    assert PostedSalesInvoice.objects.count() == 2


def test_list_query_count_does_not_grow_with_rows(sales_client, company, sales, bicycle):
    def make(n):
        for _ in range(n):
            customer = CustomerFactory(company=company)
            services.sales_order_create(company=company, user=sales, customer=customer)

    def queries():
        with CaptureQueriesContext(connection) as captured:
            assert sales_client.get(LIST.list_url()).status_code == 200
        return len(captured)

    make(5)
    few = queries()
    make(55)
    many = queries()

    assert few == many
