"""A new user's first automated flow: released on the page, mailed by a real worker."""

import re
import time

import pytest
from playwright.sync_api import expect

from automate.models import Flow, FlowRun, RunStatus, SentEmail
from tests.e2e.conftest import log_in
from tests.factories import CustomerFactory, ItemFactory, MembershipFactory, UserFactory
from tests.smtp import smtp_server
from tests.workers import routed_to, start_worker

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def open_automate(page):
    page.locator('details[data-group="automate"] > summary').click()
    return page.locator('details[data-group="automate"] .menu-panel')


@pytest.fixture
def mailing_worker(worker_url, tmp_path):
    """A worker whose mail goes to a real SMTP server."""
    with smtp_server() as (inbox, port):
        env = {
            "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "EMAIL_HOST": "127.0.0.1",
            "EMAIL_PORT": str(port),
        }
        worker = start_worker(worker_url, tmp_path / "worker.log", env=env)
        try:
            with routed_to(worker.queue):
                yield inbox
        finally:
            worker.stop()


def test_releasing_an_order_on_its_page_emails_the_customer(page, mailing_worker, company):
    from records import services as records

    sales = UserFactory(username="sales", password="demo", email="sales@cronus.example")
    MembershipFactory(user=sales, company=company)
    customer = CustomerFactory(
        company=company, no="C20000", name="Trey Research", email="buyer@trey.example"
    )
    order = records.sales_order_create(company=company, user=sales, customer=customer)
    records.sales_order_line_add(
        order=order, user=sales, item=ItemFactory(company=company), quantity=3, unit_price=40
    )

    log_in(page, "sales")
    page.goto(f"/sales-orders/{order.pk}/")
    open_automate(page).get_by_role("menuitem", name="Create a flow").click()
    card = page.locator("article, li, .template").filter(
        has_text="When a sales order is released, email the customer"
    )
    card.first.get_by_role("link", name=re.compile("Use this template")).click()
    page.get_by_role("button", name=re.compile("Create")).click()
    expect(page.get_by_text("runs each time this happens: sales order released")).to_be_visible()
    flow = Flow.objects.get(owner=sales, template_key="email-customer-when-sales-order-released")

    released_at = time.monotonic()
    page.get_by_role("toolbar").get_by_role("button", name="Release").click()
    expect(page.locator("#field-status")).to_have_text("Released")
    # A wait, not a bound: a loaded machine may take longer (the figure is printed).
    deadline = released_at + 60
    while not SentEmail.objects.filter(flow=flow).exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    mailed_after = time.monotonic() - released_at
    email = SentEmail.objects.get(flow=flow)
    assert email.to == ["buyer@trey.example"]
    assert email.subject == f"Your order {order.no} has been released"
    print(f"mailed {mailed_after:.2f} s after the click on Release")
    run = FlowRun.objects.get(flow=flow)
    while not run.is_finished and time.monotonic() < deadline:
        time.sleep(0.05)
        run.refresh_from_db()
    assert run.status == RunStatus.SUCCEEDED
    [received] = mailing_worker.messages
    assert received["to"] == ["buyer@trey.example"]

    page.goto("/sent-emails/")
    expect(page.locator("main")).to_contain_text(f"Your order {order.no} has been released")
    expect(page.locator("main")).to_contain_text("buyer@trey.example")
