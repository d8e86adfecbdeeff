"""Business Central: read and change the company's records, run their actions, link to them.

The actions work on any table an app registers in ``bcsite.registry`` (customers, items,
sales orders, ...), by its API field names, and only on the rows of the run's company:
another company's record "does not exist", it is never read or written. Changes go
through the table's operations, which call the app's services, so a flow is refused
exactly what a person on the page would be.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import OperationalError, models
from django.db.models import Q

from automate.connectors.base import (
    ActionCall,
    ActionError,
    Connector,
    ConnectorAction,
    Output,
    Param,
)
from bcsite.pages.filters import FilterError, FilterField, describe_error, filter_q
from bcsite.registry import Table, registry

DEFAULT_TOP = 100
MAX_TOP = 1000

TABLE = Param(
    "table",
    "Table name",
    type="table",
    required=True,
    help="The table, by its number (18: Customer) or its API name (customers).",
)
RECORD_ID = Param("id", "Row id", required=True, help="The record's id (system id) or its No.")
FIELDS = Param(
    "fields",
    "Fields",
    type="json",
    required=True,
    help='An object of API field names and values, e.g. {"displayName": "Adatum"}.',
)
FILTER = Param(
    "filter",
    "Filter",
    type="json",
    help=(
        "An object of API field names and BC filter expressions, "
        'e.g. {"city": "Atlanta|Chicago", "balanceDue": ">1000"}.'
    ),
)
ORDER_BY = Param(
    "orderBy",
    "Order by",
    help="A field, with desc for descending: number desc. Separate several with commas.",
)
TOP = Param(
    "top", "Top count", type="integer", default=DEFAULT_TOP, help=f"At most {MAX_TOP} rows."
)

RECORD_OUTPUTS = (
    Output("body", "Record", "json"),
    Output("body/id", "Id"),
    Output("body/number", "No."),
    Output("body/displayName", "Display name"),
    Output("body/lastModifiedDateTime", "Last modified", "datetime"),
)


class BusinessCentralAction(ConnectorAction):
    """Finds the table and turns the services' refusals into action errors."""

    def run(self, call: ActionCall) -> dict:
        table = _table(call.inputs.get("table"))
        try:
            return self.perform(call, table)
        except ValidationError as error:
            raise _refusal(error, table) from None
        except OperationalError as error:
            # A lock wait that timed out or a deadlock: the same call can succeed later.
            raise ActionError(
                f"The database was busy ({error}). Try again.", retryable=True
            ) from error

    def perform(self, call: ActionCall, table: Table) -> dict:
        raise NotImplementedError

    def validate(self, inputs: dict) -> list[str]:
        errors = super().validate(inputs)
        value = inputs.get("table")
        if _is_literal(value) and value not in (None, "") and registry.find_table(value) is None:
            errors.append(f"Table {value} does not exist.")
        return errors


class GetRecord(BusinessCentralAction):
    key = "get_record"
    title = "Get record (V3)"
    description = "Get a record by its id or its No."
    inputs = (TABLE, RECORD_ID)
    outputs = RECORD_OUTPUTS
    repeatable = True

    def perform(self, call: ActionCall, table: Table) -> dict:
        return {"body": table.to_dict(_record(call, table))}


class FindRecords(BusinessCentralAction):
    key = "find_records"
    title = "Find records (V3)"
    description = "List the records that match a filter, in an order, up to a number of rows."
    inputs = (TABLE, FILTER, ORDER_BY, TOP)
    outputs = (Output("body/value", "Records", "array"),)
    repeatable = True

    def perform(self, call: ActionCall, table: Table) -> dict:
        rows = _find(call, table, limit=_top(call.inputs.get("top")))
        return {"body": {"value": [table.to_dict(row) for row in rows]}}


class FindOneRecord(BusinessCentralAction):
    key = "find_one_record"
    title = "Find one record (V3)"
    description = "Get the one record that matches a filter; fails if none or several match."
    inputs = (
        TABLE,
        FILTER,
        ORDER_BY,
        Param(
            "continueOnEmpty",
            "Continue on empty",
            type="boolean",
            default=False,
            help="When no record matches, succeed with an empty body instead of failing.",
        ),
    )
    outputs = RECORD_OUTPUTS
    repeatable = True

    def perform(self, call: ActionCall, table: Table) -> dict:
        rows = _find(call, table, limit=2)
        if len(rows) > 1:
            raise ActionError(
                f"More than one {table.name} record matches the filter. "
                "Narrow the filter so that exactly one does.",
                code="MultipleRecords",
            )
        if not rows:
            if _boolean(call.inputs.get("continueOnEmpty")):
                return {"body": None}
            raise ActionError(f"No {table.name} record matches the filter.", code="NotFound")
        return {"body": table.to_dict(rows[0])}


class CreateRecord(BusinessCentralAction):
    key = "create_record"
    title = "Create record (V3)"
    description = "Create a record from API field values."
    inputs = (TABLE, FIELDS)
    outputs = RECORD_OUTPUTS
    transactional = True

    def perform(self, call: ActionCall, table: Table) -> dict:
        if table.create is None:
            raise ActionError(f"Records cannot be created in {table.name}.", code="ReadOnly")
        record = table.create(call.company, call.user, _json_object(call.inputs.get("fields")))
        return {"body": table.to_dict(record)}


class UpdateRecord(BusinessCentralAction):
    key = "update_record"
    title = "Update record (V3)"
    description = "Change the given fields of a record; the others keep their values."
    inputs = (TABLE, RECORD_ID, FIELDS)
    outputs = RECORD_OUTPUTS
    transactional = True

    def perform(self, call: ActionCall, table: Table) -> dict:
        if table.update is None:
            raise ActionError(f"Records in {table.name} cannot be changed.", code="ReadOnly")
        record = _record(call, table)
        updated = table.update(record, call.user, _json_object(call.inputs.get("fields")))
        return {"body": table.to_dict(updated)}


class DeleteRecord(BusinessCentralAction):
    key = "delete_record"
    title = "Delete record (V3)"
    description = "Delete a record."
    inputs = (TABLE, RECORD_ID)
    transactional = True

    def perform(self, call: ActionCall, table: Table) -> dict:
        if table.delete is None:
            raise ActionError(f"Records in {table.name} cannot be deleted.", code="ReadOnly")
        table.delete(_record(call, table), call.user)
        return {"body": None}


class RunAction(BusinessCentralAction):
    key = "run_action"
    title = "Run action (V3)"
    description = "Run an action of a record: release, reopen or post a sales order, ..."
    inputs = (
        TABLE,
        RECORD_ID,
        Param("action", "Action", required=True, help="The action's name, e.g. release."),
    )
    outputs = RECORD_OUTPUTS
    transactional = True

    def perform(self, call: ActionCall, table: Table) -> dict:
        name = str(call.inputs.get("action") or "").strip()
        action = next(
            (f for k, f in table.actions.items() if k.casefold() == name.casefold()), None
        )
        if action is None:
            names = ", ".join(table.actions) or "none"
            raise ActionError(
                f"{table.name} has no action {name!r}. Its actions are: {names}.",
                code="BadRequest",
            )
        record = _record(call, table)
        return {"body": _result_body(action(record, call.user), record, table)}


class GetUrl(BusinessCentralAction):
    key = "get_url"
    title = "Get URL (V3)"
    description = "The address of the page that shows a record."
    inputs = (TABLE, RECORD_ID)
    outputs = (Output("body/url", "URL", "url"),)
    repeatable = True

    def perform(self, call: ActionCall, table: Table) -> dict:
        url = table.record_url(_record(call, table))
        if url is None:
            raise ActionError(f"{table.name} records have no page to link to.", code="NotFound")
        site = str(getattr(settings, "SITE_URL", "") or "").rstrip("/")
        return {"body": {"url": f"{site}{url}"}}


class RespondToApprovalRequest(ConnectorAction):
    """BC's Flow Entries: the answer of an approval flow to the request it was handed."""

    key = "respond_to_approval_request"
    title = "Approve, reject or cancel an approval request"
    description = (
        "Answer the approval request that started the flow (When a sales document, customer "
        "or item approval is requested): approving releases the order or lets the record be "
        "used; rejecting or cancelling reopens the order."
    )
    inputs = (
        Param(
            "approvalRequestId",
            "Approval request id",
            required=True,
            help="The trigger's Approval request id.",
        ),
        Param(
            "response",
            "Response",
            "choice",
            required=True,
            choices=(("Approve", "Approve"), ("Reject", "Reject"), ("Cancel", "Cancel")),
        ),
    )
    outputs = (
        Output("body/id", "Approval request id"),
        Output("body/status", "Status"),
        Output("body/recordNumber", "No."),
    )
    # Its effects (the request, the order's status) are rows, committed with the step.
    transactional = True

    def validate(self, inputs: dict) -> list[str]:
        errors = super().validate(inputs)
        response = inputs.get("response")
        if (
            _is_literal(response)
            and response not in (None, "")
            and (str(response).strip().casefold() not in ("approve", "reject", "cancel"))
        ):
            errors.append(f"Response {response} is not one of Approve, Reject or Cancel.")
        return errors

    def run(self, call: ActionCall) -> dict:
        from approvals.models import ApprovalRequest
        from approvals.services import flow_entry_respond
        from automate.services.approval_flows import answer_refusal

        key = str(call.inputs.get("approvalRequestId") or "").strip()
        try:
            system_id = uuid.UUID(key)
        except ValueError:
            raise ActionError(
                f"{key or 'An empty value'} is not an approval request id. Use the trigger's "
                "Approval request id.",
                code="BadRequest",
            ) from None
        request = ApprovalRequest.objects.filter(company=call.company, system_id=system_id).first()
        if request is None:
            raise ActionError(
                f"Approval request {key} does not exist in company {call.company.name}.",
                code="NotFound",
            )
        refusal = answer_refusal(request, call.run.flow)
        if refusal:
            raise ActionError(refusal, code="Forbidden")
        try:
            request = flow_entry_respond(
                request=request, user=call.user, response=str(call.inputs.get("response") or "")
            )
        except ValidationError as error:
            raise ActionError(" ".join(error.messages), code="ValidationFailed") from None
        return {
            "body": {
                "id": str(request.system_id),
                "status": request.get_status_display(),
                "recordNumber": request.record_no,
                "tableId": request.table_id,
            }
        }


class BusinessCentral(Connector):
    key = "business_central"
    name = "Business Central"
    description = "Read, find, create, change and delete records, run their actions."
    color = "#008489"
    actions = (
        GetRecord,
        FindRecords,
        FindOneRecord,
        CreateRecord,
        UpdateRecord,
        DeleteRecord,
        RunAction,
        GetUrl,
        RespondToApprovalRequest,
    )


# -- Inputs -----------------------------------------------------------------------------------


def _is_literal(value: Any) -> bool:
    """A value typed in the designer, not an expression evaluated when the flow runs."""
    return not (isinstance(value, str) and (value.lstrip().startswith("@") or "@{" in value))


def _table(value: Any) -> Table:
    table = registry.find_table(value)
    if table is None:
        raise ActionError(f"Table {value} does not exist.", code="BadRequest")
    return table


def _record(call: ActionCall, table: Table) -> models.Model:
    key = call.inputs.get("id")
    record = table.get(call.company, key)
    if record is None:
        raise ActionError(
            f"{table.name} {key} does not exist in company {call.company.name}.", code="NotFound"
        )
    return record


def _json_object(value: Any) -> Any:
    """An object input, also when an expression produced it as JSON text."""
    if isinstance(value, str):
        try:
            return json.loads(value) if value.strip() else {}
        except ValueError:
            raise ActionError(
                "Expected an object of field names and values, not text.", code="BadRequest"
            ) from None
    return {} if value is None else value


def _boolean(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().casefold() in ("true", "yes", "1")
    return bool(value)


def _top(value: Any) -> int:
    if value is None or value == "":
        return DEFAULT_TOP
    try:
        top = int(value) if not isinstance(value, bool | float) else None
    except (TypeError, ValueError):
        top = None
    if top is None or not 1 <= top <= MAX_TOP:
        raise ActionError(
            f"Top count must be a whole number from 1 to {MAX_TOP}, not {value}.",
            code="BadRequest",
        )
    return top


# -- Finding ----------------------------------------------------------------------------------


def _find(call: ActionCall, table: Table, *, limit: int) -> list[models.Model]:
    rows = table.queryset(call.company).filter(_filter(table, call.inputs.get("filter")))
    ordering = _ordering(table, call.inputs.get("orderBy"))
    if ordering:
        rows = rows.order_by(*ordering)
    return list(rows[:limit])


def _filter(table: Table, value: Any) -> Q:
    """The rows that match every field's BC filter expression."""
    filters = _json_object(value)
    if not isinstance(filters, dict):
        raise ActionError(
            'The filter must be an object of field names and expressions, e.g. {"city": "A*"}.',
            code="BadRequest",
        )
    result = Q()
    for name, expression in filters.items():
        if expression is None:
            continue
        if isinstance(expression, bool):
            expression = "Yes" if expression else "No"
        elif isinstance(expression, int | float):
            expression = str(expression)
        elif not isinstance(expression, str):
            raise ActionError(
                f"The filter on {name} must be a filter expression (text), e.g. 100..500.",
                code="BadRequest",
            )
        field = _sortable_field(table, name, purpose="filter on")
        try:
            result &= filter_q(expression, field)
        except FilterError as error:
            raise ActionError(describe_error(expression, field, error), code="BadRequest") from None
    return result


def _ordering(table: Table, value: Any) -> list[str]:
    """``number desc, displayName`` as an ``order_by``, the primary key last for a stable order."""
    text = str(value or "").strip()
    if not text:
        return []
    ordering = []
    for part in text.split(","):
        words = part.split()
        if (
            not words
            or len(words) > 2
            or (len(words) == 2 and words[1].casefold() not in ("asc", "desc"))
        ):
            raise ActionError(
                f"Order by takes field names, each optionally followed by asc or desc, "
                f"not {part.strip()!r}.",
                code="BadRequest",
            )
        path = _sortable_field(table, words[0], purpose="sort by").path
        descending = len(words) == 2 and words[1].casefold() == "desc"
        ordering.append(f"-{path}" if descending else path)
    return [*ordering, "pk"]


def _sortable_field(table: Table, name: str, *, purpose: str) -> FilterField:
    table_field = table.field(name)
    if table_field is None:
        known = ", ".join(f.api_name for f in table.fields)
        raise ActionError(
            f"The field {name} does not exist in {table.name}. Its fields are: {known}.",
            code="BadRequest",
        )
    model_field = table.model_field(table_field)
    if model_field is None:
        raise ActionError(
            f"You cannot {purpose} {name}: it is computed, not stored.", code="BadRequest"
        )
    return FilterField.for_model_field(
        model_field, path=table_field.attribute, label=f"{table_field.label} ({name})"
    )


# -- Results and errors -----------------------------------------------------------------------


def _result_body(result: Any, record: models.Model, table: Table) -> Any:
    """What an action returns: the record it leaves behind (posting: the posted invoice)."""
    if result is None:
        result = record
    if isinstance(result, models.Model):
        result_table = registry.table_for_model(type(result)) or table
        return result_table.to_dict(result if result_table.model is type(result) else record)
    if isinstance(result, dict | list | str | int | float | bool):
        return result
    return str(result)


def _refusal(error: ValidationError, table: Table) -> ActionError:
    """The services' messages, joined; per API field in ``details`` when they name fields."""
    if not hasattr(error, "error_dict"):
        return ActionError(" ".join(error.messages), code="ValidationFailed")
    details = {table.api_name(name): messages for name, messages in error.message_dict.items()}
    message = " ".join(m for messages in details.values() for m in messages)
    return ActionError(message, code="ValidationFailed", details=details)
