"""The templates gallery: ready-made flows people start from ("Create a flow").

A template is a flow definition like any other (docs/flows.md); creating a flow from it
validates it as a save from the designer would.
"""

from __future__ import annotations

from dataclasses import dataclass

CUSTOMER, ITEM, SALES_ORDER, SALES_LINE = 18, 27, 36, 37
RECORD_ID = "@{triggerBody()?['recordId']}"
# Teams incoming webhooks cannot be guessed: the flow's owner pastes their channel's URL.
TEAMS_WEBHOOK_PLACEHOLDER = "https://example.webhook.office.com/webhookb2/paste-your-channel-url"


@dataclass(frozen=True)
class FlowTemplate:
    key: str
    title: str
    description: str
    table_ids: tuple[int, ...]
    definition: dict
    category: str = "Instant"
    # Runs at once; 1 when runs share something (a workbook) that must change one at a time.
    concurrency_limit: int | None = None


def _instant(table: int, *steps: dict, inputs: tuple = ()) -> dict:
    return {
        "schemaVersion": 1,
        "trigger": {"type": "selected_record", "table": table, "inputs": list(inputs)},
        "steps": list(steps),
    }


def _step(name: str, kind: str, inputs: dict | None = None, **extra) -> dict:
    return {"name": name, "type": kind, "inputs": inputs or {}, **extra}


BLOCK_CUSTOMER = FlowTemplate(
    key="block-selected-customer",
    title="Block the selected customer",
    description="Blocks the customer (Blocked: All), so nothing more is sold to or "
    "invoiced for them until someone unblocks them.",
    table_ids=(CUSTOMER,),
    definition=_instant(
        CUSTOMER,
        _step(
            "Block_customer",
            "business_central.update_record",
            {"table": CUSTOMER, "id": RECORD_ID, "fields": {"blocked": "All"}},
            title="Block customer",
        ),
    ),
)

EMAIL_ORDER = FlowTemplate(
    key="email-sales-order-with-lines",
    title="Email the selected sales order to its customer with an Excel copy of its lines",
    description="Sends the order's customer an email with the order's totals and an Excel "
    "workbook of its lines attached. Stops with an error when the customer has no email.",
    table_ids=(SALES_ORDER,),
    definition=_instant(
        SALES_ORDER,
        _step(
            "Get_customer",
            "business_central.get_record",
            {"table": CUSTOMER, "id": "@{triggerBody()?['customerId']}"},
            title="Get customer",
        ),
        _step(
            "Has_email",
            "control.condition",
            {"expression": "@not(empty(body('Get_customer')?['email']))"},
            title="Has email",
            actions=[],
            **{
                "else": [
                    _step(
                        "No_email",
                        "control.terminate",
                        {
                            "status": "Failed",
                            "code": "NoEmail",
                            "message": "Customer @{body('Get_customer')?['number']} has no "
                            "email address.",
                        },
                        title="No email",
                    )
                ]
            },
        ),
        _step(
            "Find_lines",
            "business_central.find_records",
            {
                "table": SALES_LINE,
                "filter": {"documentId": RECORD_ID},
                "orderBy": "sequence",
                "top": 1000,
            },
            title="Find lines",
        ),
        _step(
            "Rows",
            "variables.initialize",
            {"name": "rows", "type": "array", "value": []},
        ),
        _step(
            "Each_line",
            "control.foreach",
            {"items": "@body('Find_lines')?['value']"},
            title="Each line",
            actions=[
                _step(
                    "Add_row",
                    "variables.append",
                    {
                        "name": "rows",
                        "value": {
                            "Line No.": "@items('Each_line')?['sequence']",
                            "Item No.": "@items('Each_line')?['lineObjectNumber']",
                            "Description": "@items('Each_line')?['description']",
                            "Quantity": "@items('Each_line')?['quantity']",
                            "Unit Price": "@items('Each_line')?['unitPrice']",
                            "Line Amount": "@items('Each_line')?['amountExcludingTax']",
                        },
                    },
                    title="Add row",
                )
            ],
        ),
        _step(
            "Create_workbook",
            "excel.create_workbook",
            {
                "rows": "@variables('rows')",
                "table_name": "Lines",
                "file_name": "Sales Order @{triggerBody()?['number']}.xlsx",
            },
            title="Create workbook",
        ),
        _step(
            "Send_an_email",
            "outlook.send_email",
            {
                "to": "@{body('Get_customer')?['email']}",
                "subject": "Sales Order @{triggerBody()?['number']}",
                "body": "<p>Dear @{body('Get_customer')?['displayName']},</p>"
                "<p>Please find the lines of sales order @{triggerBody()?['number']} "
                "attached.</p><p>Total including tax: "
                "@{triggerBody()?['totalAmountIncludingTax']} "
                "@{triggerBody()?['currencyCode']}</p>",
                "attachments": ["@body('Create_workbook')"],
            },
            title="Send an email",
        ),
    ),
)

POST_AND_NOTIFY = FlowTemplate(
    key="post-sales-order-notify-teams",
    title="Post the selected sales order and notify a Teams channel",
    description="Posts the order and tells a Teams channel the invoice number, or that "
    "posting failed and why. Paste your channel's incoming webhook URL into both Teams "
    "steps first.",
    table_ids=(SALES_ORDER,),
    definition=_instant(
        SALES_ORDER,
        _step(
            "Try",
            "control.scope",
            actions=[
                _step(
                    "Post_order",
                    "business_central.run_action",
                    {"table": SALES_ORDER, "id": RECORD_ID, "action": "post"},
                    title="Post order",
                ),
                _step(
                    "Notify_channel",
                    "teams.post_message",
                    {
                        "webhook_url": TEAMS_WEBHOOK_PLACEHOLDER,
                        "message": "Sales order @{triggerBody()?['number']} for "
                        "@{triggerBody()?['customerName']} was posted as invoice "
                        "@{body('Post_order')?['number']} by @{triggerBody()?['userName']}.",
                    },
                    title="Notify channel",
                ),
            ],
        ),
        _step(
            "Notify_failure",
            "teams.post_message",
            {
                "webhook_url": TEAMS_WEBHOOK_PLACEHOLDER,
                "message": "Posting sales order @{triggerBody()?['number']} failed: "
                "@{actions('Post_order')?['error']?['message']}",
            },
            title="Notify failure",
            runAfter=["Failed", "TimedOut"],
        ),
        _step(
            "Fail_run",
            "control.terminate",
            {"status": "Failed", "code": "PostingFailed", "message": "The order was not posted."},
            title="Fail run",
        ),
    ),
)

EXPORT_ITEMS = FlowTemplate(
    key="export-items-to-excel",
    title="Export the selected items to an Excel workbook in Documents",
    description="Adds a row per selected item (No., description, unit price, inventory) to "
    "the workbook Items export.xlsx in Documents, creating it the first time.",
    table_ids=(ITEM,),
    # Each selected row is a run of its own; one at a time, so no row is lost.
    concurrency_limit=1,
    definition=_instant(
        ITEM,
        _step(
            "Item_row",
            "data.compose",
            {
                "value": {
                    "No.": "@triggerBody()?['number']",
                    "Description": "@triggerBody()?['displayName']",
                    "Unit Price": "@triggerBody()?['unitPrice']",
                    "Inventory": "@triggerBody()?['inventory']",
                    "Exported": "@utcNow()",
                }
            },
            title="Item row",
        ),
        _step(
            "Add_to_workbook",
            "excel.add_row",
            {
                "path": "/Documents/Items export.xlsx",
                "table_name": "Items",
                "row": "@body('Item_row')",
            },
            title="Add to workbook",
        ),
        _step(
            "Create_workbook",
            "excel.create_workbook",
            {
                "rows": "@createArray(body('Item_row'))",
                "table_name": "Items",
                "file_name": "Items export.xlsx",
            },
            title="Create workbook",
            runAfter=["Failed"],
        ),
        _step(
            "Save_to_Documents",
            "sharepoint.create_file",
            {"name": "Items export.xlsx", "content": "@body('Create_workbook')"},
            title="Save to Documents",
        ),
    ),
)

EMAIL_ON_RELEASE = FlowTemplate(
    key="email-customer-when-sales-order-released",
    title="When a sales order is released, email the customer",
    description="Tells the customer that their order was released, with its amount, as soon "
    "as someone releases it (on its page, through the API, by an approval or a flow). "
    "Orders of customers without an email address are skipped.",
    table_ids=(SALES_ORDER,),
    category="Automated",
    definition={
        "schemaVersion": 1,
        "trigger": {
            "type": "business_event",
            "event": "salesOrderReleased",
            "conditions": ["@not(empty(triggerBody()?['customerEmail']))"],
        },
        "steps": [
            _step(
                "Send_an_email",
                "outlook.send_email",
                {
                    "to": "@{triggerBody()?['customerEmail']}",
                    "subject": "Your order @{triggerBody()?['salesOrderNumber']} has been released",
                    "body": "<p>Dear @{triggerBody()?['customerName']},</p>"
                    "<p>Your order @{triggerBody()?['salesOrderNumber']} of "
                    "@{formatDateTime(triggerBody()?['orderDate'], 'MMMM d, yyyy')} has been "
                    "released and is being prepared for shipping.</p>"
                    "<p>Total including tax: @{triggerBody()?['amountIncludingVat']}</p>",
                },
                title="Send an email",
            )
        ],
    },
)

DAILY_BLOCKED_CUSTOMERS = FlowTemplate(
    key="daily-blocked-customers-workbook",
    title="Every morning, save the blocked customers to an Excel workbook in Documents",
    description="At 08:00 each day, writes the customers blocked for all transactions, with "
    "their balance, to a dated workbook in Documents.",
    table_ids=(),
    category="Scheduled",
    definition={
        "schemaVersion": 1,
        "trigger": {
            "type": "recurrence",
            "frequency": "day",
            "interval": 1,
            "hours": [8],
            "minutes": [0],
            "timeZone": "UTC",
        },
        "steps": [
            _step(
                "Find_blocked_customers",
                "business_central.find_records",
                {"table": CUSTOMER, "filter": {"blocked": "All"}, "orderBy": "number"},
                title="Find blocked customers",
            ),
            _step(
                "Create_workbook",
                "excel.create_workbook",
                {
                    "rows": "@body('Find_blocked_customers')?['value']",
                    "table_name": "Blocked",
                    "file_name": "Blocked customers.xlsx",
                },
                title="Create workbook",
            ),
            _step(
                "Save_to_Documents",
                "sharepoint.create_file",
                {
                    "name": "Blocked customers "
                    "@{formatDateTime(triggerBody()?['scheduledTime'], 'yyyy-MM-dd')}.xlsx",
                    "content": "@body('Create_workbook')",
                },
                title="Save to Documents",
            ),
        ],
    },
)

APPROVAL = "Start_and_wait_for_an_approval"
REQUEST_ID = "@{triggerBody()?['approvalRequestId']}"


def _answer(name: str, response: str, **extra) -> dict:
    return _step(
        name,
        "business_central.respond_to_approval_request",
        {"approvalRequestId": REQUEST_ID, "response": response},
        **extra,
    )


SALES_ORDER_APPROVAL = FlowTemplate(
    key="request-approval-for-a-sales-order",
    title="Request approval for a sales order",
    description="When someone sends a sales order for approval, their approver (Approver ID "
    "in Approval User Setup) is asked to approve it. Approved, the order is released; "
    "rejected, it is reopened. If the approval cannot be asked for or expires, the request "
    "is cancelled and the order reopened.",
    table_ids=(SALES_ORDER,),
    category="Approval",
    definition={
        "schemaVersion": 1,
        "trigger": {"type": "approval_requested", "table": SALES_ORDER},
        "steps": [
            _step(
                APPROVAL,
                "approvals.start_and_wait_for_approval",
                {
                    "approvalType": "first",
                    "title": "Sales order @{triggerBody()?['number']} for "
                    "@{triggerBody()?['customerName']}: @{triggerBody()?['amount']} "
                    "@{triggerBody()?['currencyCode']}",
                    "assignedTo": "@{triggerBody()?['approverUserName']}",
                    "details": "@{triggerBody()?['requesterUserName']} requests approval of "
                    "sales order @{triggerBody()?['number']} to "
                    "@{triggerBody()?['customerName']}, @{triggerBody()?['amount']} "
                    "@{triggerBody()?['currencyCode']} excluding VAT "
                    "(@{triggerBody()?['totalAmountIncludingTax']} including VAT).",
                    "itemLink": "@{triggerBody()?['recordLink']}",
                    "itemLinkDescription": "Sales order @{triggerBody()?['number']}",
                },
                title="Start and wait for an approval",
            ),
            _step(
                "Approved",
                "control.condition",
                {"expression": f"@equals(body('{APPROVAL}')?['outcome'], 'Approve')"},
                title="Approved",
                actions=[_answer("Approve_the_request", "Approve", title="Approve the request")],
                **{"else": [_answer("Reject_the_request", "Reject", title="Reject the request")]},
            ),
            # Nobody was asked (no approver), nobody answered in time, or the order could
            # not be released: the request does not stay pending for ever.
            _answer(
                "Cancel_the_request",
                "Cancel",
                title="Cancel the request",
                runAfter=["Failed", "Skipped", "TimedOut"],
            ),
        ],
    },
)

GALLERY: dict[str, FlowTemplate] = {
    t.key: t
    for t in (
        BLOCK_CUSTOMER,
        EMAIL_ORDER,
        POST_AND_NOTIFY,
        EXPORT_ITEMS,
        EMAIL_ON_RELEASE,
        DAILY_BLOCKED_CUSTOMERS,
        SALES_ORDER_APPROVAL,
    )
}


def templates_for(table_id: int | None) -> list[FlowTemplate]:
    """The templates that run on ``table_id``; every template when it is None."""
    return [t for t in GALLERY.values() if table_id is None or table_id in t.table_ids]


def get_template(key: str) -> FlowTemplate | None:
    return GALLERY.get(key)
