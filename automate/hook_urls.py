"""The URL HTTP-triggered flows are called at, and their keys, under /automate/."""

from django.urls import path

from automate.views import hooks

urlpatterns = [
    path("hooks/<str:flow_id>/", hooks.hook_receive, name="hook"),
    path("flows/<int:pk>/http-keys/", hooks.http_keys_regenerate_view, name="flow-http-keys"),
]
