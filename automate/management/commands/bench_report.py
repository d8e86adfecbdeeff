"""``manage.py bench_report``: the figures of the last ``make bench``, next to their targets.

Reads what the bench commands wrote to var/bench/ (pages.json, engine-<database>.json,
triggers-<database>.json), prints one table, each figure with the database and the cores it
was measured on, and writes it to var/bench/summary.json. Figures a bench did not measure
(PostgreSQL when it was not reachable, say) are left out, not invented.
"""

from __future__ import annotations

import json
from pathlib import Path

from django.conf import settings
from django.core.management import BaseCommand

from bcsite.bench import fmt, write_report

LIST_AND_CARD = ("list", "card", "document")
FIGURE_WIDTH = 64


class Command(BaseCommand):
    help = "Summarise the benchmarks' JSON in var/bench/ as one table, against the targets."

    def add_arguments(self, parser):
        parser.add_argument("--dir", default=str(settings.VAR_DIR / "bench"))

    def handle(self, *args, **options):
        folder = Path(options["dir"])
        rows: list[dict] = []
        for path in sorted(folder.glob("engine-*.json")):
            rows += _engine(_load(path))
        for path in sorted(folder.glob("triggers-*.json")):
            rows += _triggers(_load(path))
        if (folder / "pages.json").exists():
            rows += _pages(_load(folder / "pages.json"))
        rows.sort(key=lambda row: (row["id"], row["database"]))
        self._print(rows)
        written = write_report(folder / "summary.json", {"benchmark": "summary", "rows": rows})
        self.stdout.write(f"Written to {written}")

    def _print(self, rows: list[dict]) -> None:
        write = self.stdout.write
        write(
            f"{'':2} {'figure':{FIGURE_WIDTH}} {'database':10} {'cores':>5} {'load':>5} "
            f"{'measured':>16} {'target':>16}"
        )
        for row in rows:
            met = "" if row["met"] is None else ("  met" if row["met"] else "  not met")
            load = fmt(row["load_average_1min"])
            write(
                f"{row['id']:2} {row['figure']:{FIGURE_WIDTH}} {row['database']:10} "
                f"{row['cores']:>5} {load:>5} {row['value']:>16} {row['target'] or '':>16}{met}"
            )
        write("load: the machine's 1-minute load average when the figure was measured.")


def _load(path: Path) -> dict:
    return json.loads(path.read_text())


def _row(report: dict, id_: str, figure: str, value: str, target: str = "", met=None) -> dict:
    return {
        "id": id_,
        "figure": figure,
        "database": report.get("database", "?"),
        "cores": report.get("cores", "?"),
        "value": value,
        "target": target,
        "met": met,
        "load_average_1min": report.get("load_average_1min"),
    }


def _engine(report: dict) -> list[dict]:
    rows = []
    for noop in report.get("noop", []):
        rows.append(
            _row(
                report,
                "a",
                f"no-op Celery tasks/s, {noop['workers']} worker(s)",
                fmt(noop["tasks_per_s"]),
            )
        )
    targets = report.get("targets", {})
    for run in report.get("flow_runs", []):
        rate, share = run["runs_per_s"], run.get("share_of_noop")
        want = targets.get("runs_per_s_postgresql", 250)
        want_share = targets.get("share_of_noop", 0.3)
        on_postgres = report.get("database") == "postgresql"
        met = None
        if rate is not None and share is not None:
            met = share >= want_share and (rate >= want or not on_postgres)
        rows.append(
            _row(
                report,
                "b",
                f"3-step flow runs/s, {run['workers']} worker(s) (share of a)",
                f"{fmt(rate)} ({fmt(share * 100 if share else None, 0)}%)"
                + (f", {run['unfinished_at_end']} unended" if run.get("unfinished_at_end") else ""),
                f">= {want}/s ({want_share:.0%})" if on_postgres else f">= {want_share:.0%} of a",
                met,
            )
        )
    statements = report.get("statements")
    if statements:
        rows.append(
            _row(
                report,
                "b",
                "SQL statements: delivery + run of one event",
                f"{statements['delivery']} + {statements['run']}",
            )
        )
        if statements.get("tasks"):
            rows.append(_row(report, "b", "Celery tasks per run", f"{statements['tasks']}"))
    instant = {row["stage"]: row for row in report.get("instant", {}).get("stages", [])}
    done = instant.get("click -> run finished")
    if done:
        rows.append(
            _row(
                report,
                "d",
                "instant flow: click -> run finished, p50/p95 ms",
                f"{fmt(done['p50_ms'])} / {fmt(done['p95_ms'])}",
            )
        )
    return rows


def _triggers(report: dict) -> list[dict]:
    stages = {row["stage"]: row for row in report.get("results", [])}
    start = stages.get("commit -> run started")
    if not start:
        return []
    p95 = start["p95_ms"]
    return [
        _row(
            report,
            "c",
            f"event -> run start p50/p95 ms at {report['rate_per_s']:g}/s",
            f"{fmt(start['p50_ms'])} / {fmt(p95)}",
            "p95 <= 100 ms",
            None if p95 is None else p95 <= 100,
        )
    ]


def _pages(report: dict) -> list[dict]:
    rows = []
    volume = report.get("rows", {})
    at = f"{volume.get('sales orders', 0):,} orders"
    for result in report.get("results", []):
        if not any(word in result["page"] for word in LIST_AND_CARD):
            continue
        rows.append(
            _row(
                report,
                "e",
                f"{result['page']}, p50/p95 ms (queries)",
                f"{fmt(result['p50_ms'])} / {fmt(result['p95_ms'])} ({result['queries']})",
                f"p95 <= 50 ms at {at}",
                result["p95_ms"] <= 50,
            )
        )
    for result in report.get("http", []):
        rows.append(
            _row(
                report,
                "f",
                f"{result['target']}, requests/s over gunicorn",
                fmt(result["requests_per_s"]),
            )
        )
    return rows
