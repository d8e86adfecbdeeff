"""Who may call the API: personal tokens, OAuth2 client credentials, company scoping, and the
Power Automate switch on the flows endpoints.

The endpoints here are small views in this module's URLs (they echo who called and in which
company), so the checks do not depend on any one entity endpoint.
"""

import datetime
import hashlib

import pytest
import requests
from django.contrib.auth.hashers import check_password
from django.urls import include, path
from django.utils import timezone
from oauth2_provider.models import AccessToken, Application
from rest_framework.response import Response
from rest_framework.test import APIClient
from rest_framework.views import APIView

import bcsite.urls
from bcsite.api import credentials
from bcsite.api.access import api_companies, api_company, api_role
from bcsite.api.permissions import CompanyAdmin, PowerAutomateAllowed
from bcsite.models import ApiToken, ServiceClient
from records.models import Membership
from tests.factories import MembershipFactory, UserFactory


class WhoAmI(APIView):
    def get(self, request, company_key):
        company = api_company(request, company_key)
        return Response(
            {
                "user": request.user.get_username(),
                "company": company.name,
                "role": api_role(request, company),
                "companies": [c.name for c in api_companies(request)],
            }
        )


class Flows(APIView):
    permission_classes = [*APIView.permission_classes, PowerAutomateAllowed]

    def get(self, request, company_key):
        return Response({"company": self.company.name})


class AdminOnly(APIView):
    permission_classes = [*APIView.permission_classes, CompanyAdmin]

    def get(self, request, company_key):
        return Response({"ok": True})


urlpatterns = [
    path("api/test/companies(<str:company_key>)/whoami", WhoAmI.as_view()),
    path("api/test/companies(<str:company_key>)/flows", Flows.as_view()),
    path("api/test/companies(<str:company_key>)/admin", AdminOnly.as_view()),
    path("api/", include("bcsite.api.auth_urls")),
    # The site's pages (sign-in, the shell), without the rest of the API: these tests hold
    # only the credentials' own URLs to account.
    *[p for p in bcsite.urls.urlpatterns if str(p.pattern) != "api/"],
]

pytestmark = pytest.mark.urls(__name__)
TOKEN_URL = "/api/oauth2/token/"


def whoami(company) -> str:
    return f"/api/test/companies({company.system_id})/whoami"


def bearer(key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    return client


@pytest.fixture
def token_key(sales, company):
    _, key = credentials.api_token_create(user=sales, company=company, name="Shop")
    return key


@pytest.fixture
def service_client(admin_user, company):
    return credentials.service_client_create(
        company=company, name="Warehouse sync", role=Membership.Role.USER, by=admin_user
    )


def oauth_token(client_id: str, secret: str, base: str = "") -> requests.Response:
    return requests.post(
        base + TOKEN_URL,
        auth=(client_id, secret),
        data={"grant_type": "client_credentials"},
        timeout=10,
    )


def assert_bc_error(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"error"}
    assert body["error"]["code"] == code
    assert body["error"]["message"]
    return body["error"]


# -- Personal tokens --------------------------------------------------------------------------


def test_it_keeps_only_a_hash_of_the_token(sales, company):
    token, key = credentials.api_token_create(user=sales, company=company, name="Shop")
    assert key.startswith("bcs_") and len(key) > 40
    stored = ApiToken.objects.get(pk=token.pk)
    assert stored.key_hash == hashlib.sha256(key.encode()).hexdigest()
    assert stored.prefix == key[:12]
    assert key not in {str(v) for v in ApiToken.objects.filter(pk=token.pk).values().get().values()}


def test_a_token_acts_as_its_user_in_its_company(token_key, company):
    response = bearer(token_key).get(whoami(company))
    assert response.status_code == 200, response.content
    assert response.json() == {
        "user": "sales",
        "company": "CRONUS",
        "role": "user",
        "companies": ["CRONUS"],
    }


def test_it_records_when_a_token_was_last_used(sales, company, token_key):
    assert ApiToken.objects.get().last_used_at is None
    bearer(token_key).get(whoami(company))
    assert ApiToken.objects.get().last_used_at is not None


def test_a_token_reaches_no_other_company_even_of_its_user(sales, company, other_company):
    MembershipFactory(user=sales, company=other_company)
    _, key = credentials.api_token_create(user=sales, company=company, name="Shop")
    error = assert_bc_error(bearer(key).get(whoami(other_company)), 404, "BadRequest_NotFound")
    assert "no access" in error["message"]


def test_it_says_the_same_of_a_company_that_does_not_exist(token_key):
    missing = "/api/test/companies(00000000-0000-0000-0000-000000000000)/whoami"
    assert_bc_error(bearer(token_key).get(missing), 404, "BadRequest_NotFound")


@pytest.mark.parametrize(
    "key", ["{system_id}", "'{system_id}'", "{{{system_id}}}", "'CRONUS'", "name='CRONUS'"]
)
def test_it_finds_the_company_by_id_or_name(token_key, company, key):
    url = f"/api/test/companies({key.format(system_id=company.system_id)})/whoami"
    response = bearer(token_key).get(url)
    assert response.status_code == 200, response.content


def test_a_revoked_token_is_refused(sales, company):
    token, key = credentials.api_token_create(user=sales, company=company, name="Shop")
    credentials.api_token_revoke(token=token, by=sales)
    error = assert_bc_error(bearer(key).get(whoami(company)), 401, "Unauthorized")
    assert "revoked" in error["message"]


def test_an_expired_token_is_refused(sales, company):
    token, key = credentials.api_token_create(
        user=sales, company=company, name="Shop", expires_at=timezone.now() + datetime.timedelta(1)
    )
    ApiToken.objects.filter(pk=token.pk).update(expires_at=timezone.now())
    error = assert_bc_error(bearer(key).get(whoami(company)), 401, "Unauthorized")
    assert "expired" in error["message"]


def test_an_unknown_token_is_refused(company, token_key):
    assert_bc_error(bearer(token_key + "x").get(whoami(company)), 401, "Unauthorized")
    assert_bc_error(bearer("not-a-token").get(whoami(company)), 401, "Unauthorized")


def test_no_credentials_get_401(company):
    response = APIClient().get(whoami(company))
    assert_bc_error(response, 401, "Unauthorized")
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_a_token_of_an_inactive_user_is_refused(sales, company, token_key):
    sales.is_active = False
    sales.save()
    assert_bc_error(bearer(token_key).get(whoami(company)), 401, "Unauthorized")


def test_a_token_stops_at_its_company_when_its_user_leaves_it(sales, company, token_key):
    Membership.objects.filter(user=sales).delete()
    assert_bc_error(bearer(token_key).get(whoami(company)), 404, "BadRequest_NotFound")


def test_a_token_is_only_for_a_company_of_its_user(outsider, company):
    with pytest.raises(credentials.PermissionDenied):
        credentials.api_token_create(user=outsider, company=company, name="Sneaky")


def test_it_refuses_a_token_that_expired_before_it_was_made(sales, company):
    with pytest.raises(credentials.ValidationError):
        credentials.api_token_create(
            user=sales, company=company, name="Old", expires_at=timezone.now()
        )


def test_it_refuses_two_active_tokens_of_one_name(sales, company, token_key):
    with pytest.raises(credentials.ValidationError, match="already have"):
        credentials.api_token_create(user=sales, company=company, name="Shop")


def test_only_the_owner_or_an_admin_revokes_a_token(sales, colleague, admin_user, company):
    token, _ = credentials.api_token_create(user=sales, company=company, name="Shop")
    with pytest.raises(credentials.PermissionDenied):
        credentials.api_token_revoke(token=token, by=colleague)
    assert ApiToken.objects.get().revoked_at is None
    credentials.api_token_revoke(token=token, by=admin_user)
    first = ApiToken.objects.get().revoked_at
    assert first is not None
    credentials.api_token_revoke(token=token, by=sales)
    assert ApiToken.objects.get().revoked_at == first


# -- Sessions ---------------------------------------------------------------------------------


def test_a_session_reaches_the_companies_of_its_user(sales, company, other_company):
    client = APIClient()
    client.force_login(sales)
    assert client.get(whoami(company)).json()["companies"] == ["CRONUS"]
    assert_bc_error(client.get(whoami(other_company)), 404, "BadRequest_NotFound")


def test_a_superuser_is_an_administrator_of_the_companies_they_work_in(admin_user, company):
    client = APIClient()
    client.force_login(admin_user)
    assert client.get(whoami(company)).json()["role"] == "admin"


def test_a_session_post_needs_the_csrf_token(sales, company):
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(sales)
    response = client.post(whoami(company), {})
    assert_bc_error(response, 403, "Forbidden")
    assert "CSRF" in response.json()["error"]["message"]


# -- Service clients (OAuth2 client credentials) ----------------------------------------------


def test_a_service_client_has_a_service_user_in_its_company(service_client, company, admin_user):
    client, client_id, secret = service_client
    user = client.service_user
    assert user.username == "svc-warehouse-sync"
    assert not user.has_usable_password()
    assert Membership.objects.get(user=user).company == company
    application = Application.objects.get(client_id=client_id)
    assert application.client_type == Application.CLIENT_CONFIDENTIAL
    assert application.authorization_grant_type == Application.GRANT_CLIENT_CREDENTIALS
    # Only a hash of the secret is kept.
    assert application.client_secret != secret
    assert check_password(secret, application.client_secret)
    assert client.created_by == admin_user


def test_service_users_get_names_of_their_own(admin_user, company):
    names = [
        credentials.service_client_create(company=company, name=name, role="user", by=admin_user)[
            0
        ].service_user.username
        for name in ("Sync", "Sync!", "!!!")
    ]
    assert names == ["svc-sync", "svc-sync-2", "svc-client"]


def test_only_company_admins_create_service_clients(sales, outsider, company):
    for user in (sales, outsider):
        with pytest.raises(credentials.PermissionDenied):
            credentials.service_client_create(company=company, name="X", role="user", by=user)
    assert not ServiceClient.objects.exists()
    assert not Application.objects.exists()


def test_it_refuses_an_unknown_role_and_a_taken_name(admin_user, company, service_client):
    with pytest.raises(credentials.ValidationError, match="role"):
        credentials.service_client_create(company=company, name="Y", role="boss", by=admin_user)
    with pytest.raises(credentials.ValidationError, match="already has"):
        credentials.service_client_create(
            company=company, name="Warehouse sync", role="user", by=admin_user
        )


@pytest.mark.slow
def test_client_credentials_end_to_end_over_http(live_server, service_client, company):
    """``curl -u id:secret -d grant_type=client_credentials .../api/oauth2/token/``, then call."""
    _, client_id, secret = service_client
    response = oauth_token(client_id, secret, live_server.url)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 3600
    assert (
        response.headers["Cache-Control"].startswith("no-store")
        or "no-cache" in (response.headers["Cache-Control"])
    )

    headers = {"Authorization": f"Bearer {body['access_token']}"}
    me = requests.get(live_server.url + whoami(company), headers=headers, timeout=10)
    assert me.status_code == 200, me.text
    assert me.json() == {
        "user": "svc-warehouse-sync",
        "company": "CRONUS",
        "role": "user",
        "companies": ["CRONUS"],
    }


@pytest.mark.slow
def test_a_service_client_reaches_no_other_company(
    live_server, service_client, other_company, company
):
    _, client_id, secret = service_client
    # Even were its service user made a member elsewhere, the client stays in its company.
    MembershipFactory(user=service_client[0].service_user, company=other_company)
    access = oauth_token(client_id, secret, live_server.url).json()["access_token"]
    other = requests.get(
        live_server.url + whoami(other_company),
        headers={"Authorization": f"Bearer {access}"},
        timeout=10,
    )
    assert other.status_code == 404
    assert other.json()["error"]["code"] == "BadRequest_NotFound"


def test_the_token_endpoint_refuses_other_grants(client, service_client):
    _, client_id, secret = service_client
    for grant in ("password", "authorization_code", "refresh_token", "urn:x"):
        response = client.post(
            TOKEN_URL,
            {"grant_type": grant, "client_id": client_id, "client_secret": secret},
        )
        assert response.status_code == 400
        assert response.json()["error"] == "unsupported_grant_type"
        assert "client_credentials" in response.json()["error_description"]


def test_the_token_endpoint_asks_for_a_grant_and_for_post(client):
    response = client.post(TOKEN_URL, {})
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"
    response = client.get(TOKEN_URL)
    assert response.status_code == 405
    assert response.json()["error"] == "invalid_request"


def test_the_token_endpoint_refuses_a_wrong_secret(client, service_client):
    _, client_id, _ = service_client
    response = client.post(
        TOKEN_URL,
        {"grant_type": "client_credentials", "client_id": client_id, "client_secret": "nope"},
    )
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"


def test_a_client_with_credentials_in_the_body_gets_a_token(client, service_client):
    _, client_id, secret = service_client
    response = client.post(
        TOKEN_URL,
        {"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret},
    )
    assert response.status_code == 200, response.content
    assert AccessToken.objects.get().user is None


def _token_via(client, client_id, secret) -> str:
    response = client.post(
        TOKEN_URL,
        {"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret},
    )
    assert response.status_code == 200, response.content
    return response.json()["access_token"]


def test_a_revoked_client_is_refused(client, service_client, admin_user, company):
    service, client_id, secret = service_client
    access = _token_via(client, client_id, secret)
    assert bearer(access).get(whoami(company)).status_code == 200
    credentials.service_client_revoke(client=service, by=admin_user)
    assert_bc_error(bearer(access).get(whoami(company)), 401, "Unauthorized")
    again = client.post(
        TOKEN_URL,
        {"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret},
    )
    assert again.status_code == 401
    # What it did stays recorded under its name.
    assert ServiceClient.objects.filter(pk=service.pk).exists()
    assert Membership.objects.filter(user=service.service_user).exists()


def test_a_revoked_client_is_refused_even_with_a_token_left_over(
    client, service_client, admin_user, company
):
    service, client_id, secret = service_client
    access = _token_via(client, client_id, secret)
    type(service.service_user).objects.filter(pk=service.service_user_id).update(is_active=False)
    error = assert_bc_error(bearer(access).get(whoami(company)), 401, "Unauthorized")
    assert "revoked" in error["message"]


def test_a_new_secret_replaces_the_old_one(client, service_client, admin_user, company):
    service, client_id, old = service_client
    access = _token_via(client, client_id, old)
    new = credentials.service_client_rotate_secret(client=service, by=admin_user)
    assert new != old
    assert_bc_error(bearer(access).get(whoami(company)), 401, "Unauthorized")
    refused = client.post(
        TOKEN_URL,
        {"grant_type": "client_credentials", "client_id": client_id, "client_secret": old},
    )
    assert refused.status_code == 401
    assert bearer(_token_via(client, client_id, new)).get(whoami(company)).status_code == 200


def test_only_admins_revoke_or_rotate_and_never_a_revoked_client(service_client, sales, admin_user):
    service = service_client[0]
    with pytest.raises(credentials.PermissionDenied):
        credentials.service_client_revoke(client=service, by=sales)
    with pytest.raises(credentials.PermissionDenied):
        credentials.service_client_rotate_secret(client=service, by=sales)
    credentials.service_client_revoke(client=service, by=admin_user)
    with pytest.raises(credentials.ValidationError, match="revoked"):
        credentials.service_client_rotate_secret(client=service, by=admin_user)


def test_an_oauth_application_that_is_no_service_client_is_refused(client, company):
    application = Application.objects.create(
        name="Stray",
        client_type=Application.CLIENT_CONFIDENTIAL,
        authorization_grant_type=Application.GRANT_CLIENT_CREDENTIALS,
        client_secret="s3cret-s3cret",
    )
    access = _token_via(client, application.client_id, "s3cret-s3cret")
    error = assert_bc_error(bearer(access).get(whoami(company)), 401, "Unauthorized")
    assert "not a service client" in error["message"]


def test_a_service_client_acts_with_its_role(client, admin_user, company):
    _, client_id, secret = credentials.service_client_create(
        company=company, name="Admin sync", role=Membership.Role.ADMIN, by=admin_user
    )
    access = _token_via(client, client_id, secret)
    assert bearer(access).get(whoami(company)).json()["role"] == "admin"
    admin_url = f"/api/test/companies({company.system_id})/admin"
    assert bearer(access).get(admin_url).status_code == 200


def test_admin_only_endpoints_refuse_users(token_key, company):
    admin_url = f"/api/test/companies({company.system_id})/admin"
    assert_bc_error(bearer(token_key).get(admin_url), 403, "Forbidden")


# -- Power Automate switch --------------------------------------------------------------------


def flows(company) -> str:
    return f"/api/test/companies({company.system_id})/flows"


def test_flows_endpoints_are_open_to_users_whom_power_automate_allows(token_key, company):
    assert bearer(token_key).get(flows(company)).json() == {"company": "CRONUS"}


def test_flows_endpoints_refuse_users_whom_power_automate_refuses(
    token_key, company, sales, monkeypatch
):
    calls = []

    def refuse(user, company_id):
        calls.append((user, company_id))
        return "Power Automate is turned off for sales."

    monkeypatch.setattr("automate.access.automate_refusal", refuse)
    error = assert_bc_error(bearer(token_key).get(flows(company)), 403, "Forbidden")
    assert error["message"] == "Power Automate is turned off for sales."
    assert calls == [(sales, company.pk)]


def test_flows_endpoints_check_the_company_first(token_key, other_company):
    assert_bc_error(bearer(token_key).get(flows(other_company)), 404, "BadRequest_NotFound")


def test_flows_endpoints_refuse_a_service_user_who_left_the_company(
    client, service_client, company
):
    service, client_id, secret = service_client
    access = _token_via(client, client_id, secret)
    Membership.objects.filter(user=service.service_user).delete()
    assert_bc_error(bearer(access).get(flows(company)), 404, "BadRequest_NotFound")


def test_a_user_of_two_companies_sees_both_over_the_session(sales, company, other_company):
    MembershipFactory(user=sales, company=other_company)
    client = APIClient()
    client.force_login(sales)
    assert client.get(whoami(company)).json()["companies"] == ["CRONUS", "OTHER"]


def test_a_user_without_company_sees_none(company):
    loner = UserFactory(username="loner")
    client = APIClient()
    client.force_login(loner)
    assert_bc_error(client.get(whoami(company)), 404, "BadRequest_NotFound")
