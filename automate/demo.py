"""The Power Automate part of the demo company: the flow behind "Notify warehouse".

"Notify warehouse" is the custom action on the sales order (records/pages.py) that runs the
flow with the key ``notify-warehouse``. The demo ships that flow: an instant flow on sales
orders owned by ``admin`` and shared run-only with ``sales``, which asks for the shipment
date, reads the order and its lines and mails them to the warehouse.

It is created once: a demo where someone changed, switched off or unshared it keeps it so.
"""

from __future__ import annotations

from automate.gallery import SALES_LINE, SALES_ORDER
from automate.models import Flow, FlowShare
from automate.services import flow_create

NOTIFY_WAREHOUSE_KEY = "notify-warehouse"
WAREHOUSE_EMAIL = "warehouse@cronus.example.com"
RECORD_ID = "@{triggerBody()?['recordId']}"
ORDER = "body('Get_order')"
LINE = "items('Each_line')"


def _step(name: str, kind: str, inputs: dict, **extra) -> dict:
    return {"name": name, "type": kind, "inputs": inputs, "title": name.replace("_", " "), **extra}


NOTIFY_WAREHOUSE_DEFINITION = {
    "schemaVersion": 1,
    "trigger": {
        "type": "selected_record",
        "table": SALES_ORDER,
        "inputs": [
            {"name": "shipmentDate", "label": "Shipment date", "type": "date", "required": True}
        ],
    },
    "steps": [
        _step("Get_order", "business_central.get_record", {"table": SALES_ORDER, "id": RECORD_ID}),
        _step(
            "Find_lines",
            "business_central.find_records",
            {
                "table": SALES_LINE,
                "filter": {"documentId": RECORD_ID},
                "orderBy": "sequence",
                "top": 1000,
            },
        ),
        _step("Lines", "variables.initialize", {"name": "lines", "type": "string", "value": ""}),
        _step(
            "Each_line",
            "control.foreach",
            {"items": "@body('Find_lines')?['value']"},
            actions=[
                _step(
                    "Add_line",
                    "variables.append",
                    {
                        "name": "lines",
                        "value": f"<tr><td>@{{{LINE}?['lineObjectNumber']}}</td>"
                        f"<td>@{{{LINE}?['description']}}</td>"
                        f"<td>@{{{LINE}?['quantity']}}</td>"
                        f"<td>@{{{LINE}?['unitOfMeasureCode']}}</td></tr>",
                    },
                )
            ],
        ),
        _step(
            "Send_an_email",
            "outlook.send_email",
            {
                "to": WAREHOUSE_EMAIL,
                "subject": f"Ship sales order @{{{ORDER}?['number']}} on "
                "@{triggerBody()?['inputs']?['shipmentDate']}",
                "body": f"<p>Please prepare sales order @{{{ORDER}?['number']}} for "
                f"@{{{ORDER}?['customerName']}} (customer @{{{ORDER}?['customerNumber']}}).</p>"
                "<p>Shipment date: @{triggerBody()?['inputs']?['shipmentDate']}</p>"
                "<table><thead><tr><th>No.</th><th>Description</th><th>Quantity</th>"
                "<th>Unit of Measure</th></tr></thead>"
                "<tbody>@{variables('lines')}</tbody></table>"
                "<p>Sent by @{triggerBody()?['userName']} from @{triggerBody()?['recordUrl']}</p>",
            },
        ),
    ],
}


def automate_demo_seed(company, users: dict) -> dict[str, int]:
    """Create the Notify warehouse flow, unless the company has a flow with its key."""
    admin, sales = users.get("admin"), users.get("sales")
    if admin is None or Flow.objects.filter(company=company, key=NOTIFY_WAREHOUSE_KEY).exists():
        return {}
    flow = flow_create(
        company=company,
        owner=admin,
        name="Notify warehouse",
        definition=NOTIFY_WAREHOUSE_DEFINITION,
        description="Mails the warehouse the order's customer, shipment date and lines. "
        "Runs from Notify warehouse on the sales order (Process).",
        enabled=True,
        key=NOTIFY_WAREHOUSE_KEY,
    )
    created = {"flows": 1}
    if sales is not None:
        FlowShare.objects.get_or_create(
            flow=flow, user=sales, defaults={"role": FlowShare.Role.RUN_ONLY, "added_by": admin}
        )
        created["flow shares"] = 1
    return created
