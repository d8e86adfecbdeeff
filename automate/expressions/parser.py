"""Parses one expression (the text without its leading '@') into a tree of nodes."""

from functools import lru_cache

from automate.expressions.errors import ExpressionError
from automate.expressions.lexer import END, NAME, NUMBER, STRING, Token, tokenize
from automate.expressions.limits import MAX_DEPTH, MAX_EXPRESSION_LENGTH
from automate.expressions.nodes import Call, Index, Literal, Node

_KEYWORDS = {"true": True, "false": False, "null": None}


def parse(expression: str) -> Node:
    """The syntax tree of ``expression``; raises ExpressionError on the first syntax error.

    Function names are not checked here: ``evaluate`` and ``check`` do that.
    """
    if not isinstance(expression, str):
        raise ExpressionError("An expression must be text")
    if len(expression) > MAX_EXPRESSION_LENGTH:
        raise ExpressionError(
            f"Expression is {len(expression):,} characters long; "
            f"the limit is {MAX_EXPRESSION_LENGTH:,}"
        )
    return _parse_cached(expression)


# A flow resolves the same inputs for every loop iteration and every run: parse each text once.
@lru_cache(maxsize=1024)
def _parse_cached(expression: str) -> Node:
    if not expression.strip():
        raise ExpressionError("Expression is empty")
    return _Parser(tokenize(expression)).parse()


class _Parser:
    def __init__(self, tokens: list[Token]) -> None:
        self.tokens = tokens
        self.index = 0

    def parse(self) -> Node:
        node = self._expression(depth=1)
        token = self._peek()
        if token.kind != END:
            raise ExpressionError(f"Unexpected {token.describe()}", token.position)
        return node

    def _peek(self) -> Token:
        return self.tokens[self.index]

    def _next(self) -> Token:
        token = self.tokens[self.index]
        if token.kind != END:
            self.index += 1
        return token

    def _expression(self, depth: int) -> Node:
        node = self._primary(depth)
        while True:
            token = self._peek()
            null_safe = token.kind == "?"
            if null_safe:
                self._next()
                after = self._peek()
                if after.kind not in ("[", "."):
                    raise ExpressionError(
                        f"Expected '[' or '.' after '?', found {after.describe()}",
                        after.position,
                    )
            elif token.kind not in ("[", "."):
                return node
            depth += 1
            _check_depth(depth, token)
            accessor = self._next()
            if accessor.kind == "[":
                key = self._expression(depth + 1)
                self._expect("]", "to close '['")
            else:
                name = self._next()
                if name.kind != NAME:
                    raise ExpressionError(
                        f"Expected a property name after '.', found {name.describe()}",
                        name.position,
                    )
                key = Literal(name.value, name.position)
            node = Index(node, key, null_safe, token.position)

    def _primary(self, depth: int) -> Node:
        token = self._next()
        if token.kind in (STRING, NUMBER):
            return Literal(token.value, token.position)
        if token.kind != NAME:
            if token.kind == END:
                raise ExpressionError("Expression ends where a value was expected", token.position)
            raise ExpressionError(f"Expected a value, found {token.describe()}", token.position)
        if self._peek().kind != "(":
            if token.value in _KEYWORDS:
                return Literal(_KEYWORDS[token.value], token.position)
            raise ExpressionError(
                f"'{token.value}' is not a value; call functions with parentheses, "
                f"like {token.value}()",
                token.position,
            )
        _check_depth(depth, token)
        self._next()
        args: list[Node] = []
        if self._peek().kind == ")":
            self._next()
            return Call(token.value, (), token.position)
        while True:
            args.append(self._expression(depth + 1))
            separator = self._next()
            if separator.kind == ")":
                return Call(token.value, tuple(args), token.position)
            if separator.kind != ",":
                raise ExpressionError(
                    f"Expected ',' or ')' in the call of '{token.value}', "
                    f"found {separator.describe()}",
                    separator.position,
                )

    def _expect(self, kind: str, purpose: str) -> Token:
        token = self._next()
        if token.kind != kind:
            raise ExpressionError(
                f"Expected '{kind}' {purpose}, found {token.describe()}", token.position
            )
        return token


def _check_depth(depth: int, token: Token) -> None:
    if depth > MAX_DEPTH:
        raise ExpressionError(
            f"Expression nests calls and property access more than {MAX_DEPTH} levels deep",
            token.position,
        )
