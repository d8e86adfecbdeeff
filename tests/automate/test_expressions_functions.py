"""The whitelisted functions, one group at a time."""

import pytest

from automate.expressions import ExpressionContext, ExpressionError, evaluate


@pytest.fixture
def context():
    return ExpressionContext(
        variables={
            "list": [3, 1, 2],
            "people": [{"name": "Ann"}, {"name": "Bo"}],
            "record": {"no": "C-1", "name": "Adatum"},
            "nothing": None,
            "calls": 0,
        }
    )


def value(expression, context):
    return evaluate(expression, context)


def error_of(expression, context):
    with pytest.raises(ExpressionError) as caught:
        evaluate(expression, context)
    return caught.value


class TestLogic:
    @pytest.mark.parametrize(
        ("expression", "expected"),
        [
            ("equals(1, 1)", True),
            ("equals(1, 1.0)", True),
            ("equals('a', 'A')", False),
            ("equals(true, 1)", False),
            ("equals(null, null)", True),
            ("equals(null, '')", False),
            ("equals(createArray(1, 'a'), createArray(1, 'a'))", True),
            ("equals(createArray(1), createArray(1, 2))", False),
            ("equals(json('{\"a\":[1]}'), json('{\"a\":[1.0]}'))", True),
            ("equals(json('{\"a\":1}'), json('{\"b\":1}'))", False),
            ("not(false)", True),
            ("and(true, true, true)", True),
            ("and(true, false)", False),
            ("or(false, true)", True),
            ("or(false, false)", False),
            ("if(true, 'yes', 'no')", "yes"),
            ("if(false, 'yes', 'no')", "no"),
            ("coalesce(null, null, 'x', 'y')", "x"),
            ("coalesce(null)", None),
            ("greater(2, 1)", True),
            ("greater(1, 1)", False),
            ("greaterOrEquals(1, 1.0)", True),
            ("less(1.5, 2)", True),
            ("lessOrEquals(2, 1)", False),
            ("greater('b', 'a')", True),
            ("less('B', 'a')", True),
        ],
    )
    def test_values(self, expression, expected, context):
        assert value(expression, context) == expected

    def test_if_evaluates_only_the_chosen_branch(self, context):
        assert value("if(true, 'ok', div(1, 0))", context) == "ok"
        assert value("if(false, variables('missing'), 'ok')", context) == "ok"
        assert "divide by zero" in error_of("if(false, 1, div(1, 0))", context).message

    def test_and_or_and_coalesce_stop_early(self, context):
        assert value("and(false, div(1, 0))", context) is False
        assert value("or(true, div(1, 0))", context) is True
        assert value("coalesce('x', div(1, 0))", context) == "x"

    @pytest.mark.parametrize(
        ("expression", "position", "words"),
        [
            ("if('yes', 1, 2)", 0, "'if' expects a boolean (true or false) as its first argument"),
            ("not(1)", 0, "'not' expects a boolean"),
            ("and(true, 'x')", 0, "as its second argument, got a string ('x')"),
            ("greater(1, 'a')", 0, "'greater' expects a value of the same kind"),
            ("concat('', less(null, 1))", 11, "'less' expects a number or a string"),
        ],
    )
    def test_type_errors(self, expression, position, words, context):
        error = error_of(expression, context)
        assert words in error.message
        assert error.position == position


class TestCollections:
    @pytest.mark.parametrize(
        ("expression", "expected"),
        [
            ("empty('')", True),
            ("empty(null)", True),
            ("empty(createArray())", True),
            ("empty(json('{}'))", True),
            ("empty('a')", False),
            ("empty(variables('record'))", False),
            ("contains('Adatum', 'dat')", True),
            ("contains('Adatum', 'DAT')", False),
            ("contains(variables('list'), 2)", True),
            ("contains(variables('list'), '2')", False),
            ("contains(variables('people'), json('{\"name\":\"Bo\"}'))", True),
            ("contains(variables('record'), 'no')", True),
            ("contains(variables('record'), 'Adatum')", False),
            ("length('abc')", 3),
            ("length(variables('list'))", 3),
            ("first('abc')", "a"),
            ("first(variables('list'))", 3),
            ("first(createArray())", None),
            ("first('')", ""),
            ("last('abc')", "c"),
            ("last(variables('list'))", 2),
            ("take('abcdef', 2)", "ab"),
            ("take(variables('list'), 10)", [3, 1, 2]),
            ("skip('abcdef', 4)", "ef"),
            ("skip(variables('list'), 1)", [1, 2]),
            ("reverse(variables('list'))", [2, 1, 3]),
            ("join(variables('list'), ', ')", "3, 1, 2"),
            ("join(createArray('a', null, true, 1.5), '|')", "a||true|1.5"),
            ("union(createArray(1, 2), createArray(2, 3, 1.0))", [1, 2, 3]),
            ('union(json(\'{"a":1,"b":2}\'), json(\'{"b":3}\'))', {"a": 1, "b": 3}),
            ("intersection(createArray(1, 2, 3, 2), createArray(2, 3))", [2, 3]),
            ('intersection(json(\'{"a":1,"b":2}\'), json(\'{"a":1,"b":3}\'))', {"a": 1}),
            ("createArray()", []),
            ("createArray(1, 'a', null)", [1, "a", None]),
            ("array('a')", ["a"]),
        ],
    )
    def test_values(self, expression, expected, context):
        assert value(expression, context) == expected

    def test_results_do_not_change_the_inputs(self, context):
        value("reverse(variables('list'))", context)
        value("union(variables('record'), json('{\"no\":\"X\"}'))", context)
        assert context.variables["list"] == [3, 1, 2]
        assert context.variables["record"] == {"no": "C-1", "name": "Adatum"}

    @pytest.mark.parametrize(
        ("expression", "words"),
        [
            ("length(5)", "'length' expects a string or an array"),
            ("length(variables('record'))", "'length' expects a string or an array"),
            ("empty(0)", "'empty' expects a string, an array, an object or null"),
            ("take('abc', -1)", "count of zero or more"),
            ("skip('abc', 'x')", "a whole number as its second argument"),
            ("join('abc', ',')", "'join' expects an array"),
            ("contains(5, 1)", "'contains' expects a string, an array or an object"),
            ("contains('abc', 1)", "expects a string as its second argument"),
            ("union(createArray(1), 'a')", "an array (or all objects)"),
        ],
    )
    def test_type_errors(self, expression, words, context):
        assert words in error_of(expression, context).message


class TestText:
    @pytest.mark.parametrize(
        ("expression", "expected"),
        [
            ("concat('a', 'b', 'c')", "abc"),
            ("concat('n', 1, true, null, 2.5)", "n1true2.5"),
            ("concat('list: ', createArray(1, 'a'))", 'list: [1,"a"]'),
            ("toUpper('straße')", "STRASSE"),
            ("toLower('ABC')", "abc"),
            ("trim('  a b \n')", "a b"),
            ("substring('hello', 1, 3)", "ell"),
            ("substring('hello', 2)", "llo"),
            ("substring('hello', 5, 0)", ""),
            ("slice('hello', 1, -1)", "ell"),
            ("slice('hello', -3)", "llo"),
            ("slice('hello', 10)", ""),
            ("replace('a-b-c', '-', '+')", "a+b+c"),
            ("replace('aaa', 'A', 'b')", "aaa"),
            ("split('a,b,,c', ',')", ["a", "b", "", "c"]),
            ("split('', ',')", [""]),
            ("indexOf('Hello World', 'world')", 6),
            ("indexOf('Hello', 'x')", -1),
            ("lastIndexOf('abcABC', 'b')", 4),
            ("indexOf('İstanbul İzmir', 'izmir')", 9),
            ("indexOf('İİ x', 'X')", 3),
            ("startsWith('Hello', 'HE')", True),
            ("startsWith('Hello', 'lo')", False),
            ("endsWith('Hello', 'LO')", True),
            ("endsWith('Hello', 'He')", False),
        ],
    )
    def test_values(self, expression, expected, context):
        assert value(expression, context) == expected

    @pytest.mark.parametrize(
        ("expression", "words"),
        [
            ("substring('hello', 6)", "start index 6 must be between 0 and the text's length, 5"),
            ("substring('hello', -1)", "start index -1"),
            ("substring('hello', 3, 3)", "start index 3 plus length 3"),
            ("substring('hello', 1, -1)", "plus length -1"),
            ("replace('abc', '', 'x')", "non-empty text to replace"),
            ("split('abc', '')", "non-empty separator"),
            ("toUpper(1)", "'toUpper' expects a string as its first argument, got an integer (1)"),
            ("indexOf(null, 'a')", "got null"),
        ],
    )
    def test_errors(self, expression, words, context):
        error = error_of(expression, context)
        assert words in error.message
        assert error.position == 0


class TestMath:
    @pytest.mark.parametrize(
        ("expression", "expected"),
        [
            ("add(1, 2)", 3),
            ("add(1, 0.5)", 1.5),
            ("sub(1, 3)", -2),
            ("mul(4, 2.5)", 10.0),
            ("div(7, 2)", 3),
            ("div(-7, 2)", -3),
            ("div(7.0, 2)", 3.5),
            ("mod(7, 3)", 1),
            ("mod(-7, 2)", -1),
            ("mod(7, -2)", 1),
            ("mod(7.5, 2)", 1.5),
            ("min(3, 1, 2)", 1),
            ("max(3, 1.5, 2)", 3),
            ("min(createArray(4, 2))", 2),
            ("max(createArray(4, 2))", 4),
            ("range(3, 4)", [3, 4, 5, 6]),
            ("range(0, 0)", []),
        ],
    )
    def test_values(self, expression, expected, context):
        result = value(expression, context)
        assert result == expected
        assert type(result) is type(expected)

    @pytest.mark.parametrize(
        ("expression", "words", "position"),
        [
            ("add('a', 1)", "'add' expects a number as its first argument, got a string ('a')", 0),
            ("concat('x', sub(1, true))", "'sub' expects a number as its second argument", 12),
            ("add(null, 1)", "got null", 0),
            ("div(1, 0)", "'div' cannot divide by zero", 0),
            ("div(1.5, 0.0)", "cannot divide by zero", 0),
            ("mod(1, 0)", "cannot divide by zero", 0),
            ("mul(9223372036854775807, 2)", "64-bit integer range", 0),
            ("add(9223372036854775807, 1)", "64-bit integer range", 0),
            ("min(createArray())", "empty array", 0),
            ("max(1, 'a')", "second argument", 0),
            ("range(0, -1)", "count of zero or more", 0),
            ("range(0, 2000000)", "cannot produce more than", 0),
            ("mul(1.0E308, 10)", "too large", 0),
        ],
    )
    def test_errors(self, expression, words, position, context):
        if "E308" in expression:
            expression = "mul(float('1.0E308'), 10)"
        error = error_of(expression, context)
        assert words in error.message
        assert error.position == position


class TestConversion:
    @pytest.mark.parametrize(
        ("expression", "expected"),
        [
            ("int('42')", 42),
            ("int(' -7 ')", -7),
            ("int(3.0)", 3),
            ("int(5)", 5),
            ("float('2.5')", 2.5),
            ("float('1e3')", 1000.0),
            ("float(2)", 2.0),
            ("string(12)", "12"),
            ("string(2.50)", "2.5"),
            ("string(true)", "true"),
            ("string(null)", ""),
            ("string(json('{\"a\": [1, null]}'))", '{"a":[1,null]}'),
            ("bool('TRUE')", True),
            ("bool('false')", False),
            ("bool(0)", False),
            ("bool(2.5)", True),
            (
                'json(\'{"a": {"b": [1, 2.5, "x", null, true]}}\')',
                {"a": {"b": [1, 2.5, "x", None, True]}},
            ),
            ("json('3')", 3),
        ],
    )
    def test_values(self, expression, expected, context):
        result = value(expression, context)
        assert result == expected
        assert type(result) is type(expected)

    @pytest.mark.parametrize(
        ("expression", "words"),
        [
            ("int('1.5')", "cannot convert '1.5' to an integer"),
            ("int('abc')", "cannot convert 'abc' to an integer"),
            ("int('1_000')", "cannot convert"),
            ("int('٣')", "cannot convert"),
            ("int('99999999999999999999')", "too large"),
            ("int(2.5)", "without losing its fraction"),
            ("int(true)", "a whole number"),
            ("float('nan')", "cannot convert 'nan'"),
            ("float('inf')", "cannot convert 'inf'"),
            ("float('1e999')", "too large"),
            ("bool('yes')", "use 'true' or 'false'"),
            ("bool(null)", "got null"),
            ("json('{')", "cannot parse the text as JSON"),
            ("json('NaN')", "NaN is not a JSON number"),
            ("json('1e999')", "too large"),
            ("json('123456789012345678901234567890')", "too large"),
            ("json(createArray())", "expects a string"),
        ],
    )
    def test_errors(self, expression, words, context):
        error = error_of(expression, context)
        assert words in error.message
        assert error.position == 0

    def test_json_refuses_deep_nesting(self, context):
        deep = "[" * 70 + "]" * 70
        assert "nested at most 64" in error_of(f"json('{deep}')", context).message
        context.variables["deeper"] = "[" * 100_000 + "]" * 100_000
        assert "JSON" in error_of("json(variables('deeper'))", context).message


class TestEncoding:
    @pytest.mark.parametrize(
        ("expression", "expected"),
        [
            ("encodeUriComponent('a b&c/é~')", "a%20b%26c%2F%C3%A9~"),
            ("uriComponent('x y')", "x%20y"),
            ("decodeUriComponent('a%20b%26c')", "a b&c"),
            ("uriComponentToString('%C3%A9')", "é"),
            ("base64('hello é')", "aGVsbG8gw6k="),
            ("base64ToString('aGVsbG8gw6k=')", "hello é"),
        ],
    )
    def test_values(self, expression, expected, context):
        assert value(expression, context) == expected

    def test_invalid_base64_is_refused(self, context):
        assert "not base64" in error_of("base64ToString('***')", context).message
