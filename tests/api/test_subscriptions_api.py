"""Webhook subscriptions over the API: the handshake, BC's shape, renewal, deletion, refusals."""

import datetime

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from bcsite.models import ApiSubscription
from tests.api.webhook_fixtures import *  # noqa: F403 (fixtures)
from tests.api.webhook_fixtures import api_client_for

pytestmark = pytest.mark.usefixtures("webhooks_on")

URL = "/api/v2.0/subscriptions"


def resource(company, entity_set="customers"):
    return f"api/v2.0/companies({company.system_id})/{entity_set}"


def subscribe(client, company, receiver, **extra):
    body = {
        "notificationUrl": receiver.url,
        "resource": resource(company),
        "clientState": "secret-state",
        **extra,
    }
    return client.post(URL, body, format="json")


def error(response):
    return response.json()["error"]


# -- Create ---------------------------------------------------------------------------------


def test_create_validates_the_url_with_a_handshake_and_answers_in_bcs_shape(
    sales_api, company, sales, receiver
):
    before = timezone.now()
    response = subscribe(sales_api, company, receiver)

    assert response.status_code == 201, response.content
    data = response.json()
    assert len(receiver.validations) == 1 and len(receiver.validations[0]) >= 20
    subscription = ApiSubscription.objects.get()
    assert data["subscriptionId"] == subscription.subscription_id.hex
    assert data["notificationUrl"] == receiver.url
    assert data["resource"] == resource(company)
    assert data["clientState"] == "secret-state"
    assert data["userId"] == str(sales.pk)
    expires = datetime.datetime.fromisoformat(data["expirationDateTime"])
    assert datetime.timedelta(days=3) <= expires - before < datetime.timedelta(days=3, minutes=1)
    assert data["@odata.etag"].startswith('W/"')
    assert data["status"] == "active"
    # The signing secret is shown once, on create, and never again.
    assert data["signingSecret"] == subscription.signing_secret
    assert len(data["signingSecret"]) == 64
    assert "signingSecret" not in sales_api.get(f"{URL}('{data['subscriptionId']}')").json()
    assert subscription.kind == ApiSubscription.Kind.WEBHOOK and subscription.table_id == 18


def test_a_resource_with_a_leading_slash_or_the_full_url_is_accepted(sales_api, company, receiver):
    items = f"/api/v2.0/companies({company.system_id})/items"
    orders = f"https://erp.example.com/api/v2.0/companies({company.system_id})/salesOrders"

    assert subscribe(sales_api, company, receiver, resource=items).status_code == 201
    assert subscribe(sales_api, company, receiver, resource=orders).status_code == 201
    assert sorted(ApiSubscription.objects.values_list("table_id", flat=True)) == [27, 36]


def test_a_receiver_that_does_not_echo_the_token_is_refused(sales_api, company, receiver):
    receiver.mode = "no-echo"

    response = subscribe(sales_api, company, receiver)

    assert response.status_code == 400
    assert error(response)["code"] == "BadRequest"
    assert "did not echo the validationToken" in error(response)["message"]
    assert not ApiSubscription.objects.exists()


def test_a_receiver_that_answers_an_error_is_refused(sales_api, company, httpserver):
    httpserver.expect_request("/missing").respond_with_data("nope", status=404)
    url = f"http://127.0.0.1:{httpserver.port}/missing"

    response = sales_api.post(
        URL, {"notificationUrl": url, "resource": resource(company)}, format="json"
    )

    assert response.status_code == 400
    assert "answered the validation request with 404" in error(response)["message"]


def test_a_receiver_that_does_not_answer_in_time_is_refused(sales_api, company, receiver, settings):
    settings.API_WEBHOOK_HANDSHAKE_SECONDS = 0.3
    receiver.mode, receiver.delay = "slow", 1.0

    response = subscribe(sales_api, company, receiver)

    assert response.status_code == 400
    assert "did not answer within 0.3 seconds" in error(response)["message"]
    assert not ApiSubscription.objects.exists()


def test_private_addresses_are_refused_unless_allowed(sales_api, company, receiver, settings):
    settings.API_WEBHOOK_ALLOWED_NETWORKS = []

    response = subscribe(sales_api, company, receiver)

    assert response.status_code == 400
    assert "127.0.0.1 is a loopback address" in error(response)["message"]
    assert receiver.validations == []


COMPANY = "api/v2.0/companies({company})/customers"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"resource": COMPANY}, "notificationUrl: This property is required"),
        ({"notificationUrl": "{url}"}, "resource: This property is required"),
        ({"notificationUrl": "{url}", "resource": "api/v2.0/customers"}, "an entity set of a"),
        (
            {"notificationUrl": "{url}", "resource": "api/v2.0/companies({company})/vendors"},
            "vendors is not an entity set",
        ),
        (
            {
                "notificationUrl": "{url}",
                "resource": "api/v2.0/companies(00000000-0000-0000-0000-000000000000)/customers",
            },
            "There is no company",
        ),
        ({"notificationUrl": "ftp://127.0.0.1/x", "resource": COMPANY}, "start with https://"),
        ({"notificationUrl": "http://u:p@127.0.0.1/", "resource": COMPANY}, "user name or pass"),
        ({"notificationUrl": "http:///nohost", "resource": COMPANY}, "names no host"),
        ({"notificationUrl": "http://a b/", "resource": COMPANY}, "spaces or control"),
        ({"notificationUrl": 12, "resource": COMPANY}, "Must be a string"),
        ({"notificationUrl": "{url}", "resource": COMPANY, "clientState": "x" * 2049}, "2048"),
        ({"notificationUrl": "{url}", "resource": COMPANY, "color": "blue"}, "Unknown properties"),
    ],
)
def test_bad_input_is_a_400_with_a_clear_message(sales_api, company, receiver, body, message):
    data = {
        name: value.format(url=receiver.url, company=company.system_id)
        if isinstance(value, str)
        else value
        for name, value in body.items()
    }

    response = sales_api.post(URL, data, format="json")

    assert response.status_code == 400, response.content
    assert message in error(response)["message"]
    assert not ApiSubscription.objects.exists()
    assert receiver.validations == []


def test_a_list_as_body_is_a_400(sales_api):
    response = sales_api.post(URL, [1, 2], format="json")

    assert response.status_code == 400
    assert "JSON object" in error(response)["message"]


def test_a_body_that_is_not_json_is_a_400(sales_api):
    response = sales_api.post(URL, "{not json", content_type="application/json")

    assert response.status_code == 400
    assert error(response)["code"] == "BadRequest_InvalidRequestBody"


def test_another_companys_resource_is_refused(
    sales_api, company, other_company, receiver, outsider
):
    response = subscribe(sales_api, company, receiver, resource=resource(other_company))

    assert response.status_code == 400
    assert "you can reach" in error(response)["message"]
    assert receiver.validations == []


def test_a_token_reaches_only_its_own_company(company, other_company, sales, receiver):
    from tests.factories import MembershipFactory

    MembershipFactory(user=sales, company=other_company)
    client = api_client_for(sales, company)  # a token of CRONUS

    response = subscribe(client, company, receiver, resource=resource(other_company))

    assert response.status_code == 400
    assert not ApiSubscription.objects.exists()


def test_the_number_of_subscriptions_per_company_is_limited(sales_api, company, receiver, settings):
    settings.API_WEBHOOK_MAX_SUBSCRIPTIONS = 2
    assert subscribe(sales_api, company, receiver).status_code == 201
    assert subscribe(sales_api, company, receiver).status_code == 201

    response = subscribe(sales_api, company, receiver)

    assert response.status_code == 400
    assert "already has 2 subscriptions" in error(response)["message"]
    assert len(receiver.validations) == 2  # the third was refused before any request


def test_anonymous_callers_are_refused(company, receiver):
    response = APIClient().post(URL, {"notificationUrl": receiver.url}, format="json")

    assert response.status_code == 401
    assert error(response)["code"] == "Unauthorized"


def test_wrong_methods_are_refused(sales_api):
    assert sales_api.put(URL, {}, format="json").status_code == 405
    assert sales_api.delete(URL).status_code == 405


# -- Read, renew, delete ----------------------------------------------------------------------


@pytest.fixture
def created(sales_api, company, receiver):
    response = subscribe(sales_api, company, receiver)
    assert response.status_code == 201
    return response.json()


def test_list_and_get_show_only_the_callers_subscriptions(
    sales_api, created, company, colleague, receiver
):
    colleague_api = api_client_for(colleague, company)
    assert subscribe(colleague_api, company, receiver).status_code == 201

    listed = sales_api.get(URL).json()
    assert [s["subscriptionId"] for s in listed["value"]] == [created["subscriptionId"]]
    assert listed["@odata.context"].endswith("/api/v2.0/$metadata#subscriptions")
    key = created["subscriptionId"]
    assert sales_api.get(f"{URL}('{key}')").json()["subscriptionId"] == key
    assert sales_api.get(f"{URL}({key})").status_code == 200
    # The colleague's own subscription is not the caller's to see.
    assert colleague_api.get(f"{URL}('{key}')").status_code == 404
    assert sales_api.get(f"{URL}('not-an-id')").status_code == 404


def test_patch_renews_after_a_new_handshake(sales_api, created, receiver):
    subscription = ApiSubscription.objects.get()
    ApiSubscription.objects.filter(pk=subscription.pk).update(
        expires_at=timezone.now() + datetime.timedelta(hours=1)
    )
    key = created["subscriptionId"]
    current = sales_api.get(f"{URL}('{key}')").json()

    response = sales_api.patch(
        f"{URL}('{key}')",
        {**current, "clientState": "new-state"},
        format="json",
        HTTP_IF_MATCH=current["@odata.etag"],
    )

    assert response.status_code == 200, response.content
    data = response.json()
    assert len(receiver.validations) == 2
    assert data["clientState"] == "new-state"
    expires = datetime.datetime.fromisoformat(data["expirationDateTime"])
    assert expires - timezone.now() > datetime.timedelta(days=2, hours=23)
    assert data["@odata.etag"] != current["@odata.etag"]


def test_patch_with_a_stale_etag_is_a_412(sales_api, created):
    key = created["subscriptionId"]
    stale = created["@odata.etag"]
    assert sales_api.patch(f"{URL}('{key}')", {}, format="json").status_code == 200

    response = sales_api.patch(f"{URL}('{key}')", {}, format="json", HTTP_IF_MATCH=stale)

    assert response.status_code == 412
    assert error(response)["code"] == "Request_EntityChanged"
    assert (
        sales_api.patch(f"{URL}('{key}')", {}, format="json", HTTP_IF_MATCH="*").status_code == 200
    )


def test_a_renewal_whose_handshake_fails_changes_nothing(sales_api, created, receiver):
    key = created["subscriptionId"]
    before = ApiSubscription.objects.get()
    receiver.mode = "no-echo"

    response = sales_api.patch(f"{URL}('{key}')", {"clientState": "x"}, format="json")

    assert response.status_code == 400
    after = ApiSubscription.objects.get()
    assert (after.expires_at, after.client_state) == (before.expires_at, before.client_state)


def test_the_resource_cannot_change(sales_api, created, company):
    key = created["subscriptionId"]

    response = sales_api.patch(
        f"{URL}('{key}')", {"resource": resource(company, "items")}, format="json"
    )

    assert response.status_code == 400
    assert "cannot change" in error(response)["message"]


def test_renewing_a_suspended_subscription_makes_it_active(sales_api, created):
    ApiSubscription.objects.update(
        status=ApiSubscription.Status.SUSPENDED,
        suspended_at=timezone.now(),
        last_error="Deliveries failed for 24 hours",
    )
    key = created["subscriptionId"]
    assert sales_api.get(f"{URL}('{key}')").json()["status"] == "suspended"

    data = sales_api.patch(f"{URL}('{key}')", {}, format="json").json()

    assert (data["status"], data["lastError"], data["suspendedAt"]) == ("active", "", None)


def test_delete_removes_the_subscription(sales_api, created, company, colleague):
    key = created["subscriptionId"]
    colleague_api = api_client_for(colleague, company)
    assert colleague_api.delete(f"{URL}('{key}')").status_code == 404

    assert sales_api.delete(f"{URL}('{key}')").status_code == 204

    assert not ApiSubscription.objects.exists()
    assert sales_api.get(f"{URL}('{key}')").status_code == 404


def test_a_form_post_is_refused_as_unsupported(sales_api, company, receiver):
    response = sales_api.post(URL, {"notificationUrl": receiver.url, "resource": resource(company)})

    assert response.status_code == 415
    assert error(response)["code"] == "BadRequest_UnsupportedMediaType"


# -- The notification URL guard ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://10.1.2.3/hook", "is in a private network"),
        ("http://169.254.169.254/latest/meta-data", "is link-local"),
        ("http://[::1]:8080/hook", "is a loopback address"),
        ("http://[::ffff:127.0.0.1]/hook", "127.0.0.1 is a loopback address"),
        ("http://0.0.0.0/hook", "is unspecified"),
        ("http://100.64.0.1/hook", "shared (carrier-grade NAT)"),
        ("http://224.0.0.1/hook", "multicast"),
        ("http://localhost:99999/hook", "is not a valid URL"),
        ("http://no-such-host.invalid/hook", "could not be resolved"),
    ],
)
def test_the_guard_refuses_what_is_not_public(url, reason, settings):
    from bcsite.api.webhook_net import DeliveryError, check_url

    settings.API_WEBHOOK_ALLOWED_NETWORKS = []
    with pytest.raises(DeliveryError, match=reason.replace("(", r"\(").replace(")", r"\)")):
        check_url(url)


def test_the_guard_allows_configured_networks_and_explains_a_bad_setting(settings):
    from bcsite.api.webhook_net import DeliveryError, check_url

    settings.API_WEBHOOK_ALLOWED_NETWORKS = "10.0.0.0/8, 127.0.0.1/32"
    assert check_url("http://10.1.2.3:8443/x?y=1").path == "/x?y=1"
    settings.API_WEBHOOK_ALLOWED_NETWORKS = ["10.0.0.0/88"]
    with pytest.raises(DeliveryError, match=r"API_WEBHOOK_ALLOWED_NETWORKS holds '10\.0\.0\.0/88'"):
        check_url("http://10.1.2.3/")


def test_signatures_verify_only_with_the_secret_the_body_and_a_fresh_timestamp():
    from bcsite.api.signing import signed_headers, verify

    body = b'{"value":[]}'
    headers = signed_headers("s3cret", body, now=1_700_000_000)
    timestamp, header = headers["X-Bcsite-Timestamp"], headers["X-Bcsite-Signature"]
    assert header.startswith("sha256=") and len(header) == 7 + 64

    def check(secret="s3cret", signed=body, now=1_700_000_100):
        return verify(secret, timestamp=timestamp, signature_header=header, body=signed, now=now)

    assert check()
    assert not check(secret="other")
    assert not check(signed=b'{"value":[1]}')
    assert not check(now=1_700_000_000 + 301)  # too old: a replay
