import json

from django.core.management import call_command


def _write(folder, name, report):
    (folder / name).write_text(json.dumps(report))


def test_it_puts_each_figure_next_to_its_target_with_database_and_cores(tmp_path, capsys):
    base = {"cores": 2}
    _write(
        tmp_path,
        "engine-postgresql.json",
        {
            **base,
            "database": "postgresql",
            "noop": [{"workers": 2, "tasks_per_s": 1000.0}],
            "flow_runs": [{"workers": 2, "runs_per_s": 300.0, "share_of_noop": 0.3}],
            "statements": {"delivery": 10, "run": 40},
            "instant": {
                "stages": [{"stage": "click -> run finished", "p50_ms": 90.0, "p95_ms": 120.0}]
            },
            "targets": {"runs_per_s_postgresql": 250, "share_of_noop": 0.3},
        },
    )
    _write(
        tmp_path,
        "engine-sqlite.json",
        {
            **base,
            "database": "sqlite",
            "noop": [],
            "flow_runs": [{"workers": 1, "runs_per_s": 20.0, "share_of_noop": 0.1}],
        },
    )
    _write(
        tmp_path,
        "triggers-sqlite.json",
        {
            **base,
            "database": "sqlite",
            "rate_per_s": 20,
            "results": [{"stage": "commit -> run started", "p50_ms": 40.0, "p95_ms": 150.0}],
        },
    )
    _write(
        tmp_path,
        "pages.json",
        {
            **base,
            "database": "sqlite",
            "rows": {"sales orders": 100000},
            "results": [
                {"page": "customer card", "p50_ms": 10.0, "p95_ms": 20.0, "queries": 7},
                {"page": "role centre", "p50_ms": 10.0, "p95_ms": 90.0, "queries": 11},
            ],
            "http": [
                {"target": "sales order list page", "requests_per_s": 55.5},
                {"target": "API salesOrders, $top=50", "requests_per_s": 120.0},
                {"target": "API salesOrders, nextLink pages of 50", "requests_per_s": 1e3},
            ],
        },
    )

    call_command("bench_report", dir=str(tmp_path))

    rows = json.loads((tmp_path / "summary.json").read_text())["rows"]
    found = {(r["id"], r["database"], r["figure"]): r for r in rows}
    assert all(r["cores"] == 2 for r in rows)
    assert found[("a", "postgresql", "no-op Celery tasks/s, 2 worker(s)")]["value"] == "1,000.0"
    runs = found[("b", "postgresql", "3-step flow runs/s, 2 worker(s) (share of a)")]
    assert (runs["value"], runs["met"]) == ("300.0 (30%)", True)
    # On SQLite only the share of the floor is a target, and 10% misses it.
    assert found[("b", "sqlite", "3-step flow runs/s, 1 worker(s) (share of a)")]["met"] is False
    assert found[("c", "sqlite", "event -> run start p50/p95 ms at 20/s")]["met"] is False
    assert found[("e", "sqlite", "customer card, p50/p95 ms (queries)")]["met"] is True
    assert not any("role centre" in r["figure"] for r in rows)  # neither list nor card
    assert (
        found[("f", "sqlite", "sales order list page, requests/s over gunicorn")]["value"] == "55.5"
    )
    # The API's list has a row of its own, with no target to meet.
    api = found[("f", "sqlite", "API salesOrders, $top=50, requests/s over gunicorn")]
    assert (api["value"], api["target"], api["met"]) == ("120.0", "", None)
    walk = found[("f", "sqlite", "API salesOrders, nextLink pages of 50, requests/s over gunicorn")]
    assert walk["value"] == "1,000.0"
    out = capsys.readouterr().out
    assert "not met" in out and "postgresql" in out
    assert "API salesOrders, nextLink pages of 50, requests/s over gunicorn  sqlite" in out


def test_it_reports_nothing_it_did_not_measure(tmp_path, capsys):
    call_command("bench_report", dir=str(tmp_path))
    assert json.loads((tmp_path / "summary.json").read_text())["rows"] == []
