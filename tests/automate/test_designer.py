"""The flow designer: opening, saving new versions, refusing invalid definitions, the catalog,
and a trigger of every type."""

import datetime
import json

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse
from django.utils import timezone

from automate.definition import TRIGGER_KEYS, TRIGGER_TYPES
from automate.designer import designer_catalog
from automate.models import Flow, FlowVersion, TriggerEvent
from automate.recurrence import FREQUENCIES, WEEK_DAYS, recurrence_errors
from automate.services import flow_create
from automate.services.triggers import fire_recurrences
from bcsite.events import events
from records import services as records

DEFINITION = {
    "schemaVersion": 1,
    "trigger": {
        "type": "selected_record",
        "table": 18,
        "inputs": [{"name": "reason", "label": "Reason", "type": "text", "required": True}],
    },
    "steps": [
        {"name": "Compose", "type": "data.compose", "inputs": {"value": "x"}},
        {
            "name": "Is_blocked",
            "type": "control.condition",
            "inputs": {"expression": "@equals(triggerBody()?['blocked'], 'All')"},
            "actions": [
                {
                    "name": "Say_blocked",
                    "type": "data.compose",
                    "inputs": {"value": "Blocked: @{outputs('Compose')}"},
                }
            ],
            "else": [],
        },
    ],
}


def post_flow(client, url, *, name="Notify sales", definition=DEFINITION, description=""):
    text = definition if isinstance(definition, str) else json.dumps(definition)
    return client.post(url, {"name": name, "description": description, "definition": text})


def page_definition(response) -> str:
    """The definition the page's textarea holds, as the browser would read it."""
    return response.context["form"]["definition"].value()


# -- Opening --------------------------------------------------------------------------------


@pytest.mark.django_db
def test_new_flow_opens_blank_on_the_chosen_table(sales_client):
    response = sales_client.get(reverse("automate:flow-new") + "?table=18")

    assert response.status_code == 200
    definition = json.loads(page_definition(response))
    assert definition["trigger"] == {"type": "selected_record", "table": 18, "inputs": []}
    assert definition["steps"] == []
    content = response.content.decode()
    assert 'id="designer-catalog"' in content
    assert 'name="definition"' in content
    assert "automate/designer.js" in content


@pytest.mark.django_db
@pytest.mark.parametrize("table", ["abc", "99999", ""])
def test_new_flow_ignores_a_table_that_does_not_exist(sales_client, table):
    response = sales_client.get(reverse("automate:flow-new") + f"?table={table}")
    assert response.status_code == 200
    assert json.loads(page_definition(response))["trigger"]["table"] is None


@pytest.mark.django_db
def test_edit_shows_the_current_version(sales_client, company, sales):
    flow = flow_create(company=company, owner=sales, name="Notify sales", definition=DEFINITION)

    response = sales_client.get(reverse("automate:flow-edit", args=[flow.pk]))

    assert response.status_code == 200
    assert json.loads(page_definition(response)) == DEFINITION
    assert "Version 1" in response.content.decode()


# -- Saving ---------------------------------------------------------------------------------


@pytest.mark.django_db
def test_saving_a_new_flow_creates_version_one(sales_client, company, sales):
    response = post_flow(sales_client, reverse("automate:flow-new"), description="Tell sales")

    flow = Flow.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("automate:flow-edit", args=[flow.pk])
    assert (flow.owner, flow.company, flow.name, flow.description) == (
        sales,
        company,
        "Notify sales",
        "Tell sales",
    )
    assert (flow.trigger_type, flow.table_id, flow.kind) == ("selected_record", 18, "instant")
    assert flow.current_version.number == 1
    assert flow.current_version.definition == DEFINITION
    assert [str(m) for m in get_messages(response.wsgi_request)] == ["Saved as version 1."]


@pytest.mark.django_db
def test_editing_adds_version_two_and_keeps_version_one(sales_client, company, sales):
    flow = flow_create(company=company, owner=sales, name="Notify sales", definition=DEFINITION)
    changed = json.loads(json.dumps(DEFINITION))
    changed["steps"][0]["inputs"]["value"] = "y"

    response = post_flow(
        sales_client,
        reverse("automate:flow-edit", args=[flow.pk]),
        name="Renamed",
        definition=changed,
    )

    assert response.status_code == 302
    flow.refresh_from_db()
    assert flow.name == "Renamed"
    assert flow.current_version.number == 2
    assert flow.current_version.definition == changed
    assert FlowVersion.objects.get(flow=flow, number=1).definition == DEFINITION
    follow = sales_client.get(response["Location"])
    content = follow.content.decode()
    assert "Saved as version 2." in content
    assert "Version 2" in content


@pytest.mark.django_db
def test_an_invalid_definition_is_refused_with_every_problem_and_kept(sales_client):
    broken = {
        "schemaVersion": 1,
        "trigger": {"type": "selected_record", "table": 18, "inputs": []},
        "steps": [
            {"name": "Compose", "type": "data.compose", "inputs": {}},
            {"name": "Compose", "type": "data.compose", "inputs": {"value": "@{body('Later')}"}},
            {"name": "Later", "type": "nowhere.nothing", "inputs": {}},
        ],
    }
    text = json.dumps(broken, indent=1)

    response = post_flow(sales_client, reverse("automate:flow-new"), definition=text)

    assert response.status_code == 400
    assert not Flow.objects.exists()
    content = response.content.decode()
    assert "Compose: value is required." in content
    assert "another step is already called &#x27;Compose&#x27;" in content
    assert "Later: unknown action &#x27;nowhere.nothing&#x27;." in content
    assert "refers to &#x27;Later&#x27;, which does not run before it" in content
    assert page_definition(response) == text
    assert response.context["form"]["name"].value() == "Notify sales"


@pytest.mark.django_db
def test_json_that_does_not_parse_is_refused_with_its_position(sales_client):
    text = '{\n  "steps": [\n}'
    response = post_flow(sales_client, reverse("automate:flow-new"), definition=text)
    assert response.status_code == 400
    assert "not valid JSON (line 3, column 1" in response.content.decode()
    assert page_definition(response) == text


@pytest.mark.django_db
def test_a_flow_needs_a_name(sales_client):
    response = post_flow(sales_client, reverse("automate:flow-new"), name="  ")
    assert response.status_code == 400
    assert "Give the flow a name." in response.content.decode()
    assert not Flow.objects.exists()


@pytest.mark.django_db
def test_admin_may_edit_a_colleagues_flow(client, company, colleague, admin_user):
    flow = flow_create(company=company, owner=colleague, name="Theirs", definition=DEFINITION)
    client.force_login(admin_user)
    response = post_flow(client, reverse("automate:flow-edit", args=[flow.pk]), name="Theirs")
    assert response.status_code == 302
    flow.refresh_from_db()
    assert flow.owner == colleague
    assert flow.current_version.created_by == colleague


# -- Refusals -------------------------------------------------------------------------------


@pytest.mark.django_db
def test_other_peoples_flows_are_not_found(
    sales_client, company, colleague, other_company, outsider
):
    for flow in (
        flow_create(company=company, owner=colleague, name="Theirs", definition=DEFINITION),
        flow_create(company=other_company, owner=outsider, name="Foreign", definition=DEFINITION),
    ):
        url = reverse("automate:flow-edit", args=[flow.pk])
        assert sales_client.get(url).status_code == 404
        assert post_flow(sales_client, url, name="Mine now").status_code == 404
        flow.refresh_from_db()
        assert flow.current_version.number == 1 and flow.name != "Mine now"


@pytest.mark.django_db
def test_the_designer_refuses_other_methods_and_anonymous(client, sales_client, company, sales):
    flow = flow_create(company=company, owner=sales, name="Mine", definition=DEFINITION)
    for url in (reverse("automate:flow-new"), reverse("automate:flow-edit", args=[flow.pk])):
        assert sales_client.put(url).status_code == 405
        assert sales_client.delete(url).status_code == 405
    client.logout()
    for url in (reverse("automate:flow-new"), reverse("automate:flow-edit", args=[flow.pk])):
        response = client.get(url)
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    assert post_flow(client, reverse("automate:flow-new")).status_code == 302
    assert Flow.objects.count() == 1


# -- The catalog ----------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_catalog_describes_control_steps_connector_actions_and_tables():
    catalog = designer_catalog()
    actions = {action["type"]: action for action in catalog["actions"]}

    condition = actions["control.condition"]
    assert [chain["label"] for chain in condition["chains"]] == ["If yes", "If no"]
    assert condition["inputs"][0]["name"] == "expression"
    assert actions["control.foreach"]["loop"] is True
    assert [c["key"] for c in actions["control.switch"]["chains"]] == ["cases", "default"]
    assert actions["control.delay"]["inputs"][1]["choices"][0] == ["second", "second"]
    assert actions["data.compose"]["connector"] == "Data Operation"

    get_record = actions["business_central.get_record"]
    assert get_record["connectorKey"] == "business_central"
    assert get_record["retry"] is True
    assert {"path": "body/number", "label": "No.", "type": "text"} in get_record["outputs"]

    customer = next(table for table in catalog["tables"] if table["id"] == 18)
    assert customer["name"] == "Customer"
    assert {"name": "displayName", "label": "Name", "type": "text"} in customer["fields"]
    assert [t["type"] for t in catalog["triggerInputTypes"]] == [
        "text",
        "number",
        "boolean",
        "date",
    ]
    assert {s["status"] for s in catalog["runAfter"]} == {
        "Succeeded",
        "Failed",
        "Skipped",
        "TimedOut",
    }
    json.dumps(catalog)  # embedded in the page as it is


def test_variable_values_take_json_and_conditions_have_a_basic_mode():
    actions = {action["type"]: action for action in designer_catalog()["actions"]}

    def param(kind: str, name: str) -> dict:
        return next(p for p in actions[kind]["inputs"] if p["name"] == name)

    # "any": JSON that starts with { or [ is kept as an object or a list, like a row to append.
    for kind in ("variables.initialize", "variables.set", "variables.append", "data.compose"):
        assert param(kind, "value")["type"] == "any", kind
    # A lone token keeps its type in a variable (a whole record appended); Compose reads as text.
    assert param("variables.append", "value")["typed"] is True
    assert param("data.compose", "value")["typed"] is False
    # Required where the server requires them, so the designer says so before saving.
    assert param("variables.append", "value")["required"] is True
    assert param("variables.set", "value")["required"] is True
    assert param("variables.initialize", "value")["required"] is False

    assert param("control.condition", "expression")["condition"] is True
    assert param("control.until", "expression")["condition"] is True
    assert param("control.switch", "on")["condition"] is False


@pytest.mark.django_db
def test_the_page_embeds_the_catalog_escaped(sales_client):
    response = sales_client.get(reverse("automate:flow-new"))
    content = response.content.decode()
    start = content.index('<script id="designer-catalog" type="application/json">')
    embedded = content[start:].split(">", 1)[1].split("</script>", 1)[0]
    assert json.loads(embedded) == json.loads(json.dumps(designer_catalog()))


def test_the_designer_sets_how_many_runs_may_run_at_once(sales_client, sales, company):
    definition = {
        "schemaVersion": 1,
        "trigger": {"type": "selected_record", "table": 18, "inputs": []},
        "steps": [],
    }
    url = reverse("automate:flow-new")
    data = {"name": "Limited", "definition": json.dumps(definition), "concurrency_limit": "3"}
    assert sales_client.post(url, data).status_code == 302
    flow = Flow.objects.get(name="Limited")
    assert flow.concurrency_limit == 3
    data["concurrency_limit"] = "0"
    response = sales_client.post(reverse("automate:flow-edit", args=[flow.pk]), data)
    assert response.status_code == 400
    assert "At least 1 run at once." in response.content.decode()
    flow.refresh_from_db()
    assert flow.concurrency_limit == 3


# -- Trigger types --------------------------------------------------------------------------

TRIGGERS = {
    "selected_record": {
        "type": "selected_record",
        "table": 18,
        "inputs": [{"name": "reason", "label": "Reason", "type": "text", "required": False}],
    },
    "record_created": {
        "type": "record_created",
        "table": 18,
        "conditions": ["@equals(triggerBody()?['city'], 'Berlin')"],
    },
    "record_modified": {
        "type": "record_modified",
        "table": 18,
        "fields": ["blocked", "creditLimit"],
        "conditions": ["@equals(triggerBody()?['blocked'], 'All')", "@not(empty(triggerBody()))"],
    },
    "record_deleted": {"type": "record_deleted", "table": 27},
    "business_event": {
        "type": "business_event",
        "event": "salesOrderReleased",
        "conditions": ["@greater(triggerBody()?['amount'], 1000)"],
    },
    "recurrence": {
        "type": "recurrence",
        "frequency": "week",
        "interval": 2,
        "timeZone": "Europe/Berlin",
        "startTime": "2026-05-04T09:00",
        "hours": [9, 17],
        "minutes": [0, 30],
        "weekDays": ["Monday", "Friday"],
    },
    "http_request": {
        "type": "http_request",
        "method": "PUT",
        "schema": {
            "type": "object",
            "properties": {"orderNumber": {"type": "string"}, "quantity": {"type": "integer"}},
        },
        "requireSignature": True,
        "conditions": ["@equals(triggerBody()?['orderNumber'], 'S-ORD101001')"],
    },
    "approval_requested": {
        "type": "approval_requested",
        "table": 36,
        "filters": [{"field": "customerNumber", "operator": "eq", "value": "C10000"}],
    },
}


def with_trigger(trigger: dict) -> dict:
    return {
        "schemaVersion": 1,
        "trigger": trigger,
        "steps": [{"name": "Compose", "type": "data.compose", "inputs": {"value": "x"}}],
    }


def catalog_fields(catalog: dict, kind: str) -> set[str]:
    return {field["name"] for field in catalog["triggerFields"][kind] if field["name"]}


def test_every_trigger_type_has_a_group_its_keys_and_fields():
    catalog = designer_catalog()
    types = {kind["type"]: kind for kind in catalog["triggerTypes"]}

    assert list(types) == list(TRIGGER_TYPES)
    assert {kind: types[kind]["group"] for kind in types} == {
        "selected_record": "Instant",
        "record_created": "Automated",
        "record_modified": "Automated",
        "record_deleted": "Automated",
        "business_event": "Automated",
        "recurrence": "Scheduled",
        "http_request": "HTTP",
        "approval_requested": "Automated",
    }
    # The keys the designer keeps when the type changes are the ones a save accepts.
    assert {kind: set(types[kind]["keys"]) for kind in types} == TRIGGER_KEYS
    assert types["record_modified"]["title"] == "When a record is modified"
    assert types["recurrence"]["connector"] == "Schedule"
    assert types["http_request"]["connector"] == "Request"
    assert set(catalog["triggerFields"]) == set(TRIGGER_TYPES)
    assert catalog["recordTriggers"] == ["record_created", "record_modified", "record_deleted"]
    assert catalog["httpMethods"] == ["POST", "PUT", "PATCH", "GET", "DELETE"]


def test_trigger_fields_are_what_trigger_body_holds_per_type():
    catalog = designer_catalog()
    record = {
        "recordId",
        "recordUrl",
        "tableId",
        "tableName",
        "companyId",
        "companyName",
        "changeType",
        "userName",
    }
    assert catalog_fields(catalog, "record_created") == record
    assert catalog_fields(catalog, "record_deleted") == record
    assert catalog_fields(catalog, "record_modified") == record | {"changedFields", "previous"}
    assert catalog_fields(catalog, "business_event") == {
        "eventName",
        "eventTime",
        "companyId",
        "companyName",
    }
    assert catalog_fields(catalog, "recurrence") == {"scheduledTime", "firedTime"}
    assert "inputs" not in catalog_fields(catalog, "selected_record")
    # The request's body is whatever was sent; headers and queries are in the outputs.
    assert [
        (field["label"], field["expression"]) for field in catalog["triggerFields"]["http_request"]
    ] == [
        ("Body", "triggerBody()"),
        ("Headers", "triggerOutputs()?['headers']"),
        ("Queries", "triggerOutputs()?['queries']"),
    ]


def test_the_catalog_lists_every_business_event_with_its_payload():
    listed = {event["key"]: event for event in designer_catalog()["businessEvents"]}

    assert set(listed) == set(events.business_events)
    for key, event in events.business_events.items():
        assert [field["name"] for field in listed[key]["payload"]] == event.field_names()
        assert (listed[key]["category"], listed[key]["description"]) == (
            event.category,
            event.description,
        )
    released = listed["salesOrderReleased"]
    assert (released["name"], released["category"], released["tableId"]) == (
        "Sales order released",
        "Sales",
        36,
    )
    assert {
        "name": "amount",
        "label": "amount",
        "type": "number",
        "description": "The order's amount excluding VAT.",
    } in released["payload"]
    categories = [event["category"] for event in designer_catalog()["businessEvents"]]
    assert categories == sorted(categories)  # one <optgroup> per category


def test_recurrence_options_follow_what_a_schedule_accepts():
    options = designer_catalog()["recurrence"]

    assert [option["value"] for option in options["frequencies"]] == list(FREQUENCIES)
    assert options["weekDays"] == list(WEEK_DAYS)
    for option in options["frequencies"]:
        frequency = option["value"]
        # Shown for a frequency exactly when a save accepts them with it.
        accepts_times = not recurrence_errors({"frequency": frequency, "hours": [9]})
        accepts_days = not recurrence_errors({"frequency": frequency, "weekDays": ["Monday"]})
        assert (option["times"], option["weekDays"]) == (accepts_times, accepts_days), frequency
    assert options["timeZones"][0] == "UTC"
    assert {"Europe/Berlin", "America/New_York", "Asia/Tokyo"} <= set(options["timeZones"])
    assert [
        zone
        for zone in options["timeZones"]
        if recurrence_errors({"frequency": "day", "timeZone": zone})
    ] == []


@pytest.mark.django_db
@pytest.mark.parametrize("kind", TRIGGERS)
def test_a_trigger_of_each_type_is_saved_and_opens_as_it_was(sales_client, kind):
    definition = with_trigger(TRIGGERS[kind])
    allowed = next(t for t in designer_catalog()["triggerTypes"] if t["type"] == kind)["keys"]
    assert set(TRIGGERS[kind]) - {"type"} <= set(allowed)

    response = post_flow(sales_client, reverse("automate:flow-new"), definition=definition)

    assert response.status_code == 302, response.content.decode()
    flow = Flow.objects.get()
    assert flow.trigger_type == kind
    assert flow.current_version.definition == definition
    reopened = sales_client.get(response["Location"])
    assert json.loads(page_definition(reopened)) == definition


@pytest.mark.django_db
def test_a_key_the_trigger_type_does_not_take_is_refused(sales_client):
    # What switching the type in the designer drops: the fields of "When a record is modified".
    trigger = {"type": "record_created", "table": 18, "fields": ["blocked"]}

    response = post_flow(
        sales_client, reverse("automate:flow-new"), definition=with_trigger(trigger)
    )

    assert response.status_code == 400
    assert "Trigger: unknown keys fields." in response.content.decode()
    assert not Flow.objects.exists()


def body_names(flow) -> set[str]:
    return set(TriggerEvent.objects.get(flow=flow).trigger_data["body"])


@pytest.mark.django_db
def test_dynamic_content_offers_what_a_change_and_a_business_event_carry(
    company, sales, django_capture_on_commit_callbacks
):
    catalog = designer_catalog()
    customer_table = next(table for table in catalog["tables"] if table["id"] == 18)
    blocked_event = next(e for e in catalog["businessEvents"] if e["key"] == "customerBlocked")
    customer = records.customer_create(company=company, user=sales, name="Fabrikam")
    modified = flow_create(
        company=company,
        owner=sales,
        name="Modified",
        definition=with_trigger(TRIGGERS["record_modified"]),
    )
    blocked = flow_create(
        company=company,
        owner=sales,
        name="Blocked",
        definition=with_trigger({"type": "business_event", "event": "customerBlocked"}),
    )

    with django_capture_on_commit_callbacks():
        records.customer_update(customer=customer, user=sales, blocked="all")

    offered = catalog_fields(catalog, "record_modified")
    offered |= {field["name"] for field in customer_table["fields"]}
    assert offered <= body_names(modified)
    offered = catalog_fields(catalog, "business_event")
    offered |= {field["name"] for field in blocked_event["payload"]}
    assert offered <= body_names(blocked)


@pytest.mark.django_db
def test_dynamic_content_offers_what_a_recurrence_carries(company, sales):
    flow = flow_create(
        company=company,
        owner=sales,
        name="Every five minutes",
        definition=with_trigger({"type": "recurrence", "frequency": "minute", "interval": 5}),
    )

    fire_recurrences(timezone.now() + datetime.timedelta(minutes=6))

    assert catalog_fields(designer_catalog(), "recurrence") <= body_names(flow)
