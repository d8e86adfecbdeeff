"""What a delivery of a run carries while it walks the definition."""

from __future__ import annotations

import datetime
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from automate.models import StepRun


class Suspend(Exception):
    """The run waits until ``wake_at``; the tick hands it to a worker then."""

    def __init__(self, wake_at: datetime.datetime):
        super().__init__(wake_at.isoformat())
        self.wake_at = wake_at


class Stop(Exception):
    """This delivery no longer holds the run (cancelled, timed out, or taken over)."""


class Terminate(Exception):
    def __init__(self, status: str, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True)
class Scope:
    """Where a step runs: its path prefix inside loops and the loops' current items."""

    prefix: str = ""
    depth: int = 0
    items: dict = field(default_factory=dict)
    indexes: dict = field(default_factory=dict)

    def enter(self, loop: str, index: int, item: Any) -> Scope:
        return Scope(
            prefix=f"{self.prefix}{loop}[{index}]/",
            depth=self.depth + 1,
            items={**self.items, loop: item},
            indexes={**self.indexes, loop: index},
        )

    def nested(self) -> Scope:
        return Scope(self.prefix, self.depth + 1, self.items, self.indexes)

    def prefixes(self) -> Iterator[str]:
        """This scope's prefix, then its enclosing loops' prefixes, out to the top."""
        prefix = self.prefix
        while True:
            yield prefix
            if not prefix:
                return
            prefix = prefix[: prefix.rstrip("/").rfind("/") + 1] if "/" in prefix[:-1] else ""


class StepsView(Mapping):
    """``outputs('X')`` inside a loop reads X's instance in the same iteration."""

    def __init__(self, rows: dict[str, StepRun], scope: Scope):
        self.rows = rows
        self.scope = scope

    def _row(self, name: str) -> StepRun | None:
        for prefix in self.scope.prefixes():
            row = self.rows.get(prefix + name)
            if row is not None:
                return row
        return None

    def __getitem__(self, name: str) -> dict:
        row = self._row(name)
        if row is None:
            raise KeyError(name)
        return {
            "name": row.name,
            "status": row.status,
            "inputs": row.inputs,
            "outputs": row.outputs,
            "error": row.error,
            "startTime": row.started_at.isoformat() if row.started_at else None,
            "endTime": row.finished_at.isoformat() if row.finished_at else None,
        }

    def __iter__(self):
        return iter({row.name for row in self.rows.values()})

    def __len__(self) -> int:
        return len({row.name for row in self.rows.values()})
