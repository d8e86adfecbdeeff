"""Services of Power Automate: flows and runs. Views, API and tasks all call these."""

from automate.services.flows import (
    flow_create,
    flow_delete,
    flow_export,
    flow_import,
    flow_set_enabled,
    flow_update,
)
from automate.services.runs import (
    clean_trigger_inputs,
    flow_run_cancel,
    flow_run_resubmit,
    flow_run_start,
    instant_flow_run,
    instant_flow_runnable,
)

__all__ = [
    "clean_trigger_inputs",
    "flow_create",
    "flow_delete",
    "flow_export",
    "flow_import",
    "flow_run_cancel",
    "flow_run_resubmit",
    "flow_run_start",
    "flow_set_enabled",
    "flow_update",
    "instant_flow_run",
    "instant_flow_runnable",
]
