"""Facts about expression values: their type names, text form and equality."""

import datetime as dt
import json
import math
import uuid
from collections.abc import Hashable
from decimal import Decimal
from typing import Any

from automate.expressions.errors import ExpressionError
from automate.expressions.lexer import INT_MAX, INT_MIN


def is_number(value: Any) -> bool:
    # bool is an int subclass in Python, but never a number in an expression.
    return isinstance(value, int | float | Decimal) and not isinstance(value, bool)


def type_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float | Decimal):
        return "a decimal number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list | tuple):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return "a value of type " + type(value).__name__


def describe(value: Any) -> str:
    """The type of ``value`` with a short preview, for error messages."""
    if isinstance(value, str):
        preview = value if len(value) <= 40 else value[:37] + "..."
        return f"a string ('{preview}')"
    if value is None or isinstance(value, list | tuple | dict):
        return type_name(value)
    preview = to_text(value)
    return f"{type_name(value)} ({preview[:40]})"


def fits_int(value: int) -> bool:
    return INT_MIN <= value <= INT_MAX


def format_number(value: int | float | Decimal) -> str:
    """A number as Power Automate prints it: integral decimals without '.0', 1E+20 for large."""
    if isinstance(value, Decimal):
        value = int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, int):
        return str(value)
    if value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return repr(value).replace("e", "E")


def to_text(value: Any) -> str:
    """The text of a value inside '@{...}' or given to concat(), join() and string()."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if is_number(value):
        return format_number(value)
    if isinstance(value, dict | list | tuple):
        return to_json(value)
    return _json_default(value)


def to_json(value: Any) -> str:
    try:
        return json.dumps(
            value, ensure_ascii=False, separators=(",", ":"), default=_json_default, allow_nan=False
        )
    except (TypeError, ValueError) as error:
        # Run data is JSON-like; this only catches values such as NaN or non-text keys.
        raise ExpressionError(f"A value cannot be written as JSON: {error}") from None


def _json_default(value: Any) -> Any:
    # Records hand dates, amounts and ids to flows; show them as their JSON counterparts.
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, Decimal):
        return format_number(value) if value.is_finite() else str(value)
    if isinstance(value, uuid.UUID):
        return str(value)
    return str(value)


def values_equal(left: Any, right: Any) -> bool:
    """Deep equality as equals() sees it: 1 equals 1.0, but true never equals 1."""
    stack = [(left, right)]
    while stack:
        a, b = stack.pop()
        if is_number(a) and is_number(b):
            if a != b:
                return False
        elif isinstance(a, bool) or isinstance(b, bool) or a is None or b is None:
            if type(a) is not type(b) or a != b:
                return False
        elif isinstance(a, str) or isinstance(b, str):
            if a != b:
                return False
        elif isinstance(a, list | tuple) and isinstance(b, list | tuple):
            if len(a) != len(b):
                return False
            stack.extend(zip(a, b, strict=True))
        elif isinstance(a, dict) and isinstance(b, dict):
            if a.keys() != b.keys():
                return False
            stack.extend((a[key], b[key]) for key in a)
        elif type(a) is not type(b) or a != b:
            return False
    return True


def hash_key(value: Any) -> Hashable:
    """A key that is equal for values that values_equal() finds equal, for de-duplication."""
    if isinstance(value, str):
        return ("s", value)
    if isinstance(value, bool) or value is None:
        return ("b", value)
    if is_number(value):
        return ("n", _normalise_numbers(value))
    try:
        canonical = json.dumps(
            _normalise_numbers(value), sort_keys=True, separators=(",", ":"), default=_json_default
        )
    except (TypeError, ValueError) as error:
        raise ExpressionError(f"A value cannot be compared: {error}") from None
    return ("j", canonical)


def _normalise_numbers(value: Any) -> Any:
    if isinstance(value, float | Decimal) and math.isfinite(value) and value == int(value):
        return int(value)
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, dict):
        return {str(key): _normalise_numbers(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_normalise_numbers(item) for item in value]
    return value
