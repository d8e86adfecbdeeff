"""The "When an HTTP request is received" trigger, its URL, and the Response action.

Celery runs eagerly here: in the tests marked ``transaction=True`` the run executes inside
the request, so a Response step has answered by the time the view looks for it. A real
worker and Redis answering a waiting caller are in tests/integration/test_http_trigger.py.
"""

import datetime
import hashlib
import hmac
import json
import threading
import time
from urllib.parse import urlencode

import pytest
from django.contrib.messages import get_messages
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from automate.connectors import ActionError, find_action
from automate.connectors.request import (
    RESPONSE_KEY_SECONDS,
    redis_client,
    response_key,
    response_publish,
)
from automate.models import Flow, FlowRun, RunStatus, StepRun, StepStatus
from automate.services import flow_create
from records.models import Membership

pytestmark = pytest.mark.django_db

COMPOSE = [{"name": "Compose", "type": "data.compose", "inputs": {"value": "@triggerBody()"}}]
RESPOND = {
    "name": "Respond",
    "type": "request.response",
    "inputs": {
        "statusCode": 201,
        "headers": {"X-Order": "@{triggerBody()?['number']}", "Cache-Control": "no-store"},
        "body": {
            "received": "@triggerBody()?['number']",
            "source": "@triggerOutputs()?['queries']?['source']",
        },
    },
}


def http_flow(company, owner, *, steps=None, name="Webhook", enabled=True, **trigger):
    return flow_create(
        company=company,
        owner=owner,
        name=name,
        definition={
            "schemaVersion": 1,
            "trigger": {"type": "http_request", **trigger},
            "steps": steps or COMPOSE,
        },
        enabled=enabled,
    )


def hook_url(flow, key=None, **queries):
    return (
        reverse("automate:hook", args=[flow.system_id])
        + "?"
        + urlencode({"sig": flow.http_key if key is None else key, **queries})
    )


def call(client, flow, body=b"", *, method="POST", key=None, headers=None, queries=None, **kw):
    data = body if isinstance(body, bytes | str) else json.dumps(body)
    return client.generic(
        method,
        hook_url(flow, key, **(queries or {})),
        data,
        content_type=kw.get("content_type", "application/json"),
        headers=headers or {},
    )


def signed(flow, body: bytes, *, at=None, secret=None) -> dict:
    stamp = str(int(time.time() if at is None else at))
    key = (secret or flow.signing_secret).encode()
    digest = hmac.new(key, stamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return {"X-Bcsite-Timestamp": stamp, "X-Bcsite-Signature": f"sha256={digest}"}


def error_of(response) -> dict:
    assert response["Content-Type"] == "application/json"
    return response.json()["error"]


# -- Starting a run -------------------------------------------------------------------------


def test_a_request_starts_a_run_and_answers_202_with_its_id(client, company, sales, settings):
    settings.SITE_URL = "https://erp.example.com"
    flow = http_flow(company, sales)

    response = call(
        client,
        flow,
        {"number": "S-ORD101001", "lines": [1, 2]},
        queries={"source": "shop", "page": "2"},
        headers={
            "X-Event": "order.created",
            "Cookie": "sessionid=stolen",
            "Authorization": "Bearer secret",
        },
    )

    assert response.status_code == 202
    run = FlowRun.objects.get(flow=flow)
    assert response.json() == {"runId": str(run.system_id), "status": "queued"}
    assert response["Location"] == "https://erp.example.com" + reverse(
        "automate:run-detail", args=[run.pk]
    )
    data = run.trigger_data
    assert data["body"] == {"number": "S-ORD101001", "lines": [1, 2]}
    assert data["method"] == "POST"
    # The key in the URL is a secret: the run does not keep it.
    assert data["queries"] == {"source": "shop", "page": "2"}
    assert data["headers"]["x-event"] == "order.created"
    assert data["headers"]["content-type"] == "application/json"
    assert "cookie" not in data["headers"]
    assert "authorization" not in data["headers"]
    assert run.triggered_by is None
    assert run.idempotency_key.startswith("http:")
    assert run.status == RunStatus.QUEUED


def test_an_empty_body_without_a_schema_is_null(client, company, sales):
    flow = http_flow(company, sales)
    assert call(client, flow, b"").status_code == 202
    assert FlowRun.objects.get(flow=flow).trigger_data["body"] is None


def test_the_body_is_read_as_json_whatever_its_content_type(client, company, sales):
    flow = http_flow(company, sales)
    response = call(client, flow, b'{"a": 1}', content_type="text/plain")
    assert response.status_code == 202
    assert FlowRun.objects.get(flow=flow).trigger_data["body"] == {"a": 1}


def test_the_trigger_method_is_the_one_accepted(client, company, sales):
    flow = http_flow(company, sales, method="PUT")
    assert call(client, flow, {"a": 1}, method="PUT").status_code == 202
    for method in ("POST", "GET", "PATCH", "DELETE", "HEAD", "OPTIONS"):
        response = call(client, flow, {"a": 1}, method=method)
        assert response.status_code == 405, method
        assert response["Allow"] == "PUT"
        if method != "HEAD":
            assert error_of(response)["code"] == "MethodNotAllowed"
    assert FlowRun.objects.filter(flow=flow).count() == 1


def test_a_get_flow_starts_without_a_body(client, company, sales):
    flow = http_flow(company, sales, method="GET")
    response = client.get(hook_url(flow, q="1"))
    assert response.status_code == 202
    run = FlowRun.objects.get(flow=flow)
    assert (run.trigger_data["body"], run.trigger_data["method"]) == (None, "GET")
    assert run.trigger_data["queries"] == {"q": "1"}


# -- The key --------------------------------------------------------------------------------


def test_unknown_flows_and_wrong_keys_get_the_same_401(client, company, sales):
    flow = http_flow(company, sales)
    record_flow = flow_create(
        company=company,
        owner=sales,
        name="Record",
        definition={
            "schemaVersion": 1,
            "trigger": {"type": "selected_record", "table": 18, "inputs": []},
            "steps": COMPOSE,
        },
    )
    Flow.objects.filter(pk=record_flow.pk).update(http_key=flow.http_key)
    base = reverse("automate:hook", args=[flow.system_id])
    refused = [
        call(client, flow, {"a": 1}, key="wrong"),
        call(client, flow, {"a": 1}, key=""),
        client.post(base, b"{}", content_type="application/json"),
        call(client, flow, {"a": 1}, key=flow.http_key[:-1]),
        call(client, flow, {"a": 1}, key="ключ"),
        client.post(
            reverse("automate:hook", args=["not-a-uuid"]) + f"?sig={flow.http_key}", b"{}", "x/y"
        ),
        client.post(
            reverse("automate:hook", args=["00000000-0000-0000-0000-000000000000"])
            + f"?sig={flow.http_key}",
            b"{}",
            "application/json",
        ),
        # Only flows started by a request have a URL.
        call(client, record_flow, {"a": 1}, key=flow.http_key),
        # The key is checked before the method.
        call(client, flow, {"a": 1}, key="wrong", method="GET"),
    ]
    for response in refused:
        assert response.status_code == 401
        assert error_of(response)["code"] == "Unauthorized"
    assert len({r.content for r in refused}) == 1
    assert not FlowRun.objects.exists()


def test_the_hook_needs_no_session_and_no_csrf_token(company, sales):
    from django.test import Client

    flow = http_flow(company, sales)
    strict = Client(enforce_csrf_checks=True)
    assert call(strict, flow, {"a": 1}).status_code == 202


# -- Size, signature, state -----------------------------------------------------------------


def test_a_body_over_one_megabyte_is_413(client, company, sales):
    flow = http_flow(company, sales)
    at_limit = b'"' + b"a" * (1024 * 1024 - 2) + b'"'
    assert call(client, flow, at_limit).status_code == 202
    response = call(client, flow, at_limit + b" ")
    assert response.status_code == 413
    assert error_of(response)["code"] == "PayloadTooLarge"
    assert FlowRun.objects.filter(flow=flow).count() == 1


def test_a_signed_request_starts_the_flow(client, company, sales):
    flow = http_flow(company, sales, requireSignature=True)
    body = b'{"number": "S-1"}'
    assert call(client, flow, body, headers=signed(flow, body)).status_code == 202
    near_edge = signed(flow, body, at=time.time() - 290)
    assert call(client, flow, body, headers=near_edge).status_code == 202
    assert FlowRun.objects.filter(flow=flow).count() == 2


@pytest.mark.parametrize(
    "case",
    [
        "missing",
        "timestamp only",
        "wrong secret",
        "other body",
        "stale",
        "from the future",
        "not hex",
        "no prefix",
        "unicode digits",
        "huge timestamp",
    ],
)
def test_a_bad_or_missing_signature_is_403(client, company, sales, case):
    flow = http_flow(company, sales, requireSignature=True)
    body = b'{"number": "S-1"}'
    good = signed(flow, body)
    headers = {
        "missing": {},
        "timestamp only": {"X-Bcsite-Timestamp": good["X-Bcsite-Timestamp"]},
        "wrong secret": signed(flow, body, secret="not-the-secret"),
        "other body": signed(flow, b'{"number": "S-2"}'),
        "stale": signed(flow, body, at=time.time() - 310),
        "from the future": signed(flow, body, at=time.time() + 310),
        "not hex": {**good, "X-Bcsite-Signature": "sha256=" + "z" * 64},
        "no prefix": {**good, "X-Bcsite-Signature": good["X-Bcsite-Signature"][7:]},
        "unicode digits": {**good, "X-Bcsite-Timestamp": "\u0661\u0667" + "\u0660" * 8},
        "huge timestamp": {**good, "X-Bcsite-Timestamp": "9" * 40},
    }[case]
    response = call(client, flow, body, headers=headers)
    assert response.status_code == 403
    assert error_of(response)["code"] == "InvalidSignature"
    assert not FlowRun.objects.exists()


def test_a_flow_that_is_off_answers_409(client, company, sales):
    flow = http_flow(company, sales, enabled=False)
    response = call(client, flow, {"a": 1})
    assert response.status_code == 409
    assert error_of(response) == {"code": "FlowOff", "message": "The flow is off."}
    Flow.objects.filter(pk=flow.pk).update(enabled=True)
    assert call(client, flow, {"a": 1}).status_code == 202


@pytest.mark.parametrize("why", ["inactive", "left the company"])
def test_an_owner_who_may_not_automate_gets_403_with_the_reason(client, company, sales, why):
    flow = http_flow(company, sales)
    if why == "inactive":
        sales.is_active = False
        sales.save()
    else:
        Membership.objects.filter(user=sales).delete()
    response = call(client, flow, {"a": 1})
    assert response.status_code == 403
    error = error_of(response)
    assert error["code"] == "Forbidden"
    assert "sales" in error["message"]
    assert ("no longer an active user" if why == "inactive" else "no longer a user") in error[
        "message"
    ]
    assert not FlowRun.objects.exists()


# -- The body -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"\xff\xfe\x00\x01binary\x89PNG\r\n\x1a\n",
        b'{"a": 1} trailing',
        b"{'a': 1}",
        b'{"a": NaN}',
        b"[Infinity]",
        b"1e999",
        b"-1e400",
        b"1" * 5000,
        b"[" * 100_000,
        b"[" * 65 + b"]" * 65,
        b'{"a":' * 70 + b"1" + b"}" * 70,
        b'"\\ud800"',
        b'{"\\udfff": 1}',
        b"a=1&b=2",
    ],
    ids=lambda body: body[:24].decode("latin-1"),
)
def test_a_body_that_is_not_usable_json_is_400(client, company, sales, body):
    flow = http_flow(company, sales)
    response = call(client, flow, body)
    assert response.status_code == 400
    assert error_of(response)["code"] == "InvalidJson"
    assert not FlowRun.objects.exists()


def test_too_many_query_parameters_are_refused_in_json(client, company, sales):
    flow = http_flow(company, sales)
    url = hook_url(flow) + "&" + "&".join(f"q{n}=1" for n in range(1200))
    response = client.post(url, b"{}", content_type="application/json")
    assert response.status_code == 400
    assert error_of(response)["code"] == "BadRequest"


JSON_FRAGMENTS = st.sampled_from(
    ["{", "}", "[", "]", ",", ":", '"', "\\", "\\u", "d800", "1e", "999", "-", ".", "0", "NaN"]
)


@given(
    body=st.one_of(
        st.binary(max_size=300),
        st.lists(JSON_FRAGMENTS, max_size=40).map(lambda parts: "".join(parts).encode()),
    ),
    content_type=st.sampled_from(
        ["application/json", "text/plain", "multipart/form-data; boundary=x", "", "x/\u00ff"]
    ),
)
@hypothesis_settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_no_body_and_no_content_type_gets_a_500(client, company, sales, body, content_type):
    flow = Flow.objects.filter(name="Fuzzed").first() or http_flow(company, sales, name="Fuzzed")
    response = call(client, flow, body, content_type=content_type)
    assert response.status_code in (202, 400), response.content
    if response.status_code == 400:
        assert error_of(response)["code"] == "InvalidJson"


def test_a_multipart_form_is_not_json(client, company, sales):
    flow = http_flow(company, sales)
    response = client.post(hook_url(flow), {"field": "value", "file": b"x"})
    assert response.status_code == 400
    assert error_of(response)["code"] == "InvalidJson"


def test_large_but_reasonable_json_is_accepted(client, company, sales):
    flow = http_flow(company, sales)
    deep = b"[" * 64 + b"]" * 64
    assert call(client, flow, deep).status_code == 202
    big = "9" * 4000
    assert call(client, flow, f'{{"n": {big}, "f": 1.5e300}}'.encode()).status_code == 202
    bodies = [r.trigger_data["body"] for r in FlowRun.objects.filter(flow=flow).order_by("pk")]
    assert bodies[1] == {"n": int(big), "f": 1.5e300}


SCHEMA = {
    "type": "object",
    "properties": {"orderNumber": {"type": "string"}, "quantity": {"type": "integer"}},
    "required": ["orderNumber"],
}


def test_a_body_that_matches_the_schema_starts_the_flow(client, company, sales):
    flow = http_flow(company, sales, schema=SCHEMA)
    assert call(client, flow, {"orderNumber": "S-1", "quantity": 2}).status_code == 202


@pytest.mark.parametrize(
    ("body", "path", "message"),
    [
        ({"orderNumber": "S-1", "quantity": "two"}, "$.quantity", "'two' is not of type"),
        ({"quantity": 2}, "$", "'orderNumber' is a required property"),
        ([1, 2], "$", "is not of type 'object'"),
        (b"", "$", "None is not of type 'object'"),
    ],
)
def test_a_body_that_fails_the_schema_is_400_with_the_path(
    client, company, sales, body, path, message
):
    flow = http_flow(company, sales, schema=SCHEMA)
    response = call(client, flow, body)
    assert response.status_code == 400
    error = error_of(response)
    assert error["code"] == "TriggerInputSchemaMismatch"
    assert error["path"] == path
    assert message in error["message"]
    assert not FlowRun.objects.exists()


def test_a_schema_that_cannot_resolve_is_the_flows_problem_not_a_500(client, company, sales):
    flow = http_flow(company, sales, schema={"$ref": "https://schemas.example.com/order.json"})
    response = call(client, flow, {"a": 1})
    assert response.status_code == 409
    assert error_of(response)["code"] == "InvalidSchema"


# -- Idempotency and conditions -------------------------------------------------------------


def test_a_repeated_idempotency_key_answers_for_the_first_run(client, company, sales):
    flow = http_flow(company, sales)
    other = http_flow(company, sales, name="Other")
    first = call(client, flow, {"a": 1}, headers={"Idempotency-Key": "order-7"})
    again = call(client, flow, {"a": 1}, headers={"Idempotency-Key": "order-7"})
    fresh = call(client, flow, {"a": 1}, headers={"Idempotency-Key": "order-8"})
    elsewhere = call(client, other, {"a": 1}, headers={"Idempotency-Key": "order-7"})

    assert first.status_code == again.status_code == 202
    assert first.json() == again.json()
    assert first["Location"] == again["Location"]
    assert fresh.json()["runId"] != first.json()["runId"]
    assert FlowRun.objects.filter(flow=flow).count() == 2
    assert FlowRun.objects.get(flow=other).idempotency_key == f"http:{other.pk}:order-7"
    assert elsewhere.json()["runId"] != first.json()["runId"]
    run = FlowRun.objects.get(system_id=first.json()["runId"])
    assert run.idempotency_key == f"http:{flow.pk}:order-7"


@pytest.mark.parametrize("key", ["", "two words", "x" * 151, "clé"])
def test_an_unusable_idempotency_key_is_400(client, company, sales, key):
    flow = http_flow(company, sales)
    response = call(client, flow, {"a": 1}, headers={"Idempotency-Key": key})
    assert response.status_code == 400
    assert error_of(response)["code"] == "InvalidIdempotencyKey"


def test_a_condition_that_does_not_hold_skips_with_202(client, company, sales):
    condition = "@equals(triggerOutputs()?['headers']?['x-event'], 'order.created')"
    flow = http_flow(company, sales, conditions=[condition])

    skipped = call(client, flow, {"a": 1}, headers={"X-Event": "order.deleted"})
    started = call(client, flow, {"a": 1}, headers={"X-Event": "order.created"})

    assert skipped.status_code == 202
    assert skipped.json() == {
        "status": "skipped",
        "reason": f"Trigger condition 1 was not met: {condition}",
    }
    assert started.status_code == 202
    assert started.json()["status"] == "queued"
    assert FlowRun.objects.filter(flow=flow).count() == 1


# -- The Response action --------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_a_response_step_answers_the_caller(client, company, sales):
    flow = http_flow(company, sales, steps=[RESPOND])

    response = call(client, flow, {"number": "S-ORD101001"}, queries={"source": "shop"})

    assert response.status_code == 201
    assert response["Content-Type"] == "application/json"
    assert response["X-Order"] == "S-ORD101001"
    assert response["Cache-Control"] == "no-store"
    assert json.loads(response.content) == {"received": "S-ORD101001", "source": "shop"}
    step = StepRun.objects.get(run__flow=flow, name="Respond")
    assert step.outputs == {
        "statusCode": 201,
        "headers": {"X-Order": "S-ORD101001", "Cache-Control": "no-store"},
        "body": {"received": "S-ORD101001", "source": "shop"},
    }
    # Answered, the caller's copy in Redis is gone.
    assert redis_client().exists(response_key(str(step.run.system_id))) == 0


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("inputs", "status", "content_type", "content"),
    [
        ({"body": "plain words"}, 200, "text/plain; charset=utf-8", b"plain words"),
        (
            {"body": "a;b\n1;2", "headers": {"Content-Type": "text/csv"}},
            200,
            "text/csv",
            b"a;b\n1;2",
        ),
        ({"statusCode": "202", "body": [1, True, None]}, 202, "application/json", b"[1,true,null]"),
        ({"statusCode": 204, "body": "dropped"}, 204, None, b""),
        (
            {"body": {"$content": "iVBORw0KGgo=", "$content-type": "image/png"}},
            200,
            "image/png",
            b"\x89PNG\r\n\x1a\n",
        ),
        ({"statusCode": 418}, 418, None, b""),
    ],
)
def test_the_response_carries_text_json_binary_or_nothing(
    client, company, sales, inputs, status, content_type, content
):
    flow = http_flow(
        company, sales, steps=[{"name": "Respond", "type": "request.response", "inputs": inputs}]
    )
    response = call(client, flow, {"a": 1})
    assert response.status_code == status
    assert response.get("Content-Type") == content_type
    assert response.content == content


@pytest.mark.django_db(transaction=True)
def test_a_run_that_ends_without_responding_answers_502_at_once(client, company, sales):
    not_taken = {
        "name": "Only_for_big_orders",
        "type": "control.condition",
        "inputs": {"expression": "@greater(triggerBody()?['amount'], 1000)"},
        "actions": [RESPOND],
        "else": [],
    }
    failing = [
        {"name": "Stop", "type": "control.terminate", "inputs": {"status": "Failed"}},
        {**RESPOND, "name": "Respond"},
    ]
    for name, steps in (("Branch", [not_taken]), ("Failing", failing)):
        flow = http_flow(company, sales, name=name, steps=steps)
        started = time.monotonic()
        response = call(client, flow, {"amount": 5})
        assert time.monotonic() - started < 5
        assert response.status_code == 502, name
        error = error_of(response)
        assert error["code"] == "NoResponse"
        run = FlowRun.objects.get(flow=flow)
        assert error["runId"] == str(run.system_id)
        assert run.status in (RunStatus.SUCCEEDED, RunStatus.FAILED)


@pytest.mark.django_db(transaction=True)
def test_a_response_that_does_not_come_in_time_is_504(client, company, sales, settings):
    settings.AUTOMATE_HTTP_RESPONSE_TIMEOUT = 1
    wait = {"name": "Wait", "type": "control.delay", "inputs": {"count": 1, "unit": "hour"}}
    flow = http_flow(company, sales, steps=[wait, RESPOND])
    started = time.monotonic()
    response = call(client, flow, {"number": "S-1"})
    assert 1 <= time.monotonic() - started < 5
    assert response.status_code == 504
    assert error_of(response)["code"] == "ResponseTimeout"
    assert FlowRun.objects.get(flow=flow).status == RunStatus.WAITING


@pytest.mark.django_db(transaction=True)
def test_a_second_response_in_a_run_fails_and_the_caller_has_the_first(client, company, sales):
    second = {
        "name": "Respond_again",
        "type": "request.response",
        "inputs": {"statusCode": 500, "body": "too late"},
    }
    flow = http_flow(company, sales, steps=[RESPOND, second])
    response = call(client, flow, {"number": "S-1"})
    assert response.status_code == 201
    step = StepRun.objects.get(run__flow=flow, name="Respond_again")
    assert step.status == StepStatus.FAILED
    assert step.error["code"] == "AlreadyResponded"


@pytest.mark.django_db(transaction=True)
def test_a_repeated_request_gets_the_same_response(client, company, sales):
    flow = http_flow(company, sales, steps=[RESPOND])
    headers = {"Idempotency-Key": "once"}
    first = call(client, flow, {"number": "S-1"}, headers=headers)
    again = call(client, flow, {"number": "S-2"}, headers=headers)
    assert first.status_code == again.status_code == 201
    assert first.content == again.content
    assert again["X-Order"] == "S-1"
    assert FlowRun.objects.filter(flow=flow).count() == 1


@pytest.mark.django_db(transaction=True)
def test_without_redis_the_response_still_arrives(client, company, sales, settings):
    # Nothing listens on port 1: publishing and waiting on Redis fail, the step's
    # outputs remain.
    settings.REDIS_URL = "redis://127.0.0.1:1/0"
    flow = http_flow(company, sales, steps=[RESPOND])
    response = call(client, flow, {"number": "S-1"})
    assert response.status_code == 201
    assert response["X-Order"] == "S-1"


def test_a_waiting_caller_wakes_on_the_response_pushed_through_redis(client, company, sales):
    flow = http_flow(company, sales, steps=[RESPOND])
    # A run the first request started, still going: the repeat waits for its Response.
    run = FlowRun.objects.create(
        flow=flow,
        version=flow.current_version,
        company=company,
        idempotency_key=f"http:{flow.pk}:pending",
        status=RunStatus.RUNNING,
        trigger_data={"body": {"number": "S-9"}},
        deadline=flow.created_at + datetime.timedelta(days=1),
    )
    outputs = {"statusCode": 207, "headers": {"X-From": "redis"}, "body": {"n": 9}}
    publisher = threading.Timer(
        0.3, response_publish, kwargs={"run_key": str(run.system_id), "outputs": outputs}
    )
    publisher.start()
    try:
        response = call(client, flow, {"number": "S-9"}, headers={"Idempotency-Key": "pending"})
    finally:
        publisher.join()
    # No step has recorded it: the answer came through Redis.
    assert not StepRun.objects.filter(run=run).exists()
    assert response.status_code == 207
    assert response["X-From"] == "redis"
    assert json.loads(response.content) == {"n": 9}
    assert redis_client().exists(response_key(str(run.system_id))) == 0


def test_the_response_is_pushed_to_redis_once_its_step_commits(
    action_call, flow_run, django_capture_on_commit_callbacks
):
    key = response_key(str(flow_run.system_id))
    client = redis_client()
    client.delete(key)
    action = find_action("request.response")
    with django_capture_on_commit_callbacks() as hooks:
        outputs = action.run(action_call({"statusCode": 200, "body": {"ok": True}}))
    assert client.llen(key) == 0
    for hook in hooks:
        hook()
    assert 0 < client.ttl(key) <= RESPONSE_KEY_SECONDS
    assert json.loads(client.lpop(key)) == outputs
    assert client.exists(key) == 0


@pytest.mark.parametrize(
    ("inputs", "message"),
    [
        ({"statusCode": 700}, "from 100 to 599"),
        ({"statusCode": 99}, "from 100 to 599"),
        ({"statusCode": True}, "from 100 to 599"),
        ({"statusCode": "teapot"}, "from 100 to 599"),
        ({"headers": {"Transfer-Encoding": "chunked"}}, "belongs to the connection"),
        ({"headers": {"connection": "@{triggerBody()}"}}, "belongs to the connection"),
        ({"headers": {"Bad Name": "x"}}, "not a valid header name"),
        ({"headers": ["X-A"]}, "must be an object"),
        ({"headers": {"X-A": "one\r\nX-B: two"}}, "line breaks"),
        ({"headers": {"X-A": {"nested": 1}}}, "must be text"),
    ],
)
def test_a_response_that_http_cannot_carry_is_refused_on_save(company, sales, inputs, message):
    step = {"name": "Respond", "type": "request.response", "inputs": inputs}
    with pytest.raises(ValidationError) as refused:
        http_flow(company, sales, steps=[step])
    assert message in " ".join(refused.value.messages)


def test_expressions_in_a_response_are_checked_when_it_runs(action_call):
    action = find_action("request.response")
    assert action.validate({"statusCode": "@triggerBody()?['code']"}) == []
    assert action.validate({"headers": "@triggerBody()"}) == []
    for inputs, message in (
        ({"statusCode": "600"}, "from 100 to 599"),
        ({"headers": {"Upgrade": "h2c"}}, "belongs to the connection"),
        ({"headers": {"X-A": "x" * 9000}}, "too long"),
    ):
        with pytest.raises(ActionError, match=message):
            action.run(action_call(inputs))


# -- Regenerating the keys ------------------------------------------------------------------


def test_regenerating_the_keys_refuses_the_old_ones(client, sales_client, company, sales):
    flow = http_flow(company, sales, requireSignature=True)
    old_key, old_secret = flow.http_key, flow.signing_secret

    response = sales_client.post(reverse("automate:flow-http-keys", args=[flow.pk]))

    assert response.status_code == 302
    assert response["Location"] == reverse("automate:flow-edit", args=[flow.pk])
    assert [str(m) for m in get_messages(response.wsgi_request)] == [
        "The flow has a new URL key and signing secret: callers with the old ones are refused "
        "from now on."
    ]
    flow.refresh_from_db()
    assert flow.http_key != old_key
    assert flow.signing_secret != old_secret
    body = b'{"a": 1}'
    assert call(client, flow, body, key=old_key, headers=signed(flow, body)).status_code == 401
    stale = signed(flow, body, secret=old_secret)
    assert call(client, flow, body, headers=stale).status_code == 403
    assert call(client, flow, body, headers=signed(flow, body)).status_code == 202


def test_regenerating_is_for_the_owner_and_admins_by_post_only(
    client, company, sales, colleague, admin_user, outsider
):
    flow = http_flow(company, sales)
    url = reverse("automate:flow-http-keys", args=[flow.pk])
    key = flow.http_key

    assert client.post(url).status_code == 302  # anonymous: to the sign-in page
    assert reverse("login") in client.post(url)["Location"]
    for user in (colleague, outsider):
        client.force_login(user)
        assert client.post(url).status_code == 404
    client.force_login(sales)
    assert client.get(url).status_code == 405
    flow.refresh_from_db()
    assert flow.http_key == key
    client.force_login(admin_user)
    assert client.post(url).status_code == 302
    flow.refresh_from_db()
    assert flow.http_key != key


def test_flows_without_an_http_trigger_have_no_keys_to_regenerate(sales_client, company, sales):
    flow = flow_create(
        company=company,
        owner=sales,
        name="Record",
        definition={
            "schemaVersion": 1,
            "trigger": {"type": "selected_record", "table": 18, "inputs": []},
            "steps": COMPOSE,
        },
    )
    response = sales_client.post(reverse("automate:flow-http-keys", args=[flow.pk]))
    assert response.status_code == 404


# -- The flow's page ------------------------------------------------------------------------


def test_the_designer_shows_the_url_the_secret_and_an_example(
    sales_client, company, sales, settings
):
    settings.SITE_URL = "https://erp.example.com"
    flow = http_flow(company, sales, requireSignature=True, schema=SCHEMA)

    content = sales_client.get(reverse("automate:flow-edit", args=[flow.pk])).content.decode()

    url = f"https://erp.example.com/automate/hooks/{flow.system_id}/?sig={flow.http_key}"
    assert f'value="{url}"' in content
    assert f'value="{flow.signing_secret}"' in content
    assert f"curl -X POST &#x27;{url}&#x27;" in content
    assert "openssl dgst -sha256 -hmac" in content
    assert "BODY=&#x27;{&quot;orderNumber&quot;: &quot;text&quot;, &quot;quantity&quot;: 1}" in (
        content
    )
    assert f'action="{reverse("automate:flow-http-keys", args=[flow.pk])}"' in content
    assert "Regenerate keys" in content


def test_without_signing_the_example_is_one_curl_call(sales_client, company, sales):
    flow = http_flow(company, sales, method="GET")
    content = sales_client.get(reverse("automate:flow-edit", args=[flow.pk])).content.decode()
    assert "curl -X GET" in content
    assert "Signing secret" not in content
    assert "--data" not in content


def test_the_url_section_costs_no_query_and_shows_only_for_http_flows(sales_client, company, sales):
    http = http_flow(company, sales)
    other = flow_create(
        company=company,
        owner=sales,
        name="Record",
        definition={
            "schemaVersion": 1,
            "trigger": {"type": "selected_record", "table": 18, "inputs": []},
            "steps": COMPOSE,
        },
    )
    counts = {}
    pages = {}
    for flow in (http, other):
        with CaptureQueriesContext(connection) as queries:
            pages[flow.pk] = sales_client.get(reverse("automate:flow-edit", args=[flow.pk]))
        counts[flow.pk] = len(queries)
    assert counts[http.pk] == counts[other.pk]
    assert "data-http-trigger" in pages[http.pk].content.decode()
    assert "data-http-trigger" not in pages[other.pk].content.decode()
    assert (
        "data-http-trigger" not in sales_client.get(reverse("automate:flow-new")).content.decode()
    )
