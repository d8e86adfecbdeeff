"""Approval users, workflows and documents to send for approval.

The chain: ``sales`` (limit 1,000) -> ``approver`` (limit 10,000) -> ``boss`` (unlimited).
``admin_user`` is the approval administrator. Celery runs eagerly, mail goes to locmem.
"""

from decimal import Decimal

import pytest

from approvals.models import ApprovalUserSetup, Workflow
from approvals.services import workflow_set_enabled, workflow_update, workflows_install
from bcsite.celery import app
from records import services
from records.models import Membership
from tests.factories import CustomerFactory, ItemFactory, MembershipFactory, UserFactory


@pytest.fixture(autouse=True)
def _celery_eager(settings):
    """Notifications queued here run in this process; mail goes to ``mail.outbox``."""
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    previous = (app.conf.task_always_eager, app.conf.task_eager_propagates)
    app.conf.task_always_eager = app.conf.task_eager_propagates = True
    yield
    app.conf.task_always_eager, app.conf.task_eager_propagates = previous


def member(company, username, role=Membership.Role.USER):
    user = UserFactory(username=username, email=f"{username}@cronus.example.com")
    MembershipFactory(user=user, company=company, role=role)
    return user


@pytest.fixture
def approver(company):
    return member(company, "approver")


@pytest.fixture
def boss(company):
    return member(company, "boss")


@pytest.fixture
def chain(company, sales, approver, boss, admin_user):
    """Approval User Setup for the chain sales -> approver -> boss."""
    setups = {
        "sales": ApprovalUserSetup.objects.create(
            company=company, user=sales, approver=approver, sales_amount_approval_limit=1000
        ),
        "approver": ApprovalUserSetup.objects.create(
            company=company, user=approver, approver=boss, sales_amount_approval_limit=10000
        ),
        "boss": ApprovalUserSetup.objects.create(
            company=company, user=boss, unlimited_sales_approval=True, substitute=approver
        ),
        "admin": ApprovalUserSetup.objects.create(
            company=company,
            user=admin_user,
            unlimited_sales_approval=True,
            approval_administrator=True,
        ),
    }
    return setups


@pytest.fixture
def workflows(company):
    workflows_install(company=company)
    return {w.code: w for w in Workflow.objects.filter(company=company)}


def enable(workflow, **fields):
    if fields:
        workflow_update(workflow=workflow, by=None, **fields)
    return workflow_set_enabled(workflow=workflow, by=None, enabled=True)


@pytest.fixture
def order_workflow(workflows, chain):
    return enable(workflows["MS-SOAPW"])


def make_order(company, user, amount) -> object:
    """An open order of one line worth ``amount`` (excl. VAT)."""
    customer = CustomerFactory(company=company)
    item = ItemFactory(company=company, unit_price=Decimal(amount))
    order = services.sales_order_create(company=company, user=user, customer=customer)
    services.sales_order_line_add(order=order, user=user, item=item, quantity=Decimal(1))
    order.refresh_from_db()
    return order


@pytest.fixture
def order_of(company, sales):
    return lambda amount, user=None: make_order(company, user or sales, amount)
