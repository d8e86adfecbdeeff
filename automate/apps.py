from django.apps import AppConfig


class AutomateConfig(AppConfig):
    name = "automate"
    verbose_name = "Power Automate"

    def ready(self) -> None:
        # Importing registers the navigation, the Automate action group, the role centre's
        # cue and the Sent Emails and Documents pages with bcsite's registry.
        from automate import automate_group, cues, library_pages, nav  # noqa: F401
        from automate.services import approval_flows, triggers

        # Record changes and business events start automated flows.
        triggers.connect()
        # Approval requests start approval flows, and decisions wake the runs that wait.
        approval_flows.connect()
