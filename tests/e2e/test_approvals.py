"""An order above the sales user's limit goes for approval, and the approver releases it.

The sales user sends the order from the Request Approval group; a real worker mails the
approver a link to the confirmation page; the approver signs in, opens Requests to Approve
from the role centre's cue, approves, and the order is Released.
"""

import re
from decimal import Decimal

import pytest
from playwright.sync_api import expect

# Importing registers the group, the cue and the FactBox (AppConfig.ready does it too).
from approvals import action_group, cues, factboxes  # noqa: F401
from approvals.models import ApprovalEntry, Workflow
from approvals.services import approval_user_setup_save, workflow_set_enabled, workflows_install
from records import services as records
from records.models import SalesOrder
from tests.e2e.conftest import TIMEOUT_MS, log_in
from tests.factories import CustomerFactory, ItemFactory, MembershipFactory, UserFactory
from tests.smtp import smtp_server
from tests.workers import routed_to, start_worker

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def mailing_worker(worker_url, tmp_path):
    """A worker whose mail goes to a real SMTP server: yields (worker, inbox)."""
    with smtp_server() as (inbox, port):
        env = {
            "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "EMAIL_HOST": "127.0.0.1",
            "EMAIL_PORT": str(port),
        }
        worker = start_worker(worker_url, tmp_path / "worker.log", env=env)
        try:
            with routed_to(worker.queue):
                yield worker, inbox
        finally:
            worker.stop()


@pytest.fixture
def approval_setup(company):
    """sales may approve up to 1,000 and answers to approver, who is unlimited."""
    sales = UserFactory(username="sales", password="demo", email="sales@cronus.example")
    approver = UserFactory(username="approver", password="demo", email="approver@cronus.example")
    for user in (sales, approver):
        MembershipFactory(user=user, company=company)
    approval_user_setup_save(
        company=company,
        user=approver,
        by=None,
        unlimited_sales_approval=True,
        approval_administrator=True,
    )
    approval_user_setup_save(
        company=company,
        user=sales,
        by=None,
        approver=approver,
        sales_amount_approval_limit=Decimal("1000"),
    )
    workflows_install(company=company)
    workflow_set_enabled(
        workflow=Workflow.objects.get(company=company, code="MS-SOAPW"), by=None, enabled=True
    )
    return sales, approver


def open_group(page, key: str):
    page.locator(f'details[data-group="{key}"] > summary').click()
    return page.locator(f'details[data-group="{key}"] .menu-panel')


def test_an_order_above_the_limit_is_approved_and_released(
    page, browser, live_server, mailing_worker, approval_setup, company
):
    worker, inbox = mailing_worker
    sales, approver = approval_setup
    customer = CustomerFactory(company=company, no="C10000", name="Adatum Corporation")
    order = records.sales_order_create(company=company, user=sales, customer=customer)
    desk = ItemFactory(company=company, description="ATHENS Desk", unit_price=Decimal("649"))
    records.sales_order_line_add(order=order, user=sales, item=desk, quantity=Decimal(2))

    # The sales user sends the order (1,298.00 is above their 1,000) for approval.
    log_in(page, "sales")
    page.goto(f"/sales-orders/{order.pk}/")
    expect(page.locator("#field-status")).to_have_text("Open")
    open_group(page, "request_approval").get_by_role(
        "menuitem", name="Send Approval Request"
    ).click()
    expect(page.locator(".notification-success")).to_have_text(
        f"The approval request for Sales Order {order.no} was sent to approver."
    )
    expect(page.locator("#field-status")).to_have_text("Pending Approval")
    factbox = page.locator('[data-factbox="approvals"]')
    expect(factbox).to_contain_text("approver: Open")

    # The worker mails the approver a link to the confirmation page.
    entry = ApprovalEntry.objects.get(request__record_id=order.system_id)
    assert entry.approver == approver
    message = worker.wait_until(lambda: inbox.messages, what="the approval mail")[0]
    assert message["to"] == ["approver@cronus.example"]
    assert f"/approvals/entries/{entry.pk}/decide/" in message["message"].get_content()

    # The approver signs in and approves it from Requests to Approve.
    context = browser.new_context(base_url=live_server.url, viewport={"width": 1440, "height": 900})
    context.set_default_timeout(TIMEOUT_MS)
    try:
        approver_page = context.new_page()
        errors = []
        approver_page.on("pageerror", lambda error: errors.append(str(error)))
        log_in(approver_page, "approver")
        cue = approver_page.locator("a.cue").filter(has_text="Requests to Approve")
        expect(cue.locator(".cue-count")).to_have_text("1")
        cue.click()
        expect(approver_page.get_by_role("heading", level=1)).to_have_text("Requests to Approve")
        row = approver_page.locator("tr[data-entry]").filter(has_text=order.no)
        expect(row).to_contain_text("1,298.00")
        row.get_by_role("textbox").fill("Adatum is good for it.")
        row.get_by_role("button", name=re.compile(r"^Approve")).click()
        expect(approver_page.locator(".notification-success")).to_have_text(
            f"Sales Order {order.no} is approved."
        )
        expect(approver_page.locator("tr[data-entry]")).to_have_count(0)

        approver_page.goto(f"/sales-orders/{order.pk}/")
        expect(approver_page.locator("#field-status")).to_have_text("Released")
        expect(approver_page.locator('[data-factbox="approvals"]')).to_contain_text(
            "approver: Approved"
        )
        assert errors == []
    finally:
        context.close()

    # The sales user sees it Released too.
    page.reload()
    expect(page.locator("#field-status")).to_have_text("Released")
    order.refresh_from_db()
    assert order.status == SalesOrder.Status.RELEASED
