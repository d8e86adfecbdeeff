"""The shell in Chromium: Alt+Q and Tell me's dropdown, cues, the menus, signing out."""

import re

import pytest
from playwright.sync_api import expect

from records.models import SalesOrder
from tests.e2e.conftest import log_in
from tests.factories import CompanyFactory, MembershipFactory, SalesOrderFactory

pytestmark = [pytest.mark.slow, pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_alt_q_finds_a_page_and_the_keyboard_opens_it(page, company, sales):
    log_in(page, "sales")
    expect(page.locator("#tellme-input")).not_to_be_focused()

    page.keyboard.press("Alt+q")
    expect(page.locator("#tellme-input")).to_be_focused()
    page.keyboard.type("orders sales")

    dropdown = page.locator("#tellme-dropdown")
    expect(dropdown.get_by_role("link", name="Sales Orders", exact=True)).to_be_visible()
    page.keyboard.press("ArrowDown")
    expect(dropdown.get_by_role("link", name="Sales Orders", exact=True)).to_be_focused()
    page.keyboard.press("Enter")

    expect(page).to_have_url(re.compile(r"/sales-orders/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Sales Orders")


def test_escape_closes_tell_me_and_enter_opens_the_results_page(page, company, sales):
    log_in(page, "sales")
    box = page.locator("#tellme-input")
    box.fill("new customer")
    expect(page.locator("#tellme-dropdown")).to_contain_text("New Customer")

    box.press("Escape")
    expect(page.locator("#tellme-dropdown")).to_be_empty()
    expect(box).to_be_focused()
    box.fill("new customer")
    box.press("Enter")

    expect(page).to_have_url(re.compile(r"/tellme/\?q=new\+customer$"))
    page.get_by_role("main").get_by_role("link", name="New Customer").click()
    expect(page).to_have_url(re.compile(r"/customers/new/$"))


def test_a_cue_opens_the_list_it_counts(page, company, sales):
    SalesOrderFactory.create_batch(2, company=company, status=SalesOrder.Status.RELEASED)
    SalesOrderFactory(company=company, status=SalesOrder.Status.OPEN, no="S-ORD-OPEN")
    log_in(page, "sales")
    expect(
        page.get_by_text(re.compile(r"^Good (morning|afternoon|evening), sales!$"))
    ).to_be_visible()

    cue = page.locator("a.cue", has_text="Sales Orders - Released")
    expect(cue.locator(".cue-count")).to_have_text("2")
    cue.click()

    expect(page).to_have_url(re.compile(r"/sales-orders/\?status=released$"))
    expect(page.get_by_role("main")).not_to_contain_text("S-ORD-OPEN")


def test_company_switcher_and_sign_out_work_from_the_menus(page, company, sales):
    second = CompanyFactory(name="SECOND", display_name="Second Company")
    MembershipFactory(user=sales, company=second)
    log_in(page, "sales")

    page.locator(".appbar-company summary").click()
    page.get_by_role("menuitem", name="Second Company").click()

    expect(page.locator(".appbar-company summary")).to_have_text("Second Company")
    expect(page.locator("#notifications")).to_contain_text("You are now working in Second Company.")

    page.locator(".appbar-user summary").click()
    page.get_by_role("menuitem", name="Sign out").click()
    expect(page).to_have_url(re.compile(r"/accounts/login/$"))
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/accounts/login/\?next=/$"))
