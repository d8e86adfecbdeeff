from django.apps import AppConfig


class AutomateConfig(AppConfig):
    name = "automate"
    verbose_name = "Power Automate"
