"""The approval setup pages in the navigation bar, for the company's administrators."""

from django.urls import reverse

from bcsite.registry import NavEntry, registry

GROUP = "Approvals"


def _is_company_admin(request) -> bool:
    return bool(getattr(request, "is_company_admin", False))


for order, title, name in (
    (50, "Approval User Setup", "approvals:user-setup"),
    (60, "Workflows", "approvals:workflow-list"),
    (70, "Workflow User Groups", "approvals:workflow-group-list"),
):
    registry.register_nav_entry(
        NavEntry(
            group=GROUP,
            title=title,
            url=lambda name=name: reverse(name),
            order=order,
            allowed=_is_company_admin,
        )
    )
