"""Celery tasks of webhook and business event delivery: thin, they take ids."""

from celery import shared_task

from bcsite.api.delivery import api_notifications_sweep, api_subscription_deliver


@shared_task(acks_late=True, ignore_result=True)
def api_notifications_deliver_task(subscription_id: int) -> int:
    return api_subscription_deliver(subscription_id=subscription_id)


@shared_task(ignore_result=True)
def api_notifications_sweep_task() -> dict:
    """Beat's tick for deliveries: queue what is due, clean up expired subscriptions."""
    result = api_notifications_sweep()
    for subscription_id in result["due"]:
        api_notifications_deliver_task.delay(subscription_id)
    return {**result, "due": len(result["due"])}
