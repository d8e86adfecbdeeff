"""Flows, their versions, runs and step runs, and what flows leave behind (mails, documents).

A flow version's steps are data (``FlowVersion.definition``); a step run is a row with a
status. Runs and step runs are the history users debug from, and the engine's memory: a
redelivered task reads them to skip what is already done.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone

from automate.fields import OrderedJSONField


class Flow(models.Model):
    class Kind(models.TextChoices):
        INSTANT = "instant", "Instant"
        AUTOMATED = "automated", "Automated"
        SCHEDULED = "scheduled", "Scheduled"

    company = models.ForeignKey("records.Company", on_delete=models.CASCADE, related_name="+")
    system_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="flows"
    )
    name = models.CharField(max_length=120)
    description = models.TextField(blank=True)
    kind = models.CharField(max_length=12, choices=Kind.choices, default=Kind.INSTANT)
    # Copied from the current version's trigger, so the Automate group finds a table's
    # instant flows with one indexed query.
    trigger_type = models.CharField(max_length=40, blank=True)
    table_id = models.PositiveIntegerField(null=True, blank=True)
    enabled = models.BooleanField("On", default=True)
    current_version = models.ForeignKey(
        "FlowVersion", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    # The business event an automated flow starts on.
    trigger_event = models.CharField(max_length=80, blank=True)
    # A scheduled flow's next slot, while it is on.
    next_run_at = models.DateTimeField(null=True, blank=True, db_index=True)
    # The secret in the URL of an HTTP-triggered flow, and the key its callers sign with.
    http_key = models.CharField(max_length=64, blank=True)
    signing_secret = models.CharField(max_length=64, blank=True)
    # Automated and scheduled runs that failed in a row, since when, and when the owner
    # was last told.
    failure_streak = models.PositiveIntegerField(default=0)
    failing_since = models.DateTimeField(null=True, blank=True)
    failure_notified_at = models.DateTimeField(null=True, blank=True)
    template_key = models.CharField(max_length=80, blank=True)
    # What a custom action names the flow by (AL's FlowId): unique in the company when set.
    key = models.SlugField(max_length=80, blank=True)
    # Runs of this flow that may be in progress at once (Power Automate's concurrency control).
    concurrency_limit = models.PositiveSmallIntegerField(default=25)
    created_at = models.DateTimeField(auto_now_add=True)
    modified_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "pk"]
        indexes = [
            models.Index(
                fields=["company", "owner", "trigger_type", "table_id"], name="flow_instant_idx"
            ),
            # The flows a record or business event starts.
            models.Index(
                fields=["company", "trigger_type", "table_id", "enabled"], name="flow_record_idx"
            ),
            models.Index(
                fields=["company", "trigger_event", "enabled"], name="flow_business_event_idx"
            ),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["company", "key"],
                condition=~models.Q(key=""),
                name="flow_key_unique",
            )
        ]

    def __str__(self) -> str:
        return self.name


class FlowVersion(models.Model):
    """One saved state of a flow. Saving a flow adds a version; runs keep theirs."""

    flow = models.ForeignKey(Flow, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    definition = OrderedJSONField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["flow", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["flow", "number"], name="flow_version_unique")
        ]

    def __str__(self) -> str:
        return f"{self.flow} v{self.number}"


class RunStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    WAITING = "waiting", "Waiting"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"
    TIMED_OUT = "timed_out", "Timed out"


FINISHED_RUN_STATUSES = (
    RunStatus.SUCCEEDED,
    RunStatus.FAILED,
    RunStatus.CANCELLED,
    RunStatus.TIMED_OUT,
)


class FlowRun(models.Model):
    flow = models.ForeignKey(Flow, on_delete=models.CASCADE, related_name="runs")
    version = models.ForeignKey(FlowVersion, on_delete=models.PROTECT, related_name="runs")
    company = models.ForeignKey("records.Company", on_delete=models.CASCADE, related_name="+")
    system_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    # What started the run; unique, so one trigger event never starts two runs.
    idempotency_key = models.CharField(max_length=200, unique=True)
    status = models.CharField(max_length=12, choices=RunStatus.choices, default=RunStatus.QUEUED)
    triggered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    trigger_data = OrderedJSONField(default=dict)
    # What lists show of the record the run is about, copied from the trigger data.
    record_number = models.CharField(max_length=100, blank=True)
    record_name = models.CharField(max_length=250, blank=True)
    record_path = models.CharField(max_length=500, blank=True)
    # The run's variables, {name: {"type": ..., "value": ...}}, saved with the step that set them.
    variables = OrderedJSONField(default=dict)
    resubmitted_from = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="resubmissions"
    )
    error = models.TextField(blank=True)
    # The step names of the top-level chain and how many of them have ended: the progress view.
    steps_total = models.PositiveIntegerField(default=0)
    steps_done = models.PositiveIntegerField(default=0)
    # A worker holds the run while its lease lasts; the sweeper hands expired ones on.
    lease_token = models.UUIDField(null=True, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)
    deliveries = models.PositiveIntegerField(default=0)
    # Deliveries whose worker died or crashed before they parked or ended the run.
    lost_deliveries = models.PositiveIntegerField(default=0)
    # A waiting run (delay, retry back-off, approval) is woken by the tick at this time.
    wake_at = models.DateTimeField(null=True, blank=True)
    deadline = models.DateTimeField()
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [
            # Newest first per flow, ties by id: the flow's history and its last run.
            models.Index(fields=["flow", "-created_at", "-id"], name="flowrun_flow_idx"),
            models.Index(fields=["status", "wake_at"], name="flowrun_wake_idx"),
            # Runs by status (the cue, the filters, the runs still going on the chart).
            models.Index(fields=["company", "status", "created_at"], name="flowrun_status_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.flow} run {self.pk}"

    @property
    def is_finished(self) -> bool:
        return self.status in FINISHED_RUN_STATUSES

    @property
    def can_cancel(self) -> bool:
        return not self.is_finished

    @property
    def duration(self):
        if self.started_at is None:
            return None
        return (self.finished_at or timezone.now()) - self.started_at


class TriggerEvent(models.Model):
    """The outbox: one event for one flow, written in the transaction of the change.

    Delivering it starts the flow's run (at most one: the run's idempotency key is the
    event's) or records why it was skipped. ``key`` is unique, so a recurrence slot or a
    redelivered event cannot be written twice.
    """

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        STARTED = "started", "Started"
        SKIPPED = "skipped", "Skipped"

    flow = models.ForeignKey(Flow, on_delete=models.CASCADE, related_name="trigger_events")
    company = models.ForeignKey("records.Company", on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=200, unique=True)
    trigger_type = models.CharField(max_length=40)
    summary = models.CharField(max_length=250, blank=True)
    trigger_data = OrderedJSONField(default=dict)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    reason = models.TextField(blank=True)
    run = models.ForeignKey(
        FlowRun, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    # The sweeper delivers a pending event again if it is still pending at this time.
    redeliver_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [
            models.Index(fields=["flow", "-created_at", "-id"], name="triggerevent_flow_idx"),
            models.Index(fields=["status", "redeliver_at"], name="triggerevent_pending_idx"),
            models.Index(fields=["created_at"], name="triggerevent_created_idx"),
            # A company's skipped events, newest first (Power Automate Setup).
            models.Index(
                fields=["company", "status", "-created_at", "-id"],
                name="tevent_company_status_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.flow_id}: {self.summary or self.key}"


class FlowRunDay(models.Model):
    """How many runs of a flow that started on a day ended with a status: what the chart
    on Automate home reads, so it costs the same at any number of runs. Kept up to date in
    the transaction that ends each run."""

    flow = models.ForeignKey(Flow, on_delete=models.CASCADE, related_name="+")
    company = models.ForeignKey("records.Company", on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    status = models.CharField(max_length=12, choices=RunStatus.choices)
    count = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["flow", "day", "status"], name="flowrunday_unique")
        ]
        indexes = [models.Index(fields=["company", "day"], name="flowrunday_company_idx")]

    def __str__(self) -> str:
        return f"{self.flow_id} {self.day} {self.status}: {self.count}"


class StepStatus(models.TextChoices):
    RUNNING = "Running", "Running"
    WAITING = "Waiting", "Waiting"
    SUCCEEDED = "Succeeded", "Succeeded"
    FAILED = "Failed", "Failed"
    SKIPPED = "Skipped", "Skipped"
    TIMED_OUT = "TimedOut", "Timed out"
    CANCELLED = "Cancelled", "Cancelled"


FINISHED_STEP_STATUSES = (
    StepStatus.SUCCEEDED,
    StepStatus.FAILED,
    StepStatus.SKIPPED,
    StepStatus.TIMED_OUT,
    StepStatus.CANCELLED,
)


class StepRun(models.Model):
    """One execution of one step: the activation of a step definition.

    ``path`` names the step instance within the run: the step name, prefixed inside loops
    by the loop and iteration (``Apply_to_each[2]/Send_an_email``). (run, path) is the
    step's idempotency key: a redelivered task finds the row and reuses its outputs.
    """

    run = models.ForeignKey(FlowRun, on_delete=models.CASCADE, related_name="steps")
    path = models.CharField(max_length=500)
    name = models.CharField(max_length=120)
    action = models.CharField(max_length=80)
    position = models.PositiveIntegerField(default=0)
    depth = models.PositiveSmallIntegerField(default=0)
    status = models.CharField(max_length=12, choices=StepStatus.choices)
    inputs = OrderedJSONField(null=True, blank=True)
    outputs = OrderedJSONField(null=True, blank=True)
    error = OrderedJSONField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["run", "position", "pk"]
        constraints = [models.UniqueConstraint(fields=["run", "path"], name="steprun_unique")]

    def __str__(self) -> str:
        return f"{self.run_id}:{self.path}"

    @property
    def duration(self):
        if self.started_at is None or self.finished_at is None:
            return None
        return self.finished_at - self.started_at

    @property
    def is_finished(self) -> bool:
        return self.status in FINISHED_STEP_STATUSES


class SentEmail(models.Model):
    """A mail a flow sent: the Sent Emails page."""

    company = models.ForeignKey("records.Company", on_delete=models.CASCADE, related_name="+")
    run = models.ForeignKey(
        FlowRun, on_delete=models.SET_NULL, null=True, blank=True, related_name="emails"
    )
    # The flow stays known after its runs are pruned: it decides who may see the mail.
    flow = models.ForeignKey(
        Flow, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    step_key = models.CharField(max_length=600, unique=True)
    sender = models.CharField(max_length=254)
    to = models.JSONField(default=list)
    cc = models.JSONField(default=list)
    subject = models.CharField(max_length=998)
    body = models.TextField(blank=True)
    attachment_names = models.JSONField(default=list)
    message_id = models.CharField(max_length=300, blank=True)
    sent_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-sent_at", "-pk"]

    def __str__(self) -> str:
        return self.subject


class Document(models.Model):
    """A file in a document library (SharePoint's), kept on Django's storage."""

    company = models.ForeignKey("records.Company", on_delete=models.CASCADE, related_name="+")
    system_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    library = models.CharField(max_length=120, default="Documents")
    folder = models.CharField(max_length=400, blank=True)
    name = models.CharField(max_length=255)
    file = models.FileField(upload_to="documents/%Y/%m/")
    size = models.PositiveBigIntegerField(default=0)
    content_type = models.CharField(max_length=120, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    flow = models.ForeignKey(
        Flow, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    run = models.ForeignKey(
        FlowRun, on_delete=models.SET_NULL, null=True, blank=True, related_name="documents"
    )
    created_at = models.DateTimeField(default=timezone.now)
    modified_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["library", "folder", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["company", "library", "folder", "name"], name="document_unique_path"
            )
        ]

    def __str__(self) -> str:
        return self.path

    @property
    def path(self) -> str:
        parts = [self.library, self.folder, self.name]
        return "/" + "/".join(p.strip("/") for p in parts if p)


# -- Who may automate, and with whose flows ----------------------------------------------------


class AutomateSetup(models.Model):
    """Power Automate Setup: the organisation-wide switch of one company.

    Without a row the default holds: on for everyone, as in Business Central.
    """

    class Mode(models.TextChoices):
        ON = "on", "On for everyone"
        OFF = "off", "Off for everyone"
        USERS_DECIDE = "users_decide", "Let each user decide"

    company = models.OneToOneField(
        "records.Company", on_delete=models.CASCADE, related_name="automate_setup"
    )
    mode = models.CharField(max_length=12, choices=Mode.choices, default=Mode.ON)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    changed_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.company}: {self.get_mode_display()}"


class AutomateUserAccess(models.Model):
    """One user's Power Automate permission in a company (set by administrators) and their
    own "Get started with Power Automate" opt-in (counts when each user decides).

    Without a row the user is allowed and has not opted in.
    """

    company = models.ForeignKey("records.Company", on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="automate_access"
    )
    allowed = models.BooleanField("Power Automate allowed", default=True)
    opted_in_at = models.DateTimeField(null=True, blank=True)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    changed_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["company", "user"], name="automate_user_access_unique")
        ]

    def __str__(self) -> str:
        return f"{self.user} @ {self.company}: {'allowed' if self.allowed else 'off'}"


class FlowShare(models.Model):
    """A flow shared with another user of its company: a co-owner edits it and sees its
    history; a run-only user runs the instant flow from the Automate group, nothing more."""

    class Role(models.TextChoices):
        CO_OWNER = "co_owner", "Co-owner"
        RUN_ONLY = "run_only", "Run-only user"

    flow = models.ForeignKey(Flow, on_delete=models.CASCADE, related_name="shares")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="flow_shares"
    )
    role = models.CharField(max_length=10, choices=Role.choices)
    added_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    added_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["flow", "user__username"]
        constraints = [models.UniqueConstraint(fields=["flow", "user"], name="flow_share_unique")]
        indexes = [models.Index(fields=["user", "role"], name="flow_share_user_idx")]

    def __str__(self) -> str:
        return f"{self.flow} shared with {self.user} ({self.get_role_display()})"


class PinnedFlowAction(models.Model):
    """An instant flow an administrator placed in an action group of a page, for everyone
    who may run it (a custom action made in the UI rather than in code)."""

    company = models.ForeignKey("records.Company", on_delete=models.CASCADE, related_name="+")
    flow = models.ForeignKey(Flow, on_delete=models.CASCADE, related_name="pins")
    page_key = models.CharField(max_length=80)
    group_key = models.CharField(max_length=40, default="automate")
    label = models.CharField(max_length=80)
    pinned_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    pinned_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["page_key", "group_key", "label", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["flow", "page_key"], name="pinned_flow_action_unique")
        ]
        indexes = [models.Index(fields=["company", "page_key"], name="pinned_action_page_idx")]

    def __str__(self) -> str:
        return f"{self.label} on {self.page_key}"
