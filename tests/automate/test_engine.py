"""The engine, run in this process: a run's steps, control flow, retries, waits, leases."""

import datetime

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from automate.engine.runner import automate_tick, flow_run_claim, flow_run_execute
from automate.models import FlowRun, RunStatus, StepStatus
from automate.services import (
    flow_create,
    flow_run_cancel,
    flow_run_resubmit,
    flow_run_start,
    flow_update,
)
from tests.automate import testing_connector
from tests.automate.testing_connector import EFFECTS, FAILURES

pytestmark = pytest.mark.django_db

assert testing_connector  # registers the "testing" connector


@pytest.fixture(autouse=True)
def _reset_effects():
    EFFECTS.clear()
    FAILURES.clear()
    yield
    EFFECTS.clear()
    FAILURES.clear()


def definition(*steps):
    return {
        "schemaVersion": 1,
        "trigger": {"type": "selected_record", "table": 18, "inputs": []},
        "steps": list(steps),
    }


def step(name, kind, inputs=None, **extra):
    return {"name": name, "type": kind, "inputs": inputs or {}, **extra}


def start(company, owner, *steps, body=None, **flow_fields):
    flow = flow_create(
        company=company, owner=owner, name="Flow", definition=definition(*steps), **flow_fields
    )
    return flow_run_start(flow=flow, trigger_data={"body": body or {}, "headers": {}}, user=owner)


def execute(run) -> FlowRun:
    flow_run_execute(run_id=run.pk)
    run.refresh_from_db()
    return run


def statuses(run) -> dict[str, str]:
    return dict(run.steps.values_list("path", "status"))


def time_passes(run) -> None:
    """Move the run's wait into the past, as if its time had come."""
    past = timezone.now() - datetime.timedelta(seconds=1)
    FlowRun.objects.filter(pk=run.pk).update(wake_at=past)
    run.steps.filter(next_attempt_at__isnull=False).update(next_attempt_at=past)


def outputs(run, path):
    return run.steps.get(path=path).outputs


def test_it_runs_the_steps_in_order_and_records_what_each_did(company, sales):
    run = start(
        company,
        sales,
        step("Compose", "data.compose", {"value": "@{triggerBody()?['displayName']}!"}),
        step("Effect", "testing.effect", {"value": "@body('Compose')"}),
        body={"displayName": "Adatum"},
    )
    run = execute(run)
    assert run.status == RunStatus.SUCCEEDED, run.error
    assert list(run.steps.values_list("path", "status", "attempts")) == [
        ("Compose", "Succeeded", 1),
        ("Effect", "Succeeded", 1),
    ]
    effect = run.steps.get(path="Effect")
    assert effect.inputs == {"value": "Adatum!"}
    assert effect.outputs == {"body": {"value": "Adatum!", "attempt": 1}}
    assert effect.started_at <= effect.finished_at
    assert (run.steps_done, run.steps_total) == (2, 2)
    assert run.started_at and run.finished_at and run.deliveries == 1


def test_a_condition_runs_one_branch_and_records_its_decision(company, sales):
    run = start(
        company,
        sales,
        step(
            "Big",
            "control.condition",
            {"expression": "@greater(triggerBody()?['amount'], 100)"},
            actions=[step("Yes", "testing.effect", {"value": "yes"})],
            **{"else": [step("No", "testing.effect", {"value": "no"})]},
        ),
        body={"amount": 250},
    )
    run = execute(run)
    assert run.status == RunStatus.SUCCEEDED
    assert statuses(run) == {"Big": "Succeeded", "Yes": "Succeeded"}
    assert outputs(run, "Big") == {"result": True}
    assert [e[0] for e in EFFECTS] == ["Yes"]


def test_a_condition_that_is_not_boolean_fails_the_step(company, sales):
    run = start(company, sales, step("Check", "control.condition", {"expression": "@'yes'"}))
    run = execute(run)
    assert run.status == RunStatus.FAILED
    assert "true or false" in run.steps.get(path="Check").error["message"]
    assert "Check failed" in run.error


def test_a_switch_runs_the_matching_case_or_the_default(company, sales):
    cases = [
        {"value": "A", "actions": [step("Case_A", "testing.effect")]},
        {"value": "B", "actions": [step("Case_B", "testing.effect")]},
    ]
    switch = step(
        "Which",
        "control.switch",
        {"on": "@triggerBody()?['code']"},
        cases=cases,
        default=[step("Other", "testing.effect")],
    )
    assert statuses(execute(start(company, sales, switch, body={"code": "B"}))) == {
        "Which": "Succeeded",
        "Case_B": "Succeeded",
    }
    run = execute(start(company, sales, switch, body={"code": "Z"}))
    assert statuses(run)["Other"] == "Succeeded"
    assert outputs(run, "Which")["case"] is None


def test_apply_to_each_runs_its_steps_per_item_with_the_item(company, sales):
    run = start(
        company,
        sales,
        step(
            "Each",
            "control.foreach",
            {"items": "@triggerBody()?['lines']"},
            actions=[
                step("Line", "data.compose", {"value": "@{items('Each')?['no']}"}),
                step("Send", "testing.effect", {"value": "@body('Line')"}),
            ],
        ),
        step("After", "data.compose", {"value": "@length(triggerBody()?['lines'])"}),
        body={"lines": [{"no": "A"}, {"no": "B"}, {"no": "C"}]},
    )
    run = execute(run)
    assert run.status == RunStatus.SUCCEEDED, run.error
    assert [e[2]["value"] for e in EFFECTS] == ["A", "B", "C"]
    assert run.steps.get(path="Each[1]/Send").inputs == {"value": "B"}
    assert outputs(run, "Each") == {"iterations": 3}
    assert outputs(run, "After") == {"body": 3}
    assert run.steps.get(path="Each[2]/Line").depth == 1


def test_apply_to_each_refuses_what_is_not_a_list(company, sales):
    run = execute(start(company, sales, step("Each", "control.foreach", {"items": "@'abc'"})))
    assert run.status == RunStatus.FAILED
    assert "needs a list" in run.steps.get(path="Each").error["message"]


def test_do_until_repeats_until_its_condition_holds(company, sales):
    run = start(
        company,
        sales,
        step("Count", "variables.initialize", {"name": "n", "type": "integer", "value": 0}),
        step(
            "Until",
            "control.until",
            {"expression": "@greaterOrEquals(variables('n'), 3)", "count": 10},
            actions=[step("Add", "variables.increment", {"name": "n", "value": 1})],
        ),
        step("Result", "data.compose", {"value": "@variables('n')"}),
    )
    run = execute(run)
    assert run.status == RunStatus.SUCCEEDED, run.error
    assert outputs(run, "Until") == {"iterations": 3, "limitReached": False}
    assert outputs(run, "Result") == {"body": 3}
    assert run.variables == {"n": {"type": "integer", "value": 3}}


def test_do_until_stops_at_its_count(company, sales):
    run = start(
        company,
        sales,
        step(
            "Until",
            "control.until",
            {"expression": "@false", "count": 4},
            actions=[step("Tick", "testing.effect")],
        ),
    )
    run = execute(run)
    assert run.status == RunStatus.SUCCEEDED
    assert len(EFFECTS) == 4
    assert outputs(run, "Until") == {"iterations": 4, "limitReached": True}


def test_a_failed_step_skips_the_rest_and_fails_the_run(company, sales):
    run = start(
        company,
        sales,
        step("Break", "testing.fail", {"message": "No stock"}),
        step("Then", "testing.effect"),
    )
    run = execute(run)
    assert run.status == RunStatus.FAILED
    assert statuses(run) == {"Break": "Failed", "Then": "Skipped"}
    assert run.error == "Break failed: No stock"
    assert run.steps.get(path="Break").error["retryable"] is False


def test_a_step_set_to_run_after_a_failure_handles_it(company, sales):
    run = start(
        company,
        sales,
        step("Break", "testing.fail", {"message": "No stock"}),
        step("Tell", "testing.effect", runAfter=["Failed", "TimedOut"]),
        step("Only_on_success", "testing.effect"),
    )
    run = execute(run)
    assert statuses(run) == {"Break": "Failed", "Tell": "Succeeded", "Only_on_success": "Succeeded"}
    assert run.status == RunStatus.SUCCEEDED


def test_a_failure_inside_a_scope_fails_the_scope_for_its_handler(company, sales):
    run = start(
        company,
        sales,
        step("Try", "control.scope", actions=[step("Break", "testing.fail")]),
        step("Catch", "data.compose", {"value": "@actions('Try')?['status']"}, runAfter=["Failed"]),
    )
    run = execute(run)
    assert statuses(run)["Try"] == "Failed"
    assert outputs(run, "Catch") == {"body": "Failed"}
    assert run.status == RunStatus.SUCCEEDED


def test_a_retryable_failure_waits_and_the_tick_retries_it(company, sales):
    FAILURES["Flaky"] = 1
    run = execute(start(company, sales, step("Flaky", "testing.fail", {"retryable": True})))
    assert run.status == RunStatus.WAITING
    flaky = run.steps.get(path="Flaky")
    assert flaky.status == StepStatus.WAITING and flaky.attempts == 1
    assert flaky.next_attempt_at == run.wake_at
    # Not due yet: nothing happens.
    automate_tick()
    run.refresh_from_db()
    assert run.status == RunStatus.WAITING
    time_passes(run)
    automate_tick()
    run.refresh_from_db()
    assert run.status == RunStatus.SUCCEEDED, run.error
    flaky.refresh_from_db()
    assert (flaky.status, flaky.attempts, flaky.outputs) == ("Succeeded", 2, {"body": "recovered"})


def test_retries_stop_when_the_policy_is_spent(company, sales):
    run = execute(
        start(
            company,
            sales,
            step(
                "Flaky",
                "testing.fail",
                {"retryable": True},
                retryPolicy={"type": "fixed", "count": 1, "interval": 1},
            ),
        )
    )
    time_passes(run)
    automate_tick()
    run.refresh_from_db()
    assert run.status == RunStatus.FAILED
    assert run.steps.get(path="Flaky").attempts == 2


def test_a_redelivered_run_skips_finished_steps_and_reuses_their_outputs(company, sales):
    run = start(
        company,
        sales,
        step("First", "testing.effect", {"value": 1}),
        step("Second", "testing.read", {"value": "@body('First')?['value']"}),
    )
    run = execute(run)
    # The worker died after the first step: its row is done, the second never started.
    run.steps.filter(path="Second").delete()
    FlowRun.objects.filter(pk=run.pk).update(status=RunStatus.QUEUED, finished_at=None)
    EFFECTS.clear()
    run = execute(run)
    assert run.status == RunStatus.SUCCEEDED
    assert [e[0] for e in EFFECTS] == ["Second"]
    assert run.steps.get(path="Second").inputs == {"value": 1}
    assert run.deliveries == 2


def test_a_step_interrupted_midway_is_not_repeated_unless_it_is_safe_to(company, sales):
    run = start(company, sales, step("Send", "testing.effect"), step("Fetch", "testing.read"))
    run = execute(run)
    # Both rows as a worker killed during the call leaves them: Running.
    run.steps.update(status=StepStatus.RUNNING, finished_at=None, outputs=None)
    FlowRun.objects.filter(pk=run.pk).update(status=RunStatus.QUEUED, finished_at=None)
    EFFECTS.clear()
    run = execute(run)
    send = run.steps.get(path="Send")
    assert send.status == StepStatus.FAILED and send.error["code"] == "Interrupted"
    assert EFFECTS == []
    assert run.status == RunStatus.FAILED


def test_an_interrupted_repeatable_step_runs_again(company, sales):
    run = execute(start(company, sales, step("Fetch", "testing.read")))
    run.steps.update(status=StepStatus.RUNNING, finished_at=None, outputs=None)
    FlowRun.objects.filter(pk=run.pk).update(status=RunStatus.QUEUED, finished_at=None)
    run = execute(run)
    assert run.status == RunStatus.SUCCEEDED
    assert run.steps.get(path="Fetch").attempts == 2


def test_a_delay_parks_the_run_until_the_tick_wakes_it(company, sales):
    run = start(
        company,
        sales,
        step("Wait", "control.delay", {"count": 2, "unit": "hour"}),
        step("Later", "testing.effect"),
    )
    before = timezone.now()
    run = execute(run)
    assert run.status == RunStatus.WAITING and EFFECTS == []
    assert run.lease_token is None
    assert before + datetime.timedelta(hours=2) <= run.wake_at
    time_passes(run)
    automate_tick()
    run.refresh_from_db()
    assert run.status == RunStatus.SUCCEEDED
    assert [e[0] for e in EFFECTS] == ["Later"]


def test_a_cancelled_run_stops_before_its_next_step(company, sales):
    run = start(
        company,
        sales,
        step("Wait", "control.delay", {"count": 1, "unit": "minute"}),
        step("Later", "testing.effect"),
    )
    run = execute(run)
    flow_run_cancel(run=run, user=sales)
    run.refresh_from_db()
    assert run.status == RunStatus.CANCELLED
    assert run.steps.get(path="Wait").status == StepStatus.CANCELLED
    time_passes(run)
    automate_tick()
    run.refresh_from_db()
    assert run.status == RunStatus.CANCELLED and EFFECTS == []
    with pytest.raises(ValidationError, match="already ended"):
        flow_run_cancel(run=run, user=sales)


def test_a_resubmitted_run_uses_the_trigger_data_on_the_current_version(company, sales):
    run = execute(
        start(company, sales, step("Say", "data.compose", {"value": "v1"}), body={"x": 7})
    )
    flow_update(
        flow=run.flow,
        user=sales,
        definition=definition(step("Say", "data.compose", {"value": "@triggerBody()?['x']"})),
    )
    again = execute(flow_run_resubmit(run=run, user=sales))
    assert again.resubmitted_from == run
    assert again.version.number == 2 and run.version.number == 1
    assert outputs(again, "Say") == {"body": 7}
    assert outputs(run, "Say") == {"body": "v1"}


def test_terminate_ends_the_run_with_its_status(company, sales):
    run = start(
        company,
        sales,
        step("Stop", "control.terminate", {"status": "Failed", "code": "E1", "message": "No"}),
        step("Never", "testing.effect"),
    )
    run = execute(run)
    assert run.status == RunStatus.FAILED
    assert "E1: No" in run.error
    assert EFFECTS == []


def test_one_idempotency_key_starts_one_run(company, sales):
    flow = flow_create(company=company, owner=sales, name="F", definition=definition())
    first = flow_run_start(flow=flow, trigger_data={}, user=sales, idempotency_key="event:1")
    second = flow_run_start(flow=flow, trigger_data={}, user=sales, idempotency_key="event:1")
    assert first.pk == second.pk
    assert FlowRun.objects.count() == 1


def test_a_run_held_by_a_live_lease_is_not_claimed_again(company, sales):
    run = start(company, sales, step("Say", "data.compose", {"value": 1}))
    assert flow_run_claim(run_id=run.pk) is not None
    assert flow_run_claim(run_id=run.pk) is None


def test_the_tick_hands_a_run_whose_worker_died_to_another(company, sales):
    run = start(company, sales, step("Fetch", "testing.read"))
    assert flow_run_claim(run_id=run.pk) is not None  # a worker took it, then died
    automate_tick()
    run.refresh_from_db()
    assert run.status == RunStatus.RUNNING  # its lease still runs
    counts = automate_tick(now=run.lease_until + datetime.timedelta(seconds=1))
    run.refresh_from_db()
    assert counts["recovered"] == 1
    assert run.status == RunStatus.SUCCEEDED


def test_the_concurrency_limit_keeps_extra_runs_queued(company, sales):
    flow = flow_create(
        company=company,
        owner=sales,
        name="F",
        definition=definition(step("Wait", "control.delay", {"count": 1, "unit": "minute"})),
    )
    flow.concurrency_limit = 1
    flow.save()
    first = flow_run_start(flow=flow, trigger_data={}, user=sales)
    second = flow_run_start(flow=flow, trigger_data={}, user=sales)
    assert flow_run_claim(run_id=first.pk) is not None
    assert flow_run_claim(run_id=second.pk) is None
    second.refresh_from_db()
    assert second.status == RunStatus.QUEUED


def test_a_run_ending_at_the_limit_hands_its_slot_to_the_oldest_queued_run(
    company, sales, monkeypatch, django_capture_on_commit_callbacks
):
    from automate.engine import runner

    flow = flow_create(
        company=company,
        owner=sales,
        name="F",
        definition=definition(step("Say", "data.compose", {"value": 1})),
        concurrency_limit=1,
    )
    first = flow_run_start(flow=flow, trigger_data={}, user=sales)
    second = flow_run_start(flow=flow, trigger_data={}, user=sales)
    dispatched = []
    monkeypatch.setattr(runner, "flow_run_dispatch", lambda run_id: dispatched.append(run_id))
    with django_capture_on_commit_callbacks(execute=True):
        flow_run_execute(run_id=first.pk)
    assert dispatched == [second.pk]

    # Below the limit the queued run's own delivery is on its way: nothing more is sent.
    flow.concurrency_limit = 5
    flow.save()
    third = flow_run_start(flow=flow, trigger_data={}, user=sales)
    dispatched.clear()
    with django_capture_on_commit_callbacks(execute=True):
        flow_run_execute(run_id=second.pk)
    assert dispatched == []
    assert FlowRun.objects.get(pk=third.pk).status == RunStatus.QUEUED


def test_a_run_past_its_deadline_times_out(company, sales):
    run = execute(start(company, sales, step("Wait", "control.delay", {"count": 1, "unit": "day"})))
    automate_tick(now=run.deadline + datetime.timedelta(seconds=1))
    run.refresh_from_db()
    assert run.status == RunStatus.TIMED_OUT
    assert run.steps.get(path="Wait").status == StepStatus.TIMED_OUT


def test_old_finished_runs_are_pruned(company, sales, settings):
    settings.AUTOMATE_RUN_RETENTION_DAYS = 30
    old = execute(start(company, sales, step("Say", "data.compose", {"value": 1})))
    recent = execute(start(company, sales, step("Say", "data.compose", {"value": 1})))
    FlowRun.objects.filter(pk=old.pk).update(
        finished_at=timezone.now() - datetime.timedelta(days=31)
    )
    assert automate_tick()["pruned"] == 1
    assert list(FlowRun.objects.values_list("pk", flat=True)) == [recent.pk]


def test_secrets_never_reach_the_history(company, sales):
    run = execute(
        start(
            company,
            sales,
            step("Call", "testing.effect", {"value": {"password": "pw"}, "key": "k"}),
        )
    )
    assert run.steps.get(path="Call").inputs == {"value": {"password": "***"}, "key": "***"}
    assert EFFECTS[0][2] == {"value": {"password": "pw"}, "key": "k"}


def test_an_expression_error_fails_the_step_and_names_it(company, sales):
    run = execute(start(company, sales, step("Bad", "data.compose", {"value": "@add('a', 1)"})))
    assert run.status == RunStatus.FAILED
    assert "expression" in run.steps.get(path="Bad").error["message"]


def test_variables_refuse_wrong_types_and_unknown_names(company, sales):
    run = execute(
        start(
            company,
            sales,
            step("Init", "variables.initialize", {"name": "n", "type": "integer", "value": "x"}),
        )
    )
    assert run.status == RunStatus.FAILED
    assert "integer" in run.steps.get(path="Init").error["message"]
    run = execute(start(company, sales, step("Set", "variables.set", {"name": "m", "value": 1})))
    assert "initialize it first" in run.steps.get(path="Set").error["message"]


def test_append_builds_an_array(company, sales):
    run = start(
        company,
        sales,
        step("Init", "variables.initialize", {"name": "names", "type": "array", "value": []}),
        step(
            "Each",
            "control.foreach",
            {"items": "@createArray('a', 'b')"},
            actions=[step("Add", "variables.append", {"name": "names", "value": "@items('Each')"})],
        ),
        step("Joined", "data.compose", {"value": "@join(variables('names'), ',')"}),
    )
    run = execute(run)
    assert outputs(run, "Joined") == {"body": "a,b"}


@pytest.mark.django_db(transaction=True)
def test_a_long_step_keeps_renewing_the_lease(company, sales, settings):
    settings.AUTOMATE_RUN_LEASE_SECONDS = 0.3
    run = execute(start(company, sales, step("Long", "testing.slow", {"seconds": 1})))
    assert run.status == RunStatus.SUCCEEDED, run.error
    [(_name, _key, effect)] = EFFECTS
    before, after = effect["leases"]
    assert after > before


def test_a_run_whose_workers_keep_dying_ends_as_failed(company, sales):
    run = start(company, sales, step("Fetch", "testing.read"))
    for _ in range(5):
        assert flow_run_claim(run_id=run.pk) is not None  # a worker takes it, then dies
        FlowRun.objects.filter(pk=run.pk).update(
            lease_until=timezone.now() - datetime.timedelta(seconds=1)
        )
    run = execute(run)  # the sixth delivery
    assert run.lost_deliveries == 5
    assert run.status == RunStatus.FAILED
    assert "stopped 5 times" in run.error
    assert EFFECTS == []


def test_waiting_and_waking_are_not_lost_deliveries(company, sales):
    FAILURES["Flaky"] = 6
    run = execute(
        start(
            company,
            sales,
            step("Flaky", "testing.fail", {"retryable": True}, retryPolicy={"count": 8}),
        )
    )
    for _ in range(6):
        time_passes(run)
        automate_tick()
    run.refresh_from_db()
    assert run.status == RunStatus.SUCCEEDED, run.error
    assert run.lost_deliveries == 0 and run.deliveries == 7


def test_terminate_inside_a_loop_closes_the_loop(company, sales):
    run = start(
        company,
        sales,
        step(
            "Each",
            "control.foreach",
            {"items": "@createArray(1, 2, 3)"},
            actions=[
                step(
                    "Stop",
                    "control.terminate",
                    {"status": "Cancelled", "message": "Enough"},
                )
            ],
        ),
    )
    run = execute(run)
    assert run.status == RunStatus.CANCELLED
    assert statuses(run) == {"Each": "Cancelled", "Each[0]/Stop": "Succeeded"}


def test_trigger_data_that_is_not_an_object_reads_as_no_body(company, sales):
    flow = flow_create(
        company=company,
        owner=sales,
        name="F",
        definition=definition(step("Body", "data.compose", {"value": "@triggerBody()"})),
    )
    run = execute(flow_run_start(flow=flow, trigger_data=["not", "an", "object"], user=sales))
    assert run.status == RunStatus.SUCCEEDED
    assert outputs(run, "Body") == {"body": None}


def test_a_definition_nested_beyond_reason_is_refused_not_crashed():
    from automate.definition import definition_errors

    deep = step("Leaf", "data.compose", {"value": 1})
    for level in range(2000):
        deep = step(f"Scope_{level}", "control.scope", actions=[deep])
    errors = definition_errors(definition(deep))
    assert errors and "nest" in errors[0]


def test_a_run_that_has_not_ended_cannot_be_resubmitted(company, sales):
    run = execute(
        start(company, sales, step("Wait", "control.delay", {"count": 1, "unit": "hour"}))
    )
    assert run.status == RunStatus.WAITING
    with pytest.raises(ValidationError, match="has not ended yet"):
        flow_run_resubmit(run=run, user=sales)
    assert FlowRun.objects.count() == 1


def test_a_call_that_ran_out_of_time_is_timed_out_for_its_handler(company, sales):
    run = start(
        company,
        sales,
        step("Call", "testing.fail", {"code": "Timeout", "message": "No answer in 30 s"}),
        step("On_failure", "testing.effect", runAfter=["Failed"]),
        step("On_timeout", "testing.effect", runAfter=["TimedOut", "Skipped"]),
    )
    run = execute(run)
    assert statuses(run) == {"Call": "TimedOut", "On_failure": "Skipped", "On_timeout": "Succeeded"}
    assert run.status == RunStatus.SUCCEEDED


def test_every_ended_run_is_counted_once_for_the_chart(company, sales):
    from automate.models import FlowRunDay
    from automate.services.run_days import run_days_rebuild

    done = execute(start(company, sales, step("Say", "data.compose", {"value": 1})))
    broken = execute(start(company, sales, step("Break", "testing.fail")))
    waiting = execute(
        start(company, sales, step("Wait", "control.delay", {"count": 1, "unit": "day"}))
    )
    flow_run_cancel(run=waiting, user=sales)
    overdue = execute(
        start(company, sales, step("Wait", "control.delay", {"count": 1, "unit": "day"}))
    )
    FlowRun.objects.filter(pk=overdue.pk).update(
        deadline=timezone.now() - datetime.timedelta(seconds=1)
    )
    automate_tick()
    assert [done.status, broken.status] == [RunStatus.SUCCEEDED, RunStatus.FAILED]

    def counts():
        return {
            (row.day, row.status): row.count for row in FlowRunDay.objects.filter(company=company)
        }

    today = timezone.localdate()
    assert counts() == {
        (today, RunStatus.SUCCEEDED): 1,
        (today, RunStatus.FAILED): 1,
        (today, RunStatus.CANCELLED): 1,
        (today, RunStatus.TIMED_OUT): 1,
    }
    before = counts()
    assert run_days_rebuild() == 4
    assert counts() == before
