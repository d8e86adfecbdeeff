"""What every page's shell needs: the company, the user's companies, the navigation bar."""

from __future__ import annotations

from dataclasses import dataclass

from django.http import HttpRequest

from bcsite.registry import registry

# Groups named here come first, in this order; any other group follows, by name.
NAV_GROUP_ORDER = (
    "Sales",
    "Purchasing",
    "Inventory",
    "Finance",
    "Approvals",
    "Power Automate",
    "Settings",
)


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
    # (order, title, url) per group, from list pages and from other registered views.
    groups: dict[str, list[tuple[int, str, str]]] = {}
    for page in registry.pages.values():
        if page.kind == "list" and page.nav_group and page.allows(request):
            groups.setdefault(page.nav_group, []).append(
                (page.nav_order, page.title, page.list_url())
            )
    for entry in registry.nav_entries:
        if entry.allowed is None or entry.allowed(request):
            groups.setdefault(entry.group, []).append((entry.order, entry.title, entry.url()))
    path = request.path
    # Of two links that both lead above the page (Run history, Runs in progress), the
    # closer one is the page's.
    matching = [
        url for entries in groups.values() for _, _, url in entries if _is_active(path, url)
    ]
    active = max(matching, key=len, default=None)
    result = []
    for name in sorted(groups, key=_group_rank):
        links = [
            NavLink(title=title, url=url, active=url == active)
            for _order, title, url in sorted(groups[name], key=lambda e: (e[0], e[1]))
        ]
        result.append(NavGroup(name=name, links=links))
    return result


def _is_active(path: str, url: str) -> bool:
    # "/automate/" must not light up on every page below it that has its own link.
    return path == url if url.rstrip("/").count("/") <= 1 else path.startswith(url)


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
