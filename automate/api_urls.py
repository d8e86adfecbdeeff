"""Flows and runs over the connector API, mounted at /api/bcsite/automate/v1.0/."""

from django.urls import path

from automate import api

_COMPANY = "companies(<str:company_id>)"

urlpatterns = [
    path(f"{_COMPANY}/flows", api.FlowListView.as_view(), name="api-flows"),
    path(f"{_COMPANY}/flows(<str:flow_id>)", api.FlowView.as_view(), name="api-flow"),
    path(
        f"{_COMPANY}/flows(<str:flow_id>)/Microsoft.NAV.run",
        api.FlowRunStartView.as_view(),
        name="api-flow-run",
    ),
    path(
        f"{_COMPANY}/flows(<str:flow_id>)/runs",
        api.FlowRunsOfFlowView.as_view(),
        name="api-flow-runs",
    ),
    path(f"{_COMPANY}/flowRuns", api.FlowRunListView.as_view(), name="api-flow-run-list"),
    path(
        f"{_COMPANY}/flowRuns(<str:run_id>)", api.FlowRunView.as_view(), name="api-flow-run-detail"
    ),
]
