from django.apps import AppConfig


class BcsiteConfig(AppConfig):
    name = "bcsite"
    verbose_name = "Platform"

    def ready(self) -> None:
        from bcsite import views_audit
        from bcsite.api import views_auth
        from bcsite.api.webhook_events import connect as connect_webhooks

        # API Tokens and Service Clients under Settings in the navigation.
        views_auth.register_navigation()
        # Audit Log under Settings, for company administrators.
        views_audit.register_navigation()
        # Record changes and business events notify webhook and business event subscribers
        # (this also registers the delivery tasks with workers).
        connect_webhooks()
