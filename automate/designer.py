"""What the flow designer needs to draw and edit a definition, embedded in its page as JSON.

Connector actions describe themselves (``ConnectorAction.describe``); the control and data
steps the engine runs itself are described here, in the same shape, so the designer edits
both the same way.
"""

from __future__ import annotations

from collections.abc import Iterable
from zoneinfo import available_timezones

from approvals.templates import OPERATORS
from automate import recurrence
from automate.connectors import connectors
from automate.definition import (
    APPROVAL_TRIGGER_TABLES,
    CONTROL_STEPS,
    CONTROL_TITLES,
    DELAY_UNITS,
    HTTP_METHODS,
    MAX_APPROVAL_FILTERS,
    MAX_TRIGGER_CONDITIONS,
    RECORD_TRIGGERS,
    RUN_AFTER_STATUSES,
    TERMINATE_STATUSES,
    TRIGGER_INPUT_TYPES,
    TRIGGER_KEYS,
    TRIGGER_TYPES,
    VARIABLE_TYPES,
)
from bcsite.events import events
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
# What a record trigger's body holds besides the record's fields (docs/flows.md, "Triggers").
RECORD_CHANGE_FIELDS = (
    ("recordId", "Record ID", "text"),
    ("recordUrl", "Record URL", "url"),
    ("tableId", "Table ID", "integer"),
    ("tableName", "Table name", "text"),
    ("companyId", "Company ID", "text"),
    ("companyName", "Company name", "text"),
    ("changeType", "Change type", "text"),
    ("userName", "Changed by", "text"),
)
MODIFIED_FIELDS = (
    ("changedFields", "Changed fields", "array"),
    ("previous", "Previous values", "object"),
)
# ... and a business event's, besides its payload.
BUSINESS_EVENT_FIELDS = (
    ("eventName", "Event name", "text"),
    ("eventTime", "Event time", "datetime"),
    ("companyId", "Company ID", "text"),
    ("companyName", "Company name", "text"),
)
RECURRENCE_FIELDS = (
    ("scheduledTime", "Scheduled time", "datetime"),
    ("firedTime", "Fired time", "datetime"),
)
# The HTTP trigger's body is the request's JSON; the schema's properties are read from it.
HTTP_REQUEST_FIELDS = (
    {"name": "", "label": "Body", "type": "object", "expression": "triggerBody()"},
    {
        "name": "",
        "label": "Headers",
        "type": "object",
        "expression": "triggerOutputs()?['headers']",
    },
    {
        "name": "",
        "label": "Queries",
        "type": "object",
        "expression": "triggerOutputs()?['queries']",
    },
)
# ... and an approval flow's, besides the record's fields (automate.services.approval_flows).
APPROVAL_REQUEST_FIELDS = (
    ("approvalRequestId", "Approval request id", "text"),
    ("documentType", "Document type", "text"),
    ("recordId", "Record ID", "text"),
    ("recordNumber", "Record No.", "text"),
    ("recordUrl", "Record URL", "url"),
    ("recordLink", "Record link", "url"),
    ("amount", "Amount", "number"),
    ("requesterUserName", "Requester user name", "text"),
    ("requesterEmail", "Requester email", "emails"),
    ("approverUserName", "Approver user name", "text"),
    ("approverEmail", "Approver email", "emails"),
    ("requestedAt", "Requested at", "datetime"),
    ("tableId", "Table ID", "integer"),
    ("tableName", "Table name", "text"),
    ("companyId", "Company ID", "text"),
    ("companyName", "Company name", "text"),
)
# Power Automate's "Choose your flow's trigger", and the connector each trigger belongs to.
TRIGGER_GROUPS = {
    "selected_record": "Instant",
    "record_created": "Automated",
    "record_modified": "Automated",
    "record_deleted": "Automated",
    "business_event": "Automated",
    "recurrence": "Scheduled",
    "http_request": "HTTP",
    "approval_requested": "Automated",
}
TRIGGER_CONNECTORS = {
    "recurrence": ("schedule", "Schedule", "#1f85ff"),
    "http_request": ("request", "Request", "#009da5"),
}
BUSINESS_CENTRAL = ("business_central", "Business Central", "#008489")
TRIGGER_DESCRIPTIONS = {
    "selected_record": "Run the flow from a record's page, asking for the inputs below.",
    "record_created": "Start when a record of the table is created.",
    "record_modified": "Start when a record of the table is changed.",
    "record_deleted": "Start when a record of the table is deleted.",
    "business_event": "Start when something happens in Business Central, such as a release.",
    "recurrence": "Start on a schedule.",
    "http_request": "Start when the flow's URL receives a request. "
    "The URL is shown on the flow's page once it is saved.",
    "approval_requested": "Start when someone sends a sales document, a customer or an item "
    "for approval. The flow answers the request with Business Central's Approve, reject or "
    "cancel an approval request.",
}
FREQUENCY_LABELS = {"minute": "Minute", "hour": "Hour", "day": "Day", "week": "Week"}
# The time zones offered while typing one: the IANA names of places, plus UTC. Any other
# IANA name can be typed.
TIME_ZONE_AREAS = (
    "Africa",
    "America",
    "Antarctica",
    "Asia",
    "Atlantic",
    "Australia",
    "Europe",
    "Indian",
    "Pacific",
)


def _fields(described: Iterable[tuple[str, str, str]]) -> list[dict]:
    return [{"name": name, "label": label, "type": type_} for name, label, type_ in described]


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


def trigger_type_list() -> list[dict]:
    """The trigger types, with their group, connector and the keys each may hold."""
    listed = []
    for kind, title in TRIGGER_TYPES.items():
        key, name, color = TRIGGER_CONNECTORS.get(kind, BUSINESS_CENTRAL)
        listed.append(
            {
                "type": kind,
                "title": title,
                "group": TRIGGER_GROUPS[kind],
                "description": TRIGGER_DESCRIPTIONS[kind],
                "connectorKey": key,
                "connector": name,
                "color": color,
                "keys": sorted(TRIGGER_KEYS[kind]),
            }
        )
    return listed


def trigger_field_lists() -> dict[str, list[dict]]:
    """What ``triggerBody()`` holds per trigger type, besides what the trigger's own choice
    adds: the table's fields (``table``), the event's payload (``event``), the schema's
    properties (``schema``); the script adds those from the trigger it edits."""
    record = _fields(RECORD_CHANGE_FIELDS)
    return {
        "selected_record": _fields(SELECTED_RECORD_FIELDS),
        "record_created": record,
        "record_modified": record + _fields(MODIFIED_FIELDS),
        "record_deleted": record,
        "business_event": _fields(BUSINESS_EVENT_FIELDS),
        "recurrence": _fields(RECURRENCE_FIELDS),
        "http_request": [dict(field) for field in HTTP_REQUEST_FIELDS],
        "approval_requested": _fields(APPROVAL_REQUEST_FIELDS),
    }


def business_event_list() -> list[dict]:
    listed = []
    for event in sorted(events.business_events.values(), key=lambda e: (e.category, e.name)):
        listed.append(
            {
                "key": event.key,
                "name": event.name,
                "category": event.category,
                "description": event.description,
                "tableId": event.table_id,
                "payload": [
                    {"name": f.name, "label": f.name, "type": f.type, "description": f.description}
                    for f in event.payload
                ],
            }
        )
    return listed


def recurrence_options() -> dict:
    zones = sorted(
        zone for zone in available_timezones() if zone.partition("/")[0] in TIME_ZONE_AREAS
    )
    return {
        "frequencies": [
            {
                "value": frequency,
                "label": FREQUENCY_LABELS.get(frequency, frequency),
                # As recurrence_errors has it: times of day for days and weeks, days for weeks.
                "times": frequency in ("day", "week"),
                "weekDays": frequency == "week",
            }
            for frequency in recurrence.FREQUENCIES
        ],
        "weekDays": list(recurrence.WEEK_DAYS),
        "maxInterval": recurrence.MAX_INTERVAL,
        "defaultTimeZone": recurrence.DEFAULT_TIME_ZONE,
        "timeZones": [recurrence.DEFAULT_TIME_ZONE, *zones],
    }


def designer_catalog() -> dict:
    """Everything the designer's script reads: actions, connectors, tables, trigger kinds."""
    return {
        "actions": control_actions() + connector_actions(),
        "connectors": connector_list(),
        "tables": table_list(),
        "triggerTypes": trigger_type_list(),
        "triggerInputTypes": [
            {"type": key, "label": TRIGGER_INPUT_TYPE_LABELS.get(key, key)}
            for key in TRIGGER_INPUT_TYPES
        ],
        "triggerFields": trigger_field_lists(),
        "recordTriggers": list(RECORD_TRIGGERS),
        "businessEvents": business_event_list(),
        "recurrence": recurrence_options(),
        "httpMethods": list(HTTP_METHODS),
        "approvalTriggers": [
            {"table": table, "title": title} for table, title in APPROVAL_TRIGGER_TABLES.items()
        ],
        "approvalOperators": [{"value": key, "label": label} for key, label in OPERATORS.items()],
        "maxApprovalFilters": MAX_APPROVAL_FILTERS,
        "maxTriggerConditions": MAX_TRIGGER_CONDITIONS,
        "runAfter": [
            {"status": status, "label": RUN_AFTER_LABELS[status]} for status in RUN_AFTER_STATUSES
        ],
        "retryTypes": [
            {"type": "exponential", "label": "Exponential interval"},
            {"type": "fixed", "label": "Fixed interval"},
            {"type": "none", "label": "None"},
        ],
    }
