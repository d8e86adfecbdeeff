"""Every URL of the product, filled with ids from the test world, and what to expect of them.

``cases(world, admin_client)`` walks the URL resolver (so views added later are swept as soon
as their patterns exist), fills each pattern's arguments from the world, and returns one
``Case`` per URL to request, plus the patterns it could not fill. A pattern that cannot be
filled is a failure: give its argument a value here (``NOUNS`` or ``KWARGS``), or, if it
needs no check, add it to ``PUBLIC`` with the reason.
"""

from __future__ import annotations

import copy
import hashlib
import re
import traceback
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from django.apps import apps
from django.conf import settings
from django.db import transaction
from django.shortcuts import resolve_url
from django.urls import URLPattern, URLResolver, get_resolver, resolve
from django.urls.exceptions import Resolver404

from bcsite.api.views import api_tables
from bcsite.pages.base import DocumentPage
from bcsite.pages.site import pages_for_slug
from bcsite.registry import registry

# Patterns anyone may reach without signing in, by URL name (or route when unnamed), and why.
# They are still swept for 500s; only the "refuses strangers" checks skip them.
PUBLIC = {
    "login": "The sign-in page is for people who are not signed in yet.",
    "admin:login": "The admin's sign-in page.",
    "admin:logout": "Signing out: strangers are sent to the admin's index, then to sign in.",
    "automate:hook": (
        "An HTTP trigger: partner services prove themselves with the secret key in the URL "
        "(and the signature, when the flow asks for one); without it the answer is 401."
    ),
    "oauth2-token": (
        "The OAuth2 token endpoint: service clients prove themselves with their client "
        "credentials in the request."
    ),
    "api-schema": "The OpenAPI description is public, as Business Central's $metadata is.",
    "api-docs": "Swagger UI over the public OpenAPI description.",
}

# Patterns that take POSTs without a CSRF token, by design, and why.
CSRF_EXEMPT = {
    "automate:hook": "Called by partner services, never by a browser session.",
    "oauth2-token": "Client credentials in the body; no session cookie is involved.",
}

# What an argument names, by the path segment in front of it: a world attribute.
NOUNS = {
    "companies": "company_a",
    "flows": "flow",
    "hooks": "flow",
    "runs": "run",
    "flowRuns": "run",
    "documents": "document",
    "user-setup": "user_setup",
    "workflows": "workflow",
    "workflow-user-groups": "user_group",
    "requests": "approval_request",
    "entries": "approval_entry",
    "approvalRequests": "approval_entry",
    "api-tokens": "token",
    "service-clients": "service_client",
    "subscriptions": "subscription",
    "externaleventsubscriptions": "event_subscription",
    "pinned-actions": "pin",
    "pins": "pin",
    "shares": "share",
    "users": "colleague_a",
    "audit-log": "audit_entry",
}

# What an argument names, by its name, where its segment does not say.
KWARGS = {
    "user_pk": "colleague_a",
    "user_id": "colleague_a",
    "share_pk": "share",
    "pin_pk": "pin",
    "entry_pk": "audit_entry",
    "run_pk": "run",
    "flow_pk": "flow",
}

# Arguments that name no row of company A.
GLOBAL_VALUES = {
    ("templates", "key"): "block-selected-customer",
}

MISSING_ACTION = "no-such-action"

_ROUTE_ARG = re.compile(r"<(?:(?P<converter>[^>:]+):)?(?P<name>\w+)>")


@dataclass(frozen=True)
class Pattern:
    route: str  # the whole route, as written: "automate/flows/<int:pk>/"
    name: str | None  # "automate:flow-edit"
    callback: Any
    pieces: tuple[tuple[str, str], ...]  # ("route" | "regex", text) per resolver level

    @property
    def label(self) -> str:
        return self.name or self.route

    @property
    def is_api(self) -> bool:
        return self.route.startswith("api/")

    @property
    def is_admin(self) -> bool:
        return self.route.startswith("admin/")


@dataclass(frozen=True)
class Case:
    pattern: Pattern
    url: str
    # The URL names a row of company A: anyone outside A must get 404 (or 403).
    owned: bool
    # A signed-in administrator of A finds it (not 404): proves the ids were filled right.
    found: bool = True
    # The world attributes (or model names) of the rows the URL names.
    uses: frozenset = frozenset()

    @property
    def label(self) -> str:
        return f"{self.pattern.label} {self.url}"

    @property
    def public(self) -> str | None:
        return PUBLIC.get(self.pattern.label)

    @property
    def csrf_exempt(self) -> str | None:
        return CSRF_EXEMPT.get(self.pattern.label)


def url_patterns() -> list[Pattern]:
    return list(_walk(get_resolver().url_patterns, (), ()))


def _walk(patterns, pieces, namespaces) -> Iterator[Pattern]:
    for entry in patterns:
        kind = "regex" if entry.pattern.__class__.__name__ == "RegexPattern" else "route"
        here = (*pieces, (kind, str(entry.pattern)))
        if isinstance(entry, URLResolver):
            spaces = (*namespaces, entry.namespace) if entry.namespace else namespaces
            yield from _walk(entry.url_patterns, here, spaces)
        elif isinstance(entry, URLPattern):
            name = ":".join((*namespaces, entry.name)) if entry.name else None
            route = "".join(text for _, text in here)
            yield Pattern(route=route, name=name, callback=entry.callback, pieces=here)


# -- Filling a pattern ------------------------------------------------------------------------


class Unfillable(Exception):
    pass


def cases(world, admin_client) -> tuple[list[Case], list[str]]:
    """Every URL to sweep, and the patterns that could not be filled (with why)."""
    found: list[Case] = []
    unfillable: list[str] = []
    for pattern in url_patterns():
        try:
            found += list(_cases_of(pattern, world, admin_client))
        except Unfillable as error:
            unfillable.append(f"{pattern.label}: {error}")
    return found, unfillable


def _cases_of(pattern: Pattern, world, admin_client) -> Iterator[Case]:
    if "<page:slug>" in pattern.route:
        yield from _page_cases(pattern, world, admin_client)
        return
    uses: set[str] = set()
    values: dict[str, str] = {}
    for kind, text in pattern.pieces:
        for name, converter, before in _arguments(kind, text):
            value, used = _fill(pattern, name, converter, before, world)
            values[name] = value
            uses.update([used] if used else [])
    url = build(pattern, values)
    # Admin object pages are found by the admin's own rules (redirects for missing rows).
    yield Case(pattern, url, owned=bool(uses), found=not pattern.is_admin, uses=frozenset(uses))


def _arguments(kind: str, text: str) -> Iterator[tuple[str, str, str]]:
    """(name, converter, the text in front of it) of each argument of one piece."""
    if kind == "route":
        for match in _ROUTE_ARG.finditer(text):
            yield match["name"], match["converter"] or "str", text[: match.start()]
    else:
        for match in re.finditer(r"\(\?P<(\w+)>", text):
            yield match[1], "regex", text[: match.start()]


def _noun(before: str) -> str:
    segment = before.rstrip("(/").rsplit("/", 1)[-1]
    return segment.rsplit("(", 1)[-1] if "(" in segment else segment


def _fill(pattern: Pattern, name: str, converter: str, before: str, world) -> tuple[str, str]:
    """The argument's value, and the world attribute it names ("" for no row of A)."""
    if pattern.is_admin:
        return _fill_admin(pattern, name, world)
    noun = _noun(before)
    if (noun, name) in GLOBAL_VALUES:
        return GLOBAL_VALUES[(noun, name)], ""
    if pattern.is_api and name == "path":
        return "noSuchResource", ""
    attribute = KWARGS.get(name) or NOUNS.get(noun) or ""
    obj = getattr(world, attribute) if attribute else None
    if obj is None:
        tables = {t.entity_set: t for t in api_tables()}
        if noun in tables:
            obj = world.by_model.get(tables[noun].model)
            attribute = noun
    if obj is None:
        raise Unfillable(
            f"no value for <{converter}:{name}> after {noun!r}; add it to NOUNS or KWARGS"
        )
    return (str(obj.pk) if converter == "int" else api_key(obj)), attribute


def api_key(obj) -> str:
    """How a URL with a text argument names ``obj``: its API id."""
    for table in api_tables():
        if isinstance(obj, table.model):
            return str(getattr(obj, table.id_field))
    for attribute in ("system_id", "subscription_id"):
        if hasattr(obj, attribute):
            return str(getattr(obj, attribute))
    return str(obj.pk)


def _fill_admin(pattern: Pattern, name: str, world) -> tuple[str, str]:
    if name == "app_label":
        return "records", ""
    if name == "url":
        return "no-such-page/", ""
    if name == "content_type_id":
        from django.contrib.contenttypes.models import ContentType

        return str(ContentType.objects.get_for_model(type(world.customer)).pk), "customer"
    if name == "object_id" and "/r/" in f"/{pattern.route}":
        return str(world.customer.pk), "customer"
    match = re.match(r"admin/(\w+)/(\w+)/", pattern.route)
    if match is None:
        raise Unfillable(f"no value for {name!r} in an admin URL")
    model = apps.get_model(match[1], match[2])
    obj = world.by_model.get(model) or model._base_manager.order_by("pk").first()
    if obj is None:
        return "999999", ""
    return str(obj.pk), model._meta.model_name if obj in world.by_model.values() else ""


def build(pattern: Pattern, values: dict[str, str]) -> str:
    """The URL of ``pattern`` with ``values``; it must resolve back to the same view."""
    parts = []
    for kind, text in pattern.pieces:
        if kind == "route":
            parts.append(_ROUTE_ARG.sub(lambda m: values[m["name"]], text))
        else:
            parts.append(_fill_regex(text, values))
    url = "/" + "".join(parts)
    try:
        match = resolve(urlsplit(url).path)
    except Resolver404:
        raise Unfillable(f"{url} does not resolve") from None
    if match.func is not pattern.callback:
        raise Unfillable(f"{url} resolves to {match.view_name or match.func}, not to it")
    return url


def _fill_regex(text: str, values: dict[str, str]) -> str:
    out, i = [], 0
    text = text.removeprefix("^").removesuffix("$")
    while i < len(text):
        match = re.compile(r"\(\?P<(\w+)>").match(text, i)
        if match is None:
            out.append(text[i].replace("\\", ""))
            i += 1
            continue
        depth, j = 1, match.end()
        while depth:
            depth += {"(": 1, ")": -1}.get(text[j], 0)
            j += 1
        out.append(values[match[1]])
        i = j
    return "".join(out)


# -- The pages of the page framework ----------------------------------------------------------

_LIST_ONLY = {"page-list", "page-list-action", "page-lookup"}
_LINES = {"page-lines", "page-line-add", "page-line-edit", "page-line-delete"}


def _page_cases(pattern: Pattern, world, admin_client) -> Iterator[Case]:
    slugs = sorted({page.slug for page in registry.pages.values()})
    for slug in slugs:
        pages = pages_for_slug(slug)
        page = pages.list if pattern.name in _LIST_ONLY else pages.card
        if page is None:
            continue
        if pattern.name in _LINES and not (isinstance(page, DocumentPage) and page.lines):
            continue
        record = world.by_model.get(page.model)
        needs_record = "<int:pk>" in pattern.route
        if needs_record and record is None:
            raise Unfillable(f"no {page.model.__name__} for /{slug}/ in the world")
        values = {"slug": slug}
        if needs_record:
            values["pk"] = str(record.pk)
        if "line_pk" in pattern.route:
            line = page.lines.queryset(record).order_by("pk").first()
            if line is None:
                raise Unfillable(f"the world's {page.model.__name__} has no lines")
            values["line_pk"] = str(line.pk)
        if "action_key" not in pattern.route:
            url = build(pattern, values)
            yield Case(
                pattern,
                url,
                owned=needs_record,
                found=_page_offers(page, pattern.name),
                uses=frozenset([page.model._meta.model_name] if needs_record else []),
            )
            continue
        base = f"/{slug}/{record.pk}/" if needs_record else f"/{slug}/"
        for key in [*_offered_actions(admin_client, base, record, slug), MISSING_ACTION]:
            url = build(pattern, {**values, "action_key": key})
            # The Automate group's action runs a flow, a pinned action the flow of its pin.
            names_flow = key in (f"run-flow-{world.flow.pk}", f"pinned-flow-{world.pin.pk}")
            uses = {page.model._meta.model_name} if needs_record else set()
            yield Case(
                pattern,
                url,
                owned=needs_record or names_flow,
                found=key != MISSING_ACTION,
                uses=frozenset(uses | ({"flow"} if names_flow else set())),
            )


_OPERATIONS = {
    "page-new": lambda page: page.create,
    "page-edit": lambda page: page.update,
    "page-delete": lambda page: page.delete,
    "page-line-add": lambda page: page.lines.add,
    "page-line-edit": lambda page: page.lines.update,
    "page-line-delete": lambda page: page.lines.delete,
}


def _page_offers(page, name: str | None) -> bool:
    """Whether the page has what the URL does (a posted invoice cannot be edited: 404)."""
    operation = _OPERATIONS.get(name or "")
    return operation is None or operation(page) is not None


def _offered_actions(admin_client, base: str, record, slug: str) -> list[str]:
    """The keys of the actions the page offers company A's administrator, as drawn."""
    response = admin_client.get(base)
    if response.status_code != 200:
        raise Unfillable(f"{base} answers {response.status_code} to company A's administrator")
    keys = re.findall(re.escape(base) + r"actions/([^/\"'?#\s]+)/", response.content.decode())
    return sorted(set(keys))


# -- Requests and what they may answer --------------------------------------------------------


def send(client, method: str, url: str, **extra):
    """One request that leaves the database and the client's cookies as they were: an
    administrator's POST deletes, and signing out would end the sweep's session.

    ``POST`` sends what each kind of endpoint expects: JSON under /api/, a form elsewhere;
    ``FORM`` sends a form anywhere; ``PATCH``, ``PUT`` and ``DELETE`` send JSON.
    """
    if method == "POST" and url.startswith("/api/") and "data" not in extra:
        extra = {"data": "{}", "content_type": "application/json", **extra}
    cookies = copy.deepcopy(client.cookies)
    with transaction.atomic():
        if method == "GET":
            response = client.get(url, **extra)
        elif method in ("POST", "FORM"):
            response = client.post(url, **extra)
        else:
            extra = {"data": "{}", "content_type": "application/json", **extra}
            response = client.generic(method, url, HTTP_IF_MATCH="*", **extra)
        transaction.set_rollback(True)
    client.cookies = cookies
    return response


def explain(response) -> str:
    exc = getattr(response, "exc_info", None)
    if exc:
        return "".join(traceback.format_exception(*exc))[-3000:]
    return response.content[:300].decode(errors="replace")


def login_urls() -> set[str]:
    return {resolve_url(settings.LOGIN_URL), resolve_url("admin:login")}


def is_login_redirect(response) -> bool:
    if response.status_code not in (301, 302, 303):
        return False
    return urlsplit(response["Location"]).path in login_urls()


def body(response) -> bytes:
    if getattr(response, "streaming", False):
        return b"".join(response.streaming_content)
    return response.content


def is_json(response) -> bool:
    return response.get("Content-Type", "").split(";")[0].strip().endswith("json")


# -- What the database holds ------------------------------------------------------------------

# Rows that a GET may change, and why.
HARMLESS_MODELS = {"sessions.session": "the session keeps the sign-in and the page messages"}
HARMLESS_FIELDS = {
    "auth.user": {"last_login"},
    "bcsite.apitoken": {"last_used_at"},
}


def fingerprint() -> dict[str, tuple[int, str]]:
    """Per table: the number of rows and a hash of all of them (what a GET must not change)."""
    result = {}
    for model in apps.get_models(include_auto_created=True):
        meta = model._meta
        if meta.proxy or not meta.managed or meta.swapped or meta.label_lower in HARMLESS_MODELS:
            continue
        ignored = HARMLESS_FIELDS.get(meta.label_lower, set())
        fields = [f.attname for f in meta.concrete_fields if f.attname not in ignored]
        rows = list(model._base_manager.order_by("pk").values_list(*fields))
        digest = hashlib.sha256(repr(rows).encode()).hexdigest()
        result[meta.label_lower] = (len(rows), digest)
    return result


def differences(before: dict, after: dict) -> list[str]:
    changed = []
    for label in sorted(set(before) | set(after)):
        old, new = before.get(label), after.get(label)
        if old != new:
            old_count = old[0] if old else 0
            new_count = new[0] if new else 0
            changed.append(f"{label} ({old_count} -> {new_count} rows)")
    return changed
