"""What the tests of webhooks and business events share: a real HTTP receiver (pytest-httpserver),
API clients that authenticate with personal tokens, and the listeners switched on.

Import the fixtures into a test module with ``from tests.api.webhook_fixtures import *``.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field

import pytest
from rest_framework.test import APIClient
from werkzeug import Request, Response

from bcsite.api.auth import new_token_key, token_hash
from bcsite.api.signing import SIGNATURE_HEADER, TIMESTAMP_HEADER, verify
from bcsite.api.webhook_events import connect
from bcsite.celery import app
from bcsite.models import ApiToken

__all__ = [
    "Receiver",
    "api_client_for",
    "receiver",
    "sales_api",
    "webhooks_on",
]

ALLOWED = ["127.0.0.1/32"]


@dataclass
class Delivery:
    headers: dict
    body: bytes
    received_at: float  # time.monotonic()

    @property
    def values(self) -> list[dict]:
        return json.loads(self.body)["value"]

    def signed_by(self, secret: str) -> bool:
        return verify(
            secret,
            timestamp=self.headers.get(TIMESTAMP_HEADER, ""),
            signature_header=self.headers.get(SIGNATURE_HEADER, ""),
            body=self.body,
        )


@dataclass
class Receiver:
    """A subscriber's endpoint: echoes validation tokens and keeps the notifications.

    ``mode``: "ok" (200), "fail" (500 to notifications), "no-echo" (200 to the handshake
    without the token), "slow" (answers after ``delay`` seconds)."""

    url: str
    mode: str = "ok"
    delay: float = 0.0
    validations: list[str] = field(default_factory=list)
    deliveries: list[Delivery] = field(default_factory=list)
    attempts: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def handle(self, request: Request) -> Response:
        if self.mode == "slow":
            time.sleep(self.delay)
        token = request.args.get("validationToken")
        if token is not None:
            self.validations.append(token)
            if self.mode == "no-echo":
                return Response("hello", status=200)
            return Response(token, status=200, content_type="text/plain")
        with self.lock:
            self.attempts += 1
        if self.mode == "fail":
            return Response("down for maintenance", status=500)
        self.deliveries.append(
            Delivery(dict(request.headers), request.get_data(), time.monotonic())
        )
        return Response("", status=202)

    def values(self) -> list[dict]:
        return [value for delivery in self.deliveries for value in delivery.values]

    def wait_for(self, count: int = 1, timeout: float = 10.0) -> list[Delivery]:
        deadline = time.monotonic() + timeout
        while len(self.deliveries) < count:
            if time.monotonic() > deadline:
                pytest.fail(f"Expected {count} deliveries, got {len(self.deliveries)}.")
            time.sleep(0.01)
        return self.deliveries


@pytest.fixture
def receiver(httpserver) -> Receiver:
    found = Receiver(url=f"http://127.0.0.1:{httpserver.port}/hook")
    httpserver.expect_request("/hook", method="POST").respond_with_handler(found.handle)
    return found


@pytest.fixture
def webhooks_on(settings):
    """Listeners connected, the local receiver allowed, Celery eager (unit tests)."""
    connect()
    settings.API_WEBHOOK_ALLOWED_NETWORKS = ALLOWED
    settings.API_WEBHOOK_BATCH_SECONDS = 0.5
    previous = (app.conf.task_always_eager, app.conf.task_eager_propagates)
    app.conf.task_always_eager = app.conf.task_eager_propagates = True
    yield
    app.conf.task_always_eager, app.conf.task_eager_propagates = previous


def api_client_for(user, company) -> APIClient:
    key = new_token_key()
    ApiToken.objects.create(
        user=user, company=company, name="tests", prefix=key[:12], key_hash=token_hash(key)
    )
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    return client


@pytest.fixture
def sales_api(sales, company) -> APIClient:
    return api_client_for(sales, company)
