"""Notifications of webhook subscriptions: written with the change, batched, signed, retried
with backoff, suspended after the retry period; never sent for a change that rolled back.

Celery runs eagerly here (the delivery runs when the change commits); tests that need the
batch window to pass call the delivery service themselves. tests/integration/test_webhooks.py
runs the same path on a real worker.
"""

import datetime
import json

import pytest
from django.core import mail
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from bcsite.api import delivery
from bcsite.api.delivery import api_notifications_sweep, api_subscription_deliver, backoff
from bcsite.api.signing import SIGNATURE_HEADER, TIMESTAMP_HEADER, signature
from bcsite.models import ApiNotification, ApiSubscription
from bcsite.registry import registry
from records import services
from records.models import Customer, Membership
from tests.api.webhook_fixtures import *  # noqa: F403 (fixtures)
from tests.factories import CustomerFactory, ItemFactory

pytestmark = pytest.mark.usefixtures("webhooks_on")

CARD = registry.pages["customer_card"]


@pytest.fixture
def subscription(sales_api, company, receiver):
    response = sales_api.post(
        "/api/v2.0/subscriptions",
        {
            "notificationUrl": receiver.url,
            "resource": f"api/v2.0/companies({company.system_id})/customers",
            "clientState": "state-42",
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    return ApiSubscription.objects.get(subscription_id=response.json()["subscriptionId"])


def committed(django_capture_on_commit_callbacks, change):
    """Run ``change`` and what its transaction does on commit (the delivery, eagerly)."""
    with django_capture_on_commit_callbacks(execute=True):
        return change()


def later(seconds: float) -> datetime.datetime:
    return timezone.now() + datetime.timedelta(seconds=seconds)


# -- What is sent -----------------------------------------------------------------------------


def test_created_updated_deleted_each_notify_in_bcs_shape(
    subscription, receiver, company, sales, django_capture_on_commit_callbacks
):
    customer = committed(
        django_capture_on_commit_callbacks,
        lambda: services.customer_create(company=company, user=sales, name="Fabrikam"),
    )
    committed(
        django_capture_on_commit_callbacks,
        lambda: services.customer_update(customer=customer, user=sales, city="Miami"),
    )
    committed(
        django_capture_on_commit_callbacks,
        lambda: services.customer_delete(customer=customer, user=sales),
    )

    values = receiver.values()
    assert [v["changeType"] for v in values] == ["created", "updated", "deleted"]
    entity = f"api/v2.0/companies({company.system_id})/customers({customer.system_id})"
    for value in values:
        assert value["subscriptionId"] == subscription.subscription_id.hex
        assert value["clientState"] == "state-42"
        assert value["resource"] == entity
        assert value["expirationDateTime"].endswith("Z")
        assert value["lastModifiedDateTime"].endswith("Z")
        assert set(value) == {
            "subscriptionId",
            "clientState",
            "expirationDateTime",
            "resource",
            "changeType",
            "lastModifiedDateTime",
        }
    assert set(ApiNotification.objects.values_list("status", flat=True)) == {"delivered"}


def test_the_signature_is_an_hmac_of_timestamp_and_body(
    subscription, receiver, company, sales, django_capture_on_commit_callbacks
):
    committed(
        django_capture_on_commit_callbacks,
        lambda: services.customer_create(company=company, user=sales, name="Fabrikam"),
    )

    [delivered] = receiver.deliveries
    timestamp = delivered.headers[TIMESTAMP_HEADER]
    assert abs(int(timestamp) - timezone.now().timestamp()) < 10
    assert delivered.headers[SIGNATURE_HEADER] == signature(
        subscription.signing_secret, timestamp, delivered.body
    )
    assert delivered.headers["Content-Type"].startswith("application/json")
    assert delivered.signed_by(subscription.signing_secret)
    assert not delivered.signed_by("another secret")
    tampered = delivered.body.replace(b"created", b"deleted")
    assert (
        signature(subscription.signing_secret, timestamp, tampered)
        != (delivered.headers[SIGNATURE_HEADER])
    )


@pytest.mark.django_db(transaction=True)
def test_a_change_on_the_customer_card_notifies(
    subscription, receiver, company, sales, sales_client
):
    customer = CustomerFactory(company=company, name="Adatum", city="Atlanta")
    receiver.deliveries.clear()  # the factory's "created" (it committed: delivered eagerly)

    response = sales_client.post(
        CARD.edit_url(customer), {"name": "Adatum", "city": "Miami", "credit_limit": "0"}
    )

    assert response.status_code == 302
    [value] = receiver.values()
    assert value["changeType"] == "updated"
    assert value["resource"].endswith(f"/customers({customer.system_id})")


def test_other_tables_and_companies_are_not_notified(
    subscription, receiver, company, other_company, django_capture_on_commit_callbacks
):
    committed(django_capture_on_commit_callbacks, lambda: ItemFactory(company=company))
    committed(django_capture_on_commit_callbacks, lambda: CustomerFactory(company=other_company))

    assert receiver.deliveries == []
    assert not ApiNotification.objects.exists()


def test_a_suspended_subscription_is_not_notified(
    subscription, receiver, company, django_capture_on_commit_callbacks
):
    ApiSubscription.objects.update(status=ApiSubscription.Status.SUSPENDED)

    committed(django_capture_on_commit_callbacks, lambda: CustomerFactory(company=company))

    assert receiver.deliveries == []
    assert not ApiNotification.objects.exists()


def test_an_expired_subscription_is_not_notified_and_is_cleaned_up(
    subscription, receiver, company, django_capture_on_commit_callbacks
):
    ApiSubscription.objects.update(expires_at=timezone.now() - datetime.timedelta(seconds=1))

    committed(django_capture_on_commit_callbacks, lambda: CustomerFactory(company=company))

    assert receiver.deliveries == [] and not ApiNotification.objects.exists()
    assert api_notifications_sweep()["expired"] == 1
    assert not ApiSubscription.objects.exists()


def test_a_rolled_back_change_sends_nothing(subscription, receiver, company, sales):
    with pytest.raises(RuntimeError), transaction.atomic():
        services.customer_create(company=company, user=sales, name="Never")
        assert ApiNotification.objects.count() == 1  # written with the change...
        raise RuntimeError("the change fails later")

    assert not ApiNotification.objects.exists()  # ...and gone with it
    assert api_notifications_sweep()["due"] == []
    assert receiver.deliveries == []


@pytest.mark.django_db(transaction=True)
def test_subscriptions_are_read_once_per_transaction(subscription, company, sales):
    customers = [CustomerFactory(company=company) for _ in range(5)]
    items = [ItemFactory(company=company) for _ in range(2)]

    def reads_in_one_transaction(city):
        with CaptureQueriesContext(connection) as queries, transaction.atomic():
            for customer in customers:
                services.customer_update(customer=customer, user=sales, city=city)
            for item in items:
                services.item_update(item=item, user=sales, description=f"Bike {city}")
        # The listener's reads (the deliveries after the commit read by id).
        return [
            q["sql"]
            for q in queries.captured_queries
            if '"bcsite_apisubscription"."expires_at" IS NULL' in q["sql"]
        ]

    assert len(reads_in_one_transaction("Paris")) == 1
    assert len(reads_in_one_transaction("Rome")) == 1  # a new transaction reads again
    assert ApiNotification.objects.filter(payload__changeType="updated").count() == 10


def test_no_query_for_subscriptions_of_a_table_without_an_entity_set(company):
    from bcsite.api.webhook_events import _wants_records
    from bcsite.registry import Table

    table = Table(id=99999, name="Ledger", model=Customer)  # no entity set: no API resource

    with CaptureQueriesContext(connection) as queries:
        assert _wants_records(table, company.pk) is False
    assert queries.captured_queries == []


# -- Batching ---------------------------------------------------------------------------------


def test_changes_within_the_window_go_out_in_one_request(subscription, receiver, company, sales):
    # Three transactions inside the window; their deliveries have not run yet.
    for name in ("A", "B", "C"):
        services.customer_create(company=company, user=sales, name=name)
    assert receiver.deliveries == []

    delivered = api_subscription_deliver(subscription_id=subscription.pk, now=later(1))

    assert delivered == 3
    [request] = receiver.deliveries
    assert [v["changeType"] for v in request.values] == ["created"] * 3
    # The deliveries queued by the other two transactions find nothing left to send.
    assert api_subscription_deliver(subscription_id=subscription.pk, now=later(1)) == 0
    assert len(receiver.deliveries) == 1


def test_more_than_1000_changes_become_one_collection_notification(
    subscription, receiver, company, monkeypatch
):
    monkeypatch.setattr(delivery, "COLLECTION_THRESHOLD", 3)
    for _ in range(4):
        CustomerFactory(company=company)

    api_subscription_deliver(subscription_id=subscription.pk, now=later(1))

    [request] = receiver.deliveries
    [value] = request.values
    assert value["changeType"] == "collection"
    assert value["resource"] == f"api/v2.0/companies({company.system_id})/customers"
    first = ApiNotification.objects.order_by("pk").first()
    assert value["lastModifiedDateTime"] == first.payload["lastModifiedDateTime"]
    assert ApiNotification.objects.filter(status="delivered").count() == 4


def test_renewal_moves_expiry_and_client_state_in_notifications_still_waiting(
    subscription, receiver, company, sales
):
    CustomerFactory(company=company)
    ApiSubscription.objects.filter(pk=subscription.pk).update(client_state="renewed")

    api_subscription_deliver(subscription_id=subscription.pk, now=later(1))

    assert receiver.values()[0]["clientState"] == "renewed"


# -- Retries and suspension ---------------------------------------------------------------------


def test_failures_are_retried_with_exponential_backoff_then_delivered(
    subscription, receiver, company
):
    receiver.mode = "fail"
    CustomerFactory(company=company)
    start = timezone.now()

    assert api_subscription_deliver(subscription_id=subscription.pk, now=start) == 0
    notification = ApiNotification.objects.get()
    assert (notification.status, notification.attempts) == ("pending", 1)
    assert notification.next_attempt_at == start + datetime.timedelta(seconds=10)
    assert "answered 500" in notification.last_error
    subscription.refresh_from_db()
    assert subscription.failing_since == start and "answered 500" in subscription.last_error

    # Not due before its time: nothing is sent.
    assert api_subscription_deliver(subscription_id=subscription.pk, now=later(5)) == 0
    assert receiver.attempts == 1
    # The sweep finds it once due, and each failure doubles the wait.
    second = start + datetime.timedelta(seconds=11)
    assert api_notifications_sweep(second)["due"] == [subscription.pk]
    api_subscription_deliver(subscription_id=subscription.pk, now=second)
    notification.refresh_from_db()
    assert notification.attempts == 2
    assert notification.next_attempt_at == second + datetime.timedelta(seconds=20)

    receiver.mode = "ok"
    third = second + datetime.timedelta(seconds=21)
    assert api_subscription_deliver(subscription_id=subscription.pk, now=third) == 1
    notification.refresh_from_db()
    assert (notification.status, notification.attempts) == ("delivered", 3)
    subscription.refresh_from_db()
    assert (subscription.failing_since, subscription.last_error) == (None, "")
    assert receiver.attempts == 3 and len(receiver.deliveries) == 1


def test_new_changes_wait_for_the_backoff_of_a_failing_subscription(
    subscription, receiver, company
):
    receiver.mode = "fail"
    CustomerFactory(company=company)
    start = timezone.now()
    api_subscription_deliver(subscription_id=subscription.pk, now=start)
    CustomerFactory(company=company)

    # The new change's own delivery does not hammer the failing endpoint.
    api_subscription_deliver(
        subscription_id=subscription.pk, now=start + datetime.timedelta(seconds=2)
    )
    assert receiver.attempts == 1

    receiver.mode = "ok"
    api_subscription_deliver(
        subscription_id=subscription.pk, now=start + datetime.timedelta(seconds=11)
    )
    [request] = receiver.deliveries
    assert len(request.values) == 2


def test_backoff_doubles_from_10_seconds_up_to_an_hour():
    assert [backoff(n).total_seconds() for n in (1, 2, 3, 4)] == [10, 20, 40, 80]
    assert backoff(9).total_seconds() == 2560
    assert backoff(10).total_seconds() == backoff(500).total_seconds() == 3600


def test_timeouts_and_refused_connections_are_failures_too(
    subscription, receiver, company, settings
):
    settings.API_WEBHOOK_TIMEOUT_SECONDS = 0.3
    receiver.mode, receiver.delay = "slow", 1.0
    CustomerFactory(company=company)

    api_subscription_deliver(subscription_id=subscription.pk, now=later(1))

    assert "did not answer within 0.3 seconds" in ApiNotification.objects.get().last_error
    ApiSubscription.objects.update(notification_url="http://127.0.0.1:9/closed")
    api_subscription_deliver(subscription_id=subscription.pk, now=later(3600))
    assert "Could not connect" in ApiNotification.objects.get().last_error


def test_after_the_retry_period_the_subscription_is_suspended_and_its_owner_mailed(
    subscription, receiver, company, sales, settings, django_capture_on_commit_callbacks
):
    settings.API_WEBHOOK_RETRY_HOURS = 1
    receiver.mode = "fail"
    CustomerFactory(company=company)
    CustomerFactory(company=company)
    start = timezone.now()
    api_subscription_deliver(subscription_id=subscription.pk, now=start)
    assert ApiSubscription.objects.get().status == "active"

    with django_capture_on_commit_callbacks(execute=True):
        api_subscription_deliver(
            subscription_id=subscription.pk, now=start + datetime.timedelta(hours=1, seconds=1)
        )

    subscription.refresh_from_db()
    assert subscription.status == "suspended"  # suspended, not deleted
    assert subscription.suspended_at is not None
    assert "failed for 1 hours" in subscription.last_error
    dropped = ApiNotification.objects.all()
    assert {n.status for n in dropped} == {"dropped"}
    assert all("suspended" in n.last_error for n in dropped)
    [message] = mail.outbox
    assert message.to == [sales.email]
    assert receiver.url in message.subject
    assert "renew it" in message.body
    # A suspended subscription gets nothing more.
    assert api_subscription_deliver(subscription_id=subscription.pk, now=later(7200)) == 0
    assert receiver.attempts == 2


def test_a_subscription_whose_owner_left_the_company_is_suspended(
    subscription, receiver, company, sales
):
    CustomerFactory(company=company)
    Membership.objects.filter(user=sales).delete()

    api_subscription_deliver(subscription_id=subscription.pk, now=later(1))

    subscription.refresh_from_db()
    assert subscription.status == "suspended"
    assert "no longer works in CRONUS" in subscription.last_error
    assert receiver.attempts == 0


def test_the_sweep_sends_what_a_lost_task_left_pending(subscription, receiver, company):
    from bcsite.api.tasks import api_notifications_sweep_task

    CustomerFactory(company=company)  # no commit hook runs here: as if the task were lost
    ApiNotification.objects.update(next_attempt_at=timezone.now())

    result = api_notifications_sweep_task()

    assert result["due"] == 1
    assert len(receiver.deliveries) == 1


def test_the_sweep_prunes_old_delivered_notifications(subscription, company):
    CustomerFactory(company=company)
    old = timezone.now() - datetime.timedelta(days=8)
    ApiNotification.objects.update(status="delivered", created_at=old)

    assert api_notifications_sweep()["pruned"] == 1
    assert not ApiNotification.objects.exists()


def test_a_batch_in_flight_is_not_sent_again_by_another_worker(subscription, receiver, company):
    CustomerFactory(company=company)
    now = later(1)
    batch = delivery._claim(subscription.pk, now)
    assert batch is not None and len(batch.ids) == 1

    # Another worker (or the sweep) while the first is still sending: nothing to claim.
    assert delivery._claim(subscription.pk, now) is None
    assert api_notifications_sweep(now)["due"] == []
    # Once the lease has run out (the first worker died), it is sent again.
    assert delivery._claim(subscription.pk, now + datetime.timedelta(minutes=5)) is not None


def test_the_payload_is_json_of_the_stored_row(subscription, company):
    customer = CustomerFactory(company=company)
    stored = ApiNotification.objects.get().payload
    assert json.loads(json.dumps(stored))["resource"].endswith(f"({customer.system_id})")
    assert Customer.objects.count() == 1
