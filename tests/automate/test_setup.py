"""Power Automate Setup: the organisation-wide switch, each user's permission, the opt-in when
each user decides, and what the switch does everywhere (pages, the Automate group, the
navigation, automated flows, the HTTP trigger). The API's side is in test_setup_api.py."""

from __future__ import annotations

import datetime

import pytest
from django.contrib.messages import get_messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.html import escape

import automate.automate_group  # noqa: F401  (registers the group)
from automate.access import automate_refusal
from automate.models import AutomateSetup, AutomateUserAccess, FlowRun, TriggerEvent
from automate.services import flow_create
from automate.services.setup import (
    automate_opt_in,
    automate_opt_out,
    automate_setup_set_mode,
    automate_user_access_set,
)
from bcsite.models import AuditEntry
from bcsite.registry import registry
from records import services as records
from records.models import Membership
from tests.automate.test_http_trigger import call, http_flow
from tests.factories import CustomerFactory, MembershipFactory, SalesOrderFactory, UserFactory

pytestmark = pytest.mark.django_db

ON, OFF, DECIDE = AutomateSetup.Mode.ON, AutomateSetup.Mode.OFF, AutomateSetup.Mode.USERS_DECIDE
AREA = "Power Automate setup"
WHO = "A company administrator (admin) can turn it on in Power Automate Setup."
CUSTOMER_LIST = registry.pages["customer_list"]
CUSTOMER_CARD = registry.pages["customer_card"]
SALES_ORDER = registry.pages["sales_order"]
INSTANT = {"type": "selected_record", "table": 18, "inputs": []}
MODIFIED = {"type": "record_modified", "table": 18}
# The navigation's Power Automate entries that follow the switch.
AUTOMATE_NAV = {
    "Automate",
    "My flows",
    "Templates",
    "Run history",
    "Runs in progress",
    "Business Events",
}
COMPOSE = [{"name": "Compose", "type": "data.compose", "inputs": {"value": "x"}}]


def make_flow(company, owner, trigger, name):
    return flow_create(
        company=company,
        owner=owner,
        name=name,
        definition={"schemaVersion": 1, "trigger": trigger, "steps": COMPOSE},
    )


def messages_of(response) -> list[str]:
    """The messages the page shows (``response`` followed its redirect, so each request's
    messages are shown once and do not pile up)."""
    assert response.redirect_chain, "follow the redirect to see the messages shown"
    return [str(m) for m in get_messages(response.wsgi_request)]


def automate_items(response) -> list[str] | None:
    """The keys of the Automate group's actions on the page, or None without the group."""
    groups = {g.key: g for g in response.context["actionbar"].groups}
    if "automate" not in groups:
        return None
    return [item.key for item in groups["automate"].items]


def nav_titles(response, group="Power Automate") -> list[str]:
    for nav in response.context["nav_groups"]:
        if nav.name == group:
            return [link.title for link in nav.links]
    return []


@pytest.fixture
def adatum(company):
    return CustomerFactory(company=company, no="C10000", name="Adatum Corporation")


@pytest.fixture
def order(company, adatum):
    return SalesOrderFactory(company=company, customer=adatum)


@pytest.fixture
def instant(company, sales):
    return make_flow(company, sales, INSTANT, "Notify sales")


@pytest.fixture
def automated(company, sales):
    return make_flow(company, sales, MODIFIED, "Customer changed")


@pytest.fixture
def admin_client(admin_user):
    client = Client()
    client.force_login(admin_user)
    return client


@pytest.fixture(params=["off for everyone", "off for the user"])
def switch(request, company, sales, admin_user):
    """Turns Power Automate off for ``sales`` (one way or the other) and back on."""

    class Switch:
        how = request.param

        def off(self):
            if self.how == "off for everyone":
                automate_setup_set_mode(company=company, mode=OFF, by=admin_user)
            else:
                automate_user_access_set(
                    company=company, users=[sales], allowed=False, by=admin_user
                )

        def on(self):
            if self.how == "off for everyone":
                automate_setup_set_mode(company=company, mode=ON, by=admin_user)
            else:
                automate_user_access_set(
                    company=company, users=[sales], allowed=True, by=admin_user
                )

    return Switch()


# -- Who the switch refuses ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "mode, access, expected",
    [
        (None, None, None),
        (ON, None, None),
        (ON, "opted in", None),
        (ON, "denied", "Power Automate is turned off for sales in"),
        (OFF, None, "Power Automate is turned off for everyone in"),
        (OFF, "opted in", "Power Automate is turned off for everyone in"),
        (OFF, "denied", "Power Automate is turned off for everyone in"),
        (DECIDE, None, "sales has not started using Power Automate"),
        (DECIDE, "opted in", None),
        (DECIDE, "denied", "Power Automate is turned off for sales in"),
        (DECIDE, "denied, opted in", "Power Automate is turned off for sales in"),
    ],
)
def test_the_refusal_follows_the_mode_and_the_users_permission(
    company, sales, admin_user, mode, access, expected
):
    if mode is not None:
        AutomateSetup.objects.create(company=company, mode=mode)
    if access is not None:
        AutomateUserAccess.objects.create(
            company=company,
            user=sales,
            allowed="denied" not in access,
            opted_in_at=timezone.now() if "opted in" in access else None,
        )

    refusal = automate_refusal(sales, company.pk)

    if expected is None:
        assert refusal is None
    elif mode == DECIDE and access is None:
        assert refusal.startswith(expected)
        assert "Get started with Power Automate" in refusal
    else:
        assert refusal.startswith(expected)
        assert refusal.endswith(WHO)


def test_the_switch_of_one_company_does_not_touch_another(
    company, other_company, sales, outsider, admin_user
):
    automate_setup_set_mode(company=company, mode=OFF, by=admin_user)
    assert automate_refusal(sales, company.pk)
    assert automate_refusal(outsider, other_company.pk) is None


# -- Power Automate off for a user --------------------------------------------------------------


def test_pages_show_no_automate_group_while_it_is_off(sales_client, switch, adatum, order, instant):
    pages = [CUSTOMER_LIST.list_url(), CUSTOMER_CARD.card_url(adatum), SALES_ORDER.card_url(order)]
    for url in pages:
        assert automate_items(sales_client.get(url)) is not None, url

    switch.off()

    for url in pages:
        response = sales_client.get(url)
        assert response.status_code == 200
        assert automate_items(response) is None, url
        assert 'data-group="automate"' not in response.content.decode()
        assert instant.name not in response.content.decode()


def _automate_pages(flow) -> list[str]:
    return [
        reverse("automate:home"),
        reverse("automate:flow-list"),
        reverse("automate:flow-new"),
        reverse("automate:flow-edit", args=[flow.pk]),
        reverse("automate:flow-runs", args=[flow.pk]),
        reverse("automate:run-list"),
        reverse("automate:runs-in-progress"),
        reverse("automate:gallery"),
        reverse("automate:business-events"),
    ]


def test_every_power_automate_page_refuses_with_who_can_turn_it_on(
    sales_client, switch, company, sales, instant
):
    switch.off()
    refusal = automate_refusal(sales, company.pk)
    assert refusal.endswith(WHO)

    for url in _automate_pages(instant):
        response = sales_client.get(url)
        assert response.status_code == 403, url
        assert escape(refusal) in response.content.decode(), url
    response = sales_client.post(
        reverse("automate:flow-toggle", args=[instant.pk]), {"enabled": "false"}
    )
    assert response.status_code == 403
    instant.refresh_from_db()
    assert instant.enabled


def test_running_their_instant_flow_from_a_page_is_not_found_while_it_is_off(
    sales_client, switch, adatum, instant
):
    url = CUSTOMER_CARD.url("action", adatum.pk, f"run-flow-{instant.pk}")
    switch.off()

    assert sales_client.get(url).status_code == 404
    assert sales_client.post(url, {"confirmed": "1"}).status_code == 404
    assert not FlowRun.objects.exists()


def test_their_automated_flows_do_not_start_and_the_event_says_why(
    switch, company, sales, admin_user, adatum, automated, django_capture_on_commit_callbacks
):
    switch.off()

    with django_capture_on_commit_callbacks(execute=True):
        records.customer_update(customer=adatum, user=admin_user, city="Oslo")

    assert not FlowRun.objects.filter(flow=automated).exists()
    event = TriggerEvent.objects.get(flow=automated)
    assert event.status == TriggerEvent.Status.SKIPPED
    assert automate_refusal(sales, company.pk) in event.reason


def test_the_navigation_hides_power_automate_but_not_its_setup_for_admins(
    sales_client, admin_client, switch
):
    assert "My flows" in nav_titles(sales_client.get(reverse("home")))
    assert "Power Automate Setup" not in nav_titles(sales_client.get(reverse("home")))

    switch.off()

    assert not set(nav_titles(sales_client.get(reverse("home")))) & AUTOMATE_NAV
    admin_titles = nav_titles(admin_client.get(reverse("home")))
    assert "Power Automate Setup" in admin_titles
    if switch.how == "off for everyone":
        assert not set(admin_titles) & AUTOMATE_NAV
    else:
        assert set(admin_titles) >= AUTOMATE_NAV


def test_switched_back_on_everything_works_again(
    sales_client,
    switch,
    company,
    admin_user,
    adatum,
    order,
    instant,
    automated,
    django_capture_on_commit_callbacks,
):
    switch.off()
    switch.on()

    assert automate_items(sales_client.get(SALES_ORDER.card_url(order))) is not None
    card = sales_client.get(CUSTOMER_CARD.card_url(adatum))
    assert f"run-flow-{instant.pk}" in automate_items(card)
    for url in _automate_pages(instant):
        assert sales_client.get(url).status_code == 200, url
    action = CUSTOMER_CARD.url("action", adatum.pk, f"run-flow-{instant.pk}")
    assert sales_client.post(action, {"confirmed": "1"}).status_code == 302
    assert FlowRun.objects.filter(flow=instant).count() == 1
    with django_capture_on_commit_callbacks(execute=True):
        records.customer_update(customer=adatum, user=admin_user, city="Oslo")
    assert FlowRun.objects.filter(flow=automated).count() == 1
    assert TriggerEvent.objects.get(flow=automated).status == TriggerEvent.Status.STARTED


def test_the_http_trigger_answers_for_the_flows_owner_not_for_the_caller(
    client, company, sales, colleague, admin_user
):
    """Partners call the hook; whoever's session cookie comes along does not matter, the
    flow owner's access does."""
    flow = http_flow(company, sales)
    automate_user_access_set(company=company, users=[colleague], allowed=False, by=admin_user)
    client.force_login(colleague)

    assert call(client, flow, {"n": 1}).status_code == 202

    automate_user_access_set(company=company, users=[sales], allowed=False, by=admin_user)
    response = call(client, flow, {"n": 2})
    assert response.status_code == 403
    assert response.json()["error"]["message"] == automate_refusal(sales, company.pk)
    assert FlowRun.objects.filter(flow=flow).count() == 1


# -- Let each user decide -----------------------------------------------------------------------


def test_before_opting_in_the_group_offers_only_get_started(
    sales_client,
    company,
    admin_user,
    adatum,
    instant,
    automated,
    django_capture_on_commit_callbacks,
):
    automate_setup_set_mode(company=company, mode=DECIDE, by=admin_user)

    card = sales_client.get(CUSTOMER_CARD.card_url(adatum))
    assert automate_items(card) == ["get-started"]
    assert instant.name not in card.content.decode()
    titles = nav_titles(card)
    assert "Get started with Power Automate" in titles
    assert not set(titles) & AUTOMATE_NAV
    assert sales_client.get(reverse("automate:home")).status_code == 403
    with django_capture_on_commit_callbacks(execute=True):
        records.customer_update(customer=adatum, user=admin_user, city="Oslo")
    assert "has not started using Power Automate" in TriggerEvent.objects.get().reason


def test_opting_in_brings_the_flows_and_pages_and_comes_back(
    sales_client, company, sales, admin_user, adatum, instant
):
    automate_setup_set_mode(company=company, mode=DECIDE, by=admin_user)
    back = CUSTOMER_CARD.card_url(adatum)
    page = sales_client.get(reverse("automate:get-started") + f"?next={back}")
    assert page.status_code == 200
    assert "Get started with Power Automate</button>" in page.content.decode()
    assert f'name="next" value="{back}"' in page.content.decode()

    response = sales_client.post(reverse("automate:get-started"), {"next": back})

    assert response.status_code == 302
    assert response["Location"] == back
    card = sales_client.get(back)
    assert f"run-flow-{instant.pk}" in automate_items(card)
    assert "My flows" in nav_titles(card)
    assert sales_client.get(reverse("automate:home")).status_code == 200
    access = AutomateUserAccess.objects.get(company=company, user=sales)
    assert access.opted_in_at is not None
    entry = AuditEntry.objects.get(area=AREA, action="opted in")
    assert (entry.actor, entry.object_repr) == (sales, "sales")
    assert entry.before == {"opted_in_at": None}
    assert entry.after == {"opted_in_at": access.opted_in_at.isoformat()}


@pytest.mark.parametrize("next_url", ["https://evil.example/", "//evil.example/x", ""])
def test_opting_in_never_leaves_the_site(sales_client, company, admin_user, next_url):
    automate_setup_set_mode(company=company, mode=DECIDE, by=admin_user)

    response = sales_client.post(reverse("automate:get-started"), {"next": next_url})

    assert response["Location"] == reverse("automate:home")


def test_stopping_brings_back_get_started(
    sales_client, company, sales, admin_user, adatum, instant
):
    automate_setup_set_mode(company=company, mode=DECIDE, by=admin_user)
    sales_client.post(reverse("automate:get-started"))
    page = sales_client.get(reverse("automate:get-started")).content.decode()
    assert "Stop using Power Automate" in page

    response = sales_client.post(reverse("automate:opt-out"), follow=True)

    assert "You stopped using Power Automate" in response.content.decode()
    assert automate_items(sales_client.get(CUSTOMER_CARD.card_url(adatum))) == ["get-started"]
    entry = AuditEntry.objects.get(area=AREA, action="opted out")
    assert entry.after == {"opted_in_at": None}
    assert entry.before["opted_in_at"]


@pytest.mark.parametrize("how", ["off for everyone", "off for the user"])
def test_get_started_is_refused_where_an_admin_turned_it_off(
    sales_client, company, sales, admin_user, how
):
    if how == "off for everyone":
        automate_setup_set_mode(company=company, mode=OFF, by=admin_user)
    else:
        automate_setup_set_mode(company=company, mode=DECIDE, by=admin_user)
        automate_user_access_set(company=company, users=[sales], allowed=False, by=admin_user)
    refusal = automate_refusal(sales, company.pk)
    entries = AuditEntry.objects.count()

    page = sales_client.get(reverse("automate:get-started"))
    response = sales_client.post(reverse("automate:get-started"))

    assert page.status_code == 200
    assert escape(refusal) in page.content.decode()
    assert "</button>" not in page.content.decode().split("Power Automate and you")[1]
    assert response.status_code == 403
    assert escape(refusal) in response.content.decode()
    assert not AutomateUserAccess.objects.filter(opted_in_at__isnull=False).exists()
    assert AuditEntry.objects.count() == entries


def test_get_started_says_there_is_nothing_to_start_when_it_is_on(sales_client, sales, company):
    page = sales_client.get(reverse("automate:get-started")).content.decode()
    assert "on for everyone" in page
    sales_client.post(reverse("automate:get-started"))
    assert not AutomateUserAccess.objects.filter(opted_in_at__isnull=False).exists()
    assert not AuditEntry.objects.exists()


def test_get_started_refuses_strangers_and_other_methods(sales_client):
    client = Client()
    url = reverse("automate:get-started")
    assert client.get(url).status_code == 302
    assert client.post(url).status_code == 302
    assert client.post(reverse("automate:opt-out")).status_code == 302
    assert sales_client.put(url).status_code == 405
    assert sales_client.get(reverse("automate:opt-out")).status_code == 405
    assert not AutomateUserAccess.objects.exists()


# -- The setup page -----------------------------------------------------------------------------


def test_the_setup_page_lists_the_users_with_their_access(
    admin_client, company, sales, colleague, admin_user
):
    make_flow(company, sales, INSTANT, "One")
    make_flow(company, sales, INSTANT, "Two")
    automate_user_access_set(company=company, users=[colleague], allowed=False, by=admin_user)

    response = admin_client.get(reverse("automate:setup"))

    assert response.status_code == 200
    rows = {row.membership.user.username: row for row in response.context["rows"]}
    assert list(rows) == ["admin", "colleague", "sales"]
    assert (rows["sales"].allowed, rows["sales"].flow_count) == (True, 2)
    assert (rows["colleague"].allowed, rows["colleague"].flow_count) == (False, 0)
    assert rows["admin"].membership.get_role_display() == "Administrator"
    assert [m.checked for m in response.context["modes"]] == [True, False, False]
    html = response.content.decode()
    for label in ("On for everyone", "Off for everyone", "Let each user decide"):
        assert label in html
    assert "Allow selected" in html and "Turn off for selected" in html


def test_the_setup_page_links_to_reassigning_flows_where_that_page_exists(admin_client, sales):
    response = admin_client.get(reverse("automate:setup"))
    try:
        url = reverse("automate:flows-reassign", args=[sales.pk])
    except NoReverseMatch:
        assert "Reassign flows" not in response.content.decode()
    else:
        assert f'href="{url}"' in response.content.decode()


def test_the_setup_page_shows_when_each_user_started(admin_client, company, sales, admin_user):
    automate_setup_set_mode(company=company, mode=DECIDE, by=admin_user)
    automate_opt_in(company=company, user=sales)

    response = admin_client.get(reverse("automate:setup"))

    rows = {row.membership.user.username: row for row in response.context["rows"]}
    assert rows["sales"].opted_in_at is not None
    assert rows["admin"].opted_in_at is None
    assert "Started using" in response.content.decode()


def test_the_users_list_costs_the_same_queries_for_3_and_20_users(admin_client, company):
    def add_users(count):
        for _ in range(count):
            user = UserFactory()
            MembershipFactory(user=user, company=company)
            AutomateUserAccess.objects.create(company=company, user=user, allowed=False)
            make_flow(company, user, INSTANT, f"Flow of {user.username}")

    add_users(2)  # and admin: 3
    admin_client.get(reverse("automate:setup"))
    with CaptureQueriesContext(connection) as three:
        response = admin_client.get(reverse("automate:setup"))
    assert len(response.context["rows"]) == 3
    add_users(17)

    with CaptureQueriesContext(connection) as twenty:
        response = admin_client.get(reverse("automate:setup"))

    assert len(response.context["rows"]) == 20
    assert len(twenty.captured_queries) == len(three.captured_queries)


def test_only_administrators_reach_the_setup(sales_client, company):
    urls = [reverse("automate:setup-mode"), reverse("automate:setup-users")]
    response = sales_client.get(reverse("automate:setup"))
    assert response.status_code == 403
    assert "Only administrators of the company" in response.content.decode()
    for url in urls:
        assert sales_client.post(url, {"mode": OFF, "allowed": "false"}).status_code == 403
    assert Client().get(reverse("automate:setup")).status_code == 302
    assert not AutomateSetup.objects.exists()
    assert not AuditEntry.objects.exists()


def test_an_admin_of_another_company_changes_only_their_own(
    company, other_company, sales, outsider
):
    Membership.objects.filter(user=outsider).update(role=Membership.Role.ADMIN)
    client = Client()
    client.force_login(outsider)

    client.post(reverse("automate:setup-mode"), {"mode": OFF}, follow=True)
    response = client.post(
        reverse("automate:setup-users"), {"user": [sales.pk], "allowed": "false"}, follow=True
    )

    assert AutomateSetup.objects.get().company == other_company
    assert automate_refusal(sales, company.pk) is None
    assert not AutomateUserAccess.objects.exists()
    assert f"Not users of {other_company}: user id {sales.pk}" in messages_of(response)[0]
    assert "sales" not in messages_of(response)[0]


def test_get_changes_nothing(admin_client, company, sales):
    admin_client.get(reverse("automate:setup"), {"mode": OFF, "user": sales.pk, "allowed": "false"})
    assert admin_client.get(reverse("automate:setup-mode"), {"mode": OFF}).status_code == 405
    assert admin_client.get(reverse("automate:setup-users"), {"user": sales.pk}).status_code == 405
    assert not AutomateSetup.objects.exists()
    assert not AutomateUserAccess.objects.exists()
    assert not AuditEntry.objects.exists()


def test_changing_the_mode_writes_the_audit_log(admin_client, company, admin_user):
    response = admin_client.post(reverse("automate:setup-mode"), {"mode": OFF}, follow=True)

    assert AutomateSetup.objects.get(company=company).mode == OFF
    assert "Power Automate is now set to: Off for everyone." in response.content.decode()
    entry = AuditEntry.objects.get()
    assert (entry.company, entry.actor, entry.area, entry.action) == (
        company,
        admin_user,
        AREA,
        "turned off",
    )
    assert entry.before == {"mode": "On for everyone"}
    assert entry.after == {"mode": "Off for everyone"}

    admin_client.post(reverse("automate:setup-mode"), {"mode": DECIDE}, follow=True)
    response = admin_client.post(reverse("automate:setup-mode"), {"mode": DECIDE}, follow=True)

    assert "already set to: Let each user decide" in messages_of(response)[0]
    entries = list(AuditEntry.objects.order_by("pk").values_list("action", "before", "after"))
    assert entries[1:] == [
        ("changed", {"mode": "Off for everyone"}, {"mode": "Let each user decide"})
    ]


@pytest.mark.parametrize("mode", ["sideways", "", "ON", "on "])
def test_an_unknown_mode_is_refused_with_a_message(admin_client, company, mode):
    response = admin_client.post(reverse("automate:setup-mode"), {"mode": mode}, follow=True)

    assert response.status_code == 200
    assert "Choose one of &quot;On for everyone&quot;" in response.content.decode()
    assert not AutomateSetup.objects.exists()
    assert not AuditEntry.objects.exists()


def test_the_admin_reaches_the_setup_while_it_is_off_for_everyone(admin_client, company):
    admin_client.post(reverse("automate:setup-mode"), {"mode": OFF})
    assert admin_client.get(reverse("automate:home")).status_code == 403

    assert admin_client.get(reverse("automate:setup")).status_code == 200
    admin_client.post(reverse("automate:setup-mode"), {"mode": ON})

    assert admin_client.get(reverse("automate:home")).status_code == 200


def test_bulk_toggles_write_one_entry_per_changed_user(
    admin_client, company, sales, colleague, admin_user
):
    url = reverse("automate:setup-users")

    response = admin_client.post(
        url, {"user": [sales.pk, colleague.pk], "allowed": "false"}, follow=True
    )

    assert messages_of(response) == [
        "Power Automate is now turned off for colleague, sales. Their automated flows do not start."
    ]
    assert automate_refusal(sales, company.pk) and automate_refusal(colleague, company.pk)
    entries = AuditEntry.objects.order_by("pk")
    assert [(e.action, e.object_repr, e.before, e.after) for e in entries] == [
        ("denied", "colleague", {"allowed": True}, {"allowed": False}),
        ("denied", "sales", {"allowed": True}, {"allowed": False}),
    ]
    assert all(e.actor == admin_user and e.area == AREA for e in entries)

    admin_client.post(url, {"user": [sales.pk, admin_user.pk], "allowed": "false"}, follow=True)
    assert AuditEntry.objects.count() == 3
    assert AuditEntry.objects.latest("pk").object_repr == "admin"

    response = admin_client.post(url, {"user": [sales.pk], "allowed": "true"}, follow=True)
    assert messages_of(response) == ["Power Automate is now allowed for sales."]
    assert automate_refusal(sales, company.pk) is None
    latest = AuditEntry.objects.latest("pk")
    assert (latest.action, latest.before, latest.after) == (
        "allowed",
        {"allowed": False},
        {"allowed": True},
    )

    response = admin_client.post(url, {"user": [sales.pk], "allowed": "true"}, follow=True)
    assert "already allowed" in messages_of(response)[0]
    assert AuditEntry.objects.count() == 4


@pytest.mark.parametrize(
    "data, message",
    [
        ({"user": ["OUTSIDER"], "allowed": "false"}, "Not users of"),
        ({"user": ["SALES", "OUTSIDER"], "allowed": "false"}, "Not users of"),
        ({"user": ["x"], "allowed": "false"}, "are not users of the company"),
        ({"user": ["-1"], "allowed": "false"}, "are not users of the company"),
        ({"user": ["9" * 40], "allowed": "false"}, "are not users of the company"),
        ({"user": ["SALES"], "allowed": "maybe"}, "Choose Allow selected or Turn off"),
        ({"user": ["SALES"]}, "Choose Allow selected or Turn off"),
        ({"allowed": "false"}, "Select at least one user."),
    ],
)
def test_bad_user_changes_are_refused_with_a_message(
    admin_client, company, sales, outsider, data, message
):
    ids = {"SALES": str(sales.pk), "OUTSIDER": str(outsider.pk)}
    if "user" in data:
        data = {**data, "user": [ids.get(value, value) for value in data["user"]]}

    response = admin_client.post(reverse("automate:setup-users"), data, follow=True)

    assert response.status_code == 200
    assert message in response.content.decode()
    assert not AutomateUserAccess.objects.filter(allowed=False).exists()
    assert not AuditEntry.objects.exists()


def test_the_setup_page_shows_skipped_trigger_events_with_their_reason(
    admin_client, company, sales, admin_user, adatum, automated, django_capture_on_commit_callbacks
):
    automate_user_access_set(company=company, users=[sales], allowed=False, by=admin_user)
    with django_capture_on_commit_callbacks(execute=True):
        records.customer_update(customer=adatum, user=admin_user, city="Oslo")

    response = admin_client.get(reverse("automate:setup"))

    (event,) = response.context["skipped"]
    assert event.flow == automated
    html = response.content.decode()
    assert escape(event.reason) in html
    assert "Power Automate is turned off for sales" in event.reason
    assert reverse("automate:flow-runs", args=[automated.pk]) in html


def test_skipped_events_cost_the_same_queries_for_1_and_many(
    admin_client, company, sales, colleague, admin_user
):
    flows = [make_flow(company, owner, MODIFIED, f"Flow {owner}") for owner in (sales, colleague)]

    def skip(count):
        for n in range(count):
            TriggerEvent.objects.create(
                flow=flows[n % 2],
                company=company,
                key=f"test:{TriggerEvent.objects.count()}",
                trigger_type="record_modified",
                status=TriggerEvent.Status.SKIPPED,
                reason="Because.",
                created_at=timezone.now() - datetime.timedelta(minutes=n),
            )

    skip(1)
    admin_client.get(reverse("automate:setup"))
    with CaptureQueriesContext(connection) as one:
        admin_client.get(reverse("automate:setup"))
    skip(60)

    with CaptureQueriesContext(connection) as many:
        response = admin_client.get(reverse("automate:setup"))

    assert len(response.context["skipped"]) == 50
    assert len(many.captured_queries) == len(one.captured_queries)


# -- The services on their own ------------------------------------------------------------------


def test_the_services_refuse_users_of_other_companies(company, sales, outsider, admin_user):
    with pytest.raises(ValidationError):
        automate_user_access_set(company=company, users=[outsider], allowed=False, by=admin_user)
    with pytest.raises(ValidationError):
        automate_opt_in(company=company, user=outsider)
    with pytest.raises(ValidationError):
        automate_opt_out(company=company, user=outsider)
    with pytest.raises(ValidationError):
        automate_user_access_set(company=company, users=[], allowed=False, by=admin_user)
    with pytest.raises(ValidationError):
        automate_setup_set_mode(company=company, mode="nope", by=admin_user)
    assert not AutomateUserAccess.objects.exists()
    assert not AuditEntry.objects.exists()


def test_opting_in_is_refused_where_the_user_is_turned_off(company, sales, admin_user):
    automate_setup_set_mode(company=company, mode=DECIDE, by=admin_user)
    automate_user_access_set(company=company, users=[sales], allowed=False, by=admin_user)

    with pytest.raises(PermissionDenied, match="turned off for sales"):
        automate_opt_in(company=company, user=sales)

    assert AutomateUserAccess.objects.get(user=sales).opted_in_at is None


def test_an_opt_in_outlives_a_mode_change(company, sales, admin_user):
    automate_setup_set_mode(company=company, mode=DECIDE, by=admin_user)
    assert automate_opt_in(company=company, user=sales)
    assert not automate_opt_in(company=company, user=sales)

    automate_setup_set_mode(company=company, mode=OFF, by=admin_user)
    assert automate_refusal(sales, company.pk)
    automate_setup_set_mode(company=company, mode=DECIDE, by=admin_user)

    assert automate_refusal(sales, company.pk) is None
