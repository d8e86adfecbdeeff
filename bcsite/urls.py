from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from bcsite import views, views_audit

urlpatterns = [
    path("", views.home, name="home"),
    path("tellme/", views.tell_me, name="tellme"),
    path("", include("records.urls")),
    path("automate/", include("automate.urls")),
    path("approvals/", include("approvals.urls")),
    path("api/", include("bcsite.api.urls")),
    path(
        "accounts/login/",
        auth_views.LoginView.as_view(redirect_authenticated_user=True),
        name="login",
    ),
    # Django's LogoutView signs out on POST only: a link or a prefetch never signs anyone out.
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
    path("settings/audit-log/", views_audit.audit_log, name="audit-log"),
    path("settings/", include("bcsite.api.ui_urls")),
    path("", include("bcsite.pages.urls")),
]

# A request refused before any view answers (a Host that is not allowed): JSON under /api/.
handler400 = "bcsite.views.bad_request"
