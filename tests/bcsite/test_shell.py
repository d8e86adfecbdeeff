"""The shell: top bar, navigation, Tell me, role centre, sign-in and sign-out, company switch."""

import datetime
import re
from decimal import Decimal

import pytest
from django.contrib.auth import SESSION_KEY as AUTH_SESSION_KEY
from django.urls import reverse
from django.utils import timezone

from bcsite.registry import TellMeEntry, registry
from bcsite.views import greeting, tell_me_search
from records.cues import list_page_for
from records.middleware import SESSION_KEY
from records.models import Customer, Item, PostedSalesInvoice, SalesOrder
from tests.factories import (
    CompanyFactory,
    CustomerFactory,
    ItemFactory,
    MembershipFactory,
    SalesOrderFactory,
    UserFactory,
)


def _page_for(model, kind):
    return next(p for p in registry.pages.values() if p.model is model and p.kind == kind)


def _cues(response):
    return {tile.label: tile for group in response.context["cue_groups"] for tile in group.tiles}


# -- The shell ------------------------------------------------------------------------------


def test_shell_shows_company_navigation_and_tell_me(sales_client):
    response = sales_client.get(reverse("home"))

    assert response.status_code == 200
    html = response.content.decode()
    assert "CRONUS USA, Inc." in html
    assert 'id="tellme-input"' in html
    assert 'hx-get="/tellme/"' in html
    assert "input changed delay:150ms" in html
    assert html.count('hx-headers=\'{"X-CSRFToken"') == 1
    assert "django_htmx/htmx-2.min.js" in html
    assert "bcsite/shell.css" in html
    assert "bcsite/pages.css" in html
    assert 'action="/accounts/logout/"' in html
    list_pages = [p for p in registry.pages.values() if p.kind == "list" and p.nav_group]
    assert list_pages, "records declares list pages for the navigation"
    for page in list_pages:
        assert f'href="{page.list_url()}"' in html, page.key


def test_navigation_groups_sales_before_inventory_before_finance(sales_client):
    names = [g.name for g in sales_client.get(reverse("home")).context["nav_groups"]]

    assert [n for n in names if n in ("Sales", "Inventory", "Finance")] == [
        "Sales",
        "Inventory",
        "Finance",
    ]


def test_navigation_marks_the_open_list_active(sales_client):
    orders = list_page_for(SalesOrder)

    response = sales_client.get(orders.list_url())

    assert response.status_code == 200
    active = [link.title for g in response.context["nav_groups"] for link in g.links if link.active]
    assert active == [orders.title]


def test_navigation_marks_only_the_closest_link_active(sales_client):
    # /automate/runs/ (Run history) leads above /automate/runs/in-progress/ too.
    response = sales_client.get(reverse("automate:runs-in-progress"))

    active = [link.title for g in response.context["nav_groups"] for link in g.links if link.active]
    assert active == ["Runs in progress"]


def test_anonymous_is_sent_to_sign_in(client, db):
    for url in (reverse("home"), reverse("tellme") + "?q=orders"):
        response = client.get(url)
        assert response.status_code == 302
        assert response.url.startswith(reverse("login") + "?next=")


def test_sign_in_page_and_sign_in(client, sales):
    page = client.get(reverse("login"))
    assert page.status_code == 200
    assert 'name="username"' in page.content.decode()

    response = client.post(reverse("login"), {"username": "sales", "password": "demo"})

    assert response.status_code == 302
    assert response.url == reverse("home")
    assert client.get(reverse("home")).status_code == 200


def test_sign_in_with_a_wrong_password_says_so(client, sales):
    response = client.post(reverse("login"), {"username": "sales", "password": "nope"})

    assert response.status_code == 200
    assert "enter a correct username and password" in response.content.decode()
    assert AUTH_SESSION_KEY not in client.session


def test_sign_out_only_by_post(sales_client):
    response = sales_client.get(reverse("logout"))
    assert response.status_code == 405
    assert sales_client.get(reverse("home")).status_code == 200

    response = sales_client.post(reverse("logout"))

    assert response.status_code == 302
    assert response.url == reverse("login")
    assert sales_client.get(reverse("home")).status_code == 302


def test_messages_show_as_a_notification_strip(sales_client, second_company):
    response = sales_client.post(
        reverse("company_switch"), {"company": second_company.pk}, follow=True
    )

    html = response.content.decode()
    assert 'class="notification notification-info"' in html
    assert "You are now working in Second Company." in html


# -- Users of no company --------------------------------------------------------------------


@pytest.fixture
def loner_client(client, db):
    client.force_login(UserFactory(username="loner"))
    return client


@pytest.mark.parametrize("url", ["/", "/tellme/?q=customers"])
def test_a_user_of_no_company_is_told_so(loner_client, url):
    response = loner_client.get(url)

    assert response.status_code == 403
    html = response.content.decode()
    assert "No company access" in html
    assert "not a member of any company" in html
    assert 'action="/accounts/logout/"' in html


# -- Tell me --------------------------------------------------------------------------------


def _entries(*labels):
    return [
        TellMeEntry(label=label, category="Lists", url=f"/{i}/") for i, label in enumerate(labels)
    ]


def test_tell_me_search_matches_words_in_any_order_ignoring_case():
    entries = _entries("Sales Orders", "Posted Sales Invoices", "Customers")

    assert [e.label for e in tell_me_search(entries, "ORDERS sales")] == ["Sales Orders"]
    assert [e.label for e in tell_me_search(entries, "sales")] == [
        "Sales Orders",
        "Posted Sales Invoices",
    ]
    assert tell_me_search(entries, "purchase") == []
    assert tell_me_search(entries, "   ") == []


def test_tell_me_search_ranks_starts_of_label_then_starts_of_words():
    entries = _entries("Unposted Invoices", "Invoices Posted Today", "Posted Invoices")

    found = tell_me_search(entries, "posted")

    assert [e.label for e in found] == [
        "Posted Invoices",
        "Invoices Posted Today",
        "Unposted Invoices",
    ]


def test_tell_me_finds_sales_orders(sales_client):
    orders = list_page_for(SalesOrder)

    for query in ("sales orders", "Orders Sales", "sales ord"):
        response = sales_client.get(reverse("tellme"), {"q": query})
        assert response.status_code == 200
        html = response.content.decode()
        assert "<html" in html
        assert f'href="{orders.list_url()}"' in html, query


def test_tell_me_finds_the_new_customer_action(sales_client):
    card = _page_for(Customer, "card")

    response = sales_client.get(reverse("tellme"), {"q": "new customer"})

    labels = {e.label: e.url for c in response.context["categories"] for e in c.entries}
    assert card.new_url() in labels.values()
    assert all("new" in label.lower() and "customer" in label.lower() for label in labels)


def test_tell_me_says_when_nothing_matches(sales_client):
    response = sales_client.get(reverse("tellme"), {"q": "zzzz qqqq"})

    assert response.status_code == 200
    assert "Nothing matches" in response.content.decode()


def test_tell_me_without_query_lists_every_page(sales_client):
    response = sales_client.get(reverse("tellme"))

    html = response.content.decode()
    for page in registry.pages.values():
        if page.kind == "list" and page.nav_group:
            assert f'href="{page.list_url()}"' in html


def test_tell_me_with_htmx_renders_the_dropdown_only(sales_client):
    orders = list_page_for(SalesOrder)

    response = sales_client.get(reverse("tellme"), {"q": "sales orders"}, HTTP_HX_REQUEST="true")

    assert response.status_code == 200
    html = response.content.decode()
    assert "<html" not in html
    assert "tellme-dropdown-panel" in html
    assert f'href="{orders.list_url()}"' in html
    assert "HX-Request" in response["Vary"]


def test_tell_me_dropdown_is_empty_for_an_empty_query(sales_client):
    response = sales_client.get(reverse("tellme"), {"q": " "}, HTTP_HX_REQUEST="true")

    assert response.status_code == 200
    assert response.content.decode().strip() == ""


def test_tell_me_refuses_post(sales_client):
    assert sales_client.post(reverse("tellme"), {"q": "x"}).status_code == 405


# -- Role centre ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("hour", "expected"),
    [(6, "Good morning"), (11, "Good morning"), (12, "Good afternoon"), (19, "Good evening")],
)
def test_greeting_follows_the_time_of_day(sales, hour, expected):
    now = timezone.make_aware(datetime.datetime(2026, 3, 2, hour, 30))

    assert greeting(sales, now) == f"{expected}, sales!"


@pytest.fixture
def activities(company, other_company):
    """Rows in every state in CRONUS, and a crowd in OTHER that must never be counted."""
    for status, n in [
        (SalesOrder.Status.OPEN, 3),
        (SalesOrder.Status.RELEASED, 2),
        (SalesOrder.Status.PENDING_APPROVAL, 1),
    ]:
        SalesOrderFactory.create_batch(n, company=company, status=status)
    SalesOrderFactory.create_batch(4, company=other_company, status=SalesOrder.Status.OPEN)
    SalesOrderFactory.create_batch(4, company=other_company, status=SalesOrder.Status.RELEASED)
    CustomerFactory(company=company, blocked=Customer.Blocked.ALL)
    CustomerFactory(company=company, blocked=Customer.Blocked.SHIP)
    CustomerFactory(company=company, blocked=Customer.Blocked.INVOICE)
    CustomerFactory(company=other_company, blocked=Customer.Blocked.ALL)
    ItemFactory(company=company, blocked=True)
    ItemFactory(company=other_company, blocked=True)
    today = timezone.localdate()
    customer = CustomerFactory(company=company)
    for no, posting_date in [("PSI1", today), ("PSI2", today - datetime.timedelta(days=1))]:
        PostedSalesInvoice.objects.create(
            company=company,
            no=no,
            customer=customer,
            sell_to_customer_name=customer.name,
            posting_date=posting_date,
            amount=Decimal("10"),
            amount_including_vat=Decimal("12.50"),
        )


def test_role_centre_greets_and_counts_the_company_rows(sales_client, activities):
    response = sales_client.get(reverse("home"))

    assert response.status_code == 200
    html = response.content.decode()
    assert re.search(r"Good (morning|afternoon|evening), sales!", html)
    counts = {label: tile.count for label, tile in _cues(response).items()}
    assert counts["Sales Orders - Open"] == 3
    assert counts["Sales Orders - Released"] == 2
    assert counts["Sales Orders - Pending Approval"] == 1
    assert counts["Customers - Blocked"] == 3
    assert counts["Items - Blocked"] == 1
    assert counts["Posted Sales Invoices - Today"] == 1
    assert 'class="cue' in html and "Sales Orders - Open" in html


def test_cues_link_to_the_lists_filtered_to_what_they_count(sales_client, activities, company):
    tiles = _cues(sales_client.get(reverse("home")))
    orders = list_page_for(SalesOrder)
    assert tiles["Sales Orders - Open"].url == orders.list_url(status="open")
    assert tiles["Sales Orders - Released"].url == orders.list_url(status="released")
    assert tiles["Sales Orders - Pending Approval"].url == orders.list_url(
        status="pending_approval"
    )

    listed = sales_client.get(tiles["Sales Orders - Released"].url)

    assert listed.status_code == 200
    html = listed.content.decode()
    for order in SalesOrder.objects.filter(company=company):
        assert (order.no in html) == (order.status == SalesOrder.Status.RELEASED), order.no


@pytest.mark.parametrize(
    ("label", "model", "shown"),
    [
        ("Customers - Blocked", Customer, lambda c: c.blocked != Customer.Blocked.NONE),
        ("Items - Blocked", Item, lambda i: i.blocked),
        (
            "Posted Sales Invoices - Today",
            PostedSalesInvoice,
            lambda i: i.posting_date == timezone.localdate(),
        ),
    ],
)
def test_other_cues_open_lists_of_exactly_the_counted_rows(
    sales_client, activities, company, label, model, shown
):
    tile = _cues(sales_client.get(reverse("home")))[label]

    html = sales_client.get(tile.url).content.decode()

    rows = model.objects.filter(company=company)
    assert sum(1 for row in rows if shown(row)) == tile.count
    for row in rows:
        assert (f">{row.no}<" in html) == bool(shown(row)), row.no


def test_role_centre_queries_do_not_grow_with_rows(
    sales_client, company, django_assert_max_num_queries
):
    SalesOrderFactory.create_batch(30, company=company)
    # Session, user, company, memberships, one count per cue.
    with django_assert_max_num_queries(5 + len(registry.cues)):
        assert sales_client.get(reverse("home")).status_code == 200


def test_role_centre_refuses_post(sales_client):
    assert sales_client.post(reverse("home")).status_code == 405


# -- Company switch -------------------------------------------------------------------------


@pytest.fixture
def second_company(sales):
    second = CompanyFactory(name="SECOND", display_name="Second Company")
    MembershipFactory(user=sales, company=second)
    return second


def test_company_switcher_shows_only_with_several_companies(sales_client, sales, company):
    assert 'name="company"' not in sales_client.get(reverse("home")).content.decode()
    other = CompanyFactory(name="SECOND", display_name="Second Company")
    MembershipFactory(user=sales, company=other)

    html = sales_client.get(reverse("home")).content.decode()

    assert f'name="company" value="{other.pk}"' in html
    assert f'name="company" value="{company.pk}"' in html


def test_company_switch_moves_the_user_to_their_other_company(sales_client, second_company):
    response = sales_client.post(reverse("company_switch"), {"company": second_company.pk})

    assert response.status_code == 302
    assert response.url == reverse("home")
    assert sales_client.session[SESSION_KEY] == second_company.pk
    assert sales_client.get(reverse("home")).context["company"] == second_company


def test_company_switch_refuses_a_company_the_user_is_not_in(sales_client, other_company):
    response = sales_client.post(reverse("company_switch"), {"company": other_company.pk})

    assert response.status_code == 404
    assert SESSION_KEY not in sales_client.session
    assert sales_client.get(reverse("home")).context["company"].name == "CRONUS"


@pytest.mark.parametrize("value", ["", "abc", "1; drop", "²", "9" * 40])
def test_company_switch_refuses_garbage(sales_client, value):
    assert sales_client.post(reverse("company_switch"), {"company": value}).status_code == 404


def test_company_switch_refuses_get(sales_client, second_company):
    response = sales_client.get(reverse("company_switch"), {"company": second_company.pk})

    assert response.status_code == 405
    assert SESSION_KEY not in sales_client.session


def test_company_switch_requires_sign_in(client, second_company):
    response = client.post(reverse("company_switch"), {"company": second_company.pk})

    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


def test_an_expired_session_sends_htmx_requests_to_sign_in_as_a_whole_page(client):
    response = client.get(
        "/customers/lookup/?field=customer&customer=C1",
        headers={"HX-Request": "true", "HX-Current-URL": "http://testserver/sales-orders/7/"},
    )

    assert response.status_code == 200
    assert response["HX-Redirect"] == "/accounts/login/?next=/sales-orders/7/"
