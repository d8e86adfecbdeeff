"""BC filter expressions: the parser, each operator per field type, and bad input.

Semantics are checked against real rows (SQLite and PostgreSQL alike), so case, wildcards
and ranges mean what the database makes of them.
"""

import contextlib
import datetime
from decimal import Decimal

import pytest
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bcsite.pages.base import field_label, resolve_model_field
from bcsite.pages.filters import (
    MAX_LENGTH,
    MAX_TERMS,
    Condition,
    FilterError,
    FilterField,
    Operand,
    describe_error,
    filter_q,
    parse,
)
from records.models import Customer, Item, SalesOrder
from tests.factories import CustomerFactory, ItemFactory, SalesOrderFactory


def _field(model, path, normalize=None) -> FilterField:
    model_field = resolve_model_field(model, path)
    return FilterField.for_model_field(model_field, path, field_label(model_field), normalize)


NAME = _field(Customer, "name")
NO = _field(Customer, "no", normalize=str.upper)
BLOCKED = _field(Customer, "blocked")
CREDIT_LIMIT = _field(Customer, "credit_limit")
ITEM_BLOCKED = _field(Item, "blocked")
ORDER_DATE = _field(SalesOrder, "order_date")
DUE_DATE = _field(SalesOrder, "due_date")
ENTRY_NO = _field(Customer, "pk")
LAST_MODIFIED = _field(Customer, "last_modified")


# -- Parsing --------------------------------------------------------------------------------


def _eq(text, quoted=False):
    return Condition("eq", Operand(text, quoted))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Atlanta", ((_eq("Atlanta"),),)),
        ("  Atlanta  ", ((_eq("Atlanta"),),)),
        ("<>Atlanta", ((Condition("ne", Operand("Atlanta")),),)),
        (">10", ((Condition("gt", Operand("10")),),)),
        (">=10", ((Condition("ge", Operand("10")),),)),
        ("<10", ((Condition("lt", Operand("10")),),)),
        ("<=10", ((Condition("le", Operand("10")),),)),
        ("10..20", ((Condition("range", Operand("10"), Operand("20")),),)),
        ("10..", ((Condition("range", Operand("10"), None),),)),
        ("..20", ((Condition("range", None, Operand("20")),),)),
        ("a|b", ((_eq("a"),), (_eq("b"),))),
        (">1&<5|9", ((Condition("gt", Operand("1")), Condition("lt", Operand("5"))), (_eq("9"),))),
        ("''", ((_eq("", quoted=True),),)),
        ("<>''", ((Condition("ne", Operand("", quoted=True)),),)),
        ("'a|b..c'", ((_eq("a|b..c", quoted=True),),)),
        ("'it''s'", ((_eq("it's", quoted=True),),)),
        ("O'Brien", ((_eq("O'Brien"),),)),
        ("*corp*", ((_eq("*corp*"),),)),
        ("New York|Los Angeles", ((_eq("New York"),), (_eq("Los Angeles"),))),
    ],
)
def test_it_parses_each_operator(text, expected):
    assert parse(text) == expected


def test_an_empty_expression_means_no_filter():
    assert parse("   ") == ()
    assert str(filter_q("", NAME)) == str(filter_q("  ", NAME))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("a||b", "A value is missing"),
        ("|a", "A value is missing"),
        ("a|", "A value is missing"),
        ("<>", "A value is missing"),
        ("..", "A range is written from..to"),
        ("<5..6", "A range is written from..to"),
        ("1..2..3", "A range is written from..to"),
        ("'abc", "A quote (') is not closed."),
        ("'abc'def", "Put the whole value in quotes"),
        ("a\x00b", "control characters"),
        ("x" * (MAX_LENGTH + 1), f"at most {MAX_LENGTH} characters"),
        ("|".join(["1"] * (MAX_TERMS + 1)), f"at most {MAX_TERMS} values"),
    ],
)
def test_it_refuses_what_has_no_structure(text, message):
    with pytest.raises(FilterError, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse(text)


# -- Per type, against rows --------------------------------------------------------------------


@pytest.fixture
def customers(company, other_company):
    rows = [
        ("C10000", "Adatum Corporation", "", "1000"),
        ("C20000", "Trey Research", "ship", "25000.50"),
        ("C30000", "School of Fine Art", "invoice", "0"),
        ("C40000", "Alpine Ski House", "all", "125000"),
        ("C50000", "50% Off_Sale \\ Outlet", "", "500"),
    ]
    for no, name, blocked, limit in rows:
        CustomerFactory(
            company=company, no=no, name=name, blocked=blocked, credit_limit=Decimal(limit)
        )
    # Another company's twin must never change what a filter means here.
    CustomerFactory(company=other_company, no="C99999", name="Adatum Abroad", blocked="all")


def _nos(field, text, company):
    rows = Customer.objects.filter(company=company).filter(filter_q(text, field))
    return sorted(rows.values_list("no", flat=True))


@pytest.mark.parametrize(
    ("text", "nos"),
    [
        ("adatum corporation", ["C10000"]),
        ("ADATUM CORPORATION|trey research", ["C10000", "C20000"]),
        ("<>Adatum Corporation", ["C20000", "C30000", "C40000", "C50000"]),
        ("a*", ["C10000", "C40000"]),
        ("*house", ["C40000"]),
        ("*RES*", ["C20000"]),
        ("a*corp*", ["C10000"]),
        ("*o*e*", ["C30000", "C40000", "C50000"]),
        ("<>*a*", []),
        ("*", ["C10000", "C20000", "C30000", "C40000", "C50000"]),
        # % and _ and \ are plain characters, not SQL wildcards.
        ("50%*", ["C50000"]),
        ("*off_sale*", ["C50000"]),
        ("*\\*", ["C50000"]),
        ("5*_*", ["C50000"]),
        ("Adatum*&*Corporation", ["C10000"]),
        ("A..B", ["C10000", "C40000"]),
        (">=T", ["C20000"]),
        ("''", []),
        ("<>''", ["C10000", "C20000", "C30000", "C40000", "C50000"]),
        ("'*'", []),
    ],
)
def test_text(customers, company, text, nos):
    assert _nos(NAME, text, company) == nos


@pytest.mark.parametrize(
    ("text", "nos"),
    [
        ("c10000", ["C10000"]),
        ("c1*|C2*", ["C10000", "C20000"]),
        ("c2*0*0", ["C20000"]),
        ("C20000..c40000", ["C20000", "C30000", "C40000"]),
        (">c30000", ["C40000", "C50000"]),
    ],
)
def test_normalized_text_matches_the_stored_form(customers, company, text, nos):
    assert _nos(NO, text, company) == nos


@pytest.mark.parametrize(
    ("text", "nos"),
    [
        ("all", ["C40000"]),
        ("All", ["C40000"]),
        ("SHIP|invoice", ["C20000", "C30000"]),
        ("''", ["C10000", "C50000"]),
        ("<>''", ["C20000", "C30000", "C40000"]),
        ("<>all", ["C10000", "C20000", "C30000", "C50000"]),
        ("<>''&<>all", ["C20000", "C30000"]),
        ("in*", ["C30000"]),
        ("x*", []),
    ],
)
def test_choice_matches_by_value_or_caption(customers, company, text, nos):
    assert _nos(BLOCKED, text, company) == nos


@pytest.mark.parametrize(
    ("text", "nos"),
    [
        ("1000", ["C10000"]),
        ("1,000.00", ["C10000"]),
        ("<>0", ["C10000", "C20000", "C40000", "C50000"]),
        (">1000", ["C20000", "C40000"]),
        (">=1000", ["C10000", "C20000", "C40000"]),
        ("<500", ["C30000"]),
        ("<=500", ["C30000", "C50000"]),
        ("500..25000.50", ["C10000", "C20000", "C50000"]),
        ("100000..", ["C40000"]),
        ("..0", ["C30000"]),
        ("0|125000", ["C30000", "C40000"]),
        (">0.001&<999.999", ["C50000"]),
        ("''", []),
    ],
)
def test_number(customers, company, text, nos):
    assert _nos(CREDIT_LIMIT, text, company) == nos


def test_integer(customers, company):
    pks = list(Customer.objects.filter(company=company).order_by("pk").values_list("pk", flat=True))

    assert _nos(ENTRY_NO, f"{pks[1]}..{pks[2]}", company) == ["C20000", "C30000"]
    assert _nos(ENTRY_NO, f"<>{pks[0]}&<{pks[3]}", company) == ["C20000", "C30000"]
    assert _nos(ENTRY_NO, f">{2**62}", company) == []


def test_boolean(company):
    ItemFactory(company=company, no="1000", blocked=True)
    ItemFactory(company=company, no="2000", blocked=False)

    def nos(text):
        rows = Item.objects.filter(company=company).filter(filter_q(text, ITEM_BLOCKED))
        return sorted(rows.values_list("no", flat=True))

    assert nos("yes") == nos("Yes") == nos("true") == nos("1") == ["1000"]
    assert nos("no") == nos("<>yes") == ["2000"]
    assert nos("yes|no") == ["1000", "2000"]


@pytest.fixture
def orders(company):
    today = timezone.localdate()
    rows = {}
    for no, order_date, due_date in [
        ("S1", datetime.date(2025, 1, 15), None),
        ("S2", datetime.date(2025, 2, 1), datetime.date(2025, 3, 3)),
        ("S3", today, today),
    ]:
        rows[no] = SalesOrderFactory(
            company=company, no=no, order_date=order_date, due_date=due_date
        )
    return rows


def _order_nos(field, text, company):
    rows = SalesOrder.objects.filter(company=company).filter(filter_q(text, field))
    return sorted(rows.values_list("no", flat=True))


@pytest.mark.parametrize(
    ("text", "nos"),
    [
        ("2025-01-15", ["S1"]),
        ("01/15/2025", ["S1"]),
        ("2025-01-01..2025-01-31", ["S1"]),
        ("2025-02-01..", ["S2", "S3"]),
        ("..2025-02-01", ["S1", "S2"]),
        (">2025-01-15&<t", ["S2"]),
        ("t", ["S3"]),
        ("TODAY|2025-01-15", ["S1", "S3"]),
        ("<>2025-01-15", ["S2", "S3"]),
    ],
)
def test_date(orders, company, text, nos):
    assert _order_nos(ORDER_DATE, text, company) == nos


def test_a_blank_date_is_no_date(orders, company):
    assert _order_nos(DUE_DATE, "''", company) == ["S1"]
    assert _order_nos(DUE_DATE, "<>''", company) == ["S2", "S3"]


def test_a_date_time_field_is_filtered_by_its_date(customers, company):
    today = timezone.localdate().isoformat()

    assert len(_nos(LAST_MODIFIED, today, company)) == 5
    assert _nos(LAST_MODIFIED, "<2000-01-01", company) == []


# -- Bad input, per type ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "text", "reason"),
    [
        (CREDIT_LIMIT, ">abc", "abc is not a number."),
        (CREDIT_LIMIT, "1e5", "1e5 is not a number."),
        (CREDIT_LIMIT, "NaN", "NaN is not a number."),
        (CREDIT_LIMIT, "1.2.3", "1.2.3 is not a number."),
        (CREDIT_LIMIT, "10*", "Wildcards (*) can only be used on text."),
        (CREDIT_LIMIT, "1" * 20, "is larger than any Credit Limit (LCY)."),
        (CREDIT_LIMIT, "0." + "1" * 12, "has more than 10 decimals."),
        (CREDIT_LIMIT, "500..100", "The range starts after it ends"),
        (CREDIT_LIMIT, "''..5", "A range cannot start or end with a blank value"),
        (CREDIT_LIMIT, ">''", "A blank value cannot be compared with >."),
        (ENTRY_NO, "1.5", "1.5 is not a whole number."),
        (ENTRY_NO, str(2**63), "is too large."),
        (ORDER_DATE, "yesterday", "yesterday is not a date"),
        (ORDER_DATE, "2025-02-30", "2025-02-30 is not a date"),
        (ORDER_DATE, "99999-01-01", "is not a date"),
        (BLOCKED, "sideways", "sideways is not an option. The options are: '' (blank)"),
        (BLOCKED, ">all", "Options can only be matched, not compared with >"),
        (BLOCKED, "a..z", "Options can only be matched"),
        (ITEM_BLOCKED, "maybe", "Type Yes or No, not maybe."),
        (ITEM_BLOCKED, "''", "Type Yes or No"),
        (ITEM_BLOCKED, ">no", "Yes/No fields cannot be compared with >."),
        (NAME, ">A*", "Wildcards (*) cannot be used with >."),
        (NAME, "A*..B", "A range cannot contain wildcards (*)."),
        (NAME, "*a*b*c*d*e*", "Use at most 4 wildcards (*) in one value."),
    ],
)
def test_it_explains_bad_values(field, text, reason):
    with pytest.raises(FilterError) as caught:
        filter_q(text, field)

    assert reason in str(caught.value)


def test_the_message_names_the_filter_and_the_field():
    with pytest.raises(FilterError) as caught:
        filter_q(">abc", CREDIT_LIMIT)

    assert describe_error(">abc", CREDIT_LIMIT, caught.value) == (
        "The filter '>abc' is not valid for Credit Limit (LCY): abc is not a number."
    )


# -- Any text at all ---------------------------------------------------------------------------

FIELDS = [NAME, NO, BLOCKED, CREDIT_LIMIT, ITEM_BLOCKED, ORDER_DATE, DUE_DATE, ENTRY_NO]
# Text made mostly of the characters the grammar cares about, so the parser's corners are hit.
EXPRESSIONS = st.text(
    alphabet=st.sampled_from("<>=.|&'*0123456789-/ ,abtyes") | st.characters(),
    max_size=60,
)


@settings(max_examples=400, deadline=None)
@given(text=EXPRESSIONS, field=st.sampled_from(FIELDS))
def test_any_text_either_filters_or_raises_the_filter_error(text, field):
    # Anything but FilterError escapes the suppress and fails the test.
    with contextlib.suppress(FilterError):
        filter_q(text, field)


@pytest.mark.django_db
@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    text=EXPRESSIONS,
    model_and_field=st.sampled_from(
        [
            (Customer, NAME),
            (Customer, NO),
            (Customer, BLOCKED),
            (Customer, CREDIT_LIMIT),
            (Customer, ENTRY_NO),
            (Item, ITEM_BLOCKED),
            (SalesOrder, ORDER_DATE),
            (SalesOrder, DUE_DATE),
        ]
    ),
)
def test_what_parses_the_database_can_run(text, model_and_field):
    model, field = model_and_field
    try:
        condition = filter_q(text, field)
    except FilterError:
        return
    assert model.objects.filter(condition).count() >= 0
