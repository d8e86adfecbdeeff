"""The pages in Chromium: list width beside the FactBoxes, Select all, No. lookups,
FactBoxes that follow the lines, "Show more" and collapsed FastTab summaries."""

import re
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from records import services
from tests.e2e.conftest import log_in
from tests.factories import CustomerFactory, ItemFactory

pytestmark = [pytest.mark.slow, pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize("width", [1280, 1440])
def test_the_sales_order_list_scrolls_inside_the_content_area(
    page, company, sales, screenshots_dir, width
):
    customer = CustomerFactory(
        company=company, no="C10000", name="Adatum Corporation International Holdings"
    )
    for n in range(3):
        order = services.sales_order_create(
            company=company,
            user=sales,
            customer=customer,
            external_document_no=f"PO-2025-LONG-REFERENCE-{n:04d}",
        )
        assert order.pk
    page.set_viewport_size({"width": width, "height": 900})
    log_in(page, "sales")
    page.goto("/sales-orders/")
    expect(page.locator("#factboxes")).to_contain_text("C10000")

    boxes = page.evaluate(
        """() => {
            const box = (el) => el.getBoundingClientRect();
            const scroller = document.querySelector('#list-grid .grid-scroll');
            return {
                main: box(document.querySelector('main')).right,
                pane: box(document.querySelector('.factbox-pane')).left,
                scroller: box(scroller).right,
                page: document.documentElement.scrollWidth,
                viewport: window.innerWidth,
            };
        }"""
    )
    page.screenshot(path=str(screenshots_dir / f"sales_orders_{width}.png"))

    # The grid stays in the content area, left of the FactBox pane; the page never widens.
    assert boxes["scroller"] <= boxes["pane"] + 0.5
    assert boxes["scroller"] <= boxes["main"] + 0.5
    assert boxes["page"] <= boxes["viewport"]
    # Its last column is reachable: scrolled to the end, it is whole inside the scroller.
    last = page.locator("#list-grid thead th").last
    page.locator("#list-grid .grid-scroll").evaluate("el => { el.scrollLeft = el.scrollWidth; }")
    scroller = page.locator("#list-grid .grid-scroll").bounding_box()
    header = last.bounding_box()
    assert header["x"] + header["width"] <= scroller["x"] + scroller["width"] + 0.5
    page.screenshot(path=str(screenshots_dir / f"sales_orders_{width}_scrolled.png"))


def test_select_all_checks_every_row_and_is_hidden_without_script(
    page, browser, live_server, company, sales
):
    for n in range(3):
        CustomerFactory(company=company, no=f"C{n}0000")
    log_in(page, "sales")
    page.goto("/customers/")

    select_all = page.get_by_label("Select all rows")
    rows = page.locator('#list-grid input[name="selected"]')
    select_all.check()
    for n in range(3):
        expect(rows.nth(n)).to_be_checked()
    rows.nth(1).uncheck()
    assert select_all.evaluate("el => el.indeterminate") is True
    select_all.check()
    expect(rows.nth(1)).to_be_checked()
    select_all.uncheck()
    expect(rows.nth(0)).not_to_be_checked()
    # After an htmx sort the new header works as well.
    page.get_by_role("link", name="No.", exact=True).click()
    expect(page).to_have_url(re.compile(r"sort=-no"))
    page.get_by_label("Select all rows").check()
    expect(rows.nth(2)).to_be_checked()

    context = browser.new_context(base_url=live_server.url, java_script_enabled=False)
    try:
        no_js = context.new_page()
        log_in(no_js, "sales")
        no_js.goto("/customers/")
        expect(no_js.locator("[data-select-all]")).to_be_hidden()
        expect(no_js.locator('input[name="selected"]').first).to_be_visible()
    finally:
        context.close()


def test_typing_a_customer_no_looks_it_up(page, company, sales):
    for n in range(110):
        CustomerFactory(company=company, no=f"C{n:05d}")
    CustomerFactory(company=company, no="X99999", name="Zeta Industries")
    log_in(page, "sales")
    page.goto("/sales-orders/new/")
    options = page.locator("#customer-options option")
    expect(options).to_have_count(100)
    expect(page.locator('#customer-options option[value="X99999"]')).to_have_count(0)

    page.get_by_label("Sell-to Customer No.").press_sequentially("zeta", delay=30)

    expect(page.locator('#customer-options option[value="X99999"]')).to_have_count(1)
    expect(options).to_have_count(1)
    page.get_by_label("Sell-to Customer No.").fill("X99999")
    page.get_by_role("button", name="Create").click()
    expect(page).to_have_url(re.compile(r"/sales-orders/\d+/$"))
    expect(page.get_by_role("heading", level=1)).to_contain_text("Zeta Industries")


def test_factboxes_follow_the_lines(page, company, sales):
    customer = CustomerFactory(company=company, no="C10000")
    ItemFactory(company=company, no="1000", description="Bicycle", unit_price=Decimal("100"))
    order = services.sales_order_create(company=company, user=sales, customer=customer)
    log_in(page, "sales")
    page.goto(f"/sales-orders/{order.pk}/")
    outstanding = page.locator(
        "[data-factbox='customer_statistics'] .factbox-row", has_text="Outstanding Orders"
    )
    expect(outstanding).to_contain_text("0.00")

    new_line = page.locator("#lines tr.line-new")
    new_line.get_by_label("No.").fill("1000")
    new_line.get_by_label("Quantity").fill("2")
    page.locator("#lines").get_by_role("button", name="Add line").click()

    expect(outstanding).to_contain_text("250.00")
    assert page.url.endswith(f"/sales-orders/{order.pk}/")


def test_show_more_and_collapsed_summaries(page, company, sales):
    customer = CustomerFactory(
        company=company, no="C10000", name="Adatum Corporation", salesperson_code="PS"
    )
    log_in(page, "sales")
    page.goto(f"/customers/{customer.pk}/")
    general = page.locator("[data-fasttab='general']")
    salesperson = general.locator("#field-salesperson_code")
    expect(salesperson).to_be_hidden()
    expect(general.locator(".fasttab-summary")).to_be_hidden()

    general.get_by_text("Show more").click()
    expect(salesperson).to_have_text("PS")
    expect(general.get_by_text("Show less")).to_be_visible()

    general.locator("summary.fasttab-title").click()
    summary = general.locator(".fasttab-summary")
    expect(summary).to_be_visible()
    expect(summary).to_contain_text("C10000")
    expect(summary).to_contain_text("Adatum Corporation")
