"""Sharing flows with co-owners and run-only users, and handing a leaving user's flows on.

Who may call these is the views' question (``automate.access``): sharing is for the flow's
owner, co-owners and the company's administrators; reassigning for administrators only.
``by`` is who acts, for the audit log, written in the transaction of each change.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from automate.models import Flow, FlowShare
from bcsite.audit import audit_record
from records.models import Membership

AREA = "Flow sharing"
ROLE_LABELS = dict(FlowShare.Role.choices)


def _name(user) -> str:
    return user.get_full_name() or user.get_username()


def _check_member(user, company_id: int, what: str) -> None:
    """``user`` must be an active user of the company (``what`` names them in the message)."""
    if not user.is_active:
        raise ValidationError(f"{_name(user)} is no longer an active user; choose {what}.")
    if not Membership.objects.filter(user=user, company_id=company_id).exists():
        raise ValidationError(f"{_name(user)} is not a user of this company; choose {what}.")


def _locked(flow: Flow) -> Flow:
    # One sharing change of a flow at a time: two owners adding the same user at once
    # end with one share and one audit entry, not an error page.
    return Flow.objects.select_for_update(of=("self",)).select_related("owner").get(pk=flow.pk)


@transaction.atomic
def flow_share(*, flow: Flow, user, role: str, by) -> FlowShare:
    """Share ``flow`` with ``user`` as co-owner or run-only user, or change their role.

    The user must be an active user of the flow's company other than its owner; run-only
    sharing is for instant flows ("For a selected record"), the only ones a user runs.
    """
    if role not in ROLE_LABELS:
        raise ValidationError(
            f"Choose a role: {ROLE_LABELS[FlowShare.Role.CO_OWNER]} or "
            f"{ROLE_LABELS[FlowShare.Role.RUN_ONLY]}."
        )
    flow = _locked(flow)
    if user.pk == flow.owner_id:
        raise ValidationError(f"{_name(user)} owns {flow.name}; it needs no sharing with them.")
    _check_member(user, flow.company_id, "another user")
    if role == FlowShare.Role.RUN_ONLY and flow.trigger_type != "selected_record":
        raise ValidationError(
            f"{flow.name} starts by itself, so there is nothing to run: run-only users are "
            "for instant flows (For a selected record). Make the user a co-owner instead."
        )
    share = FlowShare.objects.filter(flow=flow, user=user).first()
    if share is None:
        share = FlowShare.objects.create(flow=flow, user=user, role=role, added_by=by)
        _audit(flow, by, "shared", {}, {"user": user.get_username(), "role": ROLE_LABELS[role]})
    elif share.role != role:
        before = {"user": user.get_username(), "role": ROLE_LABELS[share.role]}
        share.role = role
        share.save(update_fields=["role"])
        _audit(flow, by, "changed", before, {**before, "role": ROLE_LABELS[role]})
    return share


@transaction.atomic
def flow_unshare(*, flow: Flow, user, by) -> None:
    """Stop sharing ``flow`` with ``user``; their own past runs stay in the history."""
    flow = _locked(flow)
    share = FlowShare.objects.filter(flow=flow, user=user).first()
    if share is None:
        raise ValidationError(f"{flow.name} is not shared with {_name(user)}.")
    share.delete()
    before = {"user": user.get_username(), "role": ROLE_LABELS[share.role]}
    _audit(flow, by, "unshared", before, {})


@transaction.atomic
def flows_reassign(*, company, from_user, to_user, by) -> int:
    """Give every flow ``from_user`` owns in ``company`` to ``to_user``; the number moved.

    A share the new owner had on such a flow goes (they own it now), and the old owner
    keeps no share of it. Each flow gets its own audit entry.
    """
    if to_user.pk == from_user.pk:
        raise ValidationError(f"Choose someone other than {_name(from_user)} as the new owner.")
    _check_member(to_user, company.pk, "an active user of the company as the new owner")
    # Locked in pk order, as every multi-flow change does, so two reassignments never
    # deadlock each other.
    flows = list(
        Flow.objects.select_for_update(of=("self",))
        .filter(company=company, owner=from_user)
        .order_by("pk")
    )
    if not flows:
        return 0
    ids = [flow.pk for flow in flows]
    had = dict(
        FlowShare.objects.filter(flow_id__in=ids, user=to_user).values_list("flow_id", "role")
    )
    FlowShare.objects.filter(flow_id__in=ids, user__in=[to_user, from_user]).delete()
    Flow.objects.filter(pk__in=ids).update(owner=to_user, modified_at=timezone.now())
    for flow in flows:
        before = {"owner": from_user.get_username()}
        if flow.pk in had:
            before[f"{to_user.get_username()}'s role"] = ROLE_LABELS[had[flow.pk]]
        _audit(flow, by, "reassigned", before, {"owner": to_user.get_username()})
    return len(flows)


def _audit(flow: Flow, by, action: str, before: dict, after: dict) -> None:
    audit_record(
        company=flow.company_id,
        actor=by,
        area=AREA,
        action=action,
        target=flow,
        before=before,
        after=after,
    )
