"""Approvals: who approves what (user setup, workflows, groups), and the requests and entries.

One model of requests and entries serves all three ways of approving:
- a BC **approval workflow** (``ApprovalRequest.Kind.WORKFLOW``): entries for the approvers
  the workflow's approver type finds, decided level by level on Requests to Approve;
- a request handed to a Power Automate **approval flow** (``FLOW_ENTRY``, BC's Flow
  Entries): no entries here; the flow answers it (approve, reject, cancel);
- a flow's **Start and wait for an approval** step (``FLOW_APPROVAL``): entries for the
  people it assigns, and the run that waits for the outcome.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q

from records.models import MONEY, ZERO, Company


class ApprovalUserSetup(models.Model):
    """BC's Approval User Setup: a user's approver, substitute and sales approval limit."""

    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="approval_setups"
    )
    approver = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="Approver ID",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    substitute = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    # BC's rule: 0 approves nothing, unless Unlimited Sales Approval is set.
    sales_amount_approval_limit = models.DecimalField(
        "Sales Amount Approval Limit", validators=[MinValueValidator(ZERO)], **MONEY
    )
    unlimited_sales_approval = models.BooleanField("Unlimited Sales Approval", default=False)
    email = models.EmailField("E-Mail", blank=True)
    approval_administrator = models.BooleanField("Approval Administrator", default=False)

    class Meta:
        verbose_name = "approval user setup"
        ordering = ["user__username"]
        constraints = [
            models.UniqueConstraint(fields=["company", "user"], name="approval_setup_unique_user"),
            # One approval administrator per company.
            models.UniqueConstraint(
                fields=["company"],
                condition=Q(approval_administrator=True),
                name="approval_setup_one_administrator",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} @ {self.company_id}"

    def approves(self, amount) -> bool:
        """Whether this user's sales approval limit covers ``amount``."""
        if self.unlimited_sales_approval:
            return True
        limit = self.sales_amount_approval_limit
        return limit is not None and amount <= limit

    @property
    def limit_display(self) -> str:
        if self.unlimited_sales_approval:
            return "Unlimited"
        return (
            ""
            if self.sales_amount_approval_limit is None
            else f"{self.sales_amount_approval_limit}"
        )


class WorkflowUserGroup(models.Model):
    """BC's Workflow User Group: approvers by sequence. Members with the same sequence no.
    form a level where any one approves; at the last level everyone must."""

    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="+")
    code = models.CharField(max_length=20)
    description = models.CharField(max_length=100, blank=True)

    class Meta:
        ordering = ["code"]
        constraints = [
            models.UniqueConstraint(fields=["company", "code"], name="workflow_group_unique_code")
        ]

    def __str__(self) -> str:
        return self.code


class WorkflowUserGroupMember(models.Model):
    group = models.ForeignKey(WorkflowUserGroup, on_delete=models.CASCADE, related_name="members")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    sequence_no = models.PositiveIntegerField("Sequence No.", default=1)

    class Meta:
        ordering = ["sequence_no", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["group", "user"], name="workflow_group_unique_member")
        ]

    def __str__(self) -> str:
        return f"{self.group_id}: {self.user_id} ({self.sequence_no})"


class Workflow(models.Model):
    """An approval workflow, made from one of the shipped templates (``approvals.templates``).

    ``conditions`` is a list of ``{"field", "operator", "value"}`` on the API names of the
    table's fields (all must hold); a record that does not meet them needs no approval.
    """

    class ApproverType(models.TextChoices):
        DIRECT_APPROVER = "direct_approver", "Direct Approver"
        APPROVER_CHAIN = "approver_chain", "Approver Chain"
        FIRST_QUALIFIED = "first_qualified", "First Qualified Approver"
        SPECIFIC_APPROVER = "specific_approver", "Specific Approver"
        USER_GROUP = "user_group", "Workflow User Group"

    class DelegateAfter(models.TextChoices):
        NEVER = "", "Never"
        ONE_DAY = "1D", "1 day"
        TWO_DAYS = "2D", "2 days"
        FIVE_DAYS = "5D", "5 days"

    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="+")
    system_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    code = models.CharField(max_length=20)
    description = models.CharField(max_length=100)
    category = models.CharField(max_length=30, default="Sales")
    # The shipped template it was made from (its code), for Reset.
    template = models.CharField(max_length=20)
    table_id = models.PositiveIntegerField()
    # What it approves: a document or record sent for approval, or a change to one field.
    change_field = models.CharField(max_length=50, blank=True)
    enabled = models.BooleanField(default=False)
    conditions = models.JSONField(default=list, blank=True)
    approver_type = models.CharField(
        max_length=20, choices=ApproverType.choices, default=ApproverType.APPROVER_CHAIN
    )
    specific_approver = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    user_group = models.ForeignKey(
        WorkflowUserGroup,
        verbose_name="Workflow User Group",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="workflows",
    )
    due_date_formula = models.CharField("Due Date Formula", max_length=20, default="2D")
    delegate_after = models.CharField(
        max_length=2, choices=DelegateAfter.choices, default="", blank=True
    )
    last_modified = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["code"]
        constraints = [
            models.UniqueConstraint(fields=["company", "code"], name="workflow_unique_code")
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.description}"


class ApprovalRequest(models.Model):
    """A record, a change or a question sent for approval, and how it ended."""

    class Kind(models.TextChoices):
        WORKFLOW = "workflow", "Approval workflow"
        FLOW_ENTRY = "flow_entry", "Approval flow"
        FLOW_APPROVAL = "flow_approval", "Flow approval"

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        APPROVED = "approved", "Approved"
        REJECTED = "rejected", "Rejected"
        CANCELED = "canceled", "Canceled"
        # A flow approval with custom responses ends with the responses, not a verdict.
        COMPLETED = "completed", "Completed"
        EXPIRED = "expired", "Expired"

    class ApprovalType(models.TextChoices):
        FIRST_TO_RESPOND = "first", "Approve/Reject - First to respond"
        EVERYONE = "everyone", "Approve/Reject - Everyone must approve"
        CUSTOM_ONE = "custom_one", "Custom Responses - Wait for one response"
        CUSTOM_ALL = "custom_all", "Custom Responses - Wait for all responses"

    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="+")
    system_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.OPEN)
    # The record it is about (none for a flow approval that names no record).
    table_id = models.PositiveIntegerField(null=True, blank=True)
    record_id = models.UUIDField(null=True, blank=True)
    record_no = models.CharField("Document No.", max_length=50, blank=True)
    title = models.CharField(max_length=250)
    details = models.TextField(blank=True)
    link = models.CharField(max_length=500, blank=True)
    amount = models.DecimalField(**MONEY)
    # A held change (a credit limit, a unit price): {"field", "label", "old", "new"}.
    change = models.JSONField(null=True, blank=True)
    workflow = models.ForeignKey(
        Workflow, on_delete=models.SET_NULL, null=True, blank=True, related_name="requests"
    )
    requester = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    # Flow approvals: how the outcome is reached, the responses offered, the run that waits.
    approval_type = models.CharField(
        max_length=20, choices=ApprovalType.choices, default=ApprovalType.FIRST_TO_RESPOND
    )
    response_options = models.JSONField(default=list, blank=True)
    outcome = models.CharField(max_length=100, blank=True)
    flow_run_id = models.BigIntegerField(null=True, blank=True)
    flow_id = models.BigIntegerField(null=True, blank=True)
    flow_name = models.CharField(max_length=250, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [
            models.Index(fields=["company", "table_id", "record_id", "status"]),
            models.Index(fields=["status", "expires_at"]),
        ]
        constraints = [
            # At most one open request per record and kind of approval.
            models.UniqueConstraint(
                fields=["table_id", "record_id", "kind"],
                condition=Q(status="open", record_id__isnull=False) & ~Q(kind="flow_approval"),
                name="approval_request_one_open_per_record",
            )
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def is_open(self) -> bool:
        return self.status == self.Status.OPEN


class ApprovalEntry(models.Model):
    """One approver's part of a request (BC's Approval Entry)."""

    class Status(models.TextChoices):
        CREATED = "created", "Created"
        OPEN = "open", "Open"
        APPROVED = "approved", "Approved"
        REJECTED = "rejected", "Rejected"
        CANCELED = "canceled", "Canceled"
        DELEGATED = "delegated", "Delegated"
        # A custom response to a flow approval.
        RESPONDED = "responded", "Responded"

    request = models.ForeignKey(ApprovalRequest, on_delete=models.CASCADE, related_name="entries")
    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="+")
    sequence_no = models.PositiveIntegerField("Sequence No.", default=1)
    approver = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="Approver ID",
        on_delete=models.PROTECT,
        related_name="approval_entries",
    )
    # Everyone at this level must approve (a group's last level, "everyone must approve").
    all_must_approve = models.BooleanField(default=False)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.CREATED)
    due_date = models.DateField(null=True, blank=True)
    delegate_at = models.DateTimeField(null=True, blank=True)
    delegated_from = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    response = models.CharField(max_length=100, blank=True)
    comment = models.TextField(blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    last_reminded_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["request_id", "sequence_no", "pk"]
        verbose_name_plural = "approval entries"
        indexes = [
            models.Index(fields=["approver", "status"]),
            models.Index(fields=["status", "due_date"]),
            models.Index(fields=["status", "delegate_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.request} / {self.approver} ({self.status})"

    @property
    def is_open(self) -> bool:
        return self.status == self.Status.OPEN


class ApprovalComment(models.Model):
    request = models.ForeignKey(ApprovalRequest, on_delete=models.CASCADE, related_name="comments")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    text = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "pk"]

    def __str__(self) -> str:
        return self.text[:50]


class RestrictedRecord(models.Model):
    """BC's Restricted Record: a record that may not be used until its approval ends
    (a new customer cannot be sold to, a new item not put on an order)."""

    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="+")
    table_id = models.PositiveIntegerField()
    record_id = models.UUIDField()
    details = models.CharField(max_length=250)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["table_id", "record_id"], name="restricted_record_unique"
            )
        ]

    def __str__(self) -> str:
        return self.details
