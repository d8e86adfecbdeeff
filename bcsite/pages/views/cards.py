"""Card and document pages: view, edit, new, delete."""

from __future__ import annotations

import copy
from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_http_methods, require_safe

from bcsite.pages.actionbar import Mode, action_bar
from bcsite.pages.base import CardPage, DocumentPage
from bcsite.pages.forms import model_form_class, saved
from bcsite.pages.lines import LINES_CHANGED, lines_context
from bcsite.pages.rendering import factbox_views, fasttab_views
from bcsite.pages.site import card_page_or_404, list_page_of
from bcsite.pages.views.common import check_page, get_record, go, page_view


@require_safe
@page_view
def card_view(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    card = card_page_or_404(slug)
    record = get_record(card, request, pk)
    return render_card(request, card, record, mode="view")


@require_http_methods(["GET", "POST"])
@page_view
def card_edit(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    card = card_page_or_404(slug)
    record = get_record(card, request, pk)
    if card.update is None:
        raise Http404(f"{card.title} cannot be edited.")
    reason = card.reason_readonly(record)
    if request.method == "GET" and reason:
        messages.info(request, reason)
        return go(request, card.card_url(record))
    form = card_form(card, request, record)
    if request.method == "POST" and form.is_valid():
        changes = {name: form.cleaned_data[name] for name in form.changed_data}
        if saved(form, lambda: card.update(request, record, changes) if changes else None):
            return go(request, card.card_url(record))
    return render_card(request, card, record, mode="edit", form=form)


@require_http_methods(["GET", "POST"])
@page_view
def card_new(request: HttpRequest, slug: str) -> HttpResponse:
    card = card_page_or_404(slug)
    check_page(card, request)
    if card.create is None:
        raise Http404(f"{card.title} cannot be created here.")
    form = card_form(card, request, None)
    if request.method == "POST" and form.is_valid():
        created: list[Any] = []
        if saved(form, lambda: created.append(card.create(request, dict(form.cleaned_data)))):
            return go(request, card.card_url(created[0]))
    return render_card(request, card, None, mode="new", form=form)


@require_http_methods(["GET", "POST"])
@page_view
def card_delete(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    """GET asks "Delete ...?"; POST deletes through the page's service."""
    card = card_page_or_404(slug)
    record = get_record(card, request, pk)
    title = card.record_title(record)
    if card.delete is None:
        raise Http404(f"{card.title} cannot be deleted.")
    if request.method == "POST":
        try:
            card.delete(request, record)
        except ValidationError as error:
            for message in error.messages:
                messages.error(request, message)
            return go(request, card.card_url(record))
        messages.success(request, f"{card.entity or 'Record'} {title} was deleted.")
        return go(request, _back_to_list(card))
    context = {
        "page": card,
        "obj": record,
        "record_title": title,
        "question": f"Do you want to delete {card.entity.lower() or 'record'} {title}?",
        "action_url": card.delete_url(record),
        "back_url": card.card_url(record),
        "confirm_label": "Delete",
        "inputs": [],
    }
    return render(request, "bcsite/pages/step.html", context)


def card_form(card: CardPage, request: HttpRequest, record: Any):
    """The ModelForm of the card's editable fields, bound to POST data when there is some.

    The form validates a copy of the record, so the page still shows the stored values
    next to a form that was refused.
    """
    creating = record is None
    form_class = model_form_class(card.model, tuple(card.form_fields(creating=creating)))
    instance = copy.copy(record) if record is not None else new_instance(card.model, request)
    data = request.POST if request.method == "POST" else None
    initial = None
    if creating and data is None:
        # "New Sales Order" from a customer card arrives as ?customer=C00010.
        initial = {k: v for k, v in request.GET.items() if k in form_class.base_fields}
    return form_class(data=data, initial=initial, instance=instance, company=request.company)


def render_card(
    request: HttpRequest,
    card: CardPage,
    record: Any,
    *,
    mode: Mode,
    form=None,
    lines: dict | None = None,
    status: int = 200,
) -> HttpResponse:
    is_document = isinstance(card, DocumentPage) and card.lines is not None
    list_page = list_page_of(card)
    context = {
        "page": card,
        "obj": record,
        "mode": mode,
        "form": form,
        "record_title": card.record_title(record) if record is not None else f"New {card.entity}",
        "readonly_reason": card.reason_readonly(record) if record is not None else None,
        "fasttabs": fasttab_views(card, record, form),
        "actionbar": action_bar(card, request, record, mode=mode),
        "factboxes": factbox_views(card, request, record),
        "list_url": list_page.list_url() if list_page is not None else None,
        "cancel_url": card.card_url(record) if record is not None else _back_to_list(card),
    }
    if is_document and record is not None:
        context["lines"] = lines or lines_context(card, request, record)
        if context["factboxes"]:
            context["factboxes_url"] = card.url("factboxes", record.pk, on="card")
            context["factboxes_refresh_on"] = LINES_CHANGED
    template = "bcsite/pages/document.html" if is_document else "bcsite/pages/card.html"
    return render(request, template, context, status=status)


def new_instance(model, request: HttpRequest):
    """An unsaved row of the request's company, for a form to validate."""
    instance = model()
    if any(f.name == "company" for f in model._meta.concrete_fields):
        instance.company = request.company
    return instance


def _back_to_list(card: CardPage) -> str:
    list_page = list_page_of(card)
    return list_page.list_url() if list_page is not None else "/"
