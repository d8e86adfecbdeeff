"""Claiming a run, executing it, and ending it; the tick that wakes and sweeps runs."""

from __future__ import annotations

import datetime
import logging
import uuid

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, Q, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from automate.engine.commits import engine_transaction
from automate.engine.execution import Execution, Stop, Suspend, Terminate
from automate.models import (
    FINISHED_RUN_STATUSES,
    Flow,
    FlowRun,
    FlowRunDay,
    RunStatus,
    StepRun,
    StepStatus,
)
from automate.services.failures import flow_lock_for_streak, flow_run_ended
from automate.services.run_days import run_day_count
from automate.services.runs import cancel_waited_approvals, flow_run_dispatch
from automate.services.triggers import (
    fire_recurrences,
    prune_trigger_events,
    sweep_pending_events,
)
from bcsite.events import acting_as

log = logging.getLogger(__name__)

# Runs of a flow at its concurrency limit are looked at again this often.
CONCURRENCY_RETRY_SECONDS = 5
PRUNE_BATCH = 500
# A run whose deliveries keep dying (a crash in the worker, a machine lost each time) ends
# as Failed instead of being handed on for ever. Waiting and waking do not count.
MAX_LOST_DELIVERIES = 5


def _lease(now: datetime.datetime) -> datetime.datetime:
    return now + datetime.timedelta(seconds=settings.AUTOMATE_RUN_LEASE_SECONDS)


def flow_run_claim(*, run_id: int) -> uuid.UUID | None:
    """Take the run for this delivery, or None when it is not ours to run.

    It is not when it has ended, when another delivery holds a live lease on it, or when
    its flow already has as many runs going as its concurrency limit allows (then it stays
    queued and the tick offers it again).
    """
    claimed = _claim(run_id)
    return None if claimed is None else claimed[1]


def _claim(run_id: int) -> tuple[FlowRun, uuid.UUID] | None:
    """The claim, with the run as executing it needs it (its flow, owner, version and
    company): read once, before the claim's UPDATE. That UPDATE matches only while
    ``deliveries`` is what was read, and every claim moves it, so no other delivery took
    the run in between and what was read is what this delivery now holds."""
    now = timezone.now()
    token = uuid.uuid4()
    # Lost in a database crash, a claim is only taken again (automate.engine.commits).
    with engine_transaction(durable=False):
        run = (
            FlowRun.objects.select_related("flow__owner", "version", "company")
            .filter(pk=run_id)
            .first()
        )
        if run is None or run.status not in (RunStatus.QUEUED, RunStatus.RUNNING):
            return None
        limit = run.flow.concurrency_limit
        if connection.features.has_select_for_update:
            # One claim at a time per flow, so two workers never both take the last free
            # slot. (Without row locks, SQLite's write transactions take the database's
            # write lock when they begin: the claims are one at a time already.)
            limit = (
                Flow.objects.select_for_update()
                .filter(pk=run.flow_id)
                .values_list("concurrency_limit", flat=True)
                .get()
            )
        active = (
            FlowRun.objects.filter(
                flow_id=run.flow_id, status=RunStatus.RUNNING, lease_until__gt=now
            )
            .exclude(pk=run_id)
            .count()
        )
        if active >= limit:
            FlowRun.objects.filter(pk=run_id, status=RunStatus.QUEUED).update(
                wake_at=now + datetime.timedelta(seconds=CONCURRENCY_RETRY_SECONDS)
            )
            return None
        # A run still marked running whose lease has run out lost its last delivery.
        lost = 1 if run.status == RunStatus.RUNNING else 0
        claimed = (
            FlowRun.objects.filter(pk=run_id, status=run.status, deliveries=run.deliveries)
            .filter(Q(lease_until__isnull=True) | Q(lease_until__lte=now))
            .update(
                status=RunStatus.RUNNING,
                lease_token=token,
                lease_until=_lease(now),
                wake_at=None,
                lost_deliveries=F("lost_deliveries") + lost,
                # In the claim's own UPDATE: two statements fewer for every run.
                deliveries=F("deliveries") + 1,
                started_at=Coalesce("started_at", Value(now)),
            )
        )
    if not claimed:
        return None
    run.status = RunStatus.RUNNING
    run.lease_token, run.lease_until, run.wake_at = token, _lease(now), None
    run.lost_deliveries += lost
    run.deliveries += 1
    run.started_at = run.started_at or now
    return run, token


def flow_run_execute(*, run_id: int) -> None:
    """Run what is left of the run, if this delivery can claim it. Safe to call twice."""
    claimed = _claim(run_id)
    if claimed is None:
        return
    run, token = claimed
    if run.lost_deliveries >= MAX_LOST_DELIVERIES:
        # Delivery after delivery died or crashed on this run: stop handing it on.
        _end(
            run,
            token,
            RunStatus.FAILED,
            f"The worker running this run stopped {run.lost_deliveries} times before it could "
            "finish; it is not tried again. Resubmit it once the cause is fixed.",
        )
        return
    # Only a delivery that held the run writes its steps: the first has none to read.
    execution = Execution(run, token, rows={} if run.deliveries == 1 else None)
    try:
        # What the run changes, it changes as its flow's owner (record triggers' userName).
        with acting_as(run.flow.owner, origin=f"flow:{run.flow_id}"):
            status = execution.execute()
    except Suspend as suspend:
        _park(run, token, suspend.wake_at)
        return
    except Terminate as terminate:
        _end(run, token, terminate.status, terminate.message)
        return
    except Stop:
        return
    error = "" if status == RunStatus.SUCCEEDED else _failure_message(execution)
    # The delivery knows every step row of the run: only open ones need closing.
    open_steps = any(
        row.status in (StepStatus.RUNNING, StepStatus.WAITING) for row in execution.rows.values()
    )
    _end(run, token, status, error, close_steps=open_steps)


def _failure_message(execution: Execution) -> str:
    failed = [row for row in execution.rows.values() if row.status == StepStatus.FAILED]
    if not failed:
        return "The run failed."
    row = max(failed, key=lambda r: r.position)
    message = (row.error or {}).get("message", "") if isinstance(row.error, dict) else ""
    return f"{row.name.replace('_', ' ')} failed: {message}".strip()


def _park(run: FlowRun, token, wake_at: datetime.datetime) -> None:
    FlowRun.objects.filter(pk=run.pk, status=RunStatus.RUNNING, lease_token=token).update(
        status=RunStatus.WAITING, wake_at=wake_at, lease_token=None, lease_until=None
    )


def _end(run: FlowRun, token, status: str, error: str, *, close_steps: bool = True) -> None:
    now = timezone.now()
    # A success lost in a database crash is only ended again (automate.engine.commits); a
    # failure may tell the owner by mail once it commits, so it waits for the disk.
    with engine_transaction(durable=status != RunStatus.SUCCEEDED):
        flow_lock_for_streak(
            flow_id=run.flow_id, status=status, streak_hint=run.flow.failure_streak
        )
        ended = FlowRun.objects.filter(
            pk=run.pk, status=RunStatus.RUNNING, lease_token=token
        ).update(
            status=status,
            error=error[:4000],
            finished_at=now,
            lease_token=None,
            lease_until=None,
            wake_at=None,
        )
        if ended:
            if close_steps:
                # Containers a Terminate left, or the step that ran out of time.
                _close_open_steps(run, now, status)
            run_day_count(
                flow_id=run.flow_id,
                company_id=run.company_id,
                created_at=run.created_at,
                status=status,
            )
            flow_run_ended(run=run, status=status, now=now)
    if ended:
        _dispatch_next_queued(run, now)


def _close_open_steps(run: FlowRun, now, status: str) -> None:
    step_status = StepStatus.TIMED_OUT if status == RunStatus.TIMED_OUT else StepStatus.CANCELLED
    StepRun.objects.filter(run=run, status__in=[StepStatus.RUNNING, StepStatus.WAITING]).update(
        status=step_status, finished_at=now
    )


def _dispatch_next_queued(run: FlowRun, now) -> None:
    """A slot of the flow's concurrency limit is free: if the flow was at its limit, start
    the oldest run waiting for a slot. Below the limit, queued runs have their own
    deliveries on the way and need no other."""
    running = FlowRun.objects.filter(
        flow_id=run.flow_id, status=RunStatus.RUNNING, lease_until__gt=now
    ).count()
    if running + 1 < run.flow.concurrency_limit:
        return
    waiting = (
        FlowRun.objects.filter(flow_id=run.flow_id, status=RunStatus.QUEUED)
        .order_by("created_at", "pk")
        .values_list("pk", flat=True)
        .first()
    )
    if waiting is not None:
        transaction.on_commit(lambda: flow_run_dispatch(run_id=waiting))


def automate_tick(*, now: datetime.datetime | None = None) -> dict[str, int]:
    """Wake runs whose wait is over, hand on runs whose worker is gone, end overdue runs.

    1. Waiting runs due now become queued and are dispatched.
    2. Queued runs nobody has claimed for a while are dispatched again (a lost message).
    3. Running runs whose lease expired (their worker died) are queued and dispatched.
    4. Unfinished runs past their deadline end as Timed out.
    5. Scheduled flows whose slot has come fire; trigger events left pending are delivered
       again.
    6. Finished runs and delivered events older than the retention period are deleted, a
       batch at a time.

    Each change is a conditional UPDATE, so two ticks at once never wake one run twice;
    a run dispatched twice is harmless because only one delivery can claim it.
    """
    now = now or timezone.now()
    counts = {"timed_out": _time_out_overdue(now)}
    redispatch = datetime.timedelta(seconds=settings.AUTOMATE_REDISPATCH_AFTER)
    due: list[int] = []
    for run_id in FlowRun.objects.filter(status=RunStatus.WAITING, wake_at__lte=now).values_list(
        "pk", flat=True
    )[:1000]:
        if FlowRun.objects.filter(pk=run_id, status=RunStatus.WAITING, wake_at__lte=now).update(
            status=RunStatus.QUEUED, wake_at=now + redispatch
        ):
            due.append(run_id)
    counts["woken"] = len(due)
    lost = list(
        FlowRun.objects.filter(status=RunStatus.QUEUED, wake_at__lte=now).values_list(
            "pk", flat=True
        )[:1000]
    )
    lost = [
        pk
        for pk in lost
        if FlowRun.objects.filter(pk=pk, status=RunStatus.QUEUED, wake_at__lte=now).update(
            wake_at=now + redispatch
        )
    ]
    counts["redispatched"] = len(lost)
    expired = []
    for run_id in FlowRun.objects.filter(status=RunStatus.RUNNING, lease_until__lt=now).values_list(
        "pk", flat=True
    )[:1000]:
        if FlowRun.objects.filter(pk=run_id, status=RunStatus.RUNNING, lease_until__lt=now).update(
            status=RunStatus.QUEUED,
            lease_token=None,
            lease_until=None,
            wake_at=now + redispatch,
            lost_deliveries=F("lost_deliveries") + 1,
        ):
            expired.append(run_id)
    counts["recovered"] = len(expired)
    for run_id in [*due, *lost, *expired]:
        if not flow_run_dispatch(run_id=run_id):
            # The broker is down: each further attempt would wait to fail too. The runs
            # are queued with a redispatch time, so a later tick hands them on.
            break
    counts["fired"] = fire_recurrences(now)
    counts["swept"] = sweep_pending_events(now)
    counts["pruned"] = _prune(now)
    return counts


def _time_out_overdue(now) -> int:
    overdue = list(
        FlowRun.objects.filter(deadline__lt=now)
        .exclude(status__in=FINISHED_RUN_STATUSES)
        .values_list("pk", "flow_id", "company_id", "created_at")[:1000]
    )
    ended = 0
    for run_id, flow_id, company_id, created_at in overdue:
        with transaction.atomic():
            flow_lock_for_streak(flow_id=flow_id, status=RunStatus.TIMED_OUT)
            if (
                FlowRun.objects.filter(pk=run_id)
                .exclude(status__in=FINISHED_RUN_STATUSES)
                .update(
                    status=RunStatus.TIMED_OUT,
                    error="The run reached its time limit.",
                    finished_at=now,
                    lease_token=None,
                    lease_until=None,
                    wake_at=None,
                )
            ):
                ended += 1
                _close_open_steps(FlowRun(pk=run_id), now, RunStatus.TIMED_OUT)
                cancel_waited_approvals(run_id)
                run_day_count(
                    flow_id=flow_id,
                    company_id=company_id,
                    created_at=created_at,
                    status=RunStatus.TIMED_OUT,
                )
                run = FlowRun(pk=run_id, flow_id=flow_id)
                flow_run_ended(run=run, status=RunStatus.TIMED_OUT, now=now)
    return ended


def _prune(now) -> int:
    cutoff = now - datetime.timedelta(days=settings.AUTOMATE_RUN_RETENTION_DAYS)
    old = list(
        FlowRun.objects.filter(status__in=FINISHED_RUN_STATUSES, finished_at__lt=cutoff)
        .order_by("finished_at")
        .values_list("pk", flat=True)[:PRUNE_BATCH]
    )
    if old:
        FlowRun.objects.filter(pk__in=old).delete()
    FlowRunDay.objects.filter(day__lt=cutoff.date()).delete()
    return len(old) + prune_trigger_events(cutoff, PRUNE_BATCH)
