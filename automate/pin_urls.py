"""Pinned flow actions, under /automate/ (the app's urls.py names the namespace)."""

from django.urls import path

from automate.views import pins

urlpatterns = [
    path("pinned-actions/", pins.pinned_actions, name="pinned-actions"),
    path("pinned-actions/<int:pk>/unpin/", pins.pinned_action_unpin, name="pinned-action-unpin"),
]
