"""Power Automate's expression language, on our own parser and a whitelist of functions.

Expressions come from flow authors, so nothing here hands their text to eval() or a template
engine, and every evaluation is bounded in size, depth and work (see ``limits``).
"""

from automate.expressions.context import ExpressionContext
from automate.expressions.errors import ExpressionError
from automate.expressions.evaluator import evaluate
from automate.expressions.nodes import Call, Index, Literal, Node
from automate.expressions.parser import parse
from automate.expressions.templates import check, referenced_loops, referenced_steps, render

__all__ = [
    "Call",
    "ExpressionContext",
    "ExpressionError",
    "Index",
    "Literal",
    "Node",
    "check",
    "evaluate",
    "parse",
    "referenced_loops",
    "referenced_steps",
    "render",
]
