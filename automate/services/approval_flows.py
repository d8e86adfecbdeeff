"""Approval flows: Power Automate's side of approvals.

1. **Taking a request.** Send Approval Request asks ``approval_flows_for`` which flows
   take the record: the enabled flows with an approval trigger on its table whose owner
   may use Power Automate and whose conditions on fields the record meets. When any does,
   approvals hands the request to them (BC's Flow Entries) instead of a workflow.
2. **Starting them.** ``approval_requested`` comes inside the request's transaction: one
   trigger event per flow goes to the outbox with it, and the usual delivery starts the
   runs after the commit. The flow answers with Business Central's "Approve, reject or
   cancel an approval request".
3. **Waking a waiting run.** A flow's Start and wait for an approval parks its run; when
   the approval ends (``approval_request_ended``, inside the deciding transaction) the run
   is queued and dispatched once that commits, so it resumes at once rather than at the
   next tick.
4. **The Workflows list** shows the company's approval flows next to its workflows.
"""

from __future__ import annotations

import datetime
import logging

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from approvals import hooks
from approvals.documents import APPROVABLES
from approvals.models import ApprovalRequest, ApprovalUserSetup
from approvals.services import approval_request_cancel
from approvals.services.notifications import recipient_of
from approvals.templates import conditions_hold
from automate.access import automate_refusal
from automate.definition import approval_trigger_conditions
from automate.models import Flow, FlowRun, RunStatus, TriggerEvent
from automate.services.runs import flow_run_dispatch
from automate.services.triggers import _dispatch_on_commit, _outbox
from bcsite.registry import registry

log = logging.getLogger(__name__)

TRIGGER = "approval_requested"
CATEGORIES = {36: "Sales", 18: "Sales", 27: "Inventory"}


# -- 1. Which flows take a request -------------------------------------------------------------


def approval_flows_taking(company_id: int, table_id: int, values: dict) -> list[Flow]:
    """The enabled approval flows on ``table_id`` that take a record with ``values``."""
    flows = Flow.objects.filter(
        company_id=company_id, trigger_type=TRIGGER, table_id=table_id, enabled=True
    ).select_related("current_version", "owner", "company")
    taking = []
    for flow in flows.order_by("name", "pk"):
        trigger = flow.current_version.definition["trigger"] if flow.current_version else {}
        if trigger.get("type") != TRIGGER or trigger.get("table") != table_id:
            continue
        if automate_refusal(flow.owner, company_id):
            continue  # its trigger would refuse the event: it must not take the request
        if conditions_hold(approval_trigger_conditions(trigger), values):
            taking.append(flow)
    return taking


def approval_flow_names(company_id: int, table_id: int, values: dict) -> list[str]:
    """``approvals.hooks.approval_flow_finders``: the names of the flows that take it."""
    return [flow.name for flow in approval_flows_taking(company_id, table_id, values)]


# -- 2. Starting them --------------------------------------------------------------------------


def trigger_body(request: ApprovalRequest, record, values: dict) -> dict:
    """What the approval trigger gives the flow: the record's fields, the request, who sent
    it and who approves for them (their Approver ID in Approval User Setup, if any)."""
    table = registry.tables[request.table_id]
    company = record.company
    requester = request.requester
    setup = (
        ApprovalUserSetup.objects.filter(company_id=request.company_id, user=requester)
        .select_related("approver")
        .first()
        if requester is not None
        else None
    )
    approver = setup.approver if setup is not None else None
    path = request.link or table.record_url(record) or ""
    found = APPROVABLES.get(request.table_id)
    return {
        **values,
        "approvalRequestId": str(request.system_id),
        "documentType": found.label if found else table.name,
        "tableId": table.id,
        "tableName": table.name,
        "recordId": str(record.system_id),
        "recordNumber": request.record_no,
        "recordUrl": path,
        "recordLink": f"{settings.SITE_URL}{path}" if path else "",
        "amount": float(request.amount or 0),
        "requesterUserName": requester.get_username() if requester else "",
        "requesterEmail": recipient_of(requester, request.company_id) if requester else "",
        "approverUserName": approver.get_username() if approver else "",
        "approverEmail": recipient_of(approver, request.company_id) if approver else "",
        "requestedAt": request.created_at.isoformat(),
        "companyId": str(company.system_id),
        "companyName": company.name,
        "userName": requester.get_username() if requester else "",
    }


def event_key(request: ApprovalRequest, flow_id: int) -> str:
    return f"{TRIGGER}:{request.system_id}:{flow_id}"


def _on_approval_requested(sender, request: ApprovalRequest, record, values: dict, **kwargs):
    """Write the trigger events of the flows that take the request, in its transaction."""
    flows = approval_flows_taking(request.company_id, request.table_id, values)
    if not flows:
        return
    body = trigger_body(request, record, values)
    label = body["documentType"]
    created = [
        _outbox(
            flow,
            TRIGGER,
            key=event_key(request, flow.pk),
            summary=f"{label} {request.record_no} sent for approval".replace("  ", " "),
            body=body,
        )
        for flow in flows
    ]
    _dispatch_on_commit(created)


def answer_refusal(request: ApprovalRequest, flow: Flow) -> str | None:
    """Why ``flow`` may not answer ``request``: only a flow the request was handed to may,
    or a flow of the approval administrator."""
    from approvals.services import is_approval_administrator

    if request.kind != ApprovalRequest.Kind.FLOW_ENTRY:
        return None  # the service refuses it with its own message
    handed = TriggerEvent.objects.filter(key=event_key(request, flow.pk)).exists()
    if handed or is_approval_administrator(request.company_id, flow.owner):
        return None
    return (
        f"The approval request of {request.title} was not sent to this flow: only the approval "
        "flows it was sent to, or a flow of the approval administrator, can answer it."
    )


# -- 3. Waking a waiting run ---------------------------------------------------------------


def flow_run_wake(*, run_id: int) -> bool:
    """Queue a waiting run now and dispatch it once the transaction commits. A run that is
    not waiting is left alone: a delivery running it sees what woke it at its next check."""
    now = timezone.now()
    redispatch = datetime.timedelta(seconds=settings.AUTOMATE_REDISPATCH_AFTER)
    woken = FlowRun.objects.filter(pk=run_id, status=RunStatus.WAITING).update(
        status=RunStatus.QUEUED, wake_at=now + redispatch
    )
    if woken:
        transaction.on_commit(lambda: flow_run_dispatch(run_id=run_id))
    return bool(woken)


def flow_approvals_cancel(*, run_id: int) -> int:
    """Cancel the open approvals a run waits for, once nothing waits for them any more (the
    run was cancelled or timed out): approvers are not left a request nobody reads."""
    cancelled = 0
    for approval in ApprovalRequest.objects.filter(
        kind=ApprovalRequest.Kind.FLOW_APPROVAL,
        status=ApprovalRequest.Status.OPEN,
        flow_run_id=run_id,
    ).select_related("requester"):
        if approval.requester is None:
            continue
        try:
            approval_request_cancel(request=approval, user=approval.requester)
        except ValidationError:
            continue  # answered meanwhile
        cancelled += 1
    return cancelled


def _on_approval_request_ended(sender, request: ApprovalRequest, **kwargs) -> None:
    if request.kind == ApprovalRequest.Kind.FLOW_APPROVAL and request.flow_run_id:
        flow_run_wake(run_id=request.flow_run_id)
    elif request.kind == ApprovalRequest.Kind.FLOW_ENTRY:
        _cancel_flow_approvals_of(request)


def _cancel_flow_approvals_of(request: ApprovalRequest) -> None:
    """A request the flows no longer need to answer (cancelled by its sender, answered by
    one of several flows) leaves nothing for approvers to do in the runs it started."""
    runs = TriggerEvent.objects.filter(
        key__startswith=f"{TRIGGER}:{request.system_id}:", run__isnull=False
    ).values_list("run_id", flat=True)
    for run_id in list(runs):
        flow_approvals_cancel(run_id=run_id)


# -- 4. The Workflows list -----------------------------------------------------------------


def workflow_list_rows(http_request) -> list[hooks.WorkflowListRow]:
    flows = (
        Flow.objects.filter(company=http_request.company, trigger_type=TRIGGER)
        .select_related("owner")
        .order_by("name", "pk")
    )
    return [
        hooks.WorkflowListRow(
            code=f"PA-{flow.pk}",
            description=flow.name,
            category=CATEGORIES.get(flow.table_id, ""),
            kind="Power Automate approval flow",
            enabled=flow.enabled,
            url=reverse("automate:flow-edit", args=[flow.pk]),
            table=APPROVABLES[flow.table_id].label if flow.table_id in APPROVABLES else "",
            owner=flow.owner.get_username(),
        )
        for flow in flows
    ]


def connect() -> None:
    """Take part in approvals (``AutomateConfig.ready``)."""
    if approval_flow_names not in hooks.approval_flow_finders:
        hooks.approval_flow_finders.append(approval_flow_names)
    if workflow_list_rows not in hooks.workflow_list_sources:
        hooks.workflow_list_sources.append(workflow_list_rows)
    hooks.approval_requested.connect(
        _on_approval_requested, dispatch_uid="automate.approval_flows.requested"
    )
    hooks.approval_request_ended.connect(
        _on_approval_request_ended, dispatch_uid="automate.approval_flows.ended"
    )
