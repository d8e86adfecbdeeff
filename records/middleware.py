from records.models import Company

SESSION_KEY = "company_id"


def company_for(request) -> Company | None:
    """The company the signed-in user works in: the one chosen in the session, else the first."""
    user = request.user
    if not user.is_authenticated:
        return None
    companies = Company.objects.filter(memberships__user=user).order_by("name")
    chosen = request.session.get(SESSION_KEY)
    if chosen is not None:
        company = companies.filter(pk=chosen).first()
        if company is not None:
            return company
    return companies.first()


class CompanyMiddleware:
    """Sets ``request.company`` (None for anonymous users and users of no company)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.company = company_for(request)
        return self.get_response(request)
