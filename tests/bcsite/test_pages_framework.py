"""The page framework's extension points and guarantees, seen from another app.

Providers add action groups to every page, custom actions join any group, FactBoxes can be
registered for one page or all; pages registered at run time are served; every endpoint
checks sign-in, company and method.
"""

import datetime
from decimal import Decimal

import pytest
from django import forms
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.test import Client

from bcsite.pages import card_url_for, tell_me_entries
from bcsite.pages.base import Action, ActionGroup, Column, FactBox, FactRow, ListPage
from bcsite.pages.display import display
from bcsite.registry import registry
from records.models import Customer, SalesOrder
from tests.factories import CustomerFactory, ItemFactory, SalesOrderFactory, UserFactory

CUSTOMERS = registry.pages["customer_list"]
CUSTOMER = registry.pages["customer_card"]
ORDER = registry.pages["sales_order"]


@pytest.fixture
def customer(company):
    return CustomerFactory(company=company, no="C10000", name="Adatum")


@pytest.fixture
def calls():
    return []


@pytest.fixture
def automate(monkeypatch, calls):
    """A provider like the Automate group: one record action, one list action, one link."""

    def run_on_record(request, record):
        calls.append(("record", record))
        return f"Flow started for {record.no}."

    def run_on_rows(request, rows):
        calls.append(("rows", sorted(r.no for r in rows)))
        return f"Flow started for {len(rows)} rows."

    def provider(page, request, obj):
        return [
            ActionGroup(
                "automate",
                "Automate",
                [
                    Action(key="automate.run", label="Run flow", handler=run_on_record),
                    Action(
                        key="automate.run_rows",
                        label="Run flow on selected",
                        handler=run_on_rows,
                        scope="list",
                    ),
                    Action(
                        key="automate.manage", label="Manage flows", url="/flows/", scope="page"
                    ),
                ],
            )
        ]

    # Alone: the real Automate group would merge its actions into this one.
    monkeypatch.setattr(registry, "action_group_providers", [provider])
    return provider


def _group(response, key):
    return next((g for g in response.context["actionbar"].groups if g.key == key), None)


def test_provider_groups_appear_on_every_page_kind(sales_client, automate, customer, company):
    order = SalesOrderFactory(company=company, customer=customer)

    for url in [CUSTOMERS.list_url(), CUSTOMER.card_url(customer), ORDER.card_url(order)]:
        response = sales_client.get(url)
        group = _group(response, "automate")
        assert group is not None and group.label == "Automate", url
        assert '<details class="menu actionbar-group" data-menu data-group="automate">' in (
            response.content.decode()
        )


def test_provider_actions_keep_to_their_scope(sales_client, automate, customer):
    on_list = {i.key for i in _group(sales_client.get(CUSTOMERS.list_url()), "automate").items}
    on_card = {
        i.key for i in _group(sales_client.get(CUSTOMER.card_url(customer)), "automate").items
    }

    assert on_list == {"automate.run_rows", "automate.manage"}
    assert on_card == {"automate.run", "automate.manage"}


def test_a_provider_record_action_runs_through_the_endpoint(
    sales_client, automate, calls, customer
):
    response = sales_client.post(CUSTOMER.url("action", customer.pk, "automate.run"), follow=True)

    assert calls == [("record", customer)]
    assert "Flow started for C10000." in response.content.decode()
    assert response.redirect_chain[-1][0] == CUSTOMER.card_url(customer)


def test_a_provider_list_action_gets_only_the_selected_rows_of_the_company(
    sales_client, automate, calls, customer, company, other_company
):
    second = CustomerFactory(company=company, no="C20000")
    CustomerFactory(company=company, no="C30000")
    foreign = CustomerFactory(company=other_company, no="C40000")
    next_url = CUSTOMERS.list_url(q="C")

    response = sales_client.post(
        CUSTOMERS.url("list-action", "automate.run_rows"),
        {"selected": [customer.pk, second.pk, foreign.pk], "next": next_url},
    )

    assert calls == [("rows", ["C10000", "C20000"])]
    assert response["Location"] == next_url


def test_a_selection_of_rows_that_are_gone_is_refused_with_a_message(
    sales_client, automate, calls, other_company
):
    foreign = CustomerFactory(company=other_company, no="C40000")

    response = sales_client.post(
        CUSTOMERS.url("list-action", "automate.run_rows"),
        {"selected": [foreign.pk, 10**9]},
        follow=True,
    )

    assert calls == []
    assert "None of the selected lines exist any more" in response.content.decode()


def test_next_must_stay_on_this_site(sales_client, automate, customer):
    response = sales_client.post(
        CUSTOMERS.url("list-action", "automate.run_rows"),
        {"selected": [customer.pk], "next": "https://evil.example/"},
    )

    assert response["Location"] == CUSTOMERS.list_url()


def test_custom_actions_join_an_existing_group_or_make_their_own(
    sales_client, monkeypatch, customer, calls
):
    def approve(request, record):
        calls.append(record)

    custom = [
        ("customer_card", "related", Action(key="custom.flow", label="My Flow", url="/x/")),
        ("*", "request_approval", Action(key="custom.send", label="Send", handler=approve)),
    ]
    monkeypatch.setattr(registry, "custom_actions", [*registry.custom_actions, *custom])

    card = sales_client.get(CUSTOMER.card_url(customer))
    related = [i.key for i in _group(card, "related").items]
    assert related[-1] == "custom.flow" and "ledger_entries" in related
    assert _group(card, "request_approval").label == "Request Approval"
    sales_client.post(CUSTOMER.url("action", customer.pk, "custom.send"))
    assert calls == [customer]


def test_invisible_actions_are_neither_shown_nor_runnable(
    sales_client, monkeypatch, customer, calls
):
    hidden = Action(
        key="secret",
        label="Secret",
        handler=lambda request, record: calls.append(record),
        visible=lambda obj, request: False,
    )
    monkeypatch.setattr(
        registry, "custom_actions", [*registry.custom_actions, ("*", "process", hidden)]
    )

    card = sales_client.get(CUSTOMER.card_url(customer))
    response = sales_client.post(CUSTOMER.url("action", customer.pk, "secret"))

    assert _group(card, "process") is None
    assert response.status_code == 404
    assert calls == []


def test_disabled_actions_render_disabled_and_the_handler_still_decides(
    sales_client, monkeypatch, customer
):
    def refuse(request, record):
        raise ValidationError("Not now: the flow is off.")

    action = Action(key="off", label="Off", handler=refuse, enabled=lambda o, r: False)
    monkeypatch.setattr(
        registry, "custom_actions", [*registry.custom_actions, ("customer_card", "more", action)]
    )

    card = sales_client.get(CUSTOMER.card_url(customer))
    response = sales_client.post(CUSTOMER.url("action", customer.pk, "off"), follow=True)

    assert 'disabled aria-disabled="true" data-action="off"' in card.content.decode()
    assert "Not now: the flow is off." in response.content.decode()


def test_handlers_may_answer_with_their_own_response_and_htmx_gets_hx_redirect(
    sales_client, monkeypatch, customer
):
    actions = [
        ("*", "more", Action(key="own", label="Own", handler=lambda r, o: HttpResponse("mine"))),
        ("*", "more", Action(key="plain", label="Plain", handler=lambda r, o: None)),
    ]
    monkeypatch.setattr(registry, "custom_actions", [*registry.custom_actions, *actions])

    own = sales_client.post(CUSTOMER.url("action", customer.pk, "own"))
    plain = sales_client.post(
        CUSTOMER.url("action", customer.pk, "plain"), headers={"HX-Request": "true"}
    )

    assert own.content == b"mine"
    assert plain["HX-Redirect"] == CUSTOMER.card_url(customer)


def test_registered_factboxes_show_on_one_page_or_all(sales_client, monkeypatch, customer):
    everywhere = FactBox(
        key="notes",
        title="Notes",
        rows=lambda request, obj: [FactRow("Seen", Decimal("1234.5"))],
    )
    templated = FactBox(
        key="approvals",
        title="Approval Entries",
        template="bcsite/pages/_factboxes.html",
        context=lambda request, obj: {"empty_note": True},
    )
    monkeypatch.setattr(
        registry,
        "factboxes",
        # Only these two: other apps' boxes (Approvals) are theirs to test.
        [("*", everywhere), ("customer_card", templated)],
    )

    card = sales_client.get(CUSTOMER.card_url(customer))
    listing = sales_client.get(CUSTOMERS.list_url())

    assert [b.key for b in card.context["factboxes"]] == [
        "customer_statistics",
        "notes",
        "approvals",
    ]
    assert card.context["factboxes"][1].rows[0].text == "1,234.50"
    assert "Select a row to see its details." in card.context["factboxes"][2].html
    assert [b.key for b in listing.context["factboxes"]] == ["customer_statistics", "notes"]


def test_a_page_registered_at_run_time_is_served(sales_client, monkeypatch, customer, company):
    CustomerFactory(company=company, no="C90000", blocked=Customer.Blocked.ALL)
    page = ListPage(
        key="blocked_customers",
        title="Blocked Customers",
        model=Customer,
        slug="blocked-customers",
        columns=[Column("no"), Column("name")],
        queryset_for=lambda request: Customer.objects.filter(
            company=request.company, blocked=Customer.Blocked.ALL
        ),
    )
    monkeypatch.setitem(registry.pages, page.key, page)

    response = sales_client.get("/blocked-customers/")

    assert response.status_code == 200
    assert [r.cells[0].text for r in response.context["rows"]] == ["C90000"]
    assert response.context["rows"][0].cells[0].url is None


def test_page_permission_is_checked(sales_client, monkeypatch):
    page = ListPage(
        key="admin_only",
        title="Admin Only",
        model=Customer,
        slug="admin-only",
        columns=[Column("no")],
        permission=lambda request: request.user.is_superuser,
    )
    monkeypatch.setitem(registry.pages, page.key, page)

    assert sales_client.get("/admin-only/").status_code == 403
    labels = [e.label for e in tell_me_entries(sales_client.get(CUSTOMERS.list_url()).wsgi_request)]
    assert "Admin Only" not in labels


def test_unregistered_slugs_fall_through_to_other_urls(sales_client):
    assert sales_client.get("/no-such-page/").status_code == 404
    assert sales_client.get("/accounts/login/").status_code in (200, 302)


def test_tell_me_lists_pages_and_new_actions(sales_client):
    request = sales_client.get(CUSTOMERS.list_url()).wsgi_request

    entries = {(e.category, e.label): e.url for e in tell_me_entries(request)}

    assert entries[("Lists", "Customers")] == "/customers/"
    assert entries[("Lists", "Sales Orders")] == "/sales-orders/"
    assert entries[("Lists", "Customer Ledger Entries")] == "/customer-ledger-entries/"
    assert entries[("Actions", "New Sales Order")] == "/sales-orders/new/"
    assert entries[("Actions", "New Customer")] == "/customers/new/"
    assert entries[("Actions", "New Item")] == "/items/new/"
    assert ("Actions", "New Posted Sales Invoice") not in entries


def test_users_of_no_company_are_told_so(client, customer):
    client.force_login(UserFactory(username="loner"))

    assert client.get(CUSTOMERS.list_url()).status_code == 403
    assert client.get(CUSTOMER.card_url(customer)).status_code == 403


def test_card_url_for_any_record(customer, company):
    order = SalesOrderFactory(company=company, customer=customer)
    item = ItemFactory(company=company)

    assert card_url_for(customer) == f"/customers/{customer.pk}/"
    assert card_url_for(order) == f"/sales-orders/{order.pk}/"
    assert card_url_for(item) == f"/items/{item.pk}/"
    assert card_url_for(company) is None


@pytest.mark.parametrize(
    ("value", "field", "text"),
    [
        (Decimal("1234567.5"), SalesOrder._meta.get_field("amount"), "1,234,567.50"),
        (Decimal("12.50000"), Customer._meta.get_field("balance"), "12.50"),
        (Decimal("12.00000"), None, "12.00"),
        (Decimal("-0.00000"), ItemFactory._meta.model._meta.get_field("inventory"), "0"),
        (Decimal("1500.25000"), ItemFactory._meta.model._meta.get_field("inventory"), "1,500.25"),
        ("released", SalesOrder._meta.get_field("status"), "Released"),
        (True, None, "Yes"),
        (None, None, ""),
        (datetime.date(2025, 1, 15), None, "01/15/2025"),
    ],
)
def test_values_look_as_in_business_central(value, field, text):
    assert display(value, field) == text


def test_changes_need_the_csrf_token(sales, customer):
    client = Client(enforce_csrf_checks=True)
    client.force_login(sales)

    card = client.get(CUSTOMER.card_url(customer))
    refused = client.post(CUSTOMER.delete_url(customer))

    assert (
        'name="csrfmiddlewaretoken"' in client.get(CUSTOMER.delete_url(customer)).content.decode()
    )
    assert card.status_code == 200
    assert refused.status_code == 403
    assert Customer.objects.filter(pk=customer.pk).exists()


def test_a_refused_step_keeps_what_was_typed_and_shows_why(sales_client, monkeypatch, customer):
    class NoteForm(forms.Form):
        note = forms.CharField()

    def refuse(request, record, note):
        raise ValidationError("The flow is paused; try again later.")

    action = Action(key="note", label="Note", handler=refuse, form=NoteForm)
    monkeypatch.setattr(
        registry, "custom_actions", [*registry.custom_actions, ("customer_card", "more", action)]
    )

    response = sales_client.post(
        CUSTOMER.url("action", customer.pk, "note"), {"confirmed": "1", "note": "typed by hand"}
    )

    assert response.status_code == 200
    text = response.content.decode()
    assert 'value="typed by hand"' in text
    assert "The flow is paused; try again later." in text
    assert 'class="form-errors"' in text


def test_a_list_action_gets_only_the_selected_rows_it_is_visible_on(
    sales_client, monkeypatch, customer, company, calls
):
    hidden = CustomerFactory(company=company, no="C20000")
    action = Action(
        key="flag",
        label="Flag",
        handler=lambda request, rows: calls.append(sorted(r.no for r in rows)),
        scope="list",
        visible=lambda obj, request: obj is None or obj.no != "C20000",
    )
    monkeypatch.setattr(
        registry, "custom_actions", [*registry.custom_actions, ("customer_list", "more", action)]
    )
    url = CUSTOMERS.url("list-action", "flag")

    sales_client.post(url, {"selected": [customer.pk, hidden.pk]})
    refused = sales_client.post(url, {"selected": [hidden.pk]}, follow=True)

    assert calls == [["C10000"]]
    assert "Flag does not apply to the selected lines." in refused.content.decode()
