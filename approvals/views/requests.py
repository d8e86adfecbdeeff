"""What requesters and approvers use: Requests to Approve, the confirmation page that mail
links open, the Approval Entries list and an approval request's page.

Every view starts from the request's company (another company's entry is not found: 404)
and asks who may see or decide before anything else: only the approver of an entry (a
delegate is the approver of the entry delegated to them) or the approval administrator
decides it (``decision_refusal``; 403 for anyone else, on GET too). A GET never decides:
mail scanners follow links. Lists read their rows with their relations in one query and
page by keyset, so they cost the same with 30 rows as with 3.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Q, QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from approvals.documents import APPROVABLES
from approvals.forms_requests import (
    DELEGATE,
    REJECT,
    BulkApproveForm,
    CommentForm,
    DecisionForm,
    EntryFilterForm,
)
from approvals.models import ApprovalEntry, ApprovalRequest
from approvals.services import (
    approval_comment_add,
    approval_entries_approve,
    approval_entry_approve,
    approval_entry_delegate,
    approval_entry_reject,
    approval_entry_respond,
    decision_refusal,
    is_approval_administrator,
)
from bcsite.pages.display import display
from bcsite.pages.paging import Sort, bounded_count, page_for_request, paging_links
from bcsite.pages.views.common import safe_next
from bcsite.registry import registry
from bcsite.views import company_required

PAGE_SIZE = 50
# Counting stops here: "1,000+" says enough and stays cheap however many entries there are.
COUNT_LIMIT = 1000
INBOX_SALT = "approvals.requests-to-approve"
ENTRIES_SALT = "approvals.entries"
ENTRY_RELATIONS = ("request", "request__requester", "approver", "decided_by")
Status = ApprovalRequest.Status
EntryStatus = ApprovalEntry.Status


# -- Who may see and do what -----------------------------------------------------------------


def is_approval_admin(request: HttpRequest) -> bool:
    """The company's approval administrator (asked once per request)."""
    if not hasattr(request, "_is_approval_admin"):
        request._is_approval_admin = is_approval_administrator(request.company.pk, request.user)
    return request._is_approval_admin


def sees_all_entries(request: HttpRequest) -> bool:
    return bool(getattr(request, "is_company_admin", False)) or is_approval_admin(request)


def entries_for(request: HttpRequest) -> QuerySet[ApprovalEntry]:
    """The entries the user may see: of their own requests and those they approve; the
    approval administrator and company administrators see all of the company's."""
    entries = ApprovalEntry.objects.filter(company=request.company)
    if sees_all_entries(request):
        return entries
    return entries.filter(Q(approver=request.user) | Q(request__requester=request.user))


def _entry_to_decide(request: HttpRequest, pk: int) -> ApprovalEntry:
    entry = (
        ApprovalEntry.objects.filter(company=request.company, pk=pk)
        .select_related(*ENTRY_RELATIONS)
        .first()
    )
    if entry is None:
        raise Http404("No approval entry matches the given query.")
    refusal = decision_refusal(entry, request.user)
    if refusal:
        raise PermissionDenied(refusal)
    return entry


def _request_to_see(request: HttpRequest, pk: int) -> ApprovalRequest:
    approval_request = (
        ApprovalRequest.objects.filter(company=request.company, pk=pk)
        .select_related("requester", "decided_by")
        .first()
    )
    if approval_request is None:
        raise Http404("No approval request matches the given query.")
    if not (
        approval_request.requester_id == request.user.pk
        or sees_all_entries(request)
        or approval_request.entries.filter(approver=request.user).exists()
    ):
        raise PermissionDenied(
            "Only the requester, the approvers and the approval administrator can see this "
            "approval request."
        )
    return approval_request


# -- What the pages show ---------------------------------------------------------------------


def _number(value: Any) -> str:
    if value is None or value == "":
        return "(blank)"
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, int | float | Decimal):
        try:
            return display(Decimal(str(value)))
        except InvalidOperation:
            return str(value)
    return str(value)


def change_text(change: dict | None) -> str:
    """A held change as "Credit Limit (LCY): 1,000.00 → 5,000.00"."""
    if not change:
        return ""
    label = change.get("label") or change.get("field") or "Change"
    return f"{label}: {_number(change.get('old'))} → {_number(change.get('new'))}"


def user_name(user) -> str:
    if user is None:
        return ""
    return user.get_full_name() or user.get_username()


@dataclass(frozen=True)
class RequestView:
    """An approval request as the pages show it."""

    pk: int
    title: str
    details: str
    kind: str
    status: str
    status_key: str
    is_open: bool
    record_no: str
    record_url: str
    requester: str
    amount: str
    change: str
    outcome: str
    created: str
    decided: str
    decided_by: str
    url: str


def request_view(approval_request: ApprovalRequest) -> RequestView:
    return RequestView(
        pk=approval_request.pk,
        title=approval_request.title,
        details=approval_request.details,
        kind=approval_request.get_kind_display(),
        status=approval_request.get_status_display(),
        status_key=approval_request.status,
        is_open=approval_request.is_open,
        record_no=approval_request.record_no,
        record_url=approval_request.link,
        requester=user_name(approval_request.requester) or "A flow",
        amount=display(approval_request.amount) if approval_request.amount else "",
        change=change_text(approval_request.change),
        outcome=approval_request.outcome,
        created=display(approval_request.created_at),
        decided=display(approval_request.decided_at),
        decided_by=user_name(approval_request.decided_by),
        url=reverse("approvals:request-detail", args=[approval_request.pk]),
    )


@dataclass(frozen=True)
class EntryView:
    """One approval entry as a row: its request, its approver, what can be done with it."""

    pk: int
    request: RequestView
    sequence_no: int
    approver: str
    status: str
    status_key: str
    is_open: bool
    due_date: str
    overdue: bool
    decided_by: str
    decided_at: str
    comment: str
    response: str
    decide_url: str
    # The buttons: Approve/Reject (and Delegate for workflows), or a flow's own responses.
    responses: tuple[str, ...]
    can_delegate: bool
    selectable: bool


def _custom_responses(approval_request: ApprovalRequest) -> tuple[str, ...]:
    custom = (
        ApprovalRequest.ApprovalType.CUSTOM_ONE,
        ApprovalRequest.ApprovalType.CUSTOM_ALL,
    )
    if approval_request.kind == ApprovalRequest.Kind.FLOW_APPROVAL and (
        approval_request.approval_type in custom
    ):
        return tuple(approval_request.response_options)
    return ()


def entry_view(entry: ApprovalEntry, today: datetime.date) -> EntryView:
    approval_request = entry.request
    responses = _custom_responses(approval_request)
    return EntryView(
        pk=entry.pk,
        request=request_view(approval_request),
        sequence_no=entry.sequence_no,
        approver=user_name(entry.approver),
        status=entry.get_status_display(),
        status_key=entry.status,
        is_open=entry.is_open,
        due_date=display(entry.due_date),
        overdue=entry.is_open and entry.due_date is not None and entry.due_date < today,
        decided_by=user_name(entry.decided_by),
        decided_at=display(entry.decided_at),
        comment=entry.comment,
        response=entry.response,
        decide_url=reverse("approvals:entry-decide", args=[entry.pk]),
        responses=responses,
        can_delegate=approval_request.kind == ApprovalRequest.Kind.WORKFLOW,
        selectable=entry.is_open and not responses,
    )


def entry_views(entries) -> list[EntryView]:
    today = timezone.localdate()
    return [entry_view(entry, today) for entry in entries]


def _comments(approval_request: ApprovalRequest) -> list[dict]:
    return [
        {"user": user_name(c.user) or "(deleted user)", "at": display(c.created_at), "text": c.text}
        for c in approval_request.comments.select_related("user")
    ]


# -- Requests to Approve ---------------------------------------------------------------------


@require_safe
@company_required
def requests_to_approve(request: HttpRequest) -> HttpResponse:
    """The user's open entries, oldest first; the approval administrator may see all."""
    errors: list[str] = []
    show_all = request.GET.get("all") == "1"
    if show_all and not is_approval_admin(request):
        errors.append("Only the approval administrator can see everyone's requests to approve.")
        show_all = False
    entries = ApprovalEntry.objects.filter(company=request.company, status=EntryStatus.OPEN)
    if not show_all:
        entries = entries.filter(approver=request.user)
    entries = entries.select_related(*ENTRY_RELATIONS)
    page = page_for_request(
        request, entries, Sort("pk"), size=PAGE_SIZE, salt=INBOX_SALT, errors=errors
    )
    count, more = bounded_count(entries, COUNT_LIMIT)
    base = reverse("approvals:requests-to-approve")
    context = {
        "rows": entry_views(page.rows),
        "errors": errors,
        "count": count,
        "count_more": more,
        "show_all": show_all,
        "may_show_all": is_approval_admin(request),
        "here": request.get_full_path(),
        **paging_links(base, {"all": "1" if show_all else ""}, page),
    }
    return render(request, "approvals/requests/to_approve.html", context)


@require_POST
@company_required
def requests_approve(request: HttpRequest) -> HttpResponse:
    """Bulk Approve: each selected entry on its own, reporting what was refused."""
    back = safe_next(request, reverse("approvals:requests-to-approve"))
    form = BulkApproveForm(request.POST)
    if not form.is_valid():
        for error in [*form.non_field_errors(), *form.errors.get("comment", [])]:
            messages.error(request, error)
        return redirect(back)
    entries = ApprovalEntry.objects.filter(company=request.company, pk__in=form.selected)
    if not is_approval_admin(request):
        # Only rows the user approves: titles of others' requests are not reported back.
        entries = entries.filter(approver=request.user)
    entries = list(entries.select_related("request", "approver").order_by("pk"))
    approved, refusals = approval_entries_approve(
        entries=entries, user=request.user, comment=form.cleaned_data["comment"]
    )
    if approved:
        noun = "request was" if approved == 1 else "requests were"
        messages.success(request, f"{approved} {noun} approved.")
    for refusal in refusals:
        messages.error(request, refusal)
    unknown = len(form.selected) - len(entries)
    if unknown:
        messages.error(
            request,
            f"{unknown} of the selected requests are not yours to approve, or do not exist "
            "any more.",
        )
    return redirect(back)


# -- The confirmation page (mail links) ------------------------------------------------------


def _decide(entry: ApprovalEntry, user, data: dict) -> str:
    """Call the service the form asks for; what to tell the user."""
    comment, title = data["comment"], entry.request.title
    if data["response"]:
        approval_entry_respond(entry=entry, user=user, response=data["response"], comment=comment)
        return f"You answered {data['response']} to {title}."
    if data["decision"] == DELEGATE:
        new = approval_entry_delegate(entry=entry, user=user, comment=comment)
        return f"{title} was delegated to {user_name(new.approver)}."
    if data["decision"] == REJECT:
        approval_entry_reject(entry=entry, user=user, comment=comment)
        return f"{title} was rejected."
    approval_request = approval_entry_approve(entry=entry, user=user, comment=comment)
    if approval_request.status == Status.APPROVED:
        return f"{title} is approved."
    if approval_request.status == Status.OPEN:
        return f"You approved {title}. It now waits for the next approver."
    return f"You approved {title}."


def _decide_page(
    request: HttpRequest, entry: ApprovalEntry, form: DecisionForm, *, status: int = 200
) -> HttpResponse:
    approval_request = entry.request
    others = approval_request.entries.select_related(*ENTRY_RELATIONS).order_by("sequence_no", "pk")
    context = {
        "entry": entry_view(entry, timezone.localdate()),
        "approval_request": request_view(approval_request),
        "entries": entry_views(others),
        "comments": _comments(approval_request),
        "form": form,
        "deciding_for": user_name(entry.approver) if entry.approver_id != request.user.pk else "",
    }
    return render(request, "approvals/requests/decide.html", context, status=status)


@require_http_methods(["GET", "POST"])
@company_required
def entry_decide(request: HttpRequest, pk: int) -> HttpResponse:
    """GET shows the request and the choices; only a POST decides."""
    entry = _entry_to_decide(request, pk)
    if request.method != "POST":
        return _decide_page(request, entry, DecisionForm())
    form = DecisionForm(request.POST)
    if not form.is_valid():
        return _decide_page(request, entry, form, status=400)
    here = reverse("approvals:entry-decide", args=[entry.pk])
    try:
        message = _decide(entry, request.user, form.cleaned_data)
    except ValidationError as error:
        for text in error.messages:
            messages.error(request, text)
        return redirect(safe_next(request, here))
    messages.success(request, message)
    return redirect(safe_next(request, reverse("approvals:requests-to-approve")))


# -- Approval Entries ------------------------------------------------------------------------


def record_of(company, table_id: int | None, record_id) -> tuple[str, str]:
    """The label and page of the record a filter names ("", "" when there is none)."""
    found = APPROVABLES.get(table_id) if table_id else None
    table = registry.tables.get(table_id) if found else None
    if table is None or record_id is None:
        return "", ""
    record = table.model._default_manager.filter(company=company, system_id=record_id).first()
    if record is None:
        return f"{found.label} (deleted)", ""
    return f"{found.label} {getattr(record, 'no', '')}".strip(), table.record_url(record) or ""


@require_safe
@company_required
def entry_list(request: HttpRequest) -> HttpResponse:
    """Every entry the user may see, newest first, filtered by record and status."""
    form = EntryFilterForm(request.GET)
    entries = entries_for(request)
    errors: list[str] = []
    status = 200
    record_label = record_url = ""
    if form.is_valid():
        data = form.cleaned_data
        if data["table"]:
            entries = entries.filter(request__table_id=data["table"])
        if data["record"]:
            entries = entries.filter(request__record_id=data["record"])
            record_label, record_url = record_of(request.company, data["table"], data["record"])
        if data["status"]:
            entries = entries.filter(status=data["status"])
    else:
        errors = [f"{form.fields[name].label}: {e}" for name, es in form.errors.items() for e in es]
        entries, status = entries.none(), 400
    entries = entries.select_related(*ENTRY_RELATIONS)
    page = page_for_request(
        request,
        entries,
        Sort("pk", descending=True),
        size=PAGE_SIZE,
        salt=ENTRIES_SALT,
        errors=errors,
    )
    count, more = bounded_count(entries, COUNT_LIMIT)
    params = {k: request.GET.get(k, "") for k in ("table", "record", "status")}
    context = {
        "rows": entry_views(page.rows),
        "form": form,
        "errors": errors,
        "count": count,
        "count_more": more,
        "sees_all": sees_all_entries(request),
        "record_label": record_label,
        "record_url": record_url,
        **paging_links(reverse("approvals:entries"), params, page),
    }
    return render(request, "approvals/requests/entries.html", context, status=status)


def entries_url(table_id: int, record) -> str:
    """The Approval Entries list of one record (the Approvals action, the FactBox)."""
    query = urlencode({"table": table_id, "record": str(record.system_id)})
    return f"{reverse('approvals:entries')}?{query}"


# -- An approval request ---------------------------------------------------------------------


def _request_page(
    request: HttpRequest, approval_request: ApprovalRequest, form: CommentForm, status: int = 200
) -> HttpResponse:
    entries = list(
        approval_request.entries.select_related(*ENTRY_RELATIONS).order_by("sequence_no", "pk")
    )
    open_entries = [e for e in entries if e.is_open]
    mine = next((e for e in open_entries if e.approver_id == request.user.pk), None)
    if mine is None and open_entries and is_approval_admin(request):
        mine = open_entries[0]
    context = {
        "approval_request": request_view(approval_request),
        "entries": entry_views(entries),
        "comments": _comments(approval_request),
        "form": form,
        "my_entry_url": reverse("approvals:entry-decide", args=[mine.pk]) if mine else "",
    }
    return render(request, "approvals/requests/detail.html", context, status=status)


@require_safe
@company_required
def request_detail(request: HttpRequest, pk: int) -> HttpResponse:
    approval_request = _request_to_see(request, pk)
    return _request_page(request, approval_request, CommentForm())


@require_POST
@company_required
def request_comment(request: HttpRequest, pk: int) -> HttpResponse:
    approval_request = _request_to_see(request, pk)
    form = CommentForm(request.POST)
    if not form.is_valid():
        return _request_page(request, approval_request, form, status=400)
    approval_comment_add(
        request=approval_request, user=request.user, text=form.cleaned_data["text"]
    )
    messages.success(request, "Your comment was added.")
    return redirect(reverse("approvals:request-detail", args=[approval_request.pk]))
