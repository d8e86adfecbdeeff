"""What every page's shell needs: the company, the user's companies, the navigation bar."""

from __future__ import annotations

from dataclasses import dataclass

from django.http import HttpRequest

from bcsite.registry import registry

# Groups named here come first, in this order; any other group follows, by name.
NAV_GROUP_ORDER = ("Sales", "Purchasing", "Inventory", "Finance", "Approvals", "Automate")


@dataclass(frozen=True)
class NavLink:
    title: str
    url: str
    active: bool


@dataclass(frozen=True)
class NavGroup:
    name: str
    links: list[NavLink]


def _group_rank(name: str) -> tuple[int, str]:
    try:
        return (NAV_GROUP_ORDER.index(name), name)
    except ValueError:
        return (len(NAV_GROUP_ORDER), name)


def navigation(request: HttpRequest) -> list[NavGroup]:
    """Links to the list pages that name a navigation group and that the user may open."""
    groups: dict[str, list] = {}
    for page in registry.pages.values():
        if page.kind == "list" and page.nav_group and page.allows(request):
            groups.setdefault(page.nav_group, []).append(page)
    path = request.path
    result = []
    for name in sorted(groups, key=_group_rank):
        links = []
        for page in sorted(groups[name], key=lambda p: (p.nav_order, p.title)):
            url = page.list_url()
            links.append(NavLink(title=page.title, url=url, active=path.startswith(url)))
        result.append(NavGroup(name=name, links=links))
    return result


def shell(request: HttpRequest) -> dict:
    company = getattr(request, "company", None)
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"company": None, "user_memberships": [], "nav_groups": []}
    return {
        "company": company,
        # Lazy: only pages that show the company switcher pay for the query.
        "user_memberships": user.memberships.select_related("company").order_by("company__name"),
        "nav_groups": navigation(request) if company is not None else [],
    }
