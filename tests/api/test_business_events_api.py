"""Business events for partners: the definitions, subscriptions (with the handshake), and
notifications in BC's shape, sent only after the change commits."""

import pytest
from django.db import transaction

from bcsite.api.subscription_services import APP_ID
from bcsite.events import events
from bcsite.models import ApiNotification, ApiSubscription
from records import services
from records.models import Customer
from tests.api.webhook_fixtures import *  # noqa: F403 (fixtures)
from tests.api.webhook_fixtures import api_client_for
from tests.factories import CustomerFactory

pytestmark = pytest.mark.usefixtures("webhooks_on")

RUNTIME = "/api/microsoft/runtime/v1.0"
DEFINITIONS = f"{RUNTIME}/externalbusinesseventdefinitions"
SUBSCRIPTIONS = f"{RUNTIME}/externaleventsubscriptions"


def error(response):
    return response.json()["error"]


def subscribe(client, company, receiver, **extra):
    body = {
        "companyId": str(company.system_id),
        "companyName": company.name,
        "eventName": "customerBlocked",
        "appId": APP_ID,
        "notificationUrl": receiver.url,
        "clientState": "partner-1",
        **extra,
    }
    return client.post(SUBSCRIPTIONS, body, format="json")


def test_definitions_list_the_catalogue(sales_api):
    response = sales_api.get(DEFINITIONS)

    assert response.status_code == 200
    definitions = {d["name"]: d for d in response.json()["value"]}
    assert set(definitions) == set(events.business_events)
    blocked = definitions["customerBlocked"]
    assert blocked["displayName"] == "Customer blocked"
    assert blocked["category"] == "Customers"
    assert blocked["appId"] == APP_ID
    assert blocked["eventVersion"] == "1.0"
    assert blocked["description"]
    assert blocked["payload"]["properties"]["customerNumber"]["type"] == "text"


def test_definitions_need_a_caller(company):
    from rest_framework.test import APIClient

    assert APIClient().get(DEFINITIONS).status_code == 401


def test_subscribe_with_a_handshake_and_read_it_back(sales_api, company, sales, receiver):
    response = subscribe(sales_api, company, receiver)

    assert response.status_code == 201, response.content
    data = response.json()
    assert len(receiver.validations) == 1
    assert data["eventName"] == "customerBlocked"
    assert data["companyId"] == str(company.system_id)
    assert data["companyName"] == company.name
    assert data["appId"] == APP_ID
    assert data["clientState"] == "partner-1"
    assert data["userId"] == str(sales.pk)
    assert len(data["signingSecret"]) == 64
    key = data["id"]
    got = sales_api.get(f"{SUBSCRIPTIONS}({key})").json()
    assert got["id"] == key and "signingSecret" not in got
    assert [s["id"] for s in sales_api.get(SUBSCRIPTIONS).json()["value"]] == [key]
    # Webhook subscriptions and event subscriptions are different collections.
    assert sales_api.get(f"/api/v2.0/subscriptions('{key}')").status_code == 404


def test_the_company_can_be_named_instead_of_given_by_id(sales_api, company, receiver):
    response = subscribe(sales_api, company, receiver, companyId=None)

    assert response.status_code == 201, response.content
    assert response.json()["companyId"] == str(company.system_id)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"eventName": "customerExploded"}, "customerExploded is not a business event"),
        ({"appId": "00000000-0000-0000-0000-000000000001"}, "is declared by the app"),
        ({"companyId": None, "companyName": None}, "Give the companyId"),
        ({"companyName": "SOMEONE ELSE"}, "not SOMEONE ELSE"),
        ({"companyId": "not-a-company", "companyName": None}, "no company not-a-company"),
        ({"notificationUrl": "gopher://x"}, "must start with https://"),
    ],
)
def test_bad_subscriptions_are_a_400(sales_api, company, receiver, extra, message):
    response = subscribe(sales_api, company, receiver, **extra)

    assert response.status_code == 400, response.content
    assert message in error(response)["message"]
    assert not ApiSubscription.objects.exists()


def test_another_companys_events_cannot_be_subscribed_to(
    sales_api, company, other_company, receiver
):
    response = subscribe(sales_api, other_company, receiver, companyName=other_company.name)

    assert response.status_code == 400
    assert "you can reach" in error(response)["message"]


def test_a_receiver_that_does_not_echo_is_refused(sales_api, company, receiver):
    receiver.mode = "no-echo"

    response = subscribe(sales_api, company, receiver)

    assert response.status_code == 400
    assert "did not echo" in error(response)["message"]


@pytest.fixture
def subscribed(sales_api, company, receiver):
    response = subscribe(sales_api, company, receiver)
    assert response.status_code == 201
    return response.json()


@pytest.mark.django_db(transaction=True)
def test_an_event_is_delivered_after_commit_in_bcs_shape(subscribed, receiver, company, sales):
    customer = CustomerFactory(company=company, no="C10000", name="Adatum")

    services.customer_update(customer=customer, user=sales, blocked=Customer.Blocked.ALL)

    [delivery] = receiver.wait_for(1)
    assert delivery.signed_by(subscribed["signingSecret"])
    [value] = delivery.values
    assert value["eventName"] == "customerBlocked"
    assert value["companyId"] == str(company.system_id)
    assert value["companyName"] == company.name
    assert value["appId"] == APP_ID
    assert value["clientState"] == "partner-1"
    assert value["timestamp"].endswith("Z")
    assert value["initiatingUserAADObjectId"] is None  # no signed-in user in this process
    assert value["payload"]["customerNumber"] == "C10000"
    assert value["payload"]["blocked"] == "All"
    assert set(value) >= {
        "initiatingUserAADObjectId",
        "timestamp",
        "companyName",
        "companyId",
        "eventName",
        "payload",
        "appId",
        "clientState",
    }


def test_an_event_in_a_rolled_back_change_is_never_sent(subscribed, receiver, company, sales):
    customer = CustomerFactory(company=company)

    with pytest.raises(RuntimeError), transaction.atomic():
        services.customer_update(customer=customer, user=sales, blocked=Customer.Blocked.ALL)
        assert ApiNotification.objects.count() == 1
        raise RuntimeError("the change fails later")

    assert not ApiNotification.objects.exists()
    assert receiver.deliveries == []


def test_the_acting_user_is_the_initiating_user(subscribed, receiver, company, sales):
    from bcsite.api.delivery import api_subscription_deliver
    from bcsite.events import acting_as

    customer = CustomerFactory(company=company)
    with acting_as(sales):
        services.customer_update(customer=customer, user=sales, blocked=Customer.Blocked.SHIP)

    subscription = ApiSubscription.objects.get()
    api_subscription_deliver(subscription_id=subscription.pk)
    [value] = receiver.values()
    assert value["initiatingUserAADObjectId"] == str(sales.pk)


def test_patch_renews_and_delete_removes(sales_api, subscribed, receiver, company, colleague):
    key = subscribed["id"]
    current = sales_api.get(f"{SUBSCRIPTIONS}({key})").json()

    response = sales_api.patch(
        f"{SUBSCRIPTIONS}({key})",
        {"clientState": "partner-2"},
        format="json",
        HTTP_IF_MATCH=current["@odata.etag"],
    )
    assert response.status_code == 200, response.content
    assert response.json()["clientState"] == "partner-2"
    assert len(receiver.validations) == 2
    stale = sales_api.patch(
        f"{SUBSCRIPTIONS}({key})", {}, format="json", HTTP_IF_MATCH=current["@odata.etag"]
    )
    assert stale.status_code == 412
    changed = sales_api.patch(f"{SUBSCRIPTIONS}({key})", {"eventName": "x"}, format="json")
    assert changed.status_code == 400

    colleague_api = api_client_for(colleague, company)
    assert colleague_api.get(f"{SUBSCRIPTIONS}({key})").status_code == 404
    assert colleague_api.delete(f"{SUBSCRIPTIONS}({key})").status_code == 404
    assert sales_api.delete(f"{SUBSCRIPTIONS}({key})").status_code == 204
    assert not ApiSubscription.objects.exists()
