"""BC's No. Series: numbers for customers, items and documents."""

import re
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from records.models import Company, NoSeries
from records.services.locks import no_series_lock

NO_MAX_LENGTH = NoSeries._meta.get_field("last_no_used").max_length


@dataclass(frozen=True)
class SeriesDefault:
    description: str
    starting_no: str
    increment_by: int


# The series a company gets the first time it needs one, as in a new BC company.
DEFAULT_SERIES = {
    "CUST": SeriesDefault("Customers", "C00010", 10),
    "ITEM": SeriesDefault("Items", "1000", 10),
    "S-ORD": SeriesDefault("Sales Orders", "S-ORD101001", 1),
    "S-INV+": SeriesDefault("Posted Sales Invoices", "PS-INV103001", 1),
    "IJNL-GEN": SeriesDefault("Item Journal", "T00001", 1),
}

# The last run of digits is the counter; what comes before and after it is kept.
_LAST_NUMBER = re.compile(r"^(.*?)(\d+)(\D*)$")


def increment_no(no: str, by: int, *, code: str = "") -> str:
    """Add ``by`` to the last number in ``no``, keeping prefix, suffix and zero padding."""
    match = _LAST_NUMBER.match(no)
    if match is None:
        raise ValidationError(f"The number {no} in No. Series {code} does not contain a number.")
    prefix, digits, suffix = match.groups()
    result = f"{prefix}{str(int(digits) + by).zfill(len(digits))}{suffix}"
    if len(result) > NO_MAX_LENGTH:
        raise ValidationError(
            f"The number {no} in No. Series {code} cannot be extended to more than "
            f"{NO_MAX_LENGTH} characters."
        )
    return result


def no_series_next(*, company: Company, code: str) -> str:
    """Take the next number of the company's series ``code``, creating the series if needed.

    The series row stays locked until the caller's transaction ends, so numbers are
    handed out one at a time and a rolled-back transaction gives its number back.
    """
    with transaction.atomic():
        series = no_series_lock(company=company, code=code) or _create_default(company, code)
        if series.increment_by < 1:
            raise ValidationError(f"Increment-by No. must be at least 1 in No. Series {code}.")
        if series.last_no_used:
            no = increment_no(series.last_no_used, series.increment_by, code=code)
        elif series.starting_no:
            no = series.starting_no
        else:
            raise ValidationError(f"Starting No. must have a value in No. Series {code}.")
        series.last_no_used = no
        series.save(update_fields=["last_no_used"])
    return no


def _create_default(company: Company, code: str) -> NoSeries | None:
    default = DEFAULT_SERIES.get(code)
    if default is None:
        raise ValidationError(f"No. Series {code} does not exist in company {company.name}.")
    try:
        # A savepoint, so losing the race to create the series leaves the caller's
        # transaction usable; the winner's row is then locked like any other.
        with transaction.atomic():
            NoSeries.objects.create(
                company=company,
                code=code,
                description=default.description,
                starting_no=default.starting_no,
                increment_by=default.increment_by,
            )
    except IntegrityError:
        pass
    # The row exists now: ours, or the one that won the race and made ours fail.
    return no_series_lock(company=company, code=code)
