"""The Automate action group on list and card pages: which flows it offers, the Run Flow
pane, runs started on one record or on the selected rows, and the refusals."""

from urllib.parse import parse_qs, urlsplit

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

import automate.automate_group  # noqa: F401  (registers the group)
from automate.models import FlowRun
from automate.services import flow_create, flow_set_enabled
from bcsite.registry import registry
from tests.factories import CustomerFactory, ItemFactory

LIST = registry.pages["customer_list"]
CARD = registry.pages["customer_card"]


def _definition(table=18, inputs=()):
    return {
        "schemaVersion": 1,
        "trigger": {"type": "selected_record", "table": table, "inputs": list(inputs)},
        "steps": [{"name": "Compose", "type": "data.compose", "inputs": {"value": "x"}}],
    }


def _flow(company, owner, name="Notify sales", **kwargs):
    return flow_create(company=company, owner=owner, name=name, definition=_definition(**kwargs))


def _action_url(customer, flow):
    return CARD.url("action", customer.pk, f"run-flow-{flow.pk}")


def _list_action_url(flow):
    return LIST.url("list-action", f"run-flow-{flow.pk}")


def _progress_ids(response):
    location = response["Location"]
    assert urlsplit(location).path == reverse("automate:run-progress")
    return sorted(int(v) for v in parse_qs(urlsplit(location).query)["run"])


@pytest.fixture
def adatum(company):
    return CustomerFactory(company=company, no="C10000", name="Adatum Corporation")


@pytest.fixture
def foreign(other_company):
    return CustomerFactory(company=other_company, no="C90000", name="Foreign Customer")


# -- What the group offers ------------------------------------------------------------------


def test_the_group_offers_only_the_users_enabled_instant_flows_for_the_pages_table(
    sales_client, company, other_company, sales, colleague, outsider, adatum
):
    mine = _flow(company, sales, name="Notify sales")
    off = _flow(company, sales, name="Switched off")
    flow_set_enabled(flow=off, user=sales, enabled=False)
    on_items = _flow(company, sales, name="Item flow", table=27)
    theirs = _flow(company, colleague, name="Colleague flow")
    elsewhere = _flow(other_company, outsider, name="Foreign flow")

    html = sales_client.get(CARD.card_url(adatum)).content.decode()

    assert 'data-group="automate"' in html
    assert f'data-action="run-flow-{mine.pk}"' in html
    for hidden in (off, on_items, theirs, elsewhere):
        assert f'data-action="run-flow-{hidden.pk}"' not in html
        assert hidden.name not in html
    assert 'data-action="create-flow"' in html
    assert 'data-action="manage-flows"' in html


def test_create_a_flow_opens_the_gallery_for_the_table_and_comes_back(sales_client, adatum):
    response = sales_client.get(CARD.card_url(adatum))

    group = next(g for g in response.context["actionbar"].groups if g.key == "automate")
    create = next(item for item in group.items if item.key == "create-flow")
    manage = next(item for item in group.items if item.key == "manage-flows")
    parts = urlsplit(create.url)
    assert parts.path == reverse("automate:gallery")
    assert parse_qs(parts.query) == {"table": ["18"], "next": [CARD.card_url(adatum)]}
    assert manage.url == reverse("automate:flow-list")


def test_the_list_page_offers_the_flows_as_bulk_actions(sales_client, company, sales):
    flow = _flow(company, sales)

    response = sales_client.get(LIST.list_url())

    group = next(g for g in response.context["actionbar"].groups if g.key == "automate")
    item = next(i for i in group.items if i.key == f"run-flow-{flow.pk}")
    assert item.kind == "bulk"
    assert item.url == _list_action_url(flow)


def test_item_pages_offer_item_flows_and_not_customer_flows(sales_client, company, sales):
    item_flow = _flow(company, sales, name="Item flow", table=27)
    customer_flow = _flow(company, sales, name="Customer flow", table=18)
    item = ItemFactory(company=company)

    html = sales_client.get(registry.pages["item_card"].card_url(item)).content.decode()

    assert f'data-action="run-flow-{item_flow.pk}"' in html
    assert f'data-action="run-flow-{customer_flow.pk}"' not in html


def test_twenty_flows_add_no_query_to_the_card_page(
    sales_client, company, sales, adatum, django_assert_max_num_queries
):
    _flow(company, sales, name="Flow 0")
    url = CARD.card_url(adatum)
    sales_client.get(url)
    with CaptureQueriesContext(connection) as one_flow:
        sales_client.get(url)
    for number in range(1, 20):
        _flow(company, sales, name=f"Flow {number}")

    with django_assert_max_num_queries(len(one_flow.captured_queries)):
        response = sales_client.get(url)

    assert response.content.decode().count('data-action="run-flow-') == 20


def test_the_list_page_queries_do_not_grow_with_flows(
    sales_client, company, sales, django_assert_max_num_queries
):
    _flow(company, sales, name="Flow 0")
    sales_client.get(LIST.list_url())
    with CaptureQueriesContext(connection) as one_flow:
        sales_client.get(LIST.list_url())
    for number in range(1, 20):
        _flow(company, sales, name=f"Flow {number}")

    with django_assert_max_num_queries(len(one_flow.captured_queries)):
        sales_client.get(LIST.list_url())


# -- The Run Flow pane and a run on one record -----------------------------------------------


def test_the_pane_asks_to_confirm_a_flow_without_inputs(sales_client, company, sales, adatum):
    flow = _flow(company, sales)

    response = sales_client.get(_action_url(adatum, flow))

    assert response.status_code == 200
    assert "Run Notify sales on C10000 · Adatum Corporation?" in response.content.decode()
    assert list(response.context["form"].fields) == []
    assert not FlowRun.objects.exists()


def test_running_on_a_record_starts_one_run_and_opens_its_progress(
    sales_client, company, sales, adatum
):
    flow = _flow(company, sales)

    response = sales_client.post(_action_url(adatum, flow), {"confirmed": "1"})

    run = FlowRun.objects.get()
    assert response.status_code == 302
    assert _progress_ids(response) == [run.pk]
    assert parse_qs(urlsplit(response["Location"]).query)["next"] == [CARD.card_url(adatum)]
    body = run.trigger_data["body"]
    assert run.flow == flow and run.triggered_by == sales
    assert body["number"] == "C10000"
    assert body["recordId"] == str(adatum.system_id)
    assert body["pageKey"] == "customer_card"


INPUTS = [
    {"name": "reason", "label": "Reason", "type": "text", "required": True},
    {"name": "amount", "label": "Amount", "type": "number"},
    {"name": "urgent", "label": "Urgent", "type": "boolean"},
    {"name": "due", "label": "Due date", "type": "date"},
    # Names the step posts for itself must not clash with inputs.
    {"name": "next", "label": "Next step", "type": "text"},
]


def test_the_pane_shows_the_triggers_inputs_as_fields(sales_client, company, sales, adatum):
    flow = _flow(company, sales, inputs=INPUTS)

    response = sales_client.get(_action_url(adatum, flow))

    form = response.context["form"]
    assert list(form.fields) == ["reason", "amount", "urgent", "due", "next"]
    assert [type(f).__name__ for f in form.fields.values()] == [
        "CharField",
        "DecimalField",
        "BooleanField",
        "DateField",
        "CharField",
    ]
    assert form.fields["reason"].required and not form.fields["amount"].required
    assert 'name="input-reason"' in response.content.decode()


def test_typed_inputs_reach_the_trigger_body(sales_client, company, sales, adatum):
    flow = _flow(company, sales, inputs=INPUTS)

    response = sales_client.post(
        _action_url(adatum, flow),
        {
            "confirmed": "1",
            "input-reason": "Credit check",
            "input-amount": "12.5",
            "input-urgent": "on",
            "input-due": "2030-01-31",
            "input-next": "call back",
        },
    )

    assert response.status_code == 302
    run = FlowRun.objects.get()
    assert run.trigger_data["body"]["inputs"] == {
        "reason": "Credit check",
        "amount": 12.5,
        "urgent": True,
        "due": "2030-01-31",
        "next": "call back",
    }


def test_bad_inputs_come_back_on_the_pane_and_start_nothing(sales_client, company, sales, adatum):
    flow = _flow(company, sales, inputs=INPUTS)

    response = sales_client.post(
        _action_url(adatum, flow),
        {"confirmed": "1", "input-reason": "", "input-amount": "lots", "input-due": "31/01"},
    )

    assert response.status_code == 200
    errors = response.context["form"].errors
    assert set(errors) == {"reason", "amount", "due"}
    assert not FlowRun.objects.exists()


# -- Refusals ------------------------------------------------------------------------------


def test_another_users_flow_cannot_be_run_from_the_page(sales_client, company, colleague, adatum):
    flow = _flow(company, colleague, name="Colleague flow")

    response = sales_client.post(_action_url(adatum, flow), {"confirmed": "1"})

    assert response.status_code == 404
    assert not FlowRun.objects.exists()


def test_a_switched_off_flow_cannot_be_run(sales_client, company, sales, adatum):
    flow = _flow(company, sales)
    flow_set_enabled(flow=flow, user=sales, enabled=False)

    response = sales_client.post(_action_url(adatum, flow), {"confirmed": "1"})

    assert response.status_code == 404
    assert not FlowRun.objects.exists()


def test_a_flow_cannot_run_on_another_companys_record(sales_client, company, sales, foreign):
    flow = _flow(company, sales)

    response = sales_client.post(_action_url(foreign, flow), {"confirmed": "1"})

    assert response.status_code == 404
    assert not FlowRun.objects.exists()


def test_an_outsider_cannot_run_a_flow_of_another_company(outsider_client, company, sales, adatum):
    flow = _flow(company, sales)

    response = outsider_client.post(_action_url(adatum, flow), {"confirmed": "1"})

    assert response.status_code == 404
    assert not FlowRun.objects.exists()


def test_anonymous_users_are_sent_to_sign_in(client, company, sales, adatum):
    flow = _flow(company, sales)

    response = client.post(_action_url(adatum, flow), {"confirmed": "1"})

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))
    assert not FlowRun.objects.exists()


def test_the_flow_action_answers_only_get_and_post(sales_client, company, sales, adatum):
    flow = _flow(company, sales)

    assert sales_client.put(_action_url(adatum, flow)).status_code == 405
    assert sales_client.delete(_action_url(adatum, flow)).status_code == 405


# -- Runs on the selected rows of a list -------------------------------------------------------


def test_a_list_run_on_three_selected_rows_starts_three_runs(sales_client, company, sales):
    customers = [CustomerFactory(company=company) for _ in range(4)]
    chosen = customers[:3]
    flow = _flow(company, sales)
    selected = [str(c.pk) for c in chosen]

    step = sales_client.post(_list_action_url(flow), {"selected": selected})
    assert step.status_code == 200
    assert "Run Notify sales on the selected rows?" in step.content.decode()
    assert not FlowRun.objects.exists()

    response = sales_client.post(_list_action_url(flow), {"selected": selected, "confirmed": "1"})

    runs = FlowRun.objects.order_by("pk")
    assert len(runs) == 3
    assert {r.trigger_data["body"]["recordId"] for r in runs} == {str(c.system_id) for c in chosen}
    assert _progress_ids(response) == [r.pk for r in runs]


def test_a_list_run_skips_rows_of_another_company(sales_client, company, sales, adatum, foreign):
    flow = _flow(company, sales)

    response = sales_client.post(
        _list_action_url(flow), {"selected": [adatum.pk, foreign.pk], "confirmed": "1"}
    )

    run = FlowRun.objects.get()
    assert run.trigger_data["body"]["number"] == "C10000"
    assert _progress_ids(response) == [run.pk]


def test_a_list_run_refuses_bad_inputs_once_on_the_pane(sales_client, company, sales, adatum):
    flow = _flow(company, sales, inputs=INPUTS)

    response = sales_client.post(
        _list_action_url(flow),
        {"selected": [adatum.pk], "confirmed": "1", "input-amount": "1e999999"},
    )

    assert response.status_code == 200
    assert "reason" in response.context["form"].errors
    assert not FlowRun.objects.exists()


def test_a_list_run_of_another_users_flow_is_refused(sales_client, company, colleague, adatum):
    flow = _flow(company, colleague)

    response = sales_client.post(
        _list_action_url(flow), {"selected": [adatum.pk], "confirmed": "1"}
    )

    assert response.status_code == 404
    assert not FlowRun.objects.exists()


def test_a_list_run_needs_post(sales_client, company, sales):
    flow = _flow(company, sales)

    assert sales_client.get(_list_action_url(flow)).status_code == 405
