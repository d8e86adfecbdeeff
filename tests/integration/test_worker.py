from decimal import Decimal

import pytest
from django.db import transaction

from records import services
from records.models import CustomerLedgerEntry, PostedSalesInvoice, SalesOrder
from records.tasks import sales_order_post_task
from tests.factories import CustomerFactory, ItemFactory

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def make_order(company, user, *, quantity="3"):
    customer = CustomerFactory(company=company, name="Adatum Corporation")
    item = ItemFactory(company=company, description="ATHENS Desk", unit_price=Decimal("649"))
    order = services.sales_order_create(company=company, user=user, customer=customer)
    services.sales_order_line_add(order=order, user=user, item=item, quantity=Decimal(quantity))
    return order


def test_the_worker_posts_an_order_queued_on_commit(celery_worker_process, company, sales):
    queued = []
    with transaction.atomic():
        order = make_order(company, sales)
        transaction.on_commit(
            lambda: queued.append(sales_order_post_task.delay(order.pk, sales.pk).id)
        )
        # Nothing leaves for the worker before the order is committed.
        assert queued == []
    assert len(queued) == 1

    invoice = celery_worker_process.wait_until(
        lambda: PostedSalesInvoice.objects.filter(company=company, order_no=order.no).first(),
        what=f"the invoice for {order.no}",
    )

    assert invoice.posted_by == sales
    assert invoice.amount == Decimal("1947.00")
    assert invoice.amount_including_vat == Decimal("2433.75")
    assert [line.quantity for line in invoice.lines.all()] == [Decimal("3")]
    assert not SalesOrder.objects.filter(pk=order.pk).exists()
    assert CustomerLedgerEntry.objects.filter(document_no=invoice.no).count() == 1
    outcome = celery_worker_process.wait_for_task(queued[0])
    assert "succeeded" in outcome and f": {invoice.pk}" in outcome


def test_posting_twice_makes_exactly_one_invoice(celery_worker_process, company, sales):
    order = make_order(company, sales)
    queued = []
    with transaction.atomic():
        for _ in range(2):
            transaction.on_commit(
                lambda: queued.append(sales_order_post_task.delay(order.pk, sales.pk).id)
            )

    outcomes = [celery_worker_process.wait_for_task(task_id) for task_id in queued]

    invoices = PostedSalesInvoice.objects.filter(company=company, order_no=order.no)
    assert invoices.count() == 1
    assert CustomerLedgerEntry.objects.filter(document_no=invoices.get().no).count() == 1
    # Both deliveries end well: one posted, the other found the order gone.
    assert all("succeeded" in outcome for outcome in outcomes), outcomes
    assert sorted(outcome.rsplit(": ", 1)[1] for outcome in outcomes) == sorted(
        [str(invoices.get().pk), "None"]
    )
    assert not SalesOrder.objects.filter(pk=order.pk).exists()
