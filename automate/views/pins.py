"""Pinned flow actions: administrators place an instant flow in an action group of a page.

The list of the company's pins, the "Pin a flow" form (POST to the same page) and Unpin
(POST). Only the company's administrators open these pages; a pinned action itself shows
to whoever may run its flow (``automate.custom_actions``).
"""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from automate.custom_actions import (
    group_label,
    page_caption,
    pin_groups,
    pin_pages,
    pinnable_flows,
    pinned_action_create,
    pinned_action_delete,
)
from automate.models import Flow, PinnedFlowAction
from bcsite.pages.forms import saved
from bcsite.registry import registry
from bcsite.views import company_admin_required

ADMINS_ONLY = (
    "Only administrators of the company can pin flows to pages. Ask one of them to pin it for you."
)


class PinForm(forms.Form):
    flow = forms.ModelChoiceField(
        queryset=Flow.objects.none(),
        empty_label="Choose an instant flow",
        help_text="Instant flows (for a selected record) that are on.",
    )
    page = forms.ChoiceField(help_text="A list, card or document page of the flow's table.")
    group = forms.ChoiceField(
        label="Action group",
        help_text="Automate, or one of the page's own groups (e.g. Related).",
    )
    label = forms.CharField(
        max_length=PinnedFlowAction._meta.get_field("label").max_length,
        required=False,
        help_text="The action's caption; leave blank for the flow's name.",
    )

    def __init__(self, company, *args, **kwargs):
        super().__init__(*args, **kwargs)
        flows = pinnable_flows(company).order_by("name", "pk")
        self.fields["flow"].queryset = flows
        self.fields["flow"].label_from_instance = self._flow_caption
        pages = pin_pages()
        by_table: dict[str, list[tuple[str, str]]] = {}
        for page in pages:
            table = registry.table_for_model(page.model)
            by_table.setdefault(table.name, []).append((page.key, page_caption(page)))
        self.fields["page"].choices = [("", "Choose a page"), *by_table.items()]
        groups = dict(group for page in pages for group in pin_groups(page))
        self.fields["group"].choices = list(groups.items())

    @staticmethod
    def _flow_caption(flow) -> str:
        table = registry.tables.get(flow.table_id)
        owner = flow.owner.get_full_name() or flow.owner.get_username()
        return f"{flow.name} · {table.name if table else flow.table_id} · {owner}"


def _pin_rows(request: HttpRequest) -> list[dict]:
    pins = PinnedFlowAction.objects.filter(company=request.company).select_related(
        "flow__owner", "pinned_by"
    )
    rows = []
    for pin in pins:
        page = registry.pages.get(pin.page_key)
        rows.append(
            {
                "pin": pin,
                "page": page_caption(page) if page else pin.page_key,
                "group": group_label(page, pin.group_key) if page else pin.group_key,
            }
        )
    return rows


@require_http_methods(["GET", "POST"])
@company_admin_required(ADMINS_ONLY)
def pinned_actions(request: HttpRequest) -> HttpResponse:
    form = PinForm(request.company, data=request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        if saved(
            form,
            lambda: pinned_action_create(
                company=request.company,
                user=request.user,
                flow=data["flow"],
                page_key=data["page"],
                group_key=data["group"],
                label=data["label"],
            ),
        ):
            page = registry.pages[data["page"]]
            group = group_label(page, data["group"])
            messages.success(request, f"{data['flow'].name} is pinned to {page.title} ({group}).")
            return redirect("automate:pinned-actions")
    context = {"form": form, "rows": _pin_rows(request)}
    return render(request, "automate/pins/list.html", context)


@require_POST
@company_admin_required(ADMINS_ONLY)
def pinned_action_unpin(request: HttpRequest, pk: int) -> HttpResponse:
    pin = get_object_or_404(
        PinnedFlowAction.objects.filter(company=request.company).select_related("flow"), pk=pk
    )
    pinned_action_delete(pin=pin, user=request.user)
    messages.success(request, f"{pin.label} is no longer pinned.")
    return redirect("automate:pinned-actions")
