"""Requests to Approve, the confirmation page of mail links, Approval Entries, a request."""

from django.urls import path

from approvals.views import requests

urlpatterns = [
    path("requests/", requests.requests_to_approve, name="requests-to-approve"),
    path("requests/approve/", requests.requests_approve, name="requests-approve"),
    path("requests/<int:pk>/", requests.request_detail, name="request-detail"),
    path("requests/<int:pk>/comments/", requests.request_comment, name="request-comment"),
    path("entries/", requests.entry_list, name="entries"),
    path("entries/<int:pk>/decide/", requests.entry_decide, name="entry-decide"),
]
