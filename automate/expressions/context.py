from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass
class ExpressionContext:
    """What a flow run knows when it resolves one step's inputs.

    ``steps`` maps a step name to its record: ``{"status", "inputs", "outputs": {"body": ...},
    "error"}``. ``items`` maps loop names to their current item, innermost loop last.
    """

    trigger: dict = field(default_factory=dict)
    steps: Mapping[str, dict] = field(default_factory=dict)
    items: Mapping[str, Any] = field(default_factory=dict)
    iteration_indexes: Mapping[str, int] = field(default_factory=dict)
    variables: Mapping[str, Any] = field(default_factory=dict)
    now: datetime | None = None
    workflow: dict = field(default_factory=dict)
