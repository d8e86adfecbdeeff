"""Failing flows: the streak of failed automated runs, the owner's mail, My flows' warning.

Runs go through the whole pipeline (a customer is created, its trigger event is delivered,
the run executes and ends), and the mail goes to a real SMTP server (aiosmtpd).
"""

from __future__ import annotations

import datetime
import logging
import uuid

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from automate.engine.runner import automate_tick
from automate.models import Flow, FlowRun, RunStatus
from automate.services import flow_create, flow_run_start, flow_set_enabled
from automate.services.failures import (
    DEFAULT_NOTIFY_AFTER,
    failure_notify_after,
    flow_run_ended,
)
from records import services as records
from tests.smtp import free_port

pytestmark = pytest.mark.django_db

SITE = "https://erp.cronus.example"
# The customer's name decides how the run ends: "Fail", "Cancel", anything else succeeds.
OUTCOME_STEPS = [
    {
        "name": "Outcome",
        "type": "control.switch",
        "inputs": {"on": "@triggerBody()?['displayName']"},
        "cases": [
            {
                "value": "Fail",
                "actions": [
                    {
                        "name": "Stop",
                        "type": "control.terminate",
                        "inputs": {"status": "Failed", "message": "The customer is bad."},
                    }
                ],
            },
            {
                "value": "Cancel",
                "actions": [
                    {
                        "name": "Give_up",
                        "type": "control.terminate",
                        "inputs": {"status": "Cancelled"},
                    }
                ],
            },
        ],
        "default": [{"name": "Compose", "type": "data.compose", "inputs": {"value": "ok"}}],
    }
]


@pytest.fixture(autouse=True)
def _site(settings):
    settings.SITE_URL = SITE
    settings.AUTOMATE_FAILURE_NOTIFY_AFTER = 3


@pytest.fixture
def automated(company, sales):
    return flow_create(
        company=company,
        owner=sales,
        name="Check new customers",
        definition={
            "schemaVersion": 1,
            "trigger": {"type": "record_created", "table": 18},
            "steps": OUTCOME_STEPS,
        },
    )


@pytest.fixture
def runs(company, sales, django_capture_on_commit_callbacks):
    """``runs("Fail", "Fail", "ok")``: create customers so named, each in its own
    transaction, and let the runs they start execute to their end."""

    def create(*names):
        for name in names:
            with django_capture_on_commit_callbacks(execute=True):
                records.customer_create(company=company, user=sales, name=name)

    return create


def streak(flow):
    flow.refresh_from_db()
    return flow.failure_streak


def last_run(flow):
    return FlowRun.objects.filter(flow=flow).order_by("-created_at", "-pk").first()


# -- The streak -------------------------------------------------------------------------------


def test_failed_runs_in_a_row_count_from_the_first_failure(automated, runs):
    runs("Fail")
    assert last_run(automated).status == RunStatus.FAILED
    automated.refresh_from_db()
    first_failure = automated.failing_since
    assert automated.failure_streak == 1 and first_failure is not None

    runs("Fail")

    automated.refresh_from_db()
    assert automated.failure_streak == 2
    assert automated.failing_since == first_failure


def test_a_succeeded_run_ends_the_streak(automated, runs):
    runs("Fail", "Fail", "Fine")
    automated.refresh_from_db()
    assert last_run(automated).status == RunStatus.SUCCEEDED
    assert (automated.failure_streak, automated.failing_since) == (0, None)


def test_a_cancelled_run_leaves_the_streak_as_it_is(automated, runs):
    runs("Fail", "Fail", "Cancel")
    assert last_run(automated).status == RunStatus.CANCELLED
    assert streak(automated) == 2


def test_a_timed_out_run_counts_as_a_failure(automated, sales):
    run = flow_run_start(flow=automated, trigger_data={"body": {}}, user=None)
    FlowRun.objects.filter(pk=run.pk).update(status=RunStatus.WAITING)
    now = run.deadline + datetime.timedelta(seconds=1)

    counts = automate_tick(now=now)

    assert counts["timed_out"] == 1
    automated.refresh_from_db()
    assert (automated.failure_streak, automated.failing_since) == (1, now)


def test_instant_flows_have_no_streak(company, sales, django_capture_on_commit_callbacks):
    instant = flow_create(
        company=company,
        owner=sales,
        name="Instant",
        definition={
            "schemaVersion": 1,
            "trigger": {"type": "selected_record", "table": 18, "inputs": []},
            "steps": OUTCOME_STEPS,
        },
    )
    for _ in range(4):
        with django_capture_on_commit_callbacks(execute=True):
            run = flow_run_start(
                flow=instant, trigger_data={"body": {"displayName": "Fail"}}, user=sales
            )
        run.refresh_from_db()
        assert run.status == RunStatus.FAILED
    instant.refresh_from_db()
    assert (instant.failure_streak, instant.failing_since, instant.failure_notified_at) == (
        0,
        None,
        None,
    )


def test_scheduled_flows_count_too(company, sales):
    scheduled = flow_create(
        company=company,
        owner=sales,
        name="Nightly",
        definition={
            "schemaVersion": 1,
            "trigger": {"type": "recurrence", "frequency": "day"},
            "steps": OUTCOME_STEPS,
        },
    )
    run = flow_run_start(flow=scheduled, trigger_data={"body": {}}, user=None)
    with transaction.atomic():
        flow_run_ended(run=run, status=RunStatus.FAILED)
    assert streak(scheduled) == 1


def test_a_rolled_back_end_moves_nothing_and_mails_nobody(
    automated, inbox, django_capture_on_commit_callbacks
):
    Flow.objects.filter(pk=automated.pk).update(failure_streak=2)
    run = flow_run_start(flow=automated, trigger_data={"body": {}}, user=None)
    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        flow_run_ended(run=run, status=RunStatus.FAILED)
        raise RuntimeError
    assert callbacks == []
    automated.refresh_from_db()
    assert (automated.failure_streak, automated.failure_notified_at) == (2, None)
    assert inbox.messages == []


def test_turning_a_flow_back_on_starts_a_new_streak(automated, runs, sales):
    runs("Fail", "Fail")
    flow_set_enabled(flow=automated, user=sales, enabled=False)
    flow_set_enabled(flow=automated, user=sales, enabled=True)
    assert streak(automated) == 0


# -- The owner's mail -------------------------------------------------------------------------


def test_the_owner_is_mailed_when_the_streak_reaches_the_threshold(automated, runs, inbox, sales):
    runs("Fail", "Fail")
    assert inbox.messages == []

    runs("Fail")

    assert len(inbox.messages) == 1
    sent = inbox.messages[0]
    message = sent["message"]
    assert sent["to"] == [sales.email]
    assert message["To"] == sales.email
    assert message["Subject"] == "Your flow 'Check new customers' has failed 3 times in a row"
    body = message.get_content().replace("\r\n", "\n")
    run = last_run(automated)
    assert "The last run ended with this error:\nTerminated by Stop. The customer is bad." in body
    assert "It has been failing for " in body
    assert f"See the run: {SITE}{reverse('automate:run-detail', args=[run.pk])}\n" in body
    history = f"{SITE}{reverse('automate:flow-runs', args=[automated.pk])}"
    assert f"See the flow's run history: {history}\n" in body
    automated.refresh_from_db()
    assert automated.failure_notified_at is not None


def test_the_owner_is_told_once_a_day_while_the_flow_goes_on_failing(automated, runs, inbox, sales):
    runs("Fail", "Fail", "Fail", "Fail", "Fail")
    assert len(inbox.messages) == 1

    a_day_ago = timezone.now() - datetime.timedelta(hours=24, minutes=1)
    Flow.objects.filter(pk=automated.pk).update(failure_notified_at=a_day_ago)
    runs("Fail")

    assert len(inbox.messages) == 2
    assert inbox.messages[1]["message"]["Subject"].endswith("has failed 6 times in a row")


def test_a_streak_that_ended_and_starts_again_within_a_day_is_not_told_again(
    automated, runs, inbox
):
    runs("Fail", "Fail", "Fail", "Fine", "Fail", "Fail", "Fail")
    assert len(inbox.messages) == 1
    assert streak(automated) == 3


def test_the_threshold_comes_from_the_setting(automated, runs, inbox, settings):
    settings.AUTOMATE_FAILURE_NOTIFY_AFTER = 1
    runs("Fail")
    assert len(inbox.messages) == 1
    assert inbox.messages[0]["message"]["Subject"].endswith("has failed 1 times in a row")


def test_without_the_setting_the_threshold_is_three(settings):
    del settings.AUTOMATE_FAILURE_NOTIFY_AFTER
    assert failure_notify_after() == DEFAULT_NOTIFY_AFTER == 3


def test_an_owner_without_an_email_address_is_not_mailed(automated, runs, inbox, sales):
    sales.email = ""
    sales.save(update_fields=["email"])
    runs("Fail", "Fail", "Fail")
    assert inbox.messages == []
    assert last_run(automated).status == RunStatus.FAILED


def test_a_mail_server_that_is_down_does_not_fail_anything(
    automated, runs, settings, caplog, inbox
):
    inbox_port = settings.EMAIL_PORT
    settings.EMAIL_PORT = free_port()  # nothing listens there
    settings.EMAIL_TIMEOUT = 2
    with caplog.at_level(logging.ERROR, logger="automate.services.failures"):
        runs("Fail", "Fail", "Fail")

    assert last_run(automated).status == RunStatus.FAILED
    assert streak(automated) == 3
    assert "The failure notice for flow" in caplog.text
    # The notice was not sent, so the next failing run tries again.
    automated.refresh_from_db()
    assert automated.failure_notified_at is None
    settings.EMAIL_PORT = inbox_port
    runs("Fail")
    assert len(inbox.messages) == 1


def test_a_refusing_mail_server_does_not_fail_anything(automated, runs, inbox, caplog):
    inbox.refuse = "550 No such user"
    with caplog.at_level(logging.ERROR, logger="automate.services.failures"):
        runs("Fail", "Fail", "Fail")
    assert last_run(automated).status == RunStatus.FAILED
    assert inbox.messages == []
    assert "The failure notice for flow" in caplog.text


# -- My flows ---------------------------------------------------------------------------------


def failing(flow, streak_length, *, since=None):
    since = since or timezone.now() - datetime.timedelta(hours=5)
    Flow.objects.filter(pk=flow.pk).update(failure_streak=streak_length, failing_since=since)
    flow.refresh_from_db()
    return flow


def test_my_flows_warns_about_a_failing_flow_with_a_link_to_its_failed_runs(
    sales_client, automated, runs
):
    runs("Fail", "Fail", "Fail", "Fail", "Fail")

    html = sales_client.get(reverse("automate:flow-list")).content.decode()

    row = html[html.index(f'id="flow-{automated.pk}"') :]
    row = row[: row.index("</tr>")]
    assert "Failing: 5 runs in a row since " in row
    failed = f"{reverse('automate:flow-runs', args=[automated.pk])}?status=failed"
    assert f'<a href="{failed}">See the failed runs</a>' in row


def test_a_flow_whose_last_run_timed_out_links_to_its_timed_out_runs(
    sales_client, automated, sales
):
    run = flow_run_start(flow=automated, trigger_data={"body": {}}, user=None)
    FlowRun.objects.filter(pk=run.pk).update(status=RunStatus.TIMED_OUT)
    failing(automated, 4)
    html = sales_client.get(reverse("automate:flow-list")).content.decode()
    assert f"{reverse('automate:flow-runs', args=[automated.pk])}?status=timed_out" in html


def test_my_flows_does_not_warn_below_the_threshold(sales_client, automated):
    failing(automated, 2)
    html = sales_client.get(reverse("automate:flow-list")).content.decode()
    assert "Failing:" not in html


def test_my_flows_never_warns_about_instant_flows(sales_client, company, sales):
    instant = flow_create(
        company=company,
        owner=sales,
        name="Instant",
        definition={
            "schemaVersion": 1,
            "trigger": {"type": "selected_record", "table": 18, "inputs": []},
            "steps": [],
        },
    )
    failing(instant, 9)
    html = sales_client.get(reverse("automate:flow-list")).content.decode()
    assert "Failing:" not in html


def test_my_flows_costs_the_same_queries_with_many_failing_flows(
    sales_client, company, sales, automated
):
    failing(automated, 3)
    with CaptureQueriesContext(connection) as one:
        sales_client.get(reverse("automate:flow-list"))
    for index in range(8):
        flow = flow_create(
            company=company,
            owner=sales,
            name=f"Automated {index}",
            definition={
                "schemaVersion": 1,
                "trigger": {"type": "record_deleted", "table": 18},
                "steps": [],
            },
        )
        failing(flow, 3 + index)
        FlowRun.objects.create(
            flow=flow,
            version=flow.current_version,
            company=company,
            idempotency_key=f"test:{uuid.uuid4()}",
            status=RunStatus.FAILED,
            deadline=timezone.now() + datetime.timedelta(days=1),
        )

    with CaptureQueriesContext(connection) as many:
        response = sales_client.get(reverse("automate:flow-list"))

    assert response.content.decode().count("Failing: ") == 9
    assert len(many) == len(one)
