"""What every page view does first: sign-in, company, page permission, the record."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.cache import patch_vary_headers
from django.utils.http import url_has_allowed_host_and_scheme
from django_htmx.http import HttpResponseClientRedirect

from bcsite.pages.base import Page
from bcsite.views import company_required


def page_view(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Sign-in and a company required; every response varies with HX-Request."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        response = view(request, *args, **kwargs)
        patch_vary_headers(response, ("HX-Request",))
        return response

    return company_required(wrapped)


def check_page(page: Page, request: HttpRequest) -> None:
    if not page.allows(request):
        raise PermissionDenied("You do not have permission to open this page.")


def get_record(page: Page, request: HttpRequest, pk: int) -> Any:
    """The record through the page's queryset: another company's record does not exist here."""
    check_page(page, request)
    record = page.queryset(request).filter(pk=pk).first()
    if record is None:
        raise Http404(f"No {page.model._meta.verbose_name} matches the given query.")
    return record


def is_partial(request: HttpRequest) -> bool:
    """An htmx request that swaps a fragment (not a history restore, which needs a page)."""
    htmx = getattr(request, "htmx", None)
    return bool(htmx) and not htmx.history_restore_request


def safe_next(request: HttpRequest, default: str) -> str:
    """The ``next`` URL posted with a form, if it points back into this site."""
    candidate = request.POST.get("next") or request.GET.get("next") or ""
    if candidate.startswith("/") and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return default


def go(request: HttpRequest, url: str) -> HttpResponse:
    """Redirect; htmx requests get HX-Redirect so the whole page follows."""
    if is_partial(request):
        return HttpResponseClientRedirect(url)
    return redirect(url)
