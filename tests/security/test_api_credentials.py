"""How the API learns who calls: access tokens only in the Authorization header, the caller
known before the body is read, and browser sessions held to CSRF."""

from __future__ import annotations

import pytest
from django.test import Client

from bcsite.api import credentials
from records.models import Membership

pytestmark = pytest.mark.django_db


@pytest.fixture
def access_token(world) -> str:
    _, client_id, secret = credentials.service_client_create(
        company=world.company_a, name="Shop", role=Membership.Role.USER, by=world.admin_a
    )
    response = Client().post(
        "/api/oauth2/token/",
        {"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret},
    )
    assert response.status_code == 200, response.content
    return response.json()["access_token"]


def customers_url(world) -> str:
    return f"/api/v2.0/companies({world.company_a.system_id})/customers"


def test_an_access_token_works_in_the_authorization_header(world, access_token):
    client = Client(HTTP_AUTHORIZATION=f"Bearer {access_token}")
    assert client.get(customers_url(world)).status_code == 200


def test_an_access_token_in_the_url_is_not_accepted(world, access_token):
    # URLs end up in access logs and browser histories: a token there would leak.
    response = Client().get(customers_url(world), {"access_token": access_token})
    assert response.status_code == 401
    assert response.json()["error"]["code"]


def test_an_access_token_in_a_form_body_is_not_accepted(world, access_token):
    response = Client().post(customers_url(world), {"access_token": access_token})
    assert response.status_code == 401


def test_an_anonymous_form_post_is_refused_for_its_caller_not_its_type(world):
    response = Client().post(customers_url(world), {"displayName": "X"})
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_a_session_api_write_needs_the_csrf_token(world):
    client = Client(enforce_csrf_checks=True)
    client.force_login(world.admin_a)
    body = {"displayName": "Session customer"}
    response = client.post(customers_url(world), body, content_type="application/json")
    assert response.status_code == 403
    assert b"CSRF" in response.content
    client.get("/customers/")  # a page sets the CSRF cookie, as a browser would get it
    token = client.cookies["csrftoken"].value
    response = client.post(
        customers_url(world), body, content_type="application/json", HTTP_X_CSRFTOKEN=token
    )
    assert response.status_code == 201, response.content
