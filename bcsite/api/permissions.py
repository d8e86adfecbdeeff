"""Permission classes the API's views share."""

from __future__ import annotations

from rest_framework.permissions import BasePermission

from bcsite.api.access import api_company, api_role
from records.models import Membership

# The URL keyword that carries BC's companies(<id>), in the order the views name it.
COMPANY_KWARGS = ("company_id", "company_key", "company")


def view_company(request, view):
    """The company of the view's URL, checked with ``api_company`` (404 for others)."""
    company = getattr(view, "company", None)
    if company is not None:
        return company
    key = next((view.kwargs[k] for k in COMPANY_KWARGS if k in view.kwargs), None)
    if key is None:
        return None
    company = api_company(request, key)
    # The view may reuse it rather than look it up again.
    view.company = company
    return company


class PowerAutomateAllowed(BasePermission):
    """Power Automate's switch, on the flows endpoints: a caller whom it refuses gets 403 with
    the reason. The view's URL names the company (see ``COMPANY_KWARGS``), or the view sets
    ``view.company`` before permissions are checked."""

    message = "Power Automate is not available to you in this company."

    def has_permission(self, request, view) -> bool:
        user = request.user
        if user is None or not user.is_authenticated:
            return False
        company = view_company(request, view)
        if company is None:
            return False
        # bcsite may not import automate at module level (automate depends on bcsite, not
        # the other way round), and automate_refusal is the one place that decides.
        from automate.access import automate_refusal

        refusal = automate_refusal(user, company.pk)
        if refusal:
            self.message = refusal
            return False
        return True


class CompanyAdmin(BasePermission):
    """Administrators of the URL's company only (a service client with the admin role is one)."""

    message = "Only administrators of the company may do this."

    def has_permission(self, request, view) -> bool:
        if request.user is None or not request.user.is_authenticated:
            return False
        company = view_company(request, view)
        return company is not None and api_role(request, company) == Membership.Role.ADMIN
