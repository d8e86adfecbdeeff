"""The forms of Requests to Approve, the confirmation page and the Approval Entries list.

They parse what a page posts or asks for; the services decide whether it may happen.
"""

from __future__ import annotations

from django import forms

from approvals.documents import APPROVABLES
from approvals.models import ApprovalEntry

COMMENT_MAX_LENGTH = 4000
# Bulk Approve takes at most this many rows at once (one POST).
MAX_SELECTED = 200

APPROVE, REJECT, DELEGATE = "approve", "reject", "delegate"


def _comment_field(*, required: bool = False) -> forms.CharField:
    return forms.CharField(
        label="Comment",
        required=required,
        max_length=COMMENT_MAX_LENGTH,
        strip=True,
        widget=forms.Textarea(attrs={"rows": 2, "cols": 40}),
    )


class DecisionForm(forms.Form):
    """Approve, reject or delegate (``decision``), or answer a flow approval with one of
    its responses (``response``), with an optional comment."""

    decision = forms.ChoiceField(
        choices=[(APPROVE, "Approve"), (REJECT, "Reject"), (DELEGATE, "Delegate")],
        required=False,
    )
    response = forms.CharField(required=False, max_length=100, strip=True)
    comment = _comment_field()

    def clean(self):
        data = super().clean()
        if bool(data.get("decision")) == bool(data.get("response")):
            raise forms.ValidationError("Choose Approve, Reject or Delegate, or one response.")
        return data


class BulkApproveForm(forms.Form):
    """The rows ticked on Requests to Approve, approved with one POST."""

    comment = _comment_field()

    def __init__(self, data=None, **kwargs):
        super().__init__(data, **kwargs)
        self.selected: list[int] = []

    def clean(self):
        data = super().clean()
        raw = self.data.getlist("selected") if hasattr(self.data, "getlist") else []
        if not raw:
            raise forms.ValidationError("Select one or more requests to approve first.")
        if len(raw) > MAX_SELECTED:
            raise forms.ValidationError(f"Approve at most {MAX_SELECTED} requests at once.")
        if not all(v.isascii() and v.isdigit() and len(v) <= 18 for v in raw):
            raise forms.ValidationError("The selected rows must be approval entry ids.")
        self.selected = sorted({int(v) for v in raw})
        return data


class CommentForm(forms.Form):
    text = _comment_field(required=True)


def _table_choices() -> list[tuple[str, str]]:
    return [("", "Any")] + [(str(t.table_id), t.label) for t in APPROVABLES.values()]


class EntryFilterForm(forms.Form):
    """The Approval Entries list's filters: a record (table and id) and a status."""

    table = forms.TypedChoiceField(
        label="Table", required=False, coerce=int, empty_value=None, choices=_table_choices
    )
    record = forms.UUIDField(label="Record ID", required=False)
    status = forms.ChoiceField(
        label="Status", required=False, choices=[("", "Any"), *ApprovalEntry.Status.choices]
    )

    def clean(self):
        data = super().clean()
        if data.get("record") and not data.get("table"):
            self.add_error("table", "Choose the table of the record.")
        return data
