"""Executing one delivery of a run: replaying its definition against its recorded steps.

Every delivery walks the definition from the top. A step whose row has finished is not
run again: its recorded status and outputs stand in for it (that is what makes a
redelivered task safe). A step without a finished row runs now. Control steps record
what they decided (the branch, the items, the iterations) before running their chain, so
a replay takes the same path.

A step that must wait (a delay, a retry back-off) raises ``Suspend``: the run becomes a
waiting row that the tick wakes later. Nothing waits inside a worker.
"""

from __future__ import annotations

import datetime
import json
import logging
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import DatabaseError, OperationalError, connections, transaction
from django.utils import timezone

from automate import expressions
from automate.connectors import find_action
from automate.connectors.base import ActionCall, ActionError, ConnectorAction, RetryPolicy
from automate.definition import DELAY_UNITS, step_title
from automate.engine.values import (
    VARIABLE_COERCERS,
    json_safe,
    mask_secrets,
    truthy,
)
from automate.models import FlowRun, RunStatus, StepRun, StepStatus

log = logging.getLogger(__name__)

# Bounds on loops, so a flow cannot keep a worker (or the history) busy without end.
MAX_FOREACH_ITEMS = 5000
MAX_UNTIL_ITERATIONS = 5000
DEFAULT_UNTIL_COUNT = 60
DEFAULT_UNTIL_TIMEOUT = 3600
# Step outputs are kept in the history and read back by later steps.
MAX_OUTPUTS_BYTES = 16 * 1024 * 1024

RAN = (StepStatus.SUCCEEDED, StepStatus.FAILED, StepStatus.TIMED_OUT)


class Suspend(Exception):
    """The run waits until ``wake_at``; the tick hands it to a worker then."""

    def __init__(self, wake_at: datetime.datetime):
        super().__init__(wake_at.isoformat())
        self.wake_at = wake_at


class Stop(Exception):
    """This delivery no longer holds the run (cancelled, timed out, or taken over)."""


class Terminate(Exception):
    def __init__(self, status: str, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True)
class Scope:
    """Where a step runs: its path prefix inside loops and the loops' current items."""

    prefix: str = ""
    depth: int = 0
    items: dict = field(default_factory=dict)
    indexes: dict = field(default_factory=dict)

    def enter(self, loop: str, index: int, item: Any) -> Scope:
        return Scope(
            prefix=f"{self.prefix}{loop}[{index}]/",
            depth=self.depth + 1,
            items={**self.items, loop: item},
            indexes={**self.indexes, loop: index},
        )

    def nested(self) -> Scope:
        return Scope(self.prefix, self.depth + 1, self.items, self.indexes)

    def prefixes(self) -> Iterator[str]:
        """This scope's prefix, then its enclosing loops' prefixes, out to the top."""
        prefix = self.prefix
        while True:
            yield prefix
            if not prefix:
                return
            prefix = prefix[: prefix.rstrip("/").rfind("/") + 1] if "/" in prefix[:-1] else ""


class StepsView(Mapping):
    """``outputs('X')`` inside a loop reads X's instance in the same iteration."""

    def __init__(self, rows: dict[str, StepRun], scope: Scope):
        self.rows = rows
        self.scope = scope

    def _row(self, name: str) -> StepRun | None:
        for prefix in self.scope.prefixes():
            row = self.rows.get(prefix + name)
            if row is not None:
                return row
        return None

    def __getitem__(self, name: str) -> dict:
        row = self._row(name)
        if row is None:
            raise KeyError(name)
        return {
            "name": row.name,
            "status": row.status,
            "inputs": row.inputs,
            "outputs": row.outputs,
            "error": row.error,
            "startTime": row.started_at.isoformat() if row.started_at else None,
            "endTime": row.finished_at.isoformat() if row.finished_at else None,
        }

    def __iter__(self):
        return iter({row.name for row in self.rows.values()})

    def __len__(self) -> int:
        return len({row.name for row in self.rows.values()})


class Execution:
    """One delivery of one run, holding the lease ``token``."""

    def __init__(self, run: FlowRun, token):
        self.run = run
        self.token = token
        self.definition = run.version.definition
        self.rows: dict[str, StepRun] = {row.path: row for row in run.steps.all()}
        self.variables: dict = dict(run.variables or {})
        self.owner = run.flow.owner

    # -- the chain ----------------------------------------------------------------------

    def execute(self) -> str:
        """Run the top-level chain; the outcome is the run's status."""
        outcome = self.execute_chain(self.definition.get("steps", []), Scope())
        return RunStatus.FAILED if outcome == StepStatus.FAILED else RunStatus.SUCCEEDED

    def execute_chain(self, steps: list, scope: Scope) -> str:
        """Run the steps in order, each after the previous one as its runAfter says.

        The chain's outcome is Failed when the last step that ran failed or timed out,
        as Power Automate decides a run's outcome.
        """
        previous: str | None = None
        last_ran: str | None = None
        for step in steps:
            path = scope.prefix + step["name"]
            run_after = step.get("runAfter") or [StepStatus.SUCCEEDED]
            if previous is not None and previous not in run_after:
                status = self.skip(step, path, scope)
            else:
                status = self.execute_step(step, path, scope)
            previous = status
            if status in RAN:
                last_ran = status
        if last_ran in (StepStatus.FAILED, StepStatus.TIMED_OUT):
            return StepStatus.FAILED
        return StepStatus.SUCCEEDED

    def execute_step(self, step: dict, path: str, scope: Scope) -> str:
        row = self.rows.get(path)
        if row is not None and row.is_finished:
            return row.status
        self.renew_lease()
        kind = step["type"]
        handler = CONTROL_HANDLERS.get(kind)
        if handler is not None:
            return handler(self, step, path, scope, row)
        return self.execute_action(step, path, scope, row)

    # -- rows ----------------------------------------------------------------------------

    def new_row(self, step: dict, path: str, scope: Scope, **fields) -> StepRun:
        row = StepRun(
            run=self.run,
            path=path,
            name=step["name"],
            action=step["type"],
            position=len(self.rows),
            depth=scope.depth,
            started_at=timezone.now(),
            **fields,
        )
        return row

    def save_row(self, row: StepRun) -> StepRun:
        """Insert or update the row; the run's progress moves when a top-level step ends."""
        with transaction.atomic():
            self._save_row(row)
        return row

    def _save_row(self, row: StepRun) -> None:
        if row.is_finished and row.finished_at is None:
            row.finished_at = timezone.now()
        row.save()
        self.rows[row.path] = row
        if row.is_finished and row.depth == 0:
            done = sum(1 for r in self.rows.values() if r.depth == 0 and r.is_finished)
            FlowRun.objects.filter(pk=self.run.pk).update(steps_done=done)

    def finish(self, row: StepRun, status: str, *, outputs=None, error=None) -> str:
        row.status = status
        row.outputs = outputs
        row.error = error
        row.next_attempt_at = None
        row.finished_at = timezone.now()
        self.save_row(row)
        return status

    def skip(self, step: dict, path: str, scope: Scope) -> str:
        row = self.rows.get(path)
        if row is not None and row.is_finished:
            return row.status
        row = row or self.new_row(step, path, scope, status=StepStatus.SKIPPED)
        row.started_at = None
        error = {
            "code": "ActionConditionFailed",
            "message": "Skipped: the previous step did not end as this step's run after asks.",
        }
        return self.finish(row, StepStatus.SKIPPED, error=error)

    def fail(self, row: StepRun, message: str, code: str = "InvalidTemplate") -> str:
        return self.finish(
            row,
            StepStatus.FAILED,
            error={"code": code, "message": message, "retryable": False},
        )

    # -- expressions ---------------------------------------------------------------------

    def context(self, scope: Scope) -> expressions.ExpressionContext:
        return expressions.ExpressionContext(
            trigger=self.run.trigger_data,
            steps=StepsView(self.rows, scope),
            items=scope.items,
            iteration_indexes=scope.indexes,
            variables={name: v["value"] for name, v in self.variables.items()},
            now=timezone.now(),
            workflow={
                "name": str(self.run.flow.system_id),
                "displayName": self.run.flow.name,
                "run": {"name": str(self.run.system_id), "id": self.run.pk},
            },
        )

    def render(self, value, scope: Scope):
        return expressions.render(value, self.context(scope))

    # -- connector actions ---------------------------------------------------------------

    def execute_action(self, step: dict, path: str, scope: Scope, row: StepRun | None) -> str:
        action = find_action(step["type"])
        row = row or self.new_row(step, path, scope, status=StepStatus.RUNNING)
        if action is None:
            return self.fail(row, f"The action {step['type']!r} is not available.", "NotFound")
        now = timezone.now()
        interrupted = row.pk is not None and row.status == StepStatus.RUNNING
        if interrupted and not (action.transactional or action.repeatable):
            # The delivery that started it died midway: it may have happened. Doing it
            # again could do it twice, so it stops here and says so.
            return self.fail(
                row,
                "The worker stopped while this step was running, so it may or may not "
                "have been done. It is not repeated automatically: check, then resubmit "
                "the run.",
                code="Interrupted",
            )
        if row.status == StepStatus.WAITING and row.next_attempt_at and row.next_attempt_at > now:
            raise Suspend(row.next_attempt_at)
        try:
            inputs = self.render(step.get("inputs", {}), scope)
        except expressions.ExpressionError as error:
            return self.fail(row, f"An expression in the inputs failed: {error}")
        row.status = StepStatus.RUNNING
        row.attempts += 1
        row.inputs = mask_secrets(action, inputs)
        row.next_attempt_at = None
        self.save_row(row)
        call = ActionCall(
            inputs=inputs,
            company=self.run.company,
            user=self.owner,
            run=self.run,
            step_name=step["name"],
            idempotency_key=f"{self.run.system_id}:{path}",
            attempt=row.attempts,
        )
        try:
            with lease_heartbeat(self.run.pk, self.token):
                if action.transactional:
                    # The action's rows and the step's "Succeeded" commit together or not at all.
                    with transaction.atomic():
                        outputs = self._call(action, call)
                        self._succeed(row, outputs)
                    return row.status
                outputs = self._call(action, call)
        except ActionError as error:
            return self._action_failed(step, action, row, error)
        self._succeed(row, outputs)
        return row.status

    def _call(self, action: ConnectorAction, call: ActionCall) -> dict:
        try:
            outputs = action.run(call)
        except ActionError:
            raise
        except OperationalError as error:
            raise ActionError(f"The database was busy: {error}", retryable=True) from error
        except DatabaseError as error:
            log.exception("Action %s failed on the database", action.type)
            raise ActionError(f"The database refused the change: {error}") from error
        except Exception as error:
            log.exception("Action %s failed unexpectedly", action.type)
            raise ActionError(
                f"The action failed unexpectedly ({type(error).__name__}: {error}).",
                code="InternalError",
            ) from error
        outputs = json_safe(outputs if outputs is not None else {"body": None})
        if not isinstance(outputs, dict):
            outputs = {"body": outputs}
        if len(json.dumps(outputs)) > MAX_OUTPUTS_BYTES:
            raise ActionError(
                f"The action's outputs are larger than {MAX_OUTPUTS_BYTES // (1024 * 1024)} MB."
            )
        return outputs

    def _succeed(self, row: StepRun, outputs: dict) -> None:
        row.status = StepStatus.SUCCEEDED
        row.outputs = outputs
        row.error = None
        row.finished_at = timezone.now()
        self._save_row(row) if transaction.get_connection().in_atomic_block else self.save_row(row)

    def _action_failed(
        self, step: dict, action: ConnectorAction, row: StepRun, error: ActionError
    ) -> str:
        policy = RetryPolicy.from_definition(step.get("retryPolicy"), action.retry_policy)
        delay = policy.delay(row.attempts) if error.retryable else None
        if delay is None:
            return self.finish(row, StepStatus.FAILED, error=error.as_dict())
        row.status = StepStatus.WAITING
        row.error = {**error.as_dict(), "attempt": row.attempts}
        row.next_attempt_at = timezone.now() + datetime.timedelta(seconds=delay)
        self.save_row(row)
        raise Suspend(row.next_attempt_at)

    # -- the lease -----------------------------------------------------------------------

    def renew_lease(self) -> None:
        """Check the run is still ours and in time, before every step."""
        now = timezone.now()
        if now >= self.run.deadline:
            raise Terminate(RunStatus.TIMED_OUT, "The run reached its time limit.")
        lease = datetime.timedelta(seconds=settings.AUTOMATE_RUN_LEASE_SECONDS)
        held = FlowRun.objects.filter(
            pk=self.run.pk, status=RunStatus.RUNNING, lease_token=self.token
        ).update(lease_until=now + lease)
        if not held:
            raise Stop()


@contextmanager
def lease_heartbeat(run_id: int, token) -> Iterator[None]:
    """Keep renewing the run's lease while a long step runs.

    Without it, a step longer than the lease would let the sweeper hand the run to a second
    worker while the first is still busy with it. The beat dies with its worker, so a dead
    worker's lease still runs out.
    """
    lease = settings.AUTOMATE_RUN_LEASE_SECONDS
    stop = threading.Event()

    def beat() -> None:
        try:
            while not stop.wait(lease / 3):
                try:
                    FlowRun.objects.filter(
                        pk=run_id, status=RunStatus.RUNNING, lease_token=token
                    ).update(lease_until=timezone.now() + datetime.timedelta(seconds=lease))
                except DatabaseError:
                    log.warning("Could not renew the lease of run %s", run_id, exc_info=True)
        finally:
            connections.close_all()

    thread = threading.Thread(target=beat, name=f"lease-{run_id}", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


# -- control and data steps --------------------------------------------------------------


def _container_row(ex: Execution, step, path, scope, row, decide) -> tuple[StepRun, Any]:
    """The container's row, with what it decided recorded before its chain runs."""
    if row is not None:
        return row, row.outputs
    row = ex.new_row(step, path, scope, status=StepStatus.RUNNING, attempts=1)
    decision, inputs = decide()
    row.inputs = inputs
    row.outputs = decision
    ex.save_row(row)
    return row, decision


def _evaluate(ex: Execution, step, path, scope, row, key: str):
    """Render one input of a control step; on error the step fails (returns None, status)."""
    try:
        return ex.render(step.get("inputs", {}).get(key), scope), None
    except expressions.ExpressionError as error:
        row = row or ex.new_row(step, path, scope, status=StepStatus.RUNNING, attempts=1)
        return None, ex.fail(row, f"The {key} could not be evaluated: {error}")


def _condition(ex: Execution, step, path, scope, row) -> str:
    if row is None:
        value, failed = _evaluate(ex, step, path, scope, row, "expression")
        if failed:
            return failed
        if not isinstance(value, bool):
            row = ex.new_row(step, path, scope, status=StepStatus.RUNNING, attempts=1)
            return ex.fail(row, f"A condition must be true or false, not {value!r}.")
    row, decision = _container_row(
        ex, step, path, scope, row, lambda: ({"result": value}, {"expression": value})
    )
    chain = step.get("actions") if decision["result"] else step.get("else")
    return ex.finish(row, ex.execute_chain(chain or [], scope.nested()), outputs=decision)


def _switch(ex: Execution, step, path, scope, row) -> str:
    if row is None:
        value, failed = _evaluate(ex, step, path, scope, row, "on")
        if failed:
            return failed
    cases = step.get("cases") or []

    def decide():
        for case in cases:
            if case.get("value") == value or str(case.get("value")) == str(value):
                return {"case": case.get("value"), "on": value}, {"on": value}
        return {"case": None, "on": value}, {"on": value}

    row, decision = _container_row(ex, step, path, scope, row, decide)
    chain = next(
        (c.get("actions") for c in cases if c.get("value") == decision["case"]),
        step.get("default"),
    )
    if decision["case"] is None:
        chain = step.get("default")
    return ex.finish(row, ex.execute_chain(chain or [], scope.nested()), outputs=decision)


def _scope(ex: Execution, step, path, scope, row) -> str:
    row, _ = _container_row(ex, step, path, scope, row, lambda: (None, {}))
    return ex.finish(row, ex.execute_chain(step.get("actions") or [], scope.nested()))


def _foreach(ex: Execution, step, path, scope, row) -> str:
    if row is None:
        items, failed = _evaluate(ex, step, path, scope, row, "items")
        if failed:
            return failed
        if items is None:
            items = []
        if not isinstance(items, list):
            row = ex.new_row(step, path, scope, status=StepStatus.RUNNING, attempts=1)
            return ex.fail(row, f"Apply to each needs a list, not {type(items).__name__}.")
        if len(items) > MAX_FOREACH_ITEMS:
            row = ex.new_row(step, path, scope, status=StepStatus.RUNNING, attempts=1)
            return ex.fail(row, f"Apply to each takes at most {MAX_FOREACH_ITEMS} items.")
    row, decision = _container_row(
        ex, step, path, scope, row, lambda: ({"iterations": len(items)}, {"items": items})
    )
    outcome = StepStatus.SUCCEEDED
    for index, item in enumerate(row.inputs["items"]):
        inner = scope.enter(step["name"], index, item)
        if ex.execute_chain(step.get("actions") or [], inner) == StepStatus.FAILED:
            outcome = StepStatus.FAILED
    return ex.finish(row, outcome, outputs=decision)


def _until(ex: Execution, step, path, scope, row) -> str:
    inputs = step.get("inputs", {})
    limit = min(int(inputs.get("count") or DEFAULT_UNTIL_COUNT), MAX_UNTIL_ITERATIONS)
    timeout = datetime.timedelta(seconds=int(inputs.get("timeout") or DEFAULT_UNTIL_TIMEOUT))
    row, _ = _container_row(ex, step, path, scope, row, lambda: ({"iterations": 0}, {}))
    index = 0
    while True:
        inner = scope.enter(step["name"], index, None)
        if ex.execute_chain(step.get("actions") or [], inner) == StepStatus.FAILED:
            return ex.finish(row, StepStatus.FAILED, outputs=row.outputs)
        index += 1
        if index < row.outputs["iterations"]:
            continue  # checked on an earlier delivery, and it said go on
        try:
            done = ex.render(inputs.get("expression"), inner)
        except expressions.ExpressionError as error:
            return ex.fail(row, f"The loop's condition could not be evaluated: {error}")
        limit_reached = index >= limit or timezone.now() - row.started_at >= timeout
        row.outputs = {"iterations": index, "limitReached": limit_reached and not truthy(done)}
        if truthy(done) or limit_reached:
            return ex.finish(row, StepStatus.SUCCEEDED, outputs=row.outputs)
        ex.save_row(row)
        ex.renew_lease()


def _delay(ex: Execution, step, path, scope, row) -> str:
    now = timezone.now()
    if row is None:
        try:
            inputs = ex.render(step.get("inputs", {}), scope)
            seconds = float(inputs["count"]) * DELAY_UNITS[inputs["unit"]]
        except (expressions.ExpressionError, KeyError, TypeError, ValueError) as error:
            row = ex.new_row(step, path, scope, status=StepStatus.RUNNING, attempts=1)
            return ex.fail(row, f"The delay needs a number of {inputs.get('unit')}s: {error}")
        if seconds < 0 or seconds > settings.AUTOMATE_RUN_TIME_LIMIT:
            row = ex.new_row(step, path, scope, status=StepStatus.RUNNING, attempts=1)
            return ex.fail(row, "The delay must be positive and shorter than the run time limit.")
        row = ex.new_row(step, path, scope, status=StepStatus.WAITING, attempts=1)
        row.inputs = inputs
        row.next_attempt_at = now + datetime.timedelta(seconds=seconds)
        ex.save_row(row)
    if row.next_attempt_at and row.next_attempt_at > now:
        raise Suspend(row.next_attempt_at)
    return ex.finish(row, StepStatus.SUCCEEDED, outputs={"waitedUntil": now.isoformat()})


def _terminate(ex: Execution, step, path, scope, row) -> str:
    row = row or ex.new_row(step, path, scope, status=StepStatus.RUNNING, attempts=1)
    try:
        inputs = ex.render(step.get("inputs", {}), scope)
    except expressions.ExpressionError as error:
        return ex.fail(row, f"An expression in the inputs failed: {error}")
    row.inputs = inputs
    status = inputs.get("status") or "Succeeded"
    ex.finish(row, StepStatus.SUCCEEDED, outputs={"status": status})
    message = str(inputs.get("message") or "")
    code = str(inputs.get("code") or "")
    run_status = {
        "Failed": RunStatus.FAILED,
        "Cancelled": RunStatus.CANCELLED,
    }.get(status, RunStatus.SUCCEEDED)
    detail = f"{code}: {message}" if code and message else code or message
    raise Terminate(run_status, f"Terminated by {step_title(step)}. {detail}".strip())


def _data_step(ex: Execution, step, path, scope, row) -> str:
    """Compose and the variable steps: computed here, saved with the variables at once."""
    row = row or ex.new_row(step, path, scope, status=StepStatus.RUNNING, attempts=1)
    try:
        inputs = ex.render(step.get("inputs", {}), scope)
        outputs, variables = DATA_STEPS[step["type"]](ex.variables, inputs, scope)
    except expressions.ExpressionError as error:
        return ex.fail(row, f"An expression in the inputs failed: {error}")
    except ValueError as error:
        return ex.fail(row, str(error), code="InvalidVariable")
    row.inputs = inputs
    row.status = StepStatus.SUCCEEDED
    row.outputs = outputs
    row.error = None
    with transaction.atomic():
        if variables is not None:
            FlowRun.objects.filter(pk=ex.run.pk).update(variables=variables)
            ex.variables = variables
        ex._save_row(row)
    return row.status


def _compose(variables, inputs, scope):
    return {"body": inputs.get("value")}, None


def _initialize(variables, inputs, scope):
    name, kind = inputs.get("name"), inputs.get("type")
    if scope.items:
        raise ValueError("Variables are initialized at the top level, not inside a loop.")
    if name in variables:
        raise ValueError(f"The variable {name!r} is already initialized.")
    value = VARIABLE_COERCERS[kind](inputs.get("value"), name)
    return {"body": value}, {**variables, name: {"type": kind, "value": value}}


def _set(variables, inputs, scope):
    variable = _variable(variables, inputs.get("name"))
    value = VARIABLE_COERCERS[variable["type"]](inputs.get("value"), inputs["name"])
    return {"body": value}, {**variables, inputs["name"]: {**variable, "value": value}}


def _increment(variables, inputs, scope):
    variable = _variable(variables, inputs.get("name"))
    if variable["type"] not in ("integer", "float"):
        raise ValueError(f"Only integer and float variables can be incremented, not {variable}.")
    by = inputs.get("value", 1)
    by = 1 if by in (None, "") else by
    value = VARIABLE_COERCERS[variable["type"]](variable["value"] + _number(by), inputs["name"])
    return {"body": value}, {**variables, inputs["name"]: {**variable, "value": value}}


def _append(variables, inputs, scope):
    variable = _variable(variables, inputs.get("name"))
    if variable["type"] == "array":
        value = [*variable["value"], inputs.get("value")]
    elif variable["type"] == "string":
        added = inputs.get("value")
        value = variable["value"] + ("" if added is None else str(added))
    else:
        raise ValueError("Only array and string variables can be appended to.")
    return {"body": value}, {**variables, inputs["name"]: {**variable, "value": value}}


def _variable(variables: dict, name) -> dict:
    if name not in variables:
        raise ValueError(f"There is no variable {name!r}; initialize it first.")
    return variables[name]


def _number(value):
    if isinstance(value, bool) or not isinstance(value, int | float):
        try:
            return float(value) if "." in str(value) else int(value)
        except (TypeError, ValueError):
            raise ValueError(f"{value!r} is not a number.") from None
    return value


DATA_STEPS = {
    "data.compose": _compose,
    "variables.initialize": _initialize,
    "variables.set": _set,
    "variables.increment": _increment,
    "variables.append": _append,
}

CONTROL_HANDLERS = {
    "control.condition": _condition,
    "control.switch": _switch,
    "control.scope": _scope,
    "control.foreach": _foreach,
    "control.until": _until,
    "control.delay": _delay,
    "control.terminate": _terminate,
    **dict.fromkeys(DATA_STEPS, _data_step),
}
