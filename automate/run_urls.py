"""Automate home, run history, run pages and the templates gallery, under /automate/."""

from django.urls import path

from automate.views import gallery, home, runs

urlpatterns = [
    path("", home.automate_home, name="home"),
    path("runs/", runs.run_list, name="run-list"),
    path("runs/progress/", runs.run_progress, name="run-progress"),
    path("runs/<int:pk>/", runs.run_detail, name="run-detail"),
    path("runs/<int:pk>/cancel/", runs.run_cancel, name="run-cancel"),
    path("runs/<int:pk>/resubmit/", runs.run_resubmit, name="run-resubmit"),
    path("flows/<int:pk>/runs/", runs.flow_runs, name="flow-runs"),
    path("templates/", gallery.gallery_view, name="gallery"),
    path("templates/<slug:key>/use/", gallery.template_use, name="template-use"),
]
