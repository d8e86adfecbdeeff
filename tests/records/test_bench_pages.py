import json

import pytest
from django.core.management import call_command

from tests.workers import use_file_database

# gunicorn opens the test database from its own processes, so it must be a file.
use_file_database()


def test_bench_pages_measures_every_page_and_writes_json(db, tmp_path, capsys):
    output = tmp_path / "pages.json"
    call_command(
        "bench_pages", orders=250, customers=60, samples=2, http_seconds=0, output=str(output)
    )
    report = json.loads(output.read_text())
    assert report["rows"] == {"sales orders": 250, "customers": 60}
    assert {r["page"] for r in report["results"]} >= {
        "sales order list, middle page",
        "sales order document",
        "role centre",
    }
    assert all(r["p95_ms"] >= r["p50_ms"] > 0 and r["queries"] > 0 for r in report["results"])
    assert report["http"] == []
    assert report["cores"] > 0 and report["database"] in ("sqlite", "postgresql")
    assert "sales order list, first page" in capsys.readouterr().out


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_it_measures_the_list_over_gunicorn_signed_in(tmp_path, capsys):
    output = tmp_path / "pages.json"
    call_command(
        "bench_pages",
        orders=120,
        customers=30,
        samples=1,
        http_seconds=1.5,
        http_clients=2,
        output=str(output),
    )
    [row] = json.loads(output.read_text())["http"]
    # Every answer counted was a 200 of the signed-in list, none failed.
    assert row["url"] == "/sales-orders/" and row["errors"] == 0
    assert row["requests"] > 0 and row["requests_per_s"] > 0
    assert 0 < row["p50_ms"] <= row["p95_ms"]
    assert "requests/s" in capsys.readouterr().out
