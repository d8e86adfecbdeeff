"""Webhooks end to end on a real Celery worker: a change on the customer card reaches a real
HTTP receiver, signed, within a second; changes in one window arrive in one request; a
failing endpoint gets its notifications once it recovers, through the sweep."""

import datetime
import time

import pytest
from django.utils import timezone

from bcsite.api.signing import SIGNATURE_HEADER, TIMESTAMP_HEADER, signature
from bcsite.api.tasks import api_notifications_sweep_task
from bcsite.api.webhook_events import connect
from bcsite.models import ApiNotification, ApiSubscription
from bcsite.registry import registry
from records import services
from tests.api.webhook_fixtures import ALLOWED, receiver, sales_api  # noqa: F401 (fixtures)
from tests.factories import CustomerFactory
from tests.workers import _delete_queue, database_url, routed_to, start_worker

pytestmark = [
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),
]

CARD = registry.pages["customer_card"]


@pytest.fixture(scope="module")
def webhook_worker(django_db_setup, django_db_blocker, tmp_path_factory):
    """A worker on the test database that knows the delivery tasks and may call 127.0.0.1."""
    from django.db import connection

    with django_db_blocker.unblock():
        url = database_url(connection.settings_dict)
    worker = start_worker(
        url,
        tmp_path_factory.mktemp("celery") / "worker.log",
        env={"API_WEBHOOK_ALLOWED_NETWORKS": "127.0.0.1/32"},
    )
    try:
        with routed_to(worker.queue):
            yield worker
    finally:
        worker.stop()
        _delete_queue(worker.queue)


@pytest.fixture(autouse=True)
def _webhooks(settings):
    connect()
    settings.API_WEBHOOK_ALLOWED_NETWORKS = ALLOWED
    settings.API_WEBHOOK_BATCH_SECONDS = 0.5


@pytest.fixture
def subscription(sales_api, company, receiver):  # noqa: F811
    response = sales_api.post(
        "/api/v2.0/subscriptions",
        {
            "notificationUrl": receiver.url,
            "resource": f"api/v2.0/companies({company.system_id})/customers",
            "clientState": "crm",
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    return response.json()


def test_a_change_on_the_customer_card_reaches_the_receiver_signed_within_a_second(
    webhook_worker,
    subscription,
    receiver,  # noqa: F811
    company,
    sales_client,
):
    customer = CustomerFactory(company=company, name="Adatum", city="Atlanta")
    receiver.wait_for(1)  # the factory's "created", delivered by the worker
    receiver.deliveries.clear()
    # The user opens the card to edit it (and the site is warm, as a running one is).
    assert sales_client.get(CARD.edit_url(customer)).status_code == 200

    started = time.monotonic()
    response = sales_client.post(
        CARD.edit_url(customer), {"name": "Adatum", "city": "Miami", "credit_limit": "0"}
    )
    responded = time.monotonic()
    assert response.status_code == 302

    [delivery] = receiver.wait_for(1)
    elapsed = delivery.received_at - started
    print(
        f"card POST -> receiver: {elapsed * 1000:.0f} ms; after the response: "
        f"{(delivery.received_at - responded) * 1000:.0f} ms (batch window 500 ms)"
    )
    # The figure is printed (about 0.6 s on a quiet machine); the bound only says it came
    # with its batch, not at the next sweep, so a loaded CI machine does not fail it.
    assert elapsed < 4.0
    [value] = delivery.values
    assert value["changeType"] == "updated"
    assert value["resource"].endswith(f"/customers({customer.system_id})")
    assert value["clientState"] == "crm"
    timestamp = delivery.headers[TIMESTAMP_HEADER]
    assert delivery.headers[SIGNATURE_HEADER] == signature(
        subscription["signingSecret"], timestamp, delivery.body
    )


def test_changes_in_one_window_arrive_in_one_request(
    webhook_worker,
    subscription,
    receiver,  # noqa: F811
    company,
    sales,
):
    for name in ("A", "B", "C"):
        services.customer_create(company=company, user=sales, name=name)

    receiver.wait_for(1)
    time.sleep(1.0)  # the other transactions' deliveries ran too, and found nothing
    [delivery] = receiver.deliveries
    assert [v["changeType"] for v in delivery.values] == ["created"] * 3
    assert ApiNotification.objects.filter(status="delivered").count() == 3


def test_a_failing_endpoint_gets_its_notifications_once_it_recovers(
    webhook_worker,
    subscription,
    receiver,  # noqa: F811
    company,
):
    receiver.mode = "fail"
    CustomerFactory(company=company)
    webhook_worker.wait_until(
        lambda: ApiNotification.objects.filter(attempts=1, last_error__contains="500").exists(),
        what="the first failed attempt",
    )
    assert ApiSubscription.objects.get().failing_since is not None

    receiver.mode = "ok"
    # Skip the 10 s backoff: the sweep then finds the retry due.
    ApiNotification.objects.update(next_attempt_at=timezone.now() - datetime.timedelta(seconds=1))
    api_notifications_sweep_task.delay()

    [delivery] = receiver.wait_for(1)
    assert delivery.values[0]["changeType"] == "created"
    notification = webhook_worker.wait_until(
        lambda: ApiNotification.objects.filter(status="delivered").first(),
        what="the notification to be recorded as delivered",
    )
    assert notification.attempts == 2
    assert ApiSubscription.objects.get().failing_since is None
