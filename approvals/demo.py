"""The approvals part of the demo company: approval users and the shipped workflows, with
the sales order approval workflow on.

- ``sales`` may approve orders up to 1,000 themselves; above that, ``approver`` decides.
- ``approver`` and ``admin`` approve any amount; ``admin`` is the approval administrator.
- Sales Order Approval Workflow: on, for orders over 1,000 (smaller ones are released as
  before), up the approver chain.

Only what is missing is created, and the workflow is switched on only when it is made: a
demo where someone turned it off keeps it off.
"""

from __future__ import annotations

from decimal import Decimal

from approvals.models import ApprovalUserSetup, Workflow
from approvals.services import workflows_install

DEMO_LIMIT = Decimal("1000")


def approvals_demo_seed(company, users: dict) -> dict[str, int]:
    created: dict[str, int] = {}
    specs = {
        "admin": {"unlimited_sales_approval": True, "approval_administrator": True},
        "sales": {"approver": users.get("approver"), "sales_amount_approval_limit": DEMO_LIMIT},
        "approver": {"approver": users.get("admin"), "unlimited_sales_approval": True},
    }
    for name, fields in specs.items():
        user = users.get(name)
        if user is None:
            continue
        _, made = ApprovalUserSetup.objects.get_or_create(
            company=company, user=user, defaults={**fields, "email": user.email}
        )
        created["approval user setups"] = created.get("approval user setups", 0) + made
    made = workflows_install(company=company)
    if made:
        created["approval workflows"] = len(made)
        Workflow.objects.filter(company=company, code="MS-SOAPW").update(
            enabled=True,
            conditions=[{"field": "totalAmountExcludingTax", "operator": "gt", "value": 1000}],
        )
    return {what: n for what, n in created.items() if n}
