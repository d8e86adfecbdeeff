"""Celery tasks of approvals: notifications, and the periodic reminders and delegations."""

from celery import shared_task

from approvals.services.notifications import approval_entries_notify, approval_outcome_notify


@shared_task(acks_late=True)
def approval_notify_task(entry_ids: list[int], kind: str) -> int:
    return approval_entries_notify(entry_ids=entry_ids, kind=kind)


@shared_task(acks_late=True)
def approval_outcome_notify_task(request_id: int) -> bool:
    return approval_outcome_notify(request_id=request_id)


@shared_task(acks_late=True)
def approvals_overdue_task() -> dict:
    from approvals.services.overdue import approvals_overdue_process

    return approvals_overdue_process()
