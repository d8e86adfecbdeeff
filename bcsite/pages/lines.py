"""A document's lines part: its rows, the inline forms, the totals under it."""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from bcsite.pages.base import DocumentPage, LinesPart
from bcsite.pages.display import display
from bcsite.pages.forms import model_form_class
from bcsite.pages.rendering import FieldView, fasttab_views, field_view

if TYPE_CHECKING:
    from django import forms
    from django.http import HttpRequest

# The client event (HX-Trigger) a successful line change sends: FactBoxes that sum the
# lines (outstanding orders, quantity on order) reload on it.
LINES_CHANGED = "lines-changed"


@dataclass(frozen=True)
class LineRow:
    pk: Any
    fields: Sequence[FieldView]
    form: forms.BaseForm | None
    form_id: str
    edit_url: str | None
    delete_url: str | None


@dataclass(frozen=True)
class TotalView:
    label: str
    text: str


def line_form(
    part: LinesPart, request: HttpRequest, header: Any, line: Any, data: Any = None
) -> forms.BaseForm:
    """The inline form of a new line (``line`` None) or of an existing one."""
    creating = line is None
    form_class = model_form_class(part.model, tuple(part.form_fields(creating=creating)))
    initial = None
    if creating:
        foreign_key = header._meta.get_field(part.relation).field.name
        instance, prefix = part.model(**{foreign_key: header}), "new"
        # A new line starts blank, not with the model's zeros: blank price means the item's.
        initial = dict.fromkeys(form_class.base_fields)
    else:
        instance, prefix = copy.copy(line), f"line-{line.pk}"
    form = form_class(
        data=data, initial=initial, instance=instance, prefix=prefix, company=request.company
    )
    # The inputs sit in table cells; the <form> they belong to sits after the table.
    for field in form.fields.values():
        field.widget.attrs.update({"form": line_form_id(line), "aria-label": field.label})
    return form


def line_form_id(line: Any) -> str:
    return "line-new-form" if line is None else f"line-{line.pk}-form"


def lines_context(
    doc: DocumentPage,
    request: HttpRequest,
    header: Any,
    *,
    add_form: forms.BaseForm | None = None,
    editing: Any = None,
    edit_form: forms.BaseForm | None = None,
    errors: Sequence[str] = (),
    oob: bool = False,
) -> dict:
    part = doc.lines
    assert part is not None
    reason = doc.reason_readonly(header)
    editable = reason is None and part.editable
    rows = []
    for line in part.queryset(header):
        form = None
        if editable and part.update is not None and str(line.pk) == str(editing):
            form = edit_form or line_form(part, request, header, line)
        rows.append(_line_row(doc, part, header, line, form, editable))
    errors = [*errors, *_unshown_errors(edit_form, shown=any(r.form is edit_form for r in rows))]
    if not editable or part.add is None:
        errors += _unshown_errors(add_form, shown=False)
        add_form = None
    elif add_form is None:
        add_form = line_form(part, request, header, None)
    refresh, refresh_summary = _refreshed_fields(doc, header) if oob else ([], [])
    return {
        "doc": doc,
        "header": header,
        "part": part,
        "columns": [(c.label_for(part.model), c.is_numeric(part.model)) for c in part.columns],
        "rows": rows,
        "add_form": add_form,
        "add_fields": [field_view(part.model, c, None, add_form) for c in part.columns]
        if add_form is not None
        else [],
        "add_url": doc.url("line-add", header.pk),
        "lines_url": doc.url("lines", header.pk),
        "editable": editable,
        "deletable": editable and part.delete is not None,
        "readonly_reason": reason,
        "errors": errors,
        "totals": [TotalView(t.label, display(getattr(header, t.attribute))) for t in doc.totals],
        "refresh": refresh,
        "refresh_summary": refresh_summary,
    }


def _unshown_errors(form: forms.BaseForm | None, *, shown: bool) -> list[str]:
    """Errors of a form the page will not show (the document became read-only meanwhile):
    they still have to reach the user."""
    if form is None or shown or not form.is_bound:
        return []
    return [message for messages in form.errors.values() for message in messages]


def _line_row(doc, part, header, line, form, editable) -> LineRow:
    can_edit = editable and part.update is not None
    can_delete = editable and part.delete is not None
    return LineRow(
        pk=line.pk,
        fields=[field_view(part.model, c, line, form) for c in part.columns],
        form=form,
        form_id=line_form_id(line),
        edit_url=doc.url("line-edit", header.pk, line.pk) if can_edit else None,
        delete_url=doc.url("line-delete", header.pk, line.pk) if can_delete else None,
    )


def _refreshed_fields(doc: DocumentPage, header: Any) -> tuple[list[FieldView], list[FieldView]]:
    """Header fields that change with the lines (amounts), re-sent out of band: as fields,
    and as values in a FastTab's summary."""
    wanted = set(doc.lines.refresh if doc.lines else ())
    if not wanted:
        return [], []
    tabs = fasttab_views(doc, header)
    fields = [f for tab in tabs for f in tab.fields if f.name in wanted]
    summary = [f for tab in tabs for f in tab.summary if f.name in wanted]
    return fields, summary
