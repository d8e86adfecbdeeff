"""What templates draw: fields, cells, rows, lines and FactBoxes as plain, formatted values.

Templates stay free of logic: every value arrives here already formatted, linked and aligned.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.db import models
from django.template.loader import render_to_string

from bcsite.pages.base import FactBox, Field, ListPage, Page
from bcsite.pages.display import display
from bcsite.pages.forms import RecordNoField
from bcsite.registry import registry

if TYPE_CHECKING:
    from django import forms
    from django.http import HttpRequest

    from bcsite.pages.listing import ListQuery


@dataclass(frozen=True)
class FieldView:
    name: str
    label: str
    text: str
    url: str | None
    numeric: bool
    input: forms.BoundField | None = None
    # A No. input's datalist: its first rows (the lookup refreshes it as people type).
    datalist: Sequence[tuple[str, str]] = ()
    has_datalist: bool = False
    importance: str = "standard"

    @property
    def additional(self) -> bool:
        return self.importance == "additional"


@dataclass(frozen=True)
class FastTabView:
    key: str
    title: str
    open: bool
    fields: Sequence[FieldView]
    # The key values a collapsed FastTab shows in its header.
    summary: Sequence[FieldView] = ()

    @property
    def standard_fields(self) -> list[FieldView]:
        return [f for f in self.fields if not f.additional]

    @property
    def additional_fields(self) -> list[FieldView]:
        return [f for f in self.fields if f.additional]

    @property
    def show_more_open(self) -> bool:
        """A refused edit opens "Show more" when one of its fields has the error."""
        return any(f.input is not None and f.input.errors for f in self.additional_fields)


@dataclass(frozen=True)
class Cell:
    text: str
    url: str | None
    numeric: bool


@dataclass(frozen=True)
class HeaderCell:
    label: str
    numeric: bool
    sort_url: str | None
    sorted: str | None  # "asc" | "desc" | None


@dataclass(frozen=True)
class RowView:
    pk: Any
    cells: Sequence[Cell]
    select_url: str | None
    factbox_url: str | None
    selected: bool


@dataclass(frozen=True)
class FactBoxView:
    key: str
    title: str
    rows: Sequence[FactRowView] = ()
    html: str = ""


@dataclass(frozen=True)
class FactRowView:
    label: str
    text: str
    url: str | None
    numeric: bool


def field_view(
    model: type[models.Model], declared: Field, obj: Any, form: forms.BaseForm | None = None
) -> FieldView:
    bound = form[declared.name] if form is not None and declared.name in form.fields else None
    datalist: Sequence[tuple[str, str]] = ()
    has_datalist = bound is not None and isinstance(bound.field, RecordNoField)
    if has_datalist:
        datalist = bound.field.datalist()
    text, url = _value_and_link(model, declared, obj)
    return FieldView(
        name=declared.name,
        label=declared.label_for(model),
        text=text,
        url=url,
        numeric=declared.is_numeric(model),
        input=bound,
        datalist=datalist,
        has_datalist=has_datalist,
        importance=declared.importance,
    )


def fasttab_views(page: Any, obj: Any, form: forms.BaseForm | None = None) -> list[FastTabView]:
    """The card's FastTabs; a new record shows only what can be typed in (the rest, like
    balances and statuses, has no value yet)."""
    creating = obj is None
    tabs = []
    for tab in page.fasttabs:
        fields = [
            field_view(page.model, f, obj, form)
            for f in tab.fields
            if not creating or (form is not None and f.name in form.fields)
        ]
        if fields:
            summary = fasttab_summary(fields) if not creating else []
            tabs.append(
                FastTabView(
                    key=tab.key, title=tab.title, open=tab.open, fields=fields, summary=summary
                )
            )
    return tabs


def fasttab_summary(fields: Sequence[FieldView]) -> list[FieldView]:
    """The values a collapsed FastTab shows, as BC does: its promoted fields, or else its
    first two (blank ones take no room on screen)."""
    promoted = [f for f in fields if f.importance == "promoted"]
    return promoted or [f for f in fields if not f.additional][:2]


def cells(model: type[models.Model], columns: Sequence[Field], obj: Any) -> list[Cell]:
    result = []
    for column in columns:
        text, url = _value_and_link(model, column, obj)
        result.append(Cell(text=text, url=url, numeric=column.is_numeric(model)))
    return result


def header_cells(page: ListPage, query: ListQuery) -> list[HeaderCell]:
    result = []
    for column in page.columns:
        path = column.sort_path(page.model)
        state = None
        if path is not None and path == query.sort.path:
            state = "desc" if query.sort.descending else "asc"
        sort_url = None
        if path is not None:
            # Clicking the sorted column turns its direction; paging starts over.
            next_sort = f"-{path}" if state == "asc" else path
            sort_url = query.url(sort=next_sort if next_sort != page.default_sort else None)
        result.append(
            HeaderCell(
                label=column.label_for(page.model),
                numeric=column.is_numeric(page.model),
                sort_url=sort_url,
                sorted=state,
            )
        )
    return result


def row_views(
    page: ListPage,
    rows: Sequence[models.Model],
    query: ListQuery,
    *,
    card_url: Any,
    selected_pk: Any,
    with_factboxes: bool,
) -> list[RowView]:
    """The grid's rows; the first column opens the card unless it links elsewhere."""
    first = page.columns[0] if page.columns else None
    link_first = card_url is not None and first is not None and not first.link
    views = []
    for row in rows:
        row_cells = cells(page.model, page.columns, row)
        if link_first:
            opened = row_cells[0]
            row_cells[0] = Cell(opened.text or "(blank)", card_url(row), opened.numeric)
        views.append(
            RowView(
                pk=row.pk,
                cells=row_cells,
                select_url=_select_url(query, row) if with_factboxes else None,
                factbox_url=page.url("factboxes", row.pk) if with_factboxes else None,
                selected=str(row.pk) == str(selected_pk),
            )
        )
    return views


def _select_url(query: ListQuery, row: models.Model) -> str:
    """The same page of the list with ``row`` in the FactBox pane (the link without script)."""
    return query.url(selected=row.pk, after=query.after, before=query.before)


def factbox_views(page: Page, request: HttpRequest, obj: Any) -> list[FactBoxView]:
    """The FactBoxes of ``page`` for ``obj``: the page's own, then registered ones."""
    if obj is None:
        return []
    boxes = [*page.factboxes, *(box for key, box in registry.factboxes if key in (page.key, "*"))]
    return [_factbox_view(box, request, obj) for box in boxes if box.is_visible(obj, request)]


def has_factboxes(page: Page) -> bool:
    return bool(page.factboxes) or any(key in (page.key, "*") for key, _ in registry.factboxes)


def _factbox_view(box: FactBox, request: HttpRequest, obj: Any) -> FactBoxView:
    if box.template:
        context = {"obj": obj, **(box.context(request, obj) if box.context else {})}
        html = render_to_string(box.template, context, request=request)
        return FactBoxView(key=box.key, title=box.title, html=html)
    rows = [
        FactRowView(
            label=row.label,
            text=display(row.value),
            url=row.url,
            numeric=row.numeric
            if row.numeric is not None
            else isinstance(row.value, Decimal | int) and not isinstance(row.value, bool),
        )
        for row in (box.rows(request, obj) if box.rows else ())
    ]
    return FactBoxView(key=box.key, title=box.title, rows=rows)


def _value_and_link(model: type[models.Model], declared: Field, obj: Any) -> tuple[str, str | None]:
    if obj is None:
        return "", None
    model_field = declared.model_field(model) if declared.value is None else None
    raw = declared.raw_value(obj)
    if isinstance(raw, models.Model):
        # A related record shows by its No., as BC's table relations do.
        text = str(getattr(raw, "no", raw))
    else:
        text = display(raw, model_field)
    url = declared.link(obj) if declared.link is not None and raw not in (None, "") else None
    return text, url
