"""My flows and the flow designer."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import F, OuterRef, QuerySet, Subquery
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import content_disposition_header
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from automate.access import (
    ROLE_LABELS,
    flow_role,
    flows_for,
    get_flow_for_user,
    is_company_admin,
    may_edit,
)
from automate.definition import SCHEMA_VERSION, TRIGGER_TYPES
from automate.designer import designer_catalog
from automate.forms import FlowForm, FlowImportForm, FlowToggleForm
from automate.models import Flow, FlowRun, FlowShare, RunStatus
from automate.services import (
    flow_create,
    flow_delete,
    flow_export,
    flow_import,
    flow_set_enabled,
    flow_update,
)
from automate.services.failures import FAILURE_STATUSES, failure_notify_after
from bcsite.events import events
from bcsite.registry import registry
from bcsite.views import company_required

FILE_NAME_UNSAFE = re.compile(r"[^\w\- .()]+")


@dataclass(frozen=True)
class FlowRow:
    flow: Flow
    trigger: str
    last_run_status: str
    last_run_label: str
    # What the user is to the flow: "owner", "co_owner", "run_only" or "admin".
    role: str = ""
    role_label: str = ""
    may_edit: bool = False
    # Where a run-only user runs the flow: "Customer" pages.
    table_name: str = ""
    # Set when the flow's automated runs keep failing: the warning and where it leads.
    failing: bool = False
    failed_runs_url: str = ""


def trigger_label(trigger_type: str, table_id: int | None, event_key: str = "") -> str:
    """What starts the flow, and on which table or business event:
    "For a selected record · Customer", "When a business event occurs · Sales order released"."""
    kind = TRIGGER_TYPES.get(trigger_type, trigger_type or "No trigger")
    event = events.business_events.get(event_key) if event_key else None
    if event is not None:
        return f"{kind} · {event.name}"
    table = registry.tables.get(table_id) if table_id is not None else None
    return f"{kind} · {table.name}" if table else kind


def _failed_runs_url(flow: Flow, last_run_status: str | None) -> str:
    # The run history filters by one status: the one the streak's last run ended with.
    status = last_run_status if last_run_status in FAILURE_STATUSES else RunStatus.FAILED
    return f"{reverse('automate:flow-runs', args=[flow.pk])}?status={status}"


def _flow_rows(request: HttpRequest, flows: QuerySet[Flow]) -> list[FlowRow]:
    """My flows' rows, in a number of queries that does not grow with the flows: the last
    run and the user's share role come as subqueries. A run-only user is not shown the
    flow's last run: it may be someone else's, and they see only their own runs."""
    last_run = FlowRun.objects.filter(flow=OuterRef("pk")).order_by("-created_at", "-pk")
    shares = FlowShare.objects.filter(flow=OuterRef("pk"), user=request.user)
    flows = flows.select_related("owner").annotate(
        last_run_status=Subquery(last_run.values("status")[:1]),
        last_run_at=Subquery(last_run.values("created_at")[:1]),
        shared_role=Subquery(shares.values("role")[:1]),
        version_number=F("current_version__number"),
    )
    statuses = dict(RunStatus.choices)
    threshold = failure_notify_after()
    rows = []
    for flow in flows:
        role = flow_role(request, flow) or ""
        editor = may_edit(role)
        if not editor:
            flow.last_run_status = flow.last_run_at = None
        failing = editor and flow.kind != Flow.Kind.INSTANT and flow.failure_streak >= threshold
        table = registry.tables.get(flow.table_id) if flow.table_id is not None else None
        rows.append(
            FlowRow(
                flow=flow,
                trigger=trigger_label(flow.trigger_type, flow.table_id, flow.trigger_event),
                last_run_status=flow.last_run_status or "",
                last_run_label=statuses.get(flow.last_run_status, ""),
                role=role,
                role_label=ROLE_LABELS.get(role, ""),
                may_edit=editor,
                table_name=table.name if table else "",
                failing=failing,
                failed_runs_url=_failed_runs_url(flow, flow.last_run_status) if failing else "",
            )
        )
    return rows


def _list_context(request: HttpRequest, import_form: FlowImportForm | None = None) -> dict:
    rows = _flow_rows(request, flows_for(request))
    return {
        "rows": rows,
        "show_owner": _show_owner(request, rows),
        "import_form": import_form or FlowImportForm(),
    }


def _show_owner(request: HttpRequest, rows: list[FlowRow]) -> bool:
    # Whose a flow is matters once the list holds flows of others: shared ones, or all
    # of the company's for an administrator.
    return is_company_admin(request) or any(r.flow.owner_id != request.user.pk for r in rows)


@require_safe
@company_required
def flow_list(request: HttpRequest) -> HttpResponse:
    return render(request, "automate/flows/list.html", _list_context(request))


@require_POST
@company_required
def flow_toggle(request: HttpRequest, pk: int) -> HttpResponse:
    flow = get_flow_for_user(request, pk)
    form = FlowToggleForm(request.POST)
    enabled = form.cleaned_data["enabled"] if form.is_valid() else False
    flow_set_enabled(flow=flow, user=request.user, enabled=enabled)
    if request.htmx:
        row = _flow_rows(request, flows_for(request).filter(pk=flow.pk))[0]
        # The row matches the list's columns: an owner column once anything is shared.
        shared = FlowShare.objects.filter(user=request.user, flow__company=request.company)
        context = {"row": row, "show_owner": is_company_admin(request) or shared.exists()}
        return render(request, "automate/flows/list.html#flow-row", context)
    messages.success(request, f"{flow.name} is turned {'on' if enabled else 'off'}.")
    return redirect("automate:flow-list")


@require_http_methods(["GET", "POST"])
@company_required
def flow_delete_view(request: HttpRequest, pk: int) -> HttpResponse:
    flow = get_flow_for_user(request, pk)
    if request.method == "POST":
        name = flow.name
        flow_delete(flow=flow, user=request.user)
        messages.success(request, f"The flow {name} is deleted.")
        return redirect("automate:flow-list")
    context = {"flow": flow, "run_count": flow.runs.count()}
    return render(request, "automate/flows/delete.html", context)


@require_safe
@company_required
def flow_export_view(request: HttpRequest, pk: int) -> HttpResponse:
    flow = get_flow_for_user(request, pk)
    response = HttpResponse(
        json.dumps(flow_export(flow=flow), indent=2, ensure_ascii=False),
        content_type="application/json; charset=utf-8",
    )
    file_name = FILE_NAME_UNSAFE.sub("_", flow.name).strip(" .") or "flow"
    response["Content-Disposition"] = content_disposition_header(True, f"{file_name}.json")
    return response


@require_POST
@company_required
def flow_import_view(request: HttpRequest) -> HttpResponse:
    form = FlowImportForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            flow = flow_import(
                company=request.company, owner=request.user, data=form.cleaned_data["file"]
            )
        except ValidationError as error:
            form.add_error("file", error.messages)
        else:
            messages.success(request, f"The flow {flow.name} is imported.")
            return redirect("automate:flow-edit", pk=flow.pk)
    return render(request, "automate/flows/list.html", _list_context(request, form), status=400)


def blank_definition(table_id: int | None, event_key: str | None = None) -> dict:
    """A new flow's definition: on a business event when one is named, else instant."""
    if event_key:
        trigger = {"type": "business_event", "event": event_key, "conditions": []}
    else:
        trigger = {"type": "selected_record", "table": table_id, "inputs": []}
    return {"schemaVersion": SCHEMA_VERSION, "trigger": trigger, "steps": []}


def _table_param(request: HttpRequest) -> int | None:
    try:
        table_id = int(request.GET.get("table", ""))
    except ValueError:
        return None
    return table_id if table_id in registry.tables else None


def _event_param(request: HttpRequest) -> str | None:
    """The business event named in the query string, if the catalogue has it."""
    key = request.GET.get("event", "")
    return key if key in events.business_events else None


def _designer(request: HttpRequest, form: FlowForm, flow: Flow | None) -> HttpResponse:
    context = {
        "form": form,
        "flow": flow,
        "catalog": designer_catalog(),
        "version": flow.current_version if flow else None,
    }
    status = 400 if form.is_bound and form.errors else 200
    return render(request, "automate/flows/designer.html", context, status=status)


def _save(request: HttpRequest, form: FlowForm, flow: Flow | None) -> Flow | None:
    """Save the form through the services; None when they refuse (errors go on the form)."""
    data = form.cleaned_data
    try:
        if flow is None:
            return flow_create(
                company=request.company,
                owner=request.user,
                name=data["name"],
                description=data["description"],
                definition=data["definition"],
                concurrency_limit=data["concurrency_limit"],
                key=data["key"].strip(),
            )
        return flow_update(
            flow=flow,
            user=request.user,
            name=data["name"],
            description=data["description"],
            definition=data["definition"],
            concurrency_limit=data["concurrency_limit"],
            # A form without the field (an older page) leaves the key as it is.
            key=data["key"].strip() if "key" in request.POST else None,
        )
    except ValidationError as error:
        if hasattr(error, "error_dict"):
            for field, errors in error.error_dict.items():
                form.add_error(field if field in form.fields else None, errors)
        else:
            form.add_error("definition", error.messages)
        return None


def _designer_post(request: HttpRequest, flow: Flow | None) -> HttpResponse:
    form = FlowForm(request.POST)
    saved = _save(request, form, flow) if form.is_valid() else None
    if saved is None:
        return _designer(request, form, flow)
    saved.refresh_from_db(fields=["current_version"])
    messages.success(request, f"Saved as version {saved.current_version.number}.")
    return redirect("automate:flow-edit", pk=saved.pk)


@require_http_methods(["GET", "POST"])
@company_required
def flow_new(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        return _designer_post(request, None)
    definition = blank_definition(_table_param(request), _event_param(request))
    form = FlowForm(
        initial={"definition": json.dumps(definition, indent=2), "concurrency_limit": 25}
    )
    return _designer(request, form, None)


@require_http_methods(["GET", "POST"])
@company_required
def flow_edit(request: HttpRequest, pk: int) -> HttpResponse:
    flow = get_flow_for_user(request, pk)
    if request.method == "POST":
        return _designer_post(request, flow)
    definition = flow.current_version.definition if flow.current_version else blank_definition(None)
    form = FlowForm(
        initial={
            "name": flow.name,
            "description": flow.description,
            "concurrency_limit": flow.concurrency_limit,
            "key": flow.key,
            "definition": json.dumps(definition, indent=2),
        }
    )
    return _designer(request, form, flow)
