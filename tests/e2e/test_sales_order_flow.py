import re
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from records.models import CustomerLedgerEntry, Item, PostedSalesInvoice, SalesOrder
from tests.e2e.conftest import log_in
from tests.factories import CustomerFactory, ItemFactory

pytestmark = [pytest.mark.slow, pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def add_line(page, *, item_no: str, quantity: str, discount: str = "") -> None:
    new_line = page.locator("#lines tr.line-new")
    new_line.get_by_label("No.").fill(item_no)
    new_line.get_by_label("Quantity").fill(quantity)
    if discount:
        new_line.get_by_label("Line Discount %").fill(discount)
    page.locator("#lines").get_by_role("button", name="Add line").click()


def line_rows(page):
    # Saved lines only: the new-line row holds the item picker, whose options name every item.
    return page.locator("#lines tbody tr[id^='line-']")


def test_a_sales_user_sells_two_items_and_posts_the_invoice(page, company, sales):
    customer = CustomerFactory(company=company, no="C10000", name="Adatum Corporation")
    CustomerFactory(company=company, no="C20000", name="Trey Research")
    ItemFactory(company=company, no="1000", description="ATHENS Desk", unit_price=Decimal("649"))
    ItemFactory(
        company=company,
        no="1010",
        description="PARIS Guest Chair, black",
        unit_price=Decimal("189"),
    )

    log_in(page, "sales")
    page.get_by_role("navigation").get_by_role("link", name="Sales Orders").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Sales Orders")
    page.get_by_role("link", name="New", exact=True).click()

    page.get_by_label("Sell-to Customer No.").fill("C10000")
    page.get_by_role("button", name="Create").click()
    expect(page).to_have_url(re.compile(r"/sales-orders/\d+/$"))
    order = SalesOrder.objects.get(company=company, customer=customer)
    expect(page.get_by_role("heading", level=1)).to_contain_text(f"{order.no} · Adatum Corporation")
    expect(page.locator("#field-status")).to_have_text("Open")

    add_line(page, item_no="1000", quantity="2")
    expect(line_rows(page).filter(has_text="ATHENS Desk")).to_contain_text("1,298.00")
    add_line(page, item_no="1010", quantity="4", discount="10")
    chair = line_rows(page).filter(has_text="PARIS Guest Chair, black")
    expect(chair).to_contain_text("680.40")
    totals = page.locator("#lines .totals")
    expect(totals).to_contain_text("1,978.40")
    expect(totals).to_contain_text("494.60")
    expect(totals).to_contain_text("2,473.00")
    # The header's amounts follow the lines without a reload.
    expect(page.locator("#field-amount_including_vat")).to_have_text("2,473.00")

    page.get_by_role("toolbar").get_by_role("button", name="Release").click()
    expect(page.locator("#field-status")).to_have_text("Released")
    # A released order is read-only: no line can be added any more.
    expect(page.locator("#lines tr.line-new")).to_have_count(0)

    page.get_by_role("toolbar").get_by_role("link", name=re.compile(r"^Post")).click()
    expect(page.get_by_text("Do you want to post the order?")).to_be_visible()
    page.get_by_role("button", name="Yes").click()

    expect(page).to_have_url(re.compile(r"/posted-sales-invoices/\d+/$"))
    invoice = PostedSalesInvoice.objects.get(company=company, order_no=order.no)
    heading = page.get_by_role("heading", level=1)
    expect(heading).to_contain_text(invoice.no)
    expect(page.get_by_text(invoice.no).first).to_be_visible()
    lines = line_rows(page)
    expect(lines).to_have_count(2)
    expect(lines.nth(0)).to_contain_text("ATHENS Desk")
    expect(lines.nth(0)).to_contain_text("1,298.00")
    expect(lines.nth(1)).to_contain_text("PARIS Guest Chair, black")
    expect(lines.nth(1)).to_contain_text("680.40")
    expect(page.locator("main")).to_contain_text("2,473.00")

    assert invoice.amount == Decimal("1978.40")
    assert invoice.amount_including_vat == Decimal("2473.00")
    assert invoice.posted_by == sales
    assert not SalesOrder.objects.filter(pk=order.pk).exists()
    assert CustomerLedgerEntry.objects.get(document_no=invoice.no).amount == Decimal("2473.00")
    assert Item.objects.get(company=company, no="1000").inventory == Decimal("98")
