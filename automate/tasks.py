"""Celery tasks of Power Automate: thin, they take ids and call the engine."""

from celery import shared_task

from automate.engine.runner import automate_tick, flow_run_execute
from automate.services.failures import flow_failure_notify
from automate.services.triggers import trigger_events_deliver


@shared_task(acks_late=True)
def flow_run_execute_task(run_id: int) -> None:
    flow_run_execute(run_id=run_id)


@shared_task(ignore_result=True)
def automate_tick_task() -> dict:
    return automate_tick()


@shared_task(acks_late=True, ignore_result=True)
def trigger_events_deliver_task(event_ids: list[int]) -> int:
    return trigger_events_deliver(event_ids)


@shared_task(ignore_result=True)
def flow_failure_notify_task(run_id: int, streak: int) -> None:
    flow_failure_notify(run_id=run_id, streak=streak)
