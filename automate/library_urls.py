from django.urls import path

from automate import library_views

urlpatterns = [
    path(
        "documents/<int:pk>/download/",
        library_views.document_download,
        name="document-download",
    ),
]
