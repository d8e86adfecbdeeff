"""The state of one evaluate() or render() call, and what a function sees of it."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from automate.expressions.context import ExpressionContext
from automate.expressions.errors import ExpressionError
from automate.expressions.limits import (
    MAX_SECONDS,
    MAX_STEPS,
    MAX_VALUE_SIZE,
    MAX_WORK,
    WORK_PER_ITEM,
)
from automate.expressions.values import describe, fits_int, is_number

ORDINALS = ("first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth")


# Read through this name so that tests can move time forward.
_clock = time.monotonic


def ordinal(index: int) -> str:
    return ORDINALS[index] if index < len(ORDINALS) else f"{index + 1}th"


class Budget:
    """Counts nodes evaluated, data handled and time spent by one evaluate() or render() call."""

    def __init__(self) -> None:
        self.steps = 0
        self.work = 0
        self.deadline = _clock() + MAX_SECONDS
        # (characters, items) of lists and objects by id; the value is kept so its id stays unique.
        self._measures: dict[int, tuple[Any, int, int]] = {}

    def step(self, position: int) -> None:
        self.steps += 1
        if self.steps > MAX_STEPS:
            raise ExpressionError(
                f"Expressions here take more than {MAX_STEPS:,} steps to evaluate", position
            )
        self._check_time(position)

    def charge(self, units: int, position: int | None) -> None:
        self.work += units
        if self.work > MAX_WORK:
            raise ExpressionError(
                f"Expressions here handle too much data (more than {MAX_WORK:,} characters "
                f"or {MAX_WORK // WORK_PER_ITEM:,} array items)",
                position,
            )
        self._check_time(position)

    def _check_time(self, position: int | None) -> None:
        if _clock() > self.deadline:
            raise ExpressionError(
                f"Expressions here took longer than {MAX_SECONDS:g} seconds to evaluate",
                position,
            )

    def size(self, value: Any) -> int:
        """Characters and items in ``value``, counted through nested lists and objects."""
        characters, items = self._measure(value)
        return characters + items

    def cost(self, value: Any) -> int:
        """The work of going through ``value`` once."""
        characters, items = self._measure(value)
        return characters + items * WORK_PER_ITEM

    def _measure(self, value: Any) -> tuple[int, int]:
        """Characters in strings and property names, and items in arrays and objects.

        Counting stops once going through the value would exceed the work budget, which no
        evaluation may do, so the counts are exact wherever they matter.
        """
        if isinstance(value, str):
            return len(value), 0
        if not isinstance(value, list | tuple | dict):
            return 0, 1
        known = self._measures.get(id(value))
        if known is not None:
            return known[1], known[2]
        characters = items = 0
        pending = [value]
        while pending and characters + items * WORK_PER_ITEM <= MAX_WORK:
            current = pending.pop()
            if isinstance(current, str):
                characters += len(current)
            elif isinstance(current, list | tuple):
                items += len(current)
                pending.extend(current)
            elif isinstance(current, dict):
                items += len(current)
                for key, child in current.items():
                    characters += len(key) if isinstance(key, str) else 1
                    pending.append(child)
        self._measures[id(value)] = (value, characters, items)
        return characters, items


@dataclass
class CallSite:
    """One call of a function: its name as written, where it is, and what it may use."""

    name: str
    position: int
    context: ExpressionContext
    budget: Budget

    def fail(self, problem: str) -> ExpressionError:
        return ExpressionError(f"'{self.name}' {problem}", self.position)

    def charge(self, units: int) -> None:
        self.budget.charge(units, self.position)

    def wrong_type(self, index: int, expected: str, value: Any) -> ExpressionError:
        return self.fail(
            f"expects {expected} as its {ordinal(index)} argument, got {describe(value)}"
        )

    def number(self, value: Any, index: int) -> int | float:
        if not is_number(value):
            raise self.wrong_type(index, "a number", value)
        if isinstance(value, Decimal):
            return int(value) if value == value.to_integral_value() else float(value)
        return value

    def integer(self, value: Any, index: int) -> int:
        if isinstance(value, float | Decimal) and math.isfinite(value) and value == int(value):
            return int(value)
        if not isinstance(value, int) or isinstance(value, bool):
            raise self.wrong_type(index, "a whole number", value)
        return value

    def text(self, value: Any, index: int) -> str:
        if not isinstance(value, str):
            raise self.wrong_type(index, "a string", value)
        return value

    def boolean(self, value: Any, index: int) -> bool:
        if not isinstance(value, bool):
            raise self.wrong_type(index, "a boolean (true or false)", value)
        return value

    def array(self, value: Any, index: int) -> list:
        if not isinstance(value, list | tuple):
            raise self.wrong_type(index, "an array", value)
        return value if isinstance(value, list) else list(value)

    def checked_int(self, value: int) -> int:
        if not fits_int(value):
            raise self.fail("produced a number outside the 64-bit integer range")
        return value

    def checked_float(self, value: float) -> float:
        if not math.isfinite(value):
            raise self.fail("produced a number too large to represent")
        return value

    def checked_size(self, value: Any) -> Any:
        if self.budget.size(value) > MAX_VALUE_SIZE:
            raise self.fail(f"would produce more than {MAX_VALUE_SIZE:,} characters or items")
        self.charge(self.budget.cost(value))
        return value

    def ensure_fits(self, size: int) -> None:
        """Refuses before building a result whose size is known in advance."""
        if size > MAX_VALUE_SIZE:
            raise self.fail(f"would produce more than {MAX_VALUE_SIZE:,} characters or items")


Thunk = Callable[[], Any]
