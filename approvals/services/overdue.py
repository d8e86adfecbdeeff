"""The periodic pass over open entries: delegate the overdue ones to the substitute after
the workflow's Delegate After period, remind approvers of overdue entries once a day, and
expire flow approvals whose time is up."""

from __future__ import annotations

import datetime
import logging

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from approvals.models import ApprovalEntry, ApprovalRequest
from approvals.services.notifications import notify_entries
from approvals.services.requests import _delegate, flow_approval_expire

log = logging.getLogger(__name__)

BATCH = 500
REMIND_EVERY = datetime.timedelta(days=1)


def approvals_overdue_process(now: datetime.datetime | None = None) -> dict[str, int]:
    now = now or timezone.now()
    return {
        "delegated": _delegate_due(now),
        "reminded": _remind_overdue(now),
        "expired": _expire_flow_approvals(now),
    }


def _delegate_due(now) -> int:
    due = ApprovalEntry.objects.filter(
        status=ApprovalEntry.Status.OPEN, delegate_at__lte=now
    ).values_list("pk", flat=True)[:BATCH]
    delegated = 0
    for entry_id in list(due):
        with transaction.atomic():
            entry = ApprovalEntry.objects.select_related("approver").get(pk=entry_id)
            request = ApprovalRequest.objects.select_for_update().get(pk=entry.request_id)
            entry.refresh_from_db()
            if request.status != ApprovalRequest.Status.OPEN or not entry.is_open:
                continue
            try:
                with transaction.atomic():
                    _delegate(
                        request, entry, None, "Delegated automatically: the request was overdue."
                    )
            except ValidationError as error:
                # Nobody to delegate to: stop trying; the reminders go on.
                log.info("Entry %s could not be delegated: %s", entry_id, error.messages[0])
                ApprovalEntry.objects.filter(pk=entry_id).update(delegate_at=None)
                continue
            delegated += 1
    return delegated


def _remind_overdue(now) -> int:
    today = timezone.localdate(now)
    overdue = list(
        ApprovalEntry.objects.filter(status=ApprovalEntry.Status.OPEN, due_date__lt=today)
        .filter(Q(last_reminded_at__isnull=True) | Q(last_reminded_at__lte=now - REMIND_EVERY))
        .values_list("pk", flat=True)[:BATCH]
    )
    if overdue:
        # Claimed before the mail goes, so two passes at once remind once.
        claimed = [
            pk
            for pk in overdue
            if ApprovalEntry.objects.filter(pk=pk)
            .filter(Q(last_reminded_at__isnull=True) | Q(last_reminded_at__lte=now - REMIND_EVERY))
            .update(last_reminded_at=now)
        ]
        with transaction.atomic():
            notify_entries(claimed, "reminder")
        return len(claimed)
    return 0


def _expire_flow_approvals(now) -> int:
    expired = 0
    for request in ApprovalRequest.objects.filter(
        status=ApprovalRequest.Status.OPEN,
        kind=ApprovalRequest.Kind.FLOW_APPROVAL,
        expires_at__lte=now,
    )[:BATCH]:
        expired += flow_approval_expire(request=request)
    return expired
