"""``manage.py bench_engine``: how fast the engine runs flows on real workers, against the
floor that Celery and Redis set on this machine.

On the database that DATABASE_URL names, with the demo company (``seed_demo``):

1. **No-op tasks**: tasks that do nothing, queued first, then run by 1 and by 2 worker
   processes; tasks a second from the first to the last. Nothing built on Celery here
   can beat it.
2. **Flow runs**: ``--runs`` customer changes, each in its own transaction, start the
   three-step flow (get the record, compose, update the record); the workers start once
   the changes have committed. Runs a second from the first event's delivery to the last
   run's end, with 1 and with 2 worker processes, and that rate as a share of (1).
3. **Statements**: the SQL statements one change, its delivery and its run cost, counted
   in this process, and the Celery tasks they take (the delivery task runs the run).
4. **Instant flow**: the same three steps as an instant flow, run ``--samples`` times from
   a customer card by a POST as the Run Flow pane sends it, with 2 workers; the time from
   the click to the run's start and to its end.

Prints a table and writes JSON to var/bench/engine-<database>.json.
"""

from __future__ import annotations

import time
from pathlib import Path
from urllib.parse import parse_qs, urlparse

from celery import signals
from django.conf import settings
from django.core.management import BaseCommand, CommandError
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from automate.engine.runner import flow_run_execute
from automate.management.commands import _engine_bench as engine
from automate.models import FlowRun, RunStatus, TriggerEvent
from automate.services.triggers import trigger_events_deliver_keeping_one
from bcsite.bench import (
    WorkerPool,
    check_broker,
    database_url,
    delete_queue,
    fmt,
    machine,
    noop_throughput,
    routed_to,
    spread,
    write_report,
)

FLOW_NAME = engine.BENCH_PREFIX + "three steps on a modified customer"
INSTANT_NAME = engine.BENCH_PREFIX + "three steps on the selected customer"
TARGET_RUNS_PER_S = 250
TARGET_SHARE_OF_NOOP = 0.30


class Command(BaseCommand):
    help = (
        "Engine throughput on real workers: no-op Celery tasks a second, flow runs a second "
        "(1 and 2 workers), statements per run, instant flow latency from the click."
    )

    def add_arguments(self, parser):
        parser.add_argument("--noop-tasks", type=int, default=3000)
        parser.add_argument("--runs", type=int, default=400, help="flow runs per measurement")
        parser.add_argument(
            "--workers", default="1,2", help="worker processes to measure with, e.g. 1,2"
        )
        parser.add_argument("--samples", type=int, default=30, help="instant flow runs")
        parser.add_argument(
            "--seconds",
            type=float,
            default=120.0,
            help="longest a flow-run measurement lasts; the rate counts the runs ended by then",
        )
        parser.add_argument("--output", default="")

    def handle(self, *args, **options):
        try:
            counts = [int(n) for n in options["workers"].split(",") if n.strip()]
        except ValueError:
            counts = []
        if not counts or min(counts) < 1 or options["runs"] < 1 or options["samples"] < 1:
            raise CommandError(
                "--workers must list worker counts of at least 1 (e.g. 1,2), and --runs and "
                "--samples must be at least 1."
            )
        if options["noop_tasks"] < 2 or options["seconds"] <= 0:
            raise CommandError("--noop-tasks must be at least 2 and --seconds above 0.")
        check_broker()
        url = database_url()
        output = Path(
            options["output"] or settings.VAR_DIR / "bench" / f"engine-{connection.vendor}.json"
        )
        logs = output.parent / "logs"
        company, user = engine.demo(customers=options["runs"])
        customers = engine.customers_to_change(company, options["runs"])

        noop = []
        for workers in counts:
            self.stdout.write(f"No-op tasks, {workers} worker(s)...")
            noop.append(noop_throughput(workers=workers, tasks=options["noop_tasks"], log_dir=logs))
        runs = []
        for workers in counts:
            self.stdout.write(f"Flow runs, {workers} worker(s)...")
            runs.append(
                self._flow_runs(
                    company,
                    user,
                    customers,
                    workers,
                    options["runs"],
                    options["seconds"],
                    url,
                    logs,
                )
            )
        floor = {row["workers"]: row["tasks_per_s"] for row in noop}
        for row in runs:
            base = floor.get(row["workers"])
            row["share_of_noop"] = (
                round(row["runs_per_s"] / base, 3) if base and row["runs_per_s"] else None
            )
        statements = self._statements(company, user, customers[0])
        self.stdout.write("Instant flow from the click...")
        instant = self._instant(company, user, customers, options["samples"], url, logs)
        report = {
            "benchmark": "engine",
            **machine(),
            "noop": noop,
            "flow_runs": runs,
            "statements": statements,
            "instant": instant,
            "targets": {
                "runs_per_s_postgresql": TARGET_RUNS_PER_S,
                "share_of_noop": TARGET_SHARE_OF_NOOP,
            },
        }
        self._print(report)
        self.stdout.write(f"Written to {write_report(output, report)}")

    # -- Flow runs a second ------------------------------------------------------------------

    def _flow_runs(self, company, user, customers, workers, count, seconds, url, logs) -> dict:
        """Runs a second over the runs that ended within ``seconds`` of the workers' start
        (all of them on a machine fast enough); the rest are left queued, their flow off."""
        flow = engine.fresh_flow(
            company, user, FLOW_NAME, engine.three_steps(trigger=engine.MODIFIED_CITY)
        )
        pool = WorkerPool(count=workers, database_url=url, log_dir=logs, name=f"runs{workers}")
        mark = engine.tag()
        try:
            with routed_to(pool.queue):
                for n in range(count):
                    engine.change(customers[n % len(customers)], user, f"B{mark}-{n}")
                pool.start()
                unfinished = engine.wait_for_runs(flow, count, seconds)
        finally:
            pool.stop()
            engine.turn_off(flow)
        runs = FlowRun.objects.filter(flow=flow)
        return {
            "workers": workers,
            **engine.throughput(flow),
            "succeeded": runs.filter(status=RunStatus.SUCCEEDED).count(),
            "unfinished_at_end": unfinished,
        }

    def _statements(self, company, user, customer) -> dict:
        """Statements of one change, its delivery and its run, executed here as the delivery
        task does them, and the Celery tasks that took: the tasks the change (and, should
        it queue any, the delivery) publish go to a queue nobody reads, and are deleted."""
        flow = engine.fresh_flow(
            company, user, FLOW_NAME, engine.three_steps(trigger=engine.MODIFIED_CITY)
        )
        queue = f"bcsite-statements-{engine.tag()}"
        published: list[str] = []

        def count(sender=None, **kwargs):
            published.append(sender)

        signals.before_task_publish.connect(count, weak=False)
        try:
            with routed_to(queue):
                with CaptureQueriesContext(connection) as change:
                    engine.change(customer, user, f"S{engine.tag()}")
                event = TriggerEvent.objects.filter(flow=flow).get()
                with CaptureQueriesContext(connection) as deliver:
                    delivered = trigger_events_deliver_keeping_one([event.pk])
                run_id = delivered.kept
                if run_id is None:
                    raise CommandError("The delivery started no run to count.")
                with CaptureQueriesContext(connection) as execute:
                    flow_run_execute(run_id=run_id)
            status = FlowRun.objects.filter(pk=run_id).values_list("status", flat=True)[0]
        finally:
            signals.before_task_publish.disconnect(count)
            delete_queue(queue)
            engine.turn_off(flow)
        if status != RunStatus.SUCCEEDED:
            raise CommandError(f"The run counted for its statements ended {status}.")
        return {
            "change": len(change),
            "delivery": len(deliver),
            "run": len(execute),
            "delivery_and_run": len(deliver) + len(execute),
            # Each published task is one a worker takes: the delivery's, and any the
            # delivery or the run queued.
            "tasks": len(published),
        }

    # -- Instant flow latency ----------------------------------------------------------------

    def _instant(self, company, user, customers, samples, url, logs) -> dict:
        engine.automated_off(company)
        flow = engine.fresh_flow(
            company,
            user,
            INSTANT_NAME,
            engine.three_steps(trigger={"type": "selected_record", "table": 18, "inputs": []}),
        )
        settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
        client = Client()
        client.force_login(user)
        pool = WorkerPool(count=2, database_url=url, log_dir=logs, name="instant")
        pool.start()
        post, started, finished = [], [], []
        try:
            with routed_to(pool.queue):
                for n in range(samples + 1):
                    customer = customers[n % len(customers)]
                    action = reverse(
                        "page-action", args=["customers", customer.pk, f"run-flow-{flow.pk}"]
                    )
                    clicked = timezone.now()
                    t0 = time.perf_counter()
                    response = client.post(action, {"confirmed": "1"})
                    answered = (time.perf_counter() - t0) * 1000
                    if response.status_code != 302:
                        raise CommandError(f"The Run Flow POST answered {response.status_code}.")
                    run = _finished(_run_id(response["Location"]))
                    if n == 0:
                        continue  # the first warms the workers' caches
                    post.append(answered)
                    started.append((run.started_at - clicked).total_seconds() * 1000)
                    finished.append((run.finished_at - clicked).total_seconds() * 1000)
        finally:
            pool.stop()
        return {
            "workers": 2,
            "samples": samples,
            "stages": [
                {"stage": "click -> page answered", **spread(post)},
                {"stage": "click -> run started", **spread(started)},
                {"stage": "click -> run finished", **spread(finished)},
            ],
        }

    # -- The table ---------------------------------------------------------------------------

    def _print(self, report: dict) -> None:
        write = self.stdout.write
        where = f"{report['database']}, {report['cores']} cores"
        write(f"Engine on {where}")
        write(f"{'measure':44} {'workers':>7} {'per s':>9} {'share':>7}")
        for row in report["noop"]:
            write(f"{'no-op Celery tasks':44} {row['workers']:>7} {fmt(row['tasks_per_s']):>9}")
        for row in report["flow_runs"]:
            share = fmt(row["share_of_noop"] * 100 if row["share_of_noop"] else None) + "%"
            write(
                f"{'3-step flow runs on record changes':44} {row['workers']:>7} "
                f"{fmt(row['runs_per_s']):>9} {share:>7}"
            )
        s = report["statements"]
        write(
            f"Statements: {s['change']} per change, {s['delivery']} per delivery, "
            f"{s['run']} per run; {s['tasks']} Celery task(s) per run."
        )
        write(f"{'instant flow, 2 workers':32} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8}")
        for row in report["instant"]["stages"]:
            write(
                f"{row['stage']:32} {fmt(row['p50_ms']):>8} {fmt(row['p95_ms']):>8} "
                f"{fmt(row['max_ms']):>8}"
            )


def _run_id(location: str) -> int:
    try:
        return int(parse_qs(urlparse(location).query)["run"][0])
    except (KeyError, IndexError, ValueError):
        raise CommandError(
            f"The Run Flow POST did not open a run's progress ({location})."
        ) from None


def _finished(run_id: int, timeout: float = 30.0) -> FlowRun:
    deadline = time.monotonic() + timeout
    while True:
        run = FlowRun.objects.only("status", "started_at", "finished_at").get(pk=run_id)
        if run.is_finished:
            if run.status != RunStatus.SUCCEEDED:
                raise CommandError(f"The instant run {run_id} ended {run.status}.")
            return run
        if time.monotonic() > deadline:
            raise CommandError(f"The instant run {run_id} did not finish in {timeout:g} s.")
        time.sleep(0.002)
