"""Conversions between numbers, text, booleans, JSON and arrays."""

import json
import math
import re
from decimal import Decimal
from typing import Any

from automate.expressions.functions.registry import function
from automate.expressions.limits import MAX_JSON_DEPTH
from automate.expressions.runtime import CallSite
from automate.expressions.values import fits_int, to_text

_INTEGER = re.compile(r"\s*[+-]?[0-9]+\s*", re.ASCII)
_DECIMAL = re.compile(r"\s*[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?\s*", re.ASCII)


@function("int", 1)
def int_(site: CallSite, value: Any) -> int:
    if isinstance(value, str):
        # Python refuses to convert very long digit strings, so reject them by length first.
        if len(value) > 40 or not _INTEGER.fullmatch(value):
            raise site.fail(f"cannot convert '{value[:40]}' to an integer")
        number = int(value)
        if not fits_int(number):
            raise site.fail(f"cannot convert '{value}' to an integer: it is too large")
        return number
    if isinstance(value, float | Decimal) and not (math.isfinite(value) and value == int(value)):
        raise site.fail(f"cannot convert {value} to an integer without losing its fraction")
    return site.checked_int(site.integer(value, 0))


@function("float", 1)
def float_(site: CallSite, value: Any) -> float:
    if isinstance(value, str):
        if len(value) > 400 or not _DECIMAL.fullmatch(value):
            raise site.fail(f"cannot convert '{value[:40]}' to a decimal number")
        return site.checked_float(float(value))
    return site.checked_float(float(site.number(value, 0)))


@function("string", 1, builds=True, scans=True)
def string(site: CallSite, value: Any) -> str:
    return to_text(value)


@function("bool", 1, scans=True)
def bool_(site: CallSite, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        lowered = value.strip().lower()
        if lowered in ("true", "false"):
            return lowered == "true"
        raise site.fail(f"cannot convert '{value[:40]}' to a boolean; use 'true' or 'false'")
    return site.number(value, 0) != 0


@function("json", 1, builds=True, scans=True)
def json_(site: CallSite, value: Any) -> Any:
    text = site.text(value, 0)
    try:
        parsed = json.loads(
            text, parse_constant=_refuse_constant, parse_int=_json_int, parse_float=_json_float
        )
    except json.JSONDecodeError as error:
        raise site.fail(
            f"cannot parse the text as JSON: {error.msg} (character {error.pos})"
        ) from None
    except ValueError as error:
        raise site.fail(f"cannot parse the text as JSON: {error}") from None
    except RecursionError:
        raise site.fail("cannot parse the text as JSON: it is nested too deeply") from None
    if _depth_exceeds(parsed, MAX_JSON_DEPTH):
        raise site.fail(f"accepts JSON nested at most {MAX_JSON_DEPTH} levels deep")
    return parsed


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _json_int(text: str) -> int:
    if len(text) > 20 or not fits_int(int(text)):
        raise ValueError(f"the number {text[:30]} is too large")
    return int(text)


def _json_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"the number {text[:30]} is too large")
    return value


def _depth_exceeds(value: Any, limit: int) -> bool:
    pending = [(value, 1)]
    while pending:
        current, depth = pending.pop()
        if isinstance(current, dict | list):
            if depth > limit:
                return True
            children = current.values() if isinstance(current, dict) else current
            pending.extend((child, depth + 1) for child in children)
    return False


@function("createArray", 0, None, builds=True)
def create_array(site: CallSite, *values: Any) -> list:
    return list(values)


@function("array", 1, builds=True)
def array(site: CallSite, value: Any) -> list:
    return [value]
