"""A new user's first flow: from the gallery on a customer card, run by a real worker."""

import re

import pytest
from playwright.sync_api import expect

from automate.models import Flow, FlowRun, RunStatus
from records.models import Customer
from tests.e2e.conftest import log_in
from tests.factories import CustomerFactory, MembershipFactory, UserFactory

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

RUN_TIMEOUT_MS = 60_000


def open_automate(page):
    page.locator('details[data-group="automate"] > summary').click()
    return page.locator('details[data-group="automate"] .menu-panel')


def test_block_the_selected_customer_from_the_gallery(page, celery_worker_process, company):
    sales = UserFactory(username="sales", password="demo")
    MembershipFactory(user=sales, company=company)
    customer = CustomerFactory(company=company, no="C10000", name="Adatum Corporation")

    log_in(page, "sales")
    page.goto(f"/customers/{customer.pk}/")
    open_automate(page).get_by_role("menuitem", name="Create a flow").click()

    # The gallery offers the customer templates; "Block the selected customer" is one.
    card = page.locator("article, li, .template").filter(has_text="Block the selected customer")
    card.first.get_by_role("link", name=re.compile("Use this template")).click()
    page.get_by_role("button", name=re.compile("Create")).click()
    expect(page.get_by_text("Run it from Automate")).to_be_visible()
    assert page.url.endswith(f"/customers/{customer.pk}/")
    flow = Flow.objects.get(owner=sales, template_key="block-selected-customer")

    open_automate(page).get_by_role("menuitem", name="Block the selected customer").click()
    expect(page.get_by_text("Run Block the selected customer on C10000")).to_be_visible()
    page.get_by_role("button", name="Continue").click()

    # The progress view follows the run until the worker has finished it.
    expect(page.get_by_text("Succeeded").first).to_be_visible(timeout=RUN_TIMEOUT_MS)
    run = FlowRun.objects.get(flow=flow)
    assert run.status == RunStatus.SUCCEEDED
    page.get_by_role("link", name=re.compile("Back to")).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("C10000")
    customer.refresh_from_db()
    assert customer.blocked == Customer.Blocked.ALL
    expect(page.locator("main")).to_contain_text("All")

    # The run is in the flow's history, with its step.
    page.goto(f"/automate/flows/{flow.pk}/runs/")
    page.locator("table tbody tr").first.get_by_role("link").first.click()
    expect(page).to_have_url(re.compile(rf"/automate/runs/{run.pk}/$"))
    expect(page.locator("main")).to_contain_text("Block customer")
