"""Starting, cancelling and resubmitting runs. The engine (automate.engine) executes them."""

from __future__ import annotations

import datetime
import logging
import uuid
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from kombu.exceptions import OperationalError as KombuOperationalError

from automate.access import automate_refusal, user_flow_role
from automate.models import (
    FINISHED_RUN_STATUSES,
    Flow,
    FlowRun,
    RunStatus,
    StepRun,
    StepStatus,
)
from automate.services.run_days import run_day_count
from bcsite.pages import card_url_for
from bcsite.registry import registry

log = logging.getLogger(__name__)


def _dispatch(run: FlowRun) -> None:
    transaction.on_commit(lambda: flow_run_dispatch(run_id=run.pk))


def flow_run_dispatch(*, run_id: int) -> bool:
    """Hand the run to a worker. With the broker unreachable the run stays queued, and the
    tick dispatches it again once the broker is back: the user's change still stands."""
    from automate.tasks import flow_run_execute_task

    try:
        flow_run_execute_task.delay(run_id)
    except KombuOperationalError:
        log.warning("Run %s could not be dispatched; the tick will retry", run_id, exc_info=True)
        return False
    return True


def flow_run_start(
    *,
    flow: Flow,
    trigger_data: dict,
    user,
    idempotency_key: str | None = None,
    resubmitted_from: FlowRun | None = None,
    dispatch: bool = True,
    savepoint: bool = True,
) -> FlowRun:
    """Queue a run of the flow's current version. One idempotency key, one run, ever.

    ``dispatch=False`` is for a caller that runs it itself once the transaction commits
    (a delivery task); if that caller dies first, the tick dispatches it at ``wake_at``.
    ``savepoint=False`` leaves out the savepoint that turns a key used twice into the run
    that has it: the IntegrityError then reaches the caller, whose transaction is lost.
    """
    if flow.current_version_id is None:
        raise ValidationError("The flow has no saved version to run.")
    key = idempotency_key or f"run:{uuid.uuid4()}"
    now = timezone.now()
    body = trigger_data.get("body") if isinstance(trigger_data, dict) else None
    body = body if isinstance(body, dict) else {}
    run = FlowRun(
        flow=flow,
        version_id=flow.current_version_id,
        company_id=flow.company_id,
        idempotency_key=key,
        triggered_by=user,
        trigger_data=trigger_data,
        record_number=_text(body.get("number"), 100),
        record_name=_text(body.get("displayName"), 250),
        record_path=_text(body.get("recordUrl"), 500),
        resubmitted_from=resubmitted_from,
        steps_total=len(flow.current_version.definition.get("steps", [])),
        deadline=now + datetime.timedelta(seconds=settings.AUTOMATE_RUN_TIME_LIMIT),
        created_at=now,
        # The sweeper dispatches the run again if no worker has claimed it by then.
        wake_at=now + datetime.timedelta(seconds=settings.AUTOMATE_REDISPATCH_AFTER),
    )
    if not savepoint:
        run.save(force_insert=True)
    else:
        try:
            with transaction.atomic():
                run.save(force_insert=True)
        except IntegrityError:
            existing = FlowRun.objects.filter(idempotency_key=key).first()
            if existing is None:
                raise
            return existing
    if dispatch:
        _dispatch(run)
    return run


def _text(value, length: int) -> str:
    return "" if value is None or isinstance(value, dict | list) else str(value)[:length]


def instant_flow_runnable(flow: Flow, user) -> bool:
    """Whether ``user`` may run the instant flow from a page: its owner, or a user it is
    shared with (co-owner or run-only). Business Central lists only owned flows."""
    return (
        flow.enabled
        and flow.trigger_type == "selected_record"
        and flow.current_version_id is not None
        and user_flow_role(user, flow) is not None
    )


def instant_flow_run(
    *, flow: Flow, record, user, inputs: dict | None = None, page_key: str = ""
) -> FlowRun:
    """Run an instant flow on one record, as "For a selected record" does."""
    refusal = automate_refusal(user, flow.company_id)
    if refusal:
        raise ValidationError(refusal)
    if not instant_flow_runnable(flow, user):
        raise ValidationError(
            f"You cannot run the flow {flow.name!r}: it is off, or neither yours nor shared "
            "with you."
        )
    table = registry.table_for_model(type(record))
    if table is None or table.id != flow.table_id or record.company_id != flow.company_id:
        raise ValidationError(f"The flow {flow.name!r} does not run on this record.")
    trigger = flow.current_version.definition["trigger"]
    values = clean_trigger_inputs(trigger.get("inputs", []), inputs or {})
    body = {
        **table.to_dict(record),
        "tableId": table.id,
        "tableName": table.name,
        "recordId": str(record.system_id),
        "recordUrl": card_url_for(record) or "",
        "pageKey": page_key,
        "companyId": str(flow.company.system_id),
        "companyName": flow.company.name,
        "userName": user.get_username(),
        "userEmail": user.email,
        "inputs": values,
    }
    return flow_run_start(flow=flow, trigger_data={"body": body, "headers": {}}, user=user)


def clean_trigger_inputs(declared: list[dict], given: dict) -> dict:
    """The typed values of an instant trigger's inputs, or the reasons they are refused."""
    values, errors = {}, {}
    for item in declared:
        name, label = item["name"], item.get("label") or item["name"]
        raw = given.get(name)
        if raw in (None, "") and item.get("type") != "boolean":
            if item.get("required"):
                errors[name] = [f"{label} is required."]
            values[name] = None
            continue
        try:
            values[name] = _typed_input(item.get("type", "text"), raw)
        except (ValueError, InvalidOperation):
            errors[name] = [f"{label}: {_TYPE_HINTS[item.get('type', 'text')]}"]
    if errors:
        raise ValidationError(errors)
    return values


_TYPE_HINTS = {
    "text": "enter text.",
    "number": "enter a number.",
    "boolean": "choose yes or no.",
    "date": "enter a date as YYYY-MM-DD.",
}


def _typed_input(kind: str, raw):
    if kind == "number":
        number = raw if isinstance(raw, int | float | Decimal) else Decimal(str(raw).strip())
        number = Decimal(str(number))
        if not number.is_finite():
            raise ValueError
        return int(number) if number == number.to_integral_value() else float(number)
    if kind == "boolean":
        if isinstance(raw, bool):
            return raw
        return str(raw).lower() in ("1", "true", "yes", "on")
    if kind == "date":
        if isinstance(raw, datetime.date):
            return raw.isoformat()
        return datetime.date.fromisoformat(str(raw).strip()).isoformat()
    text = str(raw)
    if len(text) > 4000:
        raise ValueError
    return text


def flow_run_cancel(*, run: FlowRun, user) -> FlowRun:
    """Stop a run that has not finished. The worker notices before its next step."""
    now = timezone.now()
    with transaction.atomic():
        changed = (
            FlowRun.objects.filter(pk=run.pk)
            .exclude(status__in=FINISHED_RUN_STATUSES)
            .update(
                status=RunStatus.CANCELLED,
                finished_at=now,
                error="Cancelled by " + user.get_username() + ".",
                lease_token=None,
                lease_until=None,
                wake_at=None,
            )
        )
        if not changed:
            run.refresh_from_db()
            raise ValidationError(f"The run has already ended ({run.get_status_display()}).")
        StepRun.objects.filter(run=run, status__in=[StepStatus.RUNNING, StepStatus.WAITING]).update(
            status=StepStatus.CANCELLED, finished_at=now
        )
        run_day_count(
            flow_id=run.flow_id,
            company_id=run.company_id,
            created_at=run.created_at,
            status=RunStatus.CANCELLED,
        )
        cancel_waited_approvals(run.pk)
    run.refresh_from_db()
    return run


def cancel_waited_approvals(run_id: int) -> None:
    """A run that ends while waiting for an approval leaves no request for approvers."""
    from automate.services.approval_flows import flow_approvals_cancel  # it imports this module

    flow_approvals_cancel(run_id=run_id)


def flow_run_resubmit(*, run: FlowRun, user) -> FlowRun:
    """Run again from the same trigger data, on the flow's current version."""
    run.refresh_from_db(fields=["status"])
    if not run.is_finished:
        raise ValidationError(
            "The run has not ended yet; wait for it, or cancel it, before you resubmit it."
        )
    flow = Flow.objects.select_related("current_version").get(pk=run.flow_id)
    if not flow.enabled:
        raise ValidationError(f"The flow {flow.name!r} is off; turn it on to resubmit its runs.")
    if flow.current_version_id is None:
        raise ValidationError("The flow has no saved version to run.")
    return flow_run_start(
        flow=flow,
        trigger_data=run.trigger_data,
        user=user,
        idempotency_key=f"resubmit:{run.system_id}:{uuid.uuid4()}",
        resubmitted_from=run,
    )
