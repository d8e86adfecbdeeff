"""Run pages: the progress of runs started from a page, run history, one run's steps.

Every run is read through ``runs_for`` / ``get_run_for_user``: a run of another owner's
flow, or of another company, does not exist here. Unfinished runs refresh themselves by
htmx polling (a fragment that stops asking once everything has ended); without
JavaScript a meta refresh does the same.
"""

from __future__ import annotations

import datetime
import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST, require_safe

from automate.access import (
    RUN_ONLY,
    flow_role,
    get_flow_for_user,
    get_run_for_user,
    may_edit,
    runs_for,
)
from automate.connectors import find_action
from automate.definition import CONTROL_TITLES, RECORD_TRIGGERS, step_title, walk
from automate.models import Flow, FlowRun, RunStatus, StepRun, TriggerEvent
from automate.services import flow_run_cancel, flow_run_resubmit
from bcsite.pages.paging import InvalidCursor, Sort, paginate
from bcsite.pages.views.common import is_partial, safe_next
from bcsite.views import company_required

RUN_PAGE_SIZE = 50
MAX_PROGRESS_RUNS = 50
# A loop over thousands of items leaves thousands of step rows; the page shows the first.
MAX_STEPS_SHOWN = 500
# Longer JSON values start collapsed.
LONG_JSON_CHARS = 300
LONG_JSON_LINES = 8
MAX_FILTER_DAYS = 366
RUN_SORT = Sort("created_at", descending=True, model_field=FlowRun._meta.get_field("created_at"))
TRIGGER_EVENT_PAGE_SIZE = 50
TRIGGER_EVENT_SORT = Sort(
    "created_at", descending=True, model_field=TriggerEvent._meta.get_field("created_at")
)
TRIGGER_EVENT_SALT = "automate.trigger-history"
# Triggers whose events go through the outbox and so leave a trigger history. Instant and
# HTTP flows start their runs directly: their run history is the whole story.
OUTBOX_TRIGGERS = (*RECORD_TRIGGERS, "business_event", "recurrence", "approval_requested")
TRIGGER_BADGES = {
    TriggerEvent.Status.STARTED: "started",
    TriggerEvent.Status.SKIPPED: "skipped",
    TriggerEvent.Status.PENDING: "waiting",
}


# -- Display helpers --------------------------------------------------------------------------


def duration_text(value: datetime.timedelta | None) -> str:
    if value is None:
        return ""
    seconds = max(value.total_seconds(), 0)
    if seconds < 10:
        return f"{seconds:.1f} s"
    if seconds < 60:
        return f"{seconds:.0f} s"
    minutes, seconds = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {seconds} s"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {minutes} min"
    return f"{hours // 24} d {hours % 24} h"


def badge(status: str) -> str:
    """A CSS-friendly name for run and step statuses alike ("timed_out", "TimedOut")."""
    return str(status).lower().replace("_", "")


def safe_path(url: Any) -> str:
    """``url`` if it is a path on this site; trigger data is not trusted to hold one."""
    if isinstance(url, str) and url.startswith("/") and url_has_allowed_host_and_scheme(url, None):
        return url
    return ""


def record_label(number: Any, name: Any) -> str:
    parts = [str(p) for p in (number, name) if p not in (None, "")]
    return " · ".join(dict.fromkeys(parts))


def trigger_body(run: FlowRun) -> dict:
    """The trigger's body when it is an object. A partner's HTTP request may send any JSON
    (a list, a bare string): such a run still has a page, it just names no record."""
    data = run.trigger_data if isinstance(run.trigger_data, dict) else {}
    body = data.get("body")
    return body if isinstance(body, dict) else {}


def with_record(runs: QuerySet[FlowRun]) -> QuerySet[FlowRun]:
    """Runs with what a list shows of the record they ran on, without loading whole
    trigger payloads."""
    return runs.select_related("flow", "triggered_by").defer(
        "trigger_data", "variables", "flow__description"
    )


def decorate(run: FlowRun) -> FlowRun:
    run.badge = badge(run.status)
    run.duration_text = duration_text(run.duration)
    run.record_text = record_label(
        getattr(run, "record_number", None), getattr(run, "record_name", None)
    )
    run.record_link = safe_path(getattr(run, "record_path", None))
    return run


def _render(request: HttpRequest, template: str, partial: str, context: dict) -> HttpResponse:
    name = f"{template}#{partial}" if is_partial(request) else template
    response = render(request, name, context)
    patch_vary_headers(response, ("HX-Request",))
    return response


# -- Progress ---------------------------------------------------------------------------------


def _run_ids(request: HttpRequest) -> list[int] | None:
    raw = request.GET.getlist("run")
    if len(raw) > MAX_PROGRESS_RUNS or not all(
        v.isascii() and v.isdigit() and len(v) <= 18 for v in raw
    ):
        return None
    return sorted({int(v) for v in raw})


@require_safe
@company_required
def run_progress(request: HttpRequest) -> HttpResponse:
    ids = _run_ids(request)
    error = "" if ids is not None else "The link names runs that cannot be shown."
    runs = list(runs_for(request).filter(pk__in=ids or []).select_related("flow").order_by("pk"))
    if ids and not runs:
        error = "These runs do not exist, or you may not see them."
    for run in runs:
        body = trigger_body(run)
        decorate(run)
        run.record_text = record_label(body.get("number"), body.get("displayName"))
        run.record_link = safe_path(body.get("recordUrl"))
        run.percent = (
            100 if run.is_finished else min(100, 100 * run.steps_done // max(run.steps_total, 1))
        )
    context = {
        "runs": runs,
        "error": error,
        "polling": any(not run.is_finished for run in runs),
        "back_url": safe_next(request, ""),
    }
    return _render(request, "automate/runs/progress.html", "progress", context)


# -- Run history ------------------------------------------------------------------------------


@dataclass(frozen=True)
class RunFilters:
    status: str = ""
    days: int | None = None
    mine: bool = False
    errors: tuple[str, ...] = ()

    def apply(self, runs: QuerySet[FlowRun], request: HttpRequest) -> QuerySet[FlowRun]:
        if self.status:
            runs = runs.filter(status=self.status)
        if self.days:
            runs = runs.filter(created_at__gte=timezone.now() - datetime.timedelta(days=self.days))
        if self.mine:
            runs = runs.filter(flow__owner=request.user)
        return runs

    def params(self) -> dict[str, Any]:
        return {
            "status": self.status or None,
            "days": self.days,
            "mine": "1" if self.mine else None,
        }


def read_filters(request: HttpRequest) -> RunFilters:
    """The filters in the query string; what cannot be read is dropped and said so."""
    errors = []
    status = request.GET.get("status", "").strip().lower()
    if status and status not in RunStatus.values:
        errors.append(
            f"There is no run status {status[:40]!r}; "
            f"use one of {', '.join(RunStatus.values)}. Showing every status."
        )
        status = ""
    raw_days = request.GET.get("days", "").strip()
    days = None
    if raw_days:
        if raw_days.isascii() and raw_days.isdigit() and 1 <= int(raw_days) <= MAX_FILTER_DAYS:
            days = int(raw_days)
        else:
            errors.append(f"Days must be a whole number from 1 to {MAX_FILTER_DAYS}.")
    mine = request.GET.get("mine") == "1"
    return RunFilters(status=status, days=days, mine=mine, errors=tuple(errors))


def _url(base: str, **params: Any) -> str:
    query = {k: v for k, v in params.items() if v not in (None, "")}
    return f"{base}?{urlencode(query)}" if query else base


def _history(request: HttpRequest, runs: QuerySet[FlowRun], *, base: str, flow=None):
    """The run list; a flow's also shows its trigger history, unless htmx asks for the grid."""
    filters = read_filters(request)
    errors = list(filters.errors)
    rows = with_record(filters.apply(runs, request))
    after, before = request.GET.get("after"), request.GET.get("before")
    try:
        page = paginate(rows, RUN_SORT, size=RUN_PAGE_SIZE, after=after, before=before)
    except InvalidCursor:
        errors.append("That page link is no longer valid; showing the newest runs.")
        page = paginate(rows, RUN_SORT, size=RUN_PAGE_SIZE)
    params = filters.params()
    status_links = [
        {
            "label": "All" if not value else label,
            "url": _url(base, **{**params, "status": value}),
            "current": value == filters.status,
        }
        for value, label in [("", "All"), *RunStatus.choices]
    ]
    context = {
        "flow": flow,
        "runs": [decorate(run) for run in page.rows],
        "filters": filters,
        "errors": errors,
        "status_links": status_links,
        "next_url": _url(base, **params, after=page.next_cursor) if page.next_cursor else "",
        "previous_url": (
            _url(base, **params, before=page.previous_cursor) if page.previous_cursor else ""
        ),
        "first_url": _url(base, **params) if not page.is_first else "",
    }
    if flow is not None:
        context["may_edit"] = may_edit(flow.role)
        if context["may_edit"] and not is_partial(request):
            context["triggers"] = trigger_history(request, flow, base=base)
    return _render(request, "automate/runs/list.html", "grid", context)


@require_safe
@company_required
def run_list(request: HttpRequest) -> HttpResponse:
    return _history(request, runs_for(request), base=reverse("automate:run-list"))


@require_safe
@company_required
def flow_runs(request: HttpRequest, pk: int) -> HttpResponse:
    """The flow's runs: all of them for its owner, co-owners and administrators; a run-only
    user sees their own (``runs_for``) and not the trigger history."""
    flow = get_flow_for_user(request, pk, edit=False)
    base = reverse("automate:flow-runs", args=[flow.pk])
    if is_partial(request) and request.htmx.target == "trigger-history":
        if not may_edit(flow.role):
            raise PermissionDenied(_run_only_message(flow))
        context = {"flow": flow, "triggers": trigger_history(request, flow, base=base)}
        return _render(request, "automate/runs/list.html", "trigger-history", context)
    runs = runs_for(request).filter(flow=flow)
    return _history(request, runs, base=base, flow=flow)


# -- Trigger history --------------------------------------------------------------------------


@dataclass(frozen=True)
class TriggerHistory:
    events: list[TriggerEvent]
    errors: list[str]
    next_url: str
    previous_url: str
    first_url: str


def trigger_history(request: HttpRequest, flow: Flow, *, base: str) -> TriggerHistory | None:
    """The flow's trigger events, newest first, a page at a time (its own cursors, so
    paging through it leaves the run list where it is), or None for flows without them."""
    if flow.trigger_type not in OUTBOX_TRIGGERS:
        return None
    rows = TriggerEvent.objects.filter(flow=flow).defer("trigger_data")
    after, before = request.GET.get("events_after"), request.GET.get("events_before")
    errors = []
    try:
        page = paginate(
            rows,
            TRIGGER_EVENT_SORT,
            size=TRIGGER_EVENT_PAGE_SIZE,
            after=after,
            before=before,
            salt=TRIGGER_EVENT_SALT,
        )
    except InvalidCursor:
        errors.append(
            "That page link of the trigger history is no longer valid; showing the newest."
        )
        page = paginate(
            rows, TRIGGER_EVENT_SORT, size=TRIGGER_EVENT_PAGE_SIZE, salt=TRIGGER_EVENT_SALT
        )
    for event in page.rows:
        event.badge = TRIGGER_BADGES.get(event.status, event.status)
    return TriggerHistory(
        events=page.rows,
        errors=errors,
        next_url=_url(base, events_after=page.next_cursor) if page.next_cursor else "",
        previous_url=_url(base, events_before=page.previous_cursor) if page.previous_cursor else "",
        first_url=base if not page.is_first else "",
    )


# -- One run ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class JsonBlock:
    text: str
    long: bool
    summary: str


def json_block(value: Any) -> JsonBlock | None:
    """A value pretty-printed as JSON, for the template to escape and show."""
    if value is None:
        return None
    text = json.dumps(value, indent=2, ensure_ascii=False, default=str)
    long = len(text) > LONG_JSON_CHARS or text.count("\n") > LONG_JSON_LINES
    first = text.splitlines()[0] if text else ""
    summary = f"{first[:80]} … ({len(text):,} characters)"
    return JsonBlock(text=text, long=long, summary=summary)


@dataclass(frozen=True)
class StepView:
    path: str
    name: str
    title: str
    action: str
    status: str
    status_label: str
    badge: str
    depth: int
    attempts: int
    duration: str
    inputs: JsonBlock | None
    outputs: JsonBlock | None
    error: JsonBlock | None
    error_message: str


def action_label(action_type: str) -> str:
    if action_type in CONTROL_TITLES:
        return CONTROL_TITLES[action_type]
    action = find_action(action_type) if action_type else None
    if action is None:
        return action_type
    return f"{action.connector.name} · {action.title}"


def step_views(run: FlowRun, steps: list[StepRun]) -> list[StepView]:
    definition = run.version.definition if run.version_id else {}
    titles = {
        str(ref.step.get("name")): step_title(ref.step)
        for ref in walk(definition.get("steps") or [])
    }
    labels: dict[str, str] = {}
    views = []
    for step in steps:
        if step.action not in labels:
            labels[step.action] = action_label(step.action)
        error = step.error
        message = error.get("message", "") if isinstance(error, dict) else str(error or "")
        views.append(
            StepView(
                path=step.path,
                name=step.name,
                title=titles.get(step.name) or step.name.replace("_", " "),
                action=labels[step.action],
                status=step.status,
                status_label=step.get_status_display(),
                badge=badge(step.status),
                depth=step.depth,
                attempts=step.attempts,
                duration=duration_text(step.duration),
                inputs=json_block(step.inputs),
                outputs=json_block(step.outputs),
                error=json_block(error),
                error_message=str(message),
            )
        )
    return views


@require_safe
@company_required
def run_detail(request: HttpRequest, pk: int) -> HttpResponse:
    run = decorate(get_run_for_user(request, pk))
    steps = list(run.steps.order_by("position", "path", "pk")[: MAX_STEPS_SHOWN + 1])
    body = trigger_body(run)
    context = {
        "run": run,
        "may_edit": may_edit(flow_role(request, run.flow)),
        "steps": step_views(run, steps[:MAX_STEPS_SHOWN]),
        "more_steps": len(steps) > MAX_STEPS_SHOWN,
        "max_steps": MAX_STEPS_SHOWN,
        "trigger": json_block(run.trigger_data),
        "record_text": record_label(body.get("number"), body.get("displayName")),
        "record_link": safe_path(body.get("recordUrl")),
        "polling": not run.is_finished,
    }
    return _render(request, "automate/runs/detail.html", "run", context)


def _run_only_message(flow: Flow) -> str:
    owner = flow.owner.get_full_name() or flow.owner.get_username()
    return (
        f"{flow.name} is shared with you to run only. Its owner {owner} can make you a "
        "co-owner to edit it or see its history."
    )


def _run_for_change(request: HttpRequest, pk: int, *, own_run_will_do: bool) -> FlowRun:
    """The run ``pk`` for cancelling or resubmitting: those who may edit its flow may; a
    run-only user may cancel their own run (``own_run_will_do``), nothing more."""
    run = get_run_for_user(request, pk)
    role = flow_role(request, run.flow)
    if may_edit(role):
        return run
    if own_run_will_do and role == RUN_ONLY and run.triggered_by_id == request.user.pk:
        return run
    raise PermissionDenied(_run_only_message(run.flow))


@require_POST
@company_required
def run_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    run = _run_for_change(request, pk, own_run_will_do=True)
    try:
        flow_run_cancel(run=run, user=request.user)
    except ValidationError as error:
        for message in error.messages:
            messages.error(request, message)
    else:
        messages.success(request, "The run was cancelled.")
    return redirect("automate:run-detail", pk=run.pk)


@require_POST
@company_required
def run_resubmit(request: HttpRequest, pk: int) -> HttpResponse:
    # Resubmitting runs the flow again from another run's trigger: an edit of the history,
    # so a run-only user runs it afresh from the Automate group instead.
    run = _run_for_change(request, pk, own_run_will_do=False)
    try:
        new_run = flow_run_resubmit(run=run, user=request.user)
    except ValidationError as error:
        for message in error.messages:
            messages.error(request, message)
        return redirect("automate:run-detail", pk=run.pk)
    messages.success(request, f"The run was resubmitted as run {new_run.pk}.")
    return redirect("automate:run-detail", pk=new_run.pk)
