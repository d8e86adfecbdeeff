"""Approvals: Start and wait for an approval, as Power Automate's Approvals connector.

The approval is an ``approvals`` request with an entry per person it is assigned to; they
answer it on Requests to Approve (or from the mail's link). The run does not hold a worker
while it waits: the step parks it, and the answer wakes it (``automate.services.
approval_flows``). When the approval expires first, the step ends Timed out.
"""

from __future__ import annotations

import datetime
import json
import re
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.utils import timezone

from approvals.models import ApprovalRequest, ApprovalUserSetup
from approvals.services import flow_approval_expire, flow_approval_result, flow_approval_start
from automate.connectors.base import (
    TIMEOUT,
    ActionCall,
    ActionError,
    Connector,
    Output,
    Param,
    Wait,
    WaitingAction,
)

ApprovalType = ApprovalRequest.ApprovalType
CUSTOM_TYPES = (ApprovalType.CUSTOM_ONE, ApprovalType.CUSTOM_ALL)
MAX_ASSIGNEES = 50
MAX_RESPONSE_OPTIONS = 20
# The wait ends this long before the run's time limit, so the step expires the approval
# itself rather than the run being timed out with the approval still open.
DEADLINE_MARGIN = datetime.timedelta(minutes=5)
SEPARATORS = re.compile(r"[;,\n]")


def default_expiry_days() -> float:
    return float(getattr(settings, "AUTOMATE_APPROVAL_EXPIRY_DAYS", 30))


def max_expiry_days() -> float:
    return settings.AUTOMATE_RUN_TIME_LIMIT / 86400


class StartAndWaitForApproval(WaitingAction):
    key = "start_and_wait_for_approval"
    title = "Start and wait for an approval"
    description = (
        "Assign an approval to people and wait for their response: approve or reject (the "
        "first to respond decides, or everyone must approve), or custom responses."
    )
    inputs = (
        Param(
            "approvalType",
            "Approval type",
            "choice",
            required=True,
            choices=tuple(ApprovalType.choices),
            default=ApprovalType.FIRST_TO_RESPOND.value,
        ),
        Param("title", "Title", required=True),
        Param(
            "assignedTo",
            "Assigned to",
            required=True,
            help="User names or email addresses of the company's users, separated by semicolons.",
        ),
        Param("details", "Details", "multiline"),
        Param("itemLink", "Item link", "url", help="A page the approvers open to see the item."),
        Param("itemLinkDescription", "Item link description"),
        Param(
            "responseOptions",
            "Response options",
            help="For custom responses: the answers to choose from, separated by semicolons.",
        ),
        Param(
            "expiresAfter",
            "Expires after (days)",
            "number",
            help="The approval expires, and the step times out, if nobody has responded "
            "by then. Empty: the default period.",
            advanced=True,
        ),
    )
    outputs = (
        Output("body/outcome", "Outcome"),
        Output("body/responses", "Responses", "array"),
        Output("body/responseSummary", "Response summary"),
        Output("body/completionDate", "Completion date", "datetime"),
        Output("body/requestDate", "Request date", "datetime"),
        Output("body/title", "Title"),
        Output("body/name", "Approval ID"),
        Output("body/status", "Status"),
    )

    def validate(self, inputs: dict) -> list[str]:
        errors = super().validate(inputs)
        kind = inputs.get("approvalType")
        if _is_literal(kind) and kind not in (None, "") and _approval_type(kind) is None:
            errors.append(f"Approval type {kind} is not one of: {_type_names()}.")
        options = inputs.get("responseOptions")
        if _approval_type(kind) in CUSTOM_TYPES and _is_literal(options) and not options:
            errors.append("Custom responses need response options, separated by semicolons.")
        days = inputs.get("expiresAfter")
        if _is_literal(days) and days not in (None, ""):
            try:
                _expiry_days(days)
            except ActionError as error:
                errors.append(error.message)
        return errors

    # -- the waiting protocol -------------------------------------------------------------

    def start(self, call: ActionCall) -> Wait:
        inputs = call.inputs
        kind = _approval_type(inputs.get("approvalType") or ApprovalType.FIRST_TO_RESPOND)
        if kind is None:
            raise ActionError(
                f"Approval type {inputs.get('approvalType')} is not one of: {_type_names()}.",
                code="BadRequest",
            )
        title = _text(inputs.get("title")).strip()
        if not title:
            raise ActionError("The approval needs a title.", code="BadRequest")
        people = assignees(call.company, inputs.get("assignedTo"))
        options = response_options(inputs.get("responseOptions")) if kind in CUSTOM_TYPES else []
        expires_at = self._expiry(call)
        link = _text(inputs.get("itemLink")).strip()
        try:
            request = flow_approval_start(
                company_id=call.company.pk,
                requester=call.user,
                title=title,
                assigned_to=people,
                approval_type=kind,
                details=_details(inputs, link),
                link=link,
                response_options=options,
                expires_at=expires_at,
                flow_id=call.run.flow_id,
                flow_name=call.run.flow.name,
                flow_run_id=call.run.pk,
            )
        except ValidationError as error:
            raise ActionError(" ".join(error.messages), code="BadRequest") from None
        return Wait(until=expires_at, state=_waiting_state(request, people))

    def check(self, call: ActionCall, state: dict) -> Wait | dict:
        request = _request(call, state, lock=True)
        if request.status == ApprovalRequest.Status.OPEN:
            return Wait(until=request.expires_at or call.run.deadline, state=state)
        if request.status == ApprovalRequest.Status.EXPIRED:
            raise ActionError(_expired_message(request), code=TIMEOUT)
        if request.status == ApprovalRequest.Status.CANCELED:
            raise ActionError(f"The approval {request.title!r} was cancelled.", code="Cancelled")
        return {"body": flow_approval_result(request)}

    def expire(self, call: ActionCall, state: dict) -> ActionError:
        request = _request(call, state, lock=False)
        flow_approval_expire(request=request)
        return ActionError(_expired_message(request), code=TIMEOUT)

    def _expiry(self, call: ActionCall) -> datetime.datetime:
        days = _expiry_days(call.inputs.get("expiresAfter"))
        now = timezone.now()
        latest = call.run.deadline - DEADLINE_MARGIN
        expires_at = min(now + datetime.timedelta(days=days), latest)
        if expires_at <= now:
            raise ActionError(
                "The run is too close to its time limit to wait for an approval.",
                code="BadRequest",
            )
        return expires_at


class Approvals(Connector):
    key = "approvals"
    name = "Approvals"
    description = "Ask people to approve something, and wait for their response."
    color = "#0078d4"
    actions = (StartAndWaitForApproval,)


# -- Inputs -------------------------------------------------------------------------------


def _is_literal(value: Any) -> bool:
    return not (isinstance(value, str) and (value.lstrip().startswith("@") or "@{" in value))


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dict | list):
        return json.dumps(value)
    return str(value)


def _type_names() -> str:
    return "; ".join(label for _value, label in ApprovalType.choices)


def _approval_type(value: Any) -> str | None:
    """The approval type by its value ("first") or its label, in any case."""
    text = _text(value).strip().casefold()
    for choice, label in ApprovalType.choices:
        if text in (choice.casefold(), label.casefold()):
            return choice
    return None


def _split(value: Any) -> list[str]:
    if isinstance(value, list):
        parts = [_text(v) for v in value]
    else:
        text = _text(value).strip()
        if text.startswith("["):
            try:
                parsed = json.loads(text)
            except ValueError:
                parsed = None
            if isinstance(parsed, list):
                return _split(parsed)
        parts = SEPARATORS.split(text)
    return list(dict.fromkeys(p.strip() for p in parts if p.strip()))


def response_options(value: Any) -> list[str]:
    options = _split(value)
    if not options:
        raise ActionError(
            "Custom responses need response options, separated by semicolons.", code="BadRequest"
        )
    if len(options) > MAX_RESPONSE_OPTIONS:
        raise ActionError(
            f"An approval offers at most {MAX_RESPONSE_OPTIONS} responses.", code="BadRequest"
        )
    return options


def assignees(company, value: Any) -> list:
    """The company's users that ``value`` names, by user name or email address, in order.

    Names nobody in the company answers to are refused all at once, by name.
    """
    names = _split(value)
    if not names:
        raise ActionError(
            "Assigned to is empty: name at least one user of the company.", code="BadRequest"
        )
    if len(names) > MAX_ASSIGNEES:
        raise ActionError(
            f"An approval is assigned to at most {MAX_ASSIGNEES} people.", code="BadRequest"
        )
    members = (
        get_user_model().objects.filter(memberships__company=company, is_active=True).distinct()
    )
    found, unknown = [], []
    for name in names:
        if "@" in name:
            setups = ApprovalUserSetup.objects.filter(company=company, email__iexact=name)
            match = Q(email__iexact=name) | Q(pk__in=setups.values("user_id"))
        else:
            match = Q(username__iexact=name)
        users = list(members.filter(match).order_by("pk")[:2])
        if len(users) == 1:
            found.append(users[0])
        else:
            unknown.append(name)
    if unknown:
        raise ActionError(
            f"{', '.join(unknown)} {'is not a user' if len(unknown) == 1 else 'are not users'} "
            f"of {company.name} (or the address belongs to several). Assign the approval to "
            "user names or email addresses of the company's users, separated by semicolons.",
            code="BadRequest",
        )
    return list(dict.fromkeys(found))


def _expiry_days(value: Any) -> float:
    if value in (None, ""):
        days = default_expiry_days()
    else:
        try:
            days = float(value) if not isinstance(value, bool) else None
        except (TypeError, ValueError):
            days = None
        if days is None or days != days or days <= 0:
            raise ActionError(
                f"Expires after must be a number of days greater than 0, not {value}.",
                code="BadRequest",
            )
    return min(days, max_expiry_days())


def _details(inputs: dict, link: str) -> str:
    details = _text(inputs.get("details")).strip()
    description = _text(inputs.get("itemLinkDescription")).strip()
    if link and description:
        details = f"{details}\n\n{description}: {link}".strip()
    return details


# -- The approval -------------------------------------------------------------------------


def _waiting_state(request: ApprovalRequest, people: list) -> dict:
    return {
        "name": str(request.system_id),
        "title": request.title,
        "status": "Waiting for a response",
        "assignedTo": [person.get_username() for person in people],
        "expiresAt": request.expires_at.isoformat() if request.expires_at else None,
    }


def _request(call: ActionCall, state: dict, *, lock: bool) -> ApprovalRequest:
    requests = ApprovalRequest.objects.filter(
        company=call.company, kind=ApprovalRequest.Kind.FLOW_APPROVAL
    )
    if lock:
        # Serialises the check with a response: one of them sees the other.
        requests = requests.select_for_update()
    request = requests.filter(system_id=state.get("name")).first()
    if request is None:
        raise ActionError("The approval this step waits for no longer exists.", code="NotFound")
    return request


def _expired_message(request: ApprovalRequest) -> str:
    when = timezone.localtime(request.expires_at) if request.expires_at else None
    by = f" by {when:%Y-%m-%d %H:%M}" if when else ""
    return f"The approval {request.title!r} expired: nobody responded{by}."
