"""Functions on strings. indexOf, lastIndexOf, startsWith and endsWith ignore case, as in PA."""

import re
from typing import Any

from automate.expressions.functions.registry import function
from automate.expressions.runtime import CallSite
from automate.expressions.values import to_text


@function("concat", 1, None, builds=True, scans=True)
def concat(site: CallSite, *values: Any) -> str:
    parts = [to_text(value) for value in values]
    site.ensure_fits(sum(len(part) for part in parts))
    return "".join(parts)


@function("toUpper", 1, builds=True, scans=True)
def to_upper(site: CallSite, value: Any) -> str:
    return site.text(value, 0).upper()


@function("toLower", 1, builds=True, scans=True)
def to_lower(site: CallSite, value: Any) -> str:
    return site.text(value, 0).lower()


@function("trim", 1, scans=True)
def trim(site: CallSite, value: Any) -> str:
    return site.text(value, 0).strip()


@function("substring", 2, 3)
def substring(site: CallSite, value: Any, start: Any, length: Any = None) -> str:
    text = site.text(value, 0)
    begin = site.integer(start, 1)
    if not 0 <= begin <= len(text):
        raise site.fail(f"start index {begin} must be between 0 and the text's length, {len(text)}")
    if length is None:
        return text[begin:]
    count = site.integer(length, 2)
    if count < 0 or begin + count > len(text):
        raise site.fail(
            f"start index {begin} plus length {count} must be within the text's length, {len(text)}"
        )
    site.charge(count)
    return text[begin : begin + count]


@function("slice", 2, 3)
def slice_(site: CallSite, value: Any, start: Any, end: Any = None) -> str:
    """Negative positions count from the end; positions past either end are clamped."""
    text = site.text(value, 0)
    begin = site.integer(start, 1)
    stop = len(text) if end is None else site.integer(end, 2)
    result = text[begin:stop]
    site.charge(len(result))
    return result


@function("replace", 3, builds=True, scans=True)
def replace(site: CallSite, value: Any, old: Any, new: Any) -> str:
    text, old, new = site.text(value, 0), site.text(old, 1), site.text(new, 2)
    if not old:
        raise site.fail("needs non-empty text to replace")
    site.ensure_fits(len(text) + text.count(old) * (len(new) - len(old)))
    return text.replace(old, new)


@function("split", 2, builds=True, scans=True)
def split(site: CallSite, value: Any, separator: Any) -> list[str]:
    text, separator = site.text(value, 0), site.text(separator, 1)
    if not separator:
        raise site.fail("needs a non-empty separator")
    site.ensure_fits(len(text) + text.count(separator) + 1)
    return text.split(separator)


def _positions(site: CallSite, value: Any, search: Any) -> tuple[str, str, bool]:
    """Both texts lowercased, and whether positions in them are positions in the original."""
    text, search = site.text(value, 0), site.text(search, 1)
    lowered_text, lowered_search = text.lower(), search.lower()
    # A few characters change length when lowercased ('İ'); then positions must be searched
    # in the original text.
    same = len(lowered_text) == len(text) and len(lowered_search) == len(search)
    return (lowered_text, lowered_search, same) if same else (text, search, same)


def _regex_matches(text: str, search: str) -> list[int]:
    return [match.start() for match in re.finditer(re.escape(search), text, re.IGNORECASE)]


@function("indexOf", 2, scans=True)
def index_of(site: CallSite, value: Any, search: Any) -> int:
    text, needle, direct = _positions(site, value, search)
    if direct:
        return text.find(needle)
    matches = _regex_matches(text, needle)
    return matches[0] if matches else -1


@function("lastIndexOf", 2, scans=True)
def last_index_of(site: CallSite, value: Any, search: Any) -> int:
    text, needle, direct = _positions(site, value, search)
    if direct:
        return text.rfind(needle)
    matches = _regex_matches(text, needle)
    return matches[-1] if matches else -1


@function("startsWith", 2, scans=True)
def starts_with(site: CallSite, value: Any, search: Any) -> bool:
    return site.text(value, 0).lower().startswith(site.text(search, 1).lower())


@function("endsWith", 2, scans=True)
def ends_with(site: CallSite, value: Any, search: Any) -> bool:
    return site.text(value, 0).lower().endswith(site.text(search, 1).lower())
