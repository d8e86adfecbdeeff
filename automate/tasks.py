"""Celery tasks of Power Automate: thin, they take ids and call the engine."""

from celery import shared_task

from automate.engine.runner import automate_tick, flow_run_execute
from automate.services.failures import flow_failure_notify
from automate.services.triggers import trigger_events_deliver_keeping_one


@shared_task(acks_late=True)
def flow_run_execute_task(run_id: int) -> None:
    flow_run_execute(run_id=run_id)


@shared_task(ignore_result=True)
def automate_tick_task() -> dict:
    return automate_tick()


@shared_task(acks_late=True, ignore_result=True)
def trigger_events_deliver_task(event_ids: list[int]) -> int:
    """Deliver the events, then execute one of their runs here: an event and its run cost
    one task, not two. The batch's other runs go to other workers as each commits."""
    delivered = trigger_events_deliver_keeping_one(event_ids)
    if delivered.kept is not None:
        flow_run_execute(run_id=delivered.kept)
    return delivered.started


@shared_task(ignore_result=True)
def flow_failure_notify_task(run_id: int, streak: int) -> None:
    flow_failure_notify(run_id=run_id, streak=streak)
