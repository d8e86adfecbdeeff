"""Flows and runs to test actions and the engine with."""

import pytest
from django.utils import timezone

from automate.connectors.base import ActionCall
from automate.models import Flow, FlowRun, FlowVersion
from bcsite.celery import app
from tests.smtp import send_mail_to, smtp_server

BLANK_DEFINITION = {
    "schemaVersion": 1,
    "trigger": {"type": "selected_record", "table": 18, "inputs": []},
    "steps": [],
}


@pytest.fixture(autouse=True)
def _celery_eager():
    """Tasks queued here run in this process: unit tests never reach for a worker."""
    previous = (app.conf.task_always_eager, app.conf.task_eager_propagates)
    app.conf.task_always_eager = app.conf.task_eager_propagates = True
    yield
    app.conf.task_always_eager, app.conf.task_eager_propagates = previous


def make_flow_run(*, company, owner, definition=None, trigger_body=None, name="Test flow"):
    flow = Flow.objects.create(
        company=company, owner=owner, name=name, trigger_type="selected_record", table_id=18
    )
    version = FlowVersion.objects.create(
        flow=flow, number=1, definition=definition or BLANK_DEFINITION, created_by=owner
    )
    flow.current_version = version
    flow.save(update_fields=["current_version"])
    return FlowRun.objects.create(
        flow=flow,
        version=version,
        company=company,
        idempotency_key=f"test:{flow.pk}",
        triggered_by=owner,
        trigger_data={"body": trigger_body or {}, "headers": {}},
        deadline=timezone.now() + timezone.timedelta(days=30),
    )


@pytest.fixture
def flow_run(company, sales):
    """A run of a flow owned by ``sales`` in CRONUS, for calling actions directly."""
    return make_flow_run(company=company, owner=sales)


@pytest.fixture
def action_call(flow_run):
    """Build the call an action gets from the engine: ``action_call(inputs)``."""

    def build(inputs: dict, *, step_name: str = "Step", attempt: int = 1) -> ActionCall:
        return ActionCall(
            inputs=inputs,
            company=flow_run.company,
            user=flow_run.flow.owner,
            run=flow_run,
            step_name=step_name,
            idempotency_key=f"{flow_run.system_id}:{step_name}",
            attempt=attempt,
        )

    return build


@pytest.fixture
def inbox(settings):
    """A real SMTP server that Django's mail goes to; yields what it received."""
    with smtp_server() as (received, port):
        send_mail_to(settings, port)
        yield received
