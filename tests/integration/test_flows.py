"""Flows on a real Celery worker process and the real Redis: started from a page, and
surviving a worker killed in the middle of a run."""

import io
import threading
import time
from decimal import Decimal

import openpyxl
import pytest
from django.test import Client
from django.urls import reverse
from werkzeug import Response

from automate.engine.runner import automate_tick
from automate.gallery import GALLERY
from automate.models import FlowRun, RunStatus, SentEmail
from automate.services import flow_create, instant_flow_run
from records.models import Customer
from tests.factories import CustomerFactory, ItemFactory
from tests.smtp import smtp_server
from tests.workers import _delete_queue, routed_to, start_worker

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def wait_for(condition, *, timeout=60, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = condition()
        if result:
            return result
        time.sleep(0.1)
    pytest.fail(f"Timed out waiting for {what}")


def finished(run_id):
    run = FlowRun.objects.get(pk=run_id)
    return run if run.is_finished else None


def test_a_flow_run_from_a_card_completes_on_the_worker(celery_worker_process, company, sales):
    template = GALLERY["block-selected-customer"]
    flow = flow_create(
        company=company, owner=sales, name=template.title, definition=template.definition
    )
    customer = CustomerFactory(company=company, name="Adatum Corporation")
    client = Client()
    client.force_login(sales)
    url = reverse("page-action", args=["customers", customer.pk, f"run-flow-{flow.pk}"])

    response = client.post(url, {"confirmed": "1"})

    assert response.status_code == 302
    run = FlowRun.objects.get(flow=flow)
    assert response["Location"].startswith(reverse("automate:run-progress"))
    run = celery_worker_process.wait_until(lambda: finished(run.pk), what="the run to finish")
    assert run.status == RunStatus.SUCCEEDED, run.error
    customer.refresh_from_db()
    assert customer.blocked == Customer.Blocked.ALL
    progress = client.get(response["Location"]).content.decode()
    assert "Succeeded" in progress


@pytest.fixture
def inbox():
    with smtp_server() as server:
        yield server


def kill_test_flow(company, owner, *, teams_url, slow_url):
    """Teams, then a mail with a workbook, then a slow call (where the worker dies), then a
    change to the customer."""
    steps = [
        {
            "name": "Tell_the_channel",
            "type": "teams.post_message",
            "inputs": {"webhook_url": teams_url, "message": "Starting @{triggerBody()?['number']}"},
        },
        {
            "name": "Create_workbook",
            "type": "excel.create_workbook",
            "inputs": {
                "rows": [{"No.": "@{triggerBody()?['number']}", "Balance": 12.5}],
                "file_name": "customer.xlsx",
            },
        },
        {
            "name": "Send_an_email",
            "type": "outlook.send_email",
            "inputs": {
                "to": "buyer@adatum.example",
                "subject": "Customer @{triggerBody()?['number']}",
                "body": "<p>Attached.</p>",
                "attachments": ["@body('Create_workbook')"],
            },
        },
        {"name": "Slow_call", "type": "http.request", "inputs": {"method": "GET", "uri": slow_url}},
        {
            "name": "Rename",
            "type": "business_central.update_record",
            "inputs": {
                "table": 18,
                "id": "@{triggerBody()?['recordId']}",
                "fields": {"displayName": "Adatum (checked @{body('Slow_call')})"},
            },
        },
    ]
    return flow_create(
        company=company,
        owner=owner,
        name="Survives a dead worker",
        definition={
            "schemaVersion": 1,
            "trigger": {"type": "selected_record", "table": 18, "inputs": []},
            "steps": steps,
        },
    )


def test_a_worker_killed_mid_run_leaves_no_side_effect_done_twice(
    company, sales, inbox, httpserver, worker_url, tmp_path
):
    handler, smtp_port = inbox
    slow_started = threading.Event()
    slow_calls = []

    def slow(request):
        slow_calls.append(time.monotonic())
        if len(slow_calls) == 1:
            slow_started.set()
            time.sleep(3)  # the worker is killed while this call is in flight
        return Response("ok")

    httpserver.expect_request("/teams", method="POST").respond_with_data("1")
    httpserver.expect_request("/slow").respond_with_handler(slow)
    customer = CustomerFactory(company=company, no="C10000", name="Adatum")
    flow = kill_test_flow(
        company,
        sales,
        teams_url=httpserver.url_for("/teams"),
        slow_url=httpserver.url_for("/slow"),
    )
    env = {
        "AUTOMATE_HTTP_ALLOWED_NETWORKS": "127.0.0.0/8",
        "AUTOMATE_RUN_LEASE_SECONDS": "2",
        "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "EMAIL_HOST": "127.0.0.1",
        "EMAIL_PORT": str(smtp_port),
        "MEDIA_ROOT": str(tmp_path / "media"),
    }
    first = start_worker(worker_url, tmp_path / "first.log", env=env)
    second = None
    try:
        with routed_to(first.queue):
            run = instant_flow_run(flow=flow, record=customer, user=sales)
            assert slow_started.wait(60), first.log()[-3000:]
            first.kill()
        second = start_worker(worker_url, tmp_path / "second.log", env=env)
        with routed_to(second.queue):
            # The tick hands the run on once the dead worker's lease has run out.
            def recovered():
                automate_tick()
                return finished(run.pk)

            run = wait_for(recovered, timeout=60, what="the run to be recovered")
    finally:
        for worker in (first, second):
            if worker is not None:
                worker.stop()
                _delete_queue(worker.queue)

    assert run.status == RunStatus.SUCCEEDED, (run.error, second.log()[-3000:])
    assert run.deliveries == 2
    attempts = dict(run.steps.values_list("name", "attempts"))
    assert attempts == {
        "Tell_the_channel": 1,
        "Create_workbook": 1,
        "Send_an_email": 1,
        "Slow_call": 2,  # a GET is safe to make again
        "Rename": 1,
    }
    teams_posts = [r for r, _ in httpserver.log if r.path == "/teams"]
    assert len(teams_posts) == 1
    assert len(slow_calls) == 2
    [mail] = handler.messages
    assert SentEmail.objects.count() == 1
    [attachment] = [p for p in mail["message"].iter_attachments()]
    sheet = openpyxl.load_workbook(io.BytesIO(attachment.get_content())).active
    assert list(sheet.iter_rows(values_only=True)) == [("No.", "Balance"), ("C10000", 12.5)]
    customer.refresh_from_db()
    assert customer.name == "Adatum (checked ok)"


def test_the_http_action_refuses_private_addresses_on_the_worker(
    celery_worker_process, company, sales
):
    steps = [
        {
            "name": f"Call_{n}",
            "type": "http.request",
            "inputs": {"method": "GET", "uri": uri},
            "runAfter": ["Succeeded", "Failed"],
        }
        for n, uri in enumerate(
            ("http://169.254.169.254/latest/meta-data/", "http://10.0.0.1/admin")
        )
    ]
    flow = flow_create(
        company=company,
        owner=sales,
        name="Reach inside",
        definition={
            "schemaVersion": 1,
            "trigger": {"type": "selected_record", "table": 27, "inputs": []},
            "steps": steps,
        },
    )
    item = ItemFactory(company=company, unit_price=Decimal("1"))
    run = instant_flow_run(flow=flow, record=item, user=sales)
    run = celery_worker_process.wait_until(lambda: finished(run.pk), what="the run to finish")
    assert run.status == RunStatus.FAILED
    errors = [row.error["message"] for row in run.steps.order_by("position")]
    assert "169.254.169.254" in errors[0] and "10.0.0.1" in errors[1]
    assert all(not row.error["retryable"] for row in run.steps.all())
