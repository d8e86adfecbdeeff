"""The syntax tree of an expression. Nodes are immutable, so parsed trees can be cached."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Literal:
    value: Any  # str | int | float | bool | None
    position: int


@dataclass(frozen=True, slots=True)
class Call:
    name: str  # as written; functions are looked up case-insensitively
    args: tuple[Node, ...]
    position: int


@dataclass(frozen=True, slots=True)
class Index:
    """``target[key]``, ``target?[key]``, ``target.key`` or ``target?.key``."""

    target: Node
    key: Node
    null_safe: bool
    position: int


Node = Literal | Call | Index
