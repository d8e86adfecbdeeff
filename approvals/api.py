"""Approvals over the connector API: my requests to approve, approve and reject
(``/api/bcsite/approvals/v1.0/companies({id})/approvalRequests``).

Each item is an approval entry: one approver's part of a request. The list shows the
caller's open entries unless ``$filter`` names ``status``. Deciding goes through the same
services as Requests to Approve: only the approver (or the approval administrator)
decides, and two decisions at once produce exactly one.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Q
from rest_framework.request import Request
from rest_framework.response import Response

from approvals.models import ApprovalEntry
from approvals.services import (
    approval_entry_approve,
    approval_entry_reject,
    is_approval_administrator,
)
from bcsite.api import schema
from bcsite.api.errors import ApiError
from bcsite.api.odata import is_digits, parse_options
from bcsite.api.resources import (
    ApiView,
    CollectionSpec,
    api_company,
    api_root,
    collection_response,
    entity_response,
    record_key,
)
from bcsite.events import acting_as
from bcsite.registry import Table, TableField

BASE = "bcsite/approvals/v1.0"
MAX_COMMENT_LENGTH = 4000

ENTRIES = Table(
    id=454,
    name="Approval Entry",
    model=ApprovalEntry,
    entity="approvalRequest",
    entity_set="approvalRequests",
    fields=(
        TableField("id", "pk", "Entry No.", "integer"),
        TableField("requestId", "request__system_id", "Request Id", "uuid"),
        TableField("title", "request__title", "Title"),
        TableField("details", "request__details", "Details"),
        TableField("tableId", "request__table_id", "Table No.", "integer"),
        TableField("recordId", "request__record_id", "Record Id", "uuid"),
        TableField("documentNumber", "request__record_no", "Document No."),
        TableField("amount", "request__amount", "Amount", "number"),
        TableField("requester", "request__requester__username", "Sender ID"),
        TableField("requestStatus", "request__status", "Request Status", "option"),
        TableField("status", "status", "Status", "option"),
        TableField("sequenceNumber", "sequence_no", "Sequence No.", "integer"),
        TableField("approver", "approver__username", "Approver ID"),
        TableField("dueDate", "due_date", "Due Date", "date"),
        TableField("comment", "comment", "Comment"),
        TableField("decidedBy", "decided_by__username", "Decided By"),
        TableField("decidedAt", "decided_at", "Decided At", "datetime"),
        TableField("createdAt", "created_at", "Created At", "datetime"),
    ),
    id_field="pk",
)
RELATIONS = ("request", "request__requester", "approver", "decided_by")

_ENTRY_REF = schema.entity_schema(ENTRIES)
_DECISION = schema.component(
    "approvalDecision",
    {
        "type": "object",
        "properties": {"comment": {"type": "string", "maxLength": MAX_COMMENT_LENGTH}},
        "additionalProperties": False,
    },
)
ENTRY_ID = schema.path_parameter("entry_id", "The approval entry's id (a number).")


class ApprovalView(ApiView):
    def context(self, request: Request, company, path: str) -> str:
        return f"{api_root(request)}/{BASE}/$metadata#companies({company.system_id})/{path}"

    def visible(self, request: Request, company):
        """The entries the caller may see: those they approve and those of their own
        requests; the approval administrator and company administrators see all."""
        entries = ApprovalEntry.objects.filter(company=company).select_related(*RELATIONS)
        if request.is_company_admin or is_approval_administrator(company.pk, request.user):
            return entries
        return entries.filter(Q(approver=request.user) | Q(request__requester=request.user))

    def entry(self, request: Request, company, entry_id: str) -> ApprovalEntry:
        key = record_key(entry_id)
        entry = None
        if is_digits(key) and len(key) < 19:
            entry = self.visible(request, company).filter(pk=int(key)).first()
        if entry is None:
            raise ApiError(
                404, "BadRequest_NotFound", f"The approval request {entry_id} does not exist."
            )
        return entry

    def entity(self, request: Request, company, entry: ApprovalEntry) -> Response:
        return entity_response(
            request,
            ENTRIES,
            entry,
            context=self.context(request, company, "approvalRequests/$entity"),
        )


class ApprovalRequestListView(ApprovalView):
    def openapi_operation(self, method):
        return schema.Operation(
            operation_id="listApprovalRequests",
            summary="List my requests to approve",
            description="The caller's approval entries, open ones only unless $filter names "
            "status (e.g. status eq 'Approved').",
            tags=["approvals"],
            responses=schema.responses(200, schema.collection(_ENTRY_REF)),
            parameters=[schema.COMPANY_ID, *schema.COLLECTION_PARAMETERS],
        )

    def get(self, request: Request, company_id: str) -> Response:
        company = api_company(request, company_id)
        options = parse_options(
            ENTRIES, request.query_params, prefer=request.headers.get("Prefer", "")
        )
        entries = ApprovalEntry.objects.filter(company=company, approver=request.user)
        if "status" not in options.filter_fields:
            entries = entries.filter(status=ApprovalEntry.Status.OPEN)
        spec = CollectionSpec(
            table=ENTRIES,
            context=self.context(request, company, "approvalRequests"),
            default_order=["pk"],
            salt=f"approvals:{company.pk}:{request.user.pk}",
        )
        return collection_response(
            request, entries.select_related(*RELATIONS), spec, options=options
        )


class ApprovalRequestView(ApprovalView):
    def openapi_operation(self, method):
        return schema.Operation(
            operation_id="getApprovalRequest",
            summary="Get an approval request",
            tags=["approvals"],
            responses=schema.responses(200, schema.single(_ENTRY_REF)),
            parameters=[schema.COMPANY_ID, ENTRY_ID, *schema.ENTITY_PARAMETERS],
        )

    def get(self, request: Request, company_id: str, entry_id: str) -> Response:
        company = api_company(request, company_id)
        return self.entity(request, company, self.entry(request, company, entry_id))


class ApprovalDecisionView(ApprovalView):
    """``approvalRequests({id})/Microsoft.NAV.approve`` and ``.../Microsoft.NAV.reject``."""

    decision: str

    def openapi_operation(self, method):
        return schema.Operation(
            operation_id=f"{self.decision}ApprovalRequest",
            summary=f"{self.decision.capitalize()} an approval request",
            description="Only the approver (or the approval administrator) decides; a "
            "request decided already answers 409.",
            tags=["approvals"],
            request=_DECISION,
            responses=schema.responses(200, schema.single(_ENTRY_REF)),
            parameters=[schema.COMPANY_ID, ENTRY_ID],
        )

    def post(self, request: Request, company_id: str, entry_id: str) -> Response:
        company = api_company(request, company_id)
        entry = self.entry(request, company, entry_id)
        comment = self.body_object(request).get("comment") if request.data else ""
        if comment is None:
            comment = ""
        if not isinstance(comment, str) or len(comment) > MAX_COMMENT_LENGTH:
            raise ApiError(
                400,
                "BadRequest",
                f"comment must be text of at most {MAX_COMMENT_LENGTH} characters.",
            )
        decide = approval_entry_approve if self.decision == "approve" else approval_entry_reject
        try:
            with acting_as(request.user, origin="api"):
                decide(entry=entry, user=request.user, comment=comment)
        except PermissionDenied as error:
            raise ApiError(403, "Forbidden", str(error)) from None
        except ValidationError as error:
            message = " ".join(error.messages)
            entry.refresh_from_db(fields=["status"])
            if entry.status != ApprovalEntry.Status.OPEN:
                raise ApiError(409, "Request_EntityChanged", message) from None
            raise ApiError(400, "BadRequest", message) from None
        return self.entity(request, company, self.entry(request, company, entry_id))


class ApproveView(ApprovalDecisionView):
    decision = "approve"


class RejectView(ApprovalDecisionView):
    decision = "reject"
