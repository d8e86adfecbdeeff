"""Keyset paging: every row once, in order, also under ties and NULLs; bounded counts."""

import base64
import datetime
import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from bcsite.pages.base import resolve_model_field
from bcsite.pages.paging import (
    MAX_TOKEN_LENGTH,
    Cursor,
    InvalidCursor,
    KeysetPage,
    Sort,
    bounded_count,
    paginate,
)
from records.models import Customer, SalesOrder
from tests.factories import CustomerFactory, SalesOrderFactory


def _sort(model, param):
    path = param.lstrip("-")
    return Sort(path, param.startswith("-"), resolve_model_field(model, path))


def _walk_forward(queryset, sort, size):
    """All pages from the first, following next cursors."""
    pages = [paginate(queryset, sort, size=size)]
    while pages[-1].next_cursor:
        pages.append(paginate(queryset, sort, size=size, after=pages[-1].next_cursor))
    return pages


def _walk_back(queryset, sort, size, last: KeysetPage):
    pages = [last]
    while pages[-1].previous_cursor:
        pages.append(paginate(queryset, sort, size=size, before=pages[-1].previous_cursor))
    return pages[::-1]


def _pks(pages):
    return [row.pk for page in pages for row in page.rows]


@pytest.fixture
def customers(company):
    """Eleven customers in three cities, so sorting by city has long runs of ties."""
    cities = ["Miami", "Atlanta", "Chicago", "Atlanta", "Miami", "Atlanta", "Chicago"] + [
        "Atlanta"
    ] * 4
    return [CustomerFactory(company=company, city=city) for city in cities]


@pytest.mark.parametrize("param", ["city", "-city", "no", "-no", "pk", "-pk"])
def test_paging_visits_every_row_once_in_order_even_with_ties(customers, param):
    queryset = Customer.objects.all()
    sort = _sort(Customer, param)
    expected = list(queryset.order_by(*sort.order_by()).values_list("pk", flat=True))

    pages = _walk_forward(queryset, sort, size=3)

    assert _pks(pages) == expected
    assert [len(p.rows) for p in pages] == [3, 3, 3, 2]
    assert pages[0].is_first and not pages[1].is_first


@pytest.mark.parametrize("param", ["city", "-city"])
def test_previous_pages_are_the_pages_seen_going_forward(customers, param):
    queryset = Customer.objects.all()
    sort = _sort(Customer, param)
    forward = _walk_forward(queryset, sort, size=3)

    backward = _walk_back(queryset, sort, size=3, last=forward[-1])

    assert [[r.pk for r in p.rows] for p in backward] == [[r.pk for r in p.rows] for p in forward]
    assert backward[0].previous_cursor is None


def test_previous_from_the_second_page_is_a_full_first_page(customers):
    queryset = Customer.objects.all()
    sort = _sort(Customer, "no")
    first = paginate(queryset, sort, size=4)
    # A second page that starts after the first row only: fewer than a page lies before it.
    second = paginate(
        queryset, sort, size=4, after=Cursor(first.rows[0].no, first.rows[0].pk).encode()
    )

    previous = paginate(queryset, sort, size=4, before=second.previous_cursor)

    assert [r.pk for r in previous.rows] == [r.pk for r in first.rows]
    assert previous.is_first


@pytest.mark.parametrize("param", ["due_date", "-due_date"])
def test_nulls_come_last_in_both_directions_and_are_paged_through(company, param):
    today = datetime.date(2025, 1, 15)
    dates = [today, None, today, today + datetime.timedelta(days=3), None, None, today]
    for due in dates:
        SalesOrderFactory(company=company, due_date=due)
    queryset = SalesOrder.objects.all()
    sort = _sort(SalesOrder, param)

    pages = _walk_forward(queryset, sort, size=2)
    rows = [row for page in pages for row in page.rows]

    assert len(rows) == len(dates) == len({r.pk for r in rows})
    values = [r.due_date for r in rows]
    assert values[-3:] == [None, None, None]
    non_null = values[:-3]
    assert non_null == sorted(non_null, reverse=param.startswith("-"))
    back = _walk_back(queryset, sort, size=2, last=pages[-1])
    assert _pks(back) == _pks(pages)


def test_paging_filters_on_the_cursor_not_an_offset(customers):
    queryset = Customer.objects.all()
    sort = _sort(Customer, "city")
    first = paginate(queryset, sort, size=3)

    with CaptureQueriesContext(connection) as queries:
        paginate(queryset, sort, size=3, after=first.next_cursor)

    assert len(queries) == 1
    sql = queries[0]["sql"].upper()
    assert "OFFSET" not in sql
    assert "LIMIT 4" in sql


@pytest.mark.parametrize(
    "token",
    # not base64; {}; ["x","y"]; ["x",true]; [1]; ["x", 10**30]
    ["not base64!", "e30", "WyJ4IiwieSJd", "WyJ4Iix0cnVlXQ", "WzFd", Cursor("x", 10**30).encode()],
)
def test_a_cursor_that_was_not_handed_out_is_refused(customers, token):
    sort = _sort(Customer, "-pk")
    with pytest.raises(InvalidCursor):
        paginate(Customer.objects.all(), sort, size=3, after=token)


def test_a_date_cursor_with_a_bad_date_is_refused(company):
    SalesOrderFactory(company=company)
    sort = _sort(SalesOrder, "order_date")
    token = Cursor(value="2025-13-45", pk=1).encode()

    with pytest.raises(InvalidCursor):
        paginate(SalesOrder.objects.all(), sort, size=3, after=token)


def test_bounded_count_stops_at_the_limit(customers):
    assert bounded_count(Customer.objects.all(), 5) == (5, True)
    assert bounded_count(Customer.objects.all(), 11) == (11, False)
    assert bounded_count(Customer.objects.all(), 100) == (11, False)


def test_bounded_count_never_counts_the_whole_table(customers):
    with CaptureQueriesContext(connection) as queries:
        bounded_count(Customer.objects.filter(city="Atlanta"), 3)

    assert "LIMIT 4" in queries[0]["sql"].upper()


def _unsigned(raw: str) -> str:
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def test_a_deeply_nested_cursor_is_refused_not_a_crash(customers):
    token = _unsigned("[" * 1200 + "1" + "]" * 1200)
    with pytest.raises(InvalidCursor):
        paginate(Customer.objects.all(), _sort(Customer, "name"), size=3, after=token)
    assert len(token) > MAX_TOKEN_LENGTH


def test_only_cursors_handed_out_under_the_same_salt_decode(customers):
    sort = _sort(Customer, "city")
    first = paginate(Customer.objects.all(), sort, size=3, salt="customer_list:city")
    forged = _unsigned(json.dumps(["Atlanta", customers[0].pk]))

    second = paginate(
        Customer.objects.all(), sort, size=3, after=first.next_cursor, salt="customer_list:city"
    )

    assert second.rows
    for token, salt in [(first.next_cursor, "customer_list:-city"), (forged, "")]:
        with pytest.raises(InvalidCursor):
            paginate(Customer.objects.all(), sort, size=3, after=token, salt=salt)
    assert len(first.next_cursor) < 120


@pytest.mark.parametrize("value", ["a\x00b", "\ud800", ["x"], {"x": 1}])
@pytest.mark.parametrize("param", ["name", "no"])
@pytest.mark.parametrize("direction", ["after", "before"])
def test_a_cursor_value_no_column_can_hold_is_refused(customers, value, param, direction):
    token = Cursor(value=value, pk=1).encode()
    with pytest.raises(InvalidCursor):
        paginate(Customer.objects.all(), _sort(Customer, param), size=3, **{direction: token})


@pytest.mark.parametrize("param", ["city", "-city", "no", "-pk"])
def test_when_nothing_follows_the_cursor_the_last_page_up_to_it_is_shown(customers, param):
    queryset = Customer.objects.all()
    sort = _sort(Customer, param)
    pages = _walk_forward(queryset, sort, size=3)
    # The rows of the last page go away (deleted, or no longer matching the filter).
    Customer.objects.filter(pk__in=[r.pk for r in pages[-1].rows]).delete()

    shown = paginate(queryset, sort, size=3, after=pages[-2].next_cursor)

    assert [r.pk for r in shown.rows] == [r.pk for r in pages[-2].rows]
    assert shown.next_cursor is None
    back = paginate(queryset, sort, size=3, before=shown.previous_cursor)
    assert [r.pk for r in back.rows] == [r.pk for r in pages[-3].rows]


def test_when_nothing_follows_a_cursor_on_the_first_page_that_page_is_shown(customers):
    queryset = Customer.objects.all()
    sort = _sort(Customer, "no")
    first = paginate(queryset, sort, size=20)
    middle = first.rows[5]
    Customer.objects.filter(no__gt=middle.no).delete()

    shown = paginate(queryset, sort, size=20, after=Cursor(middle.no, middle.pk).encode())

    assert [r.pk for r in shown.rows] == [r.pk for r in first.rows[:6]]
    assert shown.is_first and shown.next_cursor is None


def test_when_nothing_follows_a_null_cursor_the_nulls_up_to_it_are_shown(company):
    orders = [SalesOrderFactory(company=company, due_date=None) for _ in range(5)]
    queryset = SalesOrder.objects.all()
    sort = _sort(SalesOrder, "due_date")
    SalesOrder.objects.filter(pk=orders[-1].pk).delete()

    shown = paginate(queryset, sort, size=2, after=Cursor(None, orders[3].pk).encode())

    assert [r.pk for r in shown.rows] == [orders[2].pk, orders[3].pk]
    assert shown.previous_cursor is not None
