"""Which company an API call may reach, and with which role.

Every API view that takes ``companies(<id>)`` starts with ``api_company(request, key)``:

- a browser session reaches the companies its user is a member of;
- a personal token reaches its own company only (and only while its user is still a member);
- a service client reaches its own company only.

Anything else is "not found", worded the same whether the company exists or not, so a
caller cannot probe for other companies' ids.
"""

from __future__ import annotations

import uuid

from rest_framework.exceptions import NotAuthenticated, NotFound

from bcsite.models import ApiToken
from records.models import Company, Membership

_CACHE_ATTR = "_api_company_roles"


def api_company(request, company_key) -> Company:
    """The company ``companies(<company_key>)`` names, if the caller may reach it.

    ``company_key`` is what BC puts in the parentheses: the company's id (its system id,
    with or without quotes or braces), or its name, quoted as OData quotes strings
    (``'CRONUS'``, ``name='CRONUS'``).
    """
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        raise NotAuthenticated()
    company = _find_company(company_key)
    if company is None or _scoped_company_id(request) not in (None, company.pk):
        raise _not_found(company_key)
    role = _membership_role(request, company)
    if role is None:
        raise _not_found(company_key)
    return company


def api_role(request, company: Company) -> str | None:
    """The caller's role in ``company`` (``Membership.Role``), None if they have none.

    A service client acts with its own role; a personal token and a session with their
    user's membership, where a superuser counts as an administrator (as on the pages).
    """
    if _scoped_company_id(request) not in (None, company.pk):
        return None
    return _membership_role(request, company)


def api_companies(request):
    """The companies the caller may reach, for ``GET /api/v2.0/companies``."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return Company.objects.none()
    companies = Company.objects.filter(memberships__user=user)
    scoped = _scoped_company_id(request)
    if scoped is not None:
        companies = companies.filter(pk=scoped)
    return companies.order_by("name")


def _scoped_company_id(request) -> int | None:
    """The one company a token or a service client is bound to; None for a session."""
    auth = getattr(request, "auth", None)
    if isinstance(auth, ApiToken):
        return auth.company_id
    application = getattr(auth, "application", None) if auth is not None else None
    client = getattr(application, "service_client", None) if application is not None else None
    if client is not None:
        return client.company_id
    if auth is not None and not isinstance(auth, ApiToken):
        # An authentication we do not know binds to no company we could check: refuse all.
        return -1
    return None


def _membership_role(request, company: Company) -> str | None:
    cache = getattr(request, _CACHE_ATTR, None)
    if cache is None:
        cache = {}
        setattr(request, _CACHE_ATTR, cache)
    if company.pk not in cache:
        user = request.user
        role = (
            Membership.objects.filter(user=user, company=company)
            .values_list("role", flat=True)
            .first()
        )
        client = _service_client(request)
        if role is not None and client is not None:
            # The client's role is what it was given, whatever its user's membership says.
            role = client.role
        elif role is not None and user.is_superuser:
            role = Membership.Role.ADMIN
        cache[company.pk] = role
    return cache[company.pk]


def _service_client(request):
    auth = getattr(request, "auth", None)
    application = getattr(auth, "application", None) if auth is not None else None
    return getattr(application, "service_client", None) if application is not None else None


def _find_company(company_key) -> Company | None:
    if isinstance(company_key, Company):
        return company_key
    key = str(company_key or "").strip()
    if key.startswith("name="):
        key = key[len("name=") :].strip()
    if len(key) >= 2 and key[0] == key[-1] == "'":
        key = key[1:-1].replace("''", "'")
    if not key or "\x00" in key:
        return None  # PostgreSQL text cannot hold NUL: no company has such a name
    try:
        system_id = uuid.UUID(key.strip("{}"))
    except ValueError:
        return Company.objects.filter(name=key).first()
    return Company.objects.filter(system_id=system_id).first()


def _not_found(company_key) -> NotFound:
    return NotFound(
        f"The company {str(company_key)[:100]!r} does not exist, or you have no access to it."
    )
