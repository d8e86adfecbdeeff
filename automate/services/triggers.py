"""Automated and scheduled flows: from an event to a run, never lost and never twice.

1. **Outbox.** A record change or a business event writes one ``TriggerEvent`` per flow
   it starts, in the transaction of the change: the change and its events commit or roll
   back together.
2. **Dispatch.** After the commit, the transaction's events go to a worker in batches.
3. **Delivery.** A worker locks each pending event, checks that the flow may still start
   (on, its owner may use Power Automate, its trigger conditions hold) and queues the run,
   whose idempotency key is the event's: at most one run per (flow, event). An event that
   does not start a run is marked skipped with the reason.
4. **Sweeper.** The tick delivers again what a crash or a broker outage left pending.

Recurrences are fired by the tick: each slot is an event whose key names the flow and
the slot, so two tickers at once write it once.
"""

from __future__ import annotations

import datetime
import logging
import uuid
from dataclasses import dataclass

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.db.models.signals import post_delete, post_save
from django.utils import timezone
from kombu.exceptions import OperationalError as KombuOperationalError

from automate.access import automate_refusal
from automate.definition import RECORD_TRIGGERS
from automate.engine.commits import engine_transaction
from automate.expressions import ExpressionContext, ExpressionError, render
from automate.models import Flow, FlowRun, RunStatus, TriggerEvent
from automate.recurrence import latest_slot, next_slot
from automate.services.runs import flow_run_start
from bcsite.events import RaisedBusinessEvent, RecordEvent, change_origin, events
from bcsite.registry import Table
from bcsite.transactions import ReadOnce, for_this_transaction

log = logging.getLogger(__name__)

DELIVERY_BATCH = 200
SWEEP_LIMIT = 5000
RECURRENCE_LIMIT = 500


# -- Writing the outbox ---------------------------------------------------------------------


# Flows change rarely and records often: within one transaction, the flows a table's
# changes start are read once (bcsite.transactions.ReadOnce).
FLOWS = ReadOnce("_automate_subscriptions")


def _subscribed(company_id: int, kind: str, key) -> list[Flow]:
    """The enabled flows of the company whose trigger is ``kind`` on ``key`` (a table id or
    a business event), with their current version and company."""
    return FLOWS.get((company_id, kind, key), lambda: _subscribed_query(company_id, kind, key))


def _subscribed_query(company_id: int, kind: str, key) -> list[Flow]:
    if kind == "business_event":
        flows = Flow.objects.filter(trigger_event=key)
    else:
        flows = Flow.objects.filter(trigger_type__in=RECORD_TRIGGERS, table_id=key)
    return list(
        flows.filter(company_id=company_id, enabled=True).select_related(
            "current_version", "company"
        )
    )


def _wants_records(table: Table, company_id: int) -> bool:
    return bool(_subscribed(company_id, "record", table.id))


def _on_record_event(event: RecordEvent) -> None:
    kind = f"record_{event.kind}"
    created = []
    origin = change_origin()
    for flow in _subscribed(event.company_id, "record", event.table.id):
        if flow.trigger_type != kind or flow.current_version is None:
            continue
        if origin == f"flow:{flow.pk}":
            # A flow's own changes do not start it again: no endless loop of runs.
            continue
        trigger = flow.current_version.definition["trigger"]
        wanted = trigger.get("fields") or []
        if event.kind == "modified" and wanted and not set(wanted) & set(event.changed):
            continue
        body = {
            **event.values,
            "tableId": event.table.id,
            "tableName": event.table.name,
            "recordId": str(event.values.get("id") or ""),
            "recordUrl": event.table.record_url(event.record) or "",
            "companyId": str(flow.company.system_id),
            "companyName": flow.company.name,
            "changeType": event.kind,
            "userName": event.user.get_username() if event.user is not None else "",
        }
        if event.kind == "modified":
            body["changedFields"] = list(event.changed)
            body["previous"] = event.previous
        number = event.values.get("number") or event.values.get("id") or ""
        created.append(
            _outbox(
                flow,
                kind,
                summary=f"{event.table.name} {number} {event.kind}".replace("  ", " "),
                body=body,
            )
        )
    _dispatch_on_commit(created)


def _on_business_event(raised: RaisedBusinessEvent) -> None:
    flows = _subscribed(raised.company_id, "business_event", raised.event.key)
    created = []
    for flow in flows:
        body = {
            **raised.payload,
            "eventName": raised.event.key,
            "eventTime": raised.time.isoformat(),
            "companyId": str(flow.company.system_id),
            "companyName": flow.company.name,
        }
        number = next(
            (raised.payload[k] for k in raised.payload if k.endswith("Number")),
            "",
        )
        created.append(
            _outbox(
                flow,
                "business_event",
                summary=f"{raised.event.name} {number or ''}".strip(),
                body=body,
            )
        )
    _dispatch_on_commit(created)


def _outbox(
    flow: Flow, kind: str, *, summary: str, body: dict, headers=None, key: str = ""
) -> TriggerEvent:
    now = timezone.now()
    return TriggerEvent.objects.create(
        flow=flow,
        company_id=flow.company_id,
        key=key or f"{kind}:{flow.pk}:{uuid.uuid4()}",
        trigger_type=kind,
        summary=summary[:250],
        trigger_data={"body": body, "headers": headers or {}},
        created_at=now,
        redeliver_at=now + datetime.timedelta(seconds=settings.AUTOMATE_REDISPATCH_AFTER),
    )


def connect() -> None:
    """Listen to record and business events (``AutomateConfig.ready``)."""
    events.listen_to_records(_on_record_event, interested=_wants_records)
    events.listen_to_business_events(_on_business_event)
    post_save.connect(FLOWS.changed, sender=Flow, dispatch_uid="automate.flows_changed")
    post_delete.connect(FLOWS.changed, sender=Flow, dispatch_uid="automate.flows_deleted")


# -- Dispatch -------------------------------------------------------------------------------


class _Batch:
    """The events a transaction wrote, dispatched together once it commits."""

    def __init__(self) -> None:
        self.ids: list[int] = []
        self.sent = False

    def __call__(self) -> None:
        self.sent = True
        trigger_events_dispatch(self.ids)


def _dispatch_on_commit(created: list[TriggerEvent]) -> None:
    if not created:
        return
    ids = [e.pk for e in created]
    conn = transaction.get_connection()
    if not conn.in_atomic_block:
        trigger_events_dispatch(ids)  # committed already
        return
    batch = for_this_transaction(
        conn, "_automate_outbox_batch", _Batch, stale=lambda batch: batch.sent
    )
    batch.ids.extend(ids)


def trigger_events_dispatch(ids: list[int]) -> bool:
    """Hand the events to workers, a batch a task. With the broker down they stay pending
    and the sweeper delivers them."""
    from automate.tasks import trigger_events_deliver_task

    try:
        for start in range(0, len(ids), DELIVERY_BATCH):
            trigger_events_deliver_task.delay(ids[start : start + DELIVERY_BATCH])
    except KombuOperationalError:
        log.warning("%s trigger events could not be dispatched; the sweeper will", len(ids))
        return False
    return True


# -- Delivery -------------------------------------------------------------------------------


@dataclass
class Delivered:
    """What a delivery did: how many runs it started, and the run it kept for its own
    worker to execute (None when it kept none)."""

    started: int = 0
    kept: int | None = None


def trigger_events_deliver(ids: list[int]) -> int:
    """Start the runs of the pending events among ``ids``; returns how many started. Each
    run is dispatched to a worker once its delivery commits."""
    return _deliver_all(ids, keep_one=False).started


def trigger_events_deliver_keeping_one(ids: list[int]) -> Delivered:
    """As ``trigger_events_deliver``, but the first run is not dispatched: the caller
    executes it once this returns (its delivery has committed), so an event and its run
    cost one task. If the caller dies first, the tick dispatches that run at its
    ``wake_at``, as any run committed and never claimed.

    A task delivered again (its worker died) finds its events started already: it keeps
    the run of the first of them that has not been taken, or whose delivery died."""
    return _deliver_all(ids, keep_one=True)


def _deliver_all(ids: list[int], *, keep_one: bool) -> Delivered:
    pending = dict(
        TriggerEvent.objects.filter(pk__in=ids, status=TriggerEvent.Status.PENDING).values_list(
            "pk", "flow_id"
        )
    )
    delivered = Delivered()
    flows = (
        Flow.objects.select_related("current_version", "owner", "company").in_bulk(
            set(pending.values())
        )
        if pending
        else {}
    )
    refusals = {flow_id: _flow_refusal(flow) for flow_id, flow in flows.items()}
    for event_id in dict.fromkeys(ids):
        flow_id = pending.get(event_id)
        if flow_id not in flows:
            continue
        keep = keep_one and delivered.kept is None
        run = _deliver(event_id, flows[flow_id], refusals[flow_id], keep=keep)
        if run is not None:
            delivered.started += 1
            if keep:
                delivered.kept = run.pk
    if keep_one and delivered.kept is None and len(pending) < len(set(ids)):
        delivered.kept = _run_left_behind(ids)
    return delivered


def _run_left_behind(ids: list[int]) -> int | None:
    """The run of a started event among ``ids`` that no delivery holds: still queued, or
    running under a lease that has run out (its claim tells which it may take)."""
    now = timezone.now()
    return (
        TriggerEvent.objects.filter(pk__in=ids, status=TriggerEvent.Status.STARTED)
        .filter(
            Q(run__status=RunStatus.QUEUED)
            | Q(run__status=RunStatus.RUNNING, run__lease_until__lte=now)
        )
        .order_by("pk")
        .values_list("run_id", flat=True)
        .first()
    )


def _deliver(event_id: int, flow: Flow, refusal: str, *, keep: bool) -> FlowRun | None:
    """Deliver one event in a transaction of its own; the run it started, if any.

    The run's insert needs no savepoint: the event is locked and pending, and its run
    commits with the event's change to started, so no run has its key yet. Should one
    have it all the same, the delivery is made again with the savepoint that finds it."""
    try:
        return _deliver_once(event_id, flow, refusal, keep=keep, savepoint=False)
    except IntegrityError:
        return _deliver_once(event_id, flow, refusal, keep=keep, savepoint=True)


def _deliver_once(
    event_id: int, flow: Flow, refusal: str, *, keep: bool, savepoint: bool
) -> FlowRun | None:
    # Lost in a database crash, a delivery leaves its event pending, and the sweeper
    # delivers it again (automate.engine.commits).
    with engine_transaction(durable=False):
        event = (
            TriggerEvent.objects.select_for_update(skip_locked=True)
            .filter(pk=event_id, status=TriggerEvent.Status.PENDING)
            .first()
        )
        if event is None:
            return None
        now = timezone.now()
        reason = refusal or _event_refusal(flow, event)
        if reason:
            event.status = TriggerEvent.Status.SKIPPED
            event.reason = reason
            event.delivered_at = now
            event.save(update_fields=["status", "reason", "delivered_at"])
            return None
        run = flow_run_start(
            flow=flow,
            trigger_data=event.trigger_data,
            user=None,
            idempotency_key=f"trigger:{event.pk}",
            dispatch=not keep,
            savepoint=savepoint,
        )
        event.status = TriggerEvent.Status.STARTED
        event.run = run
        event.delivered_at = now
        event.save(update_fields=["status", "run", "delivered_at"])
    return run


def _flow_refusal(flow: Flow) -> str:
    """Why no event of the flow may start it now, or ""."""
    if not flow.enabled:
        return "The flow was turned off before the event was delivered."
    if flow.current_version is None:
        return "The flow has no saved version to run."
    reason = automate_refusal(flow.owner, flow.company_id)
    if reason:
        return f"{reason} Flows of users who may not use Power Automate do not start."
    return ""


def _event_refusal(flow: Flow, event: TriggerEvent) -> str:
    trigger = flow.current_version.definition["trigger"]
    if trigger["type"] != event.trigger_type:
        return "The flow's trigger changed before the event was delivered."
    return condition_refusal(trigger, event.trigger_data)


def condition_refusal(trigger: dict, trigger_data: dict) -> str:
    """Why the trigger conditions keep the run from starting, or "" when they all hold."""
    context = ExpressionContext(trigger=trigger_data, now=timezone.now())
    for index, condition in enumerate(trigger.get("conditions") or [], 1):
        try:
            value = render(condition, context)
        except ExpressionError as error:
            return f"Trigger condition {index} could not be evaluated: {error}"
        if value is not True:
            return f"Trigger condition {index} was not met: {condition}"
    return ""


# -- The sweeper and the recurrences (run by the tick) -------------------------------------


def sweep_pending_events(now: datetime.datetime) -> int:
    """Deliver again the events still pending after their redelivery time."""
    redeliver = datetime.timedelta(seconds=settings.AUTOMATE_REDISPATCH_AFTER)
    due = list(
        TriggerEvent.objects.filter(
            status=TriggerEvent.Status.PENDING, redeliver_at__lte=now
        ).values_list("pk", flat=True)[:SWEEP_LIMIT]
    )
    if not due:
        return 0
    TriggerEvent.objects.filter(pk__in=due, status=TriggerEvent.Status.PENDING).update(
        redeliver_at=now + redeliver
    )
    trigger_events_dispatch(due)
    return len(due)


def fire_recurrences(now: datetime.datetime) -> int:
    """Fire every scheduled flow whose next slot has come: once, for the latest slot due,
    however many were missed, then wait for the next slot after now."""
    fired: list[TriggerEvent] = []
    due = Flow.objects.filter(
        trigger_type="recurrence", enabled=True, next_run_at__lte=now
    ).values_list("pk", "next_run_at")[:RECURRENCE_LIMIT]
    for flow_id, next_run_at in due:
        event = _fire(flow_id, next_run_at, now)
        if event is not None:
            fired.append(event)
    if fired:
        trigger_events_dispatch([e.pk for e in fired])
    return len(fired)


def _fire(flow_id: int, expected: datetime.datetime, now) -> TriggerEvent | None:
    flow = Flow.objects.select_related("current_version").get(pk=flow_id)
    if flow.current_version is None:
        return None
    trigger = flow.current_version.definition["trigger"]
    if trigger.get("type") != "recurrence":
        return None
    slot = latest_slot(trigger, now) or expected
    following = next_slot(trigger, now)
    try:
        with transaction.atomic():
            # Compare and set: of two tickers, only the one that moves the slot on fires it.
            if not Flow.objects.filter(pk=flow_id, next_run_at=expected, enabled=True).update(
                next_run_at=following
            ):
                return None
            return _outbox(
                flow,
                "recurrence",
                key=f"recurrence:{flow_id}:{slot.isoformat()}",
                summary=f"Recurrence {slot:%Y-%m-%d %H:%M} UTC",
                body={"scheduledTime": slot.isoformat(), "firedTime": now.isoformat()},
            )
    except IntegrityError:
        return None  # the slot fired already


def prune_trigger_events(cutoff: datetime.datetime, batch: int) -> int:
    old = list(
        TriggerEvent.objects.filter(created_at__lt=cutoff)
        .exclude(status=TriggerEvent.Status.PENDING)
        .order_by("created_at")
        .values_list("pk", flat=True)[:batch]
    )
    if old:
        TriggerEvent.objects.filter(pk__in=old).delete()
    return len(old)
