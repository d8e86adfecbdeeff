"""Who may use Power Automate, and who may see, edit and run which flows and runs.

Two questions, each answered in one place that everything calls:

- ``automate_refusal(user, company_id)``: may the user use Power Automate in the company at
  all? The company's Power Automate Setup (on for everyone, off for everyone, let each user
  decide) and the user's own permission decide. Views (through ``AutomateAccessMiddleware``),
  the API, the Automate group, custom actions and the triggers of the flows the user owns
  all ask it.
- ``flow_role(request, flow)``: what the user is to a flow. Its owner and co-owners edit it
  and see its whole history; a run-only user runs the instant flow and sees only their own
  runs of it; the company's administrators see and manage every flow of the company.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.db.models import OuterRef, Q, QuerySet, Subquery
from django.http import Http404, HttpRequest

from automate.models import AutomateSetup, AutomateUserAccess, Flow, FlowRun, FlowShare
from records.models import Company, Membership

# What the user is to a flow, from most to least: each may do what the next ones may.
ADMIN, OWNER, CO_OWNER, RUN_ONLY = "admin", "owner", "co_owner", "run_only"
ROLE_LABELS = {
    ADMIN: "Administrator",
    OWNER: "Owner",
    CO_OWNER: "Co-owner",
    RUN_ONLY: "Run-only user",
}
_EDITORS = (ADMIN, OWNER, CO_OWNER)
_REQUEST_CACHE = "_automate_refusal"


def is_company_admin(request: HttpRequest) -> bool:
    return bool(getattr(request, "is_company_admin", False))


def flows_for(request: HttpRequest) -> QuerySet[Flow]:
    """The flows of the request's company that the user may see: all of them for an
    administrator, else the ones they own or that are shared with them (in any role)."""
    flows = Flow.objects.filter(company=request.company)
    if not is_company_admin(request):
        flows = flows.filter(Q(owner=request.user) | Q(pk__in=_shared_flow_ids(request.user)))
    return flows


def editable_flows_for(request: HttpRequest) -> QuerySet[Flow]:
    """The flows the user may edit and whose whole history they see."""
    flows = Flow.objects.filter(company=request.company)
    if not is_company_admin(request):
        co_owned = _shared_flow_ids(request.user, FlowShare.Role.CO_OWNER)
        flows = flows.filter(Q(owner=request.user) | Q(pk__in=co_owned))
    return flows


def runs_for(request: HttpRequest) -> QuerySet[FlowRun]:
    """The runs the user may see: every run of the flows they own or co-own, and their own
    runs of the flows shared with them to run (all runs, for an administrator)."""
    runs = FlowRun.objects.filter(company=request.company)
    if not is_company_admin(request):
        run_only = _shared_flow_ids(request.user, FlowShare.Role.RUN_ONLY)
        runs = runs.filter(
            Q(flow__in=own_flow_ids(request)) | Q(flow__in=run_only, triggered_by=request.user)
        )
    return runs


def own_flow_ids(request: HttpRequest) -> QuerySet:
    """The flows whose whole history the user sees (owned or co-owned), as a subquery. A
    subquery rather than a join: SQLite then keeps to the runs' own indexes when a page's
    cursor adds its conditions."""
    co_owned = _shared_flow_ids(request.user, FlowShare.Role.CO_OWNER)
    return Flow.objects.filter(Q(owner=request.user) | Q(pk__in=co_owned)).values("pk")


def _shared_flow_ids(user, role: str | None = None) -> QuerySet:
    shares = FlowShare.objects.filter(user=user)
    if role is not None:
        shares = shares.filter(role=role)
    return shares.values("flow_id")


def flow_role(request: HttpRequest, flow: Flow) -> str | None:
    """What the request's user is to ``flow`` (``ADMIN`` wins over the rest), or None."""
    if flow.company_id != getattr(request.company, "pk", None):
        return None
    if is_company_admin(request):
        return ADMIN
    return user_flow_role(request.user, flow)


def user_flow_role(user, flow: Flow) -> str | None:
    """What ``user`` is to ``flow`` by ownership and sharing alone (no administrators)."""
    if flow.owner_id == user.pk:
        return OWNER
    # Lists annotate it (``shared_role``) so that rows cost no query each.
    if hasattr(flow, "shared_role"):
        return flow.shared_role or None
    share = FlowShare.objects.filter(flow=flow, user=user).values_list("role", flat=True).first()
    return share or None


def may_edit(role: str | None) -> bool:
    return role in _EDITORS


def get_flow_for_user(request: HttpRequest, pk: int, *, edit: bool = True) -> Flow:
    """The flow ``pk`` if the user may see it (404 otherwise). With ``edit`` (the default:
    the designer, switching, deleting, sharing, the whole history) a run-only user gets
    403 saying who owns the flow."""
    try:
        flow = flows_for(request).select_related("owner", "current_version").get(pk=pk)
    except Flow.DoesNotExist:
        raise Http404("No such flow.") from None
    flow.role = flow_role(request, flow)
    if edit and not may_edit(flow.role):
        raise PermissionDenied(
            f"{flow.name} is shared with you to run only. Its owner "
            f"{flow.owner.get_full_name() or flow.owner.get_username()} can make you a "
            "co-owner to edit it or see its history."
        )
    return flow


def get_run_for_user(request: HttpRequest, pk: int) -> FlowRun:
    try:
        return runs_for(request).select_related("flow", "version", "triggered_by").get(pk=pk)
    except FlowRun.DoesNotExist:
        raise Http404("No such run.") from None


# -- Power Automate's switch -------------------------------------------------------------------


def automate_refusal(user, company_id: int) -> str | None:
    """Why ``user`` may not use Power Automate in the company, or None when they may.

    The one place that decides. Views, the API, the Automate group and custom actions
    refuse with its message; flows of a user it refuses do not start, and the skipped
    event keeps the reason.
    """
    name = user.get_username()
    if not user.is_active:
        return f"The flow's owner {name} is no longer an active user."
    # One query: the membership, the company's setup and the user's own access.
    access = AutomateUserAccess.objects.filter(company_id=OuterRef("company_id"), user=user)
    fields = ("company__display_name", "company__name", "mode", "allowed", "opted_in_at")
    row = (
        Membership.objects.filter(user=user, company_id=company_id)
        .annotate(
            mode=Subquery(
                AutomateSetup.objects.filter(company_id=OuterRef("company_id")).values("mode")
            ),
            allowed=Subquery(access.values("allowed")),
            opted_in_at=Subquery(access.values("opted_in_at")),
        )
        .values_list(*fields)
        .first()
    )
    if row is None:
        if not user.is_superuser:
            return f"The flow's owner {name} is no longer a user of the company."
        row = _superuser_row(user, company_id)
    display_name, company_name, mode, allowed, opted_in_at = row
    # "CRONUS USA, Inc." ends its own sentence.
    company_name = (display_name or company_name or "this company").rstrip(".")
    mode = mode or AutomateSetup.Mode.ON
    if mode == AutomateSetup.Mode.OFF:
        return (
            f"Power Automate is turned off for everyone in {company_name}. "
            f"{_who_can_turn_it_on(company_id)} can turn it on in Power Automate Setup."
        )
    if allowed is not None and not allowed:
        return (
            f"Power Automate is turned off for {name} in {company_name}. "
            f"{_who_can_turn_it_on(company_id)} can turn it on in Power Automate Setup."
        )
    if mode == AutomateSetup.Mode.USERS_DECIDE and opted_in_at is None:
        return (
            f"{name} has not started using Power Automate in {company_name}. Choose "
            "Get started with Power Automate (in the Automate group, or under Power "
            "Automate) to turn it on for yourself."
        )
    return None


def _superuser_row(user, company_id: int) -> tuple:
    """What ``automate_refusal`` reads, for a superuser who is no member of the company."""
    names = Company.objects.filter(pk=company_id).values_list("display_name", "name").first()
    mode = AutomateSetup.objects.filter(company_id=company_id).values_list("mode", flat=True)
    access = (
        AutomateUserAccess.objects.filter(company_id=company_id, user=user)
        .values_list("allowed", "opted_in_at")
        .first()
    )
    return (*(names or ("", "")), mode.first(), *(access or (None, None)))


def request_automate_refusal(request: HttpRequest) -> str | None:
    """``automate_refusal`` for the request's user and company, asked once per request."""
    if _REQUEST_CACHE not in request.__dict__:
        company = getattr(request, "company", None)
        user = getattr(request, "user", None)
        if company is None or user is None or not user.is_authenticated:
            refusal = "Sign in and choose a company to use Power Automate."
        else:
            refusal = automate_refusal(user, company.pk)
        request.__dict__[_REQUEST_CACHE] = refusal
    return request.__dict__[_REQUEST_CACHE]


def needs_opt_in(request: HttpRequest) -> bool:
    """Whether the only thing between the user and Power Automate is their own opt-in."""
    company = getattr(request, "company", None)
    if company is None or not request_automate_refusal(request):
        return False
    mode = (
        AutomateSetup.objects.filter(company=company).values_list("mode", flat=True).first()
        or AutomateSetup.Mode.ON
    )
    if mode != AutomateSetup.Mode.USERS_DECIDE:
        return False
    return not AutomateUserAccess.objects.filter(
        company=company, user=request.user, allowed=False
    ).exists()


def _who_can_turn_it_on(company_id: int) -> str:
    admins = list(
        Membership.objects.filter(company_id=company_id, role=Membership.Role.ADMIN)
        .order_by("user__username")
        .values_list("user__username", flat=True)[:3]
    )
    if not admins:
        return "An administrator of the company"
    return "A company administrator (" + ", ".join(admins) + ")"


def automate_exempt(view):
    """Mark a Power Automate view that works while Power Automate is off for the user: its
    setup, the opt-in page, and endpoints that check the flow owner's access themselves."""
    view.automate_exempt = True
    return view


class AutomateAccessMiddleware:
    """Every view of the automate namespace answers 403 with the reason when Power Automate
    is off for the user; views marked ``automate_exempt`` check for themselves."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        match = request.resolver_match
        if match is None or "automate" not in match.namespaces:
            return None
        if getattr(view_func, "automate_exempt", False):
            return None
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated or getattr(request, "company", None) is None:
            return None  # the view's own decorator sends them to sign in or says why not
        refusal = request_automate_refusal(request)
        if refusal:
            raise PermissionDenied(refusal)
        return None
