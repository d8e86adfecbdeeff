"""Failing flows: automated and scheduled runs that fail in a row, and telling the owner.

Nobody watches an automated flow run, so a flow that keeps failing would go unnoticed
(Power Automate mails the owner of such a flow). Each ended run of an automated or
scheduled flow moves its failure streak:

1. A failed or timed-out run adds one to the streak; the first failure notes when the
   flow started failing.
2. A succeeded run ends the streak. A cancelled run is a person's choice, not the flow's
   failure: it leaves the streak as it is.
3. When the streak reaches ``AUTOMATE_FAILURE_NOTIFY_AFTER`` and the owner was not told in
   the last day, the flow is marked as told and, once the run's end commits, the owner gets
   a mail.

Instant flows are started by a person who sees the run end; they have no streak.
"""

from __future__ import annotations

import datetime
import logging

from django.conf import settings
from django.core.mail import send_mail
from django.db.models import Case, F, Q, Value, When
from django.urls import reverse
from django.utils import timezone
from django.utils.timesince import timesince

from automate.models import Flow, FlowRun, RunStatus

log = logging.getLogger(__name__)

DEFAULT_NOTIFY_AFTER = 3
# The owner of a flow that goes on failing is told again after this long, not every run.
NOTIFY_AGAIN_AFTER = datetime.timedelta(hours=24)
FAILURE_STATUSES = (RunStatus.FAILED, RunStatus.TIMED_OUT)


def failure_notify_after() -> int:
    """Failed runs in a row after which the owner is told (and My flows warns)."""
    return getattr(settings, "AUTOMATE_FAILURE_NOTIFY_AFTER", DEFAULT_NOTIFY_AFTER)


def flow_lock_for_streak(*, flow_id: int, status: str, streak_hint: int | None = None) -> None:
    """Lock the flow row first when ending this run will change its streak.

    Claims lock the flow and then the run; ending a run locks the run and then, through
    ``flow_run_ended``, the flow. Taking the flow first here keeps one order, so the two
    never wait on each other. ``streak_hint`` is the streak when the run started: a
    success changes nothing while it is 0.
    """
    if status == RunStatus.SUCCEEDED and streak_hint == 0:
        return
    if status not in (RunStatus.SUCCEEDED, *FAILURE_STATUSES):
        return
    list(_counted_flows(flow_id).select_for_update().values_list("pk", flat=True))


def _counted_flows(flow_id: int):
    return Flow.objects.filter(pk=flow_id).exclude(kind=Flow.Kind.INSTANT)


def flow_run_ended(*, run: FlowRun, status: str, now: datetime.datetime | None = None) -> None:
    """Move the streak of ``run``'s flow for a run that ended with ``status``.

    Call it in the transaction that ended the run, once: the streak then moves with the
    run's end or not at all. Only ``run.pk`` and ``run.flow_id`` are read.
    """
    now = now or timezone.now()
    if status == RunStatus.SUCCEEDED:
        _counted_flows(run.flow_id).filter(failure_streak__gt=0).update(
            failure_streak=0, failing_since=None
        )
        return
    if status not in FAILURE_STATUSES:
        return
    # One UPDATE: two runs of the flow ending at once both count, whatever the order.
    counted = _counted_flows(run.flow_id).update(
        failure_streak=F("failure_streak") + 1,
        failing_since=Case(When(failure_streak=0, then=Value(now)), default=F("failing_since")),
    )
    if not counted:
        return
    threshold = failure_notify_after()
    # Claim the notice with a conditional UPDATE, so two runs failing at once send one mail.
    claimed = (
        Flow.objects.filter(pk=run.flow_id, failure_streak__gte=threshold)
        .filter(
            Q(failure_notified_at__isnull=True)
            | Q(failure_notified_at__lt=now - NOTIFY_AGAIN_AFTER)
        )
        .update(failure_notified_at=now)
    )
    if claimed:
        streak = Flow.objects.filter(pk=run.flow_id).values_list("failure_streak", flat=True)[0]
        run_id = run.pk
        # Mailing waits on the mail server: a task of its own, not the worker's run.
        from automate.tasks import flow_failure_notify_task

        flow_failure_notify_task.delay_on_commit(run_id, streak)


def flow_failure_notify(*, run_id: int, streak: int) -> bool:
    """Mail the owner of the run's flow that it keeps failing. True when a mail went out.

    It runs after the commit, outside any transaction; a mail server that is down or
    refuses is logged, never raised: the run has ended whatever the mail does. The flow
    is then no longer marked as told, so its next failing run tries again.
    """
    run = (
        FlowRun.objects.filter(pk=run_id)
        .select_related("flow__owner")
        .defer("trigger_data", "variables", "flow__description")
        .first()
    )
    if run is None:
        return False
    flow = run.flow
    recipient = (flow.owner.email or "").strip()
    if not recipient:
        log.info("Flow %s keeps failing; its owner has no email address to tell.", flow.pk)
        return False
    subject, body = failure_message(flow=flow, run=run, streak=streak)
    try:
        send_mail(subject, body, None, [recipient], fail_silently=False)
    except Exception:
        log.exception("The failure notice for flow %s could not be sent.", flow.pk)
        # Give the claim back, so the next failing run tries again rather than a day later.
        Flow.objects.filter(pk=flow.pk, failure_notified_at=flow.failure_notified_at).update(
            failure_notified_at=None
        )
        return False
    return True


def failure_message(*, flow: Flow, run: FlowRun, streak: int) -> tuple[str, str]:
    """The subject and text of the mail telling the owner that ``flow`` has failed
    ``streak`` times in a row, ``run`` being the last of them."""
    subject = f"Your flow '{flow.name}' has failed {streak} times in a row"
    since = (
        f"It has been failing for {timesince(flow.failing_since)}, "
        f"since {flow.failing_since.astimezone(datetime.UTC):%Y-%m-%d %H:%M} UTC."
        if flow.failing_since
        else ""
    )
    run_url = settings.SITE_URL + reverse("automate:run-detail", args=[run.pk])
    history_url = settings.SITE_URL + reverse("automate:flow-runs", args=[flow.pk])
    lines = [f"Your flow '{flow.name}' has failed {streak} times in a row."]
    if since:
        lines.append(since)
    lines += [
        "",
        "The last run ended with this error:",
        run.error or f"(The run ended as {run.get_status_display()} without a message.)",
        "",
        f"See the run: {run_url}",
        f"See the flow's run history: {history_url}",
        "",
        "The next run that succeeds ends the streak. To stop the runs meanwhile, turn the "
        "flow off in My flows.",
    ]
    body = "\n".join(lines)
    return subject, body
