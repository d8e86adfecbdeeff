from django.urls import include, path

app_name = "approvals"

urlpatterns = [
    path("", include("approvals.setup_urls")),
    path("", include("approvals.request_urls")),
]
