"""The expression language: syntax, access to the run, render(), check() and references."""

import datetime as dt

import pytest

from automate.expressions import (
    Call,
    ExpressionContext,
    ExpressionError,
    Index,
    Literal,
    check,
    evaluate,
    parse,
    referenced_loops,
    referenced_steps,
    render,
)


@pytest.fixture
def context():
    return ExpressionContext(
        trigger={
            "body": {"displayName": "Adatum Corporation", "no": "C-10000", "balance": 1250.5},
            "headers": {"x-company": "CRONUS"},
        },
        steps={
            "Get_record": {
                "status": "Succeeded",
                "inputs": {"id": 7},
                "outputs": {"body": {"number": "SO-1001", "lines": [{"qty": 2}, {"qty": 3}]}},
                "error": None,
            },
            "Failed_step": {"status": "Failed", "outputs": None, "error": {"code": "Boom"}},
        },
        items={"Apply_to_each": {"qty": 2}, "Inner_loop": "inner"},
        iteration_indexes={"Apply_to_each": 1},
        variables={"count": 3, "name": "Ann", "nothing": None},
        now=dt.datetime(2026, 11, 26, 10, 21, 13, tzinfo=dt.UTC),
        workflow={"run": {"name": "run-1"}, "name": "Notify sales"},
    )


def error_of(expression, context):
    with pytest.raises(ExpressionError) as caught:
        evaluate(expression, context)
    return caught.value


class TestLiterals:
    @pytest.mark.parametrize(
        ("expression", "expected"),
        [
            ("'text'", "text"),
            ("'it''s'", "it's"),
            ("''", ""),
            ("42", 42),
            ("-2", -2),
            ("1.5", 1.5),
            ("-0.25", -0.25),
            ("true", True),
            ("false", False),
            ("null", None),
            ("  'spaced'  ", "spaced"),
        ],
    )
    def test_it_reads_literals(self, expression, expected, context):
        value = evaluate(expression, context)
        assert value == expected
        assert type(value) is type(expected)

    def test_it_keeps_braces_and_at_signs_inside_strings(self, context):
        assert evaluate("concat('@{', '}')", context) == "@{}"

    def test_it_refuses_integers_beyond_64_bits(self, context):
        assert evaluate("9223372036854775807", context) == 2**63 - 1
        error = error_of("add(1, 9223372036854775808)", context)
        assert error.position == 7
        assert "too large" in error.message


class TestSyntax:
    def test_it_parses_calls_and_access_into_nodes(self):
        node = parse("outputs('Get_record')?['body/number']")
        assert node == Index(
            target=Call("outputs", (Literal("Get_record", 8),), 0),
            key=Literal("body/number", 23),
            null_safe=True,
            position=21,
        )

    def test_function_names_ignore_case(self, context):
        assert evaluate("toUpper('a')", context) == "A"
        assert evaluate("TOUPPER('a')", context) == "A"
        assert evaluate("toupper('a')", context) == "A"

    def test_whitespace_is_allowed_between_tokens(self, context):
        assert evaluate(" add ( 1 ,\n\t2 ) ", context) == 3
        assert evaluate("triggerBody() ?[ 'no' ]", context) == "C-10000"

    @pytest.mark.parametrize(
        ("expression", "position", "words"),
        [
            ("", None, "empty"),
            ("   ", None, "empty"),
            ("concat('a'", 10, "Expected ',' or ')'"),
            ("concat('a',)", 11, "Expected a value"),
            ("'open", 0, "closing quote"),
            ("add(1, 2) 3", 10, "Unexpected '3'"),
            ("foo", 0, "not a value"),
            ("triggerBody()?", 14, "Expected '[' or '.'"),
            ("triggerBody().", 14, "property name"),
            ("triggerBody()['a'", 17, "Expected ']'"),
            ("add(1 2)", 6, "Expected ',' or ')'"),
            ("#", 0, "Unexpected character '#'"),
            ("@concat('a')", 0, "Unexpected character '@'"),
            (")", 0, "Expected a value"),
        ],
    )
    def test_syntax_errors_name_their_position(self, expression, position, words):
        with pytest.raises(ExpressionError) as caught:
            parse(expression)
        error = caught.value
        assert error.position == position
        assert words in error.message
        assert str(error) == error.message
        if position is not None:
            assert error.message.endswith(f"at position {position}")

    def test_unknown_functions_are_refused_with_their_position(self, context):
        error = error_of("concat('a', foo(1))", context)
        assert error.message == "Unknown function 'foo' at position 12"
        assert error.position == 12

    def test_unknown_functions_are_refused_even_in_branches_not_taken(self, context):
        assert error_of("if(true, 1, nope())", context).position == 12

    def test_wrong_argument_counts_are_refused(self, context):
        error = error_of("add(1)", context)
        assert error.message == "'add' takes 2 arguments, not 1, at position 0"
        assert "at least 1" in error_of("concat()", context).message
        assert "2 to 3" in error_of("substring('a')", context).message
        assert "no arguments" in error_of("triggerBody(1)", context).message

    def test_eval_and_python_names_are_not_functions(self, context):
        for name in ("eval", "exec", "__import__", "getattr", "open"):
            assert error_of(f"{name}('1')", context).message.startswith("Unknown function")


class TestAccess:
    def test_trigger_functions(self, context):
        assert evaluate("triggerBody()?['displayName']", context) == "Adatum Corporation"
        assert evaluate("triggerOutputs()?['headers']?['x-company']", context) == "CRONUS"
        assert evaluate("triggerOutputs()", context) is context.trigger
        assert evaluate("trigger()", context) is context.trigger

    def test_step_functions(self, context):
        assert evaluate("outputs('Get_record')?['body/number']", context) == "SO-1001"
        assert evaluate("body('Get_record')['lines'][1]['qty']", context) == 3
        assert evaluate("actions('Get_record')['status']", context) == "Succeeded"
        assert evaluate("actions('Failed_step')?['error']?['code']", context) == "Boom"
        assert evaluate("body('Failed_step')", context) is None
        assert evaluate("outputs('Get record')?['body']?['number']", context) == "SO-1001"

    def test_unknown_steps_are_refused(self, context):
        error = error_of("concat(body('Nope'))", context)
        assert error.position == 7
        assert "step 'Nope'" in error.message

    def test_loop_functions(self, context):
        assert evaluate("items('Apply_to_each')?['qty']", context) == 2
        assert evaluate("item()", context) == "inner"
        assert evaluate("iterationIndexes('Apply_to_each')", context) == 1
        assert "loop 'Other'" in error_of("items('Other')", context).message
        assert "loop 'Other'" in error_of("iterationIndexes('Other')", context).message

    def test_item_outside_a_loop_is_refused(self):
        with pytest.raises(ExpressionError, match="Apply to each"):
            evaluate("item()", ExpressionContext())

    def test_variables(self, context):
        assert evaluate("variables('count')", context) == 3
        assert evaluate("variables('nothing')", context) is None
        error = error_of("variables('missing')", context)
        assert "variable 'missing'" in error.message
        assert "not initialized" in error.message

    def test_workflow(self, context):
        assert evaluate("workflow()?['run']?['name']", context) == "run-1"

    def test_dot_access_and_null_safe_dot(self, context):
        assert evaluate("triggerBody().displayName", context) == "Adatum Corporation"
        assert evaluate("triggerBody()?.missing?.deeper", context) is None

    def test_null_safe_access_gives_null(self, context):
        assert evaluate("triggerBody()?['missing']", context) is None
        assert evaluate("variables('nothing')?['a']", context) is None
        assert evaluate("body('Get_record')?['lines']?[9]", context) is None
        assert evaluate("outputs('Get_record')?['body/missing/deeper']", context) is None

    def test_plain_access_to_a_missing_property_is_refused(self, context):
        error = error_of("triggerBody()['missing']", context)
        assert error.position == 13
        assert "Property 'missing' doesn't exist" in error.message
        assert "'displayName'" in error.message

    def test_plain_access_on_null_is_refused(self, context):
        error = error_of("variables('nothing')['a']", context)
        assert error.position == 20
        assert "of null" in error.message

    def test_null_safety_applies_to_one_step_only(self, context):
        error = error_of("triggerBody()?['missing']['deeper']", context)
        assert error.position == 25

    def test_array_indexes(self, context):
        assert evaluate("createArray(1, 2, 3)[2]", context) == 3
        assert "outside the array" in error_of("createArray(1)[1]", context).message
        assert "outside the array" in error_of("createArray(1)[-1]", context).message
        assert "numbered from 0" in error_of("createArray(1)['a']", context).message
        assert "numbered from 0" in error_of("createArray(1)[true]", context).message

    def test_access_on_scalars_is_refused(self, context):
        assert "Cannot read property 'a' of a string" in error_of("'x'['a']", context).message
        assert "of an integer" in error_of("variables('count')?['a']", context).message

    def test_keys_can_be_computed(self, context):
        assert evaluate("triggerBody()[concat('dis', 'playName')]", context) == (
            "Adatum Corporation"
        )

    def test_slashed_keys_prefer_a_property_of_that_exact_name(self):
        context = ExpressionContext(trigger={"body": {"a/b": "exact", "a": {"b": "nested"}}})
        assert evaluate("triggerBody()?['a/b']", context) == "exact"
        context = ExpressionContext(trigger={"body": {"a": {"b": "nested"}}})
        assert evaluate("triggerBody()['a/b']", context) == "nested"


class TestRender:
    def test_the_designer_examples(self, context):
        assert render("@{triggerBody()?['displayName']}", context) == "Adatum Corporation"
        assert render("@{outputs('Get_record')?['body/number']}", context) == "SO-1001"

    def test_a_whole_expression_keeps_its_type(self, context):
        assert render("@variables('count')", context) == 3
        assert render("@body('Get_record')?['lines']", context) == [{"qty": 2}, {"qty": 3}]
        assert render("@variables('nothing')", context) is None
        assert render("@equals(1, 1)", context) is True

    def test_interpolation_gives_text(self, context):
        assert render("@{variables('count')}", context) == "3"
        assert render("n=@{variables('count')}", context) == "n=3"
        assert render("@{variables('nothing')}|", context) == "|"
        assert render("@{equals(1, 1)}/@{equals(1, 2)}", context) == "true/false"
        assert render("@{body('Get_record')?['lines']}", context) == '[{"qty":2},{"qty":3}]'
        assert render("@{div(5.0, 2)} @{float('2')} @{mul(1.0, 3)}", context) == "2.5 2 3"
        assert render("@{createArray('é')}", context) == '["é"]'

    def test_it_joins_several_segments(self, context):
        text = "Dear @{variables('name')}, order @{body('Get_record').number} is ready."
        assert render(text, context) == "Dear Ann, order SO-1001 is ready."

    def test_double_at_escapes_a_literal_at(self, context):
        assert render("@@foo", context) == "@foo"
        assert render("@@{not an expression}", context) == "@{not an expression}"

    def test_text_without_expressions_is_unchanged(self, context):
        for text in ("", "plain", "mail@example.com", "a @ b", "50% {braces}"):
            assert render(text, context) == text

    def test_it_renders_nested_values_but_not_keys(self, context):
        value = {
            "@{variables('name')}": ["@variables('count')", {"deep": "x@{variables('name')}"}],
            "number": 5,
            "flag": None,
        }
        assert render(value, context) == {
            "@{variables('name')}": [3, {"deep": "xAnn"}],
            "number": 5,
            "flag": None,
        }

    def test_errors_count_positions_in_the_input_text(self, context):
        with pytest.raises(ExpressionError) as caught:
            render("Hello @{foo()}", context)
        assert caught.value.position == 8
        with pytest.raises(ExpressionError) as caught:
            render("@add(1, 'a')", context)
        assert caught.value.position == 1

    def test_errors_name_the_path_of_nested_inputs(self, context):
        with pytest.raises(ExpressionError) as caught:
            render({"to": ["ok", "@{variables('x')}"]}, context)
        assert caught.value.message.startswith("to[1]: 'variables' refers to variable 'x'")
        assert caught.value.position == 2

    def test_an_unclosed_segment_is_refused(self, context):
        with pytest.raises(ExpressionError) as caught:
            render("a @{concat('}'", context)
        assert caught.value.position == 2
        assert "never closed" in caught.value.message

    def test_a_closing_brace_inside_quotes_does_not_end_the_segment(self, context):
        assert render("@{concat('}', 'x')}!", context) == "}x!"

    def test_a_lone_at_sign_is_an_empty_expression(self, context):
        with pytest.raises(ExpressionError, match="empty"):
            render("@", context)


class TestCheck:
    def test_valid_inputs_have_no_problems(self):
        assert check("@{triggerBody()?['displayName']}") == []
        assert check({"a": ["@add(1, 2)", 5, None], "b": "plain", "c": "@@x"}) == []

    def test_it_lists_every_problem(self):
        problems = check(
            {
                "subject": "Hi @{foo(1)} and @{add(1)}",
                "body": ["@concat('a'", "@{x"],
                "fine": "@{add(1, 2)}",
            }
        )
        assert problems == [
            "subject: Unknown function 'foo' at position 5",
            "subject: 'add' takes 2 arguments, not 1, at position 19",
            "body[0]: Expected ',' or ')' in the call of 'concat', found end of expression "
            "at position 11",
            "body[1]: '@{' is never closed with '}' at position 0",
        ]

    def test_it_finds_problems_in_every_call_of_one_expression(self):
        assert len(check("@concat(nope(), alsonope(), add(1))")) == 3

    def test_it_flags_values_nested_too_deeply(self):
        value = "@{x()}"
        for _ in range(100):
            value = [value]
        problems = check(value)
        assert len(problems) == 1
        assert "nests lists and objects" in problems[0]


class TestReferences:
    def test_it_finds_steps_named_with_literal_text(self):
        value = {
            "a": "@{outputs('Get_record')?['body/number']}",
            "b": ["@body('Find')", "x @{actions('Check')['status']} @{BODY('Upper')}"],
            "c": "@{body(variables('dynamic'))}",
            "d": "@@{body('Escaped')}",
            "e": "@{body('Broken'",
        }
        assert referenced_steps(value) == {"Get_record", "Find", "Check", "Upper"}

    def test_it_finds_loops(self):
        value = ["@items('Apply_to_each')?['qty']", "@{iterationIndexes('Outer')}", "@item()"]
        assert referenced_loops(value) == {"Apply_to_each", "Outer"}
        assert referenced_steps(value) == set()

    def test_it_finds_references_in_arguments_and_keys(self):
        value = "@concat(body('A')[body('B')], if(true, outputs('C'), null))"
        assert referenced_steps(value) == {"A", "B", "C"}
