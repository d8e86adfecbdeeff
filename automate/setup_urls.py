"""Power Automate Setup and Get started with Power Automate, under /automate/ (the app's
urls.py names the namespace)."""

from django.urls import path

from automate.views import setup

urlpatterns = [
    path("setup/", setup.setup_view, name="setup"),
    path("setup/mode/", setup.setup_mode, name="setup-mode"),
    path("setup/users/", setup.setup_users, name="setup-users"),
    path("get-started/", setup.get_started, name="get-started"),
    path("get-started/stop/", setup.opt_out, name="opt-out"),
]
