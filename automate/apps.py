from django.apps import AppConfig


class AutomateConfig(AppConfig):
    name = "automate"
    verbose_name = "Power Automate"

    def ready(self) -> None:
        # Importing registers the navigation, the Automate action group, the role centre's
        # cue, the Sent Emails and Documents pages and what fulfils custom actions and
        # pinned flow actions with bcsite's registry (custom_actions imports the Automate
        # group first, so a flow pinned to it joins the group's end).
        from automate import automate_group, cues, custom_actions, library_pages, nav  # noqa: F401
        from automate.demo import automate_demo_seed
        from automate.services import approval_flows, triggers
        from bcsite.registry import registry

        # Record changes and business events start automated flows.
        triggers.connect()
        # Approval requests start approval flows, and decisions wake the runs that wait.
        approval_flows.connect()
        registry.register_demo_seeder(automate_demo_seed)
