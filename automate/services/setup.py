"""Power Automate Setup: the organisation-wide switch, each user's permission, and a user's
own "Get started with Power Automate" when each user decides.

Every change is one transaction with its audit entry (area "Power Automate setup"), so the
log holds exactly the changes that happened, with the values before and after. What the
switches mean for a user is decided in ``automate.access.automate_refusal``, not here.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from automate.access import automate_refusal
from automate.models import AutomateSetup, AutomateUserAccess
from bcsite.audit import audit_record
from records.models import Company, Membership

AREA = "Power Automate setup"
SETUP_OBJECT = "Power Automate Setup"
USER_OBJECT = "User"
MODE_ACTIONS = {
    AutomateSetup.Mode.ON: "turned on",
    AutomateSetup.Mode.OFF: "turned off",
    AutomateSetup.Mode.USERS_DECIDE: "changed",
}
MODE_LABELS = dict(AutomateSetup.Mode.choices)


def automate_setup_mode(company: Company) -> str:
    """The company's mode; without a setup row, on for everyone."""
    mode = (
        AutomateSetup.objects.filter(company=company).values_list("mode", flat=True).first()
        or AutomateSetup.Mode.ON
    )
    return mode


def automate_setup_set_mode(*, company: Company, mode: Any, by: Any) -> bool:
    """Set the organisation-wide switch. Returns whether it changed (an unchanged mode
    writes nothing, not even an audit entry)."""
    if not isinstance(mode, str) or mode not in AutomateSetup.Mode.values:
        choices = ", ".join(f'"{label}"' for label in MODE_LABELS.values())
        raise ValidationError({"mode": [f"Choose one of {choices}."]})
    with transaction.atomic():
        setup, _ = AutomateSetup.objects.select_for_update().get_or_create(company=company)
        # A row created just now holds the default, which is what "no row" meant.
        before = setup.mode
        if before == mode:
            return False
        setup.mode = mode
        setup.changed_by = by if getattr(by, "is_authenticated", False) else None
        setup.save(update_fields=["mode", "changed_by", "changed_at"])
        audit_record(
            company=company,
            actor=by,
            area=AREA,
            action=MODE_ACTIONS[mode],
            object_type=SETUP_OBJECT,
            object_id=company.pk,
            object_repr=str(company),
            before={"mode": MODE_LABELS[before]},
            after={"mode": MODE_LABELS[mode]},
            message=f"Power Automate: {MODE_LABELS[mode]}.",
        )
    return True


def automate_user_access_set(
    *, company: Company, users: Iterable[Any], allowed: bool, by: Any
) -> list:
    """Allow Power Automate for ``users`` (users or user ids) in the company, or turn it off
    for them. All of them must be users of the company, else nothing changes. Returns the
    users whose permission changed, each with one audit entry."""
    if not isinstance(allowed, bool):
        raise ValidationError({"allowed": ["Say whether Power Automate is allowed."]})
    ids = _user_ids(users)
    members = _members(company, ids)
    with transaction.atomic():
        # No row means allowed: give every user a row, then lock them all in one order.
        AutomateUserAccess.objects.bulk_create(
            [AutomateUserAccess(company=company, user_id=pk) for pk in ids],
            ignore_conflicts=True,
        )
        rows = list(
            AutomateUserAccess.objects.select_for_update()
            .filter(company=company, user_id__in=ids)
            .order_by("pk")
        )
        changing = [row for row in rows if row.allowed != allowed]
        if not changing:
            return []
        AutomateUserAccess.objects.filter(pk__in=[row.pk for row in changing]).update(
            allowed=allowed,
            changed_by=by if getattr(by, "is_authenticated", False) else None,
            changed_at=timezone.now(),
        )
        changed = []
        for row in sorted(changing, key=lambda r: members[r.user_id].get_username()):
            user = members[row.user_id]
            audit_record(
                company=company,
                actor=by,
                area=AREA,
                action="allowed" if allowed else "denied",
                object_type=USER_OBJECT,
                object_id=user.pk,
                object_repr=user.get_username(),
                before={"allowed": row.allowed},
                after={"allowed": allowed},
                message=(
                    f"Power Automate {'allowed' if allowed else 'turned off'} "
                    f"for {user.get_username()}."
                ),
            )
            changed.append(user)
    return changed


def automate_opt_in(*, company: Company, user: Any) -> bool:
    """The user's own "Get started with Power Automate". It counts when each user decides;
    where an administrator turned Power Automate off (for everyone or for the user) it is
    refused with who can turn it on. Returns whether anything changed."""
    _members(company, [user.pk])
    with transaction.atomic():
        mode = _locked_mode(company)
        access = _locked_access(company, user)
        if mode == AutomateSetup.Mode.OFF or not access.allowed:
            raise PermissionDenied(automate_refusal(user, company.pk))
        if mode != AutomateSetup.Mode.USERS_DECIDE or access.opted_in_at is not None:
            return False
        access.opted_in_at = timezone.now()
        access.save(update_fields=["opted_in_at", "changed_at"])
        _audit_opt(company, user, "opted in", None, access.opted_in_at, "started")
    return True


def automate_opt_out(*, company: Company, user: Any) -> bool:
    """The user stops using Power Automate (it counts when each user decides; their flows
    then no longer start). Returns whether anything changed."""
    _members(company, [user.pk])
    with transaction.atomic():
        access = _locked_access(company, user)
        if access.opted_in_at is None:
            return False
        before = access.opted_in_at
        access.opted_in_at = None
        access.save(update_fields=["opted_in_at", "changed_at"])
        _audit_opt(company, user, "opted out", before, None, "stopped")
    return True


# -- Helpers ------------------------------------------------------------------------------------


def _user_ids(users: Iterable[Any]) -> list[int]:
    ids = []
    for user in users:
        pk = getattr(user, "pk", user)
        if isinstance(pk, bool) or not isinstance(pk, int):
            raise ValidationError({"users": ["Choose users by their id."]})
        ids.append(pk)
    if not ids:
        raise ValidationError({"users": ["Select at least one user."]})
    return sorted(set(ids))


def _members(company: Company, ids: list[int]) -> dict[int, Any]:
    """The users ``ids`` by id; a ValidationError naming the ids that are not users of the
    company (by id only: names of other companies' users are not ours to show)."""
    users = get_user_model().objects.filter(
        pk__in=Membership.objects.filter(company=company, user_id__in=ids).values("user_id")
    )
    found = {user.pk: user for user in users}
    missing = [pk for pk in ids if pk not in found]
    if missing:
        listed = ", ".join(str(pk) for pk in missing)
        raise ValidationError(
            {"users": [f"Not users of {company}: user id {listed}. Nothing was changed."]}
        )
    return found


def _locked_mode(company: Company) -> str:
    mode = (
        AutomateSetup.objects.select_for_update()
        .filter(company=company)
        .values_list("mode", flat=True)
        .first()
    )
    return mode or AutomateSetup.Mode.ON


def _locked_access(company: Company, user: Any) -> AutomateUserAccess:
    access, _ = AutomateUserAccess.objects.select_for_update().get_or_create(
        company=company, user=user
    )
    return access


def _audit_opt(company: Company, user: Any, action: str, before, after, verb: str) -> None:
    audit_record(
        company=company,
        actor=user,
        area=AREA,
        action=action,
        object_type=USER_OBJECT,
        object_id=user.pk,
        object_repr=user.get_username(),
        before={"opted_in_at": before},
        after={"opted_in_at": after},
        message=f"{user.get_username()} {verb} using Power Automate.",
    )
