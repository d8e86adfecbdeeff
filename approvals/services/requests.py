"""Sending, deciding, delegating and cancelling approval requests.

Every decision locks its request row first (``select_for_update``) and then moves its entry
with a conditional UPDATE (``status=open`` -> the decision), so of two approvers acting at
once exactly one decides: the other is told the entry was already decided. What a decision
does to the record (release the order, lift a restriction, apply a held change) happens in
the same transaction, and notifications are sent after it commits. Each decision writes
its audit entry (area "Approval") in that transaction too.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from approvals import hooks
from approvals.documents import APPROVABLES, Approvable, approvable, record_label
from approvals.models import (
    ApprovalComment,
    ApprovalEntry,
    ApprovalRequest,
    ApprovalUserSetup,
    RestrictedRecord,
    Workflow,
)
from approvals.services.notifications import notify_entries, notify_requester
from approvals.templates import (
    CUSTOMERS,
    ITEMS,
    apply_date_formula,
    conditions_hold,
    delegate_after_delta,
)
from bcsite.audit import audit_record
from bcsite.pages import card_url_for
from bcsite.registry import registry

User = get_user_model()
Status = ApprovalRequest.Status
EntryStatus = ApprovalEntry.Status
PENDING_ENTRY = (EntryStatus.CREATED, EntryStatus.OPEN)
# The longest approver chain followed before it is taken to be a loop.
MAX_CHAIN = 50


# -- Who approves --------------------------------------------------------------------------


def user_setup(company_id: int, user) -> ApprovalUserSetup:
    setup = ApprovalUserSetup.objects.filter(company_id=company_id, user=user).first()
    if setup is None:
        raise ValidationError(
            f"User {user.get_username()} does not exist in the Approval User Setup window. "
            "An administrator adds them on the Approval User Setup page."
        )
    return setup


def approval_administrator(company_id: int):
    setup = (
        ApprovalUserSetup.objects.filter(company_id=company_id, approval_administrator=True)
        .select_related("user")
        .first()
    )
    return setup.user if setup else None


def is_approval_administrator(company_id: int, user) -> bool:
    return ApprovalUserSetup.objects.filter(
        company_id=company_id, user=user, approval_administrator=True
    ).exists()


# A level: the users who approve at one sequence no., and whether all of them must.
Level = tuple[list[Any], bool]


def approver_levels(workflow: Workflow, requester, amount: Decimal) -> list[Level]:
    """The approvers of a request, level by level, as the workflow's approver type finds them.

    Raises ValidationError when the setup cannot produce an approver (no setup for a user,
    no Approver ID, a chain that ends before anyone's limit covers the amount).
    """
    company_id = workflow.company_id
    kind = workflow.approver_type
    if kind == Workflow.ApproverType.SPECIFIC_APPROVER:
        if workflow.specific_approver is None:
            raise ValidationError(f"Workflow {workflow.code} has no specific approver.")
        return [([workflow.specific_approver], False)]
    if kind == Workflow.ApproverType.USER_GROUP:
        return _group_levels(workflow)
    setup = user_setup(company_id, requester)
    if kind == Workflow.ApproverType.DIRECT_APPROVER:
        return [([_approver_of(setup)], False)]
    # Approver chain and first qualified approver: up the chain until a limit covers it.
    if setup.approves(amount):
        # The requester may approve it themselves: approved at once, as BC does.
        return [([requester], False)]
    chain: list[Any] = []
    seen = {requester.pk}
    while True:
        approver = _approver_of(setup)
        if approver.pk in seen or len(chain) >= MAX_CHAIN:
            raise ValidationError(
                f"The approver chain of {requester.get_username()} comes back to "
                f"{approver.get_username()} before anyone's Sales Amount Approval Limit covers "
                f"{amount}. Correct the Approver IDs in Approval User Setup."
            )
        seen.add(approver.pk)
        chain.append(approver)
        setup = user_setup(company_id, approver)
        if setup.approves(amount):
            break
    if kind == Workflow.ApproverType.FIRST_QUALIFIED:
        return [([chain[-1]], False)]
    return [([approver], False) for approver in chain]


def _approver_of(setup: ApprovalUserSetup):
    if setup.approver is None:
        raise ValidationError(
            f"Approver ID must have a value in Approval User Setup for user "
            f"{setup.user.get_username()}."
        )
    return setup.approver


def _group_levels(workflow: Workflow) -> list[Level]:
    group = workflow.user_group
    members = list(group.members.select_related("user")) if group else []
    if not members:
        raise ValidationError(
            f"Workflow {workflow.code} needs a workflow user group with at least one member."
        )
    by_sequence: dict[int, list[Any]] = {}
    for member in members:
        by_sequence.setdefault(member.sequence_no, []).append(member.user)
    sequences = sorted(by_sequence)
    # Any one approves at a level; at the last level everyone must, as in BC.
    return [(by_sequence[s], s == sequences[-1]) for s in sequences]


# -- Which workflow ------------------------------------------------------------------------


def record_values(record) -> dict[str, Any]:
    table = registry.table_for_model(type(record))
    return table.to_dict(record) if table else {}


def workflow_for(company_id: int, table_id: int, values: dict, *, change_field: str = ""):
    """The first enabled workflow (by code) for the table whose conditions ``values`` meet."""
    workflows = Workflow.objects.filter(
        company_id=company_id, table_id=table_id, change_field=change_field, enabled=True
    ).select_related("specific_approver", "user_group")
    return next((w for w in workflows if conditions_hold(w.conditions, values)), None)


def approval_flows_for(company_id: int, table_id: int, values: dict) -> list[str]:
    return [
        name
        for finder in hooks.approval_flow_finders
        for name in finder(company_id, table_id, values)
    ]


def open_request(record, *, kinds: Sequence[str] | None = None) -> ApprovalRequest | None:
    table = registry.table_for_model(type(record))
    if table is None:
        return None
    requests = ApprovalRequest.objects.filter(
        table_id=table.id, record_id=record.system_id, status=Status.OPEN, change__isnull=True
    )
    if kinds is not None:
        requests = requests.filter(kind__in=kinds)
    return requests.order_by("pk").first()


# -- Sending -------------------------------------------------------------------------------


def approval_request_send(*, record, user) -> ApprovalRequest:
    """Send Approval Request: to the approval flows that take it, else the workflow's approvers.

    Refused when the record is not of a table that has approvals, when it already waits
    for approval, when no flow or enabled workflow applies, or when the approval user setup
    cannot name an approver.
    """
    found = approvable(record)
    if found is None:
        raise ValidationError(f"{record_label(record)} cannot be sent for approval.")
    with transaction.atomic():
        record = type(record)._default_manager.select_for_update().get(pk=record.pk)
        if open_request(
            record, kinds=[ApprovalRequest.Kind.WORKFLOW, ApprovalRequest.Kind.FLOW_ENTRY]
        ):
            raise ValidationError(
                f"An approval request for {record_label(record)} already exists. Cancel it "
                "before you send a new one."
            )
        values = record_values(record)
        flows = approval_flows_for(record.company_id, found.table_id, values)
        if flows:
            return _send_to_flows(record, user, found, values, flows)
        workflow = workflow_for(record.company_id, found.table_id, values)
        if workflow is None:
            raise ValidationError(
                f"No approval workflow for this record type is enabled, or {record_label(record)} "
                "does not meet the conditions of one. An administrator sets them up on the "
                "Workflows page."
            )
        return _send_to_workflow(record, user, found, workflow)


def _new_request(record, user, found: Approvable, **fields) -> ApprovalRequest:
    try:
        with transaction.atomic():
            return ApprovalRequest.objects.create(
                company_id=record.company_id,
                table_id=found.table_id,
                record_id=record.system_id,
                record_no=str(getattr(record, "no", ""))[:50],
                title=fields.pop("title", None) or f"{record_label(record)}",
                link=card_url_for(record) or "",
                amount=found.amount(record),
                requester=user,
                **fields,
            )
    except IntegrityError:
        raise ValidationError(
            f"An approval request for {record_label(record)} already exists."
        ) from None


def _send_to_workflow(record, user, found: Approvable, workflow: Workflow) -> ApprovalRequest:
    amount = found.amount(record)
    levels = approver_levels(workflow, user, amount)
    request = _new_request(
        record, user, found, kind=ApprovalRequest.Kind.WORKFLOW, workflow=workflow
    )
    _create_entries(request, workflow, levels)
    found.on_request(record, user)
    _open_next_level(request)
    return request


def _create_entries(request: ApprovalRequest, workflow: Workflow, levels: list[Level]) -> None:
    now = timezone.now()
    due = apply_date_formula(workflow.due_date_formula, timezone.localdate())
    delegate = delegate_after_delta(workflow.delegate_after)
    ApprovalEntry.objects.bulk_create(
        [
            ApprovalEntry(
                request=request,
                company_id=request.company_id,
                sequence_no=sequence,
                approver=approver,
                all_must_approve=all_must and len(approvers) > 1,
                status=EntryStatus.CREATED,
                due_date=due,
                delegate_at=now + delegate if delegate else None,
            )
            for sequence, (approvers, all_must) in enumerate(levels, start=1)
            for approver in approvers
        ]
    )


def _open_next_level(request: ApprovalRequest) -> None:
    """Open the next level of created entries; approve at once the requester's own entries;
    end the request as approved when no level is left."""
    while True:
        waiting = list(request.entries.filter(status=EntryStatus.CREATED).order_by("sequence_no"))
        if not waiting:
            _end(request, Status.APPROVED, by=None)
            return
        level = [e for e in waiting if e.sequence_no == waiting[0].sequence_no]
        ApprovalEntry.objects.filter(pk__in=[e.pk for e in level]).update(status=EntryStatus.OPEN)
        own = [e for e in level if e.approver_id == request.requester_id]
        if own:
            # A requester who is their own approver is approved at once, as BC does.
            ApprovalEntry.objects.filter(pk__in=[e.pk for e in own]).update(
                status=EntryStatus.APPROVED,
                decided_by_id=request.requester_id,
                decided_at=timezone.now(),
                comment="Approved automatically: the requester is the approver.",
            )
            _audit_decision(
                request,
                "approved",
                user=request.requester,
                entry_status=EntryStatus.APPROVED,
                comment="Approved automatically: the requester is the approver.",
            )
            if _level_done(request, level[0].sequence_no):
                continue
        others = [e.pk for e in level if e.approver_id != request.requester_id]
        notify_entries(others, "request")
        return


def _level_done(request: ApprovalRequest, sequence_no: int) -> bool:
    """Whether the level at ``sequence_no`` has approved: any one, or all when all must."""
    level = list(request.entries.filter(sequence_no=sequence_no))
    approved = [e for e in level if e.status == EntryStatus.APPROVED]
    if not approved:
        return False
    if any(e.all_must_approve for e in level):
        return not any(e.status == EntryStatus.OPEN for e in level)
    # Any one at the level approves for all of it: the others are no longer needed.
    ApprovalEntry.objects.filter(
        pk__in=[e.pk for e in level if e.status == EntryStatus.OPEN]
    ).update(status=EntryStatus.CANCELED, comment="Another approver at this level approved it.")
    return True


def _send_to_flows(
    record, user, found: Approvable, values: dict, flows: list[str]
) -> ApprovalRequest:
    request = _new_request(
        record,
        user,
        found,
        kind=ApprovalRequest.Kind.FLOW_ENTRY,
        flow_name=", ".join(flows)[:250],
    )
    found.on_request(record, user)
    hooks.approval_requested.send(
        sender=ApprovalRequest, request=request, record=record, values=values
    )
    return request


# -- Held changes --------------------------------------------------------------------------


def hold_change(record, user, changes: dict) -> dict[str, str]:
    """Hold back changes that a change approval workflow applies to (a credit limit, a
    unit price): each becomes an approval request, applied when approved."""
    from approvals.documents import is_applying_approved_change

    found = approvable(record)
    if found is None or is_applying_approved_change() or record.pk is None:
        return {}
    table = registry.tables[found.table_id]
    held: dict[str, str] = {}
    for attribute, (old, new) in changes.items():
        api_name = table.api_name(attribute)
        values = {**record_values(record), api_name: _json(new)}
        workflow = workflow_for(record.company_id, found.table_id, values, change_field=api_name)
        if workflow is None:
            continue
        label = table.field(api_name).label if table.field(api_name) else api_name
        pending = ApprovalRequest.objects.filter(
            table_id=found.table_id,
            record_id=record.system_id,
            status=Status.OPEN,
            change__field=api_name,
        ).exists()
        if pending:
            raise ValidationError(
                {
                    attribute: [
                        f"A change of {label} of {record_label(record)} is already waiting "
                        "for approval."
                    ]
                }
            )
        levels = approver_levels(workflow, user, Decimal(0))
        request = ApprovalRequest.objects.create(
            company_id=record.company_id,
            kind=ApprovalRequest.Kind.WORKFLOW,
            table_id=found.table_id,
            record_id=record.system_id,
            record_no=str(getattr(record, "no", ""))[:50],
            title=f"{record_label(record)}: {label} {old} -> {new}",
            link=card_url_for(record) or "",
            change={
                "field": api_name,
                "attribute": attribute,
                "label": label,
                "old": _json(old),
                "new": _json(new),
            },
            workflow=workflow,
            requester=user,
        )
        _create_entries(request, workflow, levels)
        # A requester who approves it themselves has it applied here and now.
        _open_next_level(request)
        if request.status == Status.APPROVED:
            held[attribute] = f"The change of {label} from {old} to {new} was approved at once."
        else:
            held[attribute] = (
                f"The change of {label} from {old} to {new} was sent for approval. "
                f"{record_label(record)} keeps {old} until it is approved."
            )
    return held


def _json(value):
    if isinstance(value, Decimal):
        return float(value)
    return value


# -- Deciding ------------------------------------------------------------------------------

AUDIT_AREA = "Approval"


def _decision_message(request: ApprovalRequest, comment: str = "", *, note: str = "") -> str:
    """What the audit log says of a decision besides its before and after: the record,
    the amount, the comment."""
    parts = [note] if note else []
    if request.record_no:
        parts.append(f"Document No. {request.record_no}.")
    if request.amount:
        parts.append(f"Amount {Decimal(request.amount):,.2f}.")
    if comment.strip():
        parts.append(f"Comment: {comment.strip()}")
    return " ".join(parts)


def _audit_decision(
    request: ApprovalRequest,
    action: str,
    *,
    user,
    entry_status: str,
    comment: str = "",
    response: str = "",
) -> None:
    """Log one approver's decision, in its transaction; when it ended the request, how."""
    before = {"status": EntryStatus.OPEN.label}
    after = {"status": EntryStatus(entry_status).label}
    if response and action == "responded":
        after["response"] = response
    if request.status != Status.OPEN:
        before["request"] = Status.OPEN.label
        after["request"] = Status(request.status).label
    audit_record(
        company=request.company_id,
        actor=user,
        area=AUDIT_AREA,
        action=action,
        target=request,
        before=before,
        after=after,
        message=_decision_message(request, comment),
    )


def decision_refusal(entry: ApprovalEntry, user) -> str | None:
    """Why ``user`` may not decide ``entry``: only its approver (a delegate's entry is the
    delegate's) or the approval administrator may."""
    if user is None or not user.is_authenticated:
        return "Sign in to decide approval requests."
    if entry.approver_id == user.pk:
        return None
    if is_approval_administrator(entry.company_id, user):
        return None
    return (
        "Only the approver of this request, or the approval administrator, can approve, "
        "reject or delegate it."
    )


def _decidable(entry: ApprovalEntry, user) -> tuple[ApprovalRequest, ApprovalEntry]:
    refusal = decision_refusal(entry, user)
    if refusal:
        raise PermissionDenied(refusal)
    request = ApprovalRequest.objects.select_for_update().get(pk=entry.request_id)
    entry = ApprovalEntry.objects.get(pk=entry.pk)
    if request.status != Status.OPEN or entry.status != EntryStatus.OPEN:
        raise ValidationError(_already(entry))
    return request, entry


def _already(entry: ApprovalEntry) -> str:
    if entry.status in (EntryStatus.APPROVED, EntryStatus.REJECTED, EntryStatus.RESPONDED):
        who = entry.decided_by.get_username() if entry.decided_by else "someone"
        return f"This approval request was already {entry.get_status_display().lower()} by {who}."
    if entry.status == EntryStatus.DELEGATED:
        return "This approval request was delegated; the substitute decides it now."
    return (
        f"This approval request is {entry.get_status_display().lower()}; it cannot be decided now."
    )


def _claim(entry: ApprovalEntry, user, status: str, comment: str = "", response: str = "") -> None:
    """Move the entry from Open to ``status``: exactly one decision wins."""
    moved = ApprovalEntry.objects.filter(pk=entry.pk, status=EntryStatus.OPEN).update(
        status=status,
        decided_by=user,
        decided_at=timezone.now(),
        comment=comment[:4000],
        response=response[:100],
    )
    if not moved:
        raise ValidationError(_already(ApprovalEntry.objects.get(pk=entry.pk)))
    if comment.strip():
        ApprovalComment.objects.create(request_id=entry.request_id, user=user, text=comment.strip())


def approval_entry_approve(*, entry: ApprovalEntry, user, comment: str = "") -> ApprovalRequest:
    with transaction.atomic():
        request, entry = _decidable(entry, user)
        if request.kind == ApprovalRequest.Kind.FLOW_APPROVAL:
            return _respond_flow_approval(request, entry, user, "Approve", comment)
        _claim(entry, user, EntryStatus.APPROVED, comment)
        if _level_done(request, entry.sequence_no):
            _open_next_level(request)
        _audit_decision(
            request, "approved", user=user, entry_status=EntryStatus.APPROVED, comment=comment
        )
    return request


def approval_entry_reject(*, entry: ApprovalEntry, user, comment: str = "") -> ApprovalRequest:
    with transaction.atomic():
        request, entry = _decidable(entry, user)
        if request.kind == ApprovalRequest.Kind.FLOW_APPROVAL:
            return _respond_flow_approval(request, entry, user, "Reject", comment)
        _claim(entry, user, EntryStatus.REJECTED, comment)
        _end(request, Status.REJECTED, by=user)
        _audit_decision(
            request, "rejected", user=user, entry_status=EntryStatus.REJECTED, comment=comment
        )
    return request


def approval_entry_respond(
    *, entry: ApprovalEntry, user, response: str, comment: str = ""
) -> ApprovalRequest:
    """Answer a flow approval with one of its responses (Approve, Reject or a custom one)."""
    with transaction.atomic():
        request, entry = _decidable(entry, user)
        if request.kind != ApprovalRequest.Kind.FLOW_APPROVAL:
            raise ValidationError("Approve or reject this request.")
        return _respond_flow_approval(request, entry, user, response, comment)


def approval_comment_add(*, request: ApprovalRequest, user, text: str) -> ApprovalComment:
    """A comment on the request (Approval Comments): who may see the request may comment."""
    text = (text or "").strip()
    if not text:
        raise ValidationError("Type a comment first.")
    return ApprovalComment.objects.create(request=request, user=user, text=text[:4000])


def approval_entries_approve(
    *, entries: Iterable[ApprovalEntry], user, comment: str = ""
) -> tuple[int, list[str]]:
    """Approve several entries (Requests to Approve's bulk Approve); each on its own, so one
    that is refused (decided meanwhile) does not stop the others."""
    approved, refusals = 0, []
    for entry in entries:
        try:
            approval_entry_approve(entry=entry, user=user, comment=comment)
        except (ValidationError, PermissionDenied) as error:
            message = error.messages[0] if isinstance(error, ValidationError) else str(error)
            refusals.append(f"{entry.request.title}: {message}")
        else:
            approved += 1
    return approved, refusals


def substitute_for(entry: ApprovalEntry):
    """BC's order: the approver's substitute, else their approver, else the administrator."""
    setup = ApprovalUserSetup.objects.filter(
        company_id=entry.company_id, user_id=entry.approver_id
    ).first()
    candidates = []
    if setup is not None:
        candidates += [setup.substitute, setup.approver]
    candidates.append(approval_administrator(entry.company_id))
    return next((c for c in candidates if c is not None and c.pk != entry.approver_id), None)


def approval_entry_delegate(*, entry: ApprovalEntry, user, comment: str = "") -> ApprovalEntry:
    """Hand the entry to the approver's substitute; the request goes on with them."""
    with transaction.atomic():
        request, entry = _decidable(entry, user)
        return _delegate(request, entry, user, comment)


def _delegate(request: ApprovalRequest, entry: ApprovalEntry, user, comment: str) -> ApprovalEntry:
    substitute = substitute_for(entry)
    if substitute is None:
        raise ValidationError(
            f"{entry.approver.get_username()} has no substitute, no approver and there is no "
            "approval administrator to delegate to. Set a Substitute in Approval User Setup."
        )
    _claim(
        entry, user, EntryStatus.DELEGATED, comment or f"Delegated to {substitute.get_username()}."
    )
    workflow = request.workflow
    delegate = delegate_after_delta(workflow.delegate_after) if workflow else None
    new = ApprovalEntry.objects.create(
        request=request,
        company_id=request.company_id,
        sequence_no=entry.sequence_no,
        approver=substitute,
        all_must_approve=entry.all_must_approve,
        status=EntryStatus.OPEN,
        due_date=entry.due_date,
        delegate_at=timezone.now() + delegate if delegate else None,
        delegated_from=entry,
    )
    audit_record(
        company=request.company_id,
        actor=user,
        area=AUDIT_AREA,
        action="delegated",
        target=request,
        before={"approver": entry.approver.get_username()},
        after={"approver": substitute.get_username()},
        message=_decision_message(request, comment),
    )
    notify_entries([new.pk], "delegated")
    return new


# -- Cancelling ----------------------------------------------------------------------------


def approval_request_cancel(*, request: ApprovalRequest, user) -> ApprovalRequest:
    """Cancel Approval Request: the requester or the approval administrator may."""
    if (
        user is None
        or not user.is_authenticated
        or (
            request.requester_id != user.pk
            and not is_approval_administrator(request.company_id, user)
        )
    ):
        raise PermissionDenied(
            "Only the user who sent the approval request, or the approval administrator, can "
            "cancel it."
        )
    with transaction.atomic():
        request = ApprovalRequest.objects.select_for_update().get(pk=request.pk)
        if request.status != Status.OPEN:
            raise ValidationError(
                f"The approval request is {request.get_status_display().lower()}; only an open "
                "request can be cancelled."
            )
        _end(request, Status.CANCELED, by=user)
        audit_record(
            company=request.company_id,
            actor=user,
            area=AUDIT_AREA,
            action="cancelled",
            target=request,
            before={"status": Status.OPEN.label},
            after={"status": Status.CANCELED.label},
            message=_decision_message(request),
        )
    return request


def approval_request_cancel_for(*, record, user) -> ApprovalRequest:
    request = open_request(
        record, kinds=[ApprovalRequest.Kind.WORKFLOW, ApprovalRequest.Kind.FLOW_ENTRY]
    )
    if request is None:
        raise ValidationError(f"There is no approval request to cancel for {record_label(record)}.")
    return approval_request_cancel(request=request, user=user)


# -- Flow entries: a request an approval flow answers --------------------------------------

FLOW_RESPONSES = {"approve": Status.APPROVED, "reject": Status.REJECTED, "cancel": Status.CANCELED}
FLOW_RESPONSE_ACTIONS = {
    Status.APPROVED: "approved",
    Status.REJECTED: "rejected",
    Status.CANCELED: "cancelled",
}


def flow_entry_respond(*, request: ApprovalRequest, user, response: str) -> ApprovalRequest:
    """The flow's answer to the request it was handed: approve, reject or cancel."""
    status = FLOW_RESPONSES.get(str(response).strip().casefold())
    if status is None:
        raise ValidationError(f"{response} is not a response. Use Approve, Reject or Cancel.")
    with transaction.atomic():
        request = ApprovalRequest.objects.select_for_update().get(pk=request.pk)
        if request.kind != ApprovalRequest.Kind.FLOW_ENTRY:
            raise ValidationError("This approval request is not waiting for a flow's answer.")
        if request.status != Status.OPEN:
            raise ValidationError(
                f"The approval request of {request.title} is already "
                f"{request.get_status_display().lower()}."
            )
        _end(request, status, by=user)
        audit_record(
            company=request.company_id,
            actor=user,
            area=AUDIT_AREA,
            action=FLOW_RESPONSE_ACTIONS[status],
            target=request,
            before={"status": Status.OPEN.label},
            after={"status": Status(status).label},
            message=_decision_message(request, note="Answered by an approval flow."),
        )
    return request


# -- Flow approvals: Start and wait for an approval ----------------------------------------


def flow_approval_start(
    *,
    company_id: int,
    requester,
    title: str,
    assigned_to: Sequence[Any],
    approval_type: str,
    details: str = "",
    link: str = "",
    response_options: Sequence[str] = (),
    expires_at: datetime.datetime | None = None,
    flow_id: int | None = None,
    flow_name: str = "",
    flow_run_id: int | None = None,
    record=None,
) -> ApprovalRequest:
    """Create the approval a flow's step waits for, with an open entry per assignee."""
    if approval_type not in ApprovalRequest.ApprovalType.values:
        raise ValidationError(f"{approval_type} is not an approval type.")
    people = list(dict.fromkeys(assigned_to))
    if not people:
        raise ValidationError("An approval needs at least one person to assign it to.")
    custom = approval_type in (
        ApprovalRequest.ApprovalType.CUSTOM_ONE,
        ApprovalRequest.ApprovalType.CUSTOM_ALL,
    )
    options = [str(o).strip()[:100] for o in response_options if str(o).strip()]
    if custom and not options:
        raise ValidationError("Custom responses need at least one response option.")
    table = registry.table_for_model(type(record)) if record is not None else None
    with transaction.atomic():
        request = ApprovalRequest.objects.create(
            company_id=company_id,
            kind=ApprovalRequest.Kind.FLOW_APPROVAL,
            title=title[:250] or "Approval",
            details=details,
            link=link[:500],
            requester=requester,
            approval_type=approval_type,
            response_options=options if custom else ["Approve", "Reject"],
            expires_at=expires_at,
            flow_id=flow_id,
            flow_name=flow_name[:250],
            flow_run_id=flow_run_id,
            table_id=table.id if table else None,
            record_id=getattr(record, "system_id", None) if table else None,
            record_no=str(getattr(record, "no", ""))[:50] if table else "",
        )
        ApprovalEntry.objects.bulk_create(
            [
                ApprovalEntry(
                    request=request,
                    company_id=company_id,
                    approver=person,
                    status=EntryStatus.OPEN,
                    all_must_approve=approval_type
                    in (
                        ApprovalRequest.ApprovalType.EVERYONE,
                        ApprovalRequest.ApprovalType.CUSTOM_ALL,
                    ),
                    due_date=expires_at.date() if expires_at else None,
                )
                for person in people
            ]
        )
        notify_entries(list(request.entries.values_list("pk", flat=True)), "request")
    return request


def _respond_flow_approval(request, entry, user, response: str, comment: str) -> ApprovalRequest:
    options = {o.casefold(): o for o in request.response_options}
    chosen = options.get(str(response).strip().casefold())
    if chosen is None:
        raise ValidationError(
            f"{response} is not a response to this approval. The responses are: "
            f"{', '.join(request.response_options)}."
        )
    kind = request.approval_type
    status = EntryStatus.RESPONDED
    if kind in (
        ApprovalRequest.ApprovalType.FIRST_TO_RESPOND,
        ApprovalRequest.ApprovalType.EVERYONE,
    ):
        status = EntryStatus.APPROVED if chosen == "Approve" else EntryStatus.REJECTED
    _claim(entry, user, status, comment, response=chosen)
    entries = list(request.entries.all())
    open_left = [e for e in entries if e.status == EntryStatus.OPEN]
    if kind == ApprovalRequest.ApprovalType.FIRST_TO_RESPOND:
        outcome = Status.APPROVED if status == EntryStatus.APPROVED else Status.REJECTED
        _end(request, outcome, by=user, outcome=chosen)
    elif kind == ApprovalRequest.ApprovalType.EVERYONE:
        if status == EntryStatus.REJECTED:
            _end(request, Status.REJECTED, by=user, outcome="Reject")
        elif not open_left:
            _end(request, Status.APPROVED, by=user, outcome="Approve")
    elif kind == ApprovalRequest.ApprovalType.CUSTOM_ONE:
        _end(request, Status.COMPLETED, by=user, outcome=chosen)
    elif not open_left:
        answers = list(dict.fromkeys(e.response for e in entries if e.response))
        _end(request, Status.COMPLETED, by=user, outcome=", ".join(answers)[:100])
    action = {"Approve": "approved", "Reject": "rejected"}.get(chosen, "responded")
    _audit_decision(
        request, action, user=user, entry_status=status, comment=comment, response=chosen
    )
    return request


def flow_approval_result(request: ApprovalRequest) -> dict:
    """The outputs of Start and wait for an approval, in Power Automate's shape."""
    responses = [
        {
            "responder": {
                "userName": e.decided_by.get_username() if e.decided_by else "",
                "displayName": (e.decided_by.get_full_name() or e.decided_by.get_username())
                if e.decided_by
                else "",
                "email": e.decided_by.email if e.decided_by else "",
            },
            "requestDate": request.created_at.isoformat(),
            "responseDate": e.decided_at.isoformat() if e.decided_at else None,
            "approverResponse": e.response,
            "comments": e.comment,
        }
        for e in request.entries.select_related("decided_by").order_by("decided_at", "pk")
        if e.response
    ]
    return {
        "name": str(request.system_id),
        "title": request.title,
        "outcome": request.outcome or request.get_status_display(),
        "status": request.get_status_display(),
        "responses": responses,
        "responseSummary": "; ".join(
            f"{r['responder']['userName']}: {r['approverResponse']}" for r in responses
        ),
        "completionDate": request.decided_at.isoformat() if request.decided_at else None,
        "requestDate": request.created_at.isoformat(),
    }


def flow_approval_expire(*, request: ApprovalRequest) -> bool:
    with transaction.atomic():
        request = ApprovalRequest.objects.select_for_update().get(pk=request.pk)
        if request.status != Status.OPEN:
            return False
        _end(request, Status.EXPIRED, by=None, outcome="")
    return True


# -- Ending --------------------------------------------------------------------------------


def _end(request: ApprovalRequest, status: str, *, by, outcome: str = "") -> None:
    """End the open request: close its pending entries, do what the outcome does to the
    record, tell the requester and whatever waits on it. Called with the request locked."""
    now = timezone.now()
    ended = ApprovalRequest.objects.filter(pk=request.pk, status=Status.OPEN).update(
        status=status, decided_at=now, decided_by=by, outcome=outcome[:100]
    )
    if not ended:
        raise ValidationError("This approval request was already decided.")
    request.status, request.decided_at, request.decided_by, request.outcome = (
        status,
        now,
        by,
        outcome,
    )
    request.entries.filter(status__in=PENDING_ENTRY).update(
        status=EntryStatus.CANCELED, decided_at=now
    )
    _apply_outcome(request, status, by)
    hooks.approval_request_ended.send(sender=ApprovalRequest, request=request)
    notify_requester(request.pk)


def _apply_outcome(request: ApprovalRequest, status: str, by) -> None:
    found = APPROVABLES.get(request.table_id) if request.table_id else None
    if found is None or request.kind == ApprovalRequest.Kind.FLOW_APPROVAL:
        return
    table = registry.tables[found.table_id]
    record = table.model._default_manager.filter(system_id=request.record_id).first()
    if record is None:
        return
    actor = by or request.requester
    if request.change:
        if status == Status.APPROVED and found.apply_change is not None:
            change = request.change
            value = change["new"]
            table_field = table.field(change["field"])
            if table_field is not None and table_field.type == "number" and value is not None:
                value = Decimal(str(value))
            found.apply_change(record, request.requester or actor, **{change["attribute"]: value})
        return
    handler = {
        Status.APPROVED: found.on_approve,
        Status.REJECTED: found.on_reject,
        Status.CANCELED: found.on_cancel,
    }.get(status)
    if handler is not None:
        handler(record, actor)


# -- Guards: what a pending approval or a restriction refuses ------------------------------


def approval_guard(records: list, user, operation: str) -> str | None:
    found = approvable(records[0])
    if found is None:
        return None
    ids = [r.system_id for r in records]
    if operation in ("modify", "delete"):
        pending = ApprovalRequest.objects.filter(
            table_id=found.table_id,
            record_id__in=ids,
            status=Status.OPEN,
            kind__in=[ApprovalRequest.Kind.WORKFLOW, ApprovalRequest.Kind.FLOW_ENTRY],
            change__isnull=True,
        ).exists()
        if pending:
            verb = "changed" if operation == "modify" else "deleted"
            return (
                f"{record_label(records[0]) if len(records) == 1 else found.label} is pending "
                f"approval. It cannot be {verb} until the approval request is approved, "
                "rejected or cancelled."
            )
    if operation == "use":
        restricted = (
            RestrictedRecord.objects.filter(table_id=found.table_id, record_id__in=ids)
            .values_list("record_id", flat=True)
            .first()
        )
        if restricted is not None and _restrictions_apply(records[0], found.table_id, restricted):
            record = next(r for r in records if r.system_id == restricted)
            return (
                f"You cannot use {record_label(record)} for this action: it is restricted "
                "until its approval request is approved."
            )
    if operation == "release":
        order = records[0]
        values = record_values(order)
        # An approval workflow or an approval flow that would take the order stops Release.
        if workflow_for(order.company_id, found.table_id, values) is not None or (
            approval_flows_for(order.company_id, found.table_id, values)
        ):
            return (
                "This document can only be released when the approval process is complete. "
                "Choose Send Approval Request."
            )
    return None


def _restrictions_apply(record, table_id: int, record_id) -> bool:
    """A restriction holds while the record's approval request is open, or while its
    table's approval workflow is on (a record never approved stays restricted then)."""
    return (
        ApprovalRequest.objects.filter(
            table_id=table_id, record_id=record_id, status=Status.OPEN, change__isnull=True
        ).exists()
        or Workflow.objects.filter(
            company_id=record.company_id, table_id=table_id, change_field="", enabled=True
        ).exists()
    )


def restrict_new_record(record) -> None:
    """A new customer or item cannot be used until approved, while its workflow is on."""
    found = approvable(record)
    if found is None or found.table_id not in (CUSTOMERS, ITEMS):
        return
    if Workflow.objects.filter(
        company_id=record.company_id, table_id=found.table_id, change_field="", enabled=True
    ).exists():
        from approvals.documents import restrict

        restrict(
            record,
            table_id=found.table_id,
            details=f"{record_label(record)} is new: it must be approved before it is used.",
        )
