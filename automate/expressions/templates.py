"""Step inputs that hold expressions: '@expr' for a typed value, '@{expr}' inside text.

Positions in errors from render() and check() count from the start of the input string, so the
designer can point at them; messages name the input's path inside nested values ('to[1]: ...').
"""

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from automate.expressions.context import ExpressionContext
from automate.expressions.errors import ExpressionError
from automate.expressions.evaluator import call_problems, evaluate_node
from automate.expressions.limits import MAX_INPUT_DEPTH, MAX_TEMPLATE_LENGTH, MAX_VALUE_SIZE
from automate.expressions.nodes import Call, Index, Literal, Node
from automate.expressions.parser import parse
from automate.expressions.runtime import Budget
from automate.expressions.values import to_text

STEP_FUNCTIONS = frozenset({"outputs", "body", "actions"})
LOOP_FUNCTIONS = frozenset({"items", "iterationindexes"})


@dataclass(frozen=True, slots=True)
class Piece:
    text: str  # literal text, or the text of an expression
    offset: int  # where ``text`` starts in the input string
    is_expression: bool


@dataclass(frozen=True, slots=True)
class Template:
    pieces: tuple[Piece, ...]
    whole: bool  # one '@expr' that keeps its type, rather than text


def split_template(text: str) -> Template | None:
    """The pieces of an input string, or None when it holds no expression."""
    if text.startswith("@@"):
        return None
    if text.startswith("@") and not text.startswith("@{"):
        _check_length(text)
        return Template((Piece(text[1:], 1, True),), whole=True)
    if "@{" not in text:
        return None
    _check_length(text)
    pieces = []
    position = 0
    while True:
        start = text.find("@{", position)
        if start < 0:
            break
        if start > position:
            pieces.append(Piece(text[position:start], position, False))
        end = _closing_brace(text, start + 2)
        pieces.append(Piece(text[start + 2 : end], start + 2, True))
        position = end + 1
    if position < len(text):
        pieces.append(Piece(text[position:], position, False))
    return Template(tuple(pieces), whole=False)


def _check_length(text: str) -> None:
    if len(text) > MAX_TEMPLATE_LENGTH:
        raise ExpressionError(
            f"Text with expressions is {len(text):,} characters long; "
            f"the limit is {MAX_TEMPLATE_LENGTH:,}"
        )


def _closing_brace(text: str, start: int) -> int:
    """The '}' that ends the expression from ``start``; braces inside quotes do not count."""
    index = start
    brace = text.find("}", index)
    while brace >= 0:
        quote = text.find("'", index, brace)
        if quote < 0:
            return brace
        closing = text.find("'", quote + 1)
        if closing < 0:
            break
        index = closing + 1
        if brace < index:
            brace = text.find("}", index)
    raise ExpressionError("'@{' is never closed with '}'", start - 2)


def render(value: Any, context: ExpressionContext) -> Any:
    """A step's input value with every expression in it resolved, as Power Automate does."""
    try:
        return _Renderer(context).value(value, "", 0)
    except RecursionError:
        # Only values from the run (a trigger body, a variable) can nest this deep.
        raise ExpressionError("A value is nested too deeply to turn into text") from None


class _Renderer:
    def __init__(self, context: ExpressionContext) -> None:
        self.context = context
        self.budget = Budget()

    def value(self, value: Any, path: str, depth: int) -> Any:
        if depth > MAX_INPUT_DEPTH:
            raise _at_path(_too_deep(), path)
        if isinstance(value, str):
            try:
                return self.text(value)
            except ExpressionError as error:
                raise _at_path(error, path) from None
        if isinstance(value, dict):
            return {
                key: self.value(item, _key_path(path, key), depth + 1)
                for key, item in value.items()
            }
        if isinstance(value, list | tuple):
            return [
                self.value(item, f"{path}[{index}]", depth + 1) for index, item in enumerate(value)
            ]
        return value

    def text(self, text: str) -> Any:
        if "@" not in text:
            return text
        # Splitting and parsing take time in proportion to the text, which the budget counts.
        self.budget.charge(len(text), None)
        template = split_template(text)
        if template is None:
            return text[1:] if text.startswith("@@") else text
        if template.whole:
            return self.expression(template.pieces[0])
        parts = []
        total = 0
        for piece in template.pieces:
            part = to_text(self.expression(piece)) if piece.is_expression else piece.text
            total += len(part)
            self.budget.charge(len(part), piece.offset)
            if total > MAX_VALUE_SIZE:
                raise ExpressionError(
                    f"Text would be longer than {MAX_VALUE_SIZE:,} characters", piece.offset
                )
            parts.append(part)
        return "".join(parts)

    def expression(self, piece: Piece) -> Any:
        try:
            return evaluate_node(parse(piece.text), self.context, self.budget)
        except ExpressionError as error:
            raise error.shifted(piece.offset) from None


def check(value: Any) -> list[str]:
    """Every problem the designer can point out before a run: syntax errors, unknown functions,
    wrong argument counts, texts too long and values nested too deeply."""
    problems = []
    for path, text in _strings(value):
        if text is None:
            problems.append(_at_path(_too_deep(), path).message)
            continue
        for error in _text_problems(text):
            problems.append(_at_path(error, path).message)
    return problems


def _text_problems(text: str) -> list[ExpressionError]:
    try:
        template = split_template(text)
    except ExpressionError as error:
        return [error]
    if template is None:
        return []
    problems = []
    for piece in template.pieces:
        if not piece.is_expression:
            continue
        try:
            node = parse(piece.text)
        except ExpressionError as error:
            problems.append(error.shifted(piece.offset))
            continue
        problems.extend(error.shifted(piece.offset) for error in call_problems(node))
    return problems


def referenced_steps(value: Any) -> set[str]:
    """Step names that outputs(), body() or actions() name with literal text in ``value``."""
    return _referenced(value, STEP_FUNCTIONS)


def referenced_loops(value: Any) -> set[str]:
    """Loop names that items() or iterationIndexes() name with literal text in ``value``."""
    return _referenced(value, LOOP_FUNCTIONS)


def _referenced(value: Any, functions: frozenset[str]) -> set[str]:
    names: set[str] = set()
    for _path, text in _strings(value):
        for node in _parsed_expressions(text):
            for call in _calls(node):
                if call.name.lower() in functions and call.args:
                    argument = call.args[0]
                    if isinstance(argument, Literal) and isinstance(argument.value, str):
                        names.add(argument.value)
    return names


def _parsed_expressions(text: str | None) -> Iterator[Node]:
    if text is None or "@" not in text:
        return
    try:
        template = split_template(text)
    except ExpressionError:
        return
    for piece in template.pieces if template else ():
        if piece.is_expression:
            try:
                yield parse(piece.text)
            except ExpressionError:
                continue


def _calls(node: Node) -> Iterator[Call]:
    pending = [node]
    while pending:
        current = pending.pop()
        if isinstance(current, Call):
            yield current
            pending.extend(current.args)
        elif isinstance(current, Index):
            pending.extend((current.target, current.key))


def _strings(value: Any) -> Iterator[tuple[str, str | None]]:
    """(path, text) for every string in a nested value; (path, None) where it nests too deeply.

    Walks without recursion, so any input value can be checked.
    """
    pending: list[tuple[Any, str, int]] = [(value, "", 0)]
    while pending:
        current, path, depth = pending.pop()
        if isinstance(current, str):
            yield path, current
        elif isinstance(current, dict | list | tuple):
            if depth >= MAX_INPUT_DEPTH and current:
                yield path, None
                continue
            if isinstance(current, dict):
                children = [(item, _key_path(path, key)) for key, item in current.items()]
            else:
                children = [(item, f"{path}[{index}]") for index, item in enumerate(current)]
            pending.extend((item, child, depth + 1) for item, child in reversed(children))


def _key_path(path: str, key: Any) -> str:
    return f"{path}.{key}" if path else str(key)


def _too_deep() -> ExpressionError:
    return ExpressionError(f"The value nests lists and objects more than {MAX_INPUT_DEPTH} deep")


def _at_path(error: ExpressionError, path: str) -> ExpressionError:
    if not path:
        return error
    return ExpressionError(f"{path}: {error.description}", error.position)
