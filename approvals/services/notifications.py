"""Approval notifications: mail to approvers (a new request, a delegation, a reminder) and to
requesters (the outcome), sent by a Celery task after the decision commits.

Links go to a confirmation page that shows the request on GET and decides only on POST:
mail scanners that follow links cannot approve anything.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

log = logging.getLogger(__name__)

KINDS = ("request", "delegated", "reminder")


def notify_entries(entry_ids: list[int], kind: str) -> None:
    """Tell the approvers of ``entry_ids`` once the transaction commits."""
    if not entry_ids:
        return
    from approvals.tasks import approval_notify_task

    ids = list(entry_ids)
    transaction.on_commit(lambda: _send_task(approval_notify_task, ids, kind))


def notify_requester(request_id: int) -> None:
    from approvals.tasks import approval_outcome_notify_task

    transaction.on_commit(lambda: _send_task(approval_outcome_notify_task, request_id))


def _send_task(task, *args) -> None:
    try:
        task.delay(*args)
    except Exception:
        # The decision stands; only its mail is lost, and the page shows the request anyway.
        log.warning("The approval notification could not be queued.", exc_info=True)


def recipient_of(user, company_id: int) -> str:
    from approvals.models import ApprovalUserSetup

    setup = ApprovalUserSetup.objects.filter(company_id=company_id, user=user).first()
    return ((setup.email if setup else "") or user.email or "").strip()


def approval_entries_notify(*, entry_ids: list[int], kind: str) -> int:
    """Mail each entry's approver; the number of mails sent."""
    from approvals.models import ApprovalEntry

    entries = ApprovalEntry.objects.filter(pk__in=entry_ids, status=ApprovalEntry.Status.OPEN)
    sent = 0
    for entry in entries.select_related("request__requester", "approver"):
        address = recipient_of(entry.approver, entry.company_id)
        if not address:
            log.info("Approver %s has no email address to notify.", entry.approver)
            continue
        subject, body = entry_message(entry, kind)
        try:
            send_mail(subject, body, None, [address], fail_silently=False)
        except Exception:
            log.exception("The approval notification for entry %s could not be sent.", entry.pk)
            continue
        sent += 1
        if kind == "reminder":
            ApprovalEntry.objects.filter(pk=entry.pk).update(last_reminded_at=timezone.now())
    return sent


def entry_message(entry, kind: str) -> tuple[str, str]:
    request = entry.request
    requester = request.requester.get_username() if request.requester else "A flow"
    decide_url = settings.SITE_URL + reverse("approvals:entry-decide", args=[entry.pk])
    inbox_url = settings.SITE_URL + reverse("approvals:requests-to-approve")
    lead = {
        "request": f"{requester} requests your approval.",
        "delegated": f"An approval request from {requester} was delegated to you.",
        "reminder": f"The approval request from {requester} is overdue: it was due "
        f"{entry.due_date}.",
    }[kind]
    prefix = {"request": "Approval request", "delegated": "Delegated", "reminder": "Overdue"}[kind]
    lines = [lead, "", request.title]
    if request.details:
        lines += [request.details]
    if request.amount:
        lines += [f"Amount: {request.amount}"]
    if request.change:
        change = request.change
        lines += [f"{change['label']}: {change['old']} -> {change['new']}"]
    if entry.due_date:
        lines += [f"Due date: {entry.due_date}"]
    lines += [
        "",
        f"Review and decide: {decide_url}",
        f"All your requests to approve: {inbox_url}",
    ]
    return f"{prefix}: {request.title}", "\n".join(lines)


def approval_outcome_notify(*, request_id: int) -> bool:
    from approvals.models import ApprovalRequest

    request = ApprovalRequest.objects.filter(pk=request_id).select_related("requester").first()
    if request is None or request.requester is None or request.kind == request.Kind.FLOW_APPROVAL:
        return False
    if request.decided_by_id == request.requester_id:
        return False  # they did it themselves (cancelled, or approved their own)
    address = recipient_of(request.requester, request.company_id)
    if not address:
        return False
    status = request.get_status_display().lower()
    lines = [f"Your approval request for {request.title} was {status}."]
    comments = list(request.comments.select_related("user"))
    if comments:
        lines += ["", "Comments:"]
        lines += [f"- {c.user.get_username() if c.user else ''}: {c.text}" for c in comments]
    if request.link:
        lines += ["", f"Open it: {settings.SITE_URL}{request.link}"]
    try:
        send_mail(
            f"Approval request {status}: {request.title}",
            "\n".join(lines),
            None,
            [address],
            fail_silently=False,
        )
    except Exception:
        log.exception("The outcome of approval request %s could not be mailed.", request.pk)
        return False
    return True
