"""Customers: create, update (blocking is an update of ``blocked``), delete."""

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import ProtectedError

from records.models import Company, Customer
from records.services.common import (
    add_error,
    check_field_names,
    clean_errors,
    normalize_no,
    raise_errors,
    save_with_unique_no,
    writable_fields,
)
from records.services.no_series import no_series_next

CUSTOMER_FIELDS = writable_fields(Customer)
CUSTOMER_PROTECTED = {
    "balance": "Balance (LCY) cannot be changed directly; it changes only by posting.",
    "company": "A customer cannot move to another company.",
}


def customer_create(*, company: Company, user, **fields) -> Customer:
    """Create a customer; a blank No. takes the next number of the CUST series."""
    check_field_names(fields, writable=CUSTOMER_FIELDS, protected=CUSTOMER_PROTECTED)
    with transaction.atomic():
        customer = Customer(company=company, **fields)
        customer.no = normalize_no(customer.no) or no_series_next(company=company, code="CUST")
        _validate(customer)
        save_with_unique_no(customer, label="Customer")
    return customer


def customer_update(*, customer: Customer, user, **fields) -> Customer:
    """Change the given fields only, so a balance posted meanwhile is never overwritten."""
    check_field_names(fields, writable=CUSTOMER_FIELDS, protected=CUSTOMER_PROTECTED)
    if not fields:
        return customer
    for name, value in fields.items():
        setattr(customer, name, value)
    if "no" in fields:
        customer.no = normalize_no(customer.no)
    _validate(customer)
    save_with_unique_no(customer, label="Customer", update_fields=[*fields, "last_modified"])
    return customer


def customer_delete(*, customer: Customer, user) -> None:
    label = f"Customer {customer.no}"
    if customer.sales_orders.exists():
        raise ValidationError(
            f"You cannot delete {label} because there is at least one outstanding "
            "Sales Order for this customer."
        )
    if customer.invoices.exists():
        raise ValidationError(f"You cannot delete {label} because it has posted sales invoices.")
    if customer.ledger_entries.exists():
        raise ValidationError(f"You cannot delete {label} because it has ledger entries.")
    try:
        with transaction.atomic():
            customer.delete()
    except (ProtectedError, IntegrityError):
        # Another record started referring to the customer after the checks above.
        raise ValidationError(
            f"You cannot delete {label} because other records refer to it."
        ) from None


def _validate(customer: Customer) -> None:
    errors = clean_errors(customer, exclude=("company",))
    if "no" not in errors and (
        Customer.objects.filter(company_id=customer.company_id, no=customer.no)
        .exclude(pk=customer.pk)
        .exists()
    ):
        add_error(errors, "no", f"Customer {customer.no} already exists.")
    raise_errors(errors)
