"""Forms of the flow pages. They check input only; the views save through the services."""

from __future__ import annotations

import json

from django import forms
from django.core.exceptions import ValidationError

from automate.definition import definition_errors
from automate.models import Flow
from automate.services.flows import MAX_IMPORT_BYTES


def parse_json(text: str, *, what: str):
    """Parse ``text`` as JSON, or refuse saying where it breaks."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise ValidationError(
            f"{what} is not valid JSON (line {error.lineno}, column {error.colno}: {error.msg})."
        ) from None
    except RecursionError:
        raise ValidationError(f"{what} nests too deeply.") from None


class FlowForm(forms.Form):
    """The designer's form: the definition travels as JSON in one field."""

    name = forms.CharField(
        max_length=Flow._meta.get_field("name").max_length,
        error_messages={"required": "Give the flow a name."},
    )
    description = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))
    # Power Automate's concurrency control: at most this many runs of the flow at once.
    concurrency_limit = forms.IntegerField(
        required=False,  # left out: the flow keeps its limit (25 for a new one)
        min_value=1,
        max_value=100,
        initial=25,
        error_messages={
            "min_value": "At least 1 run at once.",
            "max_value": "At most 100 runs at once.",
            "invalid": "Runs at once must be a whole number.",
        },
    )
    # What custom actions name the flow by (AL's FlowId); the services check it.
    key = forms.CharField(max_length=Flow._meta.get_field("key").max_length, required=False)
    definition = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 24, "spellcheck": "false"}),
        error_messages={"required": "The flow has no definition."},
    )

    def clean_definition(self) -> dict:
        definition = parse_json(self.cleaned_data["definition"], what="The definition")
        errors = definition_errors(definition)
        if errors:
            raise ValidationError(errors)
        return definition


class FlowImportForm(forms.Form):
    file = forms.FileField(
        label="Flow file (.json)",
        error_messages={
            "required": "Choose a file to import.",
            "empty": "The file is empty.",
        },
    )

    def clean_file(self) -> bytes:
        upload = self.cleaned_data["file"]
        if upload.size > MAX_IMPORT_BYTES:
            raise ValidationError(f"The file is too large (at most {MAX_IMPORT_BYTES // 1024} KB).")
        return upload.read()


class FlowToggleForm(forms.Form):
    enabled = forms.BooleanField(required=False)
