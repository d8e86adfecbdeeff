"""Who may see and change which flows and runs: one place, every view calls it.

A flow belongs to its owner; the company's administrators may see and manage every flow
of the company. Runs follow their flow.
"""

from __future__ import annotations

from django.db.models import QuerySet
from django.http import Http404, HttpRequest

from automate.models import Flow, FlowRun
from records.models import Membership


def is_company_admin(request: HttpRequest) -> bool:
    return bool(getattr(request, "is_company_admin", False))


def flows_for(request: HttpRequest) -> QuerySet[Flow]:
    """The flows of the request's company that the user may see."""
    flows = Flow.objects.filter(company=request.company)
    if not is_company_admin(request):
        flows = flows.filter(owner=request.user)
    return flows


def runs_for(request: HttpRequest) -> QuerySet[FlowRun]:
    runs = FlowRun.objects.filter(company=request.company)
    if not is_company_admin(request):
        runs = runs.filter(flow__in=own_flow_ids(request))
    return runs


def own_flow_ids(request: HttpRequest) -> QuerySet:
    """The user's flows as a subquery. A subquery rather than a join: SQLite then keeps to
    the runs' own indexes when a page's cursor adds its conditions."""
    return Flow.objects.filter(owner=request.user).values("pk")


def get_flow_for_user(request: HttpRequest, pk: int) -> Flow:
    try:
        return flows_for(request).select_related("owner", "current_version").get(pk=pk)
    except Flow.DoesNotExist:
        raise Http404("No such flow.") from None


def get_run_for_user(request: HttpRequest, pk: int) -> FlowRun:
    try:
        return runs_for(request).select_related("flow", "version", "triggered_by").get(pk=pk)
    except FlowRun.DoesNotExist:
        raise Http404("No such run.") from None


def automate_refusal(user, company_id: int) -> str | None:
    """Why ``user`` may not use Power Automate in the company, or None when they may.

    The one place that decides; flows of a user it refuses do not start, and the skipped
    event keeps the reason.
    """
    name = user.get_username()
    if not user.is_active:
        return f"The flow's owner {name} is no longer an active user."
    if (
        not user.is_superuser
        and not Membership.objects.filter(user=user, company_id=company_id).exists()
    ):
        return f"The flow's owner {name} is no longer a user of the company."
    return None
