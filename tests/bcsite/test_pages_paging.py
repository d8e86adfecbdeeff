"""Keyset paging: every row once, in order, also under ties and NULLs; bounded counts."""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from bcsite.pages.base import resolve_model_field
from bcsite.pages.paging import (
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
