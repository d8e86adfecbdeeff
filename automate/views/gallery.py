"""The templates gallery, and making a flow of one ("Create a flow" in the Automate group).

Using a template makes a flow owned by the user, turned on, from a copy of the template's
definition (``flow_create`` validates it as it would a save from the designer).
"""

from __future__ import annotations

import copy
from urllib.parse import urlencode

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.html import format_html
from django.views.decorators.http import require_http_methods, require_safe

from automate import gallery
from automate.models import Flow
from automate.recurrence import describe
from automate.services import flow_create
from bcsite.events import events
from bcsite.pages.forms import add_service_errors
from bcsite.pages.views.common import safe_next
from bcsite.registry import registry
from bcsite.views import company_required


def _table_filter(request: HttpRequest) -> tuple[int | None, str]:
    """The table asked for in ``?table=``, or None and why it is not used."""
    raw = request.GET.get("table", "").strip()
    if not raw:
        return None, ""
    if raw.isascii() and raw.isdigit() and len(raw) < 10 and int(raw) in registry.tables:
        return int(raw), ""
    return None, f"There is no table {raw[:20]!r}; showing the templates for every table."


def _category_filter(request: HttpRequest) -> tuple[str | None, str]:
    """The category asked for in ``?category=`` (any case), or None and why it is not used."""
    raw = request.GET.get("category", "").strip()
    if not raw:
        return None, ""
    categories = {t.category.casefold(): t.category for t in gallery.templates_for(None)}
    found = categories.get(raw.casefold())
    if found is not None:
        return found, ""
    return None, f"There is no category {raw[:20]!r}; showing the templates of every category."


def _table_names(template: gallery.FlowTemplate) -> list[str]:
    return [registry.tables[t].name for t in template.table_ids if t in registry.tables]


@require_safe
@company_required
def gallery_view(request: HttpRequest) -> HttpResponse:
    table_id, table_error = _table_filter(request)
    category, category_error = _category_filter(request)
    next_url = safe_next(request, "")
    query = f"?{urlencode({'next': next_url})}" if next_url else ""
    cards = [
        {
            "template": template,
            "tables": _table_names(template),
            "use_url": reverse("automate:template-use", args=[template.key]),
        }
        for template in gallery.templates_for(table_id)
        if category is None or template.category == category
    ]
    every = gallery.templates_for(None)
    used_tables = {t for template in every for t in template.table_ids}
    context = {
        "cards": cards,
        "errors": [e for e in (table_error, category_error) if e],
        "table": registry.tables.get(table_id) if table_id is not None else None,
        "tables": [registry.tables[t] for t in sorted(used_tables) if t in registry.tables],
        "category": category,
        "categories": list(dict.fromkeys(t.category for t in every)),
        "next": next_url,
        "next_query": query,
    }
    return render(request, "automate/gallery/gallery.html", context)


def _how_it_starts(flow: Flow) -> str:
    trigger = flow.current_version.definition["trigger"]
    if trigger["type"] == "selected_record":
        return "Run it from Automate."
    if trigger["type"] == "business_event":
        event = events.business_events[trigger["event"]]
        return f"It is on, and runs each time this happens: {event.name.lower()}."
    if trigger["type"] == "recurrence":
        return f"It is on, and runs on its schedule: {describe(trigger).lower()}."
    return "It is on, and runs by itself."


class UseTemplateForm(forms.Form):
    name = forms.CharField(label="Flow name", max_length=Flow._meta.get_field("name").max_length)


@require_http_methods(["GET", "POST"])
@company_required
def template_use(request: HttpRequest, key: str) -> HttpResponse:
    template = gallery.get_template(key)
    if template is None:
        raise Http404("No such template.")
    next_url = safe_next(request, "")
    form = UseTemplateForm(
        data=request.POST if request.method == "POST" else None, initial={"name": template.title}
    )
    if request.method == "POST" and form.is_valid():
        try:
            flow = flow_create(
                company=request.company,
                owner=request.user,
                name=form.cleaned_data["name"],
                definition=copy.deepcopy(template.definition),
                description=template.description,
                template_key=template.key,
                enabled=True,
                concurrency_limit=template.concurrency_limit,
            )
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            edit_url = reverse("automate:flow-edit", args=[flow.pk])
            messages.success(
                request,
                format_html(
                    "Flow '{}' created. {} <a href=\"{}\">Edit it in the designer</a>.",
                    flow.name,
                    _how_it_starts(flow),
                    edit_url,
                ),
            )
            return redirect(next_url or edit_url)
    context = {
        "template": template,
        "tables": _table_names(template),
        "form": form,
        "next": next_url,
        "back_url": next_url or reverse("automate:gallery"),
    }
    return render(request, "automate/gallery/use.html", context)
