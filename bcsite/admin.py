"""The Django admin of what belongs to no company: users, groups and the OAuth2 provider's
applications and tokens. They are for superusers only.

records' admin scopes business data to the companies a staff user administers; these models
have no company, so a staff user given their permissions would see and change every
company's users and service clients. Superusers only, whatever the permissions say.
"""

from django.contrib import admin
from django.contrib.auth import admin as auth_admin
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from oauth2_provider import admin as oauth2_admin
from oauth2_provider.models import (
    get_access_token_model,
    get_application_model,
    get_grant_model,
    get_id_token_model,
    get_refresh_token_model,
)


class SuperusersOnly:
    def has_module_permission(self, request) -> bool:
        return request.user.is_active and request.user.is_superuser

    def has_view_permission(self, request, obj=None) -> bool:
        return self.has_module_permission(request)

    def has_add_permission(self, request, *args) -> bool:
        return self.has_module_permission(request)

    def has_change_permission(self, request, obj=None) -> bool:
        return self.has_module_permission(request)

    def has_delete_permission(self, request, obj=None) -> bool:
        return self.has_module_permission(request)


def _superusers_only(model, admin_class) -> None:
    if admin.site.is_registered(model):
        admin.site.unregister(model)
    admin.site.register(model, type(admin_class.__name__, (SuperusersOnly, admin_class), {}))


for _model, _admin in (
    (get_user_model(), auth_admin.UserAdmin),
    (Group, auth_admin.GroupAdmin),
    (get_application_model(), oauth2_admin.ApplicationAdmin),
    (get_access_token_model(), oauth2_admin.AccessTokenAdmin),
    (get_refresh_token_model(), oauth2_admin.RefreshTokenAdmin),
    (get_id_token_model(), oauth2_admin.IDTokenAdmin),
    (get_grant_model(), oauth2_admin.GrantAdmin),
):
    _superusers_only(_model, _admin)
