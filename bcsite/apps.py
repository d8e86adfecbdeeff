from django.apps import AppConfig


class BcsiteConfig(AppConfig):
    name = "bcsite"
    verbose_name = "Platform"
