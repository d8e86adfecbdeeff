"""The API credential pages, mounted at /settings/: API Tokens and Service Clients."""

from django.urls import path

from bcsite.api import views_auth

app_name = "api_auth"

urlpatterns = [
    path("api-tokens/", views_auth.token_list, name="token-list"),
    path("api-tokens/new/", views_auth.token_new, name="token-new"),
    path("api-tokens/<int:pk>/revoke/", views_auth.token_revoke, name="token-revoke"),
    path("service-clients/", views_auth.client_list, name="client-list"),
    path("service-clients/new/", views_auth.client_new, name="client-new"),
    path("service-clients/<int:pk>/secret/", views_auth.client_rotate, name="client-rotate"),
    path("service-clients/<int:pk>/revoke/", views_auth.client_revoke, name="client-revoke"),
]
