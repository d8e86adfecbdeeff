"""Objects that live as long as the current transaction: what it has read once, and what it
sends when it commits (automate's trigger events, the API's notifications)."""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Any

from django.db import transaction


def for_this_transaction(conn, attribute: str, make: Callable[[], Any], *, stale) -> Any:
    """The object the current transaction keeps in ``conn.<attribute>``, made by ``make``
    and registered as a commit hook the first time. A commit runs and drops the hook, a
    rollback drops it: either way the next transaction gets a new object. ``stale`` says
    when an object still hooked must be replaced anyway."""
    current = getattr(conn, attribute, None)
    if (
        current is None
        or stale(current)
        or not any(hook[1] is current for hook in conn.run_on_commit)
    ):
        current = make()
        setattr(conn, attribute, current)
        transaction.on_commit(current)
    return current


class _Reads(dict):
    """What one transaction has read; a do-nothing commit hook, so it dies with it."""

    def __init__(self, generation: int) -> None:
        super().__init__()
        self.generation = generation

    def __call__(self) -> None:
        pass


class ReadOnce:
    """Rows that change rarely and are asked for on every record change (the flows or the
    subscriptions a change concerns): read once a transaction per key.

    Saving one of those rows in this process (``changed``, connected to its signals) starts
    afresh at once; a row another process saves counts from the next transaction on.
    Outside a transaction every call reads.
    """

    def __init__(self, attribute: str) -> None:
        self.attribute = attribute
        self.generation = 0

    def changed(self, **kwargs) -> None:
        self.generation += 1

    def get(self, key: Hashable, load: Callable[[], Any]) -> Any:
        conn = transaction.get_connection()
        if not conn.in_atomic_block:
            return load()
        reads = for_this_transaction(
            conn,
            self.attribute,
            lambda: _Reads(self.generation),
            stale=lambda reads: reads.generation != self.generation,
        )
        if key not in reads:
            reads[key] = load()
        return reads[key]
