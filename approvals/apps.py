from django.apps import AppConfig


class ApprovalsConfig(AppConfig):
    name = "approvals"
    verbose_name = "Approvals"

    def ready(self) -> None:
        from django.db.models.signals import post_save

        # Importing registers the links, the Request Approval group, the cue and the FactBox.
        from approvals import action_group, cues, factboxes, nav, services  # noqa: F401
        from approvals.demo import approvals_demo_seed
        from bcsite.registry import registry
        from records.models import Customer, Item

        # A pending approval or a restriction refuses changes and uses of the record, and
        # change approval workflows hold back the changes they apply to.
        registry.register_record_guard(services.approval_guard)
        registry.register_change_holder(services.hold_change)
        registry.register_demo_seeder(approvals_demo_seed)
        _register_table_actions(registry)
        for model in (Customer, Item):
            post_save.connect(
                _restrict_new, sender=model, dispatch_uid=f"approvals.restrict_new.{model.__name__}"
            )


def _restrict_new(sender, instance, created, raw=False, **kwargs) -> None:
    if created and not raw:
        from approvals.services import restrict_new_record

        restrict_new_record(instance)


def _register_table_actions(registry) -> None:
    """Send and Cancel Approval Request, for flows' Run action and the API's bound actions."""
    from approvals.documents import APPROVABLES
    from approvals.services import approval_request_cancel_for, approval_request_send

    def send(record, user):
        approval_request_send(record=record, user=user)
        record.refresh_from_db()
        return record

    def cancel(record, user):
        approval_request_cancel_for(record=record, user=user)
        record.refresh_from_db()
        return record

    for table_id in APPROVABLES:
        table = registry.tables.get(table_id)
        if table is not None:
            table.actions.setdefault("sendApprovalRequest", send)
            table.actions.setdefault("cancelApprovalRequest", cancel)
