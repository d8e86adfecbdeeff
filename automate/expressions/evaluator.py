"""Evaluates a parsed expression against a flow run's context."""

from collections.abc import Mapping
from typing import Any

from automate.expressions.context import ExpressionContext
from automate.expressions.errors import ExpressionError
from automate.expressions.functions import lookup
from automate.expressions.nodes import Call, Index, Literal, Node
from automate.expressions.parser import parse
from automate.expressions.runtime import Budget, CallSite
from automate.expressions.values import describe


def evaluate(expression: str, context: ExpressionContext) -> Any:
    """The value of one expression, written without its leading '@'."""
    return evaluate_node(parse(expression), context, Budget())


def evaluate_node(node: Node, context: ExpressionContext, budget: Budget) -> Any:
    problems = call_problems(node)
    if problems:
        raise problems[0]
    try:
        return _Evaluator(context, budget).value(node)
    except RecursionError:
        # Values from the context or json() can nest deeper than Python's comparisons allow.
        raise ExpressionError("A value is nested too deeply to evaluate", node.position) from None


def call_problems(node: Node) -> list[ExpressionError]:
    """Calls of unknown functions and calls with the wrong number of arguments."""
    problems = []
    pending = [node]
    while pending:
        current = pending.pop()
        if isinstance(current, Index):
            pending.extend((current.key, current.target))
        elif isinstance(current, Call):
            spec = lookup(current.name)
            count = len(current.args)
            if spec is None:
                problems.append(
                    ExpressionError(f"Unknown function '{current.name}'", current.position)
                )
            elif count < spec.min_args or (spec.max_args is not None and count > spec.max_args):
                problems.append(
                    ExpressionError(
                        f"'{current.name}' takes {spec.arity_text()}, not {count},",
                        current.position,
                    )
                )
            pending.extend(reversed(current.args))
    return problems


class _Evaluator:
    def __init__(self, context: ExpressionContext, budget: Budget) -> None:
        self.context = context
        self.budget = budget

    def value(self, node: Node) -> Any:
        self.budget.step(node.position)
        if isinstance(node, Literal):
            return node.value
        if isinstance(node, Index):
            return self._index(node)
        return self._call(node)

    def _call(self, node: Call) -> Any:
        spec = lookup(node.name)
        site = CallSite(node.name, node.position, self.context, self.budget)
        if spec.lazy:
            thunks = [_thunk(self, arg) for arg in node.args]
            return spec.implementation(site, *thunks)
        args = [self.value(arg) for arg in node.args]
        if spec.scans:
            site.charge(sum(self.budget.cost(arg) for arg in args))
        try:
            result = spec.implementation(site, *args)
        except ExpressionError as error:
            if error.position is not None:
                raise
            raise site.fail(f"failed: {error.description}") from None
        if spec.builds:
            site.checked_size(result)
        return result

    def _index(self, node: Index) -> Any:
        target = self.value(node.target)
        key = self.value(node.key)
        return access(target, key, null_safe=node.null_safe, position=node.position)


def _thunk(evaluator: _Evaluator, node: Node):
    return lambda: evaluator.value(node)


def access(target: Any, key: Any, *, null_safe: bool, position: int) -> Any:
    """``target[key]``; with ``null_safe`` a null target or a missing key gives null."""
    if target is None:
        if null_safe:
            return None
        raise ExpressionError(
            f"Cannot read {_key_text(key)} of null; use '?[' to allow a missing value", position
        )
    if isinstance(target, Mapping):
        if not isinstance(key, str):
            raise ExpressionError(
                f"Object properties are named by text, not by {describe(key)}", position
            )
        if key in target:
            return target[key]
        if "/" in key:
            found, value = _follow_path(target, key)
            if found:
                return value
        if null_safe:
            return None
        raise ExpressionError(f"Property '{key}' doesn't exist{_available(target)}", position)
    if isinstance(target, list | tuple):
        if not isinstance(key, int) or isinstance(key, bool):
            raise ExpressionError(
                f"Array items are numbered from 0, not named by {describe(key)}", position
            )
        if 0 <= key < len(target):
            return target[key]
        if null_safe:
            return None
        raise ExpressionError(
            f"Index {key} is outside the array, which has {len(target)} items", position
        )
    raise ExpressionError(f"Cannot read {_key_text(key)} of {describe(target)}", position)


def _follow_path(target: Mapping, path: str) -> tuple[bool, Any]:
    # The designer writes outputs('Get_record')?['body/number'] for nested properties.
    current: Any = target
    for segment in path.split("/"):
        if not isinstance(current, Mapping) or segment not in current:
            return False, None
        current = current[segment]
    return True, current


def _key_text(key: Any) -> str:
    if isinstance(key, str):
        return f"property '{key[:60]}'"
    if isinstance(key, int) and not isinstance(key, bool):
        return f"index {key}"
    return describe(key)


def _available(target: Mapping) -> str:
    names = [name for name in target if isinstance(name, str)]
    if not names:
        return "; the object is empty"
    shown = ", ".join(f"'{name[:40]}'" for name in names[:10])
    more = f" and {len(names) - 10} more" if len(names) > 10 else ""
    return f"; available properties are {shown}{more}"
