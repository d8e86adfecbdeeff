"""Running actions: on one record, or on the rows selected in a list.

GET shows an action's step (its question or its inputs) and changes nothing; actions that
ask nothing answer GET with 405. POST runs the handler, which calls a service: a refusal
comes back as a message, and the page it came from is shown again (or, for an action with
inputs, the step with the refusal on its form).
"""

from __future__ import annotations

from functools import partial
from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseBadRequest,
    HttpResponseNotAllowed,
)
from django.http.response import HttpResponseBase
from django.shortcuts import render
from django.views.decorators.http import require_http_methods

from bcsite.pages.actionbar import find_action
from bcsite.pages.base import Action, Page
from bcsite.pages.forms import add_service_errors
from bcsite.pages.site import card_page_or_404, list_page_or_404
from bcsite.pages.views.common import check_page, get_record, go, page_view, safe_next

# A bulk action takes at most this many rows at once (one POST, one form).
MAX_SELECTED = 1000


@require_http_methods(["GET", "POST"])
@page_view
def record_action(request: HttpRequest, slug: str, pk: int, action_key: str) -> HttpResponse:
    card = card_page_or_404(slug)
    record = get_record(card, request, pk)
    action = find_action(card, request, record, action_key)
    if action is None:
        raise Http404("No such action on this page.")
    target = record if action.scope == "record" else None
    title = f"{action.label} · {card.record_title(record)}"
    return run_action(
        request, card, action, target, record, title=title, back=card.card_url(record)
    )


@require_http_methods(["GET", "POST"])
@page_view
def list_action(request: HttpRequest, slug: str, action_key: str) -> HttpResponse:
    page = list_page_or_404(slug)
    check_page(page, request)
    action = find_action(page, request, None, action_key)
    if action is None:
        raise Http404("No such action on this page.")
    back = safe_next(request, page.list_url())
    if action.scope != "list":
        return run_action(request, page, action, None, None, title=action.label, back=back)
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    try:
        selected = _selected_ids(request)
    except ValueError as error:
        return HttpResponseBadRequest(str(error))
    if not selected:
        messages.error(request, "Select one or more lines first.")
        return go(request, back)
    rows = page.queryset(request).filter(pk__in=selected).order_by("pk")
    if not rows.exists():
        messages.error(
            request, "None of the selected lines exist any more, or you may not see them."
        )
        return go(request, back)
    if action.visible is not None:
        # An action hidden on a row must not reach that row through a selection either.
        shown = [row.pk for row in rows if action.is_visible(row, request)]
        if not shown:
            messages.error(request, f"{action.label} does not apply to the selected lines.")
            return go(request, back)
        rows = rows.filter(pk__in=shown)
        selected = shown
    title = f"{action.label} · {page.title}"
    return run_action(request, page, action, rows, None, title=title, back=back, selected=selected)


def run_action(
    request: HttpRequest,
    page: Page,
    action: Action,
    target: Any,
    record: Any,
    *,
    title: str,
    back: str,
    selected: list[int] | None = None,
) -> HttpResponse:
    """Ask first when the action asks (confirmation, inputs), then run it once."""
    if request.method == "GET" and not action.has_step:
        return HttpResponseNotAllowed(["POST"])
    form = _action_form(request, action, record)
    show_step = partial(_step, request, page, action, title, back, selected=selected)
    if action.has_step and not (_confirmed(request) and (form is None or form.is_valid())):
        return show_step(form)
    try:
        result = action.handler(request, target, **(form.cleaned_data if form else {}))
    except ValidationError as error:
        if form is not None:
            # Shown on the step again, so what the user typed is not lost.
            add_service_errors(form, error)
            return show_step(form)
        for message in error.messages:
            messages.error(request, message)
        return go(request, back)
    if isinstance(result, HttpResponseBase):
        return result
    if result:
        messages.success(request, str(result))
    return go(request, back)


def _confirmed(request: HttpRequest) -> bool:
    return request.method == "POST" and request.POST.get("confirmed") == "1"


def _action_form(request: HttpRequest, action: Action, record: Any):
    """The action's input form, bound once the user has answered the step."""
    form_class = action.form_class(request, record)
    if form_class is None:
        return None
    initial = action.initial(record) if action.initial else None
    return form_class(data=request.POST if _confirmed(request) else None, initial=initial)


def _step(request, page, action, title, back, form, *, selected) -> HttpResponse:
    context = {
        "page": page,
        "record_title": title,
        "question": action.confirm,
        "form": form,
        "action_url": request.path,
        "back_url": back,
        "confirm_label": action.submit_label
        or ("Yes" if action.confirm and form is None else "OK"),
        "cancel_label": "No" if action.confirm and form is None else "Cancel",
        "selected": selected or [],
        "next": back,
    }
    return render(request, "bcsite/pages/step.html", context)


def _selected_ids(request: HttpRequest) -> list[int]:
    raw = request.POST.getlist("selected")
    if len(raw) > MAX_SELECTED:
        raise ValueError(f"Select at most {MAX_SELECTED} rows at once.")
    if not all(v.isascii() and v.isdigit() and len(v) <= 18 for v in raw):
        raise ValueError("The selected rows must be record ids.")
    return sorted({int(v) for v in raw})
