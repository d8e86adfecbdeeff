"""The Audit Log page: who created, changed, shared, switched or decided what, and when.

Company administrators only, and only their company's entries. Newest first, filtered by
area, action, user, dates and a text in the object's name or the message; keyset paging,
so page 200 costs what page 1 costs. A GET only reads.
"""

from __future__ import annotations

import datetime
import json
from dataclasses import dataclass
from typing import Any

from django import forms
from django.contrib.auth import get_user_model
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.views.decorators.http import require_safe

from bcsite.models import AuditEntry
from bcsite.pages.paging import Sort, bounded_count, page_for_request, paging_links
from bcsite.registry import NavEntry, registry
from bcsite.views import company_admin_required

PAGE_SIZE = 50
COUNT_LIMIT = 1000
SALT = "audit-log"
SORT = Sort("at", descending=True, model_field=AuditEntry._meta.get_field("at"))
SYSTEM = "System"
SYSTEM_CHOICE = "system"
SEARCH_MAX_LENGTH = 100
FILTERS = ("area", "action", "user", "date_from", "date_to", "q")

AREAS = ("Flow", "Flow sharing", "Power Automate setup", "Approval", "Pinned action")
ACTIONS = (
    "created",
    "changed",
    "turned on",
    "turned off",
    "deleted",
    "shared",
    "unshared",
    "reassigned",
    "allowed",
    "denied",
    "opted in",
    "opted out",
    "approved",
    "rejected",
    "responded",
    "delegated",
    "cancelled",
    "pinned",
    "unpinned",
)


def _no_control_characters(value: str) -> None:
    # NUL cannot be stored or searched for in PostgreSQL; no name or message holds one.
    if any(not c.isprintable() for c in value):
        raise forms.ValidationError("The search may not hold control characters.")


class AuditFilterForm(forms.Form):
    area = forms.ChoiceField(
        label="Area",
        required=False,
        choices=[("", "All areas"), *((a, a) for a in AREAS)],
        error_messages={"invalid_choice": "%(value)s is not an area of the audit log."},
    )
    action = forms.ChoiceField(
        label="Action",
        required=False,
        choices=[("", "All actions"), *((a, a.capitalize()) for a in ACTIONS)],
        error_messages={"invalid_choice": "%(value)s is not an action of the audit log."},
    )
    user = forms.ChoiceField(
        label="User",
        required=False,
        error_messages={"invalid_choice": "%(value)s is not a user of this company."},
    )
    date_from = forms.DateField(
        label="From",
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        error_messages={"invalid": "Enter a date as YYYY-MM-DD."},
    )
    date_to = forms.DateField(
        label="To",
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        error_messages={"invalid": "Enter a date as YYYY-MM-DD."},
    )
    q = forms.CharField(
        label="Search",
        required=False,
        max_length=SEARCH_MAX_LENGTH,
        validators=[_no_control_characters],
        widget=forms.TextInput(attrs={"placeholder": "Object or message", "type": "search"}),
        error_messages={
            "max_length": f"Search for at most {SEARCH_MAX_LENGTH} characters.",
        },
    )

    def __init__(self, data, *, users: list[tuple[str, str]]):
        super().__init__(data)
        self.fields["user"].choices = [("", "All users"), (SYSTEM_CHOICE, SYSTEM), *users]

    def clean(self) -> dict:
        data = super().clean()
        start, end = data.get("date_from"), data.get("date_to")
        if start and end and start > end:
            raise forms.ValidationError("The From date must not be after the To date.")
        return data


def filtered(entries: QuerySet[AuditEntry], data: dict) -> QuerySet[AuditEntry]:
    """The entries that meet the form's cleaned filters."""
    if data["area"]:
        entries = entries.filter(area=data["area"])
    if data["action"]:
        entries = entries.filter(action=data["action"])
    if data["user"] == SYSTEM_CHOICE:
        entries = entries.filter(actor__isnull=True, actor_name="")
    elif data["user"]:
        entries = entries.filter(actor_id=int(data["user"]))
    if data["date_from"]:
        entries = entries.filter(at__gte=_start_of(data["date_from"]))
    if data["date_to"]:
        entries = entries.filter(at__lt=_start_of(data["date_to"] + datetime.timedelta(days=1)))
    if data["q"].strip():
        text = data["q"].strip()
        entries = entries.filter(Q(object_repr__icontains=text) | Q(message__icontains=text))
    return entries


def _start_of(day: datetime.date) -> datetime.datetime:
    """Midnight of ``day`` where the company works (the site's time zone)."""
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))


# -- What a row shows ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Change:
    field: str
    before: str
    after: str


@dataclass(frozen=True)
class EntryRow:
    entry: AuditEntry
    who: str
    changes: list[Change]
    # Whether the entry has a before, an after, or both (a creation has no before).
    has_before: bool
    has_after: bool


def field_label(key: str) -> str:
    """ "concurrency_limit" -> "Concurrency limit"."""
    text = str(key).replace("_", " ").strip()
    return text[:1].upper() + text[1:]


def shown(value: Any) -> str:
    """A logged value as the page shows it."""
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, list):
        return ", ".join(shown(v) for v in value) or "—"
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    return str(value)


# Keys shown first, in this order; the rest follow by name. The log's JSON keeps no order
# (PostgreSQL's jsonb sorts keys its own way), so the page sets one.
KEY_ORDER = ("name", "kind", "owner", "status", "request", "response", "approver", "mode")


def _key_order(key: str) -> tuple[int, str]:
    return (KEY_ORDER.index(key) if key in KEY_ORDER else len(KEY_ORDER), key)


def changes_of(before: dict, after: dict) -> list[Change]:
    """The keys the entry is about: those that differ when it has a before and an after,
    all of them when it has only one (a creation, a deletion)."""
    before = before if isinstance(before, dict) else {}
    after = after if isinstance(after, dict) else {}
    keys = sorted({*before, *after}, key=_key_order)
    if before and after:
        keys = [k for k in keys if before.get(k) != after.get(k)]
    return [
        Change(
            field=field_label(k),
            before=shown(before.get(k)) if before else "",
            after=shown(after.get(k)) if after else "",
        )
        for k in keys
    ]


def entry_row(entry: AuditEntry) -> EntryRow:
    return EntryRow(
        entry=entry,
        who=entry.actor_name or SYSTEM,
        changes=changes_of(entry.before, entry.after),
        has_before=bool(entry.before),
        has_after=bool(entry.after),
    )


# -- The page ------------------------------------------------------------------------------------


def _company_users(request: HttpRequest) -> list[tuple[str, str]]:
    users = (
        get_user_model()
        .objects.filter(memberships__company=request.company)
        .order_by("username")
        .values_list("pk", "username")
    )
    return [(str(pk), name) for pk, name in users]


@require_safe
@company_admin_required("Only administrators of the company can see the audit log.")
def audit_log(request: HttpRequest) -> HttpResponse:
    form = AuditFilterForm(request.GET, users=_company_users(request))
    entries = AuditEntry.objects.filter(company=request.company)
    errors: list[str] = []
    status = 200
    if form.is_valid():
        entries = filtered(entries, form.cleaned_data)
    else:
        errors = [
            f"{form.fields[name].label}: {error}" if name in form.fields else error
            for name, field_errors in form.errors.items()
            for error in field_errors
        ]
        entries, status = entries.none(), 400
    page = page_for_request(request, entries, SORT, size=PAGE_SIZE, salt=SALT, errors=errors)
    count, more = bounded_count(entries, COUNT_LIMIT)
    context = {
        "form": form,
        "rows": [entry_row(entry) for entry in page.rows],
        "errors": errors,
        "count": count,
        "count_more": more,
        **paging_links(reverse("audit-log"), {k: request.GET.get(k, "") for k in FILTERS}, page),
    }
    return render(request, "bcsite/audit_log.html", context, status=status)


# -- Navigation ----------------------------------------------------------------------------------


def _may_see_audit_log(request: HttpRequest) -> bool:
    if not getattr(request, "is_company_admin", False):
        return False
    try:
        reverse("audit-log")
    except NoReverseMatch:
        return False
    return True


_registered = False


def register_navigation() -> None:
    """Audit Log under Settings, for company administrators. Once per process."""
    global _registered
    if _registered:
        return
    _registered = True
    registry.register_nav_entry(
        NavEntry(
            group="Settings",
            title="Audit Log",
            url=lambda: reverse("audit-log"),
            order=90,
            allowed=_may_see_audit_log,
        )
    )
