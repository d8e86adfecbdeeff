"""Power Automate Setup (administrators) and Get started with Power Automate (everyone).

Both work while Power Automate is off for the user (``automate_exempt``): an administrator
who switched it off for everyone must still be able to switch it back on, and a user who
has only to opt in must reach the page that does it. Every change is a POST; the services
in ``automate.services.setup`` make it and write the audit log.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Count, IntegerField, OuterRef, Subquery
from django.db.models.functions import Coalesce
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from automate.access import automate_exempt, needs_opt_in, request_automate_refusal
from automate.models import AutomateSetup, AutomateUserAccess, Flow, TriggerEvent
from automate.services.setup import (
    automate_opt_in,
    automate_opt_out,
    automate_setup_mode,
    automate_setup_set_mode,
    automate_user_access_set,
)
from bcsite.views import company_admin_required, company_required
from records.models import Membership

ADMINS_ONLY = "Only administrators of the company may change Power Automate Setup."
SKIPPED_EVENTS_SHOWN = 50
# A user id longer than this is no id of ours (and no integer the database takes).
MAX_ID_DIGITS = 18
MODE_SENTENCES = {
    AutomateSetup.Mode.ON: (
        "Everyone in the company may use Power Automate, except the users you turn it off "
        "for below."
    ),
    AutomateSetup.Mode.OFF: (
        "No one may use Power Automate: no Automate group on pages, the Power Automate "
        "pages and API refuse, and automated flows do not start."
    ),
    AutomateSetup.Mode.USERS_DECIDE: (
        "Each user starts with Get started with Power Automate; until then their Automate "
        "group offers only that, and their automated flows do not start."
    ),
}


@dataclass(frozen=True)
class ModeChoice:
    value: str
    label: str
    sentence: str
    checked: bool


@dataclass(frozen=True)
class UserRow:
    membership: Membership
    allowed: bool
    opted_in_at: datetime | None
    flow_count: int
    reassign_url: str


def user_rows(company) -> list[UserRow]:
    """The company's users with their permission, opt-in and number of flows: one query."""
    access = AutomateUserAccess.objects.filter(company=company, user=OuterRef("user_id"))
    owned = (
        Flow.objects.filter(company=company, owner=OuterRef("user_id"))
        .order_by()
        .values("owner")
        .annotate(count=Count("pk"))
        .values("count")
    )
    memberships = (
        Membership.objects.filter(company=company)
        .select_related("user")
        .annotate(
            access_allowed=Subquery(access.values("allowed")[:1]),
            access_opted_in_at=Subquery(access.values("opted_in_at")[:1]),
            flow_count=Coalesce(Subquery(owned, output_field=IntegerField()), 0),
        )
        .order_by("user__username", "pk")
    )
    return [
        UserRow(
            membership=membership,
            # No row: allowed, not opted in.
            allowed=membership.access_allowed is not False,
            opted_in_at=membership.access_opted_in_at,
            flow_count=membership.flow_count,
            reassign_url=_reassign_url(membership.user_id),
        )
        for membership in memberships
    ]


def _reassign_url(user_id: int) -> str:
    # Reassigning flows is a page of its own; link to it wherever it exists.
    try:
        return reverse("automate:flows-reassign", args=[user_id])
    except NoReverseMatch:
        return ""


def skipped_events(company) -> list[TriggerEvent]:
    """The company's newest trigger events that started no run, with the reason: one query."""
    return list(
        TriggerEvent.objects.filter(company=company, status=TriggerEvent.Status.SKIPPED)
        .select_related("flow__owner")
        .defer("trigger_data")
        .order_by("-created_at", "-pk")[:SKIPPED_EVENTS_SHOWN]
    )


def mode_choices(mode: str) -> list[ModeChoice]:
    return [
        ModeChoice(value=value, label=label, sentence=MODE_SENTENCES[value], checked=value == mode)
        for value, label in AutomateSetup.Mode.choices
    ]


# -- Power Automate Setup -----------------------------------------------------------------------


@automate_exempt
@require_safe
@company_admin_required(ADMINS_ONLY)
def setup_view(request: HttpRequest) -> HttpResponse:
    mode = automate_setup_mode(request.company)
    context = {
        "modes": mode_choices(mode),
        "users_decide": mode == AutomateSetup.Mode.USERS_DECIDE,
        "rows": user_rows(request.company),
        "skipped": skipped_events(request.company),
        "skipped_shown": SKIPPED_EVENTS_SHOWN,
    }
    return render(request, "automate/setup/setup.html", context)


@automate_exempt
@require_POST
@company_admin_required(ADMINS_ONLY)
def setup_mode(request: HttpRequest) -> HttpResponse:
    mode = request.POST.get("mode", "")
    try:
        changed = automate_setup_set_mode(company=request.company, mode=mode, by=request.user)
    except ValidationError as error:
        _report(request, error)
    else:
        label = AutomateSetup.Mode(mode).label
        if changed:
            messages.success(request, f"Power Automate is now set to: {label}.")
        else:
            messages.info(request, f"Power Automate was already set to: {label}. Nothing changed.")
    return redirect("automate:setup")


@automate_exempt
@require_POST
@company_admin_required(ADMINS_ONLY)
def setup_users(request: HttpRequest) -> HttpResponse:
    allowed = {"true": True, "false": False}.get(request.POST.get("allowed", ""))
    ids = _posted_ids(request.POST.getlist("user"))
    if allowed is None:
        messages.error(request, "Choose Allow selected or Turn off for selected.")
    elif ids is None:
        messages.error(request, "Those users are not users of the company. Nothing was changed.")
    else:
        try:
            changed = automate_user_access_set(
                company=request.company, users=ids, allowed=allowed, by=request.user
            )
        except ValidationError as error:
            _report(request, error)
        else:
            _report_access(request, changed, allowed)
    return redirect("automate:setup")


def _posted_ids(values: list[str]) -> list[int] | None:
    """The posted user ids, or None when one is not an id at all."""
    if not all(v.isascii() and v.isdigit() and len(v) <= MAX_ID_DIGITS for v in values):
        return None
    return [int(v) for v in values]


def _report_access(request: HttpRequest, changed: list, allowed: bool) -> None:
    state = "allowed" if allowed else "turned off"
    if not changed:
        messages.info(request, f"Power Automate was already {state} for them. Nothing changed.")
        return
    names = ", ".join(user.get_username() for user in changed)
    if allowed:
        messages.success(request, f"Power Automate is now allowed for {names}.")
    else:
        messages.success(
            request,
            f"Power Automate is now turned off for {names}. Their automated flows do not start.",
        )


def _report(request: HttpRequest, error: ValidationError) -> None:
    for message in error.messages:
        messages.error(request, message)


# -- Get started with Power Automate -------------------------------------------------------------


@automate_exempt
@require_http_methods(["GET", "HEAD", "POST"])
@company_required
def get_started(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        # Refused (PermissionDenied, 403 with who can turn it on) where an admin turned it off.
        changed = automate_opt_in(company=request.company, user=request.user)
        if changed:
            messages.success(request, f"You can now use Power Automate in {request.company}.")
        else:
            messages.info(request, "You can use Power Automate already. Nothing changed.")
        return redirect(_next_url(request, request.POST.get("next")))
    refusal = request_automate_refusal(request)
    if refusal is None:
        users_decide = automate_setup_mode(request.company) == AutomateSetup.Mode.USERS_DECIDE
        state = "opted_in" if users_decide else "on"
    else:
        state = "start" if needs_opt_in(request) else "refused"
    context = {
        "state": state,
        "refusal": refusal,
        "next": _next_url(request, request.GET.get("next"), default=""),
        "home_url": reverse("automate:home"),
    }
    return render(request, "automate/setup/get_started.html", context)


@automate_exempt
@require_POST
@company_required
def opt_out(request: HttpRequest) -> HttpResponse:
    if automate_opt_out(company=request.company, user=request.user):
        messages.success(
            request,
            "You stopped using Power Automate. Your automated flows do not start until you "
            "get started again.",
        )
    else:
        messages.info(request, "You had not started using Power Automate. Nothing changed.")
    return redirect("automate:get-started")


def _next_url(request: HttpRequest, url: str | None, default: str | None = None) -> str:
    """``url`` when it leads to a page of this site, else ``default`` (Automate home)."""
    if url and url_has_allowed_host_and_scheme(
        url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return url
    return reverse("automate:home") if default is None else default
