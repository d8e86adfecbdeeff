from django.db.models import F

from records.models import Company, Membership

SESSION_KEY = "company_id"


def company_for(request) -> Company | None:
    """The company the signed-in user works in: the one chosen in the session, else the first."""
    user = request.user
    if not user.is_authenticated:
        return None
    # The role comes along through the membership join the filter already makes.
    companies = (
        Company.objects.filter(memberships__user=user)
        .annotate(user_role=F("memberships__role"))
        .order_by("name")
    )
    chosen = request.session.get(SESSION_KEY)
    if chosen is not None:
        company = companies.filter(pk=chosen).first()
        if company is not None:
            return company
    return companies.first()


class CompanyMiddleware:
    """Sets ``request.company`` (None for anonymous users and users of no company) and
    ``request.is_company_admin`` (an administrator of that company, or a superuser)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.company = company = company_for(request)
        request.is_company_admin = company is not None and (
            request.user.is_superuser or company.user_role == Membership.Role.ADMIN
        )
        return self.get_response(request)
