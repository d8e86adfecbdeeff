"""Keyset (cursor) paging for lists, so page 2,000 costs what page 1 costs.

Rows are ordered by (sort column, pk); a cursor carries the (value, pk) of the row a page
starts after or ends before, and the next query asks for rows beyond it. No OFFSET, and the
pk breaks ties, so rows with equal values are neither skipped nor repeated. Counting is
bounded: a list counts at most ``limit`` rows and says "1,000+".

Cursors are signed with a salt naming the list and its sort, so only a cursor that list
handed out is decoded: a hand-made one is refused before its JSON is even parsed.
"""

from __future__ import annotations

import base64
import binascii
import datetime
import json
import re
import uuid
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from django.core import signing
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F, Q

KEY = "keyset_value"
# Primary keys are 64-bit: a larger number in a cursor was not handed out by us.
PK_LIMIT = 2**63 - 1
# A cursor holds one column value and a pk; a longer token was not handed out by us, and
# refusing it early keeps a crafted one from costing a deep JSON parse.
MAX_TOKEN_LENGTH = 512
# Text no database column holds (PostgreSQL refuses NUL; lone surrogates cannot be encoded).
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


class InvalidCursor(ValueError):
    """A cursor that this list did not hand out (edited by hand, or from another sort)."""


@dataclass(frozen=True)
class Sort:
    """The order of a list: a field path, its direction, and whether it can be NULL."""

    path: str
    descending: bool = False
    model_field: models.Field | None = None

    @property
    def is_pk(self) -> bool:
        return self.path == "pk"

    @property
    def nullable(self) -> bool:
        return bool(self.model_field is not None and self.model_field.null)

    @property
    def param(self) -> str:
        return f"-{self.path}" if self.descending else self.path

    def order_by(self, *, reverse: bool = False) -> list:
        descending = self.descending != reverse
        pk_order = "-pk" if descending else "pk"
        if self.is_pk:
            return [pk_order]
        expression = F(self.path)
        # NULLs always come last on screen. Only nullable columns say so: a plain
        # ASC/DESC is what the (company, column) indexes can serve.
        if self.nullable:
            nulls = {"nulls_first": True} if reverse else {"nulls_last": True}
            ordered = expression.desc(**nulls) if descending else expression.asc(**nulls)
        else:
            ordered = expression.desc() if descending else expression.asc()
        return [ordered, pk_order]


@dataclass(frozen=True)
class Cursor:
    value: Any
    pk: int

    def encode(self, salt: str = "") -> str:
        raw = json.dumps([_jsonable(self.value), self.pk], separators=(",", ":"))
        payload = base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")
        return _signer(salt).sign(payload)

    @classmethod
    def decode(cls, token: str, sort: Sort, salt: str = "") -> Cursor:
        if len(token) > MAX_TOKEN_LENGTH:
            raise InvalidCursor("Invalid page cursor.")
        try:
            payload = _signer(salt).unsign(token)
            padded = payload + "=" * (-len(payload) % 4)
            value, pk = json.loads(base64.urlsafe_b64decode(padded.encode()))
            if not isinstance(pk, int) or isinstance(pk, bool) or abs(pk) >= PK_LIMIT:
                raise InvalidCursor("Invalid page cursor.")
            if not (value is None or isinstance(value, str | int | float)):
                raise InvalidCursor("Invalid page cursor.")
            if value is not None and sort.model_field is not None and not sort.is_pk:
                value = sort.model_field.to_python(value)
            if isinstance(value, str) and _UNSTORABLE.search(value):
                raise InvalidCursor("Invalid page cursor.")
        except (
            signing.BadSignature,
            ValueError,
            TypeError,
            binascii.Error,
            ValidationError,
            UnicodeError,
            RecursionError,
        ) as exc:
            raise InvalidCursor("Invalid page cursor.") from exc
        return cls(value=pk if sort.is_pk else value, pk=pk)


def _signer(salt: str) -> signing.Signer:
    # "." is not in the URL-safe base64 alphabet and, unlike ":", needs no escaping in a URL.
    return signing.Signer(sep=".", salt=f"bcsite.pages.cursor:{salt}")


@dataclass(frozen=True)
class KeysetPage:
    rows: list
    next_cursor: str | None
    previous_cursor: str | None

    @property
    def is_first(self) -> bool:
        return self.previous_cursor is None


def paginate(
    queryset: models.QuerySet,
    sort: Sort,
    *,
    size: int,
    after: str | None = None,
    before: str | None = None,
    salt: str = "",
) -> KeysetPage:
    """One page of ``queryset`` in ``sort`` order, after or before a cursor (one query;
    two when a "previous" page turns out to be the first, or nothing follows ``after``).

    ``salt`` names the list and its sort: cursors are handed out and accepted under it.
    """
    if not sort.is_pk:
        queryset = queryset.annotate(**{KEY: F(sort.path)})
    if before:
        cursor = Cursor.decode(before, sort, salt)
        backwards = queryset.filter(_before(sort, cursor)).order_by(*sort.order_by(reverse=True))
        rows = list(backwards[: size + 1])
        if len(rows) > size:
            rows = rows[:size][::-1]
            return KeysetPage(
                rows, _cursor_of(rows[-1], sort, salt), _cursor_of(rows[0], sort, salt)
            )
        # Fewer than a page before the cursor: that is the first page; show it whole.
        after = None
    filtered = queryset
    after_cursor = Cursor.decode(after, sort, salt) if after else None
    if after_cursor is not None:
        filtered = queryset.filter(_after(sort, after_cursor))
    rows = list(filtered.order_by(*sort.order_by())[: size + 1])
    if after_cursor is not None and not rows:
        return _last_page_through(queryset, sort, after_cursor, size, salt)
    has_next = len(rows) > size
    rows = rows[:size]
    next_cursor = _cursor_of(rows[-1], sort, salt) if has_next else None
    previous_cursor = _cursor_of(rows[0], sort, salt) if after and rows else None
    return KeysetPage(rows, next_cursor, previous_cursor)


def _last_page_through(
    queryset: models.QuerySet, sort: Sort, cursor: Cursor, size: int, salt: str
) -> KeysetPage:
    """The last page, ending with the cursor's row: what a list shows when nothing follows
    its cursor any more (the rows were deleted or changed), rather than an empty page
    with no way back."""
    # Rows before (value, pk + 1) in display order are those up to and including the
    # cursor's row: pks break ties in the sort's direction, and no pk lies in between.
    step = -1 if sort.descending else 1
    through = Cursor(value=cursor.pk + step if sort.is_pk else cursor.value, pk=cursor.pk + step)
    backwards = queryset.filter(_before(sort, through)).order_by(*sort.order_by(reverse=True))
    rows = list(backwards[: size + 1])
    if len(rows) > size:
        rows = rows[:size][::-1]
        return KeysetPage(rows, None, _cursor_of(rows[0], sort, salt))
    return KeysetPage(rows[::-1], None, None)


STALE_CURSOR = "That page link is no longer valid; showing the first page."


def page_for_request(
    request: Any, rows: models.QuerySet, sort: Sort, *, size: int, salt: str, errors: list[str]
) -> KeysetPage:
    """The page that the request's ``?after=`` or ``?before=`` cursor names. A cursor that is
    stale or was tampered with gives the first page, and a message in ``errors``."""
    after, before = request.GET.get("after") or None, request.GET.get("before") or None
    try:
        return paginate(rows, sort, size=size, after=after, before=before, salt=salt)
    except InvalidCursor:
        errors.append(STALE_CURSOR)
        return paginate(rows, sort, size=size, salt=salt)


def paging_links(base: str, params: dict, page: KeysetPage) -> dict[str, str]:
    """``next_url``, ``previous_url`` and ``first_url`` of ``page`` (empty where there is
    none), keeping the filters in ``params`` that have a value."""

    def url(**cursor: str) -> str:
        query = {**{k: v for k, v in params.items() if v not in (None, "")}, **cursor}
        return f"{base}?{urlencode(query)}" if query else base

    return {
        "next_url": url(after=page.next_cursor) if page.next_cursor else "",
        "previous_url": url(before=page.previous_cursor) if page.previous_cursor else "",
        "first_url": url() if not page.is_first else "",
    }


def bounded_count(queryset: models.QuerySet, limit: int) -> tuple[int, bool]:
    """How many rows match, counting at most ``limit + 1``: (count, more than limit)."""
    count = queryset.order_by().values("pk")[: limit + 1].count()
    return min(count, limit), count > limit


def _cursor_of(row: models.Model, sort: Sort, salt: str) -> str:
    value = row.pk if sort.is_pk else getattr(row, KEY)
    return Cursor(value=value, pk=row.pk).encode(salt)


def _after(sort: Sort, cursor: Cursor) -> Q:
    """Rows after the cursor in display order (NULLs last)."""
    return _beyond(sort, cursor, forward=True)


def _before(sort: Sort, cursor: Cursor) -> Q:
    return _beyond(sort, cursor, forward=False)


def _beyond(sort: Sort, cursor: Cursor, *, forward: bool) -> Q:
    ascending = (not sort.descending) == forward
    gt, gte = ("gt", "gte") if ascending else ("lt", "lte")
    pk_beyond = Q(**{f"pk__{gt}": cursor.pk})
    if sort.is_pk:
        return pk_beyond
    path = sort.path
    if cursor.value is None:
        # The cursor row is among the NULLs, which sit at the end.
        if forward:
            return Q(**{f"{path}__isnull": True}) & pk_beyond
        return Q(**{f"{path}__isnull": False}) | (Q(**{f"{path}__isnull": True}) & pk_beyond)
    # "value >= v AND (value > v OR pk > p)" rather than a plain OR, so the database can
    # range-scan the column's index from v.
    condition = Q(**{f"{path}__{gte}": cursor.value}) & (
        Q(**{f"{path}__{gt}": cursor.value}) | pk_beyond
    )
    if forward and sort.nullable:
        condition |= Q(**{f"{path}__isnull": True})
    return condition


def _jsonable(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime.datetime | datetime.date):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    return value
