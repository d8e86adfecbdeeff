"""Customers: create, update (blocking is an update of ``blocked``), delete."""

from django.core.exceptions import ValidationError
from django.db import transaction

from bcsite.registry import registry
from records.events import raise_customer_blocking_changed
from records.models import Company, Customer
from records.services.common import (
    assign_fields,
    card_create,
    card_errors,
    check_field_names,
    delete_unless_referred,
    hold_change,
    raise_errors,
    save_with_unique_no,
    writable_fields,
)

CUSTOMER_FIELDS = writable_fields(Customer)
CUSTOMER_PROTECTED = {
    "balance": "Balance (LCY) cannot be changed directly; it changes only by posting.",
    "company": "A customer cannot move to another company.",
}


def customer_create(*, company: Company, user, **fields) -> Customer:
    """Create a customer; a blank No. takes the next number of the CUST series."""
    check_field_names(fields, writable=CUSTOMER_FIELDS, protected=CUSTOMER_PROTECTED)
    return card_create(Customer, company=company, series="CUST", label="Customer", fields=fields)


def customer_update(*, customer: Customer, user, **fields) -> Customer:
    """Change the given fields only, so a balance posted meanwhile is never overwritten."""
    check_field_names(fields, writable=CUSTOMER_FIELDS, protected=CUSTOMER_PROTECTED)
    if not fields:
        return customer
    with transaction.atomic():
        registry.check_guards(customer, user, "modify")
        old = Customer.objects.filter(pk=customer.pk).values("blocked", "credit_limit").first()
        previous = old["blocked"] if old else None
        if old and "credit_limit" in fields:
            hold_change(customer, user, fields, "credit_limit", old["credit_limit"])
        if not fields:
            return customer
        assign_fields(customer, fields)
        raise_errors(card_errors(customer, label="Customer"))
        save_with_unique_no(customer, label="Customer", update_fields=[*fields, "last_modified"])
        if previous is not None:
            raise_customer_blocking_changed(customer, previous)
    return customer


def customer_delete(*, customer: Customer, user) -> None:
    label = f"Customer {customer.no}"
    registry.check_guards(customer, user, "delete")
    if customer.sales_orders.exists():
        raise ValidationError(
            f"You cannot delete {label} because there is at least one outstanding "
            "Sales Order for this customer."
        )
    if customer.invoices.exists():
        raise ValidationError(f"You cannot delete {label} because it has posted sales invoices.")
    if customer.ledger_entries.exists():
        raise ValidationError(f"You cannot delete {label} because it has ledger entries.")
    delete_unless_referred(customer, label=label)
