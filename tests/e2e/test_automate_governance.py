"""An administrator turns Power Automate off for a sales user and back on, in the demo company.

Everything happens in Chromium on the demo data (``demo_seed``): admin switches sales off
with the toggle on Power Automate Setup; sales, in a browser of their own, finds no Automate
group on a sales order and a 403 that names admin on the Power Automate pages. Once admin
switches it back on, sales runs the demo's Notify warehouse (shared with them run-only) from
the order's Process group; a real worker mails the warehouse through a real SMTP server.
Sales sees the flow as Run-only user and may not open its designer; the Audit Log shows both
switches, by admin.
"""

import re

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from automate.demo import NOTIFY_WAREHOUSE_KEY, WAREHOUSE_EMAIL
from automate.models import AutomateUserAccess, Flow, FlowRun, RunStatus, SentEmail
from bcsite.models import AuditEntry
from records.demo import demo_seed
from records.models import SalesOrder
from tests.e2e.conftest import TIMEOUT_MS, log_in
from tests.smtp import smtp_server
from tests.workers import _delete_queue, routed_to, start_worker

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

RUN_TIMEOUT_MS = 60_000
SHIPMENT_DATE = "2030-05-17"
TURNED_OFF = (
    "Power Automate is turned off for sales in CRONUS USA, Inc. "
    "A company administrator (admin) can turn it on in Power Automate Setup."
)


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
            _delete_queue(worker.queue)


@pytest.fixture
def demo(mailing_worker):
    """The demo company, seeded while this test's worker takes the tasks it queues."""
    return demo_seed().company


@pytest.fixture
def sales_page(browser, live_server):
    """A second browser, for the sales user, next to admin's ``page``."""
    context = browser.new_context(base_url=live_server.url, viewport={"width": 1440, "height": 900})
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    try:
        yield page
        assert errors == [], f"JavaScript errors on the sales user's page: {errors}"
    finally:
        context.close()


def open_group(page, key: str):
    page.locator(f'details[data-group="{key}"] > summary').click()
    return page.locator(f'details[data-group="{key}"] .menu-panel')


def switch_sales(page, *, now_on: bool):
    """On Power Automate Setup, flip the sales user's Allowed toggle with the page's control."""
    page.goto(reverse("automate:setup"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Power Automate Setup")
    toggle = page.get_by_role("button", name="Power Automate for sales", exact=True)
    expect(toggle).to_have_attribute("aria-pressed", "false" if now_on else "true")
    toggle.click()
    if now_on:
        message = "Power Automate is now allowed for sales."
    else:
        message = "Power Automate is now turned off for sales. Their automated flows do not start."
    expect(page.locator(".notification-success")).to_have_text(message)
    expect(toggle).to_have_attribute("aria-pressed", "true" if now_on else "false")


def test_admin_turns_power_automate_off_and_on_for_sales(page, sales_page, mailing_worker, demo):
    worker, inbox = mailing_worker
    flow = Flow.objects.get(company=demo, key=NOTIFY_WAREHOUSE_KEY)
    order = (
        SalesOrder.objects.filter(company=demo, status=SalesOrder.Status.OPEN, lines__isnull=False)
        .order_by("no")
        .first()
    )
    assert order is not None, "the demo has no open sales order with lines"
    order_url = f"/sales-orders/{order.pk}/"

    # 1. admin turns Power Automate off for sales on Power Automate Setup.
    log_in(page, "admin")
    switch_sales(page, now_on=False)
    assert AutomateUserAccess.objects.get(company=demo, user__username="sales").allowed is False

    # 2. sales finds no Automate group and no Notify warehouse on a sales order ...
    log_in(sales_page, "sales")
    sales_page.goto(order_url)
    expect(sales_page.get_by_role("heading", level=1)).to_contain_text(order.no)
    actionbar = sales_page.get_by_role("toolbar", name="Actions")
    expect(actionbar).to_be_visible()
    # The order's own actions are there; Process held only Notify warehouse, so it is gone.
    expect(actionbar.get_by_role("button", name="Release", exact=True)).to_be_visible()
    expect(sales_page.locator('details[data-group="process"]')).to_have_count(0)
    expect(sales_page.locator('details[data-group="automate"]')).to_have_count(0)
    expect(sales_page.locator('[data-action="notify-warehouse"]')).to_have_count(0)
    expect(actionbar).not_to_contain_text("Notify warehouse")
    expect(actionbar).not_to_contain_text("Automate")
    expect(sales_page.get_by_role("navigation", name="Navigation")).not_to_contain_text(
        "Power Automate"
    )

    # ... and the Power Automate pages refuse, naming who can turn it on.
    response = sales_page.goto(reverse("automate:flow-list"))
    assert response.status == 403
    expect(sales_page.get_by_role("alert")).to_contain_text(TURNED_OFF)

    # 3. admin turns it back on.
    switch_sales(page, now_on=True)

    # 4. sales runs Notify warehouse from the order's Process group.
    sales_page.goto(order_url)
    automate = open_group(sales_page, "automate")
    expect(automate.get_by_role("menuitem", name="Notify warehouse (shared)")).to_be_visible()
    sales_page.keyboard.press("Escape")
    expect(automate).to_be_hidden()
    process = open_group(sales_page, "process")
    process.get_by_role("menuitem", name=re.compile(r"^Notify warehouse")).click()
    expect(sales_page.get_by_text(f"Run Notify warehouse on {order.no}")).to_be_visible()
    # The date is required: without it the pane says so and nothing runs.
    sales_page.get_by_role("button", name="Continue").click()
    expect(sales_page.locator(".field-error")).to_have_text("This field is required.")
    assert not FlowRun.objects.filter(flow=flow).exists()
    sales_page.get_by_label("Shipment date").fill(SHIPMENT_DATE)
    sales_page.get_by_role("button", name="Continue").click()
    progress = sales_page.locator(".run-card")
    expect(progress).to_contain_text("Succeeded", timeout=RUN_TIMEOUT_MS)
    run = FlowRun.objects.get(flow=flow)
    assert run.status == RunStatus.SUCCEEDED, (run.error, worker.log()[-3000:])
    assert run.triggered_by.username == "sales"

    # The warehouse got the mail, through the SMTP server, and it is recorded.
    [message] = worker.wait_until(
        lambda: [m for m in inbox.messages if m["to"] == [WAREHOUSE_EMAIL]],
        what="the mail to the warehouse",
    )
    subject = f"Ship sales order {order.no} on {SHIPMENT_DATE}"
    assert message["message"]["Subject"] == subject
    body = message["message"].get_body(("html", "plain")).get_content()
    assert f"(customer {order.customer.no})" in body
    assert f"Shipment date: {SHIPMENT_DATE}" in body
    for line in order.lines.select_related("item"):
        assert f"<td>{line.item.no}</td>" in body
    sent = SentEmail.objects.get(run=run)
    assert (sent.to, sent.subject) == ([WAREHOUSE_EMAIL], subject)

    # 5. My flows shows the flow as Run-only user; its designer is not for sales.
    sales_page.goto(reverse("automate:flow-list"))
    row = sales_page.locator(f"tr#flow-{flow.pk}")
    expect(row).to_contain_text("Notify warehouse")
    expect(row.locator("td.flow-role")).to_have_text("Run-only user")
    expect(row.get_by_role("link", name="Edit")).to_have_count(0)
    response = sales_page.goto(reverse("automate:flow-edit", args=[flow.pk]))
    assert response.status == 403
    expect(sales_page.get_by_role("alert")).to_contain_text(
        "Notify warehouse is shared with you to run only. Its owner Annie Admin can make you "
        "a co-owner to edit it or see its history."
    )

    # 6. admin finds both switches for sales in the Audit Log, by admin, newest first.
    switches = list(
        AuditEntry.objects.filter(company=demo, area="Power Automate setup").order_by("at", "pk")
    )
    assert [(e.action, e.actor.username, e.object_repr) for e in switches] == [
        ("denied", "admin", "sales"),
        ("allowed", "admin", "sales"),
    ]
    page.goto("/")
    page.get_by_role("navigation", name="Navigation").get_by_role("link", name="Audit Log").click()
    expect(page).to_have_url(re.compile(r"/settings/audit-log/$"))
    page.get_by_label("Area").select_option("Power Automate setup")
    page.get_by_role("button", name="Filter").click()
    expect(page).to_have_url(re.compile(r"area=Power\+Automate\+setup"))
    log = page.get_by_role("table", name="Audit log")
    expect(log.locator(":scope > tbody > tr")).to_have_count(2)
    denied, allowed = switches
    for entry, action, before, after in (
        (allowed, "Allowed", "No", "Yes"),
        (denied, "Denied", "Yes", "No"),
    ):
        cells = log.locator(f"tr#audit-{entry.pk} > td")
        expect(cells.nth(1)).to_have_text("admin")
        expect(cells.nth(2)).to_have_text("Power Automate setup")
        expect(cells.nth(3)).to_have_text(action)
        expect(cells.nth(4)).to_contain_text("sales")
        expect(cells.nth(6)).to_contain_text(re.compile(rf"Allowed\s*{before}\s*→\s*{after}"))
    expect(log.locator(":scope > tbody > tr").first).to_have_id(f"audit-{allowed.pk}")

    # ... and the mail of sales's run on Sent Emails (the flow is admin's).
    page.get_by_role("navigation", name="Navigation").get_by_role(
        "link", name="Sent Emails"
    ).click()
    mail_row = page.locator("main table tbody tr").filter(has_text=subject)
    expect(mail_row).to_have_count(1)
    expect(mail_row).to_contain_text(WAREHOUSE_EMAIL)
    expect(mail_row).to_contain_text(f"Notify warehouse (run {run.pk})")
