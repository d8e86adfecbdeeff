"""Connectors: one module each, found by importing every module in this package."""

from __future__ import annotations

import importlib
import pkgutil
from functools import cache

from automate.connectors.base import ActionError, Connector, ConnectorAction


@cache
def _discover() -> None:
    for module in pkgutil.iter_modules(__path__):
        if module.name != "base" and not module.name.startswith("_"):
            importlib.import_module(f"{__name__}.{module.name}")


def connectors() -> dict[str, Connector]:
    """Every registered connector by key, in the order of their names."""
    _discover()
    return dict(sorted(Connector.registered.items(), key=lambda kv: kv[1].name))


def find_action(action_type: str) -> ConnectorAction | None:
    """The action named ``"<connector>.<action>"``, or None."""
    _discover()
    connector_key, _, action_key = action_type.partition(".")
    connector = Connector.registered.get(connector_key)
    return connector.action_map.get(action_key) if connector else None


__all__ = ["ActionError", "Connector", "ConnectorAction", "connectors", "find_action"]
