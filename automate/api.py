"""Power Automate over the connector API: my flows, running an instant flow on a record,
and runs (``/api/bcsite/automate/v1.0/companies({id})/...``).

The same rules as the pages: the flows listed are the ones the caller may see
(``flows_for``: owned, shared, or all for an administrator), each with the caller's
``myRole``; a flow is run by its owner or a user it is shared with, on a record of its
table in its company, with the trigger's inputs checked by ``instant_flow_run``; runs are
the ones ``runs_for`` gives (a run-only user sees only their own). Power Automate's switch
(``automate_refusal``) is checked before anything else on every endpoint: 403 with its
reason.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.db.models import OuterRef, QuerySet, Subquery
from rest_framework import status
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from automate.access import (
    ADMIN,
    CO_OWNER,
    OWNER,
    RUN_ONLY,
    flow_role,
    flows_for,
    get_flow_for_user,
    get_run_for_user,
    runs_for,
)
from automate.models import Flow, FlowRun, FlowShare
from automate.run_forms import trigger_inputs
from automate.services import instant_flow_run
from bcsite.api import schema
from bcsite.api.errors import ApiError
from bcsite.api.permissions import PowerAutomateAllowed
from bcsite.api.resources import (
    ApiView,
    CollectionSpec,
    api_company,
    api_root,
    bind_company,
    collection_response,
    entity_response,
    has_unstorable,
    record_key,
)
from bcsite.events import acting_as
from bcsite.registry import Table, TableField, registry

BASE = "bcsite/automate/v1.0"

FLOWS = Table(
    id=2000000100,
    name="Flow",
    model=Flow,
    entity="flow",
    entity_set="flows",
    fields=(
        TableField("id", "system_id", "Id", "uuid"),
        TableField("name", "name", "Name"),
        TableField("description", "description", "Description"),
        TableField("kind", "kind", "Kind", "option"),
        TableField("triggerType", "trigger_type", "Trigger Type"),
        TableField("tableId", "table_id", "Table Id", "integer"),
        TableField("enabled", "enabled", "On", "boolean"),
        TableField("ownerName", "owner__username", "Owner"),
        TableField("createdAt", "created_at", "Created At", "datetime"),
        TableField("modifiedAt", "modified_at", "Modified At", "datetime"),
    ),
)

RUNS = Table(
    id=2000000101,
    name="Flow Run",
    model=FlowRun,
    entity="flowRun",
    entity_set="flowRuns",
    fields=(
        TableField("id", "system_id", "Id", "uuid"),
        TableField("flowId", "flow__system_id", "Flow Id", "uuid"),
        TableField("flowName", "flow__name", "Flow Name"),
        TableField("status", "status", "Status", "option"),
        TableField("recordNumber", "record_number", "Record No."),
        TableField("recordName", "record_name", "Record Name"),
        TableField("triggeredBy", "triggered_by__username", "Triggered By"),
        TableField("error", "error", "Error"),
        TableField("stepsTotal", "steps_total", "Steps", "integer"),
        TableField("stepsDone", "steps_done", "Steps Done", "integer"),
        TableField("createdAt", "created_at", "Created At", "datetime"),
        TableField("startedAt", "started_at", "Started At", "datetime"),
        TableField("finishedAt", "finished_at", "Finished At", "datetime"),
    ),
)


def _flow_extra(request: Request):
    """The inputs the flow's trigger asks for, so a client knows what to send, and what the
    caller is to the flow."""

    def extra(flow: Flow) -> dict[str, Any]:
        role = getattr(flow, "role", None) or flow_role(request, flow)
        return {**_flow_inputs(flow), "myRole": role}

    return extra


def _with_share_role(flows: QuerySet[Flow], request: Request) -> QuerySet[Flow]:
    """``shared_role`` on each flow, so ``flow_role`` costs no query a row."""
    shares = FlowShare.objects.filter(flow=OuterRef("pk"), user=request.user)
    return flows.annotate(shared_role=Subquery(shares.values("role")[:1]))


def _flow_inputs(flow: Flow) -> dict[str, Any]:
    return {
        "inputs": [
            {
                "name": item["name"],
                "label": item.get("label") or item["name"],
                "type": item.get("type", "text"),
                "required": bool(item.get("required")),
            }
            for item in trigger_inputs(flow)
        ]
    }


def _run_steps(run: FlowRun) -> dict[str, Any]:
    steps = run.steps.filter(depth=0).order_by("position", "pk")
    return {
        "steps": [
            {
                "name": step.name,
                "action": step.action,
                "status": step.status,
                "attempts": step.attempts,
                "startedAt": step.started_at.isoformat() if step.started_at else None,
                "finishedAt": step.finished_at.isoformat() if step.finished_at else None,
                "error": step.error,
            }
            for step in steps
        ]
    }


_INPUT_SCHEMA = {
    "type": "object",
    "properties": {
        "name": {"type": "string"},
        "label": {"type": "string"},
        "type": {"type": "string", "enum": ["text", "number", "boolean", "date"]},
        "required": {"type": "boolean"},
    },
}
_STEP_SCHEMA = {
    "type": "object",
    "properties": {
        "name": {"type": "string"},
        "action": {"type": "string"},
        "status": {"type": "string"},
        "attempts": {"type": "integer"},
        "startedAt": {"type": "string", "format": "date-time", "nullable": True},
        "finishedAt": {"type": "string", "format": "date-time", "nullable": True},
        "error": {"nullable": True},
    },
}
_FLOW_REF = schema.entity_schema(
    FLOWS,
    extra={
        "inputs": {"type": "array", "items": _INPUT_SCHEMA},
        "myRole": {
            "type": "string",
            "enum": [OWNER, CO_OWNER, RUN_ONLY, ADMIN],
            "description": "What the caller is to the flow: a run-only user may only run it.",
        },
    },
)
_RUN_REF = schema.entity_schema(RUNS, extra={"steps": {"type": "array", "items": _STEP_SCHEMA}})
_RUN_REQUEST = schema.component(
    "flowRunRequest",
    {
        "type": "object",
        "properties": {
            "recordId": {
                "type": "string",
                "description": "The id (or No.) of the record of the flow's table to run on.",
            },
            "inputs": {
                "type": "object",
                "description": "The values of the trigger's inputs, by name.",
                "additionalProperties": True,
            },
        },
        "required": ["recordId"],
    },
)
FLOW_ID = schema.path_parameter("flow_id", "The flow's id (a GUID).")
RUN_ID = schema.path_parameter("run_id", "The run's id (a GUID).")


def _uuid_key(text: str, what: str) -> str:
    try:
        return str(uuid.UUID(record_key(text)))
    except ValueError:
        raise ApiError(404, "BadRequest_NotFound", f"The {what} {text} does not exist.") from None


class AutomateView(ApiView):
    permission_classes = [IsAuthenticated, PowerAutomateAllowed]

    def api_company(self, request: Request, company_id: str):
        # PowerAutomateAllowed found the company (``self.company``) before the switch check.
        company = getattr(self, "company", None)
        if company is None:
            return api_company(request, company_id)
        return bind_company(request, company)

    def context(self, request: Request, company, path: str) -> str:
        return f"{api_root(request)}/{BASE}/$metadata#companies({company.system_id})/{path}"

    def flow(self, request: Request, flow_id: str, *, edit: bool = False) -> Flow:
        """The flow the caller may see (404 otherwise); with ``edit``, 403 for a run-only
        user. Reading and running a flow are not edits."""
        key = _uuid_key(flow_id, "flow")
        pk = flows_for(request).filter(system_id=key).values_list("pk", flat=True).first()
        if pk is None:
            raise ApiError(404, "BadRequest_NotFound", f"The flow {flow_id} does not exist.")
        return get_flow_for_user(request, pk, edit=edit)

    def run(self, request: Request, run_id: str) -> FlowRun:
        key = _uuid_key(run_id, "run")
        pk = runs_for(request).filter(system_id=key).values_list("pk", flat=True).first()
        if pk is None:
            raise ApiError(404, "BadRequest_NotFound", f"The run {run_id} does not exist.")
        return get_run_for_user(request, pk)

    def runs_spec(self, request: Request, company, path: str) -> CollectionSpec:
        return CollectionSpec(
            table=RUNS,
            context=self.context(request, company, path),
            default_order=["-created_at"],
            salt=f"runs:{company.pk}:{request.user.pk}",
        )


def _runs(queryset):
    return queryset.select_related("flow", "triggered_by")


class FlowListView(AutomateView):
    def openapi_operation(self, method):
        return schema.Operation(
            operation_id="listFlows",
            summary="List the flows I own or that are shared with me",
            tags=["flows"],
            responses=schema.responses(200, schema.collection(_FLOW_REF)),
            parameters=[schema.COMPANY_ID, *schema.COLLECTION_PARAMETERS],
        )

    def get(self, request: Request, company_id: str) -> Response:
        company = self.api_company(request, company_id)
        flows = _with_share_role(flows_for(request), request).select_related(
            "owner", "current_version"
        )
        spec = CollectionSpec(
            table=FLOWS,
            context=self.context(request, company, "flows"),
            default_order=["name"],
            salt=f"flows:{company.pk}:{request.user.pk}",
            extra=_flow_extra(request),
        )
        return collection_response(request, flows, spec)


class FlowView(AutomateView):
    def openapi_operation(self, method):
        return schema.Operation(
            operation_id="getFlow",
            summary="Get a flow",
            tags=["flows"],
            responses=schema.responses(200, schema.single(_FLOW_REF)),
            parameters=[schema.COMPANY_ID, FLOW_ID, *schema.ENTITY_PARAMETERS],
        )

    def get(self, request: Request, company_id: str, flow_id: str) -> Response:
        company = self.api_company(request, company_id)
        flow = self.flow(request, flow_id)
        return entity_response(
            request,
            FLOWS,
            flow,
            context=self.context(request, company, "flows/$entity"),
            extra=_flow_extra(request),
        )


class FlowRunStartView(AutomateView):
    """``flows({id})/Microsoft.NAV.run``: run an instant flow on a record; 202 with the run."""

    def openapi_operation(self, method):
        return schema.Operation(
            operation_id="runFlow",
            summary="Run an instant flow on a record",
            description="Starts a run of the flow ('For a selected record') on the record, "
            "with the trigger's inputs. The run goes on in the background: follow it at the "
            "Location returned.",
            tags=["flows"],
            request=_RUN_REQUEST,
            responses=schema.responses(202, schema.single(_RUN_REF)),
            parameters=[schema.COMPANY_ID, FLOW_ID],
        )

    def post(self, request: Request, company_id: str, flow_id: str) -> Response:
        company = self.api_company(request, company_id)
        flow = self.flow(request, flow_id)
        body = self.body_object(request)
        record_id, inputs = body.get("recordId"), body.get("inputs", {})
        if not isinstance(record_id, str) or not record_id.strip():
            raise ApiError(400, "BadRequest", "recordId must be the id of the record to run on.")
        if inputs is None:
            inputs = {}
        if not isinstance(inputs, dict):
            raise ApiError(400, "BadRequest", "inputs must be an object of input names and values.")
        table = registry.tables.get(flow.table_id) if flow.table_id else None
        if table is None:
            raise ApiError(400, "BadRequest", f"The flow {flow.name!r} does not run on a record.")
        try:
            record = None if has_unstorable(record_id) else table.get(company, record_id)
        except (ValueError, OverflowError):
            record = None  # a key no column of the table can hold
        if record is None:
            raise ApiError(
                400, "BadRequest", f"The {table.name} {record_id.strip()[:100]} does not exist."
            )
        with acting_as(request.user, origin="api"):
            run = instant_flow_run(flow=flow, record=record, user=request.user, inputs=inputs)
        run = _runs(FlowRun.objects.filter(pk=run.pk)).get()
        location = (
            f"{api_root(request)}/{BASE}/companies({company.system_id})/flowRuns({run.system_id})"
        )
        return entity_response(
            request,
            RUNS,
            run,
            context=self.context(request, company, "flowRuns/$entity"),
            http_status=status.HTTP_202_ACCEPTED,
            headers={"Location": location},
        )


class FlowRunsOfFlowView(AutomateView):
    def openapi_operation(self, method):
        return schema.Operation(
            operation_id="listFlowRunsOfFlow",
            summary="List the runs of a flow",
            tags=["flows"],
            responses=schema.responses(200, schema.collection(_RUN_REF)),
            parameters=[schema.COMPANY_ID, FLOW_ID, *schema.COLLECTION_PARAMETERS],
        )

    def get(self, request: Request, company_id: str, flow_id: str) -> Response:
        company = self.api_company(request, company_id)
        flow = self.flow(request, flow_id)
        # A run-only user sees their own runs of the flow, its other users all of them.
        runs = _runs(runs_for(request).filter(flow=flow))
        spec = self.runs_spec(request, company, f"flows({flow.system_id})/runs")
        return collection_response(request, runs, spec)


class FlowRunListView(AutomateView):
    def openapi_operation(self, method):
        return schema.Operation(
            operation_id="listFlowRuns",
            summary="List runs of my flows",
            tags=["flows"],
            responses=schema.responses(200, schema.collection(_RUN_REF)),
            parameters=[schema.COMPANY_ID, *schema.COLLECTION_PARAMETERS],
        )

    def get(self, request: Request, company_id: str) -> Response:
        company = self.api_company(request, company_id)
        spec = self.runs_spec(request, company, "flowRuns")
        return collection_response(request, _runs(runs_for(request)), spec)


class FlowRunView(AutomateView):
    def openapi_operation(self, method):
        return schema.Operation(
            operation_id="getFlowRun",
            summary="Get a run, with its steps",
            tags=["flows"],
            responses=schema.responses(200, schema.single(_RUN_REF)),
            parameters=[schema.COMPANY_ID, RUN_ID, *schema.ENTITY_PARAMETERS],
        )

    def get(self, request: Request, company_id: str, run_id: str) -> Response:
        company = self.api_company(request, company_id)
        run = self.run(request, run_id)
        return entity_response(
            request,
            RUNS,
            run,
            context=self.context(request, company, "flowRuns/$entity"),
            extra=_run_steps,
        )
