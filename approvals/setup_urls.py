"""The approval setup pages, under /approvals/: Approval User Setup, Workflows, Workflow User
Groups."""

from django.urls import path

from approvals.views import setup

urlpatterns = [
    path("user-setup/", setup.user_setup_list, name="user-setup"),
    path("user-setup/new/", setup.user_setup_new, name="user-setup-new"),
    path("user-setup/<int:pk>/", setup.user_setup_edit, name="user-setup-edit"),
    path("user-setup/<int:pk>/delete/", setup.user_setup_delete, name="user-setup-delete"),
    path("workflows/", setup.workflow_list, name="workflow-list"),
    path("workflows/reset/", setup.workflows_reset_view, name="workflows-reset"),
    path("workflows/<int:pk>/", setup.workflow_card, name="workflow-card"),
    path("workflows/<int:pk>/enabled/", setup.workflow_enabled, name="workflow-enabled"),
    path("workflow-user-groups/", setup.group_list, name="workflow-group-list"),
    path("workflow-user-groups/new/", setup.group_new, name="workflow-group-new"),
    path("workflow-user-groups/<int:pk>/", setup.group_card, name="workflow-group-card"),
    path(
        "workflow-user-groups/<int:pk>/delete/",
        setup.group_delete,
        name="workflow-group-delete",
    ),
]
