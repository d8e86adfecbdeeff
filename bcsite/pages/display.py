"""How values look on a page: BC's number, date and option formats."""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Any

from django.db import models
from django.utils import timezone
from django.utils.formats import date_format


def display(value: Any, model_field: models.Field | None = None) -> str:
    """``value`` as text: options by their caption, money with two decimals and thousands
    separators, quantities with as many decimals as they have, dates in the short format."""
    if value is None or value == "":
        return ""
    if model_field is not None and model_field.choices and not model_field.is_relation:
        return str(dict(model_field.flatchoices).get(value, value))
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, Decimal):
        return format_decimal(value, getattr(model_field, "decimal_places", 2))
    if isinstance(value, datetime.datetime):
        return date_format(timezone.localtime(value), "SHORT_DATETIME_FORMAT")
    if isinstance(value, datetime.date):
        return date_format(value, "SHORT_DATE_FORMAT")
    return str(value)


def format_decimal(value: Decimal, places: int | None = 2) -> str:
    # Amounts keep their cents; quantities (five places) show only the decimals they use.
    if places is not None and places <= 2:
        return f"{value:,.{places}f}"
    normalized = value.normalize()
    text = f"{normalized:,f}"
    return "0" if text in ("-0", "0") else text
