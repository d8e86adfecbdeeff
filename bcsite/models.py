"""The connector API's own rows: who calls it (personal tokens, service clients) and who
is told about changes (webhook and business event subscriptions, and their outbox)."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models

from records.models import Company, Membership


class ApiToken(models.Model):
    """A personal API token: acts as its user in one company. Only a hash is kept; the token
    itself is shown once, when it is created."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens"
    )
    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="+")
    name = models.CharField(max_length=100)
    # The first characters, to tell tokens apart in lists and logs.
    prefix = models.CharField(max_length=12)
    key_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}...)"


class ServiceClient(models.Model):
    """An OAuth2 client-credentials application (service to service), scoped to a company
    and a role. It acts as its own service user, so what it changes shows who did it."""

    application = models.OneToOneField(
        settings.OAUTH2_PROVIDER_APPLICATION_MODEL,
        on_delete=models.CASCADE,
        related_name="service_client",
    )
    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="+")
    role = models.CharField(
        max_length=10, choices=Membership.Role.choices, default=Membership.Role.USER
    )
    service_user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="service_client"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return str(self.application)


class ApiSubscription(models.Model):
    """A webhook subscription (``/api/v2.0/subscriptions``) or an external business event
    subscription (``externaleventsubscriptions``): where to send notifications, and its health."""

    class Kind(models.TextChoices):
        WEBHOOK = "webhook", "Webhook"
        BUSINESS_EVENT = "business_event", "Business event"

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        SUSPENDED = "suspended", "Suspended"

    subscription_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="+")
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_subscriptions"
    )
    notification_url = models.URLField(max_length=2000)
    client_state = models.CharField(max_length=2048, blank=True)
    # Webhooks: the resource path as given, and the table it names.
    resource = models.CharField(max_length=2000, blank=True)
    table_id = models.PositiveIntegerField(null=True, blank=True)
    # Business events: the event's name and the app that declares it.
    event_name = models.CharField(max_length=100, blank=True)
    app_id = models.CharField(max_length=100, blank=True)
    # Deliveries are signed with HMAC-SHA256 under this secret (shown once, on create).
    signing_secret = models.CharField(max_length=64)
    expires_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.ACTIVE)
    failing_since = models.DateTimeField(null=True, blank=True)
    suspended_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_modified = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["created_at", "pk"]
        indexes = [
            models.Index(fields=["company", "kind", "table_id", "status"]),
            models.Index(fields=["company", "kind", "event_name", "status"]),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.subscription_id}"


class ApiNotification(models.Model):
    """One change or event to tell a subscriber, written in the transaction that made it.

    Notifications of a subscription go out together, in one request, after a short
    window; a failed request is tried again with backoff until the subscription is suspended.
    """

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        DELIVERED = "delivered", "Delivered"
        DROPPED = "dropped", "Dropped"

    subscription = models.ForeignKey(
        ApiSubscription, on_delete=models.CASCADE, related_name="notifications"
    )
    payload = models.JSONField()
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING)
    created_at = models.DateTimeField(auto_now_add=True)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)

    class Meta:
        ordering = ["pk"]
        indexes = [
            models.Index(fields=["subscription", "status", "next_attempt_at"]),
            models.Index(fields=["status", "next_attempt_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.subscription_id}: {self.status}"


class AuditEntry(models.Model):
    """Who did what to what, with the values before and after: flows, their sharing, the
    Power Automate switches, approval decisions. Written in the change's transaction, so a
    change that rolls back leaves no entry; never edited afterwards."""

    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="+")
    at = models.DateTimeField(auto_now_add=True)
    # The user, and their name as it was: the entry outlives a renamed or deleted user.
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    actor_name = models.CharField(max_length=150, blank=True)
    # What kind of thing ("flow", "flow sharing", "power automate setup", "approval") and
    # what happened to it ("created", "changed", "turned on", "shared", "approved", ...).
    area = models.CharField(max_length=40)
    action = models.CharField(max_length=40)
    object_type = models.CharField(max_length=60, blank=True)
    object_id = models.CharField(max_length=64, blank=True)
    object_repr = models.CharField(max_length=250, blank=True)
    before = models.JSONField(default=dict, blank=True)
    after = models.JSONField(default=dict, blank=True)
    message = models.TextField(blank=True)

    class Meta:
        ordering = ["-at", "-pk"]
        indexes = [
            models.Index(fields=["company", "-at", "-id"], name="audit_company_idx"),
            models.Index(fields=["company", "area", "-at", "-id"], name="audit_area_idx"),
        ]
        verbose_name_plural = "audit entries"

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.actor_name} {self.action} {self.object_repr}"
