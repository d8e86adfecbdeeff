"""The OAuth2 token endpoint, mounted at /api/: ``POST /api/oauth2/token/``.

Service clients get their access tokens here with the client-credentials grant::

    curl -u CLIENT_ID:CLIENT_SECRET -d grant_type=client_credentials \\
        http://127.0.0.1:8000/api/oauth2/token/

No other grant is offered: the connector API has no users signing in through OAuth2.
"""

from __future__ import annotations

from django.http import JsonResponse
from django.urls import path
from django.utils.decorators import method_decorator
from django.views.decorators.cache import never_cache
from oauth2_provider.views import TokenView

GRANT = "client_credentials"


def oauth2_error(error: str, description: str, status: int = 400) -> JsonResponse:
    """An error as RFC 6749 section 5.2 words it."""
    response = JsonResponse({"error": error, "error_description": description}, status=status)
    response["Cache-Control"] = "no-store"
    response["Pragma"] = "no-cache"
    return response


@method_decorator(never_cache, name="dispatch")
class ClientCredentialsTokenView(TokenView):
    http_method_names = ["post", "options"]

    def post(self, request, *args, **kwargs):
        grant_type = request.POST.get("grant_type", "")
        if not grant_type:
            return oauth2_error(
                "invalid_request",
                "Send grant_type=client_credentials in a form-encoded body "
                "(application/x-www-form-urlencoded).",
            )
        if grant_type != GRANT:
            return oauth2_error(
                "unsupported_grant_type",
                f"Only grant_type={GRANT} is supported; {grant_type[:50]!r} is not.",
            )
        return super().post(request, *args, **kwargs)

    def http_method_not_allowed(self, request, *args, **kwargs):
        response = oauth2_error("invalid_request", "Request a token with POST.", status=405)
        response["Allow"] = "POST, OPTIONS"
        return response


urlpatterns = [
    path("oauth2/token/", ClientCredentialsTokenView.as_view(), name="oauth2-token"),
]
