import threading

import pytest
from django.core.exceptions import ValidationError
from django.db import connection

from records.models import NoSeries
from records.services import no_series_next
from records.services.no_series import increment_no
from tests.factories import CompanyFactory, NoSeriesFactory


@pytest.mark.parametrize(
    ("no", "by", "expected"),
    [
        ("C00010", 10, "C00020"),
        ("S-ORD101001", 1, "S-ORD101002"),
        ("C00099", 1, "C00100"),
        ("0009", 1, "0010"),
        ("999", 1, "1000"),
        ("PS-INV103001", 1, "PS-INV103002"),
        ("A1-B009-X", 1, "A1-B010-X"),
    ],
)
def test_increment_keeps_prefix_suffix_and_padding(no, by, expected):
    assert increment_no(no, by) == expected


def test_increment_refuses_a_number_without_digits():
    with pytest.raises(ValidationError, match="does not contain a number"):
        increment_no("ABC", 1, code="X")


def test_increment_refuses_to_grow_past_the_field_length():
    with pytest.raises(ValidationError, match="more than 20 characters"):
        increment_no("A" * 17 + "999", 1, code="X")


def test_it_starts_at_the_starting_no_then_increments(company):
    NoSeriesFactory(company=company, code="S-ORD", starting_no="S-ORD101001")
    assert no_series_next(company=company, code="S-ORD") == "S-ORD101001"
    assert no_series_next(company=company, code="S-ORD") == "S-ORD101002"
    assert NoSeries.objects.get(company=company, code="S-ORD").last_no_used == "S-ORD101002"


def test_it_continues_after_the_last_no_used(company):
    NoSeriesFactory(
        company=company, code="CUST", starting_no="C00010", last_no_used="C00090", increment_by=10
    )
    assert no_series_next(company=company, code="CUST") == "C00100"


@pytest.mark.parametrize(
    ("code", "first", "second"),
    [
        ("CUST", "C00010", "C00020"),
        ("ITEM", "1000", "1010"),
        ("S-ORD", "S-ORD101001", "S-ORD101002"),
        ("S-INV+", "PS-INV103001", "PS-INV103002"),
    ],
)
def test_it_creates_a_missing_series_from_the_defaults(company, code, first, second):
    assert no_series_next(company=company, code=code) == first
    assert no_series_next(company=company, code=code) == second
    assert NoSeries.objects.filter(company=company, code=code).count() == 1


def test_series_belong_to_their_company(company, other_company):
    assert no_series_next(company=company, code="CUST") == "C00010"
    assert no_series_next(company=company, code="CUST") == "C00020"
    assert no_series_next(company=other_company, code="CUST") == "C00010"


def test_it_refuses_an_unknown_code(company):
    with pytest.raises(ValidationError) as exc:
        no_series_next(company=company, code="NOPE")
    assert exc.value.messages == ["No. Series NOPE does not exist in company CRONUS."]
    assert not NoSeries.objects.exists()


def test_it_refuses_a_zero_increment(company):
    NoSeriesFactory(company=company, code="S-ORD", last_no_used="S-ORD1", increment_by=0)
    with pytest.raises(ValidationError, match=r"Increment-by No\. must be at least 1"):
        no_series_next(company=company, code="S-ORD")
    assert NoSeries.objects.get(company=company, code="S-ORD").last_no_used == "S-ORD1"


def _take_numbers_in_threads(take, threads: int, per_thread: int) -> list[str]:
    barrier = threading.Barrier(threads)
    results: list[str] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def worker():
        try:
            barrier.wait()
            for _ in range(per_thread):
                no = take()
                with lock:
                    results.append(no)
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    workers = [threading.Thread(target=worker) for _ in range(threads)]
    for thread in workers:
        thread.start()
    for thread in workers:
        thread.join()
    assert errors == []
    return results


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks need PostgreSQL")
def test_concurrent_takers_get_distinct_numbers():
    company = CompanyFactory(name="CONCURRENT")
    # No series yet: the threads also race to create it.
    numbers = _take_numbers_in_threads(
        lambda: no_series_next(company=company, code="S-ORD"), threads=6, per_thread=10
    )
    assert len(numbers) == 60
    assert len(set(numbers)) == 60
    assert sorted(numbers) == [f"S-ORD{101001 + n}" for n in range(60)]
    assert NoSeries.objects.get(company=company, code="S-ORD").last_no_used == "S-ORD101060"
