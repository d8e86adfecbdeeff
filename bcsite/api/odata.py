"""OData query options over a table's API fields: ``$filter``, ``$select``, ``$orderby``,
``$top``, ``$skip``, ``$expand``, ``$count`` and the ``$skiptoken`` of ``@odata.nextLink``.

``$filter`` is read by a small recursive-descent parser into a Django ``Q`` over the
table's attributes; nothing in it is ever evaluated. Its grammar, as BC's API accepts it::

    expression := term ("or" term)*
    term       := factor ("and" factor)*
    factor     := "not" factor | "(" expression ")" | function | comparison | field
    function   := (contains|startswith|endswith) "(" field "," 'text' ")" [("eq"|"ne") bool]
    comparison := field (eq|ne|gt|ge|lt|le) literal
    literal    := 'text' ('' inside) | number | true | false | null | date | datetime | GUID

The filter's length, nesting and number of comparisons are limited, and every literal is
checked against its field's type before it reaches a query, so a bad filter is a 400 with
a message, never a database error.

Paging is by keyset: the next link's ``$skiptoken`` carries the last row's sort values
(signed), so page 500 costs what page 1 costs, and rows are neither skipped nor repeated
when others are inserted meanwhile.
"""

from __future__ import annotations

import base64
import binascii
import datetime
import json
import re
import uuid
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core import signing
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from bcsite.registry import Table, TableField, _model_field, _option_value

MAX_FILTER_LENGTH = 2048
MAX_FILTER_DEPTH = 16
MAX_FILTER_COMPARISONS = 64
MAX_LITERAL_LENGTH = 1000
MAX_ORDERBY_FIELDS = 5
# BC's largest page; without $top or a Prefer header a page holds DEFAULT_PAGE_SIZE rows.
MAX_PAGE_SIZE = 20000
DEFAULT_PAGE_SIZE = 100
MAX_SKIP = 10**9
MAX_SKIPTOKEN_LENGTH = 4096
_INTEGER_LIMIT = 2**63
# Text no database column holds (PostgreSQL refuses NUL; lone surrogates cannot be encoded).
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")

SUPPORTED_OPTIONS = (
    "$filter",
    "$select",
    "$orderby",
    "$top",
    "$skip",
    "$expand",
    "$count",
    "$skiptoken",
    "$schemaversion",
    "$format",
)


class ODataError(Exception):
    """A query option the API cannot follow: a 400 with BC's error code and a message."""

    def __init__(self, message: str, code: str = "BadRequest") -> None:
        super().__init__(message)
        self.message = message
        self.code = code


def _filter_error(message: str) -> ODataError:
    return ODataError(message, "BadRequest_InvalidFilter")


# -- $filter: tokens ----------------------------------------------------------------------

_TOKEN = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<string>'(?:[^']|'')*')
  | (?P<datetime>\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?
        (?:Z|[+-]\d{2}:\d{2})?)(?![\w.:-])
  | (?P<guid>[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12})(?![\w-])
  | (?P<date>\d{4}-\d{2}-\d{2})(?![\w.:-])
  | (?P<number>[+-]?(?:\d+(?:\.\d+)?|\.\d+)(?:[eE][+-]?\d+)?)(?![\w.])
  | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<punct>[(),])
    """,
    re.VERBOSE,
)

_OPERATORS = {"eq", "ne", "gt", "ge", "lt", "le"}
_FUNCTIONS = {"contains", "startswith", "endswith"}
_ORDERED_TYPES = {"text", "integer", "number", "date", "datetime"}


@dataclass(frozen=True)
class _Token:
    kind: str  # string, datetime, guid, date, number, name, punct, end
    text: str
    position: int


def _tokens(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    position = 0
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None:
            if text[position] == "'":
                raise _filter_error(
                    f"The text starting at position {position + 1} has no closing quote ('). "
                    "Write a quote inside text as two quotes ('')."
                )
            raise _filter_error(
                f"The filter cannot be read at position {position + 1}: "
                f"unexpected {text[position]!r}."
            )
        kind = match.lastgroup or ""
        if kind != "ws":
            tokens.append(_Token(kind, match.group(), position + 1))
        position = match.end()
    tokens.append(_Token("end", "", len(text) + 1))
    return tokens


# -- $filter: the parser ------------------------------------------------------------------


@dataclass
class _Literal:
    kind: str  # string, number, date, datetime, guid, boolean, null
    value: Any
    text: str


class FilterParser:
    """Turns a ``$filter`` into a ``Q`` over ``table``'s attributes (see the module's grammar)."""

    def __init__(self, table: Table, text: str) -> None:
        if len(text) > MAX_FILTER_LENGTH:
            raise _filter_error(
                f"The filter is too long ({len(text)} characters); "
                f"it may have at most {MAX_FILTER_LENGTH}."
            )
        if _UNSTORABLE.search(text):
            raise _filter_error("The filter contains characters that are not allowed.")
        self.table = table
        self.tokens = _tokens(text)
        self.index = 0
        self.depth = 0
        self.comparisons = 0
        self.fields_used: set[str] = set()

    def parse(self) -> Q:
        if self._peek().kind == "end":
            raise _filter_error("The filter is empty.")
        q = self._expression()
        token = self._peek()
        if token.kind != "end":
            raise _filter_error(
                f"Unexpected {token.text!r} at position {token.position}: "
                "expected 'and', 'or' or the end of the filter."
            )
        return q

    # Grammar rules --------------------------------------------------------------------

    def _expression(self) -> Q:
        q = self._term()
        while self._keyword("or"):
            q = q | self._term()
        return q

    def _term(self) -> Q:
        q = self._factor()
        while self._keyword("and"):
            q = q & self._factor()
        return q

    def _factor(self) -> Q:
        self._enter()
        try:
            if self._keyword("not"):
                return ~self._factor()
            token = self._peek()
            if token.kind == "punct" and token.text == "(":
                self._next()
                q = self._expression()
                self._expect(")")
                return q
            if token.kind == "name" and token.text.lower() in _FUNCTIONS:
                following = self.tokens[self.index + 1]
                if following.kind == "punct" and following.text == "(":
                    return self._function()
            return self._comparison()
        finally:
            self.depth -= 1

    def _function(self) -> Q:
        name = self._next().text.lower()
        self._expect("(")
        table_field = self._field()
        self._expect(",")
        literal = self._literal()
        self._expect(")")
        if table_field.type != "text":
            raise _filter_error(
                f"{name}() works on text fields; {table_field.api_name} is a "
                f"{table_field.type} field."
            )
        if literal.kind != "string":
            raise _filter_error(f"The second argument of {name}() must be text in quotes.")
        self._count()
        lookup = {"contains": "icontains", "startswith": "istartswith", "endswith": "iendswith"}
        q = Q(**{f"{table_field.attribute}__{lookup[name]}": literal.value})
        # ``contains(displayName,'x') eq true`` is OData too.
        operator = self._peek().text.lower() if self._peek().kind == "name" else ""
        if operator in ("eq", "ne"):
            self._next()
            answer = self._literal()
            if answer.kind != "boolean":
                raise _filter_error(f"{name}() can only be compared with true or false.")
            if (operator == "eq") != answer.value:
                q = ~q
        return q

    def _comparison(self) -> Q:
        table_field = self._field()
        token = self._peek()
        operator = token.text.lower() if token.kind == "name" else ""
        if operator not in _OPERATORS:
            if table_field.type == "boolean":
                # A yes/no field on its own: ``blocked`` means ``blocked eq true``.
                self._count()
                return Q(**{table_field.attribute: True})
            shown = token.text or "the end of the filter"
            raise _filter_error(
                f"Expected a comparison (eq, ne, gt, ge, lt, le) after {table_field.api_name} "
                f"at position {token.position}, found {shown!r}."
            )
        self._next()
        literal = self._literal()
        self._count()
        return comparison_q(self.table, table_field, operator, literal)

    # Pieces -----------------------------------------------------------------------------

    def _field(self) -> TableField:
        token = self._next()
        if token.kind != "name":
            shown = token.text or "the end of the filter"
            raise _filter_error(
                f"Expected a field name at position {token.position}, found {shown!r}. "
                "Write the field first, e.g. city eq 'Atlanta'."
            )
        table_field = find_field(self.table, token.text)
        if table_field is None:
            raise _filter_error(
                f"Could not find a property named '{token.text}' on {self.table.entity}. "
                f"The fields are: {field_names(self.table)}."
            )
        if self.table.model_field(table_field) is None:
            raise _filter_error(f"{table_field.api_name} is computed and cannot be filtered on.")
        self.fields_used.add(table_field.api_name)
        return table_field

    def _literal(self) -> _Literal:
        token = self._next()
        if token.kind == "string":
            value = token.text[1:-1].replace("''", "'")
            if len(value) > MAX_LITERAL_LENGTH:
                raise _filter_error(
                    f"The text at position {token.position} is too long; "
                    f"at most {MAX_LITERAL_LENGTH} characters."
                )
            return _Literal("string", value, token.text)
        if token.kind == "number":
            try:
                number = Decimal(token.text)
            except InvalidOperation:
                raise _filter_error(f"{token.text} is not a number.") from None
            if not number.is_finite() or abs(number.adjusted()) > 30:
                raise _filter_error(f"The number {token.text} is out of range.")
            return _Literal("number", number, token.text)
        if token.kind == "date":
            try:
                return _Literal("date", datetime.date.fromisoformat(token.text), token.text)
            except ValueError:
                raise _filter_error(f"{token.text} is not a valid date.") from None
        if token.kind == "datetime":
            return _Literal("datetime", _parse_datetime(token.text), token.text)
        if token.kind == "guid":
            return _Literal("guid", uuid.UUID(token.text), token.text)
        if token.kind == "name" and token.text.lower() in ("true", "false"):
            return _Literal("boolean", token.text.lower() == "true", token.text)
        if token.kind == "name" and token.text.lower() == "null":
            return _Literal("null", None, token.text)
        shown = token.text or "the end of the filter"
        raise _filter_error(
            f"Expected a value at position {token.position}, found {shown!r}. "
            "Put text in single quotes, e.g. 'Atlanta'."
        )

    def _peek(self) -> _Token:
        return self.tokens[self.index]

    def _next(self) -> _Token:
        token = self.tokens[self.index]
        if token.kind != "end":
            self.index += 1
        return token

    def _keyword(self, word: str) -> bool:
        token = self._peek()
        if token.kind == "name" and token.text.lower() == word:
            self.index += 1
            return True
        return False

    def _expect(self, punct: str) -> None:
        token = self._next()
        if token.kind != "punct" or token.text != punct:
            shown = token.text or "the end of the filter"
            raise _filter_error(
                f"Expected {punct!r} at position {token.position}, found {shown!r}."
            )

    def _enter(self) -> None:
        self.depth += 1
        if self.depth > MAX_FILTER_DEPTH:
            raise _filter_error(f"The filter is nested too deeply (at most {MAX_FILTER_DEPTH}).")

    def _count(self) -> None:
        self.comparisons += 1
        if self.comparisons > MAX_FILTER_COMPARISONS:
            raise _filter_error(
                f"The filter has too many conditions (at most {MAX_FILTER_COMPARISONS})."
            )


def _parse_datetime(text: str) -> datetime.datetime:
    try:
        value = parse_datetime(text)
    except ValueError:
        value = None
    if value is None:
        raise _filter_error(f"{text} is not a valid date and time.")
    if timezone.is_naive(value):
        value = value.replace(tzinfo=datetime.UTC)
    try:
        return value.astimezone(datetime.UTC)
    except (OverflowError, ValueError):
        raise _filter_error(f"{text} is out of range.") from None


def comparison_q(table: Table, table_field: TableField, operator: str, literal: _Literal) -> Q:
    """``field <operator> literal`` as a Q, after checking the literal fits the field."""
    attribute, kind = table_field.attribute, table_field.type
    if literal.kind == "null":
        if operator not in ("eq", "ne"):
            raise _filter_error(
                f"null can only be compared with eq or ne ({table_field.api_name})."
            )
        return Q(**{f"{attribute}__isnull": operator == "eq"})
    if operator not in ("eq", "ne") and kind not in _ORDERED_TYPES:
        raise _filter_error(
            f"{table_field.api_name} is a {_TYPE_NAMES[kind]} field: compare it with eq or ne only."
        )
    value = _coerce(table, table_field, literal)
    if operator == "ne":
        return ~Q(**{attribute: value})
    if operator == "eq":
        return Q(**{attribute: value})
    lookup = {"gt": "gt", "ge": "gte", "lt": "lt", "le": "lte"}[operator]
    return Q(**{f"{attribute}__{lookup}": value})


_TYPE_NAMES = {
    "text": "text",
    "integer": "whole number",
    "number": "number",
    "boolean": "yes/no",
    "date": "date",
    "datetime": "date and time",
    "uuid": "GUID",
    "option": "option",
}
_EXAMPLES = {
    "text": "'Atlanta'",
    "integer": "10000",
    "number": "1500.5",
    "boolean": "true",
    "date": "2024-01-31",
    "datetime": "2024-01-31T12:00:00Z",
    "uuid": "0c4e4d2a-7b5f-4a8e-9a51-2f8d5c3b9e10",
    "option": "'Open'",
}


def _coerce(table: Table, table_field: TableField, literal: _Literal) -> Any:
    kind, value = table_field.type, literal.value
    mismatch = _filter_error(
        f"{table_field.api_name} is a {_TYPE_NAMES[kind]} field; {literal.text} is not a "
        f"{_TYPE_NAMES[kind]} value. For example: {table_field.api_name} eq {_EXAMPLES[kind]}."
    )
    if kind == "text":
        if literal.kind != "string":
            raise mismatch
        return value
    if kind == "option":
        if literal.kind != "string":
            raise mismatch
        try:
            return _option_value(table.model_field(table_field), table_field.label, value)
        except ValidationError as error:
            raise _filter_error(" ".join(error.messages)) from None
    if kind == "boolean":
        if literal.kind != "boolean":
            raise mismatch
        return value
    if kind == "integer":
        if literal.kind != "number" or value != value.to_integral_value():
            raise mismatch
        if abs(value) >= _INTEGER_LIMIT:
            raise _filter_error(f"{literal.text} is out of range for {table_field.api_name}.")
        return int(value)
    if kind == "number":
        if literal.kind != "number":
            raise mismatch
        return value
    if kind == "date":
        if literal.kind == "string":
            try:
                return datetime.date.fromisoformat(value)
            except ValueError:
                raise mismatch from None
        if literal.kind != "date":
            raise mismatch
        return value
    if kind == "datetime":
        if literal.kind == "date":
            return datetime.datetime.combine(value, datetime.time(), tzinfo=datetime.UTC)
        if literal.kind == "string":
            return _parse_datetime(value)
        if literal.kind != "datetime":
            raise mismatch
        return value
    if kind == "uuid":
        if literal.kind == "string":
            try:
                return uuid.UUID(value)
            except ValueError:
                raise mismatch from None
        if literal.kind != "guid":
            raise mismatch
        return value
    raise mismatch


# -- Fields -------------------------------------------------------------------------------


def find_field(table: Table, name: str) -> TableField | None:
    """The field named ``name``: as written, else ignoring case (BC's names are camelCase,
    but clients written for other APIs send them otherwise)."""
    found = table.field(name)
    if found is None:
        wanted = name.casefold()
        found = next((f for f in table.fields if f.api_name.casefold() == wanted), None)
    return found


def field_names(table: Table) -> str:
    return ", ".join(f.api_name for f in table.fields)


def parse_filter(table: Table, text: str) -> tuple[Q, set[str]]:
    """The rows ``text`` selects, and the API names of the fields it names."""
    parser = FilterParser(table, text)
    return parser.parse(), parser.fields_used


# -- $select, $orderby, $expand, $top, $skip ----------------------------------------------


def _names(text: str, option: str) -> list[str]:
    if len(text) > MAX_FILTER_LENGTH:
        raise ODataError(f"{option} is too long.")
    names = [name.strip() for name in text.split(",")]
    if not names or any(not name for name in names):
        raise ODataError(f"{option} must be a comma-separated list of field names.")
    return names


def parse_select(table: Table, text: str) -> list[str]:
    selected: list[str] = []
    for name in _names(text, "$select"):
        table_field = find_field(table, name)
        if table_field is None:
            raise ODataError(
                f"Could not find a property named '{name}' on {table.entity}. "
                f"The fields are: {field_names(table)}."
            )
        if table_field.api_name not in selected:
            selected.append(table_field.api_name)
    return selected


@dataclass(frozen=True)
class SortKey:
    """One column of a keyset order. NULLs sort as the smallest value."""

    path: str
    descending: bool
    model_field: models.Field
    nullable: bool

    def expression(self):
        expression = F(self.path)
        if not self.nullable:
            return expression.desc() if self.descending else expression.asc()
        if self.descending:
            return expression.desc(nulls_last=True)
        return expression.asc(nulls_first=True)


def sort_key(model: type[models.Model], path: str, descending: bool = False) -> SortKey:
    model_field = _model_field(model, path)
    if model_field is None:
        raise ODataError(f"Cannot order by {path}.")
    return SortKey(path, descending, model_field, _nullable(model, path))


def _nullable(model: type[models.Model], path: str) -> bool:
    current: Any = model
    for part in path.split("__"):
        model_field = current._meta.pk if part == "pk" else current._meta.get_field(part)
        if model_field.null:
            return True
        current = model_field.related_model if model_field.is_relation else None
    return False


def parse_orderby(table: Table, text: str) -> list[SortKey]:
    keys: list[SortKey] = []
    items = _names(text, "$orderby")
    if len(items) > MAX_ORDERBY_FIELDS:
        raise ODataError(f"$orderby may name at most {MAX_ORDERBY_FIELDS} fields.")
    for item in items:
        parts = item.split()
        direction = parts[1].lower() if len(parts) == 2 else "asc"
        if len(parts) > 2 or direction not in ("asc", "desc"):
            raise ODataError(
                f"Cannot read '{item}' in $orderby: write a field name, optionally followed "
                "by asc or desc, e.g. $orderby=displayName desc."
            )
        table_field = find_field(table, parts[0])
        if table_field is None:
            raise ODataError(
                f"Could not find a property named '{parts[0]}' on {table.entity}. "
                f"The fields are: {field_names(table)}."
            )
        if table.model_field(table_field) is None:
            raise ODataError(f"{table_field.api_name} is computed and cannot be ordered by.")
        keys.append(sort_key(table.model, table_field.attribute, direction == "desc"))
    return keys


def parse_expand(text: str, navigations: tuple[str, ...]) -> list[str]:
    expanded: list[str] = []
    for name in _names(text, "$expand"):
        if "(" in name:
            raise ODataError("Query options inside $expand are not supported.")
        match = next((n for n in navigations if n.casefold() == name.casefold()), None)
        if match is None:
            allowed = ", ".join(navigations) or "none"
            raise ODataError(
                f"Could not find a navigation property named '{name}'. "
                f"The ones that can be expanded are: {allowed}."
            )
        if match not in expanded:
            expanded.append(match)
    return expanded


def is_digits(text: str) -> bool:
    """0-9 only: ``str.isdigit`` also takes "¹" and "٣", which ``int`` refuses or reads."""
    return text.isascii() and text.isdigit()


def parse_count(text: str, option: str, *, limit: int) -> int:
    text = text.strip()
    if not is_digits(text) or len(text) > 10 or int(text) > limit:
        raise ODataError(f"{option} must be a whole number from 0 to {limit}.")
    return int(text)


def parse_prefer(header: str) -> int | None:
    """The page size a ``Prefer: odata.maxpagesize=N`` header asks for, if any."""
    for preference in header.split(","):
        name, _, value = preference.strip().partition("=")
        if name.strip().lower() == "odata.maxpagesize":
            value = value.strip().strip('"')
            if is_digits(value) and len(value) <= 10 and int(value) > 0:
                return min(int(value), MAX_PAGE_SIZE)
    return None


# -- All options together -----------------------------------------------------------------


@dataclass
class QueryOptions:
    filter: Q = field(default_factory=Q)
    filter_fields: set[str] = field(default_factory=set)
    select: list[str] | None = None
    order: list[SortKey] = field(default_factory=list)
    orderby_text: str = ""
    top: int | None = None
    skip: int = 0
    expand: list[str] = field(default_factory=list)
    count: bool = False
    skiptoken: str | None = None
    page_size: int = DEFAULT_PAGE_SIZE
    page_size_preferred: bool = False


def parse_options(
    table: Table,
    params: Any,
    *,
    navigations: tuple[str, ...] = (),
    prefer: str = "",
    collection: bool = True,
) -> QueryOptions:
    """Read the query string ``params`` (a QueryDict) for ``table``."""
    for name in params:
        if name.startswith("$") and name not in SUPPORTED_OPTIONS:
            raise ODataError(
                f"The query option {name} is not supported. The options are: "
                f"{', '.join(o for o in SUPPORTED_OPTIONS if o != '$schemaversion')}."
            )
        if name.startswith("$") and len(params.getlist(name)) > 1:
            raise ODataError(f"The query option {name} is given more than once.")
    options = QueryOptions()
    allowed = SUPPORTED_OPTIONS if collection else ("$select", "$expand", "$schemaversion")
    for name in params:
        if name.startswith("$") and name not in allowed:
            raise ODataError(f"The query option {name} applies to collections only.")
    if params.get("$format", "json").strip().lower() != "json":
        raise ODataError("Only $format=json is supported.")
    if "$filter" in params:
        options.filter, options.filter_fields = parse_filter(table, params["$filter"])
    if "$select" in params:
        options.select = parse_select(table, params["$select"])
    if "$orderby" in params:
        options.order = parse_orderby(table, params["$orderby"])
        options.orderby_text = params["$orderby"]
    if "$top" in params:
        options.top = parse_count(params["$top"], "$top", limit=MAX_SKIP)
    if "$skip" in params:
        options.skip = parse_count(params["$skip"], "$skip", limit=MAX_SKIP)
    if "$expand" in params:
        options.expand = parse_expand(params["$expand"], navigations)
    if "$count" in params:
        value = params["$count"].strip().lower()
        if value not in ("true", "false"):
            raise ODataError("$count must be true or false.")
        options.count = value == "true"
    if "$skiptoken" in params:
        options.skiptoken = params["$skiptoken"]
    preferred = parse_prefer(prefer)
    if preferred is not None:
        options.page_size, options.page_size_preferred = preferred, True
    elif options.top is not None:
        # As BC: $top up to its page size comes back in one response.
        options.page_size = max(1, min(options.top, MAX_PAGE_SIZE))
    return options


# -- Keyset paging ------------------------------------------------------------------------

_KEY = "odata_key_{}"


@dataclass
class Page:
    rows: list
    next_token: str | None
    remaining_top: int | None
    count: int | None


def order_keys(model: type[models.Model], keys: list[SortKey], default: list[str]) -> list[SortKey]:
    """The keys to order by: the asked ones (else ``default``, where ``-path`` is
    descending), then the pk."""
    keys = list(keys) or [sort_key(model, p.lstrip("-"), p.startswith("-")) for p in default]
    if not any(k.path == "pk" for k in keys):
        keys.append(sort_key(model, "pk"))
    return keys


def page_of(
    queryset: models.QuerySet,
    options: QueryOptions,
    *,
    salt: str,
    default_order: list[str],
) -> Page:
    """One page of ``queryset`` under ``options``: filter, order, skip or resume, top."""
    queryset = queryset.filter(options.filter)
    count = queryset.order_by().count() if options.count else None
    keys = order_keys(queryset.model, options.order, default_order)
    queryset = queryset.annotate(**{_KEY.format(i): F(k.path) for i, k in enumerate(keys)})
    queryset = queryset.order_by(*(k.expression() for k in keys))
    salt = f"bcsite.api.skiptoken:{salt}:{options.orderby_text}"
    if options.skiptoken is not None:
        values = decode_skiptoken(options.skiptoken, keys, salt)
        queryset = queryset.filter(_after(keys, values))
        start = 0
    else:
        start = options.skip
    wanted = options.page_size
    if options.top is not None:
        wanted = min(wanted, options.top)
    rows = list(queryset[start : start + wanted + 1]) if wanted else []
    more = len(rows) > wanted
    rows = rows[:wanted]
    remaining = None if options.top is None else options.top - len(rows)
    if remaining is not None and remaining <= 0:
        more = False
    token = None
    if more and rows:
        last = rows[-1]
        token = encode_skiptoken([getattr(last, _KEY.format(i)) for i in range(len(keys))], salt)
    return Page(rows, token, remaining, count)


def _after(keys: list[SortKey], values: list[Any]) -> Q:
    """Rows after ``values`` in the keys' order: the first differing key decides."""
    q = Q(pk__in=[])
    for key, value in reversed(list(zip(keys, values, strict=True))):
        if value is None:
            equal = Q(**{f"{key.path}__isnull": True})
            beyond = Q(pk__in=[]) if key.descending else Q(**{f"{key.path}__isnull": False})
        else:
            equal = Q(**{key.path: value})
            beyond = Q(**{f"{key.path}__{'lt' if key.descending else 'gt'}": value})
            if key.descending and key.nullable:
                beyond |= Q(**{f"{key.path}__isnull": True})
        q = beyond | (equal & q)
    return q


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime.datetime | datetime.date):
        return value.isoformat()
    if isinstance(value, Decimal | uuid.UUID):
        return str(value)
    return value


def _signer(salt: str) -> signing.Signer:
    return signing.Signer(sep=".", salt=salt)


def encode_skiptoken(values: list[Any], salt: str) -> str:
    raw = json.dumps([_jsonable(v) for v in values], separators=(",", ":"))
    payload = base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")
    return _signer(salt).sign(payload)


def decode_skiptoken(token: str, keys: list[SortKey], salt: str) -> list[Any]:
    invalid = ODataError(
        "The $skiptoken is not valid: use the @odata.nextLink as it was returned, "
        "with the same $filter and $orderby.",
        "BadRequest_InvalidToken",
    )
    if len(token) > MAX_SKIPTOKEN_LENGTH:
        raise invalid
    try:
        payload = _signer(salt).unsign(token)
        values = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        if not isinstance(values, list) or len(values) != len(keys):
            raise invalid
        pairs = zip(keys, values, strict=True)
        return [None if v is None else k.model_field.to_python(v) for k, v in pairs]
    except (
        signing.BadSignature,
        ValueError,
        TypeError,
        binascii.Error,
        ValidationError,
        UnicodeError,
        RecursionError,
    ):
        raise invalid from None
