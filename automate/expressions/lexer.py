"""Splits expression text into tokens."""

import math
import re
from dataclasses import dataclass
from typing import Any

from automate.expressions.errors import ExpressionError

STRING = "string"
NUMBER = "number"
NAME = "name"
END = "end"
PUNCTUATION = frozenset("()[],.?")

INT_MIN = -(2**63)
INT_MAX = 2**63 - 1

_NUMBER = re.compile(r"-?[0-9]+(\.[0-9]+)?", re.ASCII)
_SPACE = re.compile(r"\s+")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*", re.ASCII)


@dataclass(frozen=True, slots=True)
class Token:
    kind: str  # STRING, NUMBER, NAME, END, or the punctuation character itself
    value: Any
    position: int

    def describe(self) -> str:
        if self.kind == END:
            return "end of expression"
        if self.kind == STRING:
            return "text '" + self.value.replace("'", "''")[:40] + "'"
        if self.kind in (NUMBER, NAME):
            return f"'{str(self.value)[:40]}'"
        return f"'{self.kind}'"


def tokenize(text: str) -> list[Token]:
    tokens: list[Token] = []
    length = len(text)
    i = 0
    while i < length:
        char = text[i]
        if char.isspace():
            i = _SPACE.match(text, i).end()
        elif char in PUNCTUATION:
            tokens.append(Token(char, char, i))
            i += 1
        elif char == "'":
            value, end = _read_string(text, i)
            tokens.append(Token(STRING, value, i))
            i = end
        elif char.isdigit() or (char == "-" and text[i + 1 : i + 2].isdigit()):
            match = _NUMBER.match(text, i)
            if match is None:
                raise ExpressionError(f"Unexpected character '{char}'", i)
            tokens.append(Token(NUMBER, _number(match.group(), i), i))
            i = match.end()
        else:
            match = _NAME.match(text, i)
            if match is None:
                raise ExpressionError(f"Unexpected character '{char}'", i)
            tokens.append(Token(NAME, match.group(), i))
            i = match.end()
    tokens.append(Token(END, None, length))
    return tokens


def _read_string(text: str, start: int) -> tuple[str, int]:
    """Reads a single-quoted string from ``start``; ``''`` inside it stands for one quote."""
    parts = []
    i = start + 1
    while True:
        end = text.find("'", i)
        if end < 0:
            raise ExpressionError("Text starting here is missing its closing quote", start)
        parts.append(text[i:end])
        if text.startswith("'", end + 1):
            parts.append("'")
            i = end + 2
        else:
            return "".join(parts), end + 1


def _number(text: str, position: int) -> int | float:
    if "." not in text:
        # Python refuses to convert very long digit strings, so reject them by length first.
        if len(text.lstrip("-")) > 19 or not INT_MIN <= int(text) <= INT_MAX:
            raise ExpressionError(f"Number {text[:30]} is too large", position)
        return int(text)
    value = float(text)
    if not math.isfinite(value):
        raise ExpressionError(f"Number {text[:30]}... is too large", position)
    return value
