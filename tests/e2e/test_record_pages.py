"""The record pages in Chromium: what htmx adds, and that the pages work without it."""

import re
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from records import services
from records.models import SalesOrderLine
from tests.e2e.conftest import log_in
from tests.factories import CustomerFactory, ItemFactory

pytestmark = [pytest.mark.slow, pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_list_sorts_and_shows_the_clicked_rows_factbox_in_place(page, company, sales):
    CustomerFactory(company=company, no="C10000", name="Adatum Corporation", city="Atlanta")
    CustomerFactory(company=company, no="C20000", name="Trey Research", city="Chicago")
    log_in(page, "sales")
    page.goto("/customers/")
    factbox = page.locator("#factboxes")
    expect(factbox).to_contain_text("C10000")

    page.locator("tr", has_text="Trey Research").get_by_text("Chicago").click()

    expect(factbox).to_contain_text("C20000")
    assert page.url.endswith("/customers/")
    page.get_by_role("link", name="No.", exact=True).click()
    expect(page).to_have_url(re.compile(r"sort=-no"))
    expect(page.locator("#list-grid tbody tr").first).to_contain_text("C20000")


def test_lines_are_edited_and_deleted_in_place(page, company, sales):
    customer = CustomerFactory(company=company, no="C10000")
    item = ItemFactory(company=company, no="1000", description="Bicycle", unit_price=Decimal("100"))
    order = services.sales_order_create(company=company, user=sales, customer=customer)
    services.sales_order_line_add(order=order, user=sales, item=item, quantity=1)
    line = order.lines.get()
    log_in(page, "sales")
    page.goto(f"/sales-orders/{order.pk}/")

    row = page.locator(f"#line-{line.pk}")
    row.get_by_role("link", name="Edit").click()
    row.get_by_label("Quantity").fill("3")
    row.get_by_role("button", name="Save").click()

    expect(page.locator("#lines .totals")).to_contain_text("375.00")
    expect(page.locator("#field-amount")).to_have_text("300.00")
    assert page.url.endswith(f"/sales-orders/{order.pk}/")

    page.once("dialog", lambda dialog: dialog.accept())
    page.locator(f"#line-{line.pk}").get_by_role("button", name="Delete").click()

    expect(page.locator(f"#line-{line.pk}")).to_have_count(0)
    expect(page.locator("#lines .totals")).to_contain_text("0.00")
    assert not SalesOrderLine.objects.filter(pk=line.pk).exists()


def test_action_groups_open_without_script(browser, live_server, company, sales):
    customer = CustomerFactory(company=company, no="C10000")
    context = browser.new_context(base_url=live_server.url, java_script_enabled=False)
    try:
        no_js = context.new_page()
        log_in(no_js, "sales")
        no_js.goto(f"/customers/{customer.pk}/")
        no_js.get_by_text("Related", exact=True).click()
        no_js.get_by_role("menuitem", name="Sales Orders").click()
        expect(no_js).to_have_url(re.compile(r"/sales-orders/\?customer=C10000$"))
    finally:
        context.close()
