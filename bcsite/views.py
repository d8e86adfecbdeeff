"""The shell's own pages: the role centre, Tell me, and switching companies."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import wraps

from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.views import defaults
from django.views.decorators.http import require_safe
from django_htmx.http import HttpResponseClientRedirect

from bcsite import pages
from bcsite.registry import Cue, TellMeEntry, registry

# Tell me's dropdown stays short; the results page shows everything that matches.
TELL_ME_DROPDOWN_LIMIT = 12
TELL_ME_QUERY_MAX_LENGTH = 100


def no_company_response(request: HttpRequest) -> HttpResponse:
    """The page for a signed-in user who is a member of no company."""
    return render(request, "bcsite/no_company.html", status=403)


def company_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Sign-in required, and a company to work in; otherwise a page that says why not."""

    @wraps(view)
    def with_company(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if getattr(request, "company", None) is None:
            return no_company_response(request)
        return view(request, *args, **kwargs)

    signed_in = login_required(with_company)

    @wraps(view)
    def wrapped(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if not request.user.is_authenticated and getattr(request, "htmx", False):
            # A fragment request from a page whose session expired: swapping the sign-in
            # page into a fragment helps nobody, so send the whole page to sign in.
            return HttpResponseClientRedirect(
                redirect_to_login(request.htmx.current_url_abs_path or "/").url
            )
        return signed_in(request, *args, **kwargs)

    return wrapped


# -- Role centre ----------------------------------------------------------------------------


@dataclass(frozen=True)
class CueTile:
    label: str
    count: int
    url: str


@dataclass(frozen=True)
class CueGroup:
    name: str
    tiles: list[CueTile]


def company_admin_required(message: str):
    """A decorator: signed in, in a company, and an administrator of it; else the login
    page, or 403 with ``message``."""

    def decorate(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @wraps(view)
        def checked(request: HttpRequest, *args, **kwargs) -> HttpResponse:
            if not request.is_company_admin:
                raise PermissionDenied(message)
            return view(request, *args, **kwargs)

        return company_required(checked)

    return decorate


def cue_groups(request: HttpRequest, cues: Iterable[Cue]) -> list[CueGroup]:
    """Cues in their order; a group sits where its first cue falls."""
    grouped: dict[str, list[CueTile]] = {}
    for cue in sorted(cues, key=lambda c: (c.order, c.label)):
        if cue.allowed is not None and not cue.allowed(request):
            continue
        tile = CueTile(label=cue.label, count=cue.count(request), url=cue.url(request))
        grouped.setdefault(cue.group, []).append(tile)
    return [CueGroup(name=name, tiles=tiles) for name, tiles in grouped.items()]


def greeting(user, now=None) -> str:
    hour = timezone.localtime(now).hour
    if 5 <= hour < 12:
        part = "Good morning"
    elif 12 <= hour < 18:
        part = "Good afternoon"
    else:
        part = "Good evening"
    return f"{part}, {user.first_name or user.get_username()}!"


@require_safe
@company_required
def home(request: HttpRequest) -> HttpResponse:
    context = {
        "greeting": greeting(request.user),
        "today": timezone.localdate(),
        "cue_groups": cue_groups(request, registry.cues),
    }
    return render(request, "bcsite/home.html", context)


# -- Tell me --------------------------------------------------------------------------------


@dataclass(frozen=True)
class TellMeCategory:
    name: str
    entries: list[TellMeEntry]


def tell_me_search(entries: Iterable[TellMeEntry], query: str) -> list[TellMeEntry]:
    """Entries whose label holds every word of ``query``, in any order, ignoring case.

    Labels that start with the query come first, then labels in which every word
    starts a word; the rest keep the order they were given in.
    """
    words = query.lower().split()
    if not words:
        return []
    phrase = " ".join(words)

    def rank(entry: TellMeEntry) -> int:
        label = entry.label.lower()
        if label.startswith(phrase):
            return 0
        label_words = label.replace("-", " ").split()
        if all(any(lw.startswith(w) for lw in label_words) for w in words):
            return 1
        return 2

    found = [e for e in entries if all(w in e.label.lower() for w in words)]
    # sorted() is stable, so entries of equal rank stay in the registry's order.
    return sorted(found, key=rank)


def by_category(entries: Iterable[TellMeEntry]) -> list[TellMeCategory]:
    grouped: dict[str, list[TellMeEntry]] = {}
    for entry in entries:
        grouped.setdefault(entry.category, []).append(entry)
    return [TellMeCategory(name=name, entries=items) for name, items in grouped.items()]


@require_safe
@company_required
def tell_me(request: HttpRequest) -> HttpResponse:
    query = request.GET.get("q", "").strip()[:TELL_ME_QUERY_MAX_LENGTH]
    entries = pages.tell_me_entries(request)
    found = tell_me_search(entries, query) if query else []
    context = {"query": query, "found_count": len(found)}
    htmx = getattr(request, "htmx", None)
    if htmx and not htmx.history_restore_request:
        context["categories"] = by_category(found[:TELL_ME_DROPDOWN_LIMIT])
        context["more"] = len(found) > TELL_ME_DROPDOWN_LIMIT
        response = render(request, "bcsite/tellme.html#dropdown", context)
    else:
        # With no query the page lists everything: an index of pages that needs no script.
        context["categories"] = by_category(found if query else entries)
        response = render(request, "bcsite/tellme.html", context)
    patch_vary_headers(response, ("HX-Request",))
    return response


# -- Errors outside any view ----------------------------------------------------------------

API_PREFIX = "/api/"


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    """400 for a request refused before any view (a Host header that is not allowed, a
    malformed cookie): the API's error shape under /api/, Django's page elsewhere."""
    if request.path.startswith(API_PREFIX):
        return _api_error(
            400,
            "BadRequest",
            "The request was refused: its Host header or another header is not allowed.",
        )
    return defaults.bad_request(request, exception)


def _api_error(status: int, code: str, message: str) -> JsonResponse:
    return JsonResponse({"error": {"code": code, "message": message}}, status=status)
