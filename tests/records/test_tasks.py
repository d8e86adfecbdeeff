from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from bcsite.celery import app
from records import tasks
from records.models import Customer, PostedSalesInvoice, SalesOrder
from records.services import sales_order_create, sales_order_line_add, sales_order_post
from records.tasks import sales_order_post_task
from tests.factories import CustomerFactory, ItemFactory
from tests.records.snapshots import db_snapshot


@pytest.fixture
def eager_celery():
    """Run tasks in-process through Celery's own machinery (``delay`` included)."""
    previous = (app.conf.task_always_eager, app.conf.task_eager_propagates)
    app.conf.task_always_eager = True
    app.conf.task_eager_propagates = True
    yield
    app.conf.task_always_eager, app.conf.task_eager_propagates = previous


@pytest.fixture
def order(company, sales):
    customer = CustomerFactory(company=company, no="C10000")
    order = sales_order_create(company=company, user=sales, customer=customer)
    item = ItemFactory(company=company, unit_price=Decimal("10.00"), inventory=Decimal("5"))
    sales_order_line_add(order=order, user=sales, item=item, quantity=2)
    return order


def test_the_task_posts_the_order(eager_celery, order, sales):
    result = sales_order_post_task.delay(order.pk, sales.pk)
    invoice = PostedSalesInvoice.objects.get()
    assert result.get() == invoice.pk
    assert (invoice.order_no, invoice.posted_by, invoice.amount_including_vat) == (
        order.no,
        sales,
        Decimal("25.00"),
    )
    assert not SalesOrder.objects.exists()


def test_running_the_task_twice_posts_once(eager_celery, order, sales):
    first = sales_order_post_task.delay(order.pk, sales.pk).get()
    after_first = db_snapshot()
    second = sales_order_post_task.delay(order.pk, sales.pk).get()
    assert first is not None
    assert second is None
    assert db_snapshot() == after_first
    assert PostedSalesInvoice.objects.count() == 1
    assert Customer.objects.get().balance == Decimal("25.00")


def test_a_task_that_loses_the_race_does_nothing(monkeypatch, order, sales):
    """The order is there when the task loads it, but another task posts it first."""

    def posted_by_someone_else_first(*, order, user):
        sales_order_post(order=SalesOrder.objects.get(pk=order.pk), user=user)
        return sales_order_post(order=order, user=user)

    monkeypatch.setattr(tasks, "sales_order_post", posted_by_someone_else_first)
    assert sales_order_post_task(order.pk, sales.pk) is None
    assert PostedSalesInvoice.objects.count() == 1


def test_a_refused_post_raises_and_writes_nothing(eager_celery, order, sales):
    Customer.objects.update(blocked=Customer.Blocked.ALL)
    before = db_snapshot()
    with pytest.raises(ValidationError, match="blocked for all transactions"):
        sales_order_post_task.delay(order.pk, sales.pk)
    assert db_snapshot() == before


def test_a_deleted_user_leaves_posted_by_empty(order):
    invoice_pk = sales_order_post_task(order.pk, 999999)
    assert PostedSalesInvoice.objects.get(pk=invoice_pk).posted_by is None
