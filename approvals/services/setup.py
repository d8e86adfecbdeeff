"""Approval User Setup and workflow user groups: who approves for whom, and up to what."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from approvals.models import ApprovalUserSetup, WorkflowUserGroup, WorkflowUserGroupMember
from records.models import Membership

SETUP_FIELDS = (
    "approver",
    "substitute",
    "sales_amount_approval_limit",
    "unlimited_sales_approval",
    "email",
    "approval_administrator",
)


def _member(company, user, label: str, errors: dict) -> None:
    if user is not None and not Membership.objects.filter(company=company, user=user).exists():
        errors.setdefault(label, []).append(
            f"{user.get_username()} is not a user of company {company.name}."
        )


def approval_user_setup_save(
    *, company, user, by, setup: ApprovalUserSetup | None = None, **fields
) -> ApprovalUserSetup:
    """Create or change a user's approval setup. Making a user the approval administrator
    takes the role from whoever had it: a company has exactly one."""
    unknown = set(fields) - set(SETUP_FIELDS)
    if unknown:
        raise ValidationError(f"Unknown fields: {', '.join(sorted(unknown))}.")
    with transaction.atomic():
        if setup is None:
            setup = ApprovalUserSetup.objects.filter(company=company, user=user).first()
        was_admin = bool(setup and setup.approval_administrator)
        setup = setup or ApprovalUserSetup(company=company, user=user)
        for name, value in fields.items():
            setattr(setup, name, value)
        errors: dict[str, list[str]] = {}
        _member(company, setup.user, "user", errors)
        _member(company, setup.approver, "approver", errors)
        _member(company, setup.substitute, "substitute", errors)
        if setup.approver_id and setup.approver_id == setup.user_id:
            errors.setdefault("approver", []).append(
                "A user cannot be their own approver. Leave Approver ID blank for the top of "
                "the chain."
            )
        if setup.substitute_id and setup.substitute_id == setup.user_id:
            errors.setdefault("substitute", []).append("A user cannot be their own substitute.")
        try:
            limit = Decimal(str(setup.sales_amount_approval_limit or 0))
        except InvalidOperation:
            limit = Decimal(-1)
        if limit < 0:
            errors.setdefault("sales_amount_approval_limit", []).append(
                "Sales Amount Approval Limit must be zero or more."
            )
        if setup.unlimited_sales_approval and limit > 0:
            errors.setdefault("sales_amount_approval_limit", []).append(
                "Sales Amount Approval Limit must be 0 when Unlimited Sales Approval is set."
            )
        if was_admin and not setup.approval_administrator:
            errors.setdefault("approval_administrator", []).append(
                "There must be one approval administrator. Make another user the approval "
                "administrator; the role then moves to them."
            )
        if errors:
            raise ValidationError(errors)
        if setup.approval_administrator:
            ApprovalUserSetup.objects.filter(company=company, approval_administrator=True).exclude(
                pk=setup.pk
            ).update(approval_administrator=False)
        try:
            with transaction.atomic():
                setup.save()
        except IntegrityError:
            raise ValidationError(
                {"user": [f"{setup.user.get_username()} already has an approval user setup."]}
            ) from None
    return setup


def approval_user_setup_delete(*, setup: ApprovalUserSetup, by) -> None:
    if setup.approval_administrator:
        raise ValidationError(
            "The approval administrator cannot be removed. Make another user the approval "
            "administrator first."
        )
    setup.delete()


def workflow_user_group_save(
    *, company, by, code: str, description: str = "", members: list[tuple] = (), group=None
) -> WorkflowUserGroup:
    """Create or change a group; ``members`` are (user, sequence no.) pairs and replace the
    group's members."""
    code = (code or "").strip().upper()
    if not code:
        raise ValidationError({"code": ["Code must have a value."]})
    errors: dict[str, list[str]] = {}
    seen = set()
    for user, sequence in members:
        _member(company, user, "members", errors)
        if user.pk in seen:
            errors.setdefault("members", []).append(f"{user.get_username()} is in the group twice.")
        seen.add(user.pk)
        if not isinstance(sequence, int) or sequence < 1:
            errors.setdefault("members", []).append("Sequence No. must be 1 or more.")
    if not members and group is not None and group.workflows.filter(enabled=True).exists():
        errors.setdefault("members", []).append(
            f"Workflow user group {group.code} is used by an enabled workflow: it needs at least "
            "one member."
        )
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        group = group or WorkflowUserGroup(company=company)
        group.code, group.description = code, description
        try:
            with transaction.atomic():
                group.save()
        except IntegrityError:
            raise ValidationError({"code": [f"A workflow user group {code} exists."]}) from None
        group.members.all().delete()
        WorkflowUserGroupMember.objects.bulk_create(
            [WorkflowUserGroupMember(group=group, user=u, sequence_no=s) for u, s in members]
        )
    return group
