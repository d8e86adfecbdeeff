"""From record changes and business events to notifications in the outbox.

1. **Outbox.** A record change or a business event writes one ``ApiNotification`` per
   active subscription it concerns, in the transaction of the change: a rollback leaves
   nothing to send.
2. **Dispatch.** Once the transaction commits, one delivery task per subscription is
   queued to run after the batch window (``API_WEBHOOK_BATCH_SECONDS``), so the changes
   of that window go out together in one request.
3. The periodic sweep (``bcsite.api.delivery``) sends what a lost task or a broker outage
   left behind, and the retries that are due.
"""

from __future__ import annotations

import datetime
import json
import logging

from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.db.models import Q
from django.db.models.signals import post_delete, post_save
from django.utils import timezone
from kombu.exceptions import OperationalError as KombuOperationalError

from bcsite.api.delivery import iso_z
from bcsite.api.tasks import api_notifications_deliver_task
from bcsite.events import RaisedBusinessEvent, RecordEvent, events
from bcsite.models import ApiNotification, ApiSubscription
from bcsite.registry import Table
from bcsite.transactions import ReadOnce, for_this_transaction

log = logging.getLogger(__name__)

DEFAULT_BATCH_SECONDS = 0.5
CHANGE_TYPES = {"created": "created", "modified": "updated", "deleted": "deleted"}


def batch_window() -> float:
    from django.conf import settings

    return float(getattr(settings, "API_WEBHOOK_BATCH_SECONDS", DEFAULT_BATCH_SECONDS))


# -- Which subscriptions want a change --------------------------------------------------------

# Subscriptions change rarely and records often: within one transaction, a company's
# subscriptions are read once, whatever tables and events it touches.
SUBSCRIPTIONS = ReadOnce("_api_subscriptions")


def subscribed(company_id: int, kind: str, key) -> list[ApiSubscription]:
    """The company's active, unexpired subscriptions of ``kind`` to ``key`` (a table id or a
    business event's key), with their company."""
    if kind == ApiSubscription.Kind.WEBHOOK:
        return [s for s in _of_company(company_id) if s.kind == kind and s.table_id == key]
    return [s for s in _of_company(company_id) if s.kind == kind and s.event_name == key]


def _of_company(company_id: int) -> list[ApiSubscription]:
    """All the company's live subscriptions (at most a few hundred), read once a transaction."""
    return SUBSCRIPTIONS.get(company_id, lambda: _of_company_query(company_id))


def _of_company_query(company_id: int) -> list[ApiSubscription]:
    return list(
        ApiSubscription.objects.filter(company_id=company_id, status=ApiSubscription.Status.ACTIVE)
        .filter(Q(expires_at__isnull=True) | Q(expires_at__gt=timezone.now()))
        .select_related("company")
    )


def _wants_records(table: Table, company_id: int) -> bool:
    if not table.entity_set:
        return False
    return bool(subscribed(company_id, ApiSubscription.Kind.WEBHOOK, table.id))


# -- Writing the outbox ---------------------------------------------------------------------


def _on_record_event(event: RecordEvent) -> None:
    subscriptions = subscribed(event.company_id, ApiSubscription.Kind.WEBHOOK, event.table.id)
    if not subscriptions:
        return
    now = timezone.now()
    company = subscriptions[0].company
    record_id = event.values.get("id") or ""
    resource = f"api/v2.0/companies({company.system_id})/{event.table.entity_set}({record_id})"
    modified = event.values.get("lastModifiedDateTime")
    if event.kind == "deleted" or not modified:
        modified = iso_z(now)
    else:
        modified = iso_z(datetime.datetime.fromisoformat(modified))
    rows = [
        ApiNotification(
            subscription=subscription,
            payload={
                "subscriptionId": subscription.subscription_id.hex,
                "clientState": subscription.client_state,
                "expirationDateTime": iso_z(subscription.expires_at)
                if subscription.expires_at
                else None,
                "resource": resource,
                "changeType": CHANGE_TYPES[event.kind],
                "lastModifiedDateTime": modified,
            },
            next_attempt_at=now + datetime.timedelta(seconds=batch_window()),
        )
        for subscription in subscriptions
    ]
    ApiNotification.objects.bulk_create(rows)
    _dispatch_on_commit([s.pk for s in subscriptions])


def _on_business_event(raised: RaisedBusinessEvent) -> None:
    subscriptions = subscribed(
        raised.company_id, ApiSubscription.Kind.BUSINESS_EVENT, raised.event.key
    )
    if not subscriptions:
        return
    now = timezone.now()
    company = subscriptions[0].company
    # Plain JSON, whatever the service put in the payload (dates, decimals, ids).
    payload = json.loads(json.dumps(raised.payload, cls=DjangoJSONEncoder))
    user = raised.user
    rows = [
        ApiNotification(
            subscription=subscription,
            payload={
                "initiatingUserAADObjectId": str(user.pk) if user is not None else None,
                "timestamp": iso_z(raised.time),
                "companyName": company.name,
                "companyId": str(company.system_id),
                "eventName": raised.event.key,
                "eventVersion": raised.event.version,
                "payload": payload,
                "appId": subscription.app_id,
                "clientState": subscription.client_state,
            },
            next_attempt_at=now + datetime.timedelta(seconds=batch_window()),
        )
        for subscription in subscriptions
    ]
    ApiNotification.objects.bulk_create(rows)
    _dispatch_on_commit([s.pk for s in subscriptions])


# -- Dispatch -------------------------------------------------------------------------------


class _Batch:
    """The subscriptions a transaction wrote notifications for, dispatched once it commits."""

    def __init__(self) -> None:
        self.subscription_ids: dict[int, None] = {}
        self.sent = False

    def __call__(self) -> None:
        self.sent = True
        notifications_dispatch(list(self.subscription_ids))


def _dispatch_on_commit(subscription_ids: list[int]) -> None:
    conn = transaction.get_connection()
    if not conn.in_atomic_block:
        notifications_dispatch(subscription_ids)  # committed already
        return
    batch = for_this_transaction(conn, "_api_outbox_batch", _Batch, stale=lambda b: b.sent)
    batch.subscription_ids.update(dict.fromkeys(subscription_ids))


def notifications_dispatch(subscription_ids: list[int], *, countdown: float | None = None) -> bool:
    """Queue a delivery per subscription, after the batch window. With the broker down the
    notifications stay pending and the sweep sends them."""
    window = batch_window() if countdown is None else countdown
    try:
        for subscription_id in subscription_ids:
            api_notifications_deliver_task.apply_async(
                args=[subscription_id], countdown=window or None
            )
    except KombuOperationalError:
        log.warning(
            "Deliveries for %s subscriptions could not be queued; the sweep will send them",
            len(subscription_ids),
        )
        return False
    return True


def connect() -> None:
    """Listen to record and business events. Safe to call more than once."""
    if any(listener is _on_record_event for listener, _ in events.record_listeners):
        return
    events.listen_to_records(_on_record_event, interested=_wants_records)
    events.listen_to_business_events(_on_business_event)
    post_save.connect(
        SUBSCRIPTIONS.changed, sender=ApiSubscription, dispatch_uid="bcsite.api.subscriptions"
    )
    post_delete.connect(
        SUBSCRIPTIONS.changed,
        sender=ApiSubscription,
        dispatch_uid="bcsite.api.subscriptions_deleted",
    )
