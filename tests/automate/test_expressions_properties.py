"""Properties that hold for any input: only ExpressionError escapes, limits hold, round trips."""

import contextlib
import datetime as dt
import string

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from automate.expressions import (
    ExpressionContext,
    ExpressionError,
    check,
    evaluate,
    parse,
    referenced_steps,
    render,
)
from automate.expressions.functions import FUNCTIONS
from automate.expressions.limits import MAX_VALUE_SIZE

QUICK = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

CONTEXT = ExpressionContext(
    trigger={"body": {"name": "Adatum", "lines": [{"qty": 2}, {"qty": 3}], "when": "2026-11-26"}},
    steps={"Get_record": {"status": "Succeeded", "outputs": {"body": {"number": "SO-1"}}}},
    items={"Apply_to_each": {"qty": 1}},
    iteration_indexes={"Apply_to_each": 0},
    variables={"text": "a,b,c", "count": 3, "list": [1, 2, 3], "long": "xy" * 40_000},
    now=dt.datetime(2026, 11, 26, 10, 21, 13, tzinfo=dt.UTC),
    workflow={"name": "flow"},
)

FRAGMENTS = [
    "(",
    ")",
    "[",
    "]",
    ",",
    ".",
    "?",
    "'",
    "''",
    "@",
    "@{",
    "}",
    "@@",
    " ",
    "-",
    "1",
    "2.5",
    "true",
    "null",
    "concat",
    "add",
    "if",
    "equals",
    "split",
    "join",
    "createArray",
    "triggerBody()",
    "variables('text')",
    "variables('long')",
    "outputs('Get_record')",
    "?['body/number']",
    "['name']",
    "items('Apply_to_each')",
    "formatDateTime",
    "'yyyy'",
    "utcNow()",
    "json",
    "'{\"a\":1}'",
    "substring",
    "div",
    "0",
    "replace",
    "union",
    "x",
]

expression_like = st.lists(st.sampled_from(FRAGMENTS), max_size=40).map("".join)
any_text = st.one_of(st.text(max_size=200), expression_like)

json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=20),
)
json_values = st.recursive(
    json_scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=5), st.dictionaries(st.text(max_size=5), children, max_size=5)
    ),
    max_leaves=30,
)
input_values = st.recursive(
    st.one_of(json_scalars, any_text),
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(st.text(max_size=5), children, max_size=4)
    ),
    max_leaves=20,
)


def quoted(text):
    return "'" + text.replace("'", "''") + "'"


LITERALS = st.one_of(
    st.integers(min_value=-(10**6), max_value=10**6).map(str),
    st.sampled_from(["2.5", "-0.5", "true", "false", "null", "0", "9223372036854775807"]),
    st.text(alphabet=string.ascii_letters + ",-/: ", max_size=10).map(quoted),
    st.sampled_from(
        [
            "'2026-11-26T10:21:13Z'",
            "'yyyy-MM-dd'",
            "'Day'",
            "','",
            "'{\"a\":[1]}'",
            "variables('list')",
            "variables('long')",
            "triggerBody()",
            "'o'",
        ]
    ),
)


@st.composite
def valid_calls(draw, depth=0):
    """A call of a whitelisted function with an accepted number of arguments."""
    spec = draw(st.sampled_from(sorted(FUNCTIONS.values(), key=lambda spec: spec.name)))
    most = spec.max_args if spec.max_args is not None else spec.min_args + 3
    count = draw(st.integers(min_value=spec.min_args, max_value=min(most, spec.min_args + 3)))
    args = [
        draw(valid_calls(depth + 1)) if depth < 4 and draw(st.booleans()) else draw(LITERALS)
        for _ in range(count)
    ]
    call = f"{spec.name}({', '.join(args)})"
    if draw(st.integers(min_value=0, max_value=5)) == 0:
        call += draw(st.sampled_from(["?['a']", "?[0]", "?.name", "[0]"]))
    return call


def size(value):
    if isinstance(value, str):
        return len(value)
    if isinstance(value, list):
        return 1 + len(value) + sum(size(item) for item in value)
    if isinstance(value, dict):
        return 1 + sum(len(key) + 1 + size(item) for key, item in value.items())
    return 1


@QUICK
@given(any_text)
def test_parse_raises_only_expression_errors(text):
    try:
        parse(text)
    except ExpressionError as error:
        assert error.message == str(error)
        assert error.position is None or 0 <= error.position <= len(text)


@QUICK
@given(any_text)
def test_evaluate_raises_only_expression_errors(text):
    with contextlib.suppress(ExpressionError):
        evaluate(text, CONTEXT)


@QUICK
@given(input_values)
def test_render_and_check_raise_only_expression_errors(value):
    with contextlib.suppress(ExpressionError):
        render(value, CONTEXT)
    problems = check(value)
    assert all(isinstance(problem, str) for problem in problems)
    referenced_steps(value)


@QUICK
@given(valid_calls())
def test_valid_calls_pass_check_and_stay_within_limits(expression):
    assert check("@" + expression) == []
    try:
        result = evaluate(expression, CONTEXT)
    except ExpressionError:
        return
    # Results that came from the context unchanged may be as large as the context's values.
    assert size(result) <= MAX_VALUE_SIZE + size(CONTEXT.variables)


@QUICK
@given(st.text(max_size=200).filter(lambda text: "@" not in text))
def test_text_without_at_signs_renders_unchanged(text):
    assert render(text, CONTEXT) == text


@QUICK
@given(st.text(max_size=200))
def test_any_text_round_trips_through_a_string_literal(text):
    assert evaluate(quoted(text), CONTEXT) == text
    assert render("@{" + quoted(text) + "}", CONTEXT) == text
    assert render("@" + quoted(text), CONTEXT) == text


@QUICK
@given(st.integers(min_value=-(2**63), max_value=2**63 - 1))
def test_integers_round_trip_through_text(number):
    assert evaluate(f"string(int('{number}'))", CONTEXT) == str(number)
    assert evaluate(f"int(string({number}))", CONTEXT) == number


@QUICK
@given(st.floats(allow_nan=False, allow_infinity=False))
def test_decimals_round_trip_through_text(number):
    context = ExpressionContext(variables={"x": number})
    assert evaluate("float(string(variables('x')))", context) == number


@QUICK
@given(
    st.one_of(
        st.lists(json_values, max_size=5),
        st.dictionaries(st.text(max_size=10), json_values, max_size=5),
    )
)
def test_json_round_trips_through_string(value):
    context = ExpressionContext(variables={"x": value})
    assert evaluate("equals(json(string(variables('x'))), variables('x'))", context) is True


@QUICK
@given(st.text(max_size=100), st.text(min_size=1, max_size=3))
def test_split_then_join_gives_the_text_back(text, separator):
    context = ExpressionContext(variables={"text": text, "separator": separator})
    expression = "join(split(variables('text'), variables('separator')), variables('separator'))"
    assert evaluate(expression, context) == text


@QUICK
@given(st.text(max_size=50), st.integers(0, 60), st.integers(0, 60))
def test_substring_agrees_with_slicing_when_in_range(text, start, length):
    context = ExpressionContext(variables={"text": text})
    expression = f"substring(variables('text'), {start}, {length})"
    if start + length <= len(text):
        assert evaluate(expression, context) == text[start : start + length]
    else:
        try:
            evaluate(expression, context)
        except ExpressionError as error:
            assert "'substring'" in error.message
        else:
            raise AssertionError("substring past the end must be refused")


@QUICK
@given(
    st.datetimes(min_value=dt.datetime(1000, 1, 1), max_value=dt.datetime(9000, 1, 1)),
    st.integers(min_value=-10_000, max_value=10_000),
)
def test_adding_and_subtracting_days_round_trips(moment, days):
    stamp = moment.isoformat() + "Z"
    context = ExpressionContext(variables={"t": stamp})
    back = evaluate(f"addDays(addDays(variables('t'), {days}), {-days})", context)
    assert back == evaluate("formatDateTime(variables('t'))", context)
    assert evaluate(f"formatDateTime('{back}', 'o')", context) == back


@QUICK
@given(st.from_regex(r"[A-Za-z][A-Za-z0-9_]{0,20}", fullmatch=True))
def test_step_references_are_found(name):
    assert referenced_steps({"a": [f"x @{{outputs('{name}')?['body/number']}}"]}) == {name}
