"""Who calls the API: a personal token, an OAuth2 service client, or the browser session.

A personal token (``Authorization: Bearer bcs_...``) acts as its user in its company. A
service client's OAuth2 token acts as the client's service user, a member of the client's
company with the client's role. ``request.auth`` is the ApiToken or the AccessToken, which
the views use to hold each caller to its company.
"""

from __future__ import annotations

import hashlib
import secrets

from django.utils import timezone
from oauth2_provider.contrib.rest_framework import OAuth2Authentication
from rest_framework import authentication, exceptions

from bcsite.models import ApiToken

TOKEN_PREFIX = "bcs_"


def token_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def new_token_key() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


class ApiTokenAuthentication(authentication.BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request):
        key = _bearer_token(request)
        if key is None or not key.startswith(TOKEN_PREFIX):
            return None  # an OAuth2 access token: the next class reads it
        token = (
            ApiToken.objects.select_related("user", "company")
            .filter(key_hash=token_hash(key))
            .first()
        )
        now = timezone.now()
        if token is None or token.revoked_at is not None:
            raise exceptions.AuthenticationFailed("The API token is not valid or was revoked.")
        if token.expires_at is not None and token.expires_at <= now:
            raise exceptions.AuthenticationFailed("The API token has expired.")
        if not token.user.is_active:
            raise exceptions.AuthenticationFailed("The token's user is inactive.")
        # At most once a minute, so a busy integration does not write on every call.
        if token.last_used_at is None or (now - token.last_used_at).total_seconds() > 60:
            ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        return token.user, token

    def authenticate_header(self, request) -> str:
        return 'Bearer realm="api"'


class ServiceClientAuthentication(OAuth2Authentication):
    """OAuth2 client credentials: the token's application must be a registered service client
    that is not revoked. A bearer token that is not valid is refused here, rather than passed
    on to the session (which would answer "no credentials" to a caller that sent some)."""

    def authenticate(self, request):
        if _bearer_token(request) is None:
            # Access tokens come in the Authorization header only: never in the URL (where
            # logs keep them) nor in the body, which must not be parsed before the caller
            # is known (an anonymous form post would get 415 instead of 401).
            return None
        result = super().authenticate(request)
        if result is None:
            raise exceptions.AuthenticationFailed(
                "The access token is not valid or has expired. Get a new one from "
                "/api/oauth2/token/."
            )
        _, access_token = result
        application = access_token.application
        client = getattr(application, "service_client", None) if application else None
        if client is None:
            raise exceptions.AuthenticationFailed(
                "The OAuth2 application is not a service client of any company."
            )
        if not client.service_user.is_active:
            raise exceptions.AuthenticationFailed("The service client was revoked.")
        return client.service_user, access_token


def _bearer_token(request) -> str | None:
    header = authentication.get_authorization_header(request).decode("latin-1").split()
    if len(header) == 2 and header[0].lower() == "bearer":
        return header[1]
    return None
