"""What the flow designer needs to draw and edit a definition, embedded in its page as JSON.

Connector actions describe themselves (``ConnectorAction.describe``); the control and data
steps the engine runs itself are described here, in the same shape, so the designer edits
both the same way.
"""

from __future__ import annotations

from collections.abc import Iterable

from automate.connectors import connectors
from automate.definition import (
    CONTROL_STEPS,
    CONTROL_TITLES,
    DELAY_UNITS,
    RUN_AFTER_STATUSES,
    TERMINATE_STATUSES,
    TRIGGER_INPUT_TYPES,
    TRIGGER_TYPES,
    VARIABLE_TYPES,
)
from bcsite.registry import registry

BUILT_IN_GROUPS = {
    "control": ("Control", "#484f58"),
    "data": ("Data Operation", "#8c3ee0"),
    "variables": ("Variables", "#770bd6"),
}
TRIGGER_INPUT_TYPE_LABELS = {
    "text": "Text",
    "number": "Number",
    "boolean": "Yes/No",
    "date": "Date",
}
RUN_AFTER_LABELS = {
    "Succeeded": "is successful",
    "Failed": "has failed",
    "Skipped": "is skipped",
    "TimedOut": "has timed out",
}
# What every "For a selected record" run carries besides the record's own fields (docs/flows.md).
SELECTED_RECORD_FIELDS = (
    ("recordId", "Record ID", "text"),
    ("recordUrl", "Record URL", "url"),
    ("tableId", "Table ID", "integer"),
    ("tableName", "Table name", "text"),
    ("pageKey", "Page", "text"),
    ("companyId", "Company ID", "text"),
    ("companyName", "Company name", "text"),
    ("userName", "User name", "text"),
    ("userEmail", "User email", "emails"),
)
# Labels of the nested chains of control steps, in the order the designer draws them.
CHAIN_LABELS = {
    "control.condition": (("actions", "If yes"), ("else", "If no")),
    "control.switch": (("cases", "Case"), ("default", "Default")),
    "control.foreach": (("actions", "Actions"),),
    "control.until": (("actions", "Actions"),),
    "control.scope": (("actions", "Actions"),),
}


def _param(
    name: str,
    label: str,
    type_: str = "text",
    *,
    required: bool = False,
    help_: str = "",
    choices: tuple[tuple[str, str], ...] = (),
    default=None,
    typed: bool = False,
    condition: bool = False,
) -> dict:
    """An input described as ``Param`` describes itself. ``typed``: a lone expression in it
    is inserted as '@expr', which keeps its type (a list, a boolean), rather than as text.
    ``condition``: a true/false expression the designer also offers to build from a value,
    an operator and another value, as Power Automate's basic mode does."""
    return {
        "name": name,
        "label": label,
        "type": type_,
        "required": required,
        "help": help_,
        "choices": [[value, text] for value, text in choices],
        "default": default,
        "advanced": False,
        "typed": typed,
        "condition": condition,
    }


def _same(values: Iterable[str]) -> tuple[tuple[str, str], ...]:
    return tuple((value, value) for value in values)


# Power Automate's "any" inputs: JSON that starts with { or [ is kept as an object or a list
# (a row to append, an empty array), anything else is text.
ANY_HELP = "Text, or JSON: {...} for an object, [...] for a list."
CONTROL_INPUTS = {
    "control.condition": (
        _param(
            "expression",
            "Condition",
            required=True,
            help_="True or false, e.g. @equals(body('Get_customer')?['blocked'], true)",
            typed=True,
            condition=True,
        ),
    ),
    "control.switch": (
        _param("on", "On", required=True, help_="The value the cases compare.", typed=True),
    ),
    "control.foreach": (
        _param(
            "items",
            "Select an output from previous steps",
            required=True,
            help_="A list.",
            typed=True,
        ),
    ),
    "control.until": (
        _param(
            "expression",
            "Loop until",
            required=True,
            help_="Stops when this is true.",
            typed=True,
            condition=True,
        ),
        _param("count", "Count", "integer", help_="Most iterations.", default=60),
        _param("timeout", "Timeout (seconds)", "integer", default=3600),
    ),
    "control.scope": (),
    "control.delay": (
        _param("count", "Count", "integer", required=True, default=1),
        _param("unit", "Unit", "choice", required=True, choices=_same(DELAY_UNITS)),
    ),
    "control.terminate": (
        _param("status", "Status", "choice", choices=_same(TERMINATE_STATUSES)),
        _param("code", "Code"),
        _param("message", "Message", "multiline"),
    ),
    "data.compose": (_param("value", "Inputs", "any", required=True, help_=ANY_HELP),),
    "variables.initialize": (
        _param("name", "Name", required=True),
        _param("type", "Type", "choice", required=True, choices=_same(VARIABLE_TYPES)),
        _param("value", "Value", "any", help_=ANY_HELP, typed=True),
    ),
    "variables.set": (
        _param("name", "Name", required=True),
        _param("value", "Value", "any", required=True, help_=ANY_HELP, typed=True),
    ),
    "variables.increment": (
        _param("name", "Name", required=True),
        _param("value", "Value", "number", default=1),
    ),
    "variables.append": (
        _param("name", "Name", required=True),
        _param(
            "value",
            "Value",
            "any",
            required=True,
            help_='The item to add: text, or JSON such as {"Item": "..."} for an object.',
            typed=True,
        ),
    ),
}
CONTROL_DESCRIPTIONS = {
    "control.condition": "Run one chain of steps when a condition is true, another when false.",
    "control.switch": "Run the chain of the case that matches a value.",
    "control.foreach": "Run steps for each item of a list.",
    "control.until": "Repeat steps until a condition is true.",
    "control.scope": "Group steps; the scope fails when its last step fails.",
    "control.delay": "Wait before the next step.",
    "control.terminate": "End the run with a status.",
    "data.compose": "Build a value from text and expressions.",
    "variables.initialize": "Create a variable.",
    "variables.set": "Give a variable a new value.",
    "variables.increment": "Add to a number variable.",
    "variables.append": "Add an item to an array variable.",
}


def control_actions() -> list[dict]:
    """The control and data steps, described like connector actions."""
    described = []
    for kind in CONTROL_STEPS:
        group, _color = BUILT_IN_GROUPS[kind.partition(".")[0]]
        described.append(
            {
                "type": kind,
                "title": CONTROL_TITLES[kind],
                "description": CONTROL_DESCRIPTIONS[kind],
                "connector": group,
                "connectorKey": kind.partition(".")[0],
                "inputs": list(CONTROL_INPUTS[kind]),
                "outputs": [],
                "chains": [
                    {"key": key, "label": label} for key, label in CHAIN_LABELS.get(kind, ())
                ],
                "loop": kind == "control.foreach",
                "retry": False,
            }
        )
    return described


def connector_actions() -> list[dict]:
    described = []
    for key, connector in connectors().items():
        for action in connector.action_map.values():
            described.append(
                {
                    **action.describe(),
                    "connectorKey": key,
                    "chains": [],
                    "loop": False,
                    "retry": True,
                }
            )
    return described


def connector_list() -> list[dict]:
    listed = [
        {"key": key, "name": name, "color": color, "description": ""}
        for key, (name, color) in BUILT_IN_GROUPS.items()
    ]
    listed += [
        {"key": key, "name": c.name, "color": c.color, "description": c.description}
        for key, c in connectors().items()
    ]
    return listed


def table_list() -> list[dict]:
    listed = []
    for table in sorted(registry.tables.values(), key=lambda t: t.name):
        fields = [{"name": f.api_name, "label": f.label, "type": f.type} for f in table.fields]
        listed.append({"id": table.id, "name": table.name, "fields": fields})
    return listed


def designer_catalog() -> dict:
    """Everything the designer's script reads: actions, connectors, tables, trigger kinds."""
    return {
        "actions": control_actions() + connector_actions(),
        "connectors": connector_list(),
        "tables": table_list(),
        "triggerTypes": [{"type": key, "title": title} for key, title in TRIGGER_TYPES.items()],
        "triggerInputTypes": [
            {"type": key, "label": TRIGGER_INPUT_TYPE_LABELS.get(key, key)}
            for key in TRIGGER_INPUT_TYPES
        ],
        "triggerFields": {
            "selected_record": [
                {"name": name, "label": label, "type": type_}
                for name, label, type_ in SELECTED_RECORD_FIELDS
            ]
        },
        "runAfter": [
            {"status": status, "label": RUN_AFTER_LABELS[status]} for status in RUN_AFTER_STATUSES
        ],
        "retryTypes": [
            {"type": "exponential", "label": "Exponential interval"},
            {"type": "fixed", "label": "Fixed interval"},
            {"type": "none", "label": "None"},
        ],
    }
