"""Comparisons and logic. and, or, if and coalesce evaluate only the arguments they need."""

from typing import Any

from automate.expressions.functions.registry import function
from automate.expressions.runtime import CallSite, Thunk
from automate.expressions.values import is_number, values_equal


@function("equals", 2, scans=True)
def equals(site: CallSite, left: Any, right: Any) -> bool:
    return values_equal(left, right)


@function("not", 1)
def not_(site: CallSite, value: Any) -> bool:
    return not site.boolean(value, 0)


@function("and", 2, None, lazy=True)
def and_(site: CallSite, *conditions: Thunk) -> bool:
    # all() stops at the first false condition, so later ones are never evaluated.
    return all(site.boolean(condition(), index) for index, condition in enumerate(conditions))


@function("or", 2, None, lazy=True)
def or_(site: CallSite, *conditions: Thunk) -> bool:
    return any(site.boolean(condition(), index) for index, condition in enumerate(conditions))


@function("if", 3, lazy=True)
def if_(site: CallSite, condition: Thunk, when_true: Thunk, when_false: Thunk) -> Any:
    return when_true() if site.boolean(condition(), 0) else when_false()


@function("coalesce", 1, None, lazy=True)
def coalesce(site: CallSite, *values: Thunk) -> Any:
    for value in values:
        result = value()
        if result is not None:
            return result
    return None


def _compare(site: CallSite, left: Any, right: Any) -> int:
    if is_number(left) and is_number(right):
        left, right = site.number(left, 0), site.number(right, 1)
    elif isinstance(left, str) and isinstance(right, str):
        pass
    elif is_number(left) or isinstance(left, str):
        raise site.wrong_type(1, "a value of the same kind as the first", right)
    else:
        raise site.wrong_type(0, "a number or a string", left)
    return (left > right) - (left < right)


@function("greater", 2, scans=True)
def greater(site: CallSite, left: Any, right: Any) -> bool:
    return _compare(site, left, right) > 0


@function("greaterOrEquals", 2, scans=True)
def greater_or_equals(site: CallSite, left: Any, right: Any) -> bool:
    return _compare(site, left, right) >= 0


@function("less", 2, scans=True)
def less(site: CallSite, left: Any, right: Any) -> bool:
    return _compare(site, left, right) < 0


@function("lessOrEquals", 2, scans=True)
def less_or_equals(site: CallSite, left: Any, right: Any) -> bool:
    return _compare(site, left, right) <= 0
