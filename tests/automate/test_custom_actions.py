"""Custom actions Power Automate fulfils, and flows pinned to pages by administrators.

Notify warehouse (records/pages.py) runs the flow with the key notify-warehouse on a sales
order; template and gallery declarations link to the gallery; pinned flows appear in their
group for whoever may run them. Personas: ``admin_user`` (Annie Admin, company admin, owns
the flow), ``sales`` (the flow is shared with them to run), ``colleague`` (nothing shared).
"""

from html import unescape
from urllib.parse import parse_qs, urlsplit

import pytest
from django.core import mail
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from automate.demo import NOTIFY_WAREHOUSE_DEFINITION, WAREHOUSE_EMAIL, automate_demo_seed
from automate.gallery import EMAIL_ON_RELEASE, EMAIL_ORDER, SALES_ORDER_APPROVAL
from automate.models import (
    AutomateSetup,
    AutomateUserAccess,
    Flow,
    FlowRun,
    FlowShare,
    PinnedFlowAction,
    RunStatus,
    SentEmail,
)
from automate.services import flow_create, flow_delete, flow_set_enabled
from bcsite.models import AuditEntry
from bcsite.pages.base import FlowAction
from bcsite.registry import registry
from tests.factories import CustomerFactory, ItemFactory, SalesOrderFactory, SalesOrderLineFactory

ORDER = registry.pages["sales_order"]
ORDERS = registry.pages["sales_order_list"]
CUSTOMER = registry.pages["customer_card"]
NOTIFY = "notify-warehouse"
SHIP_ON = "2030-01-15"
PINS_URL = reverse("automate:pinned-actions")


# -- Fixtures --------------------------------------------------------------------------------


@pytest.fixture
def admin_user(admin_user):
    admin_user.first_name, admin_user.last_name = "Annie", "Admin"
    admin_user.save(update_fields=["first_name", "last_name"])
    return admin_user


@pytest.fixture
def order(company):
    customer = CustomerFactory(company=company, no="C10000", name="Adatum Corporation")
    order = SalesOrderFactory(company=company, customer=customer, no="S-ORD101001")
    for number, description in (("1896-S", "ATHENS Desk"), ("1900-S", "PARIS Guest Chair")):
        item = ItemFactory(company=company, no=number, description=description)
        SalesOrderLineFactory(order=order, item=item, description=description)
    return order


def _make_flow(company, owner, *, key=NOTIFY, name="Notify warehouse", share_with=None):
    flow = flow_create(
        company=company, owner=owner, name=name, definition=NOTIFY_WAREHOUSE_DEFINITION
    )
    flow.key = key
    flow.save(update_fields=["key"])
    if share_with is not None:
        FlowShare.objects.create(flow=flow, user=share_with, role=FlowShare.Role.RUN_ONLY)
    return flow


@pytest.fixture
def notify_flow(company, admin_user, sales):
    """The Notify warehouse flow, owned by Annie Admin and shared run-only with sales."""
    return _make_flow(company, admin_user, share_with=sales)


def _client(user):
    client = Client()
    client.force_login(user)
    return client


def _group(response, key):
    return next((g for g in response.context["actionbar"].groups if g.key == key), None)


def _item(response, group_key, key):
    group = _group(response, group_key)
    return next((i for i in group.items if i.key == key), None) if group else None


def _declare(monkeypatch, *placed):
    monkeypatch.setattr(registry, "custom_actions", [*registry.custom_actions, *placed])


def _run_notify(client, order, django_capture_on_commit_callbacks, *, ship_on=SHIP_ON):
    with django_capture_on_commit_callbacks(execute=True):
        return client.post(
            ORDER.url("action", order.pk, NOTIFY),
            {"confirmed": "1", "input-shipmentDate": ship_on},
        )


# -- Notify warehouse: a flow by its key -------------------------------------------------------


def test_notify_warehouse_is_in_the_process_group_of_sales_orders_only(
    sales_client, notify_flow, order
):
    card = sales_client.get(ORDER.card_url(order))
    customer = sales_client.get(CUSTOMER.card_url(order.customer))
    orders = sales_client.get(ORDERS.list_url())

    item = _item(card, "process", NOTIFY)
    assert _group(card, "process").label == "Process"
    assert (item.label, item.enabled, item.kind) == ("Notify warehouse", True, "step")
    assert item.url == ORDER.url("action", order.pk, NOTIFY)
    for other in (customer, orders):
        assert f'data-action="{NOTIFY}"' not in other.content.decode()


def test_it_runs_the_flow_and_mails_the_warehouse_the_order(
    sales_client, sales, notify_flow, order, django_capture_on_commit_callbacks
):
    response = _run_notify(sales_client, order, django_capture_on_commit_callbacks)

    run = FlowRun.objects.get(flow=notify_flow)
    assert urlsplit(response["Location"]).path == reverse("automate:run-progress")
    assert parse_qs(urlsplit(response["Location"]).query)["run"] == [str(run.pk)]
    assert (run.status, run.triggered_by, run.record_number) == (
        RunStatus.SUCCEEDED,
        sales,
        "S-ORD101001",
    )
    [message] = mail.outbox
    assert message.to == [WAREHOUSE_EMAIL]
    assert message.subject == f"Ship sales order S-ORD101001 on {SHIP_ON}"
    html = message.alternatives[0][0] if message.alternatives else message.body
    for text in ("Adatum Corporation", "C10000", SHIP_ON, "1896-S", "ATHENS Desk", "1900-S"):
        assert text in html
    assert SentEmail.objects.get(run=run).to == [WAREHOUSE_EMAIL]


def test_the_run_flow_pane_asks_for_the_shipment_date_first(
    sales_client, notify_flow, order, django_capture_on_commit_callbacks
):
    url = ORDER.url("action", order.pk, NOTIFY)

    step = sales_client.get(url)
    refused = _run_notify(sales_client, order, django_capture_on_commit_callbacks, ship_on="")

    assert step.status_code == 200
    assert 'name="input-shipmentDate"' in step.content.decode()
    assert "Shipment date" in refused.content.decode()
    assert refused.context["form"].errors
    assert not FlowRun.objects.exists()
    assert mail.outbox == []


@pytest.mark.parametrize(
    "change, message",
    [
        (
            "delete",
            "Notify warehouse runs the flow 'notify-warehouse', which does not exist in this "
            "company. Ask an administrator to set it up.",
        ),
        (
            "turn_off",
            "Notify warehouse runs the flow 'notify-warehouse', which is turned off. Ask its "
            "owner Annie Admin to turn it on.",
        ),
        (
            "unshare",
            "Notify warehouse runs the flow 'notify-warehouse', which is not shared with you. "
            "Ask its owner Annie Admin to share it.",
        ),
        (
            "rekey",
            "Notify warehouse runs the flow 'notify-warehouse', which does not exist in this "
            "company. Ask an administrator to set it up.",
        ),
    ],
)
def test_a_flow_the_user_cannot_run_is_disabled_and_refused_with_why(
    sales_client,
    admin_user,
    notify_flow,
    order,
    change,
    message,
    django_capture_on_commit_callbacks,
):
    if change == "delete":
        flow_delete(flow=notify_flow, user=admin_user)
    elif change == "turn_off":
        flow_set_enabled(flow=notify_flow, user=admin_user, enabled=False)
    elif change == "unshare":
        FlowShare.objects.filter(flow=notify_flow).delete()
    else:
        Flow.objects.filter(pk=notify_flow.pk).update(key="another-key")

    card = sales_client.get(ORDER.card_url(order))
    response = _run_notify(sales_client, order, django_capture_on_commit_callbacks)
    shown = sales_client.get(response["Location"])

    assert _item(card, "process", NOTIFY).enabled is False
    assert 'disabled aria-disabled="true" data-action="notify-warehouse"' in card.content.decode()
    assert response["Location"] == ORDER.card_url(order)
    assert message in unescape(shown.content.decode())
    assert not FlowRun.objects.exists()
    assert mail.outbox == []


def test_another_companys_flow_with_the_key_is_not_run(
    sales_client, other_company, outsider, order, django_capture_on_commit_callbacks
):
    foreign = _make_flow(other_company, outsider, share_with=None)

    card = sales_client.get(ORDER.card_url(order))
    _run_notify(sales_client, order, django_capture_on_commit_callbacks)

    assert _item(card, "process", NOTIFY).enabled is False
    assert not FlowRun.objects.filter(flow=foreign).exists()


def test_a_flow_on_another_table_is_refused(
    sales_client, company, admin_user, sales, order, django_capture_on_commit_callbacks
):
    definition = {
        "schemaVersion": 1,
        "trigger": {"type": "selected_record", "table": 18, "inputs": []},
        "steps": [{"name": "Compose", "type": "data.compose", "inputs": {"value": "x"}}],
    }
    flow = flow_create(
        company=company, owner=admin_user, name="On customers", definition=definition
    )
    Flow.objects.filter(pk=flow.pk).update(key=NOTIFY)
    FlowShare.objects.create(flow=flow, user=sales, role=FlowShare.Role.RUN_ONLY)

    response = _run_notify(sales_client, order, django_capture_on_commit_callbacks)

    assert "which is not a flow for a selected Sales Order record" in (
        sales_client.get(response["Location"]).content.decode()
    )
    assert not FlowRun.objects.exists()


def test_the_owner_runs_it_too(admin_user, notify_flow, order, django_capture_on_commit_callbacks):
    _run_notify(_client(admin_user), order, django_capture_on_commit_callbacks)

    assert FlowRun.objects.get(flow=notify_flow).triggered_by == admin_user
    assert len(mail.outbox) == 1


@pytest.mark.parametrize("switch", ["off_for_everyone", "off_for_the_user"])
def test_it_is_not_there_while_power_automate_is_off_for_the_user(
    sales_client, company, sales, notify_flow, order, switch, django_capture_on_commit_callbacks
):
    if switch == "off_for_everyone":
        AutomateSetup.objects.create(company=company, mode=AutomateSetup.Mode.OFF)
    else:
        AutomateUserAccess.objects.create(company=company, user=sales, allowed=False)

    card = sales_client.get(ORDER.card_url(order))
    response = _run_notify(sales_client, order, django_capture_on_commit_callbacks)

    assert f'data-action="{NOTIFY}"' not in card.content.decode()
    assert response.status_code == 404
    assert not FlowRun.objects.exists()


def test_a_list_declaration_runs_the_flow_on_each_selected_row(
    sales_client, company, notify_flow, order, monkeypatch, django_capture_on_commit_callbacks
):
    second = SalesOrderFactory(company=company, customer=order.customer)
    _declare(
        monkeypatch,
        (
            "sales_order_list",
            "process",
            FlowAction(key="notify-rows", label="Notify warehouse", flow=NOTIFY, scope="list"),
        ),
    )

    listing = sales_client.get(ORDERS.list_url())
    with django_capture_on_commit_callbacks(execute=True):
        sales_client.post(
            ORDERS.url("list-action", "notify-rows"),
            {"selected": [order.pk, second.pk], "confirmed": "1", "input-shipmentDate": SHIP_ON},
        )

    assert _item(listing, "process", "notify-rows").kind == "bulk"
    assert sorted(FlowRun.objects.values_list("record_number", flat=True)) == sorted(
        [order.no, second.no]
    )
    assert len(mail.outbox) == 2


# -- Templates and the gallery -----------------------------------------------------------------


def test_a_template_declaration_opens_the_templates_create_page_and_comes_back(
    sales_client, order, monkeypatch
):
    _declare(
        monkeypatch,
        (
            "sales_order",
            "automate",
            FlowAction(key="mail", label="Mail it", template=EMAIL_ORDER.key),
        ),
    )

    card = sales_client.get(ORDER.card_url(order))
    item = _item(card, "automate", "mail")
    page = sales_client.get(item.url)

    assert (item.kind, item.enabled) == ("link", True)
    parts = urlsplit(item.url)
    assert parts.path == reverse("automate:template-use", args=[EMAIL_ORDER.key])
    assert parse_qs(parts.query) == {"next": [ORDER.card_url(order)]}
    assert page.status_code == 200
    assert EMAIL_ORDER.title in page.content.decode()
    assert f'name="next" value="{ORDER.card_url(order)}"' in page.content.decode()


def test_an_unknown_template_is_disabled_and_says_so(sales_client, order, monkeypatch):
    _declare(
        monkeypatch, ("sales_order", "automate", FlowAction(key="t", label="T", template="gone"))
    )

    card = sales_client.get(ORDER.card_url(order))
    refused = sales_client.post(ORDER.url("action", order.pk, "t"), follow=True)

    assert _item(card, "automate", "t").enabled is False
    assert "T starts from the template 'gone', which is not in the templates gallery." in (
        unescape(refused.content.decode())
    )


def test_a_gallery_declaration_opens_the_category_for_the_pages_table(
    sales_client, order, monkeypatch
):
    _declare(
        monkeypatch,
        (
            "sales_order",
            "related",
            FlowAction(key="ideas", label="Automated flow ideas", gallery_category="Automated"),
        ),
    )

    card = sales_client.get(ORDER.card_url(order))
    item = _item(card, "related", "ideas")
    gallery = sales_client.get(item.url).content.decode()

    parts = urlsplit(item.url)
    assert parts.path == reverse("automate:gallery")
    assert parse_qs(parts.query) == {
        "category": ["Automated"],
        "table": ["36"],
        "next": [ORDER.card_url(order)],
    }
    assert EMAIL_ON_RELEASE.title in gallery
    assert EMAIL_ORDER.title not in gallery
    assert SALES_ORDER_APPROVAL.title not in gallery


def test_the_gallery_filters_by_category_in_any_case_and_explains_an_unknown_one(sales_client):
    approval = sales_client.get(reverse("automate:gallery"), {"category": "approval"})
    unknown = sales_client.get(reverse("automate:gallery"), {"category": "Nope"})

    assert [c["template"].key for c in approval.context["cards"]] == [SALES_ORDER_APPROVAL.key]
    assert "There is no category &#x27;Nope&#x27;" in unknown.content.decode()
    assert len(unknown.context["cards"]) > 1


def test_gallery_and_template_links_are_not_there_while_power_automate_is_off(
    sales_client, company, order, monkeypatch
):
    AutomateSetup.objects.create(company=company, mode=AutomateSetup.Mode.OFF)
    _declare(
        monkeypatch,
        (
            "sales_order",
            "related",
            FlowAction(key="ideas", label="Ideas", gallery_category="Instant"),
        ),
        ("sales_order", "related", FlowAction(key="mail", label="Mail", template=EMAIL_ORDER.key)),
    )

    html = sales_client.get(ORDER.card_url(order)).content.decode()

    assert 'data-action="ideas"' not in html
    assert 'data-action="mail"' not in html


# -- Pinned flow actions -----------------------------------------------------------------------


def _pin(flow, page_key="sales_order", group_key="related", label="Tell the warehouse"):
    return PinnedFlowAction.objects.create(
        company=flow.company, flow=flow, page_key=page_key, group_key=group_key, label=label
    )


def test_a_pinned_flow_is_in_its_group_for_those_who_may_run_it(
    admin_user, sales, colleague, notify_flow, order, django_capture_on_commit_callbacks
):
    pin = _pin(notify_flow)
    key = f"pinned-flow-{pin.pk}"

    for user in (sales, admin_user):
        item = _item(_client(user).get(ORDER.card_url(order)), "related", key)
        assert (item.label, item.enabled) == ("Tell the warehouse", True)
    outsider = _client(colleague)
    assert f'data-action="{key}"' not in outsider.get(ORDER.card_url(order)).content.decode()
    refused = outsider.post(
        ORDER.url("action", order.pk, key), {"confirmed": "1", "input-shipmentDate": SHIP_ON}
    )
    with django_capture_on_commit_callbacks(execute=True):
        _client(sales).post(
            ORDER.url("action", order.pk, key), {"confirmed": "1", "input-shipmentDate": SHIP_ON}
        )

    assert refused.status_code == 404
    assert FlowRun.objects.get().triggered_by == sales
    assert len(mail.outbox) == 1


def test_a_pinned_flow_joins_the_automate_group_and_runs_on_rows_of_a_list(
    sales_client, notify_flow, order
):
    on_card = _pin(notify_flow, group_key="automate")
    on_list = _pin(notify_flow, page_key="sales_order_list", group_key="automate")

    card = sales_client.get(ORDER.card_url(order))
    listing = sales_client.get(ORDERS.list_url())

    group = _group(card, "automate")
    assert group.label == "Automate"
    assert group.items[-1].key == f"pinned-flow-{on_card.pk}"
    assert _item(listing, "automate", f"pinned-flow-{on_list.pk}").kind == "bulk"


def test_a_pinned_flow_that_is_off_or_while_power_automate_is_off_is_not_shown(
    sales_client, company, admin_user, notify_flow, order
):
    pin = _pin(notify_flow)
    key = f'data-action="pinned-flow-{pin.pk}"'
    flow_set_enabled(flow=notify_flow, user=admin_user, enabled=False)
    off_flow = sales_client.get(ORDER.card_url(order)).content.decode()
    flow_set_enabled(flow=notify_flow, user=admin_user, enabled=True)
    AutomateSetup.objects.create(company=company, mode=AutomateSetup.Mode.OFF)
    off_automate = sales_client.get(ORDER.card_url(order)).content.decode()

    assert key not in off_flow
    assert key not in off_automate


# -- The Pinned flow actions page (administrators) ----------------------------------------------


def test_only_company_administrators_open_the_pin_page(
    client, sales_client, admin_user, notify_flow
):
    refused = sales_client.get(PINS_URL)
    posted = sales_client.post(
        PINS_URL, {"flow": notify_flow.pk, "page": "sales_order", "group": "automate"}
    )
    client.logout()
    anonymous = client.get(PINS_URL)

    assert refused.status_code == 403
    assert "Only administrators of the company can pin flows" in refused.content.decode()
    assert posted.status_code == 403
    assert anonymous.status_code == 302 and "login" in anonymous["Location"]
    assert not PinnedFlowAction.objects.exists()


def test_the_pin_page_lists_pins_and_get_changes_nothing(admin_user, notify_flow):
    pin = _pin(notify_flow)
    admin = _client(admin_user)

    response = admin.get(PINS_URL, {"flow": notify_flow.pk, "page": "sales_order"})

    html = response.content.decode()
    assert response.status_code == 200
    assert "Tell the warehouse" in html and "Sales Order (document)" in html
    assert f'action="{reverse("automate:pinned-action-unpin", args=[pin.pk])}"' in html
    assert PinnedFlowAction.objects.count() == 1
    assert not AuditEntry.objects.filter(area="Pinned action").exists()
    assert admin.get(reverse("automate:pinned-action-unpin", args=[pin.pk])).status_code == 405


def test_an_administrator_pins_and_unpins_a_flow_with_audit_entries(admin_user, notify_flow, order):
    admin = _client(admin_user)

    created = admin.post(
        PINS_URL,
        {"flow": notify_flow.pk, "page": "sales_order", "group": "related", "label": "Ship it"},
    )
    pin = PinnedFlowAction.objects.get()
    card = admin.get(ORDER.card_url(order))
    removed = admin.post(reverse("automate:pinned-action-unpin", args=[pin.pk]))

    assert created["Location"] == PINS_URL and removed["Location"] == PINS_URL
    assert (pin.page_key, pin.group_key, pin.label, pin.pinned_by) == (
        "sales_order",
        "related",
        "Ship it",
        admin_user,
    )
    assert _item(card, "related", f"pinned-flow-{pin.pk}").label == "Ship it"
    assert not PinnedFlowAction.objects.exists()
    entries = list(AuditEntry.objects.filter(area="Pinned action").order_by("pk"))
    assert [(e.action, e.actor) for e in entries] == [
        ("pinned", admin_user),
        ("unpinned", admin_user),
    ]
    assert entries[0].after["page"] == "Sales Order" and entries[0].after["label"] == "Ship it"
    assert entries[1].before["group"] == "Related"


def test_a_blank_label_pins_with_the_flows_name(admin_user, notify_flow):
    _client(admin_user).post(
        PINS_URL, {"flow": notify_flow.pk, "page": "sales_order", "group": "automate"}
    )

    assert PinnedFlowAction.objects.get().label == "Notify warehouse"


@pytest.mark.parametrize(
    "data, message",
    [
        (
            {"page": "customer_card"},
            "Notify warehouse runs on Sales Header: choose one of its pages.",
        ),
        (
            {"group": "new_document"},
            "Sales Order has no action group &#x27;new_document&#x27;. Choose one of: "
            "Automate, Related.",
        ),
        ({"page": "no_such_page"}, "Select a valid choice."),
        ({"label": "x" * 81}, "at most 80 characters"),
    ],
)
def test_the_pin_form_refuses_with_a_clear_message(admin_user, notify_flow, data, message):
    posted = {"flow": notify_flow.pk, "page": "sales_order", "group": "automate", **data}

    response = _client(admin_user).post(PINS_URL, posted)

    assert response.status_code == 200
    assert message in response.content.decode()
    assert not PinnedFlowAction.objects.exists()


def test_a_flow_is_pinned_to_a_page_once(admin_user, notify_flow):
    _pin(notify_flow)

    response = _client(admin_user).post(
        PINS_URL, {"flow": notify_flow.pk, "page": "sales_order", "group": "automate"}
    )

    assert "Notify warehouse is already pinned to Sales Order." in response.content.decode()
    assert PinnedFlowAction.objects.count() == 1


def test_only_instant_flows_that_are_on_and_of_the_company_can_be_pinned(
    admin_user, other_company, outsider, notify_flow
):
    flow_set_enabled(flow=notify_flow, user=admin_user, enabled=False)
    foreign = _make_flow(other_company, outsider)
    admin = _client(admin_user)

    for flow in (notify_flow, foreign):
        response = admin.post(
            PINS_URL, {"flow": flow.pk, "page": "sales_order", "group": "automate"}
        )
        assert "Select a valid choice" in response.content.decode()
    assert not PinnedFlowAction.objects.exists()


def test_another_companys_pin_cannot_be_removed(admin_user, other_company, outsider):
    foreign = _pin(_make_flow(other_company, outsider))

    response = _client(admin_user).post(reverse("automate:pinned-action-unpin", args=[foreign.pk]))

    assert response.status_code == 404
    assert PinnedFlowAction.objects.filter(pk=foreign.pk).exists()


def test_the_pin_page_queries_do_not_grow_with_pins(
    company, admin_user, notify_flow, django_assert_max_num_queries
):
    admin = _client(admin_user)
    _pin(notify_flow)
    admin.get(PINS_URL)
    with CaptureQueriesContext(connection) as one_pin:
        admin.get(PINS_URL)
    for number in range(4):
        flow = _make_flow(company, admin_user, key=f"flow-{number}", name=f"Flow {number}")
        _pin(flow, page_key="sales_order_list", label=f"Pinned {number}")

    with django_assert_max_num_queries(len(one_pin.captured_queries)):
        response = admin.get(PINS_URL)

    assert response.content.decode().count('data-action="unpin-') == 5


def test_the_pin_page_refuses_while_power_automate_is_off(company, admin_user):
    AutomateSetup.objects.create(company=company, mode=AutomateSetup.Mode.OFF)

    assert _client(admin_user).get(PINS_URL).status_code == 403


# -- Query counts ------------------------------------------------------------------------------


def _declare_and_pin(company, owner, sales, monkeypatch, numbers):
    """Flows shared with sales, each declared in Process and pinned to Related."""
    declared = []
    for number in numbers:
        flow = _make_flow(company, owner, key=f"flow-{number}", name=f"Flow {number}")
        FlowShare.objects.create(flow=flow, user=sales, role=FlowShare.Role.CO_OWNER)
        _pin(flow, label=f"Pinned {number}")
        action = FlowAction(key=f"d-{number}", label=f"D {number}", flow=flow.key)
        declared.append(("sales_order", "process", action))
    monkeypatch.setattr(registry, "custom_actions", [*registry.custom_actions, *declared])


def test_more_declared_and_pinned_actions_add_no_query_to_the_order_page(
    sales_client,
    company,
    admin_user,
    sales,
    notify_flow,
    order,
    monkeypatch,
    django_assert_max_num_queries,
):
    url = ORDER.card_url(order)
    _declare_and_pin(company, admin_user, sales, monkeypatch, [0])
    sales_client.get(url)
    with CaptureQueriesContext(connection) as with_one:
        sales_client.get(url)
    _declare_and_pin(company, admin_user, sales, monkeypatch, [1, 2, 3, 4])

    with django_assert_max_num_queries(len(with_one.captured_queries)):
        response = sales_client.get(url)

    html = response.content.decode()
    assert html.count('data-action="d-') == 5
    assert html.count('data-action="pinned-flow-') == 5
    assert f'data-action="{NOTIFY}"' in html


# -- The demo ----------------------------------------------------------------------------------


def test_the_demo_seeder_creates_the_flow_once(company, admin_user, sales):
    users = {"admin": admin_user, "sales": sales}

    first = automate_demo_seed(company, users)
    second = automate_demo_seed(company, users)

    flow = Flow.objects.get(company=company, key=NOTIFY)
    assert first == {"flows": 1, "flow shares": 1} and second == {}
    assert (flow.name, flow.owner, flow.enabled, flow.table_id) == (
        "Notify warehouse",
        admin_user,
        True,
        36,
    )
    assert flow.current_version.definition == NOTIFY_WAREHOUSE_DEFINITION
    assert list(flow.shares.values_list("user__username", "role")) == [
        ("sales", FlowShare.Role.RUN_ONLY)
    ]


def test_notify_warehouse_on_a_demo_order_mails_the_warehouse(
    db, django_capture_on_commit_callbacks
):
    from records.demo import demo_seed
    from records.models import SalesOrder

    demo_seed()
    demo_seed()
    order = SalesOrder.objects.filter(status=SalesOrder.Status.OPEN, lines__isnull=False).first()
    sales = Flow.objects.get(key=NOTIFY).shares.get().user

    response = _run_notify(_client(sales), order, django_capture_on_commit_callbacks)

    assert Flow.objects.filter(key=NOTIFY).count() == 1
    assert urlsplit(response["Location"]).path == reverse("automate:run-progress")
    run = FlowRun.objects.get(flow__key=NOTIFY)
    assert run.status == RunStatus.SUCCEEDED
    [message] = [m for m in mail.outbox if m.to == [WAREHOUSE_EMAIL]]
    assert message.subject == f"Ship sales order {order.no} on {SHIP_ON}"
