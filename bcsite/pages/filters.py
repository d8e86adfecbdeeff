"""BC filter expressions on list fields: ``C1*``, ``<>''``, ``100..500``, ``open|released``.

People filter a list field the way Business Central lets them type it:

=================  =========================================================================
``value``          equals (text ignores case; an option matches its value or its caption)
``<>value``        not equal
``a|b``            either (``|`` is "or"; ``&`` is "and" and binds tighter)
``a..b``           from a to b, both included; ``a..`` and ``..b`` are open ranges
``>x`` ``>=x``     greater than (or equal); ``<x`` and ``<=x`` likewise
``*part*``         text containing "part"; ``part*`` starts with it, ``*part`` ends with it
``''``             blank; ``<>''`` is anything but blank
``'a|b'``          quotes take the text as it is (``''`` inside quotes is one quote)
``t``              today, in a date field
=================  =========================================================================

The expression is parsed by a small scanner, never evaluated, and turned into a ``Q`` for
the field's type. Anything it cannot use raises ``FilterError`` with a message for people.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, Literal

from django import forms
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F, Q
from django.db.models.lookups import Contains, IContains
from django.utils import timezone

# Long enough for a dozen order numbers joined with |; short enough to keep queries small.
MAX_LENGTH = 250
MAX_TERMS = 20
# Each * is one more % in a LIKE pattern; a few are plenty and keep matching cheap.
MAX_WILDCARDS = 4
# Primary keys and integer columns are 64-bit at most.
INTEGER_LIMIT = 2**63
# Digits after the point worth comparing: more than any column stores.
MAX_DECIMALS = 10

Kind = Literal["text", "choice", "boolean", "number", "integer", "date", "datetime"]
Op = Literal["eq", "ne", "gt", "ge", "lt", "le", "range"]

_COMPARISONS = {"<>": "ne", ">=": "ge", "<=": "le", ">": "gt", "<": "lt"}
_LOOKUPS = {"gt": "gt", "ge": "gte", "lt": "lt", "le": "lte"}
_YES = {"yes", "true", "1", "on", "y"}
_NO = {"no", "false", "0", "off", "n"}
_NUMBER = re.compile(r"[+-]?(?:\d{1,3}(?:,\d{3})+|\d*)(?:\.\d*)?")
_TODAY = {"t", "today"}


class FilterError(ValueError):
    """An expression this field cannot be filtered with; the message says why."""


# -- Parsing --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Operand:
    """A value as typed. Quoted values are taken literally: no wildcards, no operators."""

    text: str
    quoted: bool = False

    @property
    def blank(self) -> bool:
        return self.quoted and self.text == ""

    @property
    def wildcard(self) -> bool:
        return not self.quoted and "*" in self.text

    def __str__(self) -> str:
        if self.quoted:
            return "'" + self.text.replace("'", "''") + "'"
        return self.text


@dataclass(frozen=True)
class Condition:
    """One comparison: ``op`` with ``value`` (for a range: ``value``..``high``, either open)."""

    op: Op
    value: Operand | None
    high: Operand | None = None


# An expression: alternatives (joined by |), each all of its conditions (joined by &).
Expression = tuple[tuple[Condition, ...], ...]

_Token = tuple[str, Any]  # ("sep", "|"), ("op", "<>"), ("range", None), ("value", Operand)


def parse(text: str) -> Expression:
    """The structure of ``text``; raises FilterError when it has none.

    An empty expression (only spaces) means "no filter" and parses to ``()``.
    """
    if len(text) > MAX_LENGTH:
        raise FilterError(f"A filter can be at most {MAX_LENGTH} characters long.")
    if any((ord(c) < 32 and c != "\t") or 0xD800 <= ord(c) <= 0xDFFF for c in text):
        raise FilterError("A filter cannot contain control characters or broken text.")
    if not text.strip():
        return ()
    alternatives: list[tuple[Condition, ...]] = []
    conditions: list[Condition] = []
    chunk: list[_Token] = []
    for kind, value in [*_scan(text), ("sep", "|")]:
        if kind != "sep":
            chunk.append((kind, value))
            continue
        conditions.append(_condition(chunk))
        chunk = []
        if value == "|":
            alternatives.append(tuple(conditions))
            conditions = []
    if sum(len(a) for a in alternatives) > MAX_TERMS:
        raise FilterError(f"A filter can combine at most {MAX_TERMS} values.")
    return tuple(alternatives)


def _scan(text: str) -> list[_Token]:
    """Split ``text`` into separators, operators, ``..`` and values.

    A quote starts a quoted value only where a value starts ("O'Brien" is plain text), and
    ``<``, ``>``, ``<>`` are operators only at the start of a condition.
    """
    tokens: list[_Token] = []
    plain: list[str] = []
    quoted: str | None = None

    def flush() -> None:
        nonlocal quoted
        rest = "".join(plain).strip()
        if quoted is not None:
            tokens.append(("value", Operand(quoted, quoted=True)))
        elif rest:
            tokens.append(("value", Operand(rest)))
        plain.clear()
        quoted = None

    i, n = 0, len(text)
    while i < n:
        char = text[i]
        at_value_start = quoted is None and not "".join(plain).strip()
        if char == "'" and at_value_start:
            quoted, i = _read_quoted(text, i)
            continue
        if char in "|&":
            flush()
            tokens.append(("sep", char))
            i += 1
            continue
        if text.startswith("..", i):
            flush()
            tokens.append(("range", None))
            i += 2
            continue
        if char in "<>" and at_value_start and (not tokens or tokens[-1][0] == "sep"):
            op = text[i : i + 2] if text[i : i + 2] in _COMPARISONS else char
            tokens.append(("op", op))
            i += len(op)
            continue
        if quoted is not None and not char.isspace():
            raise FilterError(f"Put the whole value in quotes: '{quoted}' is followed by {char}.")
        plain.append(char)
        i += 1
    flush()
    return tokens


def _read_quoted(text: str, start: int) -> tuple[str, int]:
    chars: list[str] = []
    i = start + 1
    while i < len(text):
        if text[i] == "'":
            if text.startswith("''", i):
                chars.append("'")
                i += 2
                continue
            return "".join(chars), i + 1
        chars.append(text[i])
        i += 1
    raise FilterError("A quote (') is not closed.")


def _condition(chunk: list[_Token]) -> Condition:
    kinds = tuple(kind for kind, _ in chunk)
    values = [value for _, value in chunk]
    if kinds == ("value",):
        return Condition("eq", values[0])
    if kinds == ("op", "value"):
        return Condition(_COMPARISONS[values[0]], values[1])
    if kinds in (("value", "range", "value"), ("value", "range")):
        return Condition("range", values[0], values[2] if len(values) == 3 else None)
    if kinds == ("range", "value"):
        return Condition("range", None, values[1])
    if not chunk or kinds == ("op",):
        raise FilterError("A value is missing (next to |, & or an operator).")
    if "range" in kinds:
        raise FilterError("A range is written from..to, e.g. 100..500.")
    raise FilterError("Write one operator before a value, e.g. >100 or <>Chicago.")


# -- Fields ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class FilterField:
    """What an expression filters: a model field path, its kind, its caption.

    ``normalize`` makes text comparisons exact on the normalized value (No. fields are
    stored upper case: ``str.upper``), which an index can serve.
    """

    path: str
    kind: Kind
    label: str
    nullable: bool = False
    choices: tuple[tuple[Any, str], ...] = ()
    normalize: Callable[[str], str] | None = None
    max_digits: int | None = None
    decimal_places: int | None = None

    @classmethod
    def for_model_field(
        cls,
        model_field: models.Field | None,
        path: str,
        label: str,
        normalize: Callable[[str], str] | None = None,
    ) -> FilterField:
        kind = _kind(model_field)
        choices: tuple[tuple[Any, str], ...] = ()
        if kind == "choice" and model_field is not None:
            choices = tuple((k, str(v)) for k, v in model_field.flatchoices)
        return cls(
            path=path,
            kind=kind,
            label=label,
            nullable=bool(model_field is not None and model_field.null),
            choices=choices,
            normalize=normalize if kind == "text" else None,
            max_digits=getattr(model_field, "max_digits", None),
            decimal_places=getattr(model_field, "decimal_places", None),
        )


def _kind(model_field: models.Field | None) -> Kind:
    if model_field is None:
        return "text"
    if model_field.choices and not model_field.is_relation:
        return "choice"
    if isinstance(model_field, models.BooleanField):
        return "boolean"
    if isinstance(model_field, models.DateTimeField):
        return "datetime"
    if isinstance(model_field, models.DateField):
        return "date"
    if isinstance(model_field, models.DecimalField | models.FloatField):
        return "number"
    if isinstance(model_field, models.IntegerField | models.AutoField | models.ForeignKey):
        return "integer"
    return "text"


def filter_q(text: str, field: FilterField) -> Q:
    """The ``Q`` that keeps the rows matching ``text`` in ``field``.

    Raises FilterError (never anything else) for an expression the field cannot take.
    """
    expression = parse(text)
    if not expression:
        return Q()
    result = Q()
    for index, alternative in enumerate(expression):
        both = Q()
        for condition in alternative:
            both &= _condition_q(condition, field)
        result = both if index == 0 else result | both
    return result


def describe_error(text: str, field: FilterField, error: FilterError) -> str:
    return f"The filter '{text}' is not valid for {field.label}: {error}"


# -- Conditions by kind ----------------------------------------------------------------------


def _condition_q(condition: Condition, field: FilterField) -> Q:
    if field.kind == "text":
        return _text_q(condition, field)
    if field.kind == "choice":
        return _choice_q(condition, field)
    if field.kind == "boolean":
        return _boolean_q(condition, field)
    return _ordered_q(condition, field)


def _text_q(condition: Condition, field: FilterField) -> Q:
    if condition.op == "range":
        for operand in (condition.value, condition.high):
            if operand is not None and operand.wildcard:
                raise FilterError("A range cannot contain wildcards (*).")
        return _range_q(field.path, *_ends(condition, lambda o: _text(o, field)))
    assert condition.value is not None
    operand = condition.value
    if condition.op in ("eq", "ne"):
        matched = _text_match(operand, field)
        return ~matched if condition.op == "ne" else matched
    if operand.wildcard:
        raise FilterError(f"Wildcards (*) cannot be used with {_symbol(condition.op)}.")
    return Q(**{f"{field.path}__{_LOOKUPS[condition.op]}": _text(operand, field)})


def _text(operand: Operand, field: FilterField) -> str:
    return field.normalize(operand.text) if field.normalize else operand.text


def _text_match(operand: Operand, field: FilterField) -> Q:
    path, exact = field.path, field.normalize is not None
    if operand.blank:
        blank = Q(**{path: ""})
        return blank | Q(**{f"{path}__isnull": True}) if field.nullable else blank
    if not operand.wildcard:
        value = _text(operand, field)
        return Q(**{path: value}) if exact else Q(**{f"{path}__iexact": value})
    value = _text(operand, field)
    parts = value.split("*")
    if len(parts) - 1 > MAX_WILDCARDS:
        raise FilterError(f"Use at most {MAX_WILDCARDS} wildcards (*) in one value.")
    inner = [p for p in parts if p]
    if not inner:
        # "*" alone: any value, blank included.
        return Q(pk__isnull=False)
    prefix = "" if exact else "i"
    if len(inner) == 1:
        (part,) = inner
        if parts[0] and not parts[-1] and len(parts) == 2:
            return Q(**{f"{path}__{prefix}startswith": part})
        if parts[-1] and not parts[0] and len(parts) == 2:
            return Q(**{f"{path}__{prefix}endswith": part})
        if not parts[0] and not parts[-1]:
            return Q(**{f"{path}__{prefix}contains": part})
    lookup = _Like if exact else _ILike
    return Q(lookup(F(path), value))


class _StarPattern:
    """A ``contains`` lookup's SQL with the user's pattern: each * becomes %, and everything
    else (``%``, ``_`` included) is escaped by the backend and matches literally."""

    param_pattern = "%s"

    def process_rhs(self, qn, connection):
        sql, params = super().process_rhs(qn, connection)
        if params:
            params[0] = params[0].replace("*", "%")
        return sql, params


class _ILike(_StarPattern, IContains):
    pass


class _Like(_StarPattern, Contains):
    """For values stored normalized (``contains``: exact case where it matters)."""


def _choice_q(condition: Condition, field: FilterField) -> Q:
    if condition.op not in ("eq", "ne"):
        raise FilterError(
            f"Options can only be matched, not compared with {_symbol(condition.op)}; "
            "use | for several, e.g. Open|Released."
        )
    assert condition.value is not None
    values = _choice_values(condition.value, field)
    matched = Q(**{f"{field.path}__in": values})
    return ~matched if condition.op == "ne" else matched


def _choice_values(operand: Operand, field: FilterField) -> list[Any]:
    if operand.blank:
        return [""]
    if operand.wildcard:
        parts = operand.text.strip().casefold().split("*")
        pattern = re.compile(".*".join(re.escape(p) for p in parts) + r"\Z")
        return [
            value
            for value, label in field.choices
            if pattern.match(str(value).casefold()) or pattern.match(label.strip().casefold())
        ]
    wanted = operand.text.strip().casefold()
    for value, _label in field.choices:
        if str(value).casefold() == wanted:
            return [value]
    for value, label in field.choices:
        if label.strip().casefold() == wanted:
            return [value]
    options = ", ".join(label.strip() or "'' (blank)" for _, label in field.choices)
    raise FilterError(f"{operand.text} is not an option. The options are: {options}.")


def _boolean_q(condition: Condition, field: FilterField) -> Q:
    if condition.op not in ("eq", "ne"):
        raise FilterError(f"Yes/No fields cannot be compared with {_symbol(condition.op)}.")
    assert condition.value is not None
    text = condition.value.text.strip().casefold()
    if text in _YES:
        value = True
    elif text in _NO:
        value = False
    else:
        raise FilterError(f"Type Yes or No, not {condition.value}.")
    return Q(**{field.path: value if condition.op == "eq" else not value})


def _ordered_q(condition: Condition, field: FilterField) -> Q:
    """Numbers and dates: equality, comparisons, ranges; blank is "no value"."""
    path = f"{field.path}__date" if field.kind == "datetime" else field.path
    parse_value = _PARSERS[field.kind]
    if condition.op == "range":
        low, high = _ends(condition, lambda o: parse_value(o, field))
        if low is not None and high is not None and low > high:
            raise FilterError(
                f"The range starts after it ends ({condition.value} > {condition.high})."
            )
        return _range_q(path, low, high)
    assert condition.value is not None
    operand = condition.value
    if operand.blank:
        if condition.op not in ("eq", "ne"):
            raise FilterError(f"A blank value cannot be compared with {_symbol(condition.op)}.")
        return Q(**{f"{field.path}__isnull": condition.op == "eq"})
    value = parse_value(operand, field)
    if condition.op == "eq":
        return Q(**{path: value})
    if condition.op == "ne":
        return ~Q(**{path: value})
    return Q(**{f"{path}__{_LOOKUPS[condition.op]}": value})


def _ends(condition: Condition, convert: Callable[[Operand], Any]) -> tuple[Any, Any]:
    for operand in (condition.value, condition.high):
        if operand is not None and operand.blank:
            raise FilterError("A range cannot start or end with a blank value ('').")
    low = convert(condition.value) if condition.value is not None else None
    high = convert(condition.high) if condition.high is not None else None
    return low, high


def _range_q(path: str, low: Any, high: Any) -> Q:
    result = Q()
    if low is not None:
        result &= Q(**{f"{path}__gte": low})
    if high is not None:
        result &= Q(**{f"{path}__lte": high})
    return result


def _number(operand: Operand, field: FilterField) -> Decimal:
    text = _plain(operand, "a number").replace(" ", "")
    if not _NUMBER.fullmatch(text) or not any(c.isdigit() for c in text):
        raise FilterError(f"{operand} is not a number.")
    try:
        value = Decimal(text.replace(",", ""))
    except InvalidOperation as error:  # pragma: no cover - the pattern admits only numbers
        raise FilterError(f"{operand} is not a number.") from error
    _sign, digits, exponent = value.as_tuple()
    assert isinstance(exponent, int)  # the pattern admits finite numbers only
    whole_digits, places = max(0, len(digits) + exponent), max(0, -exponent)
    if field.max_digits is not None and field.decimal_places is not None:
        if whole_digits > field.max_digits - field.decimal_places:
            raise FilterError(f"{operand} is larger than any {field.label}.")
    elif whole_digits > 30:
        raise FilterError(f"{operand} is too large.")
    if places > MAX_DECIMALS:
        raise FilterError(f"{operand} has more than {MAX_DECIMALS} decimals.")
    return value


def _integer(operand: Operand, field: FilterField) -> int:
    text = _plain(operand, "a whole number").replace(" ", "")
    if not re.fullmatch(r"[+-]?(?:\d{1,3}(?:,\d{3})+|\d+)", text):
        raise FilterError(f"{operand} is not a whole number.")
    if len(text) > 25 or abs(int(text.replace(",", ""))) >= INTEGER_LIMIT:
        raise FilterError(f"{operand} is too large.")
    return int(text.replace(",", ""))


def _date(operand: Operand, field: FilterField) -> datetime.date:
    text = _plain(operand, "a date")
    if text.casefold() in _TODAY:
        return timezone.localdate()
    try:
        value = forms.DateField().to_python(text)
    except (ValidationError, ValueError, OverflowError) as error:
        raise FilterError(
            f"{operand} is not a date (type e.g. 2025-01-31 or t for today)."
        ) from error
    if value is None:
        raise FilterError(f"{operand} is not a date.")
    return value


def _plain(operand: Operand, what: str) -> str:
    if operand.wildcard:
        raise FilterError("Wildcards (*) can only be used on text.")
    text = operand.text.strip()
    if not text:
        raise FilterError(f"Type {what}.")
    return text


_PARSERS: dict[str, Callable[[Operand, FilterField], Any]] = {
    "number": _number,
    "integer": _integer,
    "date": _date,
    "datetime": _date,
}


def _symbol(op: str) -> str:
    return {"gt": ">", "ge": ">=", "lt": "<", "le": "<=", "range": "..", "ne": "<>"}.get(op, "=")


# -- For the filter pane ----------------------------------------------------------------------


def hint(field: FilterField) -> str:
    """An example of what the field takes, for the input's placeholder."""
    return {
        "text": "e.g. C1* or A|B",
        "choice": "e.g. Open|Released",
        "boolean": "Yes or No",
        "number": "e.g. >1000 or 10..50",
        "integer": "e.g. 10..20",
        "date": "e.g. 2025-01-01..t",
        "datetime": "e.g. 2025-01-01..t",
    }[field.kind]


def suggestions(field: FilterField) -> Sequence[str]:
    """Values offered as the field's datalist: its options, Yes/No."""
    if field.kind == "boolean":
        return ["Yes", "No"]
    if field.kind == "choice":
        labels = [label.strip() for value, label in field.choices if label.strip()]
        blank = any(value == "" for value, _ in field.choices)
        return [*labels, *(["''", "<>''"] if blank else [])]
    return []
