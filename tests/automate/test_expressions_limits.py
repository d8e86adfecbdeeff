"""Every limit on an expression's size, depth and work is enforced with a clear message."""

import pytest

from automate.expressions import (
    ExpressionContext,
    ExpressionError,
    check,
    evaluate,
    parse,
    render,
    runtime,
)
from automate.expressions.limits import (
    MAX_DEPTH,
    MAX_EXPRESSION_LENGTH,
    MAX_INPUT_DEPTH,
    MAX_STEPS,
    MAX_TEMPLATE_LENGTH,
    MAX_VALUE_SIZE,
)


def error_of(expression, context=None):
    with pytest.raises(ExpressionError) as caught:
        evaluate(expression, context or ExpressionContext())
    return caught.value


def nested_calls(levels):
    return "concat(" * levels + "'x'" + ")" * levels


def test_expressions_longer_than_the_limit_are_refused():
    fits = "'" + "a" * (MAX_EXPRESSION_LENGTH - 2) + "'"
    assert len(evaluate(fits, ExpressionContext())) == MAX_EXPRESSION_LENGTH - 2
    assert "the limit is 8,192" in error_of(fits + " ").message


def test_texts_with_expressions_longer_than_the_limit_are_refused():
    text = "x" * MAX_TEMPLATE_LENGTH + "@{'a'}"
    with pytest.raises(ExpressionError, match="the limit is 100,000"):
        render(text, ExpressionContext())
    assert check(text) == [
        f"Text with expressions is {len(text):,} characters long; the limit is 100,000"
    ]


def test_long_text_without_expressions_is_left_alone():
    text = "x" * (MAX_TEMPLATE_LENGTH * 2)
    assert render(text, ExpressionContext()) is text


def test_calls_nest_up_to_the_limit():
    assert evaluate(nested_calls(MAX_DEPTH), ExpressionContext()) == "x"
    error = error_of(nested_calls(MAX_DEPTH + 1))
    assert f"more than {MAX_DEPTH} levels deep" in error.message
    assert error.position == 7 * MAX_DEPTH


@pytest.mark.parametrize(
    "expression",
    [
        nested_calls(5000),
        "createArray(" * 1000,
        "triggerBody()" + "?['a']" * 1000,
        "triggerBody()" + "[" * 2000,
        "[" * 4000,
    ],
)
def test_deep_expressions_raise_expression_error_not_recursion_error(expression):
    with pytest.raises(ExpressionError):
        parse(expression)


def test_index_chains_count_toward_the_depth():
    assert evaluate("triggerBody()" + "?['a']" * (MAX_DEPTH - 1), ExpressionContext()) is None
    assert "levels deep" in error_of("triggerBody()" + "?['a']" * MAX_DEPTH).message


def test_render_refuses_input_values_nested_too_deeply():
    value = "@{'x'}"
    for _ in range(MAX_INPUT_DEPTH + 1):
        value = {"a": [value]}
    with pytest.raises(ExpressionError, match="nests lists and objects more than 64 deep"):
        render(value, ExpressionContext())


def test_render_refuses_inputs_that_evaluate_too_many_nodes():
    expressions = ["@add(1, 2)"] * (MAX_STEPS // 3 + 1)
    with pytest.raises(ExpressionError, match="more than 10,000 steps"):
        render(expressions, ExpressionContext())
    assert len(render(expressions[: MAX_STEPS // 3], ExpressionContext())) == MAX_STEPS // 3


@pytest.fixture
def big():
    half = "a" * (MAX_VALUE_SIZE // 2 + 1)
    return ExpressionContext(
        variables={
            "half": half,
            "other_half": "c" * (MAX_VALUE_SIZE // 2 + 1),
            "halves": [half, half],
            "small": "b" * 1001,
            "spaces": " " * (MAX_VALUE_SIZE * 4 // 5),
            "shared": ["b" * 1000] * 600,
        }
    )


@pytest.mark.parametrize(
    ("expression", "name"),
    [
        ("concat(variables('half'), variables('half'))", "concat"),
        ("join(variables('halves'), '')", "join"),
        ("createArray(variables('half'), variables('half'))", "createArray"),
        ("replace(variables('small'), 'b', variables('small'))", "replace"),
        ("split(concat(variables('half'), variables('half')), 'a')", "concat"),
        ("string(createArray(variables('half'), variables('half')))", "createArray"),
        ("union(createArray(variables('half')), createArray(variables('other_half')))", "union"),
        ("base64(variables('spaces'))", "base64"),
        ("encodeUriComponent(variables('spaces'))", "encodeUriComponent"),
        ("toUpper(replace(variables('half'), 'a', 'ß'))", "toUpper"),
    ],
)
def test_results_larger_than_the_cap_are_refused(expression, name, big):
    error = error_of(expression, big)
    assert error.message.startswith(f"'{name}' would produce more than 1,000,000")


def test_arrays_of_shared_values_count_every_copy(big):
    # string() would write each copy, though the copies share memory.
    expression = "createArray(variables('shared'), variables('shared'))"
    assert "would produce more than" in error_of(expression, big).message
    assert len(evaluate("createArray(variables('shared'))", big)) == 1


def test_interpolated_text_larger_than_the_cap_is_refused(big):
    with pytest.raises(ExpressionError, match="Text would be longer than 1,000,000"):
        render("@{variables('half')}@{variables('half')}", big)


def test_scanning_large_values_uses_up_the_work_budget(big):
    scans = ", ".join(["indexOf(variables('half'), 'b')"] * 50)
    error = error_of(f"createArray({scans})", big)
    assert error.message.startswith("Expressions here handle too much data (more than 20,000,000")
    # Thirty-nine scans of half a million characters fit; the fortieth does not.
    assert error.position == len("createArray(") + len("indexOf(variables('half'), 'b'), ") * 39


def test_going_through_array_items_costs_more_than_characters():
    context = ExpressionContext(variables={"items": ["x"] * 100_000, "text": "x" * 100_000})
    texts = ", ".join(["indexOf(variables('text'), 'y')"] * 6)
    assert evaluate(f"createArray({texts})", context) == [-1] * 6
    items = ", ".join(["indexOf(join(variables('items'), ''), 'y')"] * 6)
    error = error_of(f"createArray({items})", context)
    assert "or 625,000 array items" in error.message


def test_a_slow_evaluation_is_stopped_by_the_clock(monkeypatch, big):
    ticks = iter(range(0, 1000, 4))
    monkeypatch.setattr(runtime, "_clock", lambda: next(ticks))
    error = error_of("concat('a', 'b', 'c')", big)
    assert error.message == "Expressions here took longer than 5 seconds to evaluate at position 7"


def test_deeply_nested_run_data_raises_expression_error():
    deep = []
    for _ in range(10_000):
        deep = [deep]
    context = ExpressionContext(variables={"deep": deep})
    with pytest.raises(ExpressionError, match="nested too deeply"):
        evaluate("string(variables('deep'))", context)
    with pytest.raises(ExpressionError, match="nested too deeply"):
        render("@{variables('deep')}", context)
    assert evaluate("equals(variables('deep'), variables('deep'))", context) is True


def test_run_data_that_is_not_json_gives_an_expression_error():
    context = ExpressionContext(variables={"x": [float("nan")]})
    error = error_of("concat('a', string(variables('x')))", context)
    assert error.position == 12
    assert error.message.startswith("'string' failed: A value cannot be written as JSON")
