"""Limits that keep one expression from using unbounded time or memory.

Flow authors type expressions, and some flows are shared or built from templates, so an expression
is untrusted input: every limit below is enforced, and exceeding one raises ExpressionError.
"""

# Characters in one expression (the text after '@' or inside '@{...}').
MAX_EXPRESSION_LENGTH = 8_192

# Characters in one string of a step's input that holds expressions.
MAX_TEMPLATE_LENGTH = 100_000

# Nesting of function calls and property or index access in one expression.
MAX_DEPTH = 32

# Nesting of dicts and lists in a step's input value given to render().
MAX_INPUT_DEPTH = 64

# Expression nodes evaluated by one evaluate() or render() call.
MAX_STEPS = 10_000

# Units of data that functions may go through or produce in one evaluate() or render() call:
# a character is one unit; an array item or object property costs WORK_PER_ITEM, because Python
# handles items one by one where it scans characters in bulk. Together they keep the worst
# expression to about a second.
MAX_WORK = 20_000_000
WORK_PER_ITEM = 32

# Wall-clock time for one evaluate() or render() call, in case the work estimate falls short.
MAX_SECONDS = 5.0

# Characters in any string, and items (counted through nested lists and dicts) in any list or
# object, that a function produces.
MAX_VALUE_SIZE = 1_000_000

# Nesting of lists and objects that json() accepts.
MAX_JSON_DEPTH = 64
