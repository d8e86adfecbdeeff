"""The whitelist of functions an expression may call."""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class FunctionSpec:
    name: str
    min_args: int
    max_args: int | None  # None: any number
    implementation: Callable[..., Any]
    # Lazy functions receive thunks and evaluate only the arguments they need.
    lazy: bool = False
    # Functions that build strings, lists or objects have their results' size checked.
    builds: bool = False
    # Functions that scan their arguments pay for the characters and items in them.
    scans: bool = False

    def arity_text(self) -> str:
        if self.max_args == self.min_args:
            count = self.min_args
            return "no arguments" if count == 0 else f"{count} argument{'s' * (count != 1)}"
        if self.max_args is None:
            return f"at least {self.min_args} argument{'s' * (self.min_args != 1)}"
        return f"{self.min_args} to {self.max_args} arguments"


FUNCTIONS: dict[str, FunctionSpec] = {}


def function(
    name: str,
    min_args: int,
    max_args: int | None = -1,
    *,
    lazy: bool = False,
    builds: bool = False,
    scans: bool = False,
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Registers a function under ``name``; ``max_args`` defaults to ``min_args``."""

    def register(implementation: Callable[..., Any]) -> Callable[..., Any]:
        key = name.lower()
        if key in FUNCTIONS:
            raise ValueError(f"Expression function {name} is registered twice")
        FUNCTIONS[key] = FunctionSpec(
            name=name,
            min_args=min_args,
            max_args=min_args if max_args == -1 else max_args,
            implementation=implementation,
            lazy=lazy,
            builds=builds,
            scans=scans,
        )
        return implementation

    return register


def lookup(name: str) -> FunctionSpec | None:
    return FUNCTIONS.get(name.lower())
