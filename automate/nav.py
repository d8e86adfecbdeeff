"""Power Automate's links in the navigation bar.

The links follow Power Automate's switch (``request_automate_refusal``): where it is off for
the user there are none, or only "Get started with Power Automate" when the user has only
to opt in. Administrators always see Power Automate Setup, where the switch is.
"""

from django.http import HttpRequest
from django.urls import reverse

from automate.access import is_company_admin, needs_opt_in, request_automate_refusal
from bcsite.registry import NavEntry, registry

GROUP = "Power Automate"


def may_automate(request: HttpRequest) -> bool:
    return request_automate_refusal(request) is None


def may_get_started(request: HttpRequest) -> bool:
    return request_automate_refusal(request) is not None and needs_opt_in(request)


for order, title, name in (
    (10, "Automate", "automate:home"),
    (20, "My flows", "automate:flow-list"),
    (30, "Templates", "automate:gallery"),
    (40, "Run history", "automate:run-list"),
    (45, "Runs in progress", "automate:runs-in-progress"),
    (80, "Business Events", "automate:business-events"),
):
    registry.register_nav_entry(
        NavEntry(
            group=GROUP,
            title=title,
            url=lambda name=name: reverse(name),
            order=order,
            allowed=may_automate,
        )
    )

registry.register_nav_entry(
    NavEntry(
        group=GROUP,
        title="Get started with Power Automate",
        url=lambda: reverse("automate:get-started"),
        order=5,
        allowed=may_get_started,
    )
)
registry.register_nav_entry(
    NavEntry(
        group=GROUP,
        title="Power Automate Setup",
        url=lambda: reverse("automate:setup"),
        order=90,
        allowed=is_company_admin,
    )
)
