"""What a run's delivery writes: each step's row with the run's lease, in as few statements
and commits as keep it safe; the lease renewed for long steps by one thread."""

import threading
import uuid

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from automate.engine import execution
from automate.engine.runner import flow_run_execute
from automate.models import FlowRun, RunStatus, StepRun
from automate.services import flow_create, flow_run_cancel, flow_run_start
from tests.automate import testing_connector
from tests.automate.testing_connector import EFFECTS
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db

assert testing_connector  # registers the "testing" connector


@pytest.fixture(autouse=True)
def _reset_effects():
    EFFECTS.clear()
    yield
    EFFECTS.clear()


def step(name, kind, inputs=None):
    return {"name": name, "type": kind, "inputs": inputs or {}}


def start(company, owner, *steps) -> FlowRun:
    definition = {
        "schemaVersion": 1,
        "trigger": {"type": "selected_record", "table": 18, "inputs": []},
        "steps": list(steps),
    }
    flow = flow_create(company=company, owner=owner, name="Flow", definition=definition)
    return flow_run_start(flow=flow, trigger_data={"body": {}, "headers": {}}, user=owner)


def after_the_call(monkeypatch, then):
    """Make ``then(execution)`` happen right after the next action call returns."""
    call = execution.Execution._call

    def calling(self, action, action_call):
        outputs = call(self, action, action_call)
        then(self)
        return outputs

    monkeypatch.setattr(execution.Execution, "_call", calling)


def test_a_run_cancelled_during_a_step_stops_before_the_step_is_recorded(
    company, sales, monkeypatch
):
    run = start(company, sales, step("Read", "testing.read"), step("Then", "testing.effect"))
    after_the_call(monkeypatch, lambda ex: flow_run_cancel(run=ex.run, user=sales))

    flow_run_execute(run_id=run.pk)

    run.refresh_from_db()
    assert run.status == RunStatus.CANCELLED
    assert [name for name, _key, _inputs in EFFECTS] == ["Read"]  # "Then" never ran
    # Its outcome was not recorded over the cancellation.
    assert dict(run.steps.values_list("path", "status")) == {"Read": "Cancelled"}


def test_a_transactional_step_rolls_back_when_another_delivery_took_the_run(
    company, sales, monkeypatch
):
    customer = CustomerFactory(company=company, address="Old Street 1")
    run = start(
        company,
        sales,
        step(
            "Update",
            "business_central.update_record",
            {"table": 18, "id": customer.no, "fields": {"addressLine1": "New Street 2"}},
        ),
    )

    def taken_over(ex):
        # The lease ran out during the call, and the tick handed the run to another
        # worker: this delivery's token no longer holds it.
        other = uuid.uuid4()
        monkeypatch.setattr(
            execution, "_held", lambda run_id, token: FlowRun.objects.filter(lease_token=other)
        )

    after_the_call(monkeypatch, taken_over)

    flow_run_execute(run_id=run.pk)

    customer.refresh_from_db()
    assert customer.address == "Old Street 1"  # the change rolled back with the step
    assert list(run.steps.values_list("status", "attempts")) == [("Running", 1)]
    run.refresh_from_db()
    assert run.status == RunStatus.RUNNING  # for the delivery that holds it to finish


def test_each_row_a_step_writes_goes_with_one_update_of_the_run(company, sales):
    steps = [step(f"Say_{n}", "data.compose", {"value": n}) for n in range(4)]
    run = start(company, sales, *steps, step("Read", "testing.read"))

    with CaptureQueriesContext(connection) as queries:
        flow_run_execute(run_id=run.pk)

    run.refresh_from_db()
    assert run.status == RunStatus.SUCCEEDED and run.steps_done == 5
    sql = [q["sql"] for q in queries.captured_queries]
    run_updates = [s for s in sql if s.startswith('UPDATE "automate_flowrun"')]
    # The claim, one per row written (its lease and progress together), the end: the
    # computed steps write their row once, the action twice (running, then how it ended).
    assert len(run_updates) == 1 + 4 + 2 + 1
    # The first delivery of a run knows it has no step rows yet.
    assert not [s for s in sql if 'FROM "automate_steprun"' in s]
    # A computed step's row is written once, when it has ended; an action's row says it
    # is running, then how it ended.
    assert len([s for s in sql if s.startswith('INSERT INTO "automate_steprun"')]) == 5
    assert len([s for s in sql if s.startswith('UPDATE "automate_steprun"')]) == 1


def test_a_step_with_effects_says_it_is_running_before_it_starts(company, sales, monkeypatch):
    run = start(company, sales, step("Send", "testing.effect"))
    seen = []
    after_the_call(
        monkeypatch,
        lambda ex: seen.append(StepRun.objects.values_list("status", flat=True).get(run=run)),
    )

    flow_run_execute(run_id=run.pk)

    assert seen == ["Running"]
    assert run.steps.get().status == "Succeeded"


def test_one_thread_renews_the_leases_of_every_step(company, sales, monkeypatch):
    run = start(company, sales, *[step(f"Read_{n}", "testing.read") for n in range(5)])
    started = []
    start_thread = threading.Thread.start

    def counted(thread):
        started.append(thread.name)
        start_thread(thread)

    monkeypatch.setattr(threading.Thread, "start", counted)

    flow_run_execute(run_id=run.pk)

    # The process's one heartbeat thread: started by the first step ever, else none.
    assert started in ([], ["lease"])
    assert [t.name for t in threading.enumerate()].count("lease") == 1
    run.refresh_from_db()
    assert run.status == RunStatus.SUCCEEDED


@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="only PostgreSQL waits for the disk at commit"
)
@pytest.mark.django_db(transaction=True)
def test_only_commits_the_engine_can_redo_skip_waiting_for_the_disk(company, sales, monkeypatch):
    # Started outside a transaction, the run would be dispatched (and run, eagerly) at once.
    monkeypatch.setattr("automate.services.runs.flow_run_dispatch", lambda run_id: True)
    run = start(
        company,
        sales,
        step("Say", "data.compose", {"value": 1}),
        step("Read", "testing.read"),
        step("Send", "testing.effect"),
    )

    with CaptureQueriesContext(connection) as queries:
        flow_run_execute(run_id=run.pk)

    run.refresh_from_db()
    assert run.status == RunStatus.SUCCEEDED
    lazy = [q for q in queries.captured_queries if "synchronous_commit" in q["sql"]]
    # The claim, the computed step, the read's two writes and the successful end; not
    # the two writes around the step with effects, which wait for the disk.
    assert len(lazy) == 5
