"""The control and data steps, which the engine runs itself: condition, switch, scope,
apply to each, do until, delay, terminate, compose and the variable steps.

A container records what it decided (the branch, the items, the iterations) in its row
before its chain runs, so a replay takes the same path.
"""

from __future__ import annotations

import datetime
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.utils import timezone

from automate import expressions
from automate.definition import DELAY_UNITS, step_title
from automate.engine.state import Suspend, Terminate
from automate.engine.values import VARIABLE_COERCERS, truthy
from automate.models import RunStatus, StepRun, StepStatus

if TYPE_CHECKING:
    from automate.engine.execution import Execution

# Bounds on loops, so a flow cannot keep a worker (or the history) busy without end.
MAX_FOREACH_ITEMS = 5000
MAX_UNTIL_ITERATIONS = 5000
DEFAULT_UNTIL_COUNT = 60
DEFAULT_UNTIL_TIMEOUT = 3600


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
        ex.check_deadline()


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
    # The variables are saved in the UPDATE that renews the lease, with the row.
    ex.save_row(row, run_fields=None if variables is None else {"variables": variables})
    if variables is not None:
        ex.variables = variables
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
