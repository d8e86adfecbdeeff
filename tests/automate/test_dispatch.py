"""A run whose dispatch finds no broker stays queued, and the tick hands it on later."""

import pytest
from django.db import transaction

from automate.engine.runner import automate_tick
from automate.models import FlowRun, RunStatus
from automate.services import flow_create, flow_run_start
from bcsite.celery import app

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

DEFINITION = {
    "schemaVersion": 1,
    "trigger": {"type": "selected_record", "table": 18, "inputs": []},
    "steps": [{"name": "Say", "type": "data.compose", "inputs": {"value": 1}}],
}


@pytest.fixture
def broker_down():
    """Celery pointed at a port where no broker listens, publishing without retries."""
    saved = (app.conf.broker_url, app.conf.task_always_eager, app.conf.task_publish_retry)
    app.conf.broker_url = "redis://127.0.0.1:9/0"
    app.conf.task_always_eager = False
    app.conf.task_publish_retry = False
    _new_connections()
    yield
    app.conf.broker_url, app.conf.task_always_eager, app.conf.task_publish_retry = saved
    _new_connections()


def _new_connections():
    # Celery keeps its broker connections in pools made from the settings of the time.
    app._pool = None
    app.amqp._producer_pool = None


def test_a_run_queued_while_the_broker_is_down_is_kept_and_dispatched_later(
    company, sales, broker_down
):
    flow = flow_create(company=company, owner=sales, name="F", definition=DEFINITION)
    with transaction.atomic():
        run = flow_run_start(flow=flow, trigger_data={}, user=sales)
    # The commit went through and nothing was raised at the user.
    run.refresh_from_db()
    assert run.status == RunStatus.QUEUED
    # The broker is back (eager here); the tick finds the run no worker claimed.
    app.conf.task_always_eager = True
    FlowRun.objects.filter(pk=run.pk).update(wake_at=run.created_at)
    assert automate_tick()["redispatched"] == 1
    run.refresh_from_db()
    assert run.status == RunStatus.SUCCEEDED
