"""Forms of the API Tokens and Service Clients pages."""

from __future__ import annotations

import datetime

from django import forms
from django.utils import timezone

from bcsite.api.credentials import NAME_MAX_LENGTH
from records.models import Membership

# Days a new token lasts; "" never expires.
EXPIRY_CHOICES = [
    ("30", "30 days"),
    ("90", "90 days"),
    ("365", "1 year"),
    ("", "Never"),
]


class ApiTokenForm(forms.Form):
    name = forms.CharField(
        max_length=NAME_MAX_LENGTH,
        help_text="What uses the token, e.g. 'Shop integration'.",
    )
    expires = forms.ChoiceField(
        label="Expires after", choices=EXPIRY_CHOICES, initial="90", required=False
    )

    def expires_at(self) -> datetime.datetime | None:
        days = self.cleaned_data.get("expires")
        return timezone.now() + datetime.timedelta(days=int(days)) if days else None


class ServiceClientForm(forms.Form):
    name = forms.CharField(
        max_length=NAME_MAX_LENGTH,
        help_text="The service that will call the API, e.g. 'Warehouse sync'.",
    )
    role = forms.ChoiceField(
        choices=Membership.Role.choices,
        initial=Membership.Role.USER,
        help_text="What the client may do in the company, as a user with this role could.",
    )


def add_service_errors(form: forms.Form, error) -> None:
    """A service's ValidationError on the form: on its fields where it names them."""
    if hasattr(error, "error_dict"):
        for field, messages in error.message_dict.items():
            target = field if field in form.fields else None
            for message in messages:
                form.add_error(target, message)
    else:
        for message in error.messages:
            form.add_error(None, message)
