"""Flow definitions: what a valid one looks like (docs/flows.md), checked before any save.

``definition_errors`` returns every problem with a path to the step, so the designer and
an import can show them all at once; ``validate_definition`` raises them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError

from approvals.templates import condition_errors
from automate import expressions
from automate.connectors import find_action
from automate.recurrence import recurrence_errors
from bcsite.events import events
from bcsite.registry import registry

SCHEMA_VERSION = 1
STEP_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,79}")
RUN_AFTER_STATUSES = ("Succeeded", "Failed", "Skipped", "TimedOut")
TRIGGER_INPUT_TYPES = ("text", "number", "boolean", "date")
MAX_STEPS = 250
MAX_DEPTH = 8
MAX_DEFINITION_BYTES = 512 * 1024
MAX_TRIGGER_INPUTS = 20

# Control and data steps the engine runs itself, with the keys that hold nested chains.
CONTROL_STEPS: dict[str, tuple[str, ...]] = {
    "control.condition": ("actions", "else"),
    "control.switch": ("cases", "default"),
    "control.foreach": ("actions",),
    "control.until": ("actions",),
    "control.scope": ("actions",),
    "control.delay": (),
    "control.terminate": (),
    "data.compose": (),
    "variables.initialize": (),
    "variables.set": (),
    "variables.increment": (),
    "variables.append": (),
}
CONTROL_TITLES = {
    "control.condition": "Condition",
    "control.switch": "Switch",
    "control.foreach": "Apply to each",
    "control.until": "Do until",
    "control.scope": "Scope",
    "control.delay": "Delay",
    "control.terminate": "Terminate",
    "data.compose": "Compose",
    "variables.initialize": "Initialize variable",
    "variables.set": "Set variable",
    "variables.increment": "Increment variable",
    "variables.append": "Append to array variable",
}
VARIABLE_TYPES = ("string", "integer", "float", "boolean", "array", "object")
DELAY_UNITS = {"second": 1, "minute": 60, "hour": 3600, "day": 86400}
TERMINATE_STATUSES = ("Succeeded", "Failed", "Cancelled")
TRIGGER_TYPES = {
    "selected_record": "For a selected record",
    "record_created": "When a record is created",
    "record_modified": "When a record is modified",
    "record_deleted": "When a record is deleted",
    "business_event": "When a business event occurs",
    "recurrence": "Recurrence",
    "http_request": "When an HTTP request is received",
    "approval_requested": "When an approval is requested",
}
# The approval flow triggers, one per kind of record that is sent for approval (BC's table).
APPROVAL_TRIGGER_TABLES = {
    36: "When a sales document approval is requested",
    18: "When a customer approval is requested",
    27: "When an item approval is requested",
}
MAX_APPROVAL_FILTERS = 4
RECORD_TRIGGERS = ("record_created", "record_modified", "record_deleted")
HTTP_METHODS = ("POST", "PUT", "PATCH", "GET", "DELETE")
MAX_TRIGGER_CONDITIONS = 10
MAX_SCHEMA_BYTES = 64 * 1024
# The keys each trigger type may hold, besides "type".
TRIGGER_KEYS = {
    "selected_record": {"table", "inputs"},
    "record_created": {"table", "conditions"},
    "record_modified": {"table", "fields", "conditions"},
    "record_deleted": {"table", "conditions"},
    "business_event": {"event", "conditions"},
    "recurrence": {
        "frequency",
        "interval",
        "timeZone",
        "startTime",
        "hours",
        "minutes",
        "weekDays",
        "conditions",
    },
    "http_request": {"method", "schema", "requireSignature", "conditions"},
    # Its conditions are on the record's fields (``filters``), checked when the request is
    # sent: a request handed to a flow must reach it.
    "approval_requested": {"table", "filters"},
}


@dataclass(frozen=True)
class StepRef:
    """A step found while walking a definition, with where it sits."""

    step: dict
    path: str  # "Condition > actions > Send_an_email", for messages
    depth: int
    loops: tuple[str, ...]  # the foreach/until steps it is nested in, outermost first


def child_chains(step: dict) -> Iterator[tuple[str, list]]:
    """The nested chains of a control step: ("actions", [...]), ("case 'A'", [...]) ..."""
    for key in CONTROL_STEPS.get(step.get("type"), ()):
        if key == "cases":
            for case in step.get("cases") or []:
                if isinstance(case, dict):
                    yield f"case {case.get('value')!r}", case.get("actions") or []
        else:
            chain = step.get(key)
            if isinstance(chain, list):
                yield key, chain


def walk(steps: list, *, prefix: str = "", depth: int = 0, loops: tuple = ()) -> Iterator[StepRef]:
    for step in steps:
        if not isinstance(step, dict):
            continue
        name = str(step.get("name", "?"))
        path = f"{prefix}{name}"
        yield StepRef(step=step, path=path, depth=depth, loops=loops)
        inner_loops = (
            (*loops, name) if step.get("type") in ("control.foreach", "control.until") else loops
        )
        for key, chain in child_chains(step):
            yield from walk(chain, prefix=f"{path} > {key} > ", depth=depth + 1, loops=inner_loops)


def step_title(step: dict) -> str:
    return step.get("title") or str(step.get("name", "")).replace("_", " ")


def validate_definition(definition) -> dict:
    errors = definition_errors(definition)
    if errors:
        raise ValidationError(errors)
    return definition


def definition_errors(definition) -> list[str]:
    try:
        return _definition_errors(definition)
    except RecursionError:
        return [f"Steps nest at most {MAX_DEPTH} levels deep."]


def _definition_errors(definition) -> list[str]:
    if not isinstance(definition, dict):
        return ["A flow definition must be a JSON object."]
    if len(json.dumps(definition)) > MAX_DEFINITION_BYTES:
        return [f"The flow is too large (at most {MAX_DEFINITION_BYTES // 1024} KB)."]
    errors = []
    if definition.get("schemaVersion", SCHEMA_VERSION) != SCHEMA_VERSION:
        errors.append(f"Unknown schemaVersion; this version of bcsite reads {SCHEMA_VERSION}.")
    unknown = set(definition) - {"schemaVersion", "trigger", "steps"}
    if unknown:
        errors.append(f"Unknown keys in the definition: {', '.join(sorted(unknown))}.")
    errors += trigger_errors(definition.get("trigger"))
    steps = definition.get("steps")
    if not isinstance(steps, list):
        return [*errors, "The steps must be a list."]
    errors += _steps_errors(steps)
    return errors


def trigger_errors(trigger) -> list[str]:
    if not isinstance(trigger, dict):
        return ["The flow needs a trigger."]
    kind = trigger.get("type")
    if kind not in TRIGGER_TYPES:
        return [f"Unknown trigger type {kind!r}."]
    errors = []
    unknown = set(trigger) - TRIGGER_KEYS[kind] - {"type"}
    if unknown:
        errors.append(f"Trigger: unknown keys {', '.join(sorted(map(str, unknown)))}.")
    errors += _conditions_errors(trigger.get("conditions", []))
    if kind in RECORD_TRIGGERS:
        errors += _record_trigger_errors(trigger)
    elif kind == "business_event":
        if trigger.get("event") not in events.business_events:
            errors.append("Trigger: choose a business event from the catalogue.")
    elif kind == "recurrence":
        errors += recurrence_errors(trigger)
    elif kind == "http_request":
        errors += _http_trigger_errors(trigger)
    elif kind == "approval_requested":
        errors += approval_trigger_errors(trigger)
    if kind == "selected_record":
        if trigger.get("table") not in registry.tables:
            errors.append("Trigger: choose the table the flow runs on.")
        inputs = trigger.get("inputs", [])
        if not isinstance(inputs, list) or len(inputs) > MAX_TRIGGER_INPUTS:
            return [*errors, f"Trigger: at most {MAX_TRIGGER_INPUTS} inputs, as a list."]
        seen = set()
        for index, item in enumerate(inputs, 1):
            if not isinstance(item, dict):
                errors.append(f"Trigger input {index} must be an object.")
                continue
            name = item.get("name")
            if not isinstance(name, str) or not STEP_NAME.fullmatch(name):
                errors.append(
                    f"Trigger input {index}: the name must start with a letter and hold only "
                    "letters, digits and _."
                )
            elif name in seen:
                errors.append(f"Trigger input {name!r} is defined twice.")
            seen.add(name)
            if item.get("type", "text") not in TRIGGER_INPUT_TYPES:
                errors.append(
                    f"Trigger input {name!r}: the type must be one of "
                    f"{', '.join(TRIGGER_INPUT_TYPES)}."
                )
    return errors


def _conditions_errors(conditions) -> list[str]:
    if not isinstance(conditions, list) or len(conditions) > MAX_TRIGGER_CONDITIONS:
        return [f"Trigger conditions: at most {MAX_TRIGGER_CONDITIONS}, as a list."]
    errors = []
    for index, condition in enumerate(conditions, 1):
        if not isinstance(condition, str) or not condition.strip().startswith("@"):
            errors.append(
                f"Trigger condition {index} must be an expression that starts with @, "
                "e.g. @equals(triggerBody()?['blocked'], 'All')."
            )
            continue
        errors += [f"Trigger condition {index}: {e}" for e in expressions.check(condition)]
        if expressions.referenced_steps(condition):
            errors.append(f"Trigger condition {index} can read only the trigger, not steps.")
    return errors


def _record_trigger_errors(trigger: dict) -> list[str]:
    table = (
        registry.tables.get(trigger.get("table"))
        if not isinstance(trigger.get("table"), bool)
        else None
    )
    if table is None:
        return ["Trigger: choose the table whose records start the flow."]
    fields = trigger.get("fields", [])
    if not isinstance(fields, list) or not all(isinstance(f, str) for f in fields):
        return ["Trigger: the fields are a list of field names."]
    known = {f.api_name for f in table.fields} - {"lastModifiedDateTime"}
    return [
        f"Trigger: {name!r} is not a field of {table.name}." for name in fields if name not in known
    ]


def approval_trigger_errors(trigger: dict) -> list[str]:
    """An approval flow trigger: a kind of record, and up to four conditions on its fields
    (``{"field", "operator", "value"}``, the operator "eq" when left out)."""
    table = trigger.get("table")
    if isinstance(table, bool) or table not in APPROVAL_TRIGGER_TABLES:
        kinds = ", ".join(f"{n} ({title})" for n, title in APPROVAL_TRIGGER_TABLES.items())
        return [f"Trigger: choose what is sent for approval: table {kinds}."]
    filters = trigger.get("filters", [])
    if not isinstance(filters, list) or len(filters) > MAX_APPROVAL_FILTERS:
        return [f"Trigger: at most {MAX_APPROVAL_FILTERS} conditions on fields, as a list."]
    conditions = [
        {"operator": "eq", **item} if isinstance(item, dict) else item for item in filters
    ]
    return [f"Trigger: {error}" for error in condition_errors(table, conditions)]


def approval_trigger_conditions(trigger: dict) -> list[dict]:
    """The trigger's conditions on fields, each with its operator."""
    return [{"operator": "eq", **item} for item in trigger.get("filters") or []]


def _http_trigger_errors(trigger: dict) -> list[str]:
    errors = []
    if trigger.get("method", "POST") not in HTTP_METHODS:
        errors.append(f"Trigger: the method must be one of {', '.join(HTTP_METHODS)}.")
    if not isinstance(trigger.get("requireSignature", False), bool):
        errors.append("Trigger: requireSignature is true or false.")
    schema = trigger.get("schema")
    if schema is not None:
        if not isinstance(schema, dict):
            errors.append("Trigger: the schema must be a JSON Schema object.")
        elif len(json.dumps(schema)) > MAX_SCHEMA_BYTES:
            errors.append(
                f"Trigger: the schema is too large (at most {MAX_SCHEMA_BYTES // 1024} KB)."
            )
        else:
            try:
                Draft202012Validator.check_schema(schema)
            except SchemaError as error:
                errors.append(f"Trigger: the schema is not valid JSON Schema: {error.message}")
    return errors


def _steps_errors(steps: list) -> list[str]:
    errors: list[str] = []
    refs = list(walk(steps))
    if len(refs) > MAX_STEPS:
        return [f"A flow has at most {MAX_STEPS} steps."]
    seen: set[str] = set()
    for ref in refs:
        errors += _step_errors(ref, seen)
        seen.add(str(ref.step.get("name")))
    errors += _reference_errors(steps, set(), ())
    return errors


def _step_errors(ref: StepRef, seen: set[str]) -> list[str]:
    step, where = ref.step, ref.path
    errors = []
    name = step.get("name")
    if not isinstance(name, str) or not STEP_NAME.fullmatch(name):
        errors.append(
            f"{where}: a step name starts with a letter and holds only letters, digits and _ "
            "(up to 80)."
        )
    elif name in seen:
        errors.append(f"{where}: another step is already called {name!r}.")
    if ref.depth >= MAX_DEPTH:
        errors.append(f"{where}: steps nest at most {MAX_DEPTH} levels deep.")
    kind = step.get("type")
    inputs = step.get("inputs", {})
    if not isinstance(inputs, dict):
        return [*errors, f"{where}: the inputs must be an object."]
    run_after = step.get("runAfter", ["Succeeded"])
    if (
        not isinstance(run_after, list)
        or not run_after
        or any(s not in RUN_AFTER_STATUSES for s in run_after)
    ):
        errors.append(f"{where}: runAfter lists one or more of {', '.join(RUN_AFTER_STATUSES)}.")
    if kind in CONTROL_STEPS:
        errors += [f"{where}: {e}" for e in _control_errors(step, inputs)]
    else:
        action = find_action(kind) if isinstance(kind, str) else None
        if action is None:
            return [*errors, f"{where}: unknown action {kind!r}."]
        errors += [f"{where}: {e}" for e in action.validate(inputs)]
    errors += [f"{where}: {e}" for e in expressions.check(inputs)]
    return errors


def _control_errors(step: dict, inputs: dict) -> list[str]:
    kind = step["type"]
    errors = []
    required = {
        "control.condition": ("expression",),
        "control.switch": ("on",),
        "control.foreach": ("items",),
        "control.until": ("expression",),
        "control.delay": ("count", "unit"),
        "data.compose": ("value",),
        "variables.initialize": ("name", "type"),
        "variables.set": ("name", "value"),
        "variables.increment": ("name",),
        "variables.append": ("name", "value"),
    }.get(kind, ())
    errors += [f"{key} is required." for key in required if inputs.get(key) in (None, "")]
    if kind == "control.delay" and inputs.get("unit") not in DELAY_UNITS:
        errors.append(f"The unit must be one of {', '.join(DELAY_UNITS)}.")
    if kind == "control.terminate" and inputs.get("status", "Succeeded") not in (
        TERMINATE_STATUSES
    ):
        errors.append(f"The status must be one of {', '.join(TERMINATE_STATUSES)}.")
    if kind == "variables.initialize" and inputs.get("type") not in VARIABLE_TYPES:
        errors.append(f"The variable type must be one of {', '.join(VARIABLE_TYPES)}.")
    for key in CONTROL_STEPS[kind]:
        value = step.get(key)
        if value is not None and not isinstance(value, list):
            errors.append(f"{key} must be a list of steps.")
    if kind == "control.switch":
        values = [c.get("value") for c in step.get("cases") or [] if isinstance(c, dict)]
        if len(values) != len(set(map(str, values))):
            errors.append("Two cases of a switch have the same value.")
    return errors


def _reference_errors(steps: list, earlier: set[str], loops: tuple[str, ...]) -> list[str]:
    """Expressions may read the outputs of steps that ran before them, and loop items only
    inside their loop."""
    errors = []
    for step in steps:
        if not isinstance(step, dict):
            continue
        name = str(step.get("name"))
        inputs = step.get("inputs", {})
        for ref in sorted(expressions.referenced_steps(inputs) - earlier):
            errors.append(f"{name}: refers to {ref!r}, which does not run before it.")
        for ref in sorted(expressions.referenced_loops(inputs) - set(loops)):
            errors.append(f"{name}: items({ref!r}) is only available inside that loop.")
        inner_loops = (
            (*loops, name) if step.get("type") in ("control.foreach", "control.until") else loops
        )
        for _key, chain in child_chains(step):
            # Steps inside a container see what ran before the container, and before them.
            errors += _reference_errors(chain, earlier, inner_loops)
        earlier = earlier | {name} | {ref.step.get("name") for ref in walk(_children(step))}
    return errors


def _children(step: dict) -> list:
    return [child for _key, chain in child_chains(step) for child in chain]
