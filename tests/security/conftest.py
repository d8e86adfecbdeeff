"""The world the security sweeps run against.

Two companies: A (``admin_a``, a company administrator and superuser; ``sales_a``, a sales
user; ``colleague_a``, with whom a flow is shared) and B (``outsider_b``). A holds one of
each object a URL takes the id of; every name in A carries ``SECRET``, which must never
show up in what anyone outside A is shown.
"""

from __future__ import annotations

import datetime
import uuid
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import pytest
from django.core.files.base import ContentFile
from django.test import Client
from django.utils import timezone

from approvals.models import ApprovalUserSetup, Workflow, WorkflowUserGroup
from approvals.services import approval_request_send, workflow_set_enabled, workflows_install
from approvals.services.setup import workflow_user_group_save
from automate.models import (
    Document,
    Flow,
    FlowRun,
    FlowShare,
    PinnedFlowAction,
    RunStatus,
    SentEmail,
    StepRun,
    StepStatus,
)
from automate.services import flow_create
from bcsite.api import credentials
from bcsite.audit import audit_record
from bcsite.celery import app
from bcsite.models import ApiSubscription
from records import services
from records.models import (
    CustomerLedgerEntry,
    ItemLedgerEntry,
    Membership,
    PostedSalesInvoiceLine,
)
from tests.factories import CompanyFactory, CustomerFactory, ItemFactory, UserFactory

SECRET = "Quokka"
CUSTOMER_TABLE = 18


def flow_definition(table: int = CUSTOMER_TABLE) -> dict:
    return {
        "schemaVersion": 1,
        "trigger": {"type": "selected_record", "table": table, "inputs": []},
        "steps": [{"name": "Compose", "type": "data.compose", "inputs": {"value": "x"}}],
    }


def finished_run(flow: Flow, user) -> FlowRun:
    """A run of ``flow`` started by ``user`` that succeeded, with its one step."""
    now = timezone.now()
    run = FlowRun.objects.create(
        flow=flow,
        version=flow.current_version,
        company=flow.company,
        idempotency_key=f"test:{uuid.uuid4()}",
        status=RunStatus.SUCCEEDED,
        triggered_by=user,
        trigger_data={"body": {"number": "C10000", "displayName": f"{SECRET} Ltd."}, "headers": {}},
        record_number="C10000",
        record_name=f"{SECRET} Ltd.",
        deadline=now + datetime.timedelta(days=1),
        started_at=now,
        finished_at=now,
        steps_total=1,
    )
    StepRun.objects.create(
        run=run,
        path="Compose",
        name="Compose",
        action="data.compose",
        status=StepStatus.SUCCEEDED,
        inputs={"value": "x"},
        outputs={"value": "x"},
        attempts=1,
        started_at=now,
        finished_at=now,
    )
    return run


@dataclass
class World:
    company_a: Any
    company_b: Any
    admin_a: Any
    sales_a: Any
    colleague_a: Any
    outsider_b: Any
    customer: Any
    item: Any
    order: Any  # open, with a line
    line: Any
    pending_order: Any  # sent for approval
    invoice: Any
    invoice_line: Any
    customer_entry: Any
    item_entry: Any
    flow: Any  # admin_a's instant flow on customers
    run: Any
    share: Any
    pin: Any
    document: Any
    sent_email: Any
    approval_request: Any
    approval_entry: Any
    user_setup: Any
    workflow: Any
    user_group: Any
    token: Any
    service_client: Any
    subscription: Any
    event_subscription: Any
    audit_entry: Any
    # Rows by model, for the pages and the admin: the one of company A a URL shows.
    by_model: dict = field(default_factory=dict)


def browser(user=None, **options) -> Client:
    """A browser (signed in as ``user``) that answers a crash with a 500 page, as production
    does, so a sweep reports every crash rather than stopping at the first."""
    client = Client(raise_request_exception=False, **options)
    if user is not None:
        client.force_login(user)
    return client


def member(company, username: str, role=Membership.Role.USER, **extra):
    user = UserFactory(username=username, email=f"{username}@example.com", **extra)
    Membership.objects.create(user=user, company=company, role=role)
    return user


@pytest.fixture(autouse=True)
def _in_process(settings, tmp_path):
    """Tasks run in this process, mail stays in memory, files go to a temporary folder, and
    API rate limits count under a key prefix of this test's own."""
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.MEDIA_ROOT = tmp_path
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path)},
        },
    }
    settings.CACHES = {
        **settings.CACHES,
        "api": {**settings.CACHES["api"], "KEY_PREFIX": f"bcsite-api-test-{uuid.uuid4().hex}"},
    }
    previous = (app.conf.task_always_eager, app.conf.task_eager_propagates)
    app.conf.task_always_eager = app.conf.task_eager_propagates = True
    yield
    app.conf.task_always_eager, app.conf.task_eager_propagates = previous


def _sales(company, user, customer, item, quantity="1"):
    order = services.sales_order_create(company=company, user=user, customer=customer)
    services.sales_order_line_add(order=order, user=user, item=item, quantity=Decimal(quantity))
    order.refresh_from_db()
    return order


@pytest.fixture
def world(db) -> World:
    company_a = CompanyFactory(name="ALPHA", display_name=f"Alpha {SECRET} Inc.")
    company_b = CompanyFactory(name="BETA", display_name="Beta Ltd.")
    admin_a = member(company_a, "admin_a", Membership.Role.ADMIN, is_staff=True, is_superuser=True)
    sales_a = member(company_a, "sales_a")
    colleague_a = member(company_a, "colleague_a")
    outsider_b = member(company_b, "outsider_b")

    customer = CustomerFactory(company=company_a, no="C10000", name=f"{SECRET} Ltd.")
    item = ItemFactory(company=company_a, no="1000", description=f"{SECRET} bicycle")
    order = _sales(company_a, sales_a, customer, item)
    line = order.lines.get()
    invoice = services.sales_order_post(
        order=_sales(company_a, sales_a, customer, item), user=sales_a
    )

    flow = flow_create(
        company=company_a,
        owner=admin_a,
        name=f"{SECRET} credit check",
        definition=flow_definition(),
    )
    Flow.objects.filter(pk=flow.pk).update(key="credit-check")
    flow.refresh_from_db()
    run = finished_run(flow, admin_a)
    share = FlowShare.objects.create(
        flow=flow, user=colleague_a, role=FlowShare.Role.CO_OWNER, added_by=admin_a
    )
    pin = PinnedFlowAction.objects.create(
        company=company_a,
        flow=flow,
        page_key="customer_card",
        label=f"{SECRET} check",
        pinned_by=admin_a,
    )
    content = b"payroll"
    document = Document.objects.create(
        company=company_a,
        name=f"{SECRET} report.txt",
        file=ContentFile(content, name="report.txt"),
        size=len(content),
        content_type="text/plain",
        created_by=admin_a,
        flow=flow,
        run=run,
    )
    sent_email = SentEmail.objects.create(
        company=company_a,
        run=run,
        flow=flow,
        step_key=f"{run.system_id}:Send",
        sender="flows@example.com",
        to=["someone@example.com"],
        subject=f"{SECRET} statement",
        body="Hello",
    )

    workflows_install(company=company_a)
    ApprovalUserSetup.objects.create(
        company=company_a, user=sales_a, approver=admin_a, sales_amount_approval_limit=0
    )
    user_setup = ApprovalUserSetup.objects.create(
        company=company_a,
        user=admin_a,
        unlimited_sales_approval=True,
        approval_administrator=True,
    )
    workflow = workflow_set_enabled(
        workflow=Workflow.objects.get(company=company_a, code="MS-SOAPW"), by=None, enabled=True
    )
    user_group = workflow_user_group_save(
        company=company_a, by=admin_a, code="SALES", members=[(admin_a, 1)]
    )
    pending_order = _sales(company_a, sales_a, customer, item, quantity="2")
    approval_request = approval_request_send(record=pending_order, user=sales_a)
    approval_entry = approval_request.entries.get(approver=admin_a)
    pending_order.refresh_from_db()

    token, _ = credentials.api_token_create(user=admin_a, company=company_a, name="Sync")
    service_client, _, _ = credentials.service_client_create(
        company=company_a, name=f"{SECRET} warehouse", role=Membership.Role.USER, by=admin_a
    )
    subscription = ApiSubscription.objects.create(
        kind=ApiSubscription.Kind.WEBHOOK,
        company=company_a,
        owner=admin_a,
        notification_url="https://hooks.example.com/bc",
        client_state=SECRET,
        resource=f"/api/v2.0/companies({company_a.system_id})/customers",
        table_id=CUSTOMER_TABLE,
        signing_secret="s" * 32,
        expires_at=timezone.now() + datetime.timedelta(days=3),
    )
    event_subscription = ApiSubscription.objects.create(
        kind=ApiSubscription.Kind.BUSINESS_EVENT,
        company=company_a,
        owner=admin_a,
        notification_url="https://hooks.example.com/events",
        client_state=SECRET,
        event_name="salesorderreleased",
        app_id="bcsite",
        signing_secret="t" * 32,
    )
    audit_entry = audit_record(
        company=company_a,
        actor=admin_a,
        area="Flow",
        action="created",
        target=flow,
        after={"name": flow.name},
    )

    # Company B has rows of its own, so "not found" is not merely an empty database.
    b_customer = CustomerFactory(company=company_b, no="C10000", name="Beta customer")
    b_item = ItemFactory(company=company_b, no="1000", description="Beta bicycle")
    _sales(company_b, outsider_b, b_customer, b_item)
    flow_create(company=company_b, owner=outsider_b, name="Beta flow", definition=flow_definition())

    world = World(
        company_a=company_a,
        company_b=company_b,
        admin_a=admin_a,
        sales_a=sales_a,
        colleague_a=colleague_a,
        outsider_b=outsider_b,
        customer=customer,
        item=item,
        order=order,
        line=line,
        pending_order=pending_order,
        invoice=invoice,
        invoice_line=PostedSalesInvoiceLine.objects.filter(invoice=invoice).first(),
        customer_entry=CustomerLedgerEntry.objects.filter(company=company_a).first(),
        item_entry=ItemLedgerEntry.objects.filter(company=company_a).first(),
        flow=flow,
        run=run,
        share=share,
        pin=pin,
        document=document,
        sent_email=sent_email,
        approval_request=approval_request,
        approval_entry=approval_entry,
        user_setup=user_setup,
        workflow=workflow,
        user_group=WorkflowUserGroup.objects.get(pk=user_group.pk),
        token=token,
        service_client=service_client,
        subscription=subscription,
        event_subscription=event_subscription,
        audit_entry=audit_entry,
    )
    world.by_model = _by_model(world)
    return world


def _by_model(world: World) -> dict:
    rows = {}
    for name in (
        "company_a",
        "customer",
        "item",
        "order",
        "line",
        "invoice",
        "invoice_line",
        "customer_entry",
        "item_entry",
        "flow",
        "run",
        "share",
        "pin",
        "document",
        "sent_email",
        "approval_request",
        "approval_entry",
        "user_setup",
        "workflow",
        "user_group",
        "token",
        "service_client",
        "subscription",
        "audit_entry",
    ):
        obj = getattr(world, name)
        if obj is not None:
            rows.setdefault(type(obj), obj)
    rows.setdefault(type(world.sales_a), world.sales_a)
    rows[Membership] = Membership.objects.get(user=world.sales_a)
    return rows
