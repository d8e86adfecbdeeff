"""Functions on arrays, objects and strings as collections."""

from collections.abc import Hashable
from typing import Any

from automate.expressions.functions.registry import function
from automate.expressions.runtime import CallSite
from automate.expressions.values import hash_key, to_text, values_equal


def _sequence(site: CallSite, value: Any, index: int = 0) -> str | list | tuple:
    if isinstance(value, str | list | tuple):
        return value
    raise site.wrong_type(index, "a string or an array", value)


@function("length", 1)
def length(site: CallSite, value: Any) -> int:
    return len(_sequence(site, value))


@function("empty", 1)
def empty(site: CallSite, value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, str | list | tuple | dict):
        return len(value) == 0
    raise site.wrong_type(0, "a string, an array, an object or null", value)


@function("first", 1)
def first(site: CallSite, value: Any) -> Any:
    sequence = _sequence(site, value)
    if not sequence:
        return "" if isinstance(sequence, str) else None
    return sequence[0]


@function("last", 1)
def last(site: CallSite, value: Any) -> Any:
    sequence = _sequence(site, value)
    if not sequence:
        return "" if isinstance(sequence, str) else None
    return sequence[-1]


def _count(site: CallSite, value: Any) -> int:
    count = site.integer(value, 1)
    if count < 0:
        raise site.fail(f"needs a count of zero or more, got {count}")
    return count


@function("take", 2)
def take(site: CallSite, value: Any, count: Any) -> str | list:
    result = _as_list(_sequence(site, value)[: _count(site, count)])
    site.charge(len(result))
    return result


@function("skip", 2)
def skip(site: CallSite, value: Any, count: Any) -> str | list:
    result = _as_list(_sequence(site, value)[_count(site, count) :])
    site.charge(len(result))
    return result


def _as_list(value: str | list | tuple) -> str | list:
    return list(value) if isinstance(value, tuple) else value


@function("reverse", 1, builds=True, scans=True)
def reverse(site: CallSite, value: Any) -> list:
    return site.array(value, 0)[::-1]


@function("join", 2, builds=True, scans=True)
def join(site: CallSite, value: Any, separator: Any) -> str:
    values = site.array(value, 0)
    separator = site.text(separator, 1)
    parts = [to_text(item) for item in values]
    site.ensure_fits(sum(len(part) for part in parts) + len(separator) * max(len(parts) - 1, 0))
    return separator.join(parts)


@function("contains", 2, scans=True)
def contains(site: CallSite, collection: Any, value: Any) -> bool:
    if isinstance(collection, str):
        return site.text(value, 1) in collection
    if isinstance(collection, list | tuple):
        return any(values_equal(item, value) for item in collection)
    if isinstance(collection, dict):
        return isinstance(value, str) and value in collection
    raise site.wrong_type(0, "a string, an array or an object", collection)


def _same_kind(site: CallSite, values: tuple) -> type:
    if all(isinstance(value, dict) for value in values):
        return dict
    for index, value in enumerate(values):
        if not isinstance(value, list | tuple):
            raise site.wrong_type(index, "an array (or all objects)", value)
    return list


@function("union", 2, None, builds=True, scans=True)
def union(site: CallSite, *values: Any) -> list | dict:
    """Arrays: every distinct item, in order of appearance. Objects: merged, later ones win."""
    if _same_kind(site, values) is dict:
        merged: dict = {}
        for value in values:
            merged.update(value)
        return merged
    seen: set[Hashable] = set()
    result = []
    for value in values:
        for item in value:
            key = hash_key(item)
            if key not in seen:
                seen.add(key)
                result.append(item)
    return result


@function("intersection", 2, None, builds=True, scans=True)
def intersection(site: CallSite, *values: Any) -> list | dict:
    """Arrays: distinct items found in all. Objects: properties equal in all."""
    if _same_kind(site, values) is dict:
        first_object, *others = values
        return {
            key: item
            for key, item in first_object.items()
            if all(key in other and values_equal(other[key], item) for other in others)
        }
    first_array, *others = values
    other_keys = [{hash_key(item) for item in other} for other in others]
    seen: set[Hashable] = set()
    result = []
    for item in first_array:
        key = hash_key(item)
        if key not in seen and all(key in keys for keys in other_keys):
            seen.add(key)
            result.append(item)
    return result
