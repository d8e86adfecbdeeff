"""Arithmetic on 64-bit integers and decimals, with .NET's rounding toward zero."""

import math
from typing import Any

from automate.expressions.functions.registry import function
from automate.expressions.limits import MAX_VALUE_SIZE
from automate.expressions.runtime import CallSite


def _result(site: CallSite, value: int | float) -> int | float:
    if isinstance(value, int):
        return site.checked_int(value)
    return site.checked_float(value)


@function("add", 2)
def add(site: CallSite, left: Any, right: Any) -> int | float:
    return _result(site, site.number(left, 0) + site.number(right, 1))


@function("sub", 2)
def sub(site: CallSite, left: Any, right: Any) -> int | float:
    return _result(site, site.number(left, 0) - site.number(right, 1))


@function("mul", 2)
def mul(site: CallSite, left: Any, right: Any) -> int | float:
    return _result(site, site.number(left, 0) * site.number(right, 1))


@function("div", 2)
def div(site: CallSite, left: Any, right: Any) -> int | float:
    dividend, divisor = site.number(left, 0), site.number(right, 1)
    if divisor == 0:
        raise site.fail("cannot divide by zero")
    if isinstance(dividend, int) and isinstance(divisor, int):
        quotient = abs(dividend) // abs(divisor)
        return _result(site, quotient if (dividend < 0) == (divisor < 0) else -quotient)
    return _result(site, dividend / divisor)


@function("mod", 2)
def mod(site: CallSite, left: Any, right: Any) -> int | float:
    dividend, divisor = site.number(left, 0), site.number(right, 1)
    if divisor == 0:
        raise site.fail("cannot divide by zero")
    if isinstance(dividend, int) and isinstance(divisor, int):
        # The remainder takes the dividend's sign, as in .NET: mod(-7, 2) is -1.
        remainder = abs(dividend) % abs(divisor)
        return remainder if dividend >= 0 else -remainder
    return _result(site, math.fmod(dividend, divisor))


def _numbers(site: CallSite, args: tuple) -> list[int | float]:
    if len(args) == 1 and isinstance(args[0], list | tuple):
        values = list(args[0])
        if not values:
            raise site.fail("needs at least one number, got an empty array")
        return [site.number(value, 0) for value in values]
    return [site.number(value, index) for index, value in enumerate(args)]


@function("min", 1, None, scans=True)
def min_(site: CallSite, *args: Any) -> int | float:
    return min(_numbers(site, args))


@function("max", 1, None, scans=True)
def max_(site: CallSite, *args: Any) -> int | float:
    return max(_numbers(site, args))


@function("range", 2, builds=True)
def range_(site: CallSite, start: Any, count: Any) -> list[int]:
    first, length = site.integer(start, 0), site.integer(count, 1)
    if length < 0:
        raise site.fail("needs a count of zero or more")
    if length > MAX_VALUE_SIZE:
        raise site.fail(f"cannot produce more than {MAX_VALUE_SIZE:,} items")
    site.checked_int(first + length)
    site.charge(length)
    return list(range(first, first + length))
