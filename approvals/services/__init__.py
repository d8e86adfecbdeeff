"""The services of approvals: views, API views, flows and tasks call these alike.

They raise ValidationError to refuse and PermissionDenied when the user may not act.
"""

from approvals.services.overdue import approvals_overdue_process
from approvals.services.requests import (
    approval_comment_add,
    approval_entries_approve,
    approval_entry_approve,
    approval_entry_delegate,
    approval_entry_reject,
    approval_entry_respond,
    approval_guard,
    approval_request_cancel,
    approval_request_cancel_for,
    approval_request_send,
    approver_levels,
    decision_refusal,
    flow_approval_expire,
    flow_approval_result,
    flow_approval_start,
    flow_entry_respond,
    hold_change,
    is_approval_administrator,
    open_request,
    restrict_new_record,
    workflow_for,
)
from approvals.services.setup import (
    approval_user_setup_delete,
    approval_user_setup_save,
    workflow_user_group_save,
)
from approvals.services.workflows import (
    workflow_set_enabled,
    workflow_update,
    workflows_install,
    workflows_reset,
)

__all__ = [
    "approval_comment_add",
    "approval_entries_approve",
    "approval_entry_approve",
    "approval_entry_delegate",
    "approval_entry_reject",
    "approval_entry_respond",
    "approval_guard",
    "approval_request_cancel",
    "approval_request_cancel_for",
    "approval_request_send",
    "approval_user_setup_delete",
    "approval_user_setup_save",
    "approvals_overdue_process",
    "approver_levels",
    "decision_refusal",
    "flow_approval_expire",
    "flow_approval_result",
    "flow_approval_start",
    "flow_entry_respond",
    "hold_change",
    "is_approval_administrator",
    "open_request",
    "restrict_new_record",
    "workflow_for",
    "workflow_set_enabled",
    "workflow_update",
    "workflow_user_group_save",
    "workflows_install",
    "workflows_reset",
]
