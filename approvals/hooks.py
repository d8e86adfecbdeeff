"""How other apps take part in approvals without approvals importing them.

automate (which may import approvals) connects here:
- ``approval_flow_finders``: ``finder(company_id, table_id, values) -> [flow names]``, the
  approval flows that are on and whose conditions the record meets. When one answers,
  Send Approval Request hands the request to those flows (BC's Flow Entries).
- ``approval_requested``: sent inside the transaction that creates a request handed to
  flows, so their trigger events are written with it (``request``, ``record``, ``values``).
- ``approval_request_ended``: sent inside the transaction that ends any request
  (``request``): a flow waiting on its approval wakes up.
- ``workflow_list_sources``: ``source(request) -> [WorkflowListRow]``, more rows for the
  Workflows list (automate's approval flows).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.dispatch import Signal

approval_requested = Signal()
approval_request_ended = Signal()

approval_flow_finders: list[Callable[[int, int, dict], list[str]]] = []


@dataclass(frozen=True)
class WorkflowListRow:
    code: str
    description: str
    category: str
    kind: str  # "Approval workflow" or "Power Automate approval flow"
    enabled: bool
    url: str
    table: str = ""
    owner: str = ""


workflow_list_sources: list[Callable[[Any], list[WorkflowListRow]]] = []
