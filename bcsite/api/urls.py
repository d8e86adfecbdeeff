"""The connector API's URLs, mounted at /api/.

- ``v2.0/companies`` and, per table with an entity set, ``v2.0/companies({id})/{entitySet}``,
  ``{entitySet}({id})``, its navigations and its bound actions ``Microsoft.NAV.{action}``;
- flows (``bcsite/automate/v1.0/...``) and approvals (``bcsite/approvals/v1.0/...``), as BC
  names custom APIs (publisher/group/version);
- webhook subscriptions, business events and the OAuth2 token endpoint, from their own
  modules when they are installed;
- ``schema/`` (OpenAPI 3) and ``docs/`` (Swagger UI, served locally);
- anything else: BC's 404 error in JSON.
"""

from importlib.util import find_spec

from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from bcsite.api import schema, views

_COMPANY = "v2.0/companies(<str:company_id>)"


def _entity_patterns() -> list:
    patterns = []
    for table in views.api_tables():
        base = f"{_COMPANY}/{table.entity_set}"
        record = f"{base}(<str:record_id>)"
        patterns += [
            path(base, views.collection_view(table).as_view()),
            path(record, views.entity_view(table).as_view()),
        ]
        for navigation in views.NAVIGATIONS.get(table.id, {}).values():
            view = views.navigation_view(table, navigation)
            patterns.append(path(f"{record}/{navigation.name}", view.as_view()))
        for name, action in views.actions_of(table).items():
            view = views.action_view(table, name, action)
            patterns.append(path(f"{record}/Microsoft.NAV.{name}", view.as_view()))
    return patterns


def _optional(module: str) -> list:
    """The URLs of a module that may not be installed in every build."""
    return [path("", include(module))] if find_spec(module) is not None else []


urlpatterns = [
    path("v2.0/companies", views.CompanyListView.as_view(), name="api-companies"),
    path(_COMPANY, views.CompanyView.as_view(), name="api-company"),
    *_entity_patterns(),
    path("bcsite/automate/v1.0/", include("automate.api_urls")),
    path("bcsite/approvals/v1.0/", include("approvals.api_urls")),
    *_optional("bcsite.api.subscription_urls"),
    *_optional("bcsite.api.auth_urls"),
    path(
        "schema/",
        SpectacularAPIView.as_view(generator_class=schema.BCSchemaGenerator),
        name="api-schema",
    ),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    re_path(r"^(?P<path>.*)$", views.not_found),
]
