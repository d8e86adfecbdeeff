from django.apps import AppConfig


class RecordsConfig(AppConfig):
    name = "records"
    verbose_name = "Records"

    def ready(self) -> None:
        # Importing declares the pages, the tables and the role centre's cues in the registry.
        from records import cues, events, pages, tables  # noqa: F401
