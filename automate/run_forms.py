"""The Run Flow pane: the inputs an instant flow's trigger asks for, as a Django form.

The form only collects and types what the user entered; ``instant_flow_run`` (through
``clean_trigger_inputs``) is the check that decides whether the values are acceptable.
"""

from __future__ import annotations

from django import forms

from automate.models import Flow

TEXT_MAX_LENGTH = 4000


def _field(item: dict) -> forms.Field:
    kind = item.get("type", "text")
    label = item.get("label") or item["name"].replace("_", " ")
    required = bool(item.get("required"))
    if kind == "number":
        return forms.DecimalField(label=label, required=required, max_digits=30, decimal_places=10)
    if kind == "boolean":
        # An unticked box is an answer ("No"), so a yes/no input is never "missing".
        return forms.BooleanField(label=label, required=False)
    if kind == "date":
        return forms.DateField(
            label=label, required=required, widget=forms.DateInput(attrs={"type": "date"})
        )
    return forms.CharField(label=label, required=required, max_length=TEXT_MAX_LENGTH)


def trigger_inputs(flow: Flow) -> list[dict]:
    """The inputs declared by the trigger of the flow's current version."""
    version = flow.current_version
    if version is None:
        return []
    trigger = version.definition.get("trigger") or {}
    inputs = trigger.get("inputs") or []
    return [item for item in inputs if isinstance(item, dict) and item.get("name")]


class RunFlowForm(forms.Form):
    # An input may be called ``next`` or ``selected``: names the action step posts itself.
    prefix = "input"


def run_flow_form(flow: Flow) -> type[RunFlowForm]:
    """A form class with one field per trigger input; without inputs, a form with none."""
    fields = {item["name"]: _field(item) for item in trigger_inputs(flow)}
    return type("RunFlowForm", (RunFlowForm,), fields)
