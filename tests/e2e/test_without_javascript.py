"""Every page works without JavaScript: the whole sales flow with scripts switched off."""

import re
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from records.models import PostedSalesInvoice, SalesOrder
from tests.e2e.conftest import TIMEOUT_MS, log_in
from tests.factories import CustomerFactory, ItemFactory

pytestmark = [pytest.mark.slow, pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def page_without_script(browser, live_server):
    context = browser.new_context(base_url=live_server.url, java_script_enabled=False)
    context.set_default_timeout(TIMEOUT_MS)
    try:
        yield context.new_page()
    finally:
        context.close()


def test_a_sales_order_is_created_released_and_posted_with_plain_forms(
    page_without_script, company, sales
):
    page = page_without_script
    customer = CustomerFactory(company=company, no="C10000", name="Adatum Corporation")
    ItemFactory(company=company, no="1000", description="ATHENS Desk", unit_price=Decimal("649"))
    ItemFactory(company=company, no="1010", description="PARIS Chair", unit_price=Decimal("189"))

    log_in(page, "sales")
    page.goto("/sales-orders/new/")
    page.get_by_label("Sell-to Customer No.").fill("C99999")
    page.get_by_role("button", name="Create").click()
    expect(page.get_by_text("There is no Customer with No. C99999.")).to_be_visible()
    assert not SalesOrder.objects.exists()

    page.get_by_label("Sell-to Customer No.").fill("C10000")
    page.get_by_role("button", name="Create").click()
    expect(page).to_have_url(re.compile(r"/sales-orders/\d+/$"))
    for item_no, quantity in (("1000", "2"), ("1010", "3")):
        new_line = page.locator("#lines tr.line-new")
        new_line.get_by_label("No.").fill(item_no)
        new_line.get_by_label("Quantity").fill(quantity)
        page.locator("#lines").get_by_role("button", name="Add line").click()
    expect(page.locator("#lines .totals")).to_contain_text("2,331.25")

    page.locator(".actionbar").get_by_role("button", name="Release").click()
    expect(page.locator("#field-status")).to_have_text("Released")
    page.locator(".actionbar").get_by_text("Post…").click()
    page.get_by_role("button", name="Yes").click()

    invoice = PostedSalesInvoice.objects.get(customer=customer)
    expect(page).to_have_url(re.compile(rf"/posted-sales-invoices/{invoice.pk}/$"))
    expect(page.get_by_role("heading", level=1)).to_contain_text(invoice.no)
    assert invoice.amount_including_vat == Decimal("2331.25")
    assert not SalesOrder.objects.exists()
