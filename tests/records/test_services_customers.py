from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from records.models import Customer, CustomerLedgerEntry
from records.services import (
    customer_create,
    customer_delete,
    customer_update,
    no_series_next,
    sales_order_create,
    sales_order_line_add,
    sales_order_post,
)
from tests.factories import CustomerFactory, ItemFactory, SalesOrderFactory
from tests.records.snapshots import db_snapshot


def test_it_creates_a_customer_with_the_given_no(company, sales):
    customer = customer_create(company=company, user=sales, no=" c10000 ", name="Adatum")
    customer.refresh_from_db()
    assert (customer.no, customer.name, customer.company) == ("C10000", "Adatum", company)
    assert customer.balance == 0


def test_a_blank_no_takes_the_next_number_of_the_cust_series(company, sales):
    first = customer_create(company=company, user=sales, name="Adatum")
    second = customer_create(company=company, user=sales, no="", name="Trey Research")
    assert (first.no, second.no) == ("C00010", "C00020")


def test_it_refuses_a_no_already_used_in_the_company(company, sales):
    CustomerFactory(company=company, no="C10000")
    before = db_snapshot()
    with pytest.raises(ValidationError) as exc:
        customer_create(company=company, user=sales, no="C10000", name="Again")
    assert exc.value.message_dict == {"no": ["Customer C10000 already exists."]}
    assert db_snapshot() == before


def test_the_same_no_may_exist_in_another_company(company, other_company, sales):
    CustomerFactory(company=other_company, no="C10000")
    assert customer_create(company=company, user=sales, no="C10000", name="Mine").pk


def test_a_refused_create_gives_the_series_number_back(company, sales):
    with pytest.raises(ValidationError):
        customer_create(company=company, user=sales, name="")
    assert no_series_next(company=company, code="CUST") == "C00010"


def test_field_errors_come_together_as_a_dict(company, sales):
    with pytest.raises(ValidationError) as exc:
        customer_create(
            company=company, user=sales, name="", email="not-an-email", credit_limit="-1"
        )
    assert set(exc.value.message_dict) == {"name", "email", "credit_limit"}
    assert not Customer.objects.exists()


def test_it_refuses_setting_the_balance(company, sales):
    with pytest.raises(ValidationError) as exc:
        customer_create(company=company, user=sales, name="Rich", balance=Decimal("100"))
    assert "changes only by posting" in exc.value.message_dict["balance"][0]
    assert not Customer.objects.exists()


def test_it_refuses_an_unknown_field(company, sales):
    with pytest.raises(ValidationError) as exc:
        customer_create(company=company, user=sales, name="X", colour="red")
    assert exc.value.message_dict == {"colour": ["The field colour cannot be set."]}


def test_update_changes_the_given_fields(company, sales):
    customer = CustomerFactory(company=company, name="Old", city="Atlanta")
    customer_update(customer=customer, user=sales, name="New", blocked=Customer.Blocked.ALL)
    customer.refresh_from_db()
    assert (customer.name, customer.city, customer.blocked) == ("New", "Atlanta", "all")


def test_update_never_overwrites_a_balance_posted_meanwhile(company, sales):
    customer = CustomerFactory(company=company)
    Customer.objects.filter(pk=customer.pk).update(balance=Decimal("125.00"))
    customer_update(customer=customer, user=sales, name="Renamed")  # holds balance 0 in memory
    customer.refresh_from_db()
    assert (customer.name, customer.balance) == ("Renamed", Decimal("125.00"))


def test_update_refuses_the_balance(company, sales):
    customer = CustomerFactory(company=company)
    before = db_snapshot()
    with pytest.raises(ValidationError) as exc:
        customer_update(customer=customer, user=sales, balance=Decimal("5"), name="Y")
    assert list(exc.value.message_dict) == ["balance"]
    assert db_snapshot() == before


def test_update_refuses_a_no_taken_by_another_customer(company, sales):
    CustomerFactory(company=company, no="C10000")
    customer = CustomerFactory(company=company, no="C20000")
    before = db_snapshot()
    with pytest.raises(ValidationError) as exc:
        customer_update(customer=customer, user=sales, no="C10000")
    assert exc.value.message_dict == {"no": ["Customer C10000 already exists."]}
    assert db_snapshot() == before


def test_update_refuses_an_unknown_blocked_value(company, sales):
    customer = CustomerFactory(company=company)
    with pytest.raises(ValidationError) as exc:
        customer_update(customer=customer, user=sales, blocked="sometimes")
    assert list(exc.value.message_dict) == ["blocked"]


def test_delete_removes_a_customer_without_documents(company, sales):
    customer = CustomerFactory(company=company)
    customer_delete(customer=customer, user=sales)
    assert not Customer.objects.exists()


def test_delete_refuses_a_customer_with_sales_orders(company, sales):
    order = SalesOrderFactory(company=company, customer__no="C10000")
    with pytest.raises(ValidationError) as exc:
        customer_delete(customer=order.customer, user=sales)
    assert exc.value.messages == [
        "You cannot delete Customer C10000 because there is at least one outstanding "
        "Sales Order for this customer."
    ]
    assert Customer.objects.filter(pk=order.customer.pk).exists()


def test_delete_refuses_a_customer_with_ledger_entries(company, sales):
    customer = CustomerFactory(company=company, no="C10000")
    CustomerLedgerEntry.objects.create(
        company=company,
        customer=customer,
        posting_date="2025-01-01",
        document_type=CustomerLedgerEntry.DocumentType.PAYMENT,
        document_no="P1",
        amount=Decimal("-5"),
    )
    with pytest.raises(ValidationError) as exc:
        customer_delete(customer=customer, user=sales)
    assert exc.value.messages == [
        "You cannot delete Customer C10000 because it has ledger entries."
    ]
    assert Customer.objects.filter(pk=customer.pk).exists()


def test_delete_refuses_a_customer_with_posted_invoices(company, sales):
    customer = CustomerFactory(company=company, no="C10000")
    order = sales_order_create(company=company, user=sales, customer=customer)
    sales_order_line_add(order=order, user=sales, item=ItemFactory(company=company), quantity=1)
    sales_order_post(order=order, user=sales)
    before = db_snapshot()
    with pytest.raises(ValidationError) as exc:
        customer_delete(customer=customer, user=sales)
    assert exc.value.messages == [
        "You cannot delete Customer C10000 because it has posted sales invoices."
    ]
    assert db_snapshot() == before
