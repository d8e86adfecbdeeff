"""The API Tokens and Service Clients pages: secrets shown once, admins only where it says so,
GETs that change nothing, CSRF, and the refusals."""

import re

import pytest
from django.contrib.auth.hashers import check_password
from django.test import Client
from django.urls import include, path, resolve, reverse
from oauth2_provider.models import Application
from rest_framework.response import Response
from rest_framework.test import APIClient
from rest_framework.views import APIView

import bcsite.urls
from bcsite.api import credentials, views_auth
from bcsite.api.access import api_company
from bcsite.models import ApiToken, ServiceClient
from records.models import Membership
from tests.factories import UserFactory


class WhoAmI(APIView):
    def get(self, request, company_key):
        company = api_company(request, company_key)
        return Response({"user": request.user.get_username(), "company": company.name})


urlpatterns = [
    path("api/test/companies(<str:company_key>)/whoami", WhoAmI.as_view()),
    path("api/", include("bcsite.api.auth_urls")),
    path("settings/", include("bcsite.api.ui_urls")),
    # The site's pages (sign-in, the shell), without the rest of the API: these tests hold
    # only the credentials' own URLs to account.
    *[p for p in bcsite.urls.urlpatterns if str(p.pattern) != "api/"],
]

pytestmark = pytest.mark.urls(__name__)

TOKENS = "/settings/api-tokens/"
NEW_TOKEN = "/settings/api-tokens/new/"
CLIENTS = "/settings/service-clients/"
NEW_CLIENT = "/settings/service-clients/new/"


@pytest.fixture
def admin_client(client, admin_user):
    client.force_login(admin_user)
    return client


def shown_value(response, input_id: str) -> str:
    match = re.search(rf'id="{input_id}"[^>]*value="([^"]+)"', response.content.decode())
    assert match, f"no {input_id} on the page"
    return match.group(1)


# -- API Tokens -------------------------------------------------------------------------------


def test_the_site_mounts_the_pages_under_settings():
    for url, view in ((TOKENS, views_auth.token_list), (CLIENTS, views_auth.client_list)):
        assert resolve(url, urlconf="bcsite.urls").func is view


@pytest.mark.parametrize(
    "url", [TOKENS, NEW_TOKEN, CLIENTS, NEW_CLIENT, "/settings/api-tokens/1/revoke/"]
)
def test_anonymous_visitors_are_sent_to_sign_in(client, url):
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_a_new_token_is_shown_once_and_works(sales_client, sales, company):
    page = sales_client.get(NEW_TOKEN)
    assert page.status_code == 200
    assert not ApiToken.objects.exists()  # a GET makes nothing

    response = sales_client.post(NEW_TOKEN, {"name": "Shop", "expires": "30"})
    assert response.status_code == 200
    key = shown_value(response, "api-token-key")
    assert key.startswith("bcs_")
    assert "shown only this once" in response.content.decode()
    assert "no-store" in response["Cache-Control"]
    token = ApiToken.objects.get()
    assert (token.user, token.company, token.name) == (sales, company, "Shop")
    assert token.expires_at is not None

    listing = sales_client.get(TOKENS).content.decode()
    assert "Shop" in listing and token.prefix in listing
    assert key not in listing

    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    me = api.get(f"/api/test/companies({company.system_id})/whoami")
    assert me.json() == {"user": "sales", "company": "CRONUS"}


def test_a_token_that_never_expires(sales_client):
    sales_client.post(NEW_TOKEN, {"name": "Forever", "expires": ""})
    assert ApiToken.objects.get().expires_at is None


def test_a_token_needs_a_name(sales_client):
    response = sales_client.post(NEW_TOKEN, {"name": "  ", "expires": "30"})
    assert response.status_code == 400
    assert "This field is required" in response.content.decode()
    assert not ApiToken.objects.exists()


def test_a_token_name_is_not_taken_twice(sales_client):
    sales_client.post(NEW_TOKEN, {"name": "Shop", "expires": "30"})
    response = sales_client.post(NEW_TOKEN, {"name": "Shop", "expires": "30"})
    assert response.status_code == 400
    assert "already have an active token" in response.content.decode()


def test_a_bad_expiry_is_refused(sales_client):
    response = sales_client.post(NEW_TOKEN, {"name": "Shop", "expires": "9999999"})
    assert response.status_code == 400
    assert not ApiToken.objects.exists()


def test_people_see_only_their_own_tokens(sales_client, colleague, company):
    credentials.api_token_create(user=colleague, company=company, name="Colleague's")
    assert "Colleague&#x27;s" not in sales_client.get(TOKENS).content.decode()


def test_revoking_asks_first_then_revokes_on_post(sales_client, sales, company):
    token, _ = credentials.api_token_create(user=sales, company=company, name="Shop")
    url = f"/settings/api-tokens/{token.pk}/revoke/"
    page = sales_client.get(url)
    assert page.status_code == 200
    assert "Revoke the token Shop" in page.content.decode()
    token.refresh_from_db()
    assert token.revoked_at is None

    response = sales_client.post(url)
    assert response.status_code == 302
    token.refresh_from_db()
    assert token.revoked_at is not None
    listing = sales_client.get(TOKENS).content.decode()
    assert "Revoked" in listing
    assert url not in listing
    assert "already revoked" in sales_client.get(url).content.decode()


def test_nobody_revokes_another_users_token_on_the_page(client, colleague, sales, company):
    token, _ = credentials.api_token_create(user=sales, company=company, name="Shop")
    client.force_login(colleague)
    url = f"/settings/api-tokens/{token.pk}/revoke/"
    assert client.get(url).status_code == 404
    assert client.post(url).status_code == 404
    token.refresh_from_db()
    assert token.revoked_at is None


def test_posts_need_the_csrf_token(sales, company):
    client = Client(enforce_csrf_checks=True)
    client.force_login(sales)
    token, _ = credentials.api_token_create(user=sales, company=company, name="Shop")
    assert client.post(NEW_TOKEN, {"name": "X", "expires": "30"}).status_code == 403
    assert client.post(f"/settings/api-tokens/{token.pk}/revoke/").status_code == 403
    assert ApiToken.objects.count() == 1
    token.refresh_from_db()
    assert token.revoked_at is None


@pytest.mark.parametrize("method", ["put", "delete", "patch"])
def test_other_methods_are_refused(sales_client, method):
    assert getattr(sales_client, method)(NEW_TOKEN).status_code == 405
    assert getattr(sales_client, method)(TOKENS).status_code == 405


def test_a_user_of_no_company_gets_no_tokens(client, db):
    client.force_login(UserFactory(username="loner"))
    assert client.get(TOKENS).status_code == 403
    assert client.post(NEW_TOKEN, {"name": "X", "expires": "30"}).status_code == 403
    assert not ApiToken.objects.exists()


# -- Service Clients --------------------------------------------------------------------------


def test_service_clients_are_for_admins_only(sales_client):
    assert sales_client.get(CLIENTS).status_code == 403
    assert sales_client.get(NEW_CLIENT).status_code == 403
    assert sales_client.post(NEW_CLIENT, {"name": "X", "role": "user"}).status_code == 403
    assert not ServiceClient.objects.exists()


def test_a_new_client_secret_is_shown_once(admin_client, company):
    assert admin_client.get(NEW_CLIENT).status_code == 200
    response = admin_client.post(NEW_CLIENT, {"name": "Warehouse sync", "role": "admin"})
    assert response.status_code == 200
    client_id = shown_value(response, "client-id")
    secret = shown_value(response, "client-secret")
    assert "no-store" in response["Cache-Control"]
    application = Application.objects.get()
    assert application.client_id == client_id
    assert check_password(secret, application.client_secret)
    service = ServiceClient.objects.get()
    assert (service.company, service.role) == (company, Membership.Role.ADMIN)

    listing = admin_client.get(CLIENTS).content.decode()
    assert "Warehouse sync" in listing and client_id in listing
    assert secret not in listing

    # The secret works at the token endpoint.
    token = Client().post(
        "/api/oauth2/token/",
        {"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret},
    )
    assert token.status_code == 200, token.content


def test_a_client_needs_a_name_and_a_known_role(admin_client):
    response = admin_client.post(NEW_CLIENT, {"name": "", "role": "boss"})
    assert response.status_code == 400
    body = response.content.decode()
    assert "This field is required" in body
    assert "Select a valid choice" in body
    assert not ServiceClient.objects.exists()


def test_rotating_asks_first_then_shows_the_new_secret_once(admin_client, admin_user, company):
    service, client_id, old = credentials.service_client_create(
        company=company, name="Sync", role="user", by=admin_user
    )
    url = f"/settings/service-clients/{service.pk}/secret/"
    assert admin_client.get(url).status_code == 200
    assert check_password(old, Application.objects.get().client_secret)

    response = admin_client.post(url)
    assert response.status_code == 200
    new = shown_value(response, "client-secret")
    assert shown_value(response, "client-id") == client_id
    assert "no-store" in response["Cache-Control"]
    hashed = Application.objects.get().client_secret
    assert check_password(new, hashed) and not check_password(old, hashed)


def test_revoking_a_client_asks_first_then_revokes(admin_client, admin_user, company):
    service, _, _ = credentials.service_client_create(
        company=company, name="Sync", role="user", by=admin_user
    )
    url = f"/settings/service-clients/{service.pk}/revoke/"
    assert admin_client.get(url).status_code == 200
    service.service_user.refresh_from_db()
    assert service.service_user.is_active

    assert admin_client.post(url).status_code == 302
    service.service_user.refresh_from_db()
    assert not service.service_user.is_active
    assert "Revoked" in admin_client.get(CLIENTS).content.decode()
    # A revoked client gets no new secret.
    rotate = admin_client.post(f"/settings/service-clients/{service.pk}/secret/")
    assert rotate.status_code == 400
    assert "revoked" in rotate.content.decode()


def test_another_companys_clients_are_not_found(admin_client, outsider, other_company, admin_user):
    Membership.objects.filter(user=outsider).update(role=Membership.Role.ADMIN)
    service, _, _ = credentials.service_client_create(
        company=other_company, name="Theirs", role="user", by=outsider
    )
    for url in (
        f"/settings/service-clients/{service.pk}/revoke/",
        f"/settings/service-clients/{service.pk}/secret/",
    ):
        assert admin_client.get(url).status_code == 404
        assert admin_client.post(url).status_code == 404
    assert "Theirs" not in admin_client.get(CLIENTS).content.decode()
    service.service_user.refresh_from_db()
    assert service.service_user.is_active


def test_a_non_admin_cannot_revoke_a_client(sales_client, admin_user, company):
    service, _, _ = credentials.service_client_create(
        company=company, name="Sync", role="user", by=admin_user
    )
    assert sales_client.post(f"/settings/service-clients/{service.pk}/revoke/").status_code == 403
    service.service_user.refresh_from_db()
    assert service.service_user.is_active


# -- Navigation -------------------------------------------------------------------------------


def test_the_navigation_shows_tokens_to_users_and_clients_to_admins(sales, admin_user):
    sales_client, admin_client = Client(), Client()
    sales_client.force_login(sales)
    admin_client.force_login(admin_user)
    page = sales_client.get(TOKENS).content.decode()
    assert f'href="{TOKENS}"' in page
    assert f'href="{CLIENTS}"' not in page
    admin_page = admin_client.get(TOKENS).content.decode()
    assert f'href="{CLIENTS}"' in admin_page
