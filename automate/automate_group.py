"""The Automate action group on every list, card and document page.

As in Business Central, the group offers the instant flows for the page's table ("For a
selected record"), then Create a flow and Manage flows. Unlike Business Central it offers
the flows shared with the user too (co-owned or run-only), marked as shared. Where Power
Automate is off for the user there is no group, or only "Get started with Power Automate"
when each user decides for themselves. A flow action asks
for the trigger's inputs in the Run Flow pane, starts one run per record and opens the
progress view. The actions exist only for flows the user may run, so the page's action
endpoint answers 404 for anyone else's flow; ``instant_flow_run`` checks again.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import OuterRef, Q, QuerySet, Subquery
from django.http import HttpRequest, HttpResponse
from django.urls import reverse

from automate.access import needs_opt_in, request_automate_refusal
from automate.models import Flow, FlowRun, FlowShare
from automate.run_forms import run_flow_form, trigger_inputs
from automate.services import clean_trigger_inputs, instant_flow_run, instant_flow_runnable
from automate.views.runs import MAX_PROGRESS_RUNS
from bcsite.pages.base import Action, ActionGroup, ListPage, Page
from bcsite.pages.views.common import go
from bcsite.registry import registry

GROUP_KEY = "automate"
FLOW_ACTION_PREFIX = "run-flow-"
_CACHE_ATTRIBUTE = "_automate_instant_flows"
NO_SELECTED_ROWS = "None of the selected lines exist any more, or you may not see them."


def instant_flows(request: HttpRequest, table_id: int) -> list[Flow]:
    """The runnable instant flows on ``table_id`` that the user owns or that are shared
    with them (``shared_role`` set): one query per request and table, however often the
    action bar is drawn or searched."""
    cache = request.__dict__.setdefault(_CACHE_ATTRIBUTE, {})
    if table_id not in cache:
        shares = FlowShare.objects.filter(user=request.user)
        flows = (
            Flow.objects.filter(
                Q(owner=request.user) | Q(pk__in=shares.values("flow_id")),
                company=request.company,
                trigger_type="selected_record",
                table_id=table_id,
                enabled=True,
                current_version__isnull=False,
            )
            .annotate(shared_role=Subquery(shares.filter(flow=OuterRef("pk")).values("role")))
            .select_related("current_version", "owner")
            .order_by("name", "pk")
        )
        cache[table_id] = [f for f in flows if instant_flow_runnable(f, request.user)]
    return cache[table_id]


def run_progress_url(runs: list[FlowRun], *, back: str = "") -> str:
    query = [("run", run.pk) for run in runs]
    if back:
        query.append(("next", back))
    return f"{reverse('automate:run-progress')}?{urlencode(query)}"


def automate_group(page: Page, request: HttpRequest, obj: Any) -> list[ActionGroup]:
    table = registry.table_for_model(page.model)
    user = getattr(request, "user", None)
    if table is None or user is None or not user.is_authenticated:
        return []
    if getattr(request, "company", None) is None:
        return []
    if request_automate_refusal(request):
        if needs_opt_in(request):
            start = Action(
                key="get-started",
                label="Get started with Power Automate",
                url=reverse("automate:get-started"),
                scope="page",
            )
            return [ActionGroup(GROUP_KEY, "Automate", [start])]
        return []
    back = page.list_url() if obj is None else page.card_url(obj)
    actions = [flow_action(page, flow, obj) for flow in instant_flows(request, table.id)]
    gallery = reverse("automate:gallery") + "?" + urlencode({"table": table.id, "next": back})
    actions += [
        Action(key="create-flow", label="Create a flow", url=gallery, scope="page"),
        Action(
            key="manage-flows",
            label="Manage flows",
            url=reverse("automate:flow-list"),
            scope="page",
        ),
    ]
    return [ActionGroup(GROUP_KEY, "Automate", actions)]


def flow_action(page: Page, flow: Flow, obj: Any) -> Action:
    on_list = isinstance(page, ListPage)
    if on_list:
        question = f"Run {flow.name} on the selected rows?"
    else:
        title = page.record_title(obj) if hasattr(page, "record_title") else str(obj)
        question = f"Run {flow.name} on {title}?"
    form = run_flow_form(flow)
    shared = bool(getattr(flow, "shared_role", None))
    return Action(
        key=f"{FLOW_ACTION_PREFIX}{flow.pk}",
        label=f"{flow.name} (shared)" if shared else flow.name,
        handler=_run_many(page, flow) if on_list else _run_one(page, flow),
        form=form,
        confirm=question,
        submit_label="Continue",
        scope="list" if on_list else "record",
    )


def _run_one(page: Page, flow: Flow):
    # Positional-only: an input may be called "request" or "record".
    def run(request: HttpRequest, record: Any, /, **inputs: Any) -> HttpResponse:
        started = instant_flow_run(
            flow=flow, record=record, user=request.user, inputs=inputs, page_key=page.key
        )
        return go(request, run_progress_url([started], back=page.card_url(record)))

    return run


def _run_many(page: Page, flow: Flow):
    """One run per selected row, each checked on its own: a refused row is reported and
    the others still run, as BC's batch actions do."""

    def run(request: HttpRequest, rows: QuerySet, /, **inputs: Any) -> HttpResponse | None:
        # Inputs are the same for every row: refuse them once, on the form.
        clean_trigger_inputs(trigger_inputs(flow), inputs)
        started, refused = [], False
        for row in rows:
            try:
                started.append(
                    instant_flow_run(
                        flow=flow, record=row, user=request.user, inputs=inputs, page_key=page.key
                    )
                )
            except ValidationError as error:
                refused = True
                for message in error.messages:
                    messages.error(request, message)
        if not started:
            if not refused:
                # Ids of rows deleted meanwhile, or of another company's: say so, not nothing.
                messages.error(request, NO_SELECTED_ROWS)
            return None
        # The progress view names its runs in its URL; many more are the flow's history.
        if len(started) > MAX_PROGRESS_RUNS:
            messages.success(request, f"{len(started)} runs of {flow.name} started.")
            return go(request, reverse("automate:flow-runs", args=[flow.pk]))
        return go(request, run_progress_url(started, back=page.list_url()))

    return run


registry.register_action_groups(automate_group)
