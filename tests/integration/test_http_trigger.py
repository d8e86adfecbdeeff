"""HTTP-triggered flows on a real Celery worker process, Redis and a live server.

The caller's request waits in the web process while a worker runs the flow; the Response
step's answer reaches it through Redis. The example call the flow's page shows (curl,
signed with openssl) works as printed. The same paths run in one process in
tests/automate/test_http_trigger.py.
"""

import html
import json
import re
import subprocess
import time
import urllib.error
import urllib.request

import pytest
from django.test import Client
from django.urls import reverse

from automate.models import FlowRun, RunStatus
from automate.services import flow_create

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

RESPOND = {
    "name": "Respond",
    "type": "request.response",
    "inputs": {
        "statusCode": 201,
        "headers": {"X-Order": "@{triggerBody()?['number']}"},
        "body": {"received": "@body('Compose')", "run": "@{workflow()?['run']?['name']}"},
    },
}
COMPOSE = {
    "name": "Compose",
    "type": "data.compose",
    "inputs": {"value": "@toUpper(triggerBody()?['number'])"},
}


def http_flow(company, owner, *, steps, **trigger):
    return flow_create(
        company=company,
        owner=owner,
        name="Webhook",
        definition={
            "schemaVersion": 1,
            "trigger": {"type": "http_request", **trigger},
            "steps": steps,
        },
    )


def post(url: str, body: dict, timeout: float = 60):
    request = urllib.request.Request(
        url,
        data=json.dumps(body).encode(),
        method="POST",
        headers={"Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def hook_url(live_server, flow) -> str:
    path = reverse("automate:hook", args=[flow.system_id])
    return f"{live_server.url}{path}?sig={flow.http_key}"


def test_the_caller_waits_for_the_response_the_worker_sends(
    celery_worker_process, live_server, company, sales
):
    flow = http_flow(company, sales, steps=[COMPOSE, RESPOND])

    status, headers, content = post(hook_url(live_server, flow), {"number": "s-ord101001"})

    assert status == 201, content
    run = FlowRun.objects.get(flow=flow)
    assert json.loads(content) == {"received": "S-ORD101001", "run": str(run.system_id)}
    assert headers["X-Order"] == "s-ord101001"
    assert headers["Content-Type"] == "application/json"
    run = celery_worker_process.wait_until(
        lambda: FlowRun.objects.filter(pk=run.pk, status=RunStatus.SUCCEEDED).first(),
        what="the run to succeed",
    )
    # The worker ran it: the web process only waited.
    assert run.deliveries == 1
    assert "flow_run_execute_task" in celery_worker_process.log()


def test_without_a_response_step_the_caller_is_answered_at_once(
    celery_worker_process, live_server, company, sales, settings
):
    settings.SITE_URL = live_server.url
    flow = http_flow(company, sales, steps=[COMPOSE])

    status, headers, content = post(hook_url(live_server, flow), {"number": "x"})

    assert status == 202
    run = FlowRun.objects.get(flow=flow)
    assert json.loads(content) == {"runId": str(run.system_id), "status": "queued"}
    assert headers["Location"] == live_server.url + reverse("automate:run-detail", args=[run.pk])
    celery_worker_process.wait_until(
        lambda: FlowRun.objects.filter(pk=run.pk, status=RunStatus.SUCCEEDED).exists(),
        what="the run to succeed",
    )


def test_the_example_on_the_flows_page_works_as_printed(
    celery_worker_process, live_server, company, sales, settings
):
    settings.SITE_URL = live_server.url
    schema = {"type": "object", "properties": {"number": {"type": "string"}}}
    flow = http_flow(company, sales, steps=[COMPOSE, RESPOND], requireSignature=True, schema=schema)
    page = Client()
    page.force_login(sales)
    content = page.get(reverse("automate:flow-edit", args=[flow.pk])).content.decode()
    example = html.unescape(
        re.search(r'<textarea id="http-trigger-curl"[^>]*>(.*?)</textarea>', content, re.S)[1]
    )
    assert "X-Bcsite-Signature" in example

    started = time.monotonic()
    result = subprocess.run(
        ["bash", "-c", example.replace("curl ", "curl --silent --show-error ", 1)],
        capture_output=True,
        text=True,
        timeout=90,
    )

    assert result.returncode == 0, result.stderr
    run = FlowRun.objects.get(flow=flow)
    assert json.loads(result.stdout) == {"received": "TEXT", "run": str(run.system_id)}
    assert time.monotonic() - started < 60
