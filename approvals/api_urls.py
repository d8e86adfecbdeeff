"""Approval requests over the connector API, mounted at /api/bcsite/approvals/v1.0/."""

from django.urls import path

from approvals import api

_ENTRIES = "companies(<str:company_id>)/approvalRequests"

urlpatterns = [
    path(_ENTRIES, api.ApprovalRequestListView.as_view(), name="api-approval-requests"),
    path(
        f"{_ENTRIES}(<str:entry_id>)",
        api.ApprovalRequestView.as_view(),
        name="api-approval-request",
    ),
    path(
        f"{_ENTRIES}(<str:entry_id>)/Microsoft.NAV.approve",
        api.ApproveView.as_view(),
        name="api-approval-request-approve",
    ),
    path(
        f"{_ENTRIES}(<str:entry_id>)/Microsoft.NAV.reject",
        api.RejectView.as_view(),
        name="api-approval-request-reject",
    ),
]
