"""Values as the history keeps them: JSON-safe, with secrets masked, variables typed."""

from __future__ import annotations

import datetime
import uuid
from decimal import Decimal

from automate.connectors.base import ConnectorAction

MASK = "***"
# Keys whose values never reach the history, whatever action they belong to.
SECRET_KEYS = frozenset(
    {"password", "token", "secret", "apikey", "api_key", "clientsecret", "authorization"}
)


def json_safe(value):
    """The value with dates, decimals and ids as JSON has them (what a replay reads back)."""
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    if isinstance(value, datetime.datetime | datetime.date | datetime.time):
        return value.isoformat()
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, bytes):
        raise TypeError("Binary outputs must be base64 text (a file's contentBytes).")
    return value


def mask_secrets(action: ConnectorAction, inputs: dict) -> dict:
    secret_params = {p.name for p in action.inputs if p.type == "secret"}
    return {k: MASK if k in secret_params else _mask(v) for k, v in inputs.items()}


def _mask(value):
    if isinstance(value, dict):
        return {
            k: MASK if str(k).replace("-", "").lower() in SECRET_KEYS else _mask(v)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [_mask(v) for v in value]
    return value


def truthy(value) -> bool:
    if isinstance(value, str):
        return value.strip().lower() == "true"
    return bool(value)


def _string(value, name):
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value) if not isinstance(value, dict | list) else _refuse(value, name, "a string")


def _integer(value, name):
    if value in (None, ""):
        return 0
    if isinstance(value, bool):
        return _refuse(value, name, "an integer")
    try:
        number = Decimal(str(value).strip())
    except ArithmeticError:
        return _refuse(value, name, "an integer")
    if number != number.to_integral_value():
        return _refuse(value, name, "an integer")
    return int(number)


def _float(value, name):
    if value in (None, ""):
        return 0.0
    if isinstance(value, bool):
        return _refuse(value, name, "a number")
    try:
        return float(str(value).strip())
    except ValueError:
        return _refuse(value, name, "a number")


def _boolean(value, name):
    if isinstance(value, bool):
        return value
    if value in (None, ""):
        return False
    if str(value).lower() in ("true", "false"):
        return str(value).lower() == "true"
    return _refuse(value, name, "true or false")


def _array(value, name):
    if value in (None, ""):
        return []
    return value if isinstance(value, list) else _refuse(value, name, "an array")


def _object(value, name):
    if value in (None, ""):
        return {}
    return value if isinstance(value, dict) else _refuse(value, name, "an object")


def _refuse(value, name, kind):
    shown = repr(value)
    shown = shown if len(shown) <= 60 else shown[:57] + "..."
    raise ValueError(f"The variable {name!r} holds {kind}; {shown} is not one.")


VARIABLE_COERCERS = {
    "string": _string,
    "integer": _integer,
    "float": _float,
    "boolean": _boolean,
    "array": _array,
    "object": _object,
}
