"""Approvals in the navigation bar: the requests for everyone, the setup for administrators."""

from django.urls import reverse

from bcsite.registry import NavEntry, registry

GROUP = "Approvals"


def _is_company_admin(request) -> bool:
    return bool(getattr(request, "is_company_admin", False))


# Everyone's pages: what waits for my approval, and the history of requests.
for order, title, name in (
    (10, "Requests to Approve", "approvals:requests-to-approve"),
    (20, "Approval Entries", "approvals:entries"),
):
    registry.register_nav_entry(
        NavEntry(group=GROUP, title=title, url=lambda name=name: reverse(name), order=order)
    )

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
