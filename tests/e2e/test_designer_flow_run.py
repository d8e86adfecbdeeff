"""A flow built in the designer, run from a sales order card on a real worker, and read back.

Everything the user does happens in Chromium: the flow is built card by card with dynamic
content, saved, run from the order's Automate group and followed to its run history. A Celery
worker process of the test's own runs it and writes the mail it sends to files.
"""

import email
import email.policy
import io
import re
from decimal import Decimal

import openpyxl
import pytest
from playwright.sync_api import expect

from automate.models import Flow, FlowRun, RunStatus, SentEmail
from records import services as records
from tests.e2e.conftest import log_in
from tests.factories import CustomerFactory, ItemFactory
from tests.workers import _delete_queue, routed_to, start_worker

pytestmark = [pytest.mark.slow, pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

RUN_TIMEOUT_MS = 60_000
FLOW_NAME = "Mail the lines of the order"
RECIPIENT = "orders@adatum.example"


@pytest.fixture
def mail_worker(worker_url, tmp_path):
    """A worker whose mail goes to files in a folder of this test: (worker, folder)."""
    mail_dir = tmp_path / "mail"
    worker = start_worker(
        worker_url,
        tmp_path / "worker.log",
        env={
            "EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
            "EMAIL_FILE_PATH": str(mail_dir),
            "MEDIA_ROOT": str(tmp_path / "media"),
        },
    )
    try:
        with routed_to(worker.queue):
            yield worker, mail_dir
    finally:
        worker.stop()
        _delete_queue(worker.queue)


def make_order(company, user):
    customer = CustomerFactory(company=company, no="C10000", name="Adatum Corporation")
    order = records.sales_order_create(company=company, user=user, customer=customer)
    for no, price, quantity in (("1896-S", "649.00", "2"), ("1900-S", "125.50", "4")):
        item = ItemFactory(company=company, no=no, unit_price=Decimal(price))
        records.sales_order_line_add(order=order, user=user, item=item, quantity=Decimal(quantity))
    order.refresh_from_db()
    return order


# -- Driving the designer -------------------------------------------------------------------


def card(page, name: str):
    return page.locator(f'section.step-card[data-step="{name}"]')


def textbox(scope, name: str):
    return scope.get_by_role("textbox", name=name, exact=True)


def choose_action(page, add_button, search: str, action: str):
    add_button.click()
    picker = page.locator(".action-picker")
    picker.get_by_role("searchbox", name="Search connectors and actions").fill(search)
    picker.get_by_role("button", name=action, exact=True).click()
    expect(picker).to_have_count(0)


def new_step_in(branch, page, search: str, action: str):
    choose_action(page, branch.get_by_role("button", name="+ New step").last, search, action)


def pick(page, label: str, *, group: str):
    """Insert a dynamic content item of ``group`` where the cursor is."""
    flyout = page.get_by_role("dialog", name="Add dynamic content")
    flyout.get_by_role("searchbox", name="Search dynamic content").fill(label)
    section = flyout.locator("section.dynamic-group").filter(
        has=page.get_by_role("heading", name=group, exact=True)
    )
    section.get_by_role("button", name=label, exact=True).click()


def build_flow(page):
    page.goto("/automate/flows/new/")
    page.get_by_role("region", name="Trigger").get_by_label("Table").select_option("36")
    page.get_by_label("Flow name").fill(FLOW_NAME)
    trigger = "For a selected record"

    # Only orders with an amount: [Amount Including VAT] [is greater than] [0].
    choose_action(
        page, page.get_by_role("button", name="+ New step").last, "condition", "Condition"
    )
    condition = card(page, "Condition")
    textbox(condition, "First value").click()
    pick(page, "Amount Including VAT", group=trigger)
    condition.get_by_role("combobox", name="Operator").select_option(label="is greater than")
    textbox(condition, "Second value").fill("0")

    # The variable the rows go to; variables are initialized at the top, before the condition.
    page.get_by_role("button", name="Insert a new step here").first.click()
    picker = page.locator(".action-picker")
    picker.get_by_role("searchbox", name="Search connectors and actions").fill("variable")
    picker.get_by_role("button", name="Initialize variable", exact=True).click()
    variable = card(page, "Initialize_variable")
    textbox(variable, "Name").fill("rows")
    variable.get_by_role("combobox", name="Type").select_option("array")
    textbox(variable, "Value").fill("[]")

    # If yes: the order's lines ...
    if_yes = condition.locator('.branch[data-branch="actions"]')
    new_step_in(if_yes, page, "find records", "Find records (V3)")
    lines = card(page, "Find_records_V3")
    lines.get_by_role("combobox", name="Table name").select_option(label="Sales Line")
    line_filter = textbox(lines, "Filter")
    line_filter.click()
    line_filter.type('{"documentId": "')
    pick(page, "Record ID", group=trigger)
    line_filter.type('"}')

    # ... a row for each ...
    new_step_in(if_yes, page, "apply to each", "Apply to each")
    loop = card(page, "Apply_to_each")
    textbox(loop, "Select an output from previous steps").click()
    pick(page, "Records", group="Find records V3")
    new_step_in(loop, page, "append", "Append to array variable")
    append = card(page, "Append_to_array_variable")
    textbox(append, "Name").fill("rows")
    row = textbox(append, "Value")
    row.click()
    row.type('{"Item No.": ')
    pick(page, "No.", group="Apply to each")
    row.type(', "Quantity": ')
    pick(page, "Quantity", group="Apply to each")
    row.type("}")

    # ... in a workbook ...
    new_step_in(if_yes, page, "excel", "Create workbook")
    workbook = card(page, "Create_workbook")
    textbox(workbook, "Rows").click()
    pick(page, "rows", group="Variables")
    file_name = textbox(workbook, "File name")
    file_name.fill("Order ")
    pick(page, "No.", group=trigger)
    file_name.press("End")
    file_name.type(".xlsx")

    # ... mailed to a fixed address.
    new_step_in(if_yes, page, "send an email", "Send an email (V2)")
    mail = card(page, "Send_an_email_V2")
    textbox(mail, "To").fill(RECIPIENT)
    subject = textbox(mail, "Subject")
    subject.fill("Lines of order ")
    pick(page, "No.", group=trigger)
    textbox(mail, "Body").fill("<p>The lines are attached.</p>")
    textbox(mail, "Attachments").click()
    pick(page, "Workbook file", group="Create workbook")

    # A clearer name for the lookup; the steps that read it follow the rename.
    title = lines.get_by_role("textbox", name="Step name")
    title.fill("Find lines")
    title.press("Enter")
    expect(card(page, "Find_lines")).to_have_count(1)

    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Saved as version 1.")).to_be_visible()


EXPECTED_STEPS = [
    {
        "name": "Initialize_variable",
        "type": "variables.initialize",
        "inputs": {"name": "rows", "type": "array", "value": []},
    },
    {
        "name": "Condition",
        "type": "control.condition",
        "inputs": {"expression": "@greater(triggerBody()?['totalAmountIncludingTax'], 0)"},
        "actions": [
            {
                "name": "Find_lines",
                "type": "business_central.find_records",
                "inputs": {
                    "table": 37,
                    "filter": {"documentId": "@{triggerBody()?['recordId']}"},
                    "top": 100,
                },
            },
            {
                "name": "Apply_to_each",
                "type": "control.foreach",
                "inputs": {"items": "@outputs('Find_lines')?['body/value']"},
                "actions": [
                    {
                        "name": "Append_to_array_variable",
                        "type": "variables.append",
                        "inputs": {
                            "name": "rows",
                            "value": {
                                "Item No.": "@items('Apply_to_each')?['lineObjectNumber']",
                                "Quantity": "@items('Apply_to_each')?['quantity']",
                            },
                        },
                    }
                ],
            },
            {
                "name": "Create_workbook",
                "type": "excel.create_workbook",
                "inputs": {
                    "rows": "@variables('rows')",
                    "sheet_name": "Sheet1",
                    "table_name": "Table1",
                    "file_name": "Order @{triggerBody()?['number']}.xlsx",
                },
            },
            {
                "name": "Send_an_email_V2",
                "type": "outlook.send_email",
                "inputs": {
                    "to": RECIPIENT,
                    "subject": "Lines of order @{triggerBody()?['number']}",
                    "body": "<p>The lines are attached.</p>",
                    "importance": "Normal",
                    "attachments": "@body('Create_workbook')",
                },
            },
        ],
        "else": [],
    },
]


# -- Reading the results --------------------------------------------------------------------


def run_step(page, title: str, path: str | None = None):
    """The run page's entry for a step (inside a loop, the one at ``path``)."""
    steps = page.locator("li.run-step").filter(
        has=page.locator(".run-step-title").get_by_text(title, exact=True)
    )
    if path is not None:
        steps = steps.filter(has=page.locator("code.run-step-path").get_by_text(path, exact=True))
    return steps


def expect_step(page, title: str, *, inputs: list[str], outputs: list[str], path=None):
    step = run_step(page, title, path)
    expect(step).to_have_count(1)
    expect(step.locator(".run-step-head .run-badge")).to_contain_text("Succeeded")
    for label, texts in (("Inputs", inputs), ("Outputs", outputs)):
        block = step.locator(".run-json").filter(
            has=page.locator(".run-json-label").get_by_text(label, exact=True)
        )
        expect(block).to_have_count(1)
        for text in texts:
            expect(block.locator("pre")).to_contain_text(text)


def sent_mail(mail_dir):
    [path] = list(mail_dir.iterdir())
    raw = path.read_bytes().rsplit(b"-" * 79, 1)[0]
    return email.message_from_bytes(raw, policy=email.policy.default)


def test_a_flow_built_in_the_designer_mails_the_order_lines_in_excel(
    page, mail_worker, company, sales
):
    worker, mail_dir = mail_worker
    order = make_order(company, sales)
    log_in(page, "sales")

    build_flow(page)
    flow = Flow.objects.get(name=FLOW_NAME)
    definition = flow.current_version.definition
    assert definition["trigger"] == {"type": "selected_record", "table": 36, "inputs": []}
    assert definition["steps"] == EXPECTED_STEPS

    # Run it on the order, from the order's own card.
    page.goto(f"/sales-orders/{order.pk}/")
    page.locator('details[data-group="automate"] > summary').click()
    menu = page.locator('details[data-group="automate"] .menu-panel')
    menu.get_by_role("menuitem", name=FLOW_NAME).click()
    expect(page.get_by_text(f"Run {FLOW_NAME} on {order.no}")).to_be_visible()
    page.get_by_role("button", name="Continue").click()
    progress = page.locator(".run-card")
    expect(progress).to_contain_text("Succeeded", timeout=RUN_TIMEOUT_MS)
    run = FlowRun.objects.get(flow=flow)
    assert run.status == RunStatus.SUCCEEDED, (run.error, worker.log()[-3000:])

    # Every step shows what it was given and what it gave back.
    progress.get_by_role("link", name="Open the run").click()
    expect(page).to_have_url(re.compile(rf"/automate/runs/{run.pk}/$"))
    expect(page.locator("li.run-step")).to_have_count(8)
    expect_step(page, "Initialize variable", inputs=['"rows"', '"array"'], outputs=['"body": []'])
    expect_step(page, "Condition", inputs=['"expression": true'], outputs=['"result": true'])
    expect_step(
        page,
        "Find lines",
        inputs=['"table": 37', f'"documentId": "{order.system_id}"'],
        outputs=['"lineObjectNumber": "1896-S"', '"lineObjectNumber": "1900-S"'],
    )
    expect_step(page, "Apply to each", inputs=['"items"', "1896-S"], outputs=['"iterations": 2'])
    for index, (no, quantity) in enumerate((("1896-S", 2), ("1900-S", 4))):
        expect_step(
            page,
            "Append to array variable",
            path=f"Apply_to_each[{index}]/Append_to_array_variable",
            inputs=[f'"Item No.": "{no}"', f'"Quantity": {quantity}'],
            outputs=[f'"Item No.": "{no}"'],
        )
    xlsx = f"Order {order.no}.xlsx"
    expect_step(
        page,
        "Create workbook",
        inputs=['"Item No.": "1896-S"', xlsx],
        outputs=[f'"name": "{xlsx}"', '"rowCount": 2'],
    )
    expect_step(
        page,
        "Send an email V2",
        inputs=[RECIPIENT, f"Lines of order {order.no}", xlsx],
        outputs=['"messageId"', RECIPIENT],
    )

    sent = SentEmail.objects.get(run=run)
    assert sent.to == [RECIPIENT]
    assert sent.subject == f"Lines of order {order.no}"
    assert sent.attachment_names == [xlsx]
    mail = sent_mail(mail_dir)
    assert mail["To"] == RECIPIENT
    [attachment] = list(mail.iter_attachments())
    assert attachment.get_filename() == xlsx
    sheet = openpyxl.load_workbook(io.BytesIO(attachment.get_content())).active
    assert list(sheet.iter_rows(values_only=True)) == [
        ("Item No.", "Quantity"),
        ("1896-S", 2),
        ("1900-S", 4),
    ]
