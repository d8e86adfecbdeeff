"""The HTTP action against a real HTTP server (pytest-httpserver)."""

import base64
import json
import re
import time

import pytest
from werkzeug import Response

from automate.connectors import find_action
from automate.connectors.base import ActionError

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("loopback_allowed")]


@pytest.fixture
def send(action_call):
    action = find_action("http.request")

    def run(**inputs):
        return action.run(action_call(inputs, step_name="Call_partner"))

    return run


def test_it_is_declared_repeatable_and_not_transactional():
    action = find_action("http.request")
    assert action.repeatable is True
    assert action.transactional is False
    assert action.connector.name == "HTTP"


@pytest.mark.slow
def test_a_json_response_comes_back_parsed(httpserver, send):
    httpserver.expect_request(
        "/orders", method="GET", query_string="status=open&top=5"
    ).respond_with_json({"value": [{"no": "S-1", "amount": 12.5}]}, headers={"X-Request-Id": "abc"})
    outputs = send(
        method="GET", uri=httpserver.url_for("/orders"), queries={"status": "open", "top": 5}
    )
    assert outputs["statusCode"] == 200
    assert outputs["body"] == {"value": [{"no": "S-1", "amount": 12.5}]}
    assert outputs["headers"]["X-Request-Id"] == "abc"
    assert "Idempotency-Key" not in httpserver.log[-1][0].headers


@pytest.mark.slow
def test_a_post_sends_json_and_the_steps_idempotency_key(httpserver, send, flow_run):
    httpserver.expect_request("/orders", method="POST").respond_with_json({"id": 7}, status=201)
    outputs = send(
        method="POST",
        uri=httpserver.url_for("/orders"),
        headers={"X-Source": "bcsite"},
        body={"customer": "C0001", "lines": [1, 2]},
    )
    request = httpserver.log[-1][0]
    assert outputs == {
        "statusCode": 201,
        "headers": outputs["headers"],
        "body": {"id": 7},
    }
    assert json.loads(request.get_data()) == {"customer": "C0001", "lines": [1, 2]}
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["X-Source"] == "bcsite"
    assert request.headers["Idempotency-Key"] == f"{flow_run.system_id}:Call_partner"


@pytest.mark.slow
def test_a_text_body_is_sent_as_text_and_a_text_response_read_as_text(httpserver, send):
    httpserver.expect_request("/echo", method="PUT").respond_with_data(
        "fine, thanks", content_type="text/plain; charset=utf-8"
    )
    outputs = send(method="PUT", uri=httpserver.url_for("/echo"), body="hello there")
    assert outputs["body"] == "fine, thanks"
    request = httpserver.log[-1][0]
    assert request.get_data() == b"hello there"
    assert request.headers["Content-Type"].startswith("text/plain")


@pytest.mark.slow
def test_a_binary_response_comes_back_as_content(httpserver, send):
    httpserver.expect_request("/logo").respond_with_data(
        b"\x89PNG\x00\x01", content_type="image/png"
    )
    body = send(method="GET", uri=httpserver.url_for("/logo"))["body"]
    assert body["$content-type"] == "image/png"
    assert base64.b64decode(body["$content"]) == b"\x89PNG\x00\x01"


@pytest.mark.slow
@pytest.mark.parametrize(
    ("auth", "expected_header", "expected_query"),
    [
        (
            {"type": "basic", "username": "api", "password": "s3cret"},
            "Basic " + base64.b64encode(b"api:s3cret").decode(),
            None,
        ),
        ({"type": "bearer", "token": "tok-123"}, "Bearer tok-123", None),
        ({"type": "apikey", "name": "code", "value": "k-1", "in": "query"}, None, "k-1"),
    ],
)
def test_authentication_is_added(httpserver, send, auth, expected_header, expected_query):
    httpserver.expect_request("/secure").respond_with_data("ok")
    send(method="GET", uri=httpserver.url_for("/secure"), authentication=auth)
    request = httpserver.log[-1][0]
    assert request.headers.get("Authorization") == expected_header
    assert request.args.get("code") == expected_query


@pytest.mark.slow
def test_an_api_key_goes_in_a_header(httpserver, send):
    httpserver.expect_request("/secure").respond_with_data("ok")
    send(
        method="DELETE",
        uri=httpserver.url_for("/secure"),
        authentication={"type": "apikey", "name": "X-Api-Key", "value": "k-2"},
    )
    assert httpserver.log[-1][0].headers["X-Api-Key"] == "k-2"


@pytest.mark.slow
@pytest.mark.parametrize("status", [408, 429, 500, 503])
def test_transient_failures_are_retryable(httpserver, send, status):
    httpserver.expect_request("/flaky").respond_with_data(
        "busy", status=status, headers={"Retry-After": "3"}
    )
    with pytest.raises(ActionError) as failed:
        send(method="GET", uri=httpserver.url_for("/flaky"))
    assert failed.value.retryable is True
    assert failed.value.details["statusCode"] == status
    assert failed.value.details["retryAfter"] == "3"


@pytest.mark.slow
@pytest.mark.parametrize("status", [400, 401, 403, 404, 422])
def test_refusals_are_not_retried(httpserver, send, status):
    httpserver.expect_request("/nope").respond_with_json({"error": "bad"}, status=status)
    with pytest.raises(ActionError) as failed:
        send(method="POST", uri=httpserver.url_for("/nope"), body={})
    assert failed.value.retryable is False
    assert failed.value.details == {"statusCode": status, "body": {"error": "bad"}}
    assert str(status) in failed.value.message


@pytest.mark.slow
def test_a_redirect_on_the_same_server_is_followed(httpserver, send):
    httpserver.expect_request("/old").respond_with_data(
        "", status=301, headers={"Location": "/new"}
    )
    httpserver.expect_request("/new").respond_with_json({"moved": True})
    assert send(method="GET", uri=httpserver.url_for("/old"))["body"] == {"moved": True}


@pytest.mark.slow
def test_a_redirect_to_the_metadata_service_is_refused(httpserver, send):
    httpserver.expect_request("/sneaky").respond_with_data(
        "", status=302, headers={"Location": "http://169.254.169.254/latest/meta-data/iam/"}
    )
    with pytest.raises(ActionError, match=re.escape("169.254.169.254 is link-local")):
        send(method="GET", uri=httpserver.url_for("/sneaky"))


@pytest.mark.slow
def test_a_slow_server_times_out_retryably(httpserver, send):
    def slow(request):
        time.sleep(1.5)
        return Response("late")

    httpserver.expect_request("/slow").respond_with_handler(slow)
    with pytest.raises(ActionError) as failed:
        send(method="GET", uri=httpserver.url_for("/slow"), timeout=1)
    assert failed.value.retryable is True
    assert "timed out" in failed.value.message
    # Once its retries are spent, the step ends as TimedOut rather than Failed.
    assert failed.value.code == "Timeout"


@pytest.mark.slow
def test_a_response_over_5_mb_is_refused(httpserver, send):
    httpserver.expect_request("/huge").respond_with_data(b"x" * (5 * 1024 * 1024 + 1))
    with pytest.raises(ActionError, match="larger than 5 MB"):
        send(method="GET", uri=httpserver.url_for("/huge"))


def test_internal_addresses_are_refused_without_allow_list(settings, send):
    settings.AUTOMATE_HTTP_ALLOWED_NETWORKS = []
    for uri in ("http://127.0.0.1:9/", "http://10.0.0.1/", "http://[::1]/"):
        with pytest.raises(ActionError, match="flows may not call it"):
            send(method="GET", uri=uri)


@pytest.mark.parametrize(
    ("inputs", "message"),
    [
        ({"method": "TRACE", "uri": "http://127.0.0.1/"}, "The method must be one of"),
        ({"method": "GET", "uri": ""}, "Give the URI"),
        ({"method": "GET", "uri": "http://127.0.0.1/", "timeout": 500}, "between 1 and 120"),
        ({"method": "GET", "uri": "http://127.0.0.1/", "headers": ["x"]}, "Headers must be"),
        (
            {"method": "GET", "uri": "http://127.0.0.1/", "headers": {"X-A": "1\r\nX-B: 2"}},
            "line breaks",
        ),
        (
            {"method": "GET", "uri": "http://127.0.0.1/", "headers": {"Bad Name": "1"}},
            "header name",
        ),
        (
            {"method": "GET", "uri": "http://127.0.0.1/", "authentication": {"type": "ntlm"}},
            "authentication type",
        ),
        (
            {"method": "GET", "uri": "http://127.0.0.1/", "authentication": {"type": "bearer"}},
            "needs a token",
        ),
    ],
)
def test_bad_inputs_are_refused_before_any_request(send, inputs, message):
    with pytest.raises(ActionError, match=message) as refused:
        send(**inputs)
    assert refused.value.retryable is False
