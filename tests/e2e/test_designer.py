"""The flow designer in Chromium: building a flow with cards, dynamic content and saving it."""

import json
import re

import pytest
from playwright.sync_api import expect

from automate.models import Flow
from automate.services import flow_create
from tests.e2e.conftest import TIMEOUT_MS, log_in

pytestmark = [pytest.mark.slow, pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def add_step(page, end_button, search: str, action: str):
    end_button.click()
    picker = page.locator(".action-picker")
    picker.get_by_role("searchbox", name="Search connectors and actions").fill(search)
    picker.get_by_role("button", name=action, exact=True).click()
    expect(picker).to_have_count(0)


def card(page, name: str):
    return page.locator(f'section.step-card[data-step="{name}"]')


def test_a_flow_is_built_with_cards_and_dynamic_content(page, company, sales):
    log_in(page, "sales")
    page.goto("/automate/flows/new/?table=18")
    expect(page.get_by_label("Table")).to_have_value("18")
    page.get_by_label("Flow name").fill("Greet the customer")

    # A Compose step whose input holds the record's name, from the dynamic content flyout.
    add_step(page, page.get_by_role("button", name="+ New step").last, "compose", "Compose")
    compose_input = card(page, "Compose").get_by_label("Inputs")
    compose_input.click()
    flyout = page.get_by_role("dialog", name="Add dynamic content")
    flyout.get_by_role("searchbox", name="Search dynamic content").fill("name")
    flyout.get_by_role("button", name="Name", exact=True).click()
    expect(compose_input).to_have_value("@{triggerBody()?['displayName']}")
    compose_input.press("End")
    compose_input.type(" says hello")

    # A Condition after it, with a step in "If yes" that reads Compose's output.
    add_step(page, page.get_by_role("button", name="+ New step").last, "condition", "Condition")
    condition = card(page, "Condition")
    condition.get_by_role("textbox", name="First value").click()
    page.get_by_role("dialog", name="Add dynamic content").get_by_role(
        "button", name="Blocked", exact=True
    ).click()
    if_yes = condition.locator('.branch[data-branch="actions"]')
    add_step(page, if_yes.get_by_role("button", name="+ New step"), "compose", "Compose")
    inner = card(page, "Compose_2")
    inner_input = inner.get_by_label("Inputs")
    inner_input.click()
    page.get_by_role("dialog", name="Add dynamic content").get_by_role(
        "button", name="Body", exact=True
    ).click()
    expect(inner_input).to_have_value("@{body('Compose')}")

    # Renaming the inner step turns its title into its name.
    title = inner.get_by_label("Step name")
    title.fill("Say hello")
    title.press("Enter")
    expect(card(page, "Say_hello")).to_have_count(1)

    page.get_by_role("button", name="Save").click()
    expect(page).to_have_url(re.compile(r"/automate/flows/\d+/$"))
    expect(page.get_by_text("Saved as version 1.")).to_be_visible()

    flow = Flow.objects.get(name="Greet the customer")
    definition = flow.current_version.definition
    assert definition["trigger"] == {"type": "selected_record", "table": 18, "inputs": []}
    compose, condition_step = definition["steps"]
    assert compose == {
        "name": "Compose",
        "type": "data.compose",
        "inputs": {"value": "@{triggerBody()?['displayName']} says hello"},
    }
    assert condition_step["type"] == "control.condition"
    assert condition_step["inputs"] == {"expression": "@equals(triggerBody()?['blocked'], '')"}
    assert condition_step["else"] == []
    assert condition_step["actions"] == [
        {"name": "Say_hello", "type": "data.compose", "inputs": {"value": "@{body('Compose')}"}}
    ]


def test_the_browser_refuses_duplicate_names_before_saving(page, company, sales):
    log_in(page, "sales")
    page.goto("/automate/flows/new/?table=18")
    page.get_by_label("Flow name").fill("Two composes")
    for _ in range(2):
        add_step(page, page.get_by_role("button", name="+ New step").last, "compose", "Compose")
    second = card(page, "Compose_2")
    second.get_by_label("Step name").fill("Compose")
    second.get_by_label("Step name").press("Enter")
    expect(second.get_by_text("Another step is already called Compose.")).to_be_visible()

    add_step(page, page.get_by_role("button", name="+ New step").last, "find", "Find records (V3)")
    records = card(page, "Find_records_V3")
    records.get_by_label("Filter").fill('{"city": ')
    expect(records.get_by_text("Not valid JSON.")).to_be_visible()
    records.get_by_role("button", name="Collapse").click()
    records.get_by_role("button", name="Expand").click()
    expect(records.get_by_label("Filter")).to_have_value('{"city": ')
    expect(second.get_by_label("Step name")).to_have_value("Compose")

    page.get_by_role("button", name="Save").click()
    errors = page.locator("[data-designer-errors]")
    expect(errors).to_contain_text("Compose: Inputs is required.")
    expect(errors).to_contain_text(
        "Compose 2: the new name Compose is refused: Another step is already called Compose."
    )
    expect(errors).to_contain_text("Find records V3: an input holds text that is not valid JSON.")
    assert not Flow.objects.exists()


def test_moving_and_deleting_steps_follows_the_definition(page, company, sales):
    flow = flow_create(
        company=company,
        owner=sales,
        name="Three steps",
        definition={
            "schemaVersion": 1,
            "trigger": {"type": "selected_record", "table": 18, "inputs": []},
            "steps": [
                {"name": name, "type": "data.compose", "inputs": {"value": name}}
                for name in ("First", "Second", "Third")
            ],
        },
    )
    log_in(page, "sales")
    page.goto(f"/automate/flows/{flow.pk}/")
    card(page, "Third").get_by_role("button", name="Move up").click()
    card(page, "First").get_by_role("button", name="Delete").click()
    expect(card(page, "First")).to_have_count(0)
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Saved as version 2.")).to_be_visible()

    flow.refresh_from_db()
    assert [s["name"] for s in flow.current_version.definition["steps"]] == ["Third", "Second"]


def pick(page, label: str):
    flyout = page.get_by_role("dialog", name="Add dynamic content")
    flyout.get_by_role("searchbox", name="Search dynamic content").fill(label)
    flyout.get_by_role("button", name=label, exact=True).click()


def page_definition(page) -> dict:
    return json.loads(page.locator("textarea[name=definition]").input_value())


def test_a_condition_is_built_from_a_value_an_operator_and_a_value(page, company, sales):
    flow = flow_create(
        company=company,
        owner=sales,
        name="Not a Ltd",
        definition={
            "schemaVersion": 1,
            "trigger": {"type": "selected_record", "table": 18, "inputs": []},
            "steps": [
                {
                    "name": "Check",
                    "type": "control.condition",
                    "inputs": {
                        "expression": "@not(contains(triggerBody()?['displayName'], 'Ltd'))"
                    },
                    "actions": [],
                    "else": [],
                }
            ],
        },
    )
    log_in(page, "sales")
    page.goto(f"/automate/flows/{flow.pk}/")
    check = card(page, "Check")
    first = check.get_by_role("textbox", name="First value")
    operator = check.get_by_role("combobox", name="Operator")
    second = check.get_by_role("textbox", name="Second value")
    expect(first).to_have_value("@{triggerBody()?['displayName']}")
    expect(operator).to_have_value("not contains")
    expect(second).to_have_value("Ltd")

    first.fill("")
    pick(page, "Credit Limit (LCY)")
    operator.select_option(label="is greater than or equal to")
    second.fill("1000")
    expression = "@greaterOrEquals(triggerBody()?['creditLimit'], 1000)"
    assert page_definition(page)["steps"][0]["inputs"]["expression"] == expression

    # Text around a token becomes concat(); quotes in text are doubled.
    operator.select_option(label="is equal to")
    second.fill("Don't ")
    pick(page, "No.")
    expression = (
        "@equals(triggerBody()?['creditLimit'], concat('Don''t ', triggerBody()?['number']))"
    )
    assert page_definition(page)["steps"][0]["inputs"]["expression"] == expression

    check.get_by_role("button", name="Edit in advanced mode").click()
    advanced = check.get_by_role("textbox", name="Condition")
    expect(advanced).to_have_value(expression)
    advanced.fill("@or(equals(1, 2), true)")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Saved as version 2.")).to_be_visible()

    # What basic mode cannot show opens as the expression, with no way back to basic mode.
    check = card(page, "Check")
    expect(check.get_by_role("textbox", name="Condition")).to_have_value("@or(equals(1, 2), true)")
    expect(check.get_by_role("textbox", name="First value")).to_have_count(0)
    expect(check.get_by_role("button", name="Edit in basic mode")).to_have_count(0)
    flow.refresh_from_db()
    assert flow.current_version.definition["steps"][0]["inputs"] == {
        "expression": "@or(equals(1, 2), true)"
    }


def test_json_in_a_variable_value_is_kept_as_an_object(page, company, sales):
    log_in(page, "sales")
    page.goto("/automate/flows/new/?table=18")
    page.get_by_label("Flow name").fill("Rows of customers")
    end = page.get_by_role("button", name="+ New step").last
    add_step(page, end, "variable", "Initialize variable")
    variable = card(page, "Initialize_variable")
    variable.get_by_role("textbox", name="Name", exact=True).fill("rows")
    variable.get_by_role("combobox", name="Type").select_option("array")
    variable.get_by_role("textbox", name="Value").fill("[]")

    add_step(
        page,
        page.get_by_role("button", name="+ New step").last,
        "append",
        "Append to array variable",
    )
    append = card(page, "Append_to_array_variable")
    append.get_by_role("textbox", name="Name", exact=True).fill("rows")
    value = append.get_by_role("textbox", name="Value")
    value.click()
    # Where JSON expects a value the token keeps its type; inside a string it is text.
    value.type('{"Name": ')
    pick(page, "Name")
    value.type(', "City": "in ')
    pick(page, "City")
    value.type('"}')

    add_step(page, page.get_by_role("button", name="+ New step").last, "compose", "Compose")
    compose = card(page, "Compose")
    inputs = compose.get_by_role("textbox", name="Inputs")
    note = compose.get_by_text("This is not valid JSON, so it is saved as text.")
    inputs.fill("[1, 2")
    expect(note).to_be_visible()
    assert page_definition(page)["steps"][2]["inputs"] == {"value": "[1, 2"}
    inputs.fill("[1, 2]")
    expect(note).to_be_hidden()

    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Saved as version 1.")).to_be_visible()
    row = {"Name": "@triggerBody()?['displayName']", "City": "in @{triggerBody()?['city']}"}
    steps = Flow.objects.get(name="Rows of customers").current_version.definition["steps"]
    assert [step["inputs"]["value"] for step in steps] == [[], row, [1, 2]]
    expect(
        card(page, "Append_to_array_variable").get_by_role("textbox", name="Value")
    ).to_have_value(json.dumps(row, indent=2))


def test_a_click_that_closes_the_dynamic_content_flyout_still_lands(page, company, sales):
    log_in(page, "sales")
    page.goto("/automate/flows/new/?table=18")
    add_step(page, page.get_by_role("button", name="+ New step").last, "compose", "Compose")
    card(page, "Compose").get_by_label("Inputs").click()
    flyout = page.get_by_role("dialog", name="Add dynamic content")
    expect(flyout).to_be_visible()
    # The flyout reaches below the last card: at the bottom of the page, closing it shortens
    # the page under the pointer.
    page.mouse.wheel(0, 5000)
    page.get_by_role("button", name="+ New step").last.click()
    expect(page.get_by_role("searchbox", name="Search connectors and actions")).to_be_focused()
    expect(flyout).to_have_count(0)


@pytest.fixture
def page_without_script(browser, live_server):
    context = browser.new_context(base_url=live_server.url, java_script_enabled=False)
    context.set_default_timeout(TIMEOUT_MS)
    try:
        yield context.new_page()
    finally:
        context.close()


def test_without_javascript_the_definition_is_edited_as_json(page_without_script, company, sales):
    page = page_without_script
    log_in(page, "sales")
    page.goto("/automate/flows/new/?table=18")
    page.get_by_label("Flow name").fill("Plain JSON")
    editor = page.get_by_label("Definition (JSON)")
    definition = json.loads(editor.input_value())
    definition["steps"] = [{"name": "Compose", "type": "data.compose", "inputs": {}}]
    editor.fill(json.dumps(definition))
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Compose: value is required.")).to_be_visible()

    definition["steps"][0]["inputs"]["value"] = "hello"
    page.get_by_label("Definition (JSON)").fill(json.dumps(definition))
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Saved as version 1.")).to_be_visible()
    assert Flow.objects.get().current_version.definition == definition


def test_my_flows_turns_a_flow_off_in_place(page, company, sales):
    flow = flow_create(
        company=company,
        owner=sales,
        name="Notify sales",
        definition={
            "schemaVersion": 1,
            "trigger": {"type": "selected_record", "table": 18, "inputs": []},
            "steps": [],
        },
    )
    log_in(page, "sales")
    page.goto("/automate/flows/")
    row = page.locator(f"#flow-{flow.pk}")
    expect(row).to_contain_text("For a selected record · Customer")
    row.get_by_role("button", name="On").click()
    expect(page.locator(f"#flow-{flow.pk}").get_by_role("button", name="Off")).to_be_visible()
    expect(page).to_have_url(re.compile(r"/automate/flows/$"))
    flow.refresh_from_db()
    assert flow.enabled is False


# -- Trigger types --------------------------------------------------------------------------


def trigger_type(page):
    return page.get_by_role("combobox", name="Trigger", exact=True)


def trigger_card(page):
    return page.locator("section.trigger-card")


def test_a_record_modified_flow_keeps_its_fields_and_condition(page, company, sales):
    log_in(page, "sales")
    page.goto("/automate/flows/new/?table=18")
    page.get_by_label("Flow name").fill("Customer blocked")
    trigger_type(page).select_option(label="When a record is modified")
    trigger = trigger_card(page)
    expect(trigger.get_by_role("combobox", name="Table")).to_have_value("18")
    fields = trigger.get_by_role("group", name="Only when these fields change")
    fields.get_by_role("checkbox", name="Blocked", exact=True).check()

    # A trigger condition, with the field from dynamic content.
    trigger.get_by_role("button", name="+ Add a condition").click()
    condition = trigger.get_by_role("textbox", name="Trigger condition 1")
    expect(condition).to_be_focused()
    condition.type("@equals(")
    flyout = page.get_by_role("dialog", name="Add dynamic content")
    # What the trigger carries: the record's fields, the change and the values before it.
    expect(flyout.get_by_role("button", name="Changed fields", exact=True)).to_be_visible()
    expect(flyout.get_by_role("button", name="Previous Blocked", exact=True)).to_be_visible()
    pick(page, "Blocked")
    condition.type(", 'all')")
    expect(condition).to_have_value("@equals(triggerBody()?['blocked'], 'all')")

    add_step(page, page.get_by_role("button", name="+ New step").last, "compose", "Compose")
    card(page, "Compose").get_by_label("Inputs").click()
    pick(page, "Changed by")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Saved as version 1.")).to_be_visible()

    flow = Flow.objects.get(name="Customer blocked")
    definition = flow.current_version.definition
    assert definition["trigger"] == {
        "type": "record_modified",
        "table": 18,
        "fields": ["blocked"],
        "conditions": ["@equals(triggerBody()?['blocked'], 'all')"],
    }
    assert definition["steps"][0]["inputs"] == {"value": "@{triggerBody()?['userName']}"}

    page.reload()
    expect(trigger_type(page)).to_have_value("record_modified")
    trigger = trigger_card(page)
    fields = trigger.get_by_role("group", name="Only when these fields change")
    expect(fields.get_by_role("checkbox", name="Blocked", exact=True)).to_be_checked()
    expect(fields.get_by_role("checkbox", name="City", exact=True)).not_to_be_checked()
    expect(trigger.get_by_role("textbox", name="Trigger condition 1")).to_have_value(
        "@equals(triggerBody()?['blocked'], 'all')"
    )


def test_switching_the_trigger_type_keeps_only_what_the_new_type_takes(page, company, sales):
    flow = flow_create(
        company=company,
        owner=sales,
        name="Switching",
        definition={
            "schemaVersion": 1,
            "trigger": {
                "type": "record_modified",
                "table": 18,
                "fields": ["blocked"],
                "conditions": ["@equals(triggerBody()?['city'], 'Berlin')"],
            },
            "steps": [],
        },
    )
    log_in(page, "sales")
    page.goto(f"/automate/flows/{flow.pk}/")
    trigger = trigger_card(page)

    # The redraw keeps the keyboard on the choice.
    trigger_type(page).focus()
    trigger_type(page).select_option(label="When a record is created")
    expect(trigger_type(page)).to_be_focused()
    expect(trigger.get_by_role("group", name="Only when these fields change")).to_have_count(0)
    expect(trigger.get_by_role("textbox", name="Trigger condition 1")).to_have_value(
        "@equals(triggerBody()?['city'], 'Berlin')"
    )
    assert page_definition(page)["trigger"] == {
        "type": "record_created",
        "table": 18,
        "conditions": ["@equals(triggerBody()?['city'], 'Berlin')"],
    }

    # An instant flow has inputs, not trigger conditions.
    trigger_type(page).select_option(label="For a selected record")
    expect(trigger.get_by_role("group", name="Trigger conditions")).to_have_count(0)
    expect(trigger.get_by_role("button", name="+ Add an input")).to_be_visible()
    assert page_definition(page)["trigger"] == {
        "type": "selected_record",
        "table": 18,
        "inputs": [],
    }

    trigger_type(page).select_option(label="When an HTTP request is received")
    expect(trigger.get_by_role("combobox", name="Table")).to_have_count(0)
    assert page_definition(page)["trigger"] == {"type": "http_request", "method": "POST"}
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Saved as version 2.")).to_be_visible()
    flow.refresh_from_db()
    assert flow.trigger_type == "http_request"


def test_a_recurrence_flow_runs_every_five_minutes(page, company, sales):
    log_in(page, "sales")
    page.goto("/automate/flows/new/")
    page.get_by_label("Flow name").fill("Every five minutes")
    trigger_type(page).select_option(label="Recurrence")
    trigger = trigger_card(page)
    frequency = trigger.get_by_role("combobox", name="Frequency")
    hours = trigger.get_by_role("group", name="At these hours")
    days = trigger.get_by_role("group", name="On these days")

    # Times of day and week days are offered only where the frequency has them.
    frequency.select_option(label="Week")
    days.get_by_role("checkbox", name="Friday").check()
    hours.get_by_role("checkbox", name="17", exact=True).check()
    trigger.get_by_role("textbox", name="At these minutes").fill("30, 0, 61")
    expect(trigger.get_by_text("Minutes are whole numbers from 0 to 59")).to_be_visible()
    trigger.get_by_role("textbox", name="At these minutes").fill("30, 0")
    assert page_definition(page)["trigger"] == {
        "type": "recurrence",
        "frequency": "week",
        "interval": 1,
        "hours": [17],
        "minutes": [0, 30],
        "weekDays": ["Friday"],
    }
    frequency.select_option(label="Minute")
    expect(hours).to_have_count(0)
    expect(days).to_have_count(0)
    expect(trigger.get_by_role("textbox", name="At these minutes")).to_have_count(0)

    trigger.get_by_role("spinbutton", name="Interval").fill("5")
    trigger.get_by_role("combobox", name="Time zone").fill("Europe/Berlin")
    trigger.get_by_label("Start time").fill("2026-05-04T09:00")
    add_step(page, page.get_by_role("button", name="+ New step").last, "compose", "Compose")
    card(page, "Compose").get_by_label("Inputs").click()
    pick(page, "Scheduled time")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Saved as version 1.")).to_be_visible()

    flow = Flow.objects.get(name="Every five minutes")
    definition = flow.current_version.definition
    assert definition["trigger"] == {
        "type": "recurrence",
        "frequency": "minute",
        "interval": 5,
        "timeZone": "Europe/Berlin",
        "startTime": "2026-05-04T09:00",
    }
    assert definition["steps"][0]["inputs"] == {"value": "@{triggerBody()?['scheduledTime']}"}
    assert flow.trigger_type == "recurrence"
    expect(trigger_card(page).get_by_role("spinbutton", name="Interval")).to_have_value("5")


def test_a_business_event_flow_reads_the_events_payload(page, company, sales):
    log_in(page, "sales")
    page.goto("/automate/flows/new/")
    page.get_by_label("Flow name").fill("Released orders")
    trigger_type(page).select_option(label="When a business event occurs")
    trigger = trigger_card(page)
    add_step(page, page.get_by_role("button", name="+ New step").last, "compose", "Compose")
    page.get_by_role("button", name="Save").click()
    expect(page.locator("[data-designer-errors]")).to_contain_text(
        "Trigger: choose a business event from the catalogue."
    )

    event = trigger.get_by_role("combobox", name="Business event")
    event.select_option(label="Sales order released")
    expect(event).to_have_accessible_description(
        re.compile("A sales order was released, from Open or by an approval.")
    )
    card(page, "Compose").get_by_label("Inputs").click()
    flyout = page.get_by_role("dialog", name="Add dynamic content")
    expect(flyout.get_by_role("button", name="Event time", exact=True)).to_be_visible()
    pick(page, "salesOrderNumber")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Saved as version 1.")).to_be_visible()

    definition = Flow.objects.get(name="Released orders").current_version.definition
    assert definition["trigger"] == {"type": "business_event", "event": "salesOrderReleased"}
    assert definition["steps"][0]["inputs"] == {"value": "@{triggerBody()?['salesOrderNumber']}"}


def test_an_http_trigger_keeps_a_schema_that_does_not_parse(page, company, sales):
    log_in(page, "sales")
    page.goto("/automate/flows/new/")
    page.get_by_label("Flow name").fill("Orders from the shop")
    trigger_type(page).select_option(label="When an HTTP request is received")
    trigger = trigger_card(page)
    trigger.get_by_role("combobox", name="Method").select_option("PUT")
    schema = trigger.get_by_role("textbox", name="Request Body JSON Schema")
    schema.fill('{"type": "object", "properties": {')
    expect(trigger.get_by_text(re.compile(r"^Not valid JSON"))).to_be_visible()
    expect(schema).to_have_attribute("aria-invalid", "true")

    # A redraw keeps what was typed, and Save says what is wrong.
    add_step(page, page.get_by_role("button", name="+ New step").last, "compose", "Compose")
    expect(schema).to_have_value('{"type": "object", "properties": {')
    page.get_by_role("button", name="Save").click()
    expect(page.locator("[data-designer-errors]")).to_contain_text(
        "Trigger, Request Body JSON Schema: Not valid JSON"
    )
    assert not Flow.objects.exists()

    # Power Automate's "Use sample payload to generate schema".
    trigger.get_by_text("Use sample payload to generate schema").click()
    trigger.get_by_role("textbox", name="Sample JSON payload").fill(
        '{"orderNumber": "S-1", "lines": [{"quantity": 2}]}'
    )
    trigger.get_by_role("button", name="Generate the schema").click()
    expect(schema).not_to_have_attribute("aria-invalid", "true")
    trigger.get_by_role("checkbox", name="Require a signed request").check()
    card(page, "Compose").get_by_label("Inputs").click()
    pick(page, "orderNumber")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Saved as version 1.")).to_be_visible()

    flow = Flow.objects.get(name="Orders from the shop")
    definition = flow.current_version.definition
    assert definition["trigger"] == {
        "type": "http_request",
        "method": "PUT",
        "schema": {
            "type": "object",
            "properties": {
                "orderNumber": {"type": "string"},
                "lines": {
                    "type": "array",
                    "items": {"type": "object", "properties": {"quantity": {"type": "integer"}}},
                },
            },
        },
        "requireSignature": True,
    }
    assert definition["steps"][0]["inputs"] == {"value": "@{triggerBody()?['orderNumber']}"}
    expect(
        trigger_card(page).get_by_role("checkbox", name="Require a signed request")
    ).to_be_checked()
