"""``manage.py bench_triggers``: how long an automated flow takes from a change to its run.

On the database that DATABASE_URL names, with the demo company (``seed_demo``):

1. Start ``--workers`` Celery worker processes (no beat) on a queue of this bench's own.
2. Create the three-step flow of ``bench_engine`` (get the customer, compose, update it)
   on a customer's city changing; the automated flows on customers that earlier benches
   left on are turned off first.
3. Change customers at ``--rate`` changes a second for ``--seconds``, each change in its
   own transaction, noting when each one committed.
4. Wait for the runs, then measure for each change, from its commit: the run queued (the
   event delivered), the run started, and the run finished.

Prints p50, p95 and max of each, with the throughput, and writes JSON to
var/bench/triggers-<database>.json.
"""

from __future__ import annotations

import datetime
import time
from pathlib import Path

from django.conf import settings
from django.core.management import BaseCommand, CommandError
from django.db import connection

from automate.management.commands import _engine_bench as engine
from automate.models import Flow, FlowRun, RunStatus, TriggerEvent
from bcsite.bench import (
    WorkerPool,
    check_broker,
    database_url,
    machine,
    routed_to,
    spread,
    write_report,
)

FLOW_NAME = engine.BENCH_PREFIX + "latency on a modified customer"
STAGES = (
    ("commit -> run queued", "queued"),
    ("commit -> run started", "started"),
    ("commit -> run finished", "finished"),
)


class Command(BaseCommand):
    help = (
        "Latency of automated flows on real workers: commit of a customer change -> run "
        "queued, started, finished (p50/p95/max), and the throughput."
    )

    def add_arguments(self, parser):
        parser.add_argument("--workers", type=int, default=2, help="worker processes")
        parser.add_argument("--rate", type=float, default=20.0, help="changes a second")
        parser.add_argument("--seconds", type=float, default=15.0, help="how long to change")
        parser.add_argument(
            "--drain",
            type=float,
            default=60.0,
            help="how long to wait for the runs after the last change",
        )
        parser.add_argument("--output", default="")

    def handle(self, *args, **options):
        workers, rate, seconds = options["workers"], options["rate"], options["seconds"]
        changes = round(rate * seconds)
        if workers < 1 or rate <= 0 or changes < 1 or options["drain"] <= 0:
            raise CommandError(
                "--workers must be at least 1, --drain above 0, and --rate times --seconds "
                "at least 1 change."
            )
        url = database_url()
        check_broker()
        company, user = engine.demo(customers=changes)
        customers = engine.customers_to_change(company, changes)
        flow = engine.fresh_flow(
            company, user, FLOW_NAME, engine.three_steps(trigger=engine.MODIFIED_CITY)
        )
        output = Path(
            options["output"] or settings.VAR_DIR / "bench" / f"triggers-{connection.vendor}.json"
        )
        log_dir = output.parent / "logs"
        pool = WorkerPool(count=workers, database_url=url, log_dir=log_dir, name="triggers")
        try:
            pool.start()
            with routed_to(pool.queue):
                commits = self._change(customers, user, changes, rate)
                unfinished = engine.wait_for_runs(flow, changes, options["drain"])
        finally:
            pool.stop()
            engine.turn_off(flow)
        report = _report(flow, commits, workers=workers, rate=rate, seconds=seconds)
        self._print(report)
        self.stdout.write(f"Written to {write_report(output, report)}")
        if unfinished:
            raise CommandError(
                f"{unfinished} of {changes} runs had not finished {options['drain']:g} s after "
                f"the last change; the workers' logs are in {log_dir}."
            )

    def _change(self, customers, user, changes: int, rate: float) -> list[datetime.datetime]:
        """Change a customer every 1/rate seconds, each in its own transaction; returns when
        each change committed (taken before the commit's dispatch to the workers)."""
        mark = engine.tag()
        commits: list[datetime.datetime] = []
        start = time.monotonic()
        for n in range(changes):
            delay = start + n / rate - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            customer = customers[n % len(customers)]
            commits.append(engine.change(customer, user, f"Bench {mark}-{n:06}"))
        return commits

    def _print(self, report: dict) -> None:
        self.stdout.write(
            f"Automated flow latency on {report['database']}, {report['cores']} cores, "
            f"{report['workers']} workers: {report['changes']} customer changes at "
            f"{report['rate_per_s']:g}/s for {report['seconds']:g} s"
        )
        self.stdout.write(f"{'stage':26} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8} {'runs':>6}")
        for row in report["results"]:
            p50, p95, top = (_ms(row[key]) for key in ("p50_ms", "p95_ms", "max_ms"))
            self.stdout.write(f"{row['stage']:26} {p50:>8} {p95:>8} {top:>8} {row['count']:>6}")
        self.stdout.write(
            f"Throughput: {report['throughput_runs_per_s']} runs/s finished, changes made at "
            f"{report['achieved_rate_per_s']}/s; {report['unfinished']} unfinished, "
            f"{report['skipped']} skipped."
        )


# -- Measuring ----------------------------------------------------------------------------


def _report(flow: Flow, commits: list, *, workers: int, rate: float, seconds: float) -> dict:
    """Latencies per change: its event is the flow's n-th, as the changes were made one
    after another from one process."""
    events = list(
        TriggerEvent.objects.filter(flow=flow)
        .order_by("pk")
        .values_list("delivered_at", "status", "run_id")
    )
    if len(events) != len(commits):
        raise CommandError(
            f"{len(commits)} changes wrote {len(events)} events; another process changed "
            "customers during the bench."
        )
    runs = {
        pk: (started, finished, status)
        for pk, started, finished, status in FlowRun.objects.filter(flow=flow).values_list(
            "pk", "started_at", "finished_at", "status"
        )
    }
    latencies: dict[str, list[float]] = {key: [] for _, key in STAGES}
    ends = []
    for committed, (delivered_at, status, run_id) in zip(commits, events, strict=True):
        started, finished, _ = runs.get(run_id, (None, None, None))
        for key, moment in (("queued", delivered_at), ("started", started), ("finished", finished)):
            if moment is not None and status == TriggerEvent.Status.STARTED:
                latencies[key].append((moment - committed).total_seconds() * 1000)
        if finished is not None:
            ends.append(finished)
    span = (max(ends) - commits[0]).total_seconds() if ends else 0
    made = (commits[-1] - commits[0]).total_seconds() if len(commits) > 1 else 0
    skipped = sum(1 for _, status, _ in events if status == TriggerEvent.Status.SKIPPED)
    return {
        "benchmark": "triggers",
        **machine(),
        "workers": workers,
        "rate_per_s": rate,
        "seconds": seconds,
        "changes": len(commits),
        "achieved_rate_per_s": round((len(commits) - 1) / made, 1) if made else None,
        "throughput_runs_per_s": round(len(ends) / span, 1) if span else None,
        "succeeded": sum(1 for *_, status in runs.values() if status == RunStatus.SUCCEEDED),
        "skipped": skipped,
        "unfinished": len(commits) - len(ends) - skipped,
        "results": [_stage(label, latencies[key]) for label, key in STAGES],
    }


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def _stage(label: str, values: list[float]) -> dict:
    return {"stage": label, **spread(values)}
