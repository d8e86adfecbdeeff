import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from records.models import Customer, SalesOrder, SalesOrderLine
from records.services import (
    sales_order_create,
    sales_order_delete,
    sales_order_end_approval,
    sales_order_line_add,
    sales_order_line_delete,
    sales_order_line_update,
    sales_order_mark_pending_approval,
    sales_order_release,
    sales_order_reopen,
    sales_order_update,
)
from records.services import sales_orders as sales_orders_module
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
def item(company):
    return ItemFactory(
        company=company,
        no="1000",
        description="Bicycle",
        unit_price=Decimal("100.00"),
        base_unit_of_measure="PCS",
    )


@pytest.fixture
def order(company, sales, customer):
    return sales_order_create(company=company, user=sales, customer=customer)


def _status_message(no: str, current: str, expected: str = "Open") -> str:
    return (
        f"Status must be equal to '{expected}' in Sales Header: Document Type=Order, "
        f"No.={no}. Current value is '{current}'."
    )


def _set_status(order, status):
    SalesOrder.objects.filter(pk=order.pk).update(status=status)
    order.status = status


# Header


def test_create_fills_the_defaults(company, sales, customer):
    order = sales_order_create(company=company, user=sales, customer=customer)
    order.refresh_from_db()
    today = timezone.localdate()
    assert order.no == "S-ORD101001"
    assert (order.order_date, order.posting_date) == (today, today)
    assert order.due_date == today + datetime.timedelta(days=30)
    assert order.vat_percent == company.vat_percent == Decimal("25")
    assert order.sell_to_customer_name == "Adatum Corporation"
    assert (order.status, order.created_by, order.company) == (Status.OPEN, sales, company)
    assert (order.amount, order.amount_including_vat) == (0, 0)


def test_create_takes_the_given_dates(company, sales, customer):
    order = sales_order_create(
        company=company,
        user=sales,
        customer=customer,
        order_date="2025-02-01",
        posting_date=datetime.date(2025, 2, 3),
        external_document_no="PO-1",
    )
    order.refresh_from_db()
    assert order.due_date == datetime.date(2025, 3, 3)
    assert (order.posting_date, order.external_document_no) == (datetime.date(2025, 2, 3), "PO-1")


def test_create_refuses_a_due_date_before_the_order_date(company, sales, customer):
    with pytest.raises(ValidationError) as exc:
        sales_order_create(
            company=company,
            user=sales,
            customer=customer,
            order_date=datetime.date(2025, 2, 1),
            due_date=datetime.date(2025, 1, 31),
        )
    assert exc.value.message_dict == {"due_date": ["Due Date must not be before Order Date."]}
    assert not SalesOrder.objects.exists()


def test_create_refuses_a_customer_blocked_for_all(company, sales, customer):
    customer.blocked = Customer.Blocked.ALL
    customer.save()
    before = db_snapshot()
    with pytest.raises(ValidationError) as exc:
        sales_order_create(company=company, user=sales, customer=customer)
    assert exc.value.messages == ["Customer C10000 is blocked for all transactions."]
    assert db_snapshot() == before


def test_create_accepts_a_customer_blocked_for_shipping(company, sales, customer):
    customer.blocked = Customer.Blocked.SHIP
    customer.save()
    assert sales_order_create(company=company, user=sales, customer=customer).pk


def test_create_refuses_a_customer_of_another_company(company, other_company, sales):
    stranger = CustomerFactory(company=other_company, no="C99999")
    with pytest.raises(ValidationError) as exc:
        sales_order_create(company=company, user=sales, customer=stranger)
    assert exc.value.message_dict == {
        "customer": ["Customer C99999 does not exist in company CRONUS."]
    }
    assert not SalesOrder.objects.exists()


@pytest.mark.parametrize("field", ["status", "amount", "vat_percent", "sell_to_customer_name"])
def test_create_refuses_computed_fields(company, sales, customer, field):
    with pytest.raises(ValidationError) as exc:
        sales_order_create(company=company, user=sales, customer=customer, **{field: "x"})
    assert list(exc.value.message_dict) == [field]
    assert not SalesOrder.objects.exists()


def test_create_refuses_a_duplicate_no(company, sales, customer, order):
    before = db_snapshot()
    with pytest.raises(ValidationError) as exc:
        sales_order_create(company=company, user=sales, customer=customer, no=order.no)
    assert exc.value.message_dict == {"no": [f"Sales Order {order.no} already exists."]}
    assert db_snapshot() == before


def test_update_copies_the_name_of_a_new_customer(company, sales, order):
    other = CustomerFactory(company=company, name="Trey Research")
    sales_order_update(order=order, user=sales, customer=other, external_document_no="PO-7")
    order.refresh_from_db()
    assert (order.customer, order.sell_to_customer_name) == (other, "Trey Research")
    assert order.external_document_no == "PO-7"


def test_update_refuses_a_blocked_customer(company, sales, order):
    blocked = CustomerFactory(company=company, no="C20000", blocked=Customer.Blocked.ALL)
    before = db_snapshot()
    with pytest.raises(ValidationError) as exc:
        sales_order_update(order=order, user=sales, customer=blocked)
    assert exc.value.messages == ["Customer C20000 is blocked for all transactions."]
    assert db_snapshot() == before


def test_a_new_order_date_moves_the_due_date(sales, order):
    sales_order_update(order=order, user=sales, order_date=datetime.date(2025, 5, 1))
    order.refresh_from_db()
    assert order.due_date == datetime.date(2025, 5, 31)


def test_update_refuses_a_due_date_before_the_order_date(sales, order):
    before = db_snapshot()
    with pytest.raises(ValidationError) as exc:
        sales_order_update(
            order=order, user=sales, due_date=order.order_date - datetime.timedelta(1)
        )
    assert list(exc.value.message_dict) == ["due_date"]
    assert db_snapshot() == before


def test_update_clears_the_due_date_given_as_blank(sales, order):
    sales_order_update(order=order, user=sales, due_date="")
    order.refresh_from_db()
    assert order.due_date is None


def test_update_refuses_a_released_order_in_bcs_words(sales, order):
    _set_status(order, Status.RELEASED)
    before = db_snapshot()
    with pytest.raises(ValidationError) as exc:
        sales_order_update(order=order, user=sales, external_document_no="X")
    assert exc.value.messages == [_status_message("S-ORD101001", "Released")]
    assert db_snapshot() == before


def test_update_checks_the_committed_status_not_the_callers_copy(sales, order):
    stale = SalesOrder.objects.get(pk=order.pk)
    SalesOrder.objects.filter(pk=order.pk).update(status=Status.RELEASED)
    with pytest.raises(ValidationError, match="Current value is 'Released'"):
        sales_order_update(order=stale, user=sales, external_document_no="X")


def test_delete_removes_an_open_order_with_its_lines(sales, order, item):
    sales_order_line_add(order=order, user=sales, item=item, quantity=1)
    sales_order_delete(order=order, user=sales)
    assert not SalesOrder.objects.exists()
    assert not SalesOrderLine.objects.exists()


@pytest.mark.parametrize(
    ("status", "label"),
    [(Status.RELEASED, "Released"), (Status.PENDING_APPROVAL, "Pending Approval")],
)
def test_delete_refuses_an_order_that_is_not_open(sales, order, status, label):
    _set_status(order, status)
    with pytest.raises(ValidationError) as exc:
        sales_order_delete(order=order, user=sales)
    assert exc.value.messages == [_status_message(order.no, label)]
    assert SalesOrder.objects.filter(pk=order.pk).exists()


# Lines


def test_a_line_takes_its_defaults_from_the_item(sales, order, item):
    line = sales_order_line_add(order=order, user=sales, item=item, quantity=2)
    line.refresh_from_db()
    assert (line.line_no, line.description, line.unit_of_measure) == (10000, "Bicycle", "PCS")
    assert (line.unit_price, line.line_amount) == (Decimal("100.00"), Decimal("200.00"))
    second = sales_order_line_add(order=order, user=sales, item=item, quantity=1)
    assert second.line_no == 20000


def test_line_amounts_apply_the_discount_and_totals_add_vat(sales, order, item):
    sales_order_line_add(
        order=order,
        user=sales,
        item=item,
        quantity=Decimal("3"),
        unit_price=Decimal("33.33"),
        line_discount_percent=Decimal("10"),
        description="Special",
    )
    line = SalesOrderLine.objects.get()
    # 99.99 gross, 10.00 discount (9.999 rounded), 89.99 net.
    assert (line.description, line.line_amount) == ("Special", Decimal("89.99"))
    order.refresh_from_db()
    # 89.99 * 1.25 = 112.4875
    assert (order.amount, order.amount_including_vat) == (Decimal("89.99"), Decimal("112.49"))


def test_vat_rounds_half_cents_up(sales, order, item):
    sales_order_line_add(order=order, user=sales, item=item, quantity=1, unit_price="10.10")
    order.refresh_from_db()
    # 10.10 * 1.25 = 12.625: BC rounds half away from zero.
    assert order.amount_including_vat == Decimal("12.63")


def test_the_discount_amount_is_rounded_before_it_is_subtracted(sales, order, item):
    sales_order_line_add(
        order=order, user=sales, item=item, quantity=1, unit_price="0.05", line_discount_percent=50
    )
    # Discount 0.025 rounds to 0.03, leaving 0.02 (not round(0.025) = 0.03).
    assert SalesOrderLine.objects.get().line_amount == Decimal("0.02")


def test_totals_follow_every_line_change(sales, order, item, company):
    other_item = ItemFactory(company=company, unit_price=Decimal("7.50"), description="Bell")
    first = sales_order_line_add(order=order, user=sales, item=item, quantity=1)
    second = sales_order_line_add(order=order, user=sales, item=other_item, quantity=2)
    order.refresh_from_db()
    assert (order.amount, order.amount_including_vat) == (Decimal("115.00"), Decimal("143.75"))

    sales_order_line_update(line=first, user=sales, quantity=3, line_discount_percent=50)
    order.refresh_from_db()
    assert order.amount == Decimal("165.00")

    sales_order_line_delete(line=second, user=sales)
    order.refresh_from_db()
    assert (order.amount, order.amount_including_vat) == (Decimal("150.00"), Decimal("187.50"))


def test_changing_the_item_of_a_line_brings_its_price_and_description(sales, order, item, company):
    bell = ItemFactory(
        company=company, description="Bell", unit_price=Decimal("7.50"), base_unit_of_measure="BOX"
    )
    line = sales_order_line_add(order=order, user=sales, item=item, quantity=2)
    sales_order_line_update(line=line, user=sales, item=bell)
    line.refresh_from_db()
    assert (line.item, line.description, line.unit_of_measure) == (bell, "Bell", "BOX")
    assert (line.unit_price, line.line_amount) == (Decimal("7.50"), Decimal("15.00"))


def test_totals_take_a_bounded_number_of_queries(sales, order, item):
    def queries_to_add_a_line():
        with CaptureQueriesContext(connection) as ctx:
            sales_order_line_add(order=order, user=sales, item=item, quantity=1)
        return len(ctx.captured_queries)

    # The first change of a transaction also reads which flows its records' events start.
    queries_to_add_a_line()
    few = queries_to_add_a_line()
    for n in range(20):
        SalesOrderLineFactory(order=order, item=item, line_no=100000 + 10000 * n)
    assert queries_to_add_a_line() == few


@pytest.mark.parametrize(
    ("kwargs", "field", "message"),
    [
        ({"quantity": 0}, "quantity", "Quantity must be greater than 0."),
        ({"quantity": "-1"}, "quantity", "Quantity must be greater than 0."),
        ({"quantity": "lots"}, "quantity", "“lots” value must be a decimal number."),
        (
            {"quantity": 1, "line_discount_percent": "101"},
            "line_discount_percent",
            "Line Discount % must be between 0 and 100.",
        ),
        (
            {"quantity": 1, "line_discount_percent": "-5"},
            "line_discount_percent",
            "Line Discount % must be between 0 and 100.",
        ),
        ({"quantity": 1, "unit_price": "-1"}, "unit_price", None),
    ],
)
def test_add_line_refuses_bad_values(sales, order, item, kwargs, field, message):
    before = db_snapshot()
    with pytest.raises(ValidationError) as exc:
        sales_order_line_add(order=order, user=sales, item=item, **kwargs)
    assert field in exc.value.message_dict
    if message:
        assert message in exc.value.message_dict[field]
    assert db_snapshot() == before


def test_add_line_refuses_a_blocked_item(sales, order, company):
    blocked = ItemFactory(company=company, no="1999", blocked=True)
    before = db_snapshot()
    with pytest.raises(ValidationError) as exc:
        sales_order_line_add(order=order, user=sales, item=blocked, quantity=1)
    assert exc.value.messages == ["Item 1999 is blocked."]
    assert db_snapshot() == before


def test_add_line_refuses_an_item_of_another_company(sales, order, other_company):
    stranger = ItemFactory(company=other_company, no="9999")
    with pytest.raises(ValidationError) as exc:
        sales_order_line_add(order=order, user=sales, item=stranger, quantity=1)
    assert exc.value.message_dict == {"item": ["Item 9999 does not exist in this company."]}
    assert not SalesOrderLine.objects.exists()


def test_line_changes_are_refused_on_a_released_order(sales, order, item):
    line = sales_order_line_add(order=order, user=sales, item=item, quantity=1)
    _set_status(order, Status.RELEASED)
    before = db_snapshot()
    expected = [_status_message(order.no, "Released")]
    with pytest.raises(ValidationError) as exc:
        sales_order_line_add(order=order, user=sales, item=item, quantity=1)
    assert exc.value.messages == expected
    with pytest.raises(ValidationError) as exc:
        sales_order_line_update(line=line, user=sales, quantity=5)
    assert exc.value.messages == expected
    with pytest.raises(ValidationError) as exc:
        sales_order_line_delete(line=line, user=sales)
    assert exc.value.messages == expected
    assert db_snapshot() == before


def test_update_line_refuses_zero_quantity_and_computed_fields(sales, order, item):
    line = sales_order_line_add(order=order, user=sales, item=item, quantity=1)
    before = db_snapshot()
    with pytest.raises(ValidationError) as exc:
        sales_order_line_update(line=line, user=sales, quantity=0)
    assert exc.value.message_dict == {"quantity": ["Quantity must be greater than 0."]}
    with pytest.raises(ValidationError) as exc:
        sales_order_line_update(line=line, user=sales, line_amount=1)
    assert list(exc.value.message_dict) == ["line_amount"]
    assert db_snapshot() == before


# Release and reopen


@pytest.fixture
def order_with_line(sales, order, item):
    sales_order_line_add(order=order, user=sales, item=item, quantity=1)
    return order


def test_release_and_reopen(sales, order_with_line):
    order = order_with_line
    assert (order.can_release, order.can_reopen, order.can_post) == (True, False, True)
    sales_order_release(order=order, user=sales)
    order.refresh_from_db()
    assert order.status == Status.RELEASED
    assert (order.can_release, order.can_reopen, order.can_post) == (False, True, True)
    assert not order.is_editable
    sales_order_reopen(order=order, user=sales)
    order.refresh_from_db()
    assert order.status == Status.OPEN


def test_releasing_a_released_order_changes_nothing(sales, order_with_line):
    sales_order_release(order=order_with_line, user=sales)
    before = db_snapshot()
    released = sales_order_release(order=order_with_line, user=sales)
    assert released.status == Status.RELEASED
    assert db_snapshot() == before


def test_release_refuses_an_order_pending_approval(sales, order_with_line):
    _set_status(order_with_line, Status.PENDING_APPROVAL)
    assert not order_with_line.can_post
    with pytest.raises(ValidationError) as exc:
        sales_order_release(order=order_with_line, user=sales)
    assert exc.value.messages == [
        "Sales Order S-ORD101001 is pending approval. This document can only be released "
        "when the approval process is complete."
    ]
    order_with_line.refresh_from_db()
    assert order_with_line.status == Status.PENDING_APPROVAL


def test_release_refuses_an_order_without_lines(sales, order):
    with pytest.raises(ValidationError) as exc:
        sales_order_release(order=order, user=sales)
    assert exc.value.messages == ["There is nothing to release for Order S-ORD101001."]
    order.refresh_from_db()
    assert order.status == Status.OPEN


def test_release_refuses_an_order_whose_lines_have_no_quantity(sales, order, item):
    SalesOrderLineFactory(order=order, item=item, quantity=0)
    with pytest.raises(ValidationError, match="There is nothing to release"):
        sales_order_release(order=order, user=sales)


@pytest.mark.parametrize(
    ("blocked", "message"),
    [
        (Customer.Blocked.SHIP, "Customer C10000 is blocked for shipping."),
        (Customer.Blocked.ALL, "Customer C10000 is blocked for all transactions."),
    ],
)
def test_release_refuses_a_blocked_customer(sales, order_with_line, customer, blocked, message):
    Customer.objects.filter(pk=customer.pk).update(blocked=blocked)
    before = db_snapshot()
    with pytest.raises(ValidationError) as exc:
        sales_order_release(order=order_with_line, user=sales)
    assert exc.value.messages == [message]
    assert db_snapshot() == before


def test_release_accepts_a_customer_blocked_for_invoicing(sales, order_with_line, customer):
    Customer.objects.filter(pk=customer.pk).update(blocked=Customer.Blocked.INVOICE)
    sales_order_release(order=order_with_line, user=sales)
    assert SalesOrder.objects.get().status == Status.RELEASED


def test_release_refuses_a_blocked_item(sales, order_with_line, item):
    item.blocked = True
    item.save()
    before = db_snapshot()
    with pytest.raises(ValidationError) as exc:
        sales_order_release(order=order_with_line, user=sales)
    assert exc.value.messages == ["Item 1000 is blocked."]
    assert db_snapshot() == before


def test_reopening_an_open_order_changes_nothing(sales, order):
    before = db_snapshot()
    assert sales_order_reopen(order=order, user=sales).status == Status.OPEN
    assert db_snapshot() == before


def test_reopen_refuses_an_order_pending_approval(sales, order_with_line):
    _set_status(order_with_line, Status.PENDING_APPROVAL)
    with pytest.raises(ValidationError) as exc:
        sales_order_reopen(order=order_with_line, user=sales)
    assert exc.value.messages == [
        "Sales Order S-ORD101001 is pending approval. Cancel the approval request before "
        "you reopen the document."
    ]
    assert SalesOrder.objects.get().status == Status.PENDING_APPROVAL


def test_approval_moves_the_order_through_pending_approval(sales, order_with_line):
    order = order_with_line
    sales_order_mark_pending_approval(order=order, user=sales)
    assert SalesOrder.objects.get().status == Status.PENDING_APPROVAL
    sales_order_end_approval(order=order, user=sales, approved=False)
    assert SalesOrder.objects.get().status == Status.OPEN
    sales_order_mark_pending_approval(order=order, user=sales)
    sales_order_end_approval(order=order, user=sales, approved=True)
    assert SalesOrder.objects.get().status == Status.RELEASED


def test_approval_cannot_end_for_an_order_that_is_not_pending(sales, order_with_line):
    with pytest.raises(ValidationError, match="Status must be equal to 'Pending Approval'"):
        sales_order_end_approval(order=order_with_line, user=sales, approved=True)


def test_an_order_without_lines_cannot_be_sent_for_approval(sales, order):
    with pytest.raises(ValidationError, match="There is nothing to release"):
        sales_order_mark_pending_approval(order=order, user=sales)
    assert SalesOrder.objects.get().status == Status.OPEN


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks need PostgreSQL")
def test_two_concurrent_releases_release_once(monkeypatch):
    company = CompanyFactory(name="RACE")
    user = UserFactory(username="racer")
    customer = CustomerFactory(company=company)
    order = sales_order_create(company=company, user=user, customer=customer)
    sales_order_line_add(order=order, user=user, item=ItemFactory(company=company), quantity=1)

    def release():
        return sales_order_release(order=SalesOrder.objects.get(pk=order.pk), user=user)

    stamps = []
    original = sales_orders_module._set_status

    def recording_set_status(order, status):
        stamps.append(status)
        original(order, status)

    monkeypatch.setattr(sales_orders_module, "_set_status", recording_set_status)
    outcomes = run_at_once([release, release, release])
    assert all(isinstance(o, SalesOrder) for o in outcomes), outcomes
    assert stamps == [Status.RELEASED]
    assert SalesOrder.objects.get(pk=order.pk).status == Status.RELEASED


def test_a_line_amount_too_large_to_store_is_refused_and_nothing_written(sales, order, item):
    before = db_snapshot()
    with pytest.raises(ValidationError) as exc:
        sales_order_line_add(
            order=order,
            user=sales,
            item=item,
            quantity=Decimal("1000000"),
            unit_price=Decimal("99999999999.99"),
        )
    assert "more than the largest amount bcsite can store" in exc.value.messages[0]
    assert db_snapshot() == before


def test_a_total_too_large_to_store_is_refused(sales, order, item):
    sales_order_line_add(
        order=order, user=sales, item=item, quantity=1, unit_price=Decimal("7900000000000000")
    )
    before = db_snapshot()
    with pytest.raises(ValidationError) as exc:
        sales_order_line_add(
            order=order, user=sales, item=item, quantity=1, unit_price=Decimal("100000000000000")
        )
    assert exc.value.messages[0].startswith(f"The total of Sales Order {order.no} would be")
    assert db_snapshot() == before
