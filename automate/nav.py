"""Power Automate's links in the navigation bar."""

from django.urls import reverse

from bcsite.registry import NavEntry, registry

GROUP = "Power Automate"

for order, title, name in (
    (10, "Automate", "automate:home"),
    (20, "My flows", "automate:flow-list"),
    (30, "Templates", "automate:gallery"),
    (40, "Run history", "automate:run-list"),
    (45, "Runs in progress", "automate:runs-in-progress"),
    (80, "Business Events", "automate:business-events"),
):
    registry.register_nav_entry(
        NavEntry(group=GROUP, title=title, url=lambda name=name: reverse(name), order=order)
    )
