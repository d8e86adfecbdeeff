"""Webhook and business event subscriptions: create, renew, delete, as BC does them.

Creating or renewing a subscription first proves that its notification URL wants the
notifications: we POST to it with ``?validationToken=<random>`` and it must answer 200 with
the token as the body (BC's handshake). Only then is the row written.
"""

from __future__ import annotations

import datetime
import json
import re
import secrets
import uuid
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from bcsite.api import webhook_net
from bcsite.api.signing import new_signing_secret
from bcsite.events import BusinessEvent, events
from bcsite.models import ApiNotification, ApiSubscription
from bcsite.registry import Table, registry
from records.models import Company

# BC: webhook subscriptions live three days unless renewed; 200 per environment.
WEBHOOK_LIFETIME = datetime.timedelta(days=3)
DEFAULT_MAX_SUBSCRIPTIONS = 200
DEFAULT_HANDSHAKE_SECONDS = 5
MAX_CLIENT_STATE = 2048
# The app that declares the business events of this product, as BC names an extension.
APP_ID = str(uuid.uuid5(uuid.NAMESPACE_URL, "https://bcsite.local/apps/base"))

_RESOURCE = re.compile(
    r"^(?:https?://[^/]+)?/?api/v2\.0/companies\((?P<company>[^)]*)\)/(?P<entity_set>[A-Za-z]+)/?$"
)


@dataclass(frozen=True)
class Resource:
    company_key: str
    table: Table


def parse_resource(resource: str) -> Resource:
    """The company and table a webhook resource names: ``api/v2.0/companies(<id>)/customers``."""
    text = (resource or "").strip()
    match = _RESOURCE.match(text)
    if match is None:
        raise ValidationError(
            {
                "resource": [
                    "The resource must name an entity set of a company, e.g. "
                    "api/v2.0/companies(<company id>)/customers."
                ]
            }
        )
    entity_set = match["entity_set"]
    table = next(
        (t for t in registry.tables.values() if t.entity_set and t.entity_set == entity_set),
        None,
    )
    if table is None:
        names = ", ".join(sorted(t.entity_set for t in registry.tables.values() if t.entity_set))
        raise ValidationError(
            {"resource": [f"{entity_set} is not an entity set that can be subscribed to: {names}."]}
        )
    return Resource(company_key=match["company"].strip(), table=table)


def business_event(name: str) -> BusinessEvent | None:
    return events.business_events.get(str(name or "").strip())


def is_expired(subscription: ApiSubscription, now: datetime.datetime | None = None) -> bool:
    return subscription.expires_at is not None and subscription.expires_at <= (
        now or timezone.now()
    )


# -- The handshake --------------------------------------------------------------------------


def handshake(notification_url: str) -> None:
    """BC's validation: POST ``?validationToken=<token>``; the answer must be 200 and the token.

    Raises ValidationError on ``notificationUrl`` with what went wrong."""
    token = secrets.token_urlsafe(24)
    separator = "&" if "?" in notification_url else "?"
    url = f"{notification_url.strip()}{separator}validationToken={token}"
    timeout = float(getattr(settings, "API_WEBHOOK_HANDSHAKE_SECONDS", DEFAULT_HANDSHAKE_SECONDS))
    try:
        answer = webhook_net.post(
            url,
            body=b"",
            headers={"Content-Type": "text/plain; charset=utf-8"},
            timeout=timeout,
        )
    except webhook_net.DeliveryError as error:
        raise ValidationError(
            {"notificationUrl": [f"The subscription could not be validated: {error}"]}
        ) from None
    if answer.status != 200:
        raise ValidationError(
            {
                "notificationUrl": [
                    f"The notification URL answered the validation request with "
                    f"{answer.status}; it must answer 200 with the validationToken as the body."
                ]
            }
        )
    if _echoed(answer.body) != token:
        raise ValidationError(
            {
                "notificationUrl": [
                    "The notification URL did not echo the validationToken it was sent; it must "
                    "answer the validation request with the token as the body."
                ]
            }
        )


def _echoed(body: bytes) -> str:
    text = body.decode("utf-8", "replace").strip()
    if text.startswith('"'):
        try:
            value = json.loads(text)
        except ValueError:
            return text
        return value if isinstance(value, str) else text
    return text


def _check_url(notification_url: str) -> str:
    url = (notification_url or "").strip()
    try:
        webhook_net.check_url(url)
    except webhook_net.DeliveryError as error:
        raise ValidationError({"notificationUrl": [str(error)]}) from None
    return url


def _check_client_state(client_state: str) -> str:
    if len(client_state or "") > MAX_CLIENT_STATE:
        raise ValidationError(
            {"clientState": [f"The clientState may be at most {MAX_CLIENT_STATE} characters."]}
        )
    return client_state or ""


def _check_room(company: Company, *, lock: bool) -> None:
    limit = int(getattr(settings, "API_WEBHOOK_MAX_SUBSCRIPTIONS", DEFAULT_MAX_SUBSCRIPTIONS))
    if lock:
        # One creation at a time per company, so two at once cannot both take the last place.
        Company.objects.select_for_update().filter(pk=company.pk).first()
    if ApiSubscription.objects.filter(company=company).count() >= limit:
        raise ValidationError(
            f"{company.name} already has {limit} subscriptions, the most it may have. "
            "Delete subscriptions that are no longer used."
        )


# -- Create, renew, delete -------------------------------------------------------------------


def webhook_subscription_create(
    *,
    owner,
    company: Company,
    table: Table,
    resource: str,
    notification_url: str,
    client_state: str = "",
) -> tuple[ApiSubscription, str]:
    """Subscribe ``notification_url`` to the changes of ``table`` in ``company``; returns the
    subscription and its signing secret (shown this once)."""
    url = _check_url(notification_url)
    client_state = _check_client_state(client_state)
    _check_room(company, lock=False)
    handshake(url)
    secret = new_signing_secret()
    with transaction.atomic():
        _check_room(company, lock=True)
        subscription = ApiSubscription.objects.create(
            kind=ApiSubscription.Kind.WEBHOOK,
            company=company,
            owner=owner,
            notification_url=url,
            client_state=client_state,
            resource=resource.strip(),
            table_id=table.id,
            signing_secret=secret,
            expires_at=timezone.now() + WEBHOOK_LIFETIME,
        )
    return subscription, secret


def business_event_subscription_create(
    *,
    owner,
    company: Company,
    event: BusinessEvent,
    notification_url: str,
    client_state: str = "",
) -> tuple[ApiSubscription, str]:
    """Subscribe ``notification_url`` to business event ``event`` in ``company``."""
    url = _check_url(notification_url)
    client_state = _check_client_state(client_state)
    _check_room(company, lock=False)
    handshake(url)
    secret = new_signing_secret()
    with transaction.atomic():
        _check_room(company, lock=True)
        subscription = ApiSubscription.objects.create(
            kind=ApiSubscription.Kind.BUSINESS_EVENT,
            company=company,
            owner=owner,
            notification_url=url,
            client_state=client_state,
            event_name=event.key,
            app_id=APP_ID,
            signing_secret=secret,
        )
    return subscription, secret


def api_subscription_renew(
    *,
    subscription: ApiSubscription,
    notification_url: str | None = None,
    client_state: str | None = None,
) -> ApiSubscription:
    """Validate the (new) notification URL again and, for a webhook, extend it three days from
    now. A suspended subscription that passes the handshake is active again."""
    url = _check_url(
        subscription.notification_url if notification_url is None else notification_url
    )
    if client_state is not None:
        _check_client_state(client_state)
    handshake(url)
    now = timezone.now()
    subscription.notification_url = url
    if client_state is not None:
        subscription.client_state = client_state
    if subscription.kind == ApiSubscription.Kind.WEBHOOK:
        subscription.expires_at = now + WEBHOOK_LIFETIME
    subscription.status = ApiSubscription.Status.ACTIVE
    subscription.failing_since = None
    subscription.suspended_at = None
    subscription.last_error = ""
    with transaction.atomic():
        subscription.save()
        # What waited out a backoff against the old URL or a failing endpoint goes now.
        subscription.notifications.filter(status=ApiNotification.Status.PENDING).update(
            next_attempt_at=now
        )
    return subscription


def api_subscription_delete(*, subscription: ApiSubscription) -> None:
    with transaction.atomic():
        ApiNotification.objects.filter(subscription=subscription).delete()
        subscription.delete()
