"""Requests refused before any view answers: the API keeps its JSON error shape."""

import pytest

pytestmark = pytest.mark.django_db


def test_a_host_that_is_not_allowed_gets_the_apis_json_error(client):
    response = client.delete("/api/v2.0/subscriptions(x)", HTTP_HOST="i'#")
    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    assert response.json()["error"]["code"] == "BadRequest"


def test_an_unknown_api_url_gets_the_apis_json_error(client):
    response = client.get("/api/v2.0/nothing-here")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "BadRequest_ResourceNotFound"


def test_pages_keep_their_html_errors(client):
    assert client.get("/no-such-page/", HTTP_HOST="i'#").status_code == 400
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")
