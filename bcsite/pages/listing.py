"""What a list shows: search, filters and sort read from the query string, applied to rows."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import reduce
from operator import or_
from typing import Any
from urllib.parse import urlencode

from django import forms
from django.db import models
from django.db.models import Q
from django.http import HttpRequest, QueryDict

from bcsite.pages.base import Filter, ListPage, resolve_model_field
from bcsite.pages.forms import SEARCH_MAX_LENGTH, filter_form_class
from bcsite.pages.paging import Sort

# Parameters of the list itself; filter names must not use them.
RESERVED = frozenset({"q", "sort", "after", "before", "selected"})


@dataclass
class ListQuery:
    """A list's state from its URL: ``?q=...&sort=-name&city=Atlanta&after=<cursor>``."""

    page: ListPage
    q: str
    sort: Sort
    filter_form: forms.Form
    filters: dict[str, Any] = field(default_factory=dict)
    after: str | None = None
    before: str | None = None
    selected: str | None = None

    def apply(self, queryset: models.QuerySet) -> models.QuerySet:
        if self.q and self.page.search_fields:
            terms = [search_term(queryset.model, name, self.q) for name in self.page.search_fields]
            queryset = queryset.filter(reduce(or_, terms))
        for declared in self.page.filters:
            if declared.name in self.filters:
                queryset = queryset.filter(**_filter_lookup(self.page, declared, self.filters))
        return queryset

    def params(self, **changes: Any) -> dict[str, str]:
        """The query parameters that keep this state, with ``changes`` (None drops one)."""
        params: dict[str, Any] = {"q": self.q, "sort": self._sort_param()}
        params.update({k: self.filter_form.data.get(k) for k in self.filters})
        params.update(changes)
        return {k: str(v) for k, v in params.items() if v not in (None, "")}

    def url(self, **changes: Any) -> str:
        query = urlencode(self.params(**changes))
        return f"?{query}" if query else "?"

    @property
    def is_filtered(self) -> bool:
        return bool(self.q or self.filters)

    def _sort_param(self) -> str | None:
        return None if self.sort.param == self.page.default_sort else self.sort.param


def parse_list_query(page: ListPage, request: HttpRequest) -> ListQuery:
    params: QueryDict = request.GET
    form_class = filter_form_class(page.model, tuple(page.filters))
    filter_data = {f.name: params.get(f.name, "") for f in page.filters}
    filter_form = form_class(data=filter_data)
    filter_form.is_valid()
    filters = {
        name: value
        for name, value in getattr(filter_form, "cleaned_data", {}).items()
        if value not in (None, "") and name not in filter_form.errors
    }
    return ListQuery(
        page=page,
        q=params.get("q", "").strip()[:SEARCH_MAX_LENGTH],
        sort=parse_sort(page, params.get("sort", "")),
        filter_form=filter_form,
        filters=filters,
        after=params.get("after") or None,
        before=params.get("before") or None,
        selected=params.get("selected") or None,
    )


def sortable_paths(page: ListPage) -> set[str]:
    paths = {c.sort_path(page.model) for c in page.columns}
    return {p for p in paths if p} | {page.default_sort.lstrip("-")}


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


def _filter_lookup(page: ListPage, declared: Filter, values: dict[str, Any]) -> dict[str, Any]:
    path = declared.lookup_path()
    model_field = resolve_model_field(page.model, path)
    value = values[declared.name]
    if declared.normalize is not None:
        lookup = {path: declared.normalize(value)}
    elif isinstance(model_field, models.CharField | models.TextField) and not model_field.choices:
        lookup = {f"{path}__iexact": value}
    else:
        lookup = {path: value}
    return _through_subquery(page.model, lookup)


def _through_subquery(model: type[models.Model], lookup: dict[str, Any]) -> dict[str, Any]:
    """``customer__no=X`` as ``customer__in=(customers with no X)``: the database finds the
    few related rows first instead of joining every row of a big list to test them."""
    ((path, value),) = lookup.items()
    relation, _, rest = path.partition("__")
    related = getattr(model._meta.get_field(relation), "related_model", None) if rest else None
    if related is None or not model._meta.get_field(relation).many_to_one:
        return lookup
    return {f"{relation}__in": related._default_manager.filter(**{rest: value}).values("pk")}


# A search through a relation first looks up at most this many related ids.
RELATED_SEARCH_LIMIT = 200


def search_term(model: type[models.Model], name: str, text: str) -> Q:
    """``name`` contains ``text``; through a relation (``customer__no``), by related ids.

    A join inside the OR of a search keeps the database from combining the columns'
    (trigram) indexes, so every search would scan the table. Matching related rows are
    looked up first and the term becomes ``customer_id IN (...)``, which an index serves.
    With more matches than the bound, the plain join is still correct, only slower.
    """
    relation, _, rest = name.partition("__")
    if not rest:
        return Q(**{f"{name}__icontains": text})
    related = model._meta.get_field(relation).related_model
    ids = list(
        related._default_manager.filter(**{f"{rest}__icontains": text}).values_list(
            "pk", flat=True
        )[: RELATED_SEARCH_LIMIT + 1]
    )
    if len(ids) > RELATED_SEARCH_LIMIT:
        return Q(**{f"{name}__icontains": text})
    return Q(**{f"{relation}__in": ids})
