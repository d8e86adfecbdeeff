from django.urls import include, path

app_name = "automate"

urlpatterns = [
    path("", include("automate.flow_urls")),
    path("", include("automate.run_urls")),
    path("", include("automate.library_urls")),
    path("", include("automate.hook_urls")),
    path("", include("automate.operations_urls")),
    path("", include("automate.setup_urls")),
    path("", include("automate.sharing_urls")),
    path("", include("automate.pin_urls")),
]
