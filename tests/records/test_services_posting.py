import datetime
import threading
import time
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import connection, transaction

from records.models import (
    Customer,
    CustomerLedgerEntry,
    Item,
    ItemLedgerEntry,
    PostedSalesInvoice,
    SalesOrder,
    SalesOrderLine,
)
from records.services import (
    no_series_next,
    sales_order_create,
    sales_order_line_add,
    sales_order_post,
    sales_order_release,
)
from records.services import posting as posting_module
from tests.factories import (
    CompanyFactory,
    CustomerFactory,
    ItemFactory,
    SalesOrderLineFactory,
    UserFactory,
)
from tests.records.concurrency import run_at_once
from tests.records.snapshots import db_snapshot

Status = SalesOrder.Status


@pytest.fixture
def bicycle(company):
    return ItemFactory(
        company=company,
        no="1000",
        description="Bicycle",
        unit_price=Decimal("4000.00"),
        unit_cost=Decimal("2500.00"),
        inventory=Decimal("10"),
    )


@pytest.fixture
def tyre(company):
    return ItemFactory(
        company=company,
        no="1100",
        description="Front Wheel",
        unit_price=Decimal("33.33"),
        unit_cost=Decimal("12.10"),
        inventory=Decimal("50"),
    )


@pytest.fixture
def order(company, sales, customer, bicycle, tyre):
    """Two lines, one discounted: 8000.00 + 99.99 - 10.00 = 8089.99; VAT 25% -> 10112.49."""
    order = sales_order_create(
        company=company,
        user=sales,
        customer=customer,
        order_date=datetime.date(2025, 3, 10),
        posting_date=datetime.date(2025, 3, 12),
        external_document_no="PO-4711",
    )
    sales_order_line_add(order=order, user=sales, item=bicycle, quantity=2)
    sales_order_line_add(
        order=order, user=sales, item=tyre, quantity=3, line_discount_percent=Decimal("10")
    )
    order.refresh_from_db()
    return order


def test_posting_creates_the_invoice_with_the_orders_totals(sales, order, customer):
    order_no, amount, amount_incl = order.no, order.amount, order.amount_including_vat
    assert (amount, amount_incl) == (Decimal("8089.99"), Decimal("10112.49"))

    invoice = sales_order_post(order=order, user=sales)

    invoice.refresh_from_db()
    assert invoice.no == "PS-INV103001"
    assert (invoice.order_no, invoice.customer, invoice.sell_to_customer_name) == (
        order_no,
        customer,
        "Adatum Corporation",
    )
    assert (invoice.order_date, invoice.posting_date, invoice.due_date) == (
        datetime.date(2025, 3, 10),
        datetime.date(2025, 3, 12),
        datetime.date(2025, 4, 9),
    )
    assert (invoice.external_document_no, invoice.vat_percent, invoice.posted_by) == (
        "PO-4711",
        Decimal("25"),
        sales,
    )
    assert (invoice.amount, invoice.amount_including_vat) == (amount, amount_incl)
    assert invoice.vat_amount == Decimal("2022.50")


def test_posting_copies_the_lines(sales, order, bicycle, tyre):
    invoice = sales_order_post(order=order, user=sales)
    lines = list(
        invoice.lines.values_list(
            "line_no", "item", "description", "quantity", "unit_price", "line_discount_percent"
        )
    )
    assert lines == [
        (10000, bicycle.pk, "Bicycle", Decimal("2"), Decimal("4000.00"), Decimal("0")),
        (20000, tyre.pk, "Front Wheel", Decimal("3"), Decimal("33.33"), Decimal("10")),
    ]
    amounts = [line.line_amount for line in invoice.lines.all()]
    assert amounts == [Decimal("8000.00"), Decimal("89.99")]
    assert sum(amounts) == invoice.amount


def test_posting_writes_the_customer_ledger_entry_and_raises_the_balance(sales, order, customer):
    Customer.objects.filter(pk=customer.pk).update(balance=Decimal("100.00"))
    invoice = sales_order_post(order=order, user=sales)
    entry = CustomerLedgerEntry.objects.get()
    assert (entry.company_id, entry.customer, entry.document_type, entry.document_no) == (
        invoice.company_id,
        customer,
        CustomerLedgerEntry.DocumentType.INVOICE,
        "PS-INV103001",
    )
    assert (entry.amount, entry.remaining_amount, entry.open) == (
        Decimal("10112.49"),
        Decimal("10112.49"),
        True,
    )
    assert (entry.posting_date, entry.due_date) == (invoice.posting_date, invoice.due_date)
    assert entry.description == f"Order {invoice.order_no}"
    customer.refresh_from_db()
    assert customer.balance == Decimal("10212.49")


def test_posting_writes_item_ledger_entries_and_lowers_inventory(sales, order, bicycle, tyre):
    sales_order_post(order=order, user=sales)
    entries = {
        e.item_id: e for e in ItemLedgerEntry.objects.filter(entry_type="sale").order_by("pk")
    }
    assert set(entries) == {bicycle.pk, tyre.pk}
    bike = entries[bicycle.pk]
    assert (bike.quantity, bike.sales_amount, bike.cost_amount, bike.document_no) == (
        Decimal("-2"),
        Decimal("8000.00"),
        Decimal("-5000.00"),
        "PS-INV103001",
    )
    wheel = entries[tyre.pk]
    assert (wheel.quantity, wheel.sales_amount, wheel.cost_amount) == (
        Decimal("-3"),
        Decimal("89.99"),
        Decimal("-36.30"),
    )
    bicycle.refresh_from_db()
    tyre.refresh_from_db()
    assert (bicycle.inventory, tyre.inventory) == (Decimal("8"), Decimal("47"))


def test_posting_deletes_the_order_and_its_lines(sales, order):
    pk = order.pk
    sales_order_post(order=order, user=sales)
    assert not SalesOrder.objects.filter(pk=pk).exists()
    assert not SalesOrderLine.objects.exists()


def test_posting_a_released_order(sales, order):
    sales_order_release(order=order, user=sales)
    assert sales_order_post(order=order, user=sales).amount == Decimal("8089.99")


def test_the_same_item_on_two_lines_lowers_inventory_by_both(sales, order, bicycle):
    sales_order_line_add(order=order, user=sales, item=bicycle, quantity=Decimal("0.5"))
    sales_order_post(order=order, user=sales)
    bicycle.refresh_from_db()
    assert bicycle.inventory == Decimal("7.5")
    assert ItemLedgerEntry.objects.filter(item=bicycle).count() == 2


def test_inventory_may_go_negative_as_bc_allows_by_default(sales, order, bicycle):
    Item.objects.filter(pk=bicycle.pk).update(inventory=Decimal("1"))
    sales_order_post(order=order, user=sales)
    bicycle.refresh_from_db()
    assert bicycle.inventory == Decimal("-1")


def test_service_items_have_no_item_ledger_entries(company, sales, customer):
    service = ItemFactory(company=company, type=Item.Type.SERVICE, inventory=0)
    order = sales_order_create(company=company, user=sales, customer=customer)
    sales_order_line_add(order=order, user=sales, item=service, quantity=2)
    invoice = sales_order_post(order=order, user=sales)
    assert invoice.amount == Decimal("200.00")
    assert not ItemLedgerEntry.objects.exists()
    service.refresh_from_db()
    assert service.inventory == 0


def test_lines_without_quantity_are_not_invoiced(sales, order, bicycle):
    SalesOrderLineFactory(order=order, item=bicycle, quantity=0, line_no=90000)
    invoice = sales_order_post(order=order, user=sales)
    assert invoice.lines.count() == 2


def test_invoice_numbers_follow_the_series(company, sales, customer, bicycle):
    numbers = []
    for _ in range(2):
        order = sales_order_create(company=company, user=sales, customer=customer)
        sales_order_line_add(order=order, user=sales, item=bicycle, quantity=1)
        numbers.append(sales_order_post(order=order, user=sales).no)
    assert numbers == ["PS-INV103001", "PS-INV103002"]


# Refusals: each writes nothing, not even the release that posting starts with.


def _assert_refused(order, user, message):
    before = db_snapshot()
    with pytest.raises(ValidationError) as exc:
        sales_order_post(order=order, user=user)
    assert exc.value.messages == [message]
    assert db_snapshot() == before


def test_it_refuses_an_order_pending_approval(sales, order):
    SalesOrder.objects.filter(pk=order.pk).update(status=Status.PENDING_APPROVAL)
    _assert_refused(
        order,
        sales,
        f"Sales Order {order.no} is pending approval. It can be posted when the approval "
        "process is complete.",
    )


def test_it_refuses_an_order_without_lines(company, sales, customer):
    order = sales_order_create(company=company, user=sales, customer=customer)
    _assert_refused(order, sales, f"There is nothing to post for Order {order.no}.")


def test_it_refuses_an_order_whose_lines_have_no_quantity(company, sales, customer, bicycle):
    order = sales_order_create(company=company, user=sales, customer=customer)
    SalesOrderLineFactory(order=order, item=bicycle, quantity=0)
    _assert_refused(order, sales, f"There is nothing to post for Order {order.no}.")


@pytest.mark.parametrize(
    ("blocked", "message"),
    [
        (Customer.Blocked.SHIP, "Customer C10000 is blocked for shipping."),
        (Customer.Blocked.INVOICE, "Customer C10000 is blocked for invoicing."),
        (Customer.Blocked.ALL, "Customer C10000 is blocked for all transactions."),
    ],
)
def test_it_refuses_a_blocked_customer(sales, order, customer, blocked, message):
    Customer.objects.filter(pk=customer.pk).update(blocked=blocked)
    _assert_refused(order, sales, message)


def test_it_refuses_a_blocked_item(sales, order, tyre):
    Item.objects.filter(pk=tyre.pk).update(blocked=True)
    _assert_refused(order, sales, "Item 1100 is blocked.")


def test_it_refuses_an_order_posted_already(sales, order):
    stale = SalesOrder.objects.get(pk=order.pk)
    sales_order_post(order=order, user=sales)
    _assert_refused(
        stale,
        sales,
        f"Sales Order {stale.no} does not exist. It may have been posted or deleted.",
    )
    assert PostedSalesInvoice.objects.count() == 1


def test_posting_is_one_transaction(monkeypatch, company, sales, order):
    """A failure after the invoice and the customer entry are written undoes them too."""

    def fail(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(posting_module, "_post_item_entries", fail)
    before = db_snapshot()
    with pytest.raises(RuntimeError):
        sales_order_post(order=order, user=sales)
    assert db_snapshot() == before
    assert SalesOrder.objects.get(pk=order.pk).status == Status.OPEN
    # The invoice number was given back with the rest.
    assert no_series_next(company=company, code="S-INV+") == "PS-INV103001"


def _committed_order():
    """An order with one line, committed, for the tests that post from several threads."""
    company = CompanyFactory(name="RACE")
    user = UserFactory(username="poster")
    customer = CustomerFactory(company=company)
    item = ItemFactory(company=company, inventory=Decimal("5"), unit_price=Decimal("10"))
    order = sales_order_create(company=company, user=user, customer=customer)
    sales_order_line_add(order=order, user=user, item=item, quantity=1)
    return user, customer, item, order


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks need PostgreSQL")
def test_two_concurrent_posts_yield_one_invoice():
    user, customer, item, order = _committed_order()

    # Each post starts from the order as it was before any of them ran.
    stale = [SalesOrder.objects.get(pk=order.pk) for _ in range(3)]
    outcomes = run_at_once([lambda o=o: sales_order_post(order=o, user=user) for o in stale])
    invoices = [o for o in outcomes if isinstance(o, PostedSalesInvoice)]
    refusals = [o for o in outcomes if isinstance(o, ValidationError)]
    assert (len(invoices), len(refusals)) == (1, 2)
    assert PostedSalesInvoice.objects.count() == 1
    item.refresh_from_db()
    customer.refresh_from_db()
    assert (item.inventory, customer.balance) == (Decimal("4"), Decimal("12.50"))


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks need PostgreSQL")
def test_a_line_added_while_the_order_is_posted_does_not_deadlock():
    """Adding a line locks the order and, at commit, key-share locks the item (a deferred
    foreign-key check); posting locks the item, then waits for the order."""
    user, _, item, order = _committed_order()
    adding = threading.Event()

    def add_slowly():
        with transaction.atomic():
            sales_order_line_add(
                order=SalesOrder.objects.get(pk=order.pk), user=user, item=item, quantity=2
            )
            adding.set()
            time.sleep(1.0)  # the post arrives and waits for the order meanwhile

    def post_meanwhile():
        adding.wait(timeout=10)
        time.sleep(0.3)
        return sales_order_post(order=SalesOrder.objects.get(pk=order.pk), user=user)

    added, posted = run_at_once([add_slowly, post_meanwhile])

    assert added is None
    assert isinstance(posted, PostedSalesInvoice), posted
    assert posted.lines.count() == 2


def test_posting_refuses_a_balance_too_large_to_store(sales, order, customer):
    Customer.objects.filter(pk=customer.pk).update(balance=Decimal("9999999999999000.00"))
    before = db_snapshot()
    with pytest.raises(ValidationError) as exc:
        sales_order_post(order=order, user=sales)
    assert exc.value.messages[0].startswith(f"The balance of Customer {customer.no} would be")
    assert db_snapshot() == before
