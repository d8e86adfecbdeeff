"""The pages where people manage their API credentials.

- **API Tokens** (every signed-in user of a company): their own personal tokens; a new
  token's key is shown once, on the page that answers the POST that made it.
- **Service Clients** (the company's administrators only): OAuth2 client-credentials
  clients of the company; a new client's secret (and a rotated one) is shown once.

GETs only show; creating, revoking and rotating are POSTs, each confirmed on a page first.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.cache import add_never_cache_headers
from django.views.decorators.http import require_http_methods, require_safe

from bcsite.api import credentials
from bcsite.api.forms_auth import ApiTokenForm, ServiceClientForm, add_service_errors
from bcsite.models import ApiToken, ServiceClient
from bcsite.registry import NavEntry, registry
from bcsite.views import company_admin_required, company_required

GET_OR_POST = require_http_methods(["GET", "HEAD", "POST"])
NAV_GROUP = "Settings"


admin_required = company_admin_required(
    "Only administrators of the company can manage service clients."
)


def _get_own_token(request: HttpRequest, pk: int) -> ApiToken:
    return get_object_or_404(ApiToken.objects.select_related("company"), pk=pk, user=request.user)


def _get_client(request: HttpRequest, pk: int) -> ServiceClient:
    return get_object_or_404(
        ServiceClient.objects.select_related("application", "service_user", "created_by"),
        pk=pk,
        company=request.company,
    )


def _secret_page(request: HttpRequest, template: str, context: dict) -> HttpResponse:
    """A page that shows a secret: never kept by a cache or the browser's history."""
    response = render(request, template, context)
    add_never_cache_headers(response)
    return response


# -- API Tokens -------------------------------------------------------------------------------


@require_safe
@company_required
def token_list(request: HttpRequest) -> HttpResponse:
    tokens = list(ApiToken.objects.filter(user=request.user).select_related("company"))
    now = timezone.now()
    for token in tokens:
        token.status = _token_status(token, now)
    return render(request, "api/token_list.html", {"tokens": tokens})


def _token_status(token: ApiToken, now) -> str:
    if token.revoked_at is not None:
        return "Revoked"
    if token.expires_at is not None and token.expires_at <= now:
        return "Expired"
    return "Active"


@GET_OR_POST
@company_required
def token_new(request: HttpRequest) -> HttpResponse:
    form = ApiTokenForm(request.POST if request.method == "POST" else None)
    if form.is_valid():
        try:
            token, key = credentials.api_token_create(
                user=request.user,
                company=request.company,
                name=form.cleaned_data["name"],
                expires_at=form.expires_at(),
            )
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            return _secret_page(request, "api/token_created.html", {"token": token, "key": key})
    status = 400 if request.method == "POST" else 200
    return render(request, "api/token_form.html", {"form": form}, status=status)


@GET_OR_POST
@company_required
def token_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    token = _get_own_token(request, pk)
    if request.method == "POST":
        credentials.api_token_revoke(token=token, by=request.user)
        messages.success(request, f"The token {token.name} is revoked.")
        return redirect("api_auth:token-list")
    return _confirm(
        request,
        title=f"Revoke token {token.name}",
        question=f"Revoke the token {token.name} ({token.prefix}...)?",
        details="Integrations that use it get 401 Unauthorized from now on. This cannot be undone.",
        button="Revoke",
        cancel_url=reverse("api_auth:token-list"),
        done=token.revoked_at is not None,
    )


# -- Service Clients --------------------------------------------------------------------------


@require_safe
@admin_required
def client_list(request: HttpRequest) -> HttpResponse:
    clients = ServiceClient.objects.filter(company=request.company).select_related(
        "application", "service_user", "created_by"
    )
    return render(request, "api/client_list.html", {"clients": clients.order_by("-created_at")})


@GET_OR_POST
@admin_required
def client_new(request: HttpRequest) -> HttpResponse:
    form = ServiceClientForm(request.POST if request.method == "POST" else None)
    if form.is_valid():
        try:
            client, client_id, secret = credentials.service_client_create(
                company=request.company,
                name=form.cleaned_data["name"],
                role=form.cleaned_data["role"],
                by=request.user,
            )
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            return _client_secret_page(request, client, client_id, secret, rotated=False)
    status = 400 if request.method == "POST" else 200
    return render(request, "api/client_form.html", {"form": form}, status=status)


@GET_OR_POST
@admin_required
def client_rotate(request: HttpRequest, pk: int) -> HttpResponse:
    client = _get_client(request, pk)
    errors: list[str] = []
    if request.method == "POST":
        try:
            secret = credentials.service_client_rotate_secret(client=client, by=request.user)
        except ValidationError as error:
            errors = error.messages
        else:
            return _client_secret_page(
                request, client, client.application.client_id, secret, rotated=True
            )
    return _confirm(
        request,
        title=f"New secret for {client.application.name}",
        question=f"Make a new client secret for {client.application.name}?",
        details="The current secret stops working at once, and so do the access tokens "
        "issued with it.",
        button="Make a new secret",
        cancel_url=reverse("api_auth:client-list"),
        errors=errors,
        done=not credentials.service_client_is_active(client),
        status=400 if errors else 200,
    )


@GET_OR_POST
@admin_required
def client_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    client = _get_client(request, pk)
    if request.method == "POST":
        credentials.service_client_revoke(client=client, by=request.user)
        messages.success(request, f"The service client {client.application.name} is revoked.")
        return redirect("api_auth:client-list")
    return _confirm(
        request,
        title=f"Revoke service client {client.application.name}",
        question=f"Revoke the service client {client.application.name}?",
        details="Its access tokens stop working at once and it cannot get new ones. What it "
        "did stays recorded under its name. This cannot be undone.",
        button="Revoke",
        cancel_url=reverse("api_auth:client-list"),
        done=not credentials.service_client_is_active(client),
    )


def _client_secret_page(
    request: HttpRequest, client: ServiceClient, client_id: str, secret: str, *, rotated: bool
) -> HttpResponse:
    token_url = request.build_absolute_uri(_token_path())
    context = {
        "client": client,
        "client_id": client_id,
        "secret": secret,
        "rotated": rotated,
        "token_url": token_url,
    }
    return _secret_page(request, "api/client_created.html", context)


def _token_path() -> str:
    # The token endpoint is mounted with the API's URLs, under whatever namespace they use.
    for name in ("oauth2-token", "api:oauth2-token"):
        try:
            return reverse(name)
        except NoReverseMatch:
            continue
    return "/api/oauth2/token/"


def _confirm(request: HttpRequest, *, done: bool, status: int = 200, **context) -> HttpResponse:
    return render(request, "api/confirm.html", {"done": done, **context}, status=status)


# -- Navigation -------------------------------------------------------------------------------


def _reachable(name: str) -> bool:
    try:
        reverse(name)
    except NoReverseMatch:
        return False
    return True


def _may_see_tokens(request: HttpRequest) -> bool:
    return _reachable("api_auth:token-list")


def _may_see_clients(request: HttpRequest) -> bool:
    return bool(getattr(request, "is_company_admin", False)) and _reachable("api_auth:client-list")


_registered = False


def register_navigation() -> None:
    """The pages' links under Settings. Once per process; a link shows only where the URLs
    are mounted, so a site without these pages never fails to draw its navigation."""
    global _registered
    if _registered:
        return
    _registered = True
    registry.register_nav_entry(
        NavEntry(
            group=NAV_GROUP,
            title="API Tokens",
            url=lambda: reverse("api_auth:token-list"),
            order=10,
            allowed=_may_see_tokens,
        )
    )
    registry.register_nav_entry(
        NavEntry(
            group=NAV_GROUP,
            title="Service Clients",
            url=lambda: reverse("api_auth:client-list"),
            order=20,
            allowed=_may_see_clients,
        )
    )
