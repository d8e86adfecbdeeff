"""The approval workflows bcsite ships, as BC's MS-* workflow templates, and their rules:
conditions on a record's fields, and due date formulas."""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from bcsite.registry import registry

SALES_ORDERS = 36
CUSTOMERS = 18
ITEMS = 27


@dataclass(frozen=True)
class WorkflowTemplate:
    code: str
    description: str
    category: str
    table_id: int
    change_field: str = ""  # the API name of the field whose change needs approval
    conditions: tuple[dict, ...] = ()
    approver_type: str = "approver_chain"
    due_date_formula: str = "2D"
    delegate_after: str = ""
    help: str = ""


TEMPLATES: tuple[WorkflowTemplate, ...] = (
    WorkflowTemplate(
        "MS-SOAPW",
        "Sales Order Approval Workflow",
        "Sales",
        SALES_ORDERS,
        conditions=({"field": "totalAmountExcludingTax", "operator": "gt", "value": 0},),
        approver_type="approver_chain",
        help="A sales order is sent for approval before it can be released; each approver "
        "up the chain approves until one's Sales Amount Approval Limit covers the amount.",
    ),
    WorkflowTemplate(
        "MS-CUSTAPW",
        "Customer Approval Workflow",
        "Sales",
        CUSTOMERS,
        approver_type="direct_approver",
        help="A new customer cannot be sold to until its approval request is approved.",
    ),
    WorkflowTemplate(
        "MS-ITEMAPW",
        "Item Approval Workflow",
        "Inventory",
        ITEMS,
        approver_type="direct_approver",
        help="A new item cannot be put on a document until its approval request is approved.",
    ),
    WorkflowTemplate(
        "MS-CCLCAPW",
        "Customer Credit Limit Change Approval Workflow",
        "Sales",
        CUSTOMERS,
        change_field="creditLimit",
        approver_type="direct_approver",
        help="A change of a customer's credit limit is held until it is approved; the "
        "customer keeps the old limit meanwhile.",
    ),
    WorkflowTemplate(
        "MS-IUPCAPW",
        "Item Unit Price Change Approval Workflow",
        "Inventory",
        ITEMS,
        change_field="unitPrice",
        approver_type="direct_approver",
        help="A change of an item's unit price is held until it is approved; the item keeps "
        "the old price meanwhile.",
    ),
)
TEMPLATES_BY_CODE = {t.code: t for t in TEMPLATES}


# -- Conditions -----------------------------------------------------------------------------

OPERATORS = {
    "eq": "is",
    "ne": "is not",
    "gt": "is greater than",
    "ge": "is greater than or equal to",
    "lt": "is less than",
    "le": "is less than or equal to",
    "contains": "contains",
}
NUMERIC_TYPES = ("number", "integer")


def condition_errors(table_id: int, conditions: Any) -> list[str]:
    """What is wrong with ``conditions`` for records of ``table_id``."""
    table = registry.tables.get(table_id)
    if not isinstance(conditions, list):
        return ["The conditions must be a list."]
    errors = []
    for number, condition in enumerate(conditions, start=1):
        if not isinstance(condition, dict) or set(condition) - {"field", "operator", "value"}:
            errors.append(f"Condition {number} must have a field, an operator and a value.")
            continue
        name = condition.get("field")
        table_field = table.field(str(name)) if table is not None else None
        if table_field is None:
            names = ", ".join(f.api_name for f in table.fields) if table else ""
            errors.append(f"Condition {number}: {name} is not a field. The fields are: {names}.")
            continue
        operator = condition.get("operator")
        if operator not in OPERATORS:
            errors.append(
                f"Condition {number}: {operator} is not an operator. "
                f"The operators are: {', '.join(OPERATORS)}."
            )
            continue
        numeric = table_field.type in NUMERIC_TYPES and operator != "contains"
        if numeric and _number(condition.get("value")) is None:
            errors.append(f"Condition {number}: {table_field.label} needs a number.")
    return errors


def conditions_hold(conditions: list[dict], values: dict[str, Any]) -> bool:
    """Whether a record with API-named ``values`` meets every condition."""
    return all(_holds(c, values.get(c["field"])) for c in conditions)


def _holds(condition: dict, actual: Any) -> bool:
    operator = condition["operator"]
    expected = condition.get("value")
    if operator == "contains":
        return str(expected or "").casefold() in str(actual or "").casefold()
    left, right = _number(actual), _number(expected)
    if left is None or right is None:
        left = str(actual if actual is not None else "").casefold()
        right = str(expected if expected is not None else "").casefold()
        if operator not in ("eq", "ne"):
            return False
    return {
        "eq": left == right,
        "ne": left != right,
        "gt": left > right,
        "ge": left >= right,
        "lt": left < right,
        "le": left <= right,
    }[operator]


def _number(value: Any) -> Decimal | None:
    if isinstance(value, bool) or value is None or value == "":
        return None
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None


def describe_conditions(table_id: int, conditions: list[dict]) -> str:
    if not conditions:
        return "Always"
    table = registry.tables.get(table_id)
    parts = []
    for condition in conditions:
        table_field = table.field(condition["field"]) if table else None
        label = table_field.label if table_field else condition["field"]
        parts.append(f"{label} {OPERATORS.get(condition['operator'], '?')} {condition['value']}")
    return " and ".join(parts)


# -- Due date formulas ----------------------------------------------------------------------

_FORMULA = re.compile(r"^([+-]?\d{1,3})([DWMY])$")
_TERM = re.compile(r"[+-]?[^+-]+")


def due_date_formula_error(formula: str) -> str | None:
    try:
        apply_date_formula(formula, datetime.date(2000, 1, 1))
    except ValueError as error:
        return str(error)
    return None


def apply_date_formula(formula: str, start: datetime.date) -> datetime.date:
    """BC's date formula, terms of days, weeks, months and years: ``2D``, ``1W+3D``."""
    text = (formula or "").replace(" ", "").upper()
    if not text:
        return start
    terms = _TERM.findall(text)
    if "".join(terms) != text:
        raise ValueError(_formula_help(formula))
    date = start
    for term in terms:
        match = _FORMULA.match(term)
        if match is None:
            raise ValueError(_formula_help(formula))
        count, unit = int(match.group(1)), match.group(2)
        if unit == "D":
            date += datetime.timedelta(days=count)
        elif unit == "W":
            date += datetime.timedelta(weeks=count)
        else:
            months = count * (12 if unit == "Y" else 1)
            month_index = date.month - 1 + months
            year, month = date.year + month_index // 12, month_index % 12 + 1
            if not 1 <= year <= 9999:
                raise ValueError(_formula_help(formula))
            date = date.replace(year=year, month=month, day=min(date.day, _days_in(year, month)))
    return date


def _days_in(year: int, month: int) -> int:
    following = datetime.date(year + month // 12, month % 12 + 1, 1)
    return (following - datetime.timedelta(days=1)).day


def _formula_help(formula: str) -> str:
    return (
        f"{formula} is not a date formula. Use a number and a unit: D (days), W (weeks), "
        "M (months) or Y (years), e.g. 2D or 1W+2D."
    )


def delegate_after_delta(value: str) -> datetime.timedelta | None:
    if not value:
        return None
    return datetime.timedelta(days=int(value.rstrip("D")))
