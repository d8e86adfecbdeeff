"""Each gallery template, created as a user would and run on a record."""

import copy
import io
from decimal import Decimal

import openpyxl
import pytest
from django.core import mail
from django.urls import reverse

from automate.engine.runner import automate_tick, flow_run_execute
from automate.gallery import GALLERY, TEAMS_WEBHOOK_PLACEHOLDER
from automate.models import Document, RunStatus, TriggerEvent
from automate.services import flow_create, instant_flow_run
from bcsite.events import events
from records import services as records
from records.models import Customer, PostedSalesInvoice
from tests.factories import CustomerFactory, ItemFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def create_from(key, company, owner, **changes):
    template = GALLERY[key]
    definition = copy.deepcopy(template.definition)
    for step_path, inputs in changes.items():
        find(definition["steps"], step_path)["inputs"].update(inputs)
    return flow_create(
        company=company,
        owner=owner,
        name=template.title,
        definition=definition,
        template_key=key,
        concurrency_limit=template.concurrency_limit,
    )


def find(steps, name):
    for step in steps:
        if step["name"] == name:
            return step
        for key in ("actions", "else", "default"):
            found = find(step.get(key) or [], name)
            if found:
                return found
    return None


def run_on(flow, record, user):
    run = instant_flow_run(flow=flow, record=record, user=user)
    flow_run_execute(run_id=run.pk)
    run.refresh_from_db()
    return run


def make_order(company, user, customer):
    order = records.sales_order_create(company=company, user=user, customer=customer)
    for no, price, quantity in (("1896-S", "649.00", "2"), ("1900-S", "125.50", "4")):
        item = ItemFactory(company=company, no=no, unit_price=Decimal(price))
        records.sales_order_line_add(order=order, user=user, item=item, quantity=Decimal(quantity))
    return order


def test_block_the_selected_customer(company, sales):
    customer = CustomerFactory(company=company, blocked=Customer.Blocked.NONE)
    flow = create_from("block-selected-customer", company, sales)
    run = run_on(flow, customer, sales)
    assert run.status == RunStatus.SUCCEEDED, run.error
    customer.refresh_from_db()
    assert customer.blocked == Customer.Blocked.ALL


def test_email_the_selected_order_with_its_lines_in_excel(company, sales, sales_client):
    customer = CustomerFactory(company=company, email="buyer@adatum.example")
    order = make_order(company, sales, customer)
    flow = create_from("email-sales-order-with-lines", company, sales)
    run = run_on(flow, order, sales)
    assert run.status == RunStatus.SUCCEEDED, run.error
    [message] = mail.outbox
    assert message.to == ["buyer@adatum.example"]
    assert message.subject == f"Sales Order {order.no}"
    [(name, content, _type)] = message.attachments
    assert name == f"Sales Order {order.no}.xlsx"
    sheet = openpyxl.load_workbook(io.BytesIO(content)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0] == (
        "Line No.",
        "Item No.",
        "Description",
        "Quantity",
        "Unit Price",
        "Line Amount",
    )
    assert [(r[1], r[3], r[5]) for r in rows[1:]] == [("1896-S", 2, 1298), ("1900-S", 4, 502)]
    # The run page shows what every step got and gave, loop iterations included.
    html = sales_client.get(reverse("automate:run-detail", args=[run.pk])).content.decode()
    for shown in ("Has email", "Each_line[1]/Add_row", "Create workbook", "buyer@adatum.example"):
        assert shown in html
    assert "Sales Order " + order.no + ".xlsx" in html


def test_emailing_an_order_whose_customer_has_no_email_fails_clearly(company, sales):
    order = make_order(company, sales, CustomerFactory(company=company, email=""))
    run = run_on(create_from("email-sales-order-with-lines", company, sales), order, sales)
    assert run.status == RunStatus.FAILED
    assert "has no email address" in run.error
    assert mail.outbox == []


@pytest.mark.slow
def test_post_the_selected_order_and_notify_teams(company, sales, httpserver, settings):
    settings.AUTOMATE_HTTP_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    httpserver.expect_request("/hook", method="POST").respond_with_data("1")
    url = httpserver.url_for("/hook")
    order = make_order(company, sales, CustomerFactory(company=company))
    flow = create_from(
        "post-sales-order-notify-teams",
        company,
        sales,
        Notify_channel={"webhook_url": url},
        Notify_failure={"webhook_url": url},
    )
    run = run_on(flow, order, sales)
    assert run.status == RunStatus.SUCCEEDED, run.error
    invoice = PostedSalesInvoice.objects.get(order_no=order.no)
    [(request, _response)] = httpserver.log
    assert f"was posted as invoice {invoice.no}" in request.get_json()["text"]


@pytest.mark.slow
def test_a_failed_posting_is_told_to_the_channel(company, sales, httpserver, settings):
    settings.AUTOMATE_HTTP_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    httpserver.expect_request("/hook", method="POST").respond_with_data("1")
    url = httpserver.url_for("/hook")
    customer = CustomerFactory(company=company)
    order = make_order(company, sales, customer)
    Customer.objects.filter(pk=customer.pk).update(blocked=Customer.Blocked.ALL)
    flow = create_from(
        "post-sales-order-notify-teams",
        company,
        sales,
        Notify_channel={"webhook_url": url},
        Notify_failure={"webhook_url": url},
    )
    run = run_on(flow, order, sales)
    assert run.status == RunStatus.FAILED
    [(request, _response)] = httpserver.log
    assert f"Posting sales order {order.no} failed" in request.get_json()["text"]
    assert not PostedSalesInvoice.objects.exists()


def test_the_teams_template_asks_for_a_webhook_before_it_works(company, sales):
    order = make_order(company, sales, CustomerFactory(company=company))
    run = run_on(create_from("post-sales-order-notify-teams", company, sales), order, sales)
    # The placeholder is no channel (and no network here): the notification does not get
    # through, the order is posted all the same.
    assert (
        find(GALLERY[run.flow.template_key].definition["steps"], "Notify_channel")["inputs"][
            "webhook_url"
        ]
        == TEAMS_WEBHOOK_PLACEHOLDER
    )
    notify = run.steps.get(path="Notify_channel")
    assert notify.status != "Succeeded" and notify.error["message"]
    assert run.steps.get(path="Post_order").status == "Succeeded"


def test_export_the_selected_items_to_one_workbook(company, sales):
    flow = create_from("export-items-to-excel", company, sales)
    assert flow.concurrency_limit == 1
    first = ItemFactory(company=company, no="1000", description="Bicycle")
    second = ItemFactory(company=company, no="1001", description="Touring Bicycle")
    assert run_on(flow, first, sales).status == RunStatus.SUCCEEDED
    run = run_on(flow, second, sales)
    assert run.status == RunStatus.SUCCEEDED, run.error
    [document] = Document.objects.filter(company=company)
    assert document.path == "/Documents/Items export.xlsx"
    sheet = openpyxl.load_workbook(io.BytesIO(document.file.read())).active
    rows = list(sheet.iter_rows(values_only=True))
    assert [r[:2] for r in rows] == [
        ("No.", "Description"),
        ("1000", "Bicycle"),
        ("1001", "Touring Bicycle"),
    ]


def test_every_template_validates_and_names_its_tables():
    from automate.definition import definition_errors

    for template in GALLERY.values():
        assert definition_errors(template.definition) == [], template.key
        trigger = template.definition["trigger"]
        if "table" in trigger:
            assert trigger["table"] in template.table_ids
        if trigger["type"] == "business_event":
            assert events.business_events[trigger["event"]].table_id in template.table_ids


def test_releasing_an_order_emails_its_customer(company, sales, django_capture_on_commit_callbacks):
    create_from("email-customer-when-sales-order-released", company, sales)
    customer = CustomerFactory(company=company, name="Fabrikam", email="buyer@fabrikam.example")
    order = records.sales_order_create(company=company, user=sales, customer=customer)
    records.sales_order_line_add(
        order=order, user=sales, item=ItemFactory(company=company), quantity=2, unit_price=50
    )
    with django_capture_on_commit_callbacks(execute=True):
        records.sales_order_release(order=order, user=sales)
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["buyer@fabrikam.example"]
    assert message.subject == f"Your order {order.no} has been released"
    assert "Dear Fabrikam" in message.alternatives[0][0]


def test_releasing_an_order_of_a_customer_without_email_is_skipped(
    company, sales, django_capture_on_commit_callbacks
):
    flow = create_from("email-customer-when-sales-order-released", company, sales)
    customer = CustomerFactory(company=company, email="")
    order = records.sales_order_create(company=company, user=sales, customer=customer)
    records.sales_order_line_add(
        order=order, user=sales, item=ItemFactory(company=company), quantity=1, unit_price=5
    )
    with django_capture_on_commit_callbacks(execute=True):
        records.sales_order_release(order=order, user=sales)
    assert mail.outbox == []
    event = TriggerEvent.objects.get(flow=flow)
    assert event.status == TriggerEvent.Status.SKIPPED
    assert "Trigger condition 1 was not met" in event.reason


def test_the_morning_workbook_of_blocked_customers(
    company, sales, django_capture_on_commit_callbacks
):
    flow = create_from("daily-blocked-customers-workbook", company, sales)
    assert (flow.next_run_at.hour, flow.next_run_at.minute) == (8, 0)
    CustomerFactory(company=company, no="C9001", name="Blocked One", blocked="all")
    CustomerFactory(company=company, no="C9002", name="Open One", blocked="")
    with django_capture_on_commit_callbacks(execute=True):
        automate_tick(now=flow.next_run_at)
    document = Document.objects.get()
    assert document.name == f"Blocked customers {flow.next_run_at:%Y-%m-%d}.xlsx"
    sheet = openpyxl.load_workbook(document.file.open("rb")).active
    numbers = [row[1] for row in sheet.iter_rows(min_row=2, values_only=True)]
    assert numbers == ["C9001"]
