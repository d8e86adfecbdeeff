"""Webhook subscriptions (``/api/v2.0/subscriptions``) and business event definitions and
subscriptions (``/api/microsoft/runtime/v1.0/...``), shaped as Business Central's.

A caller sees and changes only the subscriptions it owns, and, with a personal token or a
service client, only those of the token's company. Extension fields beyond BC's:
``signingSecret`` (returned once, on create), ``status``, ``lastError``, ``failingSince``
and ``suspendedAt``.
"""

from __future__ import annotations

import base64
import uuid

from django.core.exceptions import ValidationError
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound, ParseError
from rest_framework.response import Response
from rest_framework.views import APIView

from bcsite.api.access import api_companies, api_company
from bcsite.api.delivery import iso_z
from bcsite.api.errors import error_response
from bcsite.api.resources import TextJSONParser
from bcsite.api.subscription_services import (
    APP_ID,
    api_subscription_delete,
    api_subscription_renew,
    business_event,
    business_event_subscription_create,
    parse_resource,
    webhook_subscription_create,
)
from bcsite.events import events
from bcsite.models import ApiSubscription
from records.models import Company

WEBHOOK = ApiSubscription.Kind.WEBHOOK
BUSINESS_EVENT = ApiSubscription.Kind.BUSINESS_EVENT
# Fields a client may send back as it got them (BC clients PATCH the whole object).
READ_ONLY = {
    "@odata.etag",
    "@odata.context",
    "subscriptionId",
    "id",
    "userId",
    "lastModifiedDateTime",
    "expirationDateTime",
    "systemCreatedAt",
    "systemCreatedBy",
    "systemModifiedAt",
    "systemModifiedBy",
    "status",
    "lastError",
    "failingSince",
    "suspendedAt",
    "companyName",
    "companyId",
    "eventName",
    "appId",
    "eventVersion",
    "resource",
}


# -- Access ---------------------------------------------------------------------------------


def _reachable_company(request, key: str) -> Company | None:
    """The company ``key`` names (id or name), if the caller may reach it."""
    try:
        return api_company(request, key)
    except NotFound:
        return None


def _own_subscriptions(request, kind: str):
    """The caller's subscriptions in the companies it may reach now."""
    return ApiSubscription.objects.filter(
        owner=request.user, kind=kind, company__in=api_companies(request)
    ).select_related("company", "owner")


def _get_subscription_for_user(request, key: str, kind: str) -> ApiSubscription:
    try:
        subscription_id = uuid.UUID(str(key).strip().strip("'"))
    except ValueError:
        raise NotFound(f"There is no subscription with the id {key}.") from None
    subscription = _own_subscriptions(request, kind).filter(subscription_id=subscription_id).first()
    if subscription is None:
        raise NotFound(f"There is no subscription with the id {key}.")
    return subscription


# -- Shapes ---------------------------------------------------------------------------------


def etag(subscription: ApiSubscription) -> str:
    stamp = f"{subscription.pk};{subscription.last_modified.isoformat()}"
    return f'W/"{base64.b64encode(stamp.encode()).decode()}"'


def _health(subscription: ApiSubscription) -> dict:
    return {
        "status": subscription.status,
        "lastError": subscription.last_error,
        "failingSince": iso_z(subscription.failing_since) if subscription.failing_since else None,
        "suspendedAt": iso_z(subscription.suspended_at) if subscription.suspended_at else None,
    }


def webhook_data(subscription: ApiSubscription, *, secret: str | None = None) -> dict:
    data = {
        "@odata.etag": etag(subscription),
        "subscriptionId": subscription.subscription_id.hex,
        "notificationUrl": subscription.notification_url,
        "resource": subscription.resource,
        "userId": str(subscription.owner_id),
        "lastModifiedDateTime": iso_z(subscription.last_modified),
        "clientState": subscription.client_state,
        "expirationDateTime": iso_z(subscription.expires_at) if subscription.expires_at else None,
        "systemCreatedAt": iso_z(subscription.created_at),
        "systemCreatedBy": str(subscription.owner_id),
        "systemModifiedAt": iso_z(subscription.last_modified),
        "systemModifiedBy": str(subscription.owner_id),
        **_health(subscription),
    }
    if secret is not None:
        data["signingSecret"] = secret
    return data


def event_subscription_data(subscription: ApiSubscription, *, secret: str | None = None) -> dict:
    event = events.business_events.get(subscription.event_name)
    data = {
        "@odata.etag": etag(subscription),
        "id": str(subscription.subscription_id),
        "companyId": str(subscription.company.system_id),
        "companyName": subscription.company.name,
        "appId": subscription.app_id,
        "eventName": subscription.event_name,
        "eventVersion": event.version if event else "",
        "notificationUrl": subscription.notification_url,
        "clientState": subscription.client_state,
        "userId": str(subscription.owner_id),
        "lastModifiedDateTime": iso_z(subscription.last_modified),
        "systemCreatedAt": iso_z(subscription.created_at),
        **_health(subscription),
    }
    if secret is not None:
        data["signingSecret"] = secret
    return data


def definition_data(event) -> dict:
    return {
        "appId": APP_ID,
        "name": event.key,
        "eventVersion": event.version,
        "displayName": event.name,
        "description": event.description,
        "category": event.category,
        "payload": {
            "type": "object",
            "properties": {
                f.name: {"type": f.type, "description": f.description} for f in event.payload
            },
        },
    }


def _collection(request, entity_set: str, values: list[dict]) -> Response:
    context = request.build_absolute_uri(f"/api/v2.0/$metadata#{entity_set}")
    return Response({"@odata.context": context, "value": values})


# -- Request bodies --------------------------------------------------------------------------


def _body(request, *, allowed: set[str]) -> dict:
    data = request.data
    if not isinstance(data, dict):
        raise ParseError("The request body must be a JSON object.")
    unknown = sorted(set(data) - allowed - READ_ONLY)
    if unknown:
        raise ValidationError(
            f"Unknown properties: {', '.join(unknown)}. "
            f"The properties that can be set are: {', '.join(sorted(allowed))}."
        )
    for name in allowed:
        value = data.get(name)
        if value is not None and not isinstance(value, str):
            raise ValidationError({name: ["Must be a string."]})
    return data


def _required(data: dict, name: str) -> str:
    value = (data.get(name) or "").strip()
    if not value:
        raise ValidationError({name: ["This property is required."]})
    return value


def _if_match_refusal(request, subscription: ApiSubscription) -> Response | None:
    """412 when If-Match names another version of the subscription (``*`` matches any)."""
    header = request.headers.get("If-Match")
    if not header:
        return None
    tags = [tag.strip() for tag in header.split(",")]
    if "*" in tags or etag(subscription) in tags:
        return None
    return error_response(
        "Request_EntityChanged",
        "Another user has changed the subscription since you read it (If-Match does not "
        "match its @odata.etag). Read it again and retry.",
        status.HTTP_412_PRECONDITION_FAILED,
    )


# -- Schemas (for the OpenAPI document) ---------------------------------------------------------


def _renew(request, key: str, kind: str, fixed: tuple[str, str, str], data) -> Response:
    """PATCH: renew the subscription (the handshake again, a new expiry), maybe with a new
    URL or client state. ``fixed`` (API name, attribute, what it is) cannot change."""
    subscription = _get_subscription_for_user(request, key, kind)
    refusal = _if_match_refusal(request, subscription)
    if refusal is not None:
        return refusal
    body = _body(request, allowed={"notificationUrl", "clientState"})
    name, attribute, what = fixed
    if body.get(name) not in (None, getattr(subscription, attribute)):
        raise ValidationError(
            {name: [f"The {what} of a subscription cannot change; create another."]}
        )
    subscription = api_subscription_renew(
        subscription=subscription,
        notification_url=body.get("notificationUrl"),
        client_state=body.get("clientState"),
    )
    return Response(data(subscription))


def _delete(request, key: str, kind: str) -> Response:
    subscription = _get_subscription_for_user(request, key, kind)
    refusal = _if_match_refusal(request, subscription)
    if refusal is not None:
        return refusal
    api_subscription_delete(subscription=subscription)
    return Response(status=status.HTTP_204_NO_CONTENT)


_ERROR = inline_serializer(
    "SubscriptionError",
    fields={
        "error": inline_serializer(
            "SubscriptionErrorDetail",
            fields={"code": serializers.CharField(), "message": serializers.CharField()},
        )
    },
)
_HEALTH = {
    "status": serializers.CharField(help_text="active, or suspended after failing deliveries"),
    "lastError": serializers.CharField(),
    "failingSince": serializers.DateTimeField(allow_null=True),
    "suspendedAt": serializers.DateTimeField(allow_null=True),
}
_WEBHOOK = inline_serializer(
    "WebhookSubscription",
    fields={
        "@odata.etag": serializers.CharField(),
        "subscriptionId": serializers.CharField(),
        "notificationUrl": serializers.CharField(),
        "resource": serializers.CharField(),
        "userId": serializers.CharField(),
        "lastModifiedDateTime": serializers.DateTimeField(),
        "clientState": serializers.CharField(),
        "expirationDateTime": serializers.DateTimeField(allow_null=True),
        "systemCreatedAt": serializers.DateTimeField(),
        "systemCreatedBy": serializers.CharField(),
        "systemModifiedAt": serializers.DateTimeField(),
        "systemModifiedBy": serializers.CharField(),
        "signingSecret": serializers.CharField(required=False),
        **_HEALTH,
    },
)
_WEBHOOK_IN = inline_serializer(
    "WebhookSubscriptionRequest",
    fields={
        "notificationUrl": serializers.CharField(),
        "resource": serializers.CharField(),
        "clientState": serializers.CharField(required=False),
    },
)
_RENEW_IN = inline_serializer(
    "SubscriptionRenewal",
    fields={
        "notificationUrl": serializers.CharField(required=False),
        "clientState": serializers.CharField(required=False),
    },
)
_EVENT_SUBSCRIPTION = inline_serializer(
    "ExternalEventSubscription",
    fields={
        "@odata.etag": serializers.CharField(),
        "id": serializers.UUIDField(),
        "companyId": serializers.UUIDField(),
        "companyName": serializers.CharField(),
        "appId": serializers.CharField(),
        "eventName": serializers.CharField(),
        "eventVersion": serializers.CharField(),
        "notificationUrl": serializers.CharField(),
        "clientState": serializers.CharField(),
        "userId": serializers.CharField(),
        "lastModifiedDateTime": serializers.DateTimeField(),
        "systemCreatedAt": serializers.DateTimeField(),
        "signingSecret": serializers.CharField(required=False),
        **_HEALTH,
    },
)
_EVENT_SUBSCRIPTION_IN = inline_serializer(
    "ExternalEventSubscriptionRequest",
    fields={
        "companyId": serializers.CharField(required=False),
        "companyName": serializers.CharField(required=False),
        "eventName": serializers.CharField(),
        "appId": serializers.CharField(required=False),
        "notificationUrl": serializers.CharField(),
        "clientState": serializers.CharField(required=False),
    },
)
_DEFINITION = inline_serializer(
    "ExternalBusinessEventDefinition",
    fields={
        "appId": serializers.CharField(),
        "name": serializers.CharField(),
        "eventVersion": serializers.CharField(),
        "displayName": serializers.CharField(),
        "description": serializers.CharField(),
        "category": serializers.CharField(),
        "payload": serializers.JSONField(),
    },
)


def _list_of(name: str, item) -> object:
    return inline_serializer(
        name,
        fields={"@odata.context": serializers.CharField(), "value": item.__class__(many=True)},
    )


_ERRORS = {code: _ERROR for code in (400, 401, 403, 404, 412, 415, 429)}
_KEY = OpenApiParameter("key", str, OpenApiParameter.PATH, description="The subscription's id.")


# -- Webhook subscriptions ---------------------------------------------------------------------


class _JsonView(APIView):
    # Bodies are JSON, as BC's: a form post is 415, not guessed at.
    parser_classes = [TextJSONParser]


class SubscriptionListView(_JsonView):
    @extend_schema(
        operation_id="subscriptions_list",
        responses={200: _list_of("WebhookSubscriptionList", _WEBHOOK), **_ERRORS},
    )
    def get(self, request):
        subscriptions = _own_subscriptions(request, WEBHOOK)
        return _collection(request, "subscriptions", [webhook_data(s) for s in subscriptions])

    @extend_schema(
        operation_id="subscriptions_create",
        request=_WEBHOOK_IN,
        responses={201: _WEBHOOK, **_ERRORS},
    )
    def post(self, request):
        data = _body(request, allowed={"notificationUrl", "resource", "clientState"})
        resource_text = _required(data, "resource")
        resource = parse_resource(resource_text)
        company = _reachable_company(request, resource.company_key)
        if company is None:
            raise ValidationError(
                {"resource": [f"There is no company {resource.company_key} you can reach."]}
            )
        subscription, secret = webhook_subscription_create(
            owner=request.user,
            company=company,
            table=resource.table,
            resource=resource_text,
            notification_url=_required(data, "notificationUrl"),
            client_state=data.get("clientState") or "",
        )
        return Response(webhook_data(subscription, secret=secret), status=status.HTTP_201_CREATED)


class SubscriptionDetailView(_JsonView):
    @extend_schema(
        operation_id="subscriptions_retrieve",
        parameters=[_KEY],
        responses={200: _WEBHOOK, **_ERRORS},
    )
    def get(self, request, key):
        return Response(webhook_data(_get_subscription_for_user(request, key, WEBHOOK)))

    @extend_schema(
        operation_id="subscriptions_renew",
        parameters=[_KEY],
        request=_RENEW_IN,
        responses={200: _WEBHOOK, **_ERRORS},
    )
    def patch(self, request, key):
        return _renew(request, key, WEBHOOK, ("resource", "resource", "resource"), webhook_data)

    @extend_schema(
        operation_id="subscriptions_destroy",
        parameters=[_KEY],
        responses={204: None, **_ERRORS},
    )
    def delete(self, request, key):
        return _delete(request, key, WEBHOOK)


# -- Business events ---------------------------------------------------------------------------


class BusinessEventDefinitionListView(_JsonView):
    @extend_schema(
        operation_id="externalbusinesseventdefinitions_list",
        responses={200: _list_of("ExternalBusinessEventDefinitionList", _DEFINITION), **_ERRORS},
    )
    def get(self, request):
        definitions = sorted(events.business_events.values(), key=lambda e: (e.category, e.key))
        return _collection(
            request, "externalbusinesseventdefinitions", [definition_data(e) for e in definitions]
        )


class EventSubscriptionListView(_JsonView):
    @extend_schema(
        operation_id="externaleventsubscriptions_list",
        responses={200: _list_of("ExternalEventSubscriptionList", _EVENT_SUBSCRIPTION), **_ERRORS},
    )
    def get(self, request):
        subscriptions = _own_subscriptions(request, BUSINESS_EVENT)
        return _collection(
            request,
            "externaleventsubscriptions",
            [event_subscription_data(s) for s in subscriptions],
        )

    @extend_schema(
        operation_id="externaleventsubscriptions_create",
        request=_EVENT_SUBSCRIPTION_IN,
        responses={201: _EVENT_SUBSCRIPTION, **_ERRORS},
    )
    def post(self, request):
        data = _body(
            request,
            allowed={
                "companyId",
                "companyName",
                "eventName",
                "appId",
                "notificationUrl",
                "clientState",
            },
        )
        company = _event_company(request, data)
        event = business_event(_required(data, "eventName"))
        if event is None:
            names = ", ".join(sorted(events.business_events))
            raise ValidationError(
                {
                    "eventName": [
                        f"{data['eventName']} is not a business event. The events: {names}."
                    ]
                }
            )
        app_id = (data.get("appId") or "").strip().strip("{}")
        if app_id and app_id.casefold() != APP_ID.casefold():
            raise ValidationError(
                {"appId": [f"The event {event.key} is declared by the app {APP_ID}, not {app_id}."]}
            )
        subscription, secret = business_event_subscription_create(
            owner=request.user,
            company=company,
            event=event,
            notification_url=_required(data, "notificationUrl"),
            client_state=data.get("clientState") or "",
        )
        return Response(
            event_subscription_data(subscription, secret=secret), status=status.HTTP_201_CREATED
        )


def _event_company(request, data: dict) -> Company:
    """The company the body names by id or name (both: they must agree), if reachable."""
    company_id = (data.get("companyId") or "").strip()
    company_name = (data.get("companyName") or "").strip()
    if not company_id and not company_name:
        raise ValidationError({"companyId": ["Give the companyId (or the companyName)."]})
    if company_id:
        company = _reachable_company(request, company_id)
        if company is None:
            raise ValidationError(
                {"companyId": [f"There is no company {company_id} you can reach."]}
            )
        if company_name and company_name != company.name:
            raise ValidationError(
                {
                    "companyName": [
                        f"The company {company_id} is {company.name}, not {company_name}."
                    ]
                }
            )
        return company
    company = _reachable_company(request, "'" + company_name.replace("'", "''") + "'")
    if company is None:
        raise ValidationError(
            {"companyName": [f"There is no company {company_name} you can reach."]}
        )
    return company


class EventSubscriptionDetailView(_JsonView):
    @extend_schema(
        operation_id="externaleventsubscriptions_retrieve",
        parameters=[_KEY],
        responses={200: _EVENT_SUBSCRIPTION, **_ERRORS},
    )
    def get(self, request, key):
        subscription = _get_subscription_for_user(request, key, BUSINESS_EVENT)
        return Response(event_subscription_data(subscription))

    @extend_schema(
        operation_id="externaleventsubscriptions_update",
        parameters=[_KEY],
        request=_RENEW_IN,
        responses={200: _EVENT_SUBSCRIPTION, **_ERRORS},
    )
    def patch(self, request, key):
        fixed = ("eventName", "event_name", "event")
        return _renew(request, key, BUSINESS_EVENT, fixed, event_subscription_data)

    @extend_schema(
        operation_id="externaleventsubscriptions_destroy",
        parameters=[_KEY],
        responses={204: None, **_ERRORS},
    )
    def delete(self, request, key):
        return _delete(request, key, BUSINESS_EVENT)
