import json

from django.core.management import call_command


def test_bench_pages_measures_every_page_and_writes_json(db, tmp_path, capsys):
    output = tmp_path / "pages.json"
    call_command("bench_pages", orders=250, customers=60, samples=2, output=str(output))
    report = json.loads(output.read_text())
    assert report["rows"] == {"sales orders": 250, "customers": 60}
    assert {r["page"] for r in report["results"]} >= {
        "sales order list, middle page",
        "sales order document",
        "role centre",
    }
    assert all(r["p95_ms"] >= r["p50_ms"] > 0 and r["queries"] > 0 for r in report["results"])
    assert "sales order list, first page" in capsys.readouterr().out
