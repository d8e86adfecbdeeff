"""Business Events and Runs in progress, under /automate/."""

from django.urls import path

from automate.views import operations

urlpatterns = [
    path("business-events/", operations.business_event_list, name="business-events"),
    path("runs/in-progress/", operations.runs_in_progress, name="runs-in-progress"),
]
