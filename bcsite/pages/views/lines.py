"""A document's lines, edited inline: htmx swaps ``#lines``; without JavaScript each form
posts and the page comes back."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST, require_safe
from django_htmx.http import trigger_client_event

from bcsite.pages.base import DocumentPage
from bcsite.pages.forms import saved
from bcsite.pages.lines import LINES_CHANGED, line_form, lines_context
from bcsite.pages.site import card_page_or_404
from bcsite.pages.views.cards import render_card
from bcsite.pages.views.common import get_record, is_partial, page_view

LINES_TEMPLATE = "bcsite/pages/_lines.html"


@require_safe
@page_view
def lines_view(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    doc, header = _document(request, slug, pk)
    if not is_partial(request):
        return redirect(f"{doc.card_url(header)}#lines")
    return render(request, LINES_TEMPLATE, {"lines": lines_context(doc, request, header)})


@require_POST
@page_view
def line_add(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    doc, header = _document(request, slug, pk)
    if doc.lines.add is None:
        raise Http404("Lines cannot be added here.")
    form = line_form(doc.lines, request, header, None, data=request.POST)
    if form.is_valid() and saved(form, lambda: doc.lines.add(request, header, form.cleaned_data)):
        return _changed(request, doc, pk)
    return _again(request, doc, header, add_form=form)


@require_http_methods(["GET", "POST"])
@page_view
def line_edit(request: HttpRequest, slug: str, pk: int, line_pk: int) -> HttpResponse:
    doc, header = _document(request, slug, pk)
    line = _line(doc, header, line_pk)
    if doc.lines.update is None:
        raise Http404("Lines cannot be changed here.")
    data = request.POST if request.method == "POST" else None
    form = line_form(doc.lines, request, header, line, data=data)
    if data is not None and form.is_valid():
        changes = {name: form.cleaned_data[name] for name in form.changed_data}
        if not changes or saved(form, lambda: doc.lines.update(request, line, changes)):
            return _changed(request, doc, pk)
    return _again(request, doc, header, editing=line.pk, edit_form=form)


@require_POST
@page_view
def line_delete(request: HttpRequest, slug: str, pk: int, line_pk: int) -> HttpResponse:
    doc, header = _document(request, slug, pk)
    line = _line(doc, header, line_pk)
    if doc.lines.delete is None:
        raise Http404("Lines cannot be deleted here.")
    try:
        doc.lines.delete(request, line)
    except ValidationError as error:
        return _again(request, doc, header, errors=error.messages)
    return _changed(request, doc, pk)


def _document(request: HttpRequest, slug: str, pk: int) -> tuple[DocumentPage, Any]:
    doc = card_page_or_404(slug)
    if not isinstance(doc, DocumentPage) or doc.lines is None:
        raise Http404("This page has no lines.")
    return doc, get_record(doc, request, pk)


def _line(doc: DocumentPage, header: Any, line_pk: int) -> Any:
    line = doc.lines.queryset(header).filter(pk=line_pk).first()
    if line is None:
        raise Http404("No such line on this document.")
    return line


def _changed(request: HttpRequest, doc: DocumentPage, pk: int) -> HttpResponse:
    # The services recomputed the header's amounts: read it again for the totals.
    header = get_record(doc, request, pk)
    if not is_partial(request):
        return redirect(f"{doc.card_url(header)}#lines")
    context = {"lines": lines_context(doc, request, header, oob=True)}
    return trigger_client_event(render(request, LINES_TEMPLATE, context), LINES_CHANGED)


def _again(request: HttpRequest, doc: DocumentPage, header: Any, **state: Any) -> HttpResponse:
    """The lines once more, with the form that was refused or the service's message."""
    if is_partial(request):
        context = {"lines": lines_context(doc, request, header, **state)}
        return render(request, LINES_TEMPLATE, context)
    lines = lines_context(doc, request, header, **state)
    return render_card(request, doc, header, mode="view", lines=lines)
