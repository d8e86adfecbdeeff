"""Every Power Automate URL refuses cleanly: anonymous users are sent to sign in, other
companies' users and colleagues find nothing, wrong methods get 405, junk in the path,
the query string or the body gets a message or a 4xx, never a 500, and a refused request
writes nothing.

The sweep runs over a catalogue of endpoints (the URLs of automate's flow, run and library
URL modules, the Sent Emails and Documents lists, and the Automate group's actions on
customer, item and sales order pages). Each entry carries a body that the owner's request
succeeds with, so a refusal is a refusal of that request, not of a broken one.
"""

from __future__ import annotations

import datetime
import json
import math
import traceback
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from html.parser import HTMLParser
from urllib.parse import quote, urlencode, urlsplit

import pytest
from django.contrib.messages import get_messages
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.signals import request_finished
from django.db import close_old_connections
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

import automate.library_pages  # noqa: F401  (registers the pages)
from automate import flow_urls, library_urls, run_urls
from automate.automate_group import NO_SELECTED_ROWS  # importing it registers the group
from automate.models import (
    FINISHED_RUN_STATUSES,
    Document,
    Flow,
    FlowRun,
    FlowVersion,
    RunStatus,
    StepRun,
)
from automate.services import flow_create, flow_set_enabled
from bcsite.registry import registry
from tests.factories import (
    CustomerFactory,
    ItemFactory,
    MembershipFactory,
    SalesOrderFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

HX = {"HTTP_HX_REQUEST": "true"}
# Words that appear only in the owner's flows, runs and documents: never in others' pages.
SECRET = "Zebra"
CUSTOMER, ITEM, SALES_ORDER = 18, 27, 36
PAGES = {
    CUSTOMER: ("customer_card", "customer_list"),
    ITEM: ("item_card", "item_list"),
    SALES_ORDER: ("sales_order", "sales_order_list"),
}
INPUTS = [
    {"name": "reason", "label": "Reason", "type": "text", "required": True},
    {"name": "amount", "label": "Amount", "type": "number"},
    {"name": "urgent", "label": "Urgent", "type": "boolean"},
    {"name": "due", "label": "Due date", "type": "date"},
]
TEMPLATE_KEY = "block-selected-customer"
ALL_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
# The id that stands in for a record's in a path, to be swapped for junk.
SENTINEL = 424242424242


def _definition(table: int, inputs=()) -> dict:
    return {
        "schemaVersion": 1,
        "trigger": {"type": "selected_record", "table": table, "inputs": list(inputs)},
        "steps": [{"name": "Compose", "type": "data.compose", "inputs": {"value": "x"}}],
    }


def _run(flow: Flow, status: str, body: object = None) -> FlowRun:
    now = timezone.now()
    if body is None:
        body = {"number": "C10000", "displayName": f"{flow.name} record", "recordUrl": "/"}
    return FlowRun.objects.create(
        flow=flow,
        version=flow.current_version,
        company=flow.company,
        idempotency_key=f"test:{uuid.uuid4()}",
        status=status,
        triggered_by=flow.owner,
        trigger_data={"body": body, "headers": {}},
        # As flow_run_start copies them from the trigger body, for the lists.
        record_number=str(body.get("number", "")) if isinstance(body, dict) else "",
        record_name=str(body.get("displayName", "")) if isinstance(body, dict) else "",
        deadline=now + datetime.timedelta(days=1),
        started_at=now,
        finished_at=now if status in FINISHED_RUN_STATUSES else None,
        steps_total=1,
    )


# -- The world every test starts from ---------------------------------------------------------


@dataclass
class World:
    flows: dict[int, Flow]  # sales's instant flow per table
    finished_run: FlowRun
    running_run: FlowRun
    document: Document
    records: dict[int, object]  # a CRONUS record per table
    their_flow: Flow  # the colleague's
    their_run: FlowRun
    foreign_flow: Flow  # the outsider's, in OTHER
    foreign_run: FlowRun
    foreign_customer: object

    @property
    def flow(self) -> Flow:
        return self.flows[CUSTOMER]


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path)},
        },
    }
    return tmp_path


@pytest.fixture
def world(company, other_company, sales, colleague, outsider, media) -> World:
    flows = {
        CUSTOMER: flow_create(
            company=company,
            owner=sales,
            name=f"{SECRET} payroll check",
            definition=_definition(CUSTOMER, INPUTS),
        ),
        ITEM: flow_create(
            company=company, owner=sales, name=f"{SECRET} item flow", definition=_definition(ITEM)
        ),
        SALES_ORDER: flow_create(
            company=company,
            owner=sales,
            name=f"{SECRET} order flow",
            definition=_definition(SALES_ORDER),
        ),
    }
    their_flow = flow_create(
        company=company, owner=colleague, name="Colleague flow", definition=_definition(CUSTOMER)
    )
    foreign_flow = flow_create(
        company=other_company,
        owner=outsider,
        name="Foreign flow",
        definition=_definition(CUSTOMER),
    )
    content = b"payroll"
    document = Document.objects.create(
        company=company,
        name=f"{SECRET} report.txt",
        file=ContentFile(content, name="report.txt"),
        size=len(content),
        content_type="text/plain",
        created_by=sales,
        flow=flows[CUSTOMER],
    )
    customer = CustomerFactory(company=company, no="C10000", name="Adatum Corporation")
    return World(
        flows=flows,
        finished_run=_run(flows[CUSTOMER], RunStatus.SUCCEEDED),
        running_run=_run(flows[CUSTOMER], RunStatus.RUNNING),
        document=document,
        records={
            CUSTOMER: customer,
            ITEM: ItemFactory(company=company),
            SALES_ORDER: SalesOrderFactory(company=company, customer=customer),
        },
        their_flow=their_flow,
        their_run=_run(their_flow, RunStatus.RUNNING),
        foreign_flow=foreign_flow,
        foreign_run=_run(foreign_flow, RunStatus.RUNNING),
        foreign_customer=CustomerFactory(company=other_company, no="C90000", name="Foreign"),
    )


def browser(user=None) -> Client:
    """A browser that answers a crash with a 500 page, as production does."""
    client = Client(raise_request_exception=False)
    if user is not None:
        client.force_login(user)
    return client


@pytest.fixture
def owner(sales) -> Client:
    return browser(sales)


def snapshot() -> tuple:
    """Everything a refused request must leave as it was."""
    return (
        sorted(Flow.objects.values_list("pk", "name", "enabled", "current_version_id")),
        FlowVersion.objects.count(),
        sorted(FlowRun.objects.values_list("pk", "status", "finished_at")),
        StepRun.objects.count(),
        Document.objects.count(),
    )


def explain(response) -> str:
    exc = getattr(response, "exc_info", None)
    if exc:
        return "".join(traceback.format_exception(*exc))
    return response.content[:500].decode(errors="replace")


def answered(response):
    assert response.status_code < 500, explain(response)
    return response


def call(client: Client, method: str, url: str, data=None, **extra):
    if method == "GET":
        return answered(client.get(url, data, **extra))
    if method == "POST":
        return answered(client.post(url, data if data is not None else {}, **extra))
    return answered(client.generic(method, url, **extra))


URL_ATTRIBUTES = {"href", "src", "action", "formaction", "hx-get", "hx-post", "hx-delete"}


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list) -> None:
        values = dict(attrs)
        self.urls += [v for k, v in attrs if k in URL_ATTRIBUTES and v]
        if tag == "input" and values.get("name") == "next" and values.get("value"):
            self.urls.append(values["value"])


def off_site_links(response) -> list[str]:
    """The links, form targets and return addresses of a page that leave this site."""
    parser = _Links()
    parser.feed(response.content.decode())
    return [url for url in parser.urls if _leaves_site(url)]


def _leaves_site(url: str) -> bool:
    # Browsers drop tabs and newlines from URLs and read a backslash as a slash.
    cleaned = "".join(c for c in url if c not in "\t\r\n").strip().replace("\\", "/")
    parts = urlsplit(cleaned)
    if not (parts.scheme or parts.netloc):
        return False
    return parts.scheme not in ("http", "https") or parts.netloc != "testserver"


def messages_of(response, level: str = "") -> list[str]:
    found = get_messages(response.wsgi_request)
    return [str(m) for m in found if not level or m.level_tag == level]


# -- The catalogue ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Endpoint:
    name: str
    methods: tuple[str, ...]
    url: Callable[[World], str]
    # A URL that names one of sales's objects: anyone else must get 404.
    owned: bool = False
    body: Callable[[World], dict] = lambda w: {}
    # A URL with a record id in it, for the junk-id sweep: the URL with SENTINEL for it.
    with_id: Callable[[World], str] | None = None

    def __str__(self) -> str:
        return self.name


def _page(table: int, kind: int):
    return registry.pages[PAGES[table][kind]]


def _card_action(table: int) -> Endpoint:
    def url(w: World, pk=None) -> str:
        record = w.records[table]
        key = f"run-flow-{w.flows[table].pk}"
        return _page(table, 0).url("action", record.pk if pk is None else pk, key)

    return Endpoint(
        f"{_page(table, 0).slug}:run-flow",
        ("GET", "POST"),
        url,
        owned=True,
        body=lambda w: _pane_body(table),
        with_id=lambda w: url(w, SENTINEL),
    )


def _list_action(table: int) -> Endpoint:
    return Endpoint(
        f"{_page(table, 1).slug}:run-flow-on-selected",
        ("POST",),
        lambda w: _page(table, 1).url("list-action", f"run-flow-{w.flows[table].pk}"),
        owned=True,
        body=lambda w: {**_pane_body(table), "selected": [w.records[table].pk]},
    )


def _pane_body(table: int) -> dict:
    if table == CUSTOMER:
        return {"confirmed": "1", "input-reason": "Credit check", "input-amount": "12.5"}
    return {"confirmed": "1"}


def _flow_file(name: str = "Imported flow") -> SimpleUploadedFile:
    package = {
        "format": "bcsite.flow",
        "formatVersion": 1,
        "name": name,
        "definition": _definition(CUSTOMER),
    }
    return SimpleUploadedFile("flow.json", json.dumps(package).encode())


def _designer_body(name: str = "Designed flow") -> dict:
    return {
        "name": name,
        "description": "",
        "concurrency_limit": "5",
        "definition": json.dumps(_definition(CUSTOMER)),
    }


def _named(name: str, pk: Callable[[World], int]) -> Callable[[World], str]:
    return lambda w: reverse(name, args=[pk(w)])


def _sentinel(name: str) -> Callable[[World], str]:
    return lambda w: reverse(name, args=[SENTINEL])


ENDPOINTS = [
    Endpoint("automate:home", ("GET",), lambda w: reverse("automate:home")),
    Endpoint("automate:run-list", ("GET",), lambda w: reverse("automate:run-list")),
    Endpoint(
        "automate:run-progress",
        ("GET",),
        lambda w: f"{reverse('automate:run-progress')}?run={w.running_run.pk}",
    ),
    Endpoint(
        "automate:run-detail",
        ("GET",),
        _named("automate:run-detail", lambda w: w.finished_run.pk),
        owned=True,
        with_id=_sentinel("automate:run-detail"),
    ),
    Endpoint(
        "automate:run-cancel",
        ("POST",),
        _named("automate:run-cancel", lambda w: w.running_run.pk),
        owned=True,
        with_id=_sentinel("automate:run-cancel"),
    ),
    Endpoint(
        "automate:run-resubmit",
        ("POST",),
        _named("automate:run-resubmit", lambda w: w.finished_run.pk),
        owned=True,
        with_id=_sentinel("automate:run-resubmit"),
    ),
    Endpoint(
        "automate:flow-runs",
        ("GET",),
        _named("automate:flow-runs", lambda w: w.flow.pk),
        owned=True,
        with_id=_sentinel("automate:flow-runs"),
    ),
    Endpoint("automate:gallery", ("GET",), lambda w: reverse("automate:gallery")),
    Endpoint(
        "automate:template-use",
        ("GET", "POST"),
        lambda w: reverse("automate:template-use", args=[TEMPLATE_KEY]),
        body=lambda w: {"name": "From the gallery"},
    ),
    Endpoint("automate:flow-list", ("GET",), lambda w: reverse("automate:flow-list")),
    Endpoint(
        "automate:flow-new",
        ("GET", "POST"),
        lambda w: reverse("automate:flow-new"),
        body=lambda w: _designer_body(),
    ),
    Endpoint(
        "automate:flow-import",
        ("POST",),
        lambda w: reverse("automate:flow-import"),
        body=lambda w: {"file": _flow_file()},
    ),
    Endpoint(
        "automate:flow-edit",
        ("GET", "POST"),
        _named("automate:flow-edit", lambda w: w.flow.pk),
        owned=True,
        body=lambda w: _designer_body(f"{SECRET} renamed"),
        with_id=_sentinel("automate:flow-edit"),
    ),
    Endpoint(
        "automate:flow-toggle",
        ("POST",),
        _named("automate:flow-toggle", lambda w: w.flow.pk),
        owned=True,
        body=lambda w: {"enabled": ""},
        with_id=_sentinel("automate:flow-toggle"),
    ),
    Endpoint(
        "automate:flow-export",
        ("GET",),
        _named("automate:flow-export", lambda w: w.flow.pk),
        owned=True,
        with_id=_sentinel("automate:flow-export"),
    ),
    Endpoint(
        "automate:flow-delete",
        ("GET", "POST"),
        _named("automate:flow-delete", lambda w: w.flow.pk),
        owned=True,
        with_id=_sentinel("automate:flow-delete"),
    ),
    Endpoint(
        "automate:document-download",
        ("GET",),
        _named("automate:document-download", lambda w: w.document.pk),
        owned=True,
        with_id=_sentinel("automate:document-download"),
    ),
    Endpoint("sent-emails", ("GET",), lambda w: "/sent-emails/"),
    Endpoint("documents", ("GET",), lambda w: "/documents/"),
    *(_card_action(table) for table in PAGES),
    *(_list_action(table) for table in PAGES),
]
OWNED = [e for e in ENDPOINTS if e.owned]
WITH_ID = [e for e in ENDPOINTS if e.with_id is not None]
READABLE = [e for e in ENDPOINTS if "GET" in e.methods]


def each(endpoints, methods: Callable[[Endpoint], tuple[str, ...]] = lambda e: e.methods):
    return [pytest.param(e, m, id=f"{e}-{m}") for e in endpoints for m in methods(e)]


def test_the_catalogue_holds_every_power_automate_url():
    names = {
        f"automate:{pattern.name}"
        for module in (flow_urls, run_urls, library_urls)
        for pattern in module.urlpatterns
    }
    assert names <= {e.name for e in ENDPOINTS}


@pytest.mark.parametrize(("endpoint", "method"), each(ENDPOINTS))
def test_the_owner_gets_through(world, owner, endpoint, method):
    """The control: each request the others are refused succeeds for the owner."""
    response = call(owner, method, endpoint.url(world), endpoint.body(world))

    assert response.status_code in (200, 302), explain(response)
    if response.status_code == 302:
        assert not response["Location"].startswith(reverse("login"))
        assert messages_of(response, "error") == []
    if hasattr(response, "streaming_content"):
        close_file(response)


# -- Anonymous and companyless users ----------------------------------------------------------


@pytest.mark.parametrize(("endpoint", "method"), each(ENDPOINTS))
def test_anonymous_users_are_sent_to_sign_in_and_nothing_changes(world, endpoint, method):
    before = snapshot()

    response = call(browser(), method, endpoint.url(world), endpoint.body(world))

    assert response.status_code == 302
    assert response["Location"].startswith(f"{reverse('login')}?next=")
    assert snapshot() == before


@pytest.mark.parametrize(("endpoint", "method"), each(ENDPOINTS))
def test_anonymous_htmx_requests_get_hx_redirect_to_sign_in(world, endpoint, method):
    before = snapshot()

    response = call(
        browser(),
        method,
        endpoint.url(world),
        endpoint.body(world),
        **HX,
        HTTP_HX_CURRENT_URL="https://evil.example/steal",
    )

    assert response.status_code == 200
    # Only a page of this site may be the way back after signing in.
    assert response["HX-Redirect"] == f"{reverse('login')}?next=/"
    assert not response.content
    assert snapshot() == before


@pytest.mark.parametrize(("endpoint", "method"), each(ENDPOINTS))
def test_a_user_of_no_company_is_told_so_and_nothing_changes(world, endpoint, method):
    loner = UserFactory(username="loner")
    before = snapshot()

    response = call(browser(loner), method, endpoint.url(world), endpoint.body(world))

    assert response.status_code == 403
    assert SECRET not in response.content.decode()
    assert snapshot() == before


# -- Other people's objects -------------------------------------------------------------------


@pytest.mark.parametrize(("endpoint", "method"), each(OWNED))
def test_an_outsider_finds_none_of_the_owners_objects(world, outsider, endpoint, method):
    before = snapshot()

    response = call(browser(outsider), method, endpoint.url(world), endpoint.body(world))

    assert response.status_code == 404
    assert SECRET not in response.content.decode()
    assert snapshot() == before


@pytest.mark.parametrize(("endpoint", "method"), each(OWNED))
def test_a_colleague_finds_none_of_the_owners_objects(world, colleague, endpoint, method):
    before = snapshot()

    response = call(browser(colleague), method, endpoint.url(world), endpoint.body(world))

    assert response.status_code == 404
    assert SECRET not in response.content.decode()
    assert snapshot() == before


@pytest.mark.parametrize("table", PAGES)
def test_an_outsider_cannot_run_the_owners_flow_on_their_own_record(world, outsider, table):
    mine = {
        CUSTOMER: world.foreign_customer,
        ITEM: ItemFactory(company=world.foreign_customer.company),
        SALES_ORDER: SalesOrderFactory(
            company=world.foreign_customer.company, customer=world.foreign_customer
        ),
    }[table]
    url = _page(table, 0).url("action", mine.pk, f"run-flow-{world.flows[table].pk}")
    before = snapshot()

    for method in ("GET", "POST"):
        response = call(browser(outsider), method, url, _pane_body(table))
        assert response.status_code == 404
    assert snapshot() == before


def test_the_owner_cannot_run_a_flow_on_another_companys_record(world, owner):
    url = _page(CUSTOMER, 0).url("action", world.foreign_customer.pk, f"run-flow-{world.flow.pk}")
    before = snapshot()

    response = call(owner, "POST", url, _pane_body(CUSTOMER))

    assert response.status_code == 404
    assert snapshot() == before


# Pages that list things, and whether the owner finds their flows, runs or files there.
LISTING_PAGES = [
    (lambda w: reverse("automate:home"), True),
    (lambda w: reverse("automate:run-list"), True),
    (lambda w: reverse("automate:run-list") + "?status=running", True),
    (lambda w: reverse("automate:flow-list"), True),
    (lambda w: reverse("automate:gallery"), False),
    (
        lambda w: (
            f"{reverse('automate:run-progress')}?run={w.running_run.pk}&run={w.finished_run.pk}"
        ),
        True,
    ),
    (lambda w: "/sent-emails/", False),
    (lambda w: "/documents/", True),
    (lambda w: "/documents/?q=report", True),
    (lambda w: _page(CUSTOMER, 1).list_url(), True),
    (lambda w: _page(CUSTOMER, 0).card_url(w.records[CUSTOMER]), True),
]


def test_the_owner_finds_their_things_on_the_listing_pages(world, owner):
    """The control for the test below: these pages do show the owner's things."""
    for url, owner_sees in LISTING_PAGES:
        response = call(owner, "GET", url(world))
        assert response.status_code == 200, url(world)
        assert (SECRET in response.content.decode()) == owner_sees, url(world)


@pytest.mark.parametrize("persona", ["colleague", "outsider"])
def test_pages_that_list_things_show_nothing_of_the_owners(world, request, persona):
    client = browser(request.getfixturevalue(persona))

    for url, _owner_sees in LISTING_PAGES:
        response = call(client, "GET", url(world))
        # The outsider does not find the customer's card at all.
        assert response.status_code in (200, 404), url(world)
        assert SECRET not in response.content.decode(), url(world)


def test_progress_answers_others_runs_as_it_answers_runs_that_do_not_exist(world, outsider):
    client = browser(outsider)
    progress = reverse("automate:run-progress")

    theirs = call(client, "GET", f"{progress}?run={world.running_run.pk}")
    missing = call(client, "GET", f"{progress}?run=987654321")

    assert theirs.status_code == missing.status_code == 200
    assert theirs.context["runs"] == missing.context["runs"] == []
    assert theirs.context["error"] == missing.context["error"]
    assert "do not exist, or you may not see them" in theirs.context["error"]


# -- Methods ----------------------------------------------------------------------------------


def _wrong(endpoint: Endpoint) -> tuple[str, ...]:
    return tuple(m for m in ALL_METHODS if m not in endpoint.methods)


@pytest.mark.parametrize(("endpoint", "method"), each(ENDPOINTS, _wrong))
def test_wrong_methods_are_refused_with_405(world, owner, endpoint, method):
    before = snapshot()

    response = call(owner, method, endpoint.url(world), endpoint.body(world))

    assert response.status_code == 405
    assert snapshot() == before


# -- Junk in the path -------------------------------------------------------------------------

JUNK_IDS = [
    "0",
    "abc",
    "-1",
    "1.5",
    "1e3",
    "%00",
    "%EF%BC%91",  # a full-width digit one
    "%D9%A1",  # an Arabic-Indic digit one
    str(2**63 - 1),
    str(2**63),
    "9" * 40,
]


@pytest.mark.parametrize("endpoint", WITH_ID, ids=str)
@pytest.mark.parametrize("junk", JUNK_IDS)
def test_junk_ids_in_the_path_are_not_found(world, owner, endpoint, junk):
    url = endpoint.with_id(world).replace(str(SENTINEL), junk)
    before = snapshot()

    for method in endpoint.methods:
        response = call(owner, method, url, endpoint.body(world))
        assert response.status_code == 404, (method, url)
    assert snapshot() == before


@pytest.mark.parametrize(
    "key", ["run-flow-", "run-flow-abc", "run-flow-0", "run-flow-" + "9" * 30, "run-flow-%00"]
)
@pytest.mark.parametrize("kind", [0, 1])
def test_junk_action_keys_are_not_found(world, owner, key, kind):
    if kind == 0:
        url = _page(CUSTOMER, 0).url("action", world.records[CUSTOMER].pk, key)
    else:
        url = _page(CUSTOMER, 1).url("list-action", key)
    body = {**_pane_body(CUSTOMER), "selected": [world.records[CUSTOMER].pk]}
    before = snapshot()

    response = call(owner, "POST", url, body)

    assert response.status_code == 404
    assert snapshot() == before


@pytest.mark.parametrize("key", ["no-such-template", "a" * 300, "%00", "..", "%2e%2e"])
def test_an_unknown_template_is_not_found(world, owner, key):
    url = reverse("automate:template-use", args=[TEMPLATE_KEY]).replace(TEMPLATE_KEY, key)
    before = snapshot()

    for method in ("GET", "POST"):
        assert call(owner, method, url, {"name": "x"}).status_code == 404
    assert snapshot() == before


# -- Junk in the query string -----------------------------------------------------------------

JUNK_QUERIES = [
    "run=abc",
    "run=",
    "run=-1",
    "run=%00",
    "run=" + "9" * 19,
    "&".join(f"run={n}" for n in range(1, 60)),
    "status=zzz",
    "status=%00",
    "status=RUNNING%FF",
    "days=-1",
    "days=" + "9" * 30,
    "days=%D9%A1",
    "mine=%00",
    "table=-1",
    "table=%00",
    "table=" + "1" * 5000,
    "next=https://evil.example",
    "next=//evil.example",
    "next=/%5Cevil.example",
    "next=javascript:alert(1)",
    "after=garbage",
    "before=garbage",
    "after=" + "A" * 5000,
    "after=%00&before=%FF",
    "sort=%00&q=%F0%9F%92%A5&selected=%00",
    "on=card",
    "%00=%00",
]


def close_file(response) -> None:
    """Close a streamed response as the test client closes requests: without letting
    request_finished close the test's database connection in the middle of its transaction."""
    request_finished.disconnect(close_old_connections)
    try:
        response.close()
    finally:
        request_finished.connect(close_old_connections)


@pytest.mark.parametrize("endpoint", READABLE, ids=str)
def test_junk_query_strings_get_a_page_or_a_4xx(world, owner, endpoint):
    base = endpoint.url(world)
    before = snapshot()

    for junk in JUNK_QUERIES:
        url = f"{base}{'&' if '?' in base else '?'}{junk}"
        # Whole pages, and the fragments htmx swaps in (rendered from other templates).
        for headers in ({}, HX):
            response = call(owner, "GET", url, **headers)
            assert response.status_code in (200, 400, 404), (url[:120], response.status_code)
            if hasattr(response, "streaming_content"):
                close_file(response)
            elif response["Content-Type"].startswith("text/html"):
                assert off_site_links(response) == [], url
    assert snapshot() == before


def test_an_unknown_run_status_is_named_and_ignored(world, owner):
    response = call(owner, "GET", reverse("automate:run-list") + "?status=zzz")

    assert response.status_code == 200
    assert "There is no run status &#x27;zzz&#x27;" in response.content.decode()
    assert len(response.context["runs"]) == 2


def test_a_garbage_page_cursor_shows_the_newest_runs_and_says_so(world, owner):
    response = call(owner, "GET", reverse("automate:run-list") + "?after=abc.def&before=%00")

    assert response.status_code == 200
    assert "That page link is no longer valid" in response.content.decode()
    assert len(response.context["runs"]) == 2


def test_days_out_of_range_are_refused_with_a_message(world, owner):
    url = reverse("automate:flow-runs", args=[world.flow.pk]) + "?days=" + "9" * 30

    response = call(owner, "GET", url)

    assert response.status_code == 200
    assert "Days must be a whole number from 1 to 366." in response.content.decode()


@pytest.mark.parametrize(
    "query", ["run=abc", "run=%00", "run=" + "9" * 19, "&".join(["run=1"] * 51)]
)
def test_progress_refuses_a_link_it_did_not_make(world, owner, query):
    response = call(owner, "GET", f"{reverse('automate:run-progress')}?{query}")

    assert response.status_code == 200
    assert response.context["runs"] == []
    assert "The link names runs that cannot be shown." in response.content.decode()
    assert not response.context["polling"]


def test_ten_thousand_runs_in_the_progress_link_are_a_bad_request(world, owner):
    query = "&".join(["run="] * 10_000)

    response = call(owner, "GET", f"{reverse('automate:run-progress')}?{query}")

    assert response.status_code == 400


def test_an_unknown_gallery_table_is_named_and_every_template_shown(world, owner):
    response = call(owner, "GET", reverse("automate:gallery") + "?table=-1")

    assert response.status_code == 200
    assert "There is no table &#x27;-1&#x27;" in response.content.decode()
    assert response.context["table"] is None


@pytest.mark.parametrize(
    ("url", "key", "fallback"),
    [
        (lambda w: reverse("automate:gallery"), "next", lambda: ""),
        (
            lambda w: reverse("automate:template-use", args=[TEMPLATE_KEY]),
            "back_url",
            lambda: reverse("automate:gallery"),
        ),
        (
            lambda w: f"{reverse('automate:run-progress')}?run={w.running_run.pk}",
            "back_url",
            lambda: "",
        ),
    ],
    ids=["gallery", "template-use", "progress"],
)
@pytest.mark.parametrize(
    "target", ["https://evil.example/", "//evil.example/", "/\\evil.example/", "http:evil.example"]
)
def test_next_never_leads_off_the_site(world, owner, url, key, fallback, target):
    base = url(world)
    query = urlencode({"next": target})

    response = call(owner, "GET", f"{base}{'&' if '?' in base else '?'}{query}")

    assert response.status_code == 200
    assert response.context[key] == fallback()
    assert off_site_links(response) == []


def test_after_using_a_template_next_never_leads_off_the_site(world, owner):
    url = reverse("automate:template-use", args=[TEMPLATE_KEY]) + "?next=//evil.example/"

    response = call(owner, "POST", url, {"name": "Block", "next": "https://evil.example/"})

    assert response.status_code == 302
    flow = Flow.objects.get(name="Block")
    assert response["Location"] == reverse("automate:flow-edit", args=[flow.pk])


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    params=st.lists(
        st.tuples(
            st.sampled_from(["run", "next", "status", "after", "before", "days", "mine", "table"])
            | st.text(max_size=8),
            st.text(max_size=60),
        ),
        max_size=6,
    ),
    page=st.sampled_from(["run-progress", "run-list", "flow-runs", "gallery", "home"]),
)
def test_any_query_string_gets_a_page_or_a_4xx(world, owner, params, page):
    base = reverse(f"automate:{page}", args=[world.flow.pk] if page == "flow-runs" else [])

    response = call(owner, "GET", f"{base}?{urlencode(params)}")

    assert response.status_code in (200, 400)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(raw=st.text(max_size=120))
def test_any_raw_progress_query_gets_a_page_or_a_4xx(world, owner, raw):
    query = quote(raw, safe="=&;+%")

    response = call(owner, "GET", f"{reverse('automate:run-progress')}?{query}")

    assert response.status_code in (200, 400)


# -- Junk in the Run Flow pane ----------------------------------------------------------------

PANE_REFUSALS = [
    pytest.param({"input-reason": None}, "reason", id="missing-required"),
    pytest.param({"input-reason": "   "}, "reason", id="blank-required"),
    pytest.param({"input-amount": "1e999"}, "amount", id="number-overflow"),
    pytest.param({"input-amount": "1e-999"}, "amount", id="number-tiny"),
    pytest.param({"input-amount": "NaN"}, "amount", id="number-nan"),
    pytest.param({"input-amount": "-Infinity"}, "amount", id="number-infinity"),
    pytest.param({"input-amount": "twelve"}, "amount", id="number-words"),
    pytest.param({"input-amount": "0x10"}, "amount", id="number-hex"),
    pytest.param({"input-amount": "9" * 31}, "amount", id="number-too-many-digits"),
    pytest.param({"input-due": "2026-02-30"}, "due", id="date-february-30"),
    pytest.param({"input-due": "99999-01-01"}, "due", id="date-five-digit-year"),
    pytest.param({"input-due": "next tuesday"}, "due", id="date-words"),
    pytest.param({"input-reason": "x" * 4001}, "reason", id="text-too-long"),
    pytest.param({"input-reason": "a\x00b"}, "reason", id="text-nul"),
]


def _pane_urls(world: World) -> list[tuple[str, dict]]:
    customer = world.records[CUSTOMER]
    key = f"run-flow-{world.flow.pk}"
    return [
        (_page(CUSTOMER, 0).url("action", customer.pk, key), {}),
        (_page(CUSTOMER, 1).url("list-action", key), {"selected": [customer.pk]}),
    ]


@pytest.mark.parametrize(("data", "field_name"), PANE_REFUSALS)
def test_the_run_flow_pane_refuses_bad_inputs_on_its_form(world, owner, data, field_name):
    before = snapshot()

    for url, extra in _pane_urls(world):
        body = {"confirmed": "1", "input-reason": "Credit check", **data, **extra}
        body = {k: v for k, v in body.items() if v is not None}
        response = call(owner, "POST", url, body)
        assert response.status_code == 200, url
        errors = response.context["form"].errors
        assert list(errors) == [field_name], errors
        assert errors[field_name][0] in response.content.decode().replace("&#x27;", "'")
    assert snapshot() == before


def test_the_run_flow_pane_without_confirmation_only_asks(world, owner):
    before = snapshot()

    for url, extra in _pane_urls(world):
        response = call(owner, "POST", url, {"input-reason": "Credit check", **extra})
        assert response.status_code == 200
        assert not response.context["form"].is_bound
    assert snapshot() == before


def test_five_megabytes_of_text_in_the_pane_are_a_bad_request(world, owner):
    before = snapshot()

    for url, extra in _pane_urls(world):
        body = {"confirmed": "1", "input-reason": "x" * (5 * 1024 * 1024), **extra}
        assert call(owner, "POST", url, body).status_code == 400
    assert snapshot() == before


@pytest.mark.parametrize(
    ("selected", "status", "message"),
    [
        (["abc"], 400, "The selected rows must be record ids."),
        (["1", "-1"], 400, "The selected rows must be record ids."),
        (["9" * 19], 400, "The selected rows must be record ids."),
        # More fields than Django reads from one form: refused before the view runs.
        ([str(n) for n in range(1, 1002)], 400, "Bad Request"),
        ([], 302, "Select one or more lines first."),
        (["9" * 18], 302, NO_SELECTED_ROWS),
    ],
    ids=["words", "negative", "too-long", "too-many", "none", "missing"],
)
def test_a_bad_selection_starts_nothing_and_says_why(world, owner, selected, status, message):
    url = _page(CUSTOMER, 1).url("list-action", f"run-flow-{world.flow.pk}")
    before = snapshot()

    body = {"confirmed": "1", "input-reason": "Credit check", "selected": selected}
    response = call(owner, "POST", url, body)

    assert response.status_code == status
    said = response.content.decode() if status == 400 else " ".join(messages_of(response))
    assert message in said
    assert snapshot() == before


def test_selecting_another_companys_row_starts_nothing_and_says_why(world, owner):
    url = _page(CUSTOMER, 1).url("list-action", f"run-flow-{world.flow.pk}")
    before = snapshot()

    body = {"confirmed": "1", "input-reason": "x", "selected": [world.foreign_customer.pk]}
    response = call(owner, "POST", url, body)

    assert response.status_code == 302
    assert messages_of(response) == [NO_SELECTED_ROWS]
    assert snapshot() == before


def test_ten_thousand_selected_rows_are_a_bad_request(world, owner):
    url = _page(CUSTOMER, 1).url("list-action", f"run-flow-{world.flow.pk}")
    before = snapshot()

    body = {"confirmed": "1", "input-reason": "x", "selected": ["1"] * 10_000}
    assert call(owner, "POST", url, body).status_code == 400
    assert snapshot() == before


@settings(
    max_examples=50,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    reason=st.text(max_size=80),
    amount=st.text(max_size=40) | st.decimals(allow_nan=True).map(str),
    due=st.text(max_size=20) | st.dates().map(str),
    urgent=st.sampled_from(["", "on", "off", "0", "false", "\x00"]),
)
def test_any_text_in_the_pane_starts_one_run_of_typed_inputs_or_none(
    world, owner, reason, amount, due, urgent
):
    url = _page(CUSTOMER, 0).url("action", world.records[CUSTOMER].pk, f"run-flow-{world.flow.pk}")
    known = set(FlowRun.objects.values_list("pk", flat=True))
    body = {
        "confirmed": "1",
        "input-reason": reason,
        "input-amount": amount,
        "input-due": due,
        "input-urgent": urgent,
    }

    response = call(owner, "POST", url, body)

    new = FlowRun.objects.exclude(pk__in=known)
    event(f"answered {response.status_code}")
    if response.status_code == 302:
        [run] = new
        inputs = run.trigger_data["body"]["inputs"]
        assert inputs["reason"] == reason.strip() != ""
        assert inputs["amount"] is None or (
            isinstance(inputs["amount"], int | float) and math.isfinite(inputs["amount"])
        )
        if inputs["due"] is not None:
            datetime.date.fromisoformat(inputs["due"])
        assert isinstance(inputs["urgent"], bool)
    else:
        assert response.status_code == 200
        assert response.context["form"].errors
        assert not new.exists()


# -- Junk in the other forms ------------------------------------------------------------------

DESIGNER_REFUSALS = [
    pytest.param({}, id="nothing"),
    pytest.param({"name": "x"}, id="no-definition"),
    pytest.param({"definition": json.dumps(_definition(CUSTOMER))}, id="no-name"),
    pytest.param(_designer_body("x" * 121), id="name-too-long"),
    pytest.param(_designer_body("a\x00b"), id="name-nul"),
    pytest.param({**_designer_body(), "definition": "{nope"}, id="definition-not-json"),
    pytest.param({**_designer_body(), "definition": "[]"}, id="definition-a-list"),
    pytest.param({**_designer_body(), "definition": "null"}, id="definition-null"),
    pytest.param({**_designer_body(), "definition": '"steps"'}, id="definition-text"),
    pytest.param({**_designer_body(), "definition": '{"a": "\x00"}'}, id="definition-with-a-nul"),
    pytest.param(
        {**_designer_body(), "definition": '{"trigger": 1, "steps": {}}'},
        id="definition-wrong-types",
    ),
    pytest.param(
        {**_designer_body(), "definition": json.dumps(_definition(-1))}, id="definition-no-table"
    ),
    pytest.param({**_designer_body(), "concurrency_limit": "1e999"}, id="limit-overflow"),
    pytest.param({**_designer_body(), "concurrency_limit": "0"}, id="limit-zero"),
    pytest.param({**_designer_body(), "concurrency_limit": "many"}, id="limit-words"),
    pytest.param({**_designer_body(), "description": "x" * (5 * 1024 * 1024)}, id="five-megabytes"),
]


def _deeply_nested(depth: int = 100_000) -> str:
    return "[" * depth + "]" * depth


@pytest.mark.parametrize("data", DESIGNER_REFUSALS)
@pytest.mark.parametrize("target", ["flow-new", "flow-edit"])
def test_the_designer_refuses_junk_and_saves_nothing(world, owner, data, target):
    url = reverse(f"automate:{target}", args=[world.flow.pk] if target == "flow-edit" else [])
    before = snapshot()

    response = call(owner, "POST", url, data)

    assert response.status_code == 400
    assert snapshot() == before


@pytest.mark.parametrize("target", ["flow-new", "flow-edit"])
def test_the_designer_refuses_a_definition_nested_too_deeply(world, owner, target):
    url = reverse(f"automate:{target}", args=[world.flow.pk] if target == "flow-edit" else [])
    before = snapshot()

    response = call(owner, "POST", url, {**_designer_body(), "definition": _deeply_nested()})

    assert response.status_code == 400
    assert snapshot() == before


def _package(**fields) -> bytes:
    package = {"format": "bcsite.flow", "formatVersion": 1, "name": "Imported"}
    package["definition"] = _definition(CUSTOMER)
    return json.dumps({**package, **fields}).encode()


IMPORT_REFUSALS = [
    pytest.param(b"", id="empty"),
    pytest.param(b"\xff\xfe\x00\x01", id="binary"),
    pytest.param(b"{nope", id="not-json"),
    pytest.param(b"[]", id="a-list"),
    pytest.param(json.dumps({"name": "x"}).encode(), id="no-format"),
    pytest.param(_package(formatVersion=99), id="future-format"),
    pytest.param(_package(definition=None), id="definition-null"),
    pytest.param(_package(definition="steps"), id="definition-text"),
    pytest.param(
        _package(definition={"trigger": {"type": "zzz"}, "steps": []}), id="unknown-trigger"
    ),
    pytest.param(_package(name=["x"]), id="name-a-list"),
    pytest.param(_package(name="a\x00b"), id="name-nul"),
    pytest.param(_package(name="x" * 500), id="name-too-long"),
    pytest.param(_package(description=5), id="description-a-number"),
    pytest.param(_package(concurrencyLimit=10**30), id="limit-huge"),
    pytest.param(_package(concurrencyLimit="5"), id="limit-text"),
    pytest.param(_package(concurrencyLimit=True), id="limit-true"),
    pytest.param(_package(description="x" * (1024 * 1024 + 1)), id="too-large"),
]


@pytest.mark.parametrize("content", IMPORT_REFUSALS)
def test_import_refuses_junk_files_and_saves_nothing(world, owner, content):
    before = snapshot()

    upload = SimpleUploadedFile("flow.json", content)
    response = call(owner, "POST", reverse("automate:flow-import"), {"file": upload})

    assert response.status_code == 400
    assert response.context["import_form"].errors["file"]
    assert snapshot() == before


def test_import_without_a_file_says_to_choose_one(world, owner):
    before = snapshot()

    response = call(owner, "POST", reverse("automate:flow-import"), {"file": "not a file"})

    assert response.status_code == 400
    assert "Choose a file to import." in response.content.decode()
    assert snapshot() == before


def test_import_refuses_a_file_nested_too_deeply(world, owner):
    before = snapshot()

    upload = SimpleUploadedFile("flow.json", _deeply_nested().encode())
    response = call(owner, "POST", reverse("automate:flow-import"), {"file": upload})

    assert response.status_code == 400
    assert snapshot() == before


@pytest.mark.parametrize(
    ("data", "error"),
    [
        ({}, "This field is required."),
        ({"name": "   "}, "This field is required."),
        ({"name": "a\x00b"}, "Null characters are not allowed."),
        ({"name": "x" * 121}, "Ensure this value has at most 120 characters"),
    ],
    ids=["missing", "blank", "nul", "too-long"],
)
def test_using_a_template_refuses_a_bad_name_and_creates_nothing(world, owner, data, error):
    before = snapshot()

    response = call(owner, "POST", reverse("automate:template-use", args=[TEMPLATE_KEY]), data)

    assert response.status_code == 200
    assert error in response.content.decode()
    assert snapshot() == before


@pytest.mark.parametrize("enabled", ["\x00", "maybe", "1e999", ["1", "0"], "x" * 10_000])
def test_toggle_reads_any_value_as_on_or_off(world, owner, enabled):
    url = reverse("automate:flow-toggle", args=[world.flow.pk])

    response = call(owner, "POST", url, {"enabled": enabled})

    assert response.status_code == 302
    world.flow.refresh_from_db()
    assert world.flow.enabled in (True, False)
    assert FlowVersion.objects.filter(flow=world.flow).count() == 1


# -- Cancel and resubmit ----------------------------------------------------------------------


@pytest.mark.parametrize("persona", ["colleague", "outsider"])
@pytest.mark.parametrize("action", ["run-cancel", "run-resubmit"])
def test_cancel_and_resubmit_of_another_users_run_are_not_found(world, request, persona, action):
    client = browser(request.getfixturevalue(persona))
    before = snapshot()

    for run in (world.running_run, world.finished_run):
        response = call(client, "POST", reverse(f"automate:{action}", args=[run.pk]))
        assert response.status_code == 404
    assert snapshot() == before


def test_the_owner_cannot_reach_a_colleagues_or_foreign_run_either(world, owner):
    before = snapshot()

    for run in (world.their_run, world.foreign_run):
        for action in ("run-cancel", "run-resubmit", "run-detail"):
            method = "GET" if action == "run-detail" else "POST"
            response = call(owner, method, reverse(f"automate:{action}", args=[run.pk]))
            assert response.status_code == 404
    assert snapshot() == before


@pytest.mark.parametrize(
    "status", [RunStatus.SUCCEEDED, RunStatus.FAILED, RunStatus.CANCELLED, RunStatus.TIMED_OUT]
)
def test_cancelling_a_finished_run_says_it_has_ended_and_changes_nothing(world, owner, status):
    run = _run(world.flow, status)
    before = snapshot()

    response = call(owner, "POST", reverse("automate:run-cancel", args=[run.pk]))

    assert response.status_code == 302
    assert response["Location"] == reverse("automate:run-detail", args=[run.pk])
    label = RunStatus(status).label
    assert messages_of(response) == [f"The run has already ended ({label})."]
    assert snapshot() == before


def test_cancelling_twice_says_the_second_time_that_it_has_ended(world, owner):
    url = reverse("automate:run-cancel", args=[world.running_run.pk])

    call(owner, "POST", url)
    after_first = snapshot()
    response = call(owner, "POST", url)

    assert messages_of(response, "error") == ["The run has already ended (Cancelled)."]
    assert snapshot() == after_first


def test_resubmitting_a_run_of_a_switched_off_flow_says_so(world, owner, sales):
    flow_set_enabled(flow=world.flow, user=sales, enabled=False)
    before = snapshot()

    response = call(owner, "POST", reverse("automate:run-resubmit", args=[world.finished_run.pk]))

    assert response.status_code == 302
    assert response["Location"] == reverse("automate:run-detail", args=[world.finished_run.pk])
    assert messages_of(response) == [
        f"The flow '{world.flow.name}' is off; turn it on to resubmit its runs."
    ]
    assert snapshot() == before


def test_resubmitting_a_finished_run_starts_one_new_run(world, owner):
    known = set(FlowRun.objects.values_list("pk", flat=True))

    response = call(owner, "POST", reverse("automate:run-resubmit", args=[world.finished_run.pk]))

    [new] = FlowRun.objects.exclude(pk__in=known)
    assert response["Location"] == reverse("automate:run-detail", args=[new.pk])
    assert messages_of(response) == [f"The run was resubmitted as run {new.pk}."]
    assert new.resubmitted_from == world.finished_run
    assert new.trigger_data == world.finished_run.trigger_data


# -- Runs the pages must show whatever their data ---------------------------------------------


@pytest.mark.parametrize("body", [[1, 2], "plain text", 42, None, {"number": {"a": 1}}])
def test_a_run_whose_trigger_body_is_not_a_record_still_has_its_pages(world, owner, body):
    run = _run(world.flow, RunStatus.FAILED, body={})
    FlowRun.objects.filter(pk=run.pk).update(trigger_data={"body": body, "headers": {}})

    detail = call(owner, "GET", reverse("automate:run-detail", args=[run.pk]))
    progress = call(owner, "GET", f"{reverse('automate:run-progress')}?run={run.pk}")

    assert detail.status_code == progress.status_code == 200
    assert [r.pk for r in progress.context["runs"]] == [run.pk]
    assert detail.context["record_link"] == ""


def test_a_run_whose_trigger_data_is_not_an_object_still_has_its_pages(world, owner):
    run = _run(world.flow, RunStatus.FAILED)
    FlowRun.objects.filter(pk=run.pk).update(trigger_data=["not", "an", "object"])

    for url in (
        reverse("automate:run-detail", args=[run.pk]),
        f"{reverse('automate:run-progress')}?run={run.pk}",
        reverse("automate:run-list"),
        reverse("automate:home"),
    ):
        assert call(owner, "GET", url).status_code == 200


def test_a_document_without_stored_content_is_not_found(world, owner, company, sales):
    empty = Document.objects.create(company=company, name="empty.txt", file="", created_by=sales)
    lost = Document.objects.create(
        company=company, name="lost.txt", file="documents/lost.txt", created_by=sales
    )

    for document in (empty, lost):
        url = reverse("automate:document-download", args=[document.pk])
        response = call(owner, "GET", url)
        assert response.status_code == 404


def test_an_administrator_of_another_company_sees_nothing_of_this_one(world, other_company):
    boss = UserFactory(username="boss")
    MembershipFactory(user=boss, company=other_company, role="admin")
    client = browser(boss)

    before = snapshot()

    for endpoint in OWNED:
        for method in endpoint.methods:
            response = call(client, method, endpoint.url(world), endpoint.body(world))
            assert response.status_code == 404, (endpoint, method)
    assert snapshot() == before
