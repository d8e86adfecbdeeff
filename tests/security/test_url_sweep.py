"""Every URL of the product, for every kind of caller: anonymous callers are sent to sign in
(or refused, in JSON under /api/), another company's user finds none of company A's rows (nor
its staff administrator in the Django admin), a colleague finds none of another user's
private rows, administrators' pages refuse everyone else, POSTs without a CSRF token are
refused, GETs change nothing, ``next`` never leads off the site, every response forbids
framing and sniffing, and nobody ever gets a 500.

The URLs come from the resolver at test time (see ``sweep.py``), so a view added later is
swept as soon as its URL pattern exists; a pattern the sweep cannot fill fails
``test_every_url_pattern_is_swept`` with its name.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest
from django.test import Client

from tests.security.conftest import SECRET, browser
from tests.security.sweep import (
    CSRF_EXEMPT,
    PUBLIC,
    body,
    cases,
    differences,
    explain,
    fingerprint,
    is_json,
    is_login_redirect,
    login_urls,
    send,
    url_patterns,
)

pytestmark = pytest.mark.django_db

METHODS = ("GET", "POST")
# The API's writes come in every method: each is swept.
API_METHODS = ("GET", "POST", "PATCH", "PUT", "DELETE")


def methods_of(case) -> tuple[str, ...]:
    return API_METHODS if case.pattern.is_api else METHODS


@pytest.fixture
def swept(world):
    found, _ = cases(world, browser(world.admin_a))
    return found


def crashed(method: str, case, response) -> str | None:
    if response.status_code >= 500:
        return f"{method} {case.label}: {response.status_code}\n{explain(response)}"
    return None


def leaks(method: str, case, response) -> str | None:
    if SECRET.encode() in body(response):
        return f"{method} {case.label}: {response.status_code} shows company A's data"
    return None


def test_every_url_pattern_is_swept(world):
    found, unfillable = cases(world, browser(world.admin_a))
    assert not unfillable, "URL patterns the sweep cannot fill:\n" + "\n".join(unfillable)
    swept_labels = {case.pattern.label for case in found}
    missing = [p.label for p in url_patterns() if p.label not in swept_labels]
    assert not missing, f"URL patterns without a URL to request: {missing}"
    # The allow-lists name patterns that exist: a renamed URL must not keep its exemption.
    labels = {p.label for p in url_patterns()}
    assert not (set(PUBLIC) | set(CSRF_EXEMPT)) - labels


@pytest.mark.parametrize("htmx", [False, True], ids=["page", "htmx"])
def test_anonymous_callers_are_sent_to_sign_in_or_refused(world, swept, htmx):
    anonymous = browser()
    headers = {"HTTP_HX_REQUEST": "true"} if htmx else {}
    failures = []
    for case in swept:
        # A form posted to the API is refused for who sends it (401), not for its type.
        for method in (*methods_of(case), "FORM") if case.pattern.is_api else METHODS:
            response = send(anonymous, method, case.url, **headers)
            problem = crashed(method, case, response) or leaks(method, case, response)
            if problem is None and not case.public and not _refuses_anonymous(case, response):
                problem = f"{method} {case.label}: {response.status_code} to an anonymous caller"
            if problem:
                failures.append(problem)
    assert not failures, "\n".join(failures)


def _refuses_anonymous(case, response) -> bool:
    if case.pattern.is_api:
        return response.status_code in (401, 403, 404, 405) and is_json(response)
    # An htmx request is told to send the whole page to sign in (HX-Redirect, no content).
    to_sign_in = urlsplit(response.get("HX-Redirect", "")).path in login_urls()
    if to_sign_in and not body(response):
        return True
    return is_login_redirect(response) or response.status_code in (401, 403, 404, 405)


@pytest.mark.parametrize("htmx", [False, True], ids=["page", "htmx"])
def test_another_companys_user_finds_none_of_its_rows(world, swept, htmx):
    """Whole pages, and the fragments htmx asks for (which take other paths in views)."""
    outsider = browser(world.outsider_b)
    headers = {"HTTP_HX_REQUEST": "true"} if htmx else {}
    failures = []
    for case in swept:
        for method in methods_of(case):
            response = send(outsider, method, case.url, **headers)
            problem = crashed(method, case, response) or leaks(method, case, response)
            refused = not case.owned or case.public or _refuses_outsider(case, response)
            if problem is None and not refused:
                problem = f"{method} {case.label}: {response.status_code} to outsider_b"
            if problem:
                failures.append(problem)
    assert not failures, "\n".join(failures)


def _refuses_outsider(case, response) -> bool:
    if case.pattern.is_api:
        return response.status_code in (403, 404, 405) and is_json(response)
    if case.pattern.is_admin and is_login_redirect(response):
        return True  # not staff: the admin sends them to its sign-in page
    return response.status_code in (403, 404, 405)


def test_posts_without_a_csrf_token_are_refused(world, swept):
    """Browser sessions need the CSRF token on every POST, the API's too (DRF's
    SessionAuthentication checks it); API calls with a token need none, by design."""
    client = browser(world.admin_a, enforce_csrf_checks=True)
    failures = []
    for case in swept:
        if case.csrf_exempt:
            continue
        response = send(client, "POST", case.url)
        if response.status_code != 403 or b"CSRF" not in response.content:
            failures.append(f"POST {case.label}: {response.status_code} without a CSRF token")
    assert not failures, "\n".join(failures)


def test_a_token_authenticated_api_call_needs_no_csrf_token(world):
    from bcsite.api import credentials

    _, key = credentials.api_token_create(user=world.admin_a, company=world.company_a, name="t")
    client = Client(enforce_csrf_checks=True, HTTP_AUTHORIZATION=f"Bearer {key}")
    url = f"/api/v2.0/companies({world.company_a.system_id})/customers"
    response = client.post(url, {"displayName": "Token customer"}, content_type="application/json")
    assert response.status_code == 201, response.content


def test_get_changes_nothing(world, swept):
    """Company A's administrator opens every URL; no table changes, except what
    ``HARMLESS_MODELS`` and ``HARMLESS_FIELDS`` declare (sessions, last sign-in, token use)."""
    admin = browser(world.admin_a)
    failures = []
    before = fingerprint()
    for case in swept:
        response = admin.get(case.url)
        after = fingerprint()
        problem = crashed("GET", case, response)
        if problem is None and differences(before, after):
            problem = f"GET {case.label} changed " + ", ".join(differences(before, after))
        if problem is None and case.owned and case.found and response.status_code == 404:
            # The sweep filled the URL with ids its own administrator cannot open: every
            # "others get 404" check on it would prove nothing.
            problem = f"GET {case.label}: 404 to company A's administrator"
        if problem:
            failures.append(problem)
        before = after
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("username", ["admin_a", "sales_a"])
def test_users_of_the_company_never_get_a_500(world, swept, username):
    client = browser(getattr(world, username))
    failures = []
    for case in swept:
        for method in methods_of(case):
            problem = crashed(method, case, send(client, method, case.url))
            if problem:
                failures.append(problem)
    assert not failures, "\n".join(failures)


# Company administrators' pages, by route: anyone else is refused (403), or sent to the
# admin's sign-in page. Power Automate's opt-in ("Get started") is for everyone.
ADMIN_ONLY = (
    "admin/",
    "approvals/user-setup/",
    "approvals/workflows/",
    "approvals/workflow-user-groups/",
    "settings/service-clients/",
    "automate/setup/",
    "automate/pinned-actions/",
    "settings/audit-log/",
)


def test_administrators_pages_refuse_other_users(world, swept):
    sales, admin = browser(world.sales_a), browser(world.admin_a)
    admin_only = [
        case
        for case in swept
        if case.pattern.route.startswith(ADMIN_ONLY)
        and "get-started" not in case.label
        and not case.public
    ]
    assert len(admin_only) > 20
    failures = []
    for case in admin_only:
        for method in METHODS:
            response = send(sales, method, case.url)
            refused = response.status_code == 403 or (
                case.pattern.is_admin and is_login_redirect(response)
            )
            if response.status_code == 405:
                # The wrong method for everyone alike, administrators included.
                refused = send(admin, method, case.url).status_code == 405
            if not refused:
                failures.append(f"{method} {case.label}: {response.status_code} to sales_a")
        # Read-only tables refuse "add" in the admin to administrators too.
        if not case.pattern.is_admin and send(admin, "GET", case.url).status_code == 403:
            failures.append(f"GET {case.label}: 403 to company A's administrator too")
    assert not failures, "\n".join(failures)


# admin_a's own rows in company A: another user of A who is no administrator and with whom
# nothing is shared finds none of them, by id or in a list.
PRIVATE = {"flow", "run", "document", "token", "subscription", "event_subscription"}


def test_a_colleague_finds_none_of_another_users_private_rows(world, swept):
    colleague = browser(world.sales_a)
    private = [case for case in swept if case.uses & PRIVATE and not case.public]
    assert len(private) > 15
    failures = []
    for case in private:
        for method in methods_of(case):
            response = send(colleague, method, case.url)
            refused = response.status_code in (403, 404, 405)
            if case.pattern.is_api:
                refused = refused and is_json(response)
            if not refused:
                failures.append(f"{method} {case.label}: {response.status_code} to sales_a")
    assert not failures, "\n".join(failures)


def test_a_colleague_sees_none_of_another_users_private_rows_in_lists(world):
    colleague = browser(world.sales_a)
    api = f"/api/bcsite/automate/v1.0/companies({world.company_a.system_id})"
    names = [
        world.flow.name,
        world.sent_email.subject,
        world.document.name,
        world.token.prefix,
        str(world.subscription.subscription_id),
        str(world.run.system_id),
    ]
    failures = []
    for url in [
        "/automate/",
        "/automate/flows/",
        "/automate/runs/",
        "/automate/runs/in-progress/",
        "/sent-emails/",
        "/documents/",
        "/settings/api-tokens/",
        f"{api}/flows",
        f"{api}/flowRuns",
        "/api/v2.0/subscriptions",
        "/api/microsoft/runtime/v1.0/externaleventsubscriptions",
    ]:
        response = colleague.get(url)
        assert response.status_code == 200, url
        shown = [name for name in names if name.encode() in response.content]
        if shown:
            failures.append(f"{url} shows {shown} to sales_a")
    assert not failures, "\n".join(failures)
    # The owner's lists show them: the check would see them.
    owner = browser(world.admin_a)
    assert world.flow.name.encode() in owner.get("/automate/flows/").content
    assert world.sent_email.subject.encode() in owner.get("/sent-emails/").content


EVIL = "//evil.example/x"
# A link or form target that leaves the site (browsers read "\\" as "/" and drop blanks).
_OFF_SITE = re.compile(
    rb'(?:href|action|hx-get|hx-post|formaction)="\s*(?:[a-z]+:)?[/\\\s]{2,}evil\.example'
)


def test_no_url_sends_anyone_off_site(world, swept):
    """``next`` (in the query or the form) never takes the browser to another site: not in
    a redirect, not in HX-Redirect, not in a link or form of the page."""
    admin = browser(world.admin_a)
    failures = []
    for case in swept:
        if case.pattern.is_api:
            continue
        url = f"{case.url}{'&' if '?' in case.url else '?'}next={EVIL}"
        for method in METHODS:
            extra = {"data": {"next": EVIL}} if method == "POST" else {}
            response = send(admin, method, url, **extra)
            targets = [response.get("Location", ""), response.get("HX-Redirect", "")]
            if any(
                urlsplit(t).netloc not in ("", "testserver") for t in targets
            ) or _OFF_SITE.search(body(response)):
                failures.append(f"{method} {case.label}: sends to {EVIL}")
    assert not failures, "\n".join(failures)


def _staff_admin_of_b(world, app_labels):
    from django.contrib.auth.models import Permission

    from records.models import Membership
    from tests.security.conftest import member

    admin_b = member(world.company_b, "admin_b", Membership.Role.ADMIN, is_staff=True)
    admin_b.user_permissions.set(Permission.objects.filter(content_type__app_label__in=app_labels))
    return browser(admin_b)


def _admin_leaks(client, swept, app_labels) -> list[str]:
    failures = []
    for case in swept:
        if not case.pattern.is_admin or not any(f"admin/{a}/" in case.url for a in app_labels):
            continue
        for method in METHODS:
            response = send(client, method, case.url)
            problem = crashed(method, case, response) or leaks(method, case, response)
            if problem:
                failures.append(problem)
    return failures


BUSINESS_APPS = ("records", "approvals", "automate", "bcsite")
GLOBAL_APPS = ("auth", "oauth2_provider")


def test_another_companys_staff_administrator_finds_none_of_its_rows_in_the_admin(world, swept):
    """Staff rights are per company: an administrator of B with every permission on the
    business tables sees none of A's rows in the Django admin, in lists or by id."""
    client = _staff_admin_of_b(world, BUSINESS_APPS)
    opened = client.get("/admin/records/customer/")
    assert opened.status_code == 200  # B's administrator does get in, to B's rows
    assert b"Beta customer" in opened.content
    failures = _admin_leaks(client, swept, BUSINESS_APPS)
    assert not failures, "\n".join(failures)


def test_users_and_oauth2_applications_in_the_admin_are_for_superusers_only(world, swept):
    client = _staff_admin_of_b(world, GLOBAL_APPS)
    failures = _admin_leaks(client, swept, GLOBAL_APPS)
    assert not failures, "\n".join(failures)


def test_every_page_forbids_framing_and_type_sniffing(world, swept):
    """Clickjacking and content sniffing: every response says no, pages and downloads alike."""
    admin = browser(world.admin_a)
    failures = []
    for case in swept:
        response = send(admin, "GET", case.url)
        if response.get("X-Content-Type-Options") != "nosniff":
            failures.append(f"GET {case.label}: no X-Content-Type-Options: nosniff")
        html = response.get("Content-Type", "").startswith("text/html")
        if html and response.get("X-Frame-Options") not in ("DENY", "SAMEORIGIN"):
            failures.append(f"GET {case.label}: no X-Frame-Options")
    assert not failures, "\n".join(failures)
