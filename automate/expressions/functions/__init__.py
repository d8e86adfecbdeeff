"""Importing this package registers every whitelisted function."""

from automate.expressions.functions import (  # noqa: F401
    arithmetic,
    conversion,
    dates,
    encoding,
    lists,
    logic,
    text,
    workflow,
)
from automate.expressions.functions.registry import FUNCTIONS, FunctionSpec, lookup

__all__ = ["FUNCTIONS", "FunctionSpec", "lookup"]
