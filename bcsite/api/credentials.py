"""Creating and revoking the API's credentials: personal tokens and OAuth2 service clients.

A personal token acts as its user in one company. A service client is an OAuth2
client-credentials application with a service user of its own, a member of one company with
the client's role, so that what it changes is recorded under its name. Secrets are shown
once, when they are made: only hashes are kept.
"""

from __future__ import annotations

import datetime

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify
from oauth2_provider.generators import generate_client_secret
from oauth2_provider.models import AccessToken, Application, RefreshToken

from bcsite.api.auth import new_token_key, token_hash
from bcsite.models import ApiToken, ServiceClient
from records.models import Company, Membership

# "bcs_" and eight characters: enough to tell tokens apart, far too little to guess one.
TOKEN_PREFIX_LENGTH = 12
NAME_MAX_LENGTH = 100
SERVICE_USERNAME_PREFIX = "svc-"


def is_company_admin(user, company: Company) -> bool:
    """An administrator of the company, or a superuser who works in it (as on the pages)."""
    if user is None or not user.is_authenticated or not user.is_active:
        return False
    membership = Membership.objects.filter(user=user, company=company).first()
    if membership is None:
        return False
    return user.is_superuser or membership.role == Membership.Role.ADMIN


# -- Personal tokens --------------------------------------------------------------------------


def api_token_create(
    *, user, company: Company, name: str, expires_at: datetime.datetime | None = None
) -> tuple[ApiToken, str]:
    """A new token for ``user`` in ``company``, and its key: the only time anyone sees it."""
    name = _clean_name(name)
    if not user.is_active or not Membership.objects.filter(user=user, company=company).exists():
        raise PermissionDenied(f"{user.get_username()} is not a user of {company}.")
    if expires_at is not None and expires_at <= timezone.now():
        raise ValidationError({"expires_at": "The expiry date must be in the future."})
    active = api_tokens_active(user=user).filter(company=company, name=name)
    if active.exists():
        raise ValidationError({"name": f"You already have an active token named {name!r}."})
    key = new_token_key()
    token = ApiToken.objects.create(
        user=user,
        company=company,
        name=name,
        prefix=key[:TOKEN_PREFIX_LENGTH],
        key_hash=token_hash(key),
        expires_at=expires_at,
    )
    return token, key


def api_token_revoke(*, token: ApiToken, by) -> ApiToken:
    """Revoke the token: its owner or an administrator of its company may. Revoking a revoked
    token changes nothing."""
    if by != token.user and not is_company_admin(by, token.company):
        raise PermissionDenied("Only the token's owner or a company administrator can revoke it.")
    now = timezone.now()
    # Conditional, so the first revocation's time stays the one recorded.
    ApiToken.objects.filter(pk=token.pk, revoked_at=None).update(revoked_at=now)
    token.refresh_from_db(fields=["revoked_at"])
    return token


def api_tokens_active(*, user):
    now = timezone.now()
    return ApiToken.objects.filter(user=user, revoked_at=None).exclude(expires_at__lte=now)


# -- Service clients (OAuth2 client credentials) ----------------------------------------------


def service_client_create(
    *, company: Company, name: str, role: str, by
) -> tuple[ServiceClient, str, str]:
    """A new service client of ``company`` with ``role``: (client, client id, client secret).

    The secret is hashed as django-oauth-toolkit hashes it; this is the only time it is seen.
    """
    if not is_company_admin(by, company):
        raise PermissionDenied("Only administrators of the company can add service clients.")
    name = _clean_name(name)
    if role not in Membership.Role.values:
        raise ValidationError({"role": f"Choose a role: {', '.join(Membership.Role.values)}."})
    if ServiceClient.objects.filter(company=company, application__name=name).exists():
        raise ValidationError({"name": f"The company already has a service client named {name!r}."})
    secret = generate_client_secret()
    with transaction.atomic():
        service_user = _service_user_create(name)
        Membership.objects.create(user=service_user, company=company, role=role)
        application = Application.objects.create(
            name=name,
            client_type=Application.CLIENT_CONFIDENTIAL,
            authorization_grant_type=Application.GRANT_CLIENT_CREDENTIALS,
            client_secret=secret,
            hash_client_secret=True,
            redirect_uris="",
        )
        client = ServiceClient.objects.create(
            application=application,
            company=company,
            role=role,
            service_user=service_user,
            created_by=by,
        )
    return client, application.client_id, secret


def service_client_is_active(client: ServiceClient) -> bool:
    return client.service_user.is_active


def service_client_revoke(*, client: ServiceClient, by) -> ServiceClient:
    """Revoke the client: its tokens stop working now and it can get no new ones.

    The client, its service user and their membership stay, so the history of what the client
    did still names it. Revoking a revoked client changes nothing.
    """
    if not is_company_admin(by, client.company):
        raise PermissionDenied("Only administrators of the company can revoke service clients.")
    with transaction.atomic():
        user = client.service_user
        if user.is_active:
            user.is_active = False
            user.save(update_fields=["is_active"])
        # A secret nobody knows, so the token endpoint refuses the old one too.
        _set_secret(client.application, generate_client_secret())
        _tokens_delete(client.application)
    return client


def service_client_rotate_secret(*, client: ServiceClient, by) -> str:
    """A new secret for the client; the old one and the tokens issued with it stop working."""
    if not is_company_admin(by, client.company):
        raise PermissionDenied("Only administrators of the company can change client secrets.")
    if not service_client_is_active(client):
        raise ValidationError("The service client is revoked: create a new one instead.")
    secret = generate_client_secret()
    with transaction.atomic():
        _set_secret(client.application, secret)
        _tokens_delete(client.application)
    return secret


def _set_secret(application: Application, secret: str) -> None:
    application.client_secret = secret
    application.hash_client_secret = True
    application.save(update_fields=["client_secret", "hash_client_secret", "updated"])


def _tokens_delete(application: Application) -> None:
    RefreshToken.objects.filter(application=application).delete()
    AccessToken.objects.filter(application=application).delete()


def _service_user_create(name: str):
    """A user that can never sign in (no usable password), named ``svc-<slug>``."""
    user_model = get_user_model()
    base = SERVICE_USERNAME_PREFIX + (slugify(name)[:40] or "client")
    username, n = base, 1
    while user_model.objects.filter(username=username).exists():
        n += 1
        username = f"{base}-{n}"
    user = user_model(username=username, first_name=name[:150])
    user.set_unusable_password()
    user.save()
    return user


def _clean_name(name: str) -> str:
    name = (name or "").strip()
    if not name:
        raise ValidationError({"name": "Give it a name, to tell it apart later."})
    if len(name) > NAME_MAX_LENGTH:
        raise ValidationError({"name": f"At most {NAME_MAX_LENGTH} characters."})
    return name
