"""Sharing a flow, and reassigning a leaving user's flows, under /automate/."""

from django.urls import path

from automate.views import sharing

urlpatterns = [
    path("flows/<int:pk>/share/", sharing.flow_share_view, name="flow-share"),
    path(
        "setup/users/<int:user_id>/reassign/",
        sharing.flows_reassign_view,
        name="flows-reassign",
    ),
]
