"""What a list shows: search, filters and sort read from the query string, applied to rows."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache, reduce
from operator import or_
from typing import Any
from urllib.parse import urlencode

from django.core.exceptions import FieldDoesNotExist
from django.db import models
from django.db.models import Q
from django.http import HttpRequest, QueryDict

from bcsite.pages.base import Filter, ListPage, field_label, resolve_model_field
from bcsite.pages.filters import (
    FilterError,
    FilterField,
    describe_error,
    filter_q,
    hint,
    suggestions,
)
from bcsite.pages.forms import SEARCH_MAX_LENGTH
from bcsite.pages.paging import Cursor, Sort

# Parameters of the list itself; filter names must not use them.
RESERVED = frozenset({"q", "sort", "after", "before", "selected"})


@dataclass(frozen=True)
class DeclaredFilter:
    """A page's filter, ready to apply: the field it compares and, for a filter through a
    relation (``customer__no``), the relation it goes through."""

    name: str
    field: FilterField
    model: type[models.Model]
    relation: str | None = None

    def q(self, text: str, *, company: Any = None) -> Q:
        """The rows whose field matches the expression ``text``; raises FilterError.

        Through a relation, ``customer__no=C1*`` becomes ``customer IN (customers whose
        No. starts with C1)``: the database finds the few related rows first instead of
        joining every row of a big list to test them. With ``company``, only that
        company's related rows are looked at (the list shows no others).
        """
        condition = filter_q(text, self.field)
        if self.relation is None:
            return condition
        related = of_company(self.model._default_manager.filter(condition), company)
        return Q(**{f"{self.relation}__in": related.values("pk")})


@cache
def declared_filters(page: ListPage) -> tuple[DeclaredFilter, ...]:
    """The page's filters, resolved once: declarations do not change after registration."""
    return tuple(_declared_filter(page.model, f) for f in page.filters)


def _declared_filter(model: type[models.Model], declared: Filter) -> DeclaredFilter:
    path = declared.lookup_path()
    model_field = resolve_model_field(model, path)
    label = declared.label or (field_label(model_field) if model_field else declared.name)
    relation, _, rest = path.partition("__")
    through = model._meta.get_field(relation) if rest else None
    if through is not None and through.many_to_one:
        field = FilterField.for_model_field(model_field, rest, label, declared.normalize)
        return DeclaredFilter(declared.name, field, through.related_model, relation)
    field = FilterField.for_model_field(model_field, path, label, declared.normalize)
    return DeclaredFilter(declared.name, field, model)


@dataclass(frozen=True)
class FilterState:
    """One filter of the list as typed: its input in the filter pane, its chip once it applies."""

    name: str
    label: str
    text: str
    error: str | None  # the whole message, for the list
    reason: str | None  # why, for next to the input
    hint: str
    suggestions: Sequence[str]
    condition: Q | None = None

    @property
    def applied(self) -> bool:
        return self.condition is not None


@dataclass(frozen=True)
class Chip:
    """An active filter shown above the grid; its link removes it."""

    label: str
    text: str
    remove_url: str


@dataclass
class ListQuery:
    """A list's state from its URL: ``?q=...&sort=-name&city=Atlanta&after=<cursor>``.

    Filter values are BC filter expressions (``bcsite.pages.filters``). A filter that does
    not parse is shown with its message and left out; the others still apply.
    """

    page: ListPage
    q: str
    sort: Sort
    filter_states: list[FilterState] = field(default_factory=list)
    after: str | None = None
    before: str | None = None
    selected: str | None = None
    # The request's company: searches through a relation look only at its related rows.
    company: Any = None

    @property
    def filters(self) -> dict[str, str]:
        """The filters that apply: name -> expression."""
        return {s.name: s.text for s in self.filter_states if s.applied}

    @property
    def filter_errors(self) -> list[str]:
        return [s.error for s in self.filter_states if s.error]

    @property
    def chips(self) -> list[Chip]:
        chips = [Chip("Search", self.q, self.url(q=None))] if self.q else []
        chips += [
            Chip(s.label, s.text, self.url(**{s.name: None}))
            for s in self.filter_states
            if s.applied
        ]
        return chips

    def apply(self, queryset: models.QuerySet) -> models.QuerySet:
        if self.q and self.page.search_fields:
            terms = [
                search_term(queryset.model, name, self.q, company=self.company)
                for name in self.page.search_fields
            ]
            queryset = queryset.filter(reduce(or_, terms))
        for state in self.filter_states:
            if state.condition is not None:
                queryset = queryset.filter(state.condition)
        return queryset

    def params(self, **changes: Any) -> dict[str, str]:
        """The query parameters that keep this state, with ``changes`` (None drops one)."""
        params: dict[str, Any] = {"q": self.q, "sort": self._sort_param()}
        params.update(self.filters)
        params.update(changes)
        return {k: str(v) for k, v in params.items() if v not in (None, "")}

    def url(self, **changes: Any) -> str:
        query = urlencode(self.params(**changes))
        return f"?{query}" if query else "?"

    @property
    def cursor_salt(self) -> str:
        return cursor_salt(self.page, self.sort)

    @property
    def is_filtered(self) -> bool:
        return bool(self.q or self.filters)

    def _sort_param(self) -> str | None:
        return None if self.sort.param == self.page.default_sort else self.sort.param


def parse_list_query(page: ListPage, request: HttpRequest) -> ListQuery:
    params: QueryDict = request.GET
    company = getattr(request, "company", None)
    return ListQuery(
        page=page,
        q=clean_text(params.get("q", ""))[:SEARCH_MAX_LENGTH],
        sort=parse_sort(page, params.get("sort", "")),
        filter_states=[
            _filter_state(f, params.get(f.name, ""), company) for f in declared_filters(page)
        ],
        after=params.get("after") or None,
        before=params.get("before") or None,
        selected=params.get("selected") or None,
        company=company,
    )


def _filter_state(declared: DeclaredFilter, raw: str, company: Any) -> FilterState:
    text, condition, error, reason = raw.strip(), None, None, None
    if text:
        try:
            condition = declared.q(text, company=company)
        except FilterError as refused:
            error, reason = describe_error(text, declared.field, refused), str(refused)
    return FilterState(
        name=declared.name,
        label=declared.field.label,
        text=text,
        error=error,
        reason=reason,
        hint=hint(declared.field),
        suggestions=suggestions(declared.field),
        condition=condition,
    )


def filter_rows(
    page: ListPage,
    queryset: models.QuerySet,
    params: Mapping[str, str],
    *,
    company: Any = None,
) -> models.QuerySet:
    """``queryset`` filtered as ``page``'s list filters it for ``params`` (``{"blocked":
    "<>''"}``): a cue counts with this and links to ``page.list_url(**params)``, so the
    count and the list agree. Raises FilterError for an expression the list would refuse,
    and KeyError for a name the page does not filter by. ``company`` keeps filters through
    a relation to that company's related rows.
    """
    by_name = {f.name: f for f in declared_filters(page)}
    for name, text in params.items():
        if text not in (None, ""):
            queryset = queryset.filter(by_name[name].q(str(text), company=company))
    return queryset


def of_company(queryset: models.QuerySet, company: Any) -> models.QuerySet:
    """``queryset`` kept to ``company``'s rows when its model belongs to a company."""
    if company is None or not _has_company(queryset.model):
        return queryset
    return queryset.filter(company=company)


@cache
def _has_company(model: type[models.Model]) -> bool:
    try:
        model._meta.get_field("company")
    except FieldDoesNotExist:
        return False
    return True


def clean_text(text: str) -> str:
    """Typed text without control characters (PostgreSQL refuses NUL in a query) and lone
    surrogates (no database stores them)."""
    return "".join(
        c for c in text if (c >= " " or c == "\t") and not 0xD800 <= ord(c) <= 0xDFFF
    ).strip()


def sortable_paths(page: ListPage) -> set[str]:
    paths = {c.sort_path(page.model) for c in page.columns}
    return {p for p in paths if p} | {page.default_sort.lstrip("-")}


def cursor_salt(page: ListPage, sort: Sort) -> str:
    """What a list's cursors are signed under: the list and its sort, so a cursor handed
    out by another list or for another sort is refused."""
    return f"{page.key}:{sort.param}"


def list_cursor(page: ListPage, value: Any, pk: int, *, sort: str = "") -> str:
    """A cursor ``page``'s list accepts (``?after=`` / ``?before=``) for the row with sort
    value ``value`` and ``pk``, in the order ``sort`` (default: the page's): for links to a
    page of a list made outside it."""
    parsed = parse_sort(page, sort)
    return Cursor(value=pk if parsed.is_pk else value, pk=pk).encode(cursor_salt(page, parsed))


def parse_sort(page: ListPage, raw: str) -> Sort:
    """The sort asked for, if a column offers it; otherwise the page's default."""
    path = raw.lstrip("-")
    if not raw or path not in sortable_paths(page):
        raw = page.default_sort
        path = raw.lstrip("-")
    return Sort(
        path=path,
        descending=raw.startswith("-"),
        model_field=resolve_model_field(page.model, path),
    )


# A search through a relation first looks up at most this many related ids.
RELATED_SEARCH_LIMIT = 200


def search_term(model: type[models.Model], name: str, text: str, *, company: Any = None) -> Q:
    """``name`` contains ``text``; through a relation (``customer__no``), by related ids.

    A join inside the OR of a search keeps the database from combining the columns'
    (trigram) indexes, so every search would scan the table. Matching related rows are
    looked up first and the term becomes ``customer_id IN (...)``, which an index serves.
    With more matches than the bound, the plain join is still correct, only slower. With
    ``company``, other companies' related rows are not looked up (nor use up the bound).
    """
    relation, _, rest = name.partition("__")
    if not rest:
        return Q(**{f"{name}__icontains": text})
    related = model._meta.get_field(relation).related_model
    matches = of_company(related._default_manager.filter(**{f"{rest}__icontains": text}), company)
    ids = list(matches.values_list("pk", flat=True)[: RELATED_SEARCH_LIMIT + 1])
    if len(ids) > RELATED_SEARCH_LIMIT:
        return Q(**{f"{name}__icontains": text})
    return Q(**{f"{relation}__in": ids})
