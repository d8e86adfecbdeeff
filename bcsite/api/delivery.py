"""Delivering notifications: batched, signed, retried with backoff, then suspended.

A subscription's pending notifications go out together, one POST of ``{"value": [...]}``:

1. **Claim.** In a short transaction, lock the subscription (``skip_locked``: a worker
   that finds it locked leaves it to the one holding it) and its pending notifications,
   and mark them as in flight for a lease (``attempts + 1``, ``next_attempt_at`` = the
   lease's end). While a batch is in flight or waiting out a backoff, no other worker
   sends the subscription anything, so notifications are never sent twice at once and a
   failing endpoint is not hammered by every new change.
2. **Send** outside any transaction: signed (``bcsite.api.signing``), with a timeout.
3. **Record.** 2xx: delivered. Anything else (a status, a timeout, a refused connection):
   the batch waits 10 s, then 20 s, 40 s, ... at most an hour, and is tried again. Once a
   subscription has failed for ``API_WEBHOOK_RETRY_HOURS`` (24 h), it is suspended (not
   deleted), its pending notifications are dropped with the reason, and its owner is
   emailed. Renewing it (PATCH, with a successful handshake) makes it active again.

A worker that dies mid-send leaves its batch in flight until the lease ends; the sweep
then sends it again (at least once, as webhooks are).
"""

from __future__ import annotations

import datetime
import json
import logging
from dataclasses import dataclass

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import Min
from django.utils import timezone

from bcsite.api import webhook_net
from bcsite.api.signing import signed_headers
from bcsite.models import ApiNotification, ApiSubscription
from records.models import Membership

log = logging.getLogger(__name__)

# BC: more than 1000 changes in one window become one "collection" notification.
COLLECTION_THRESHOLD = 1000
# Business events cannot be summed up that way; they go in requests of at most this many.
MAX_BATCH = 1000
DEFAULT_TIMEOUT_SECONDS = 10
FIRST_RETRY_SECONDS = 10
MAX_RETRY_SECONDS = 3600
DEFAULT_RETRY_HOURS = 24
# A batch in flight is left alone this long beyond the request's timeout.
LEASE_MARGIN_SECONDS = 30
# One task sends at most this many batches, then leaves the rest to the next.
MAX_BATCHES_PER_TASK = 20
SWEEP_LIMIT = 1000
RETENTION_DAYS = 7
PRUNE_BATCH = 5000

PENDING = ApiNotification.Status.PENDING


def _timeout() -> float:
    return float(getattr(settings, "API_WEBHOOK_TIMEOUT_SECONDS", DEFAULT_TIMEOUT_SECONDS))


def _retry_period() -> datetime.timedelta:
    hours = float(getattr(settings, "API_WEBHOOK_RETRY_HOURS", DEFAULT_RETRY_HOURS))
    return datetime.timedelta(hours=hours)


def backoff(attempts: int) -> datetime.timedelta:
    """How long a batch that failed ``attempts`` times waits: 10 s, doubling, at most 1 h."""
    exponent = min(max(attempts, 1) - 1, 20)
    return datetime.timedelta(seconds=min(FIRST_RETRY_SECONDS * 2**exponent, MAX_RETRY_SECONDS))


def iso_z(moment: datetime.datetime) -> str:
    """BC's form of a UTC time: ``2024-05-01T10:03:30.123456Z``."""
    return moment.astimezone(datetime.UTC).isoformat().replace("+00:00", "Z")


@dataclass
class Batch:
    subscription: ApiSubscription
    ids: list[int]
    values: list[dict]
    attempts: int


# -- Deliver ----------------------------------------------------------------------------------


def api_subscription_deliver(*, subscription_id: int, now: datetime.datetime | None = None) -> int:
    """Send the subscription's pending notifications, a batch at a time, while they are due;
    returns how many were delivered."""
    delivered = 0
    for _ in range(MAX_BATCHES_PER_TASK):
        moment = now or timezone.now()
        batch = _claim(subscription_id, moment)
        if batch is None:
            break
        error = _send(batch)
        _record(batch, error, now or timezone.now())
        if error:
            break
        delivered += len(batch.ids)
    return delivered


def _claim(subscription_id: int, now: datetime.datetime) -> Batch | None:
    with transaction.atomic():
        subscription = (
            ApiSubscription.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(pk=subscription_id, status=ApiSubscription.Status.ACTIVE)
            .select_related("company", "owner")
            .first()
        )
        if subscription is None:
            return None  # gone, suspended, or being claimed by another worker now
        pending = subscription.notifications.filter(status=PENDING)
        if not _due(pending, now):
            return None
        refusal = _refusal(subscription, now)
        if refusal:
            _drop_or_suspend(subscription, refusal, now, suspend=not _expired(subscription, now))
            return None
        rows = list(
            pending.select_for_update(skip_locked=True)
            .order_by("pk")
            .values_list("pk", "payload", "attempts")
        )
        if not rows:
            return None
        attempts = max(row[2] for row in rows) + 1
        if subscription.kind == ApiSubscription.Kind.WEBHOOK and len(rows) > COLLECTION_THRESHOLD:
            values = [_collection(subscription, [row[1] for row in rows])]
        else:
            rows = rows[:MAX_BATCH]
            values = [_current(subscription, row[1]) for row in rows]
        ids = [row[0] for row in rows]
        lease_end = now + datetime.timedelta(seconds=_timeout() + LEASE_MARGIN_SECONDS)
        for chunk in _chunks(ids):
            ApiNotification.objects.filter(pk__in=chunk).update(
                attempts=attempts, next_attempt_at=lease_end
            )
    return Batch(subscription=subscription, ids=ids, values=values, attempts=attempts)


def _due(pending, now: datetime.datetime) -> bool:
    """Whether the subscription has something to send now: the retry time of a failed (or
    in-flight) batch has come, or, with none failing, anything is pending. (A delivery task
    runs at the end of the batch window; new notifications' ``next_attempt_at`` only keeps
    the sweep from sending them before it.)"""
    retry_at = pending.filter(attempts__gt=0).aggregate(at=Min("next_attempt_at"))["at"]
    if retry_at is not None:
        return retry_at <= now
    return pending.exists()


def _expired(subscription: ApiSubscription, now: datetime.datetime) -> bool:
    return subscription.expires_at is not None and subscription.expires_at <= now


def _refusal(subscription: ApiSubscription, now: datetime.datetime) -> str:
    """Why nothing may be sent to the subscription any more, or ""."""
    if _expired(subscription, now):
        return f"The subscription expired on {iso_z(subscription.expires_at)}."
    owner = subscription.owner
    if not owner.is_active:
        return f"The subscription's owner {owner.get_username()} is no longer active."
    if not Membership.objects.filter(user=owner, company=subscription.company).exists():
        return (
            f"The subscription's owner {owner.get_username()} no longer works in "
            f"{subscription.company.name}."
        )
    return ""


def _current(subscription: ApiSubscription, payload: dict) -> dict:
    """The notification as the subscription is now (renewal moves expiry, clientState)."""
    value = {**payload, "clientState": subscription.client_state}
    if subscription.kind == ApiSubscription.Kind.WEBHOOK:
        value["subscriptionId"] = subscription.subscription_id.hex
        value["expirationDateTime"] = (
            iso_z(subscription.expires_at) if subscription.expires_at else None
        )
    return value


def _collection(subscription: ApiSubscription, payloads: list[dict]) -> dict:
    """BC's "collection" notification: too many changes to list; read the entity set again
    for what changed since the earliest of them."""
    resource = payloads[0]["resource"].rsplit("(", 1)[0]
    earliest = min(p.get("lastModifiedDateTime") or "" for p in payloads)
    return _current(
        subscription,
        {
            "resource": resource,
            "changeType": "collection",
            "lastModifiedDateTime": earliest,
        },
    )


def _send(batch: Batch) -> str:
    """POST the batch, signed; returns "" when the subscriber took it, else what went wrong."""
    subscription = batch.subscription
    body = json.dumps({"value": batch.values}, separators=(",", ":")).encode()
    headers = {
        "Content-Type": "application/json; charset=utf-8",
        "X-Bcsite-Subscription-Id": subscription.subscription_id.hex,
        **signed_headers(subscription.signing_secret, body),
    }
    try:
        answer = webhook_net.post(
            subscription.notification_url, body=body, headers=headers, timeout=_timeout()
        )
    except webhook_net.DeliveryError as error:
        return str(error)
    if 200 <= answer.status < 300:
        return ""
    return f"The notification URL answered {answer.status}."


def _record(batch: Batch, error: str, now: datetime.datetime) -> None:
    subscription = batch.subscription
    with transaction.atomic():
        if not error:
            for chunk in _chunks(batch.ids):
                ApiNotification.objects.filter(pk__in=chunk, status=PENDING).update(
                    status=ApiNotification.Status.DELIVERED, delivered_at=now, last_error=""
                )
            ApiSubscription.objects.filter(pk=subscription.pk).exclude(
                failing_since=None, last_error=""
            ).update(failing_since=None, last_error="")
            return
        log.info("Delivery to subscription %s failed: %s", subscription.subscription_id, error)
        failing_since = (
            ApiSubscription.objects.filter(pk=subscription.pk)
            .values_list("failing_since", flat=True)
            .first()
        ) or now
        if now - failing_since >= _retry_period():
            hours = _retry_period().total_seconds() / 3600
            reason = (
                f"Deliveries failed for {hours:g} hours; the subscription was suspended. "
                f"Last error: {error}"
            )
            _drop_or_suspend(subscription, reason, now, suspend=True)
            return
        retry_at = now + backoff(batch.attempts)
        for chunk in _chunks(batch.ids):
            ApiNotification.objects.filter(pk__in=chunk, status=PENDING).update(
                next_attempt_at=retry_at, last_error=error[:2000]
            )
        ApiSubscription.objects.filter(pk=subscription.pk).update(
            failing_since=failing_since, last_error=error[:2000]
        )


def _drop_or_suspend(
    subscription: ApiSubscription, reason: str, now: datetime.datetime, *, suspend: bool
) -> None:
    """Drop the subscription's pending notifications with ``reason``; when ``suspend``, also
    suspend it and tell its owner once the transaction commits."""
    subscription.notifications.filter(status=PENDING).update(
        status=ApiNotification.Status.DROPPED, last_error=reason[:2000]
    )
    if not suspend:
        return
    changed = ApiSubscription.objects.filter(
        pk=subscription.pk, status=ApiSubscription.Status.ACTIVE
    ).update(status=ApiSubscription.Status.SUSPENDED, suspended_at=now, last_error=reason[:2000])
    if changed:
        transaction.on_commit(lambda: _mail_owner(subscription.pk))


def _mail_owner(subscription_id: int) -> None:
    subscription = (
        ApiSubscription.objects.select_related("owner", "company")
        .filter(pk=subscription_id)
        .first()
    )
    if subscription is None or not subscription.owner.email:
        return
    what = (
        f"the changes of {subscription.resource}"
        if subscription.kind == ApiSubscription.Kind.WEBHOOK
        else f"the business event {subscription.event_name}"
    )
    body = (
        f"Your subscription {subscription.subscription_id.hex} in {subscription.company.name} "
        f"to {what} was suspended.\n\n"
        f"Notification URL: {subscription.notification_url}\n"
        f"Reason: {subscription.last_error}\n\n"
        "Notifications are no longer sent to it; those that were waiting were dropped. The "
        "subscription was not deleted: once the notification URL works again, renew it "
        "(PATCH the subscription) and it becomes active again.\n"
    )
    try:
        send_mail(
            f"Webhook subscription suspended: {subscription.notification_url}"[:200],
            body,
            None,
            [subscription.owner.email],
        )
    except Exception:  # the suspension stands; only the mail is lost
        log.exception("Could not mail the owner of suspended subscription %s", subscription_id)


def _chunks(ids: list[int], size: int = 500):
    for start in range(0, len(ids), size):
        yield ids[start : start + size]


# -- The sweep ------------------------------------------------------------------------------


def api_notifications_sweep(now: datetime.datetime | None = None) -> dict:
    """Find what is due (retries, what a lost task left), delete expired webhook
    subscriptions and prune old notifications. Returns the subscriptions to deliver."""
    now = now or timezone.now()
    due = list(
        ApiNotification.objects.filter(
            status=PENDING,
            next_attempt_at__lte=now,
            subscription__status=ApiSubscription.Status.ACTIVE,
        )
        .values_list("subscription_id", flat=True)
        .distinct()
        .order_by("subscription_id")[:SWEEP_LIMIT]
    )
    expired = list(
        ApiSubscription.objects.filter(
            kind=ApiSubscription.Kind.WEBHOOK, expires_at__lte=now
        ).values_list("pk", flat=True)[:SWEEP_LIMIT]
    )
    if expired:
        with transaction.atomic():
            ApiNotification.objects.filter(subscription_id__in=expired).delete()
            ApiSubscription.objects.filter(pk__in=expired, expires_at__lte=now).delete()
    cutoff = now - datetime.timedelta(days=RETENTION_DAYS)
    old = list(
        ApiNotification.objects.filter(created_at__lt=cutoff)
        .exclude(status=PENDING)
        .order_by("pk")
        .values_list("pk", flat=True)[:PRUNE_BATCH]
    )
    if old:
        ApiNotification.objects.filter(pk__in=old).delete()
    return {
        "due": [pk for pk in due if pk not in expired],
        "expired": len(expired),
        "pruned": len(old),
    }
