"""``manage.py chaos``: event-triggered runs while workers are killed and Redis restarts.

On the database that DATABASE_URL names, with the demo company (``seed_demo``):

1. Start a private Redis (never the one other processes use) and ``--workers`` Celery
   worker processes on it, with a short run lease and redispatch time so that recovery
   shows within the test.
2. Create the chaos flow: on a customer's city changing, get the customer, compose,
   update the customer's address, then create a *ledger row* (a customer named
   "Chaos ledger <the change's mark>"). Creating a row is not idempotent: done twice, it
   leaves two rows, which is what the check looks for.
3. Change ``--runs`` customers (each once, each in its own transaction) at ``--rate`` a
   second. Meanwhile, at random moments: SIGKILL a worker ``--kills`` times (the whole
   worker with its children, or only the child running a task), and kill Redis and start
   it again (empty, as after a crash) ``--redis-restarts`` times. Like a process
   supervisor, the harness starts a new worker for each one that has gone; like beat, it
   runs the engine's tick every second.
4. Wait for the runs, then check: every event has exactly one run, every run has finished
   and succeeded with its four steps, every change's ledger row exists exactly once and
   every customer's address shows its change.

Prints what happened and the checks, writes JSON to var/bench/chaos-<database>.json, and
fails when a check fails.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections import Counter
from pathlib import Path

from django.conf import settings
from django.core.management import BaseCommand, CommandError
from django.db import connection
from django.db.models import Count, Max, Q, Sum

from automate.engine.runner import automate_tick
from automate.management.commands import _engine_bench as engine
from automate.models import FlowRun, RunStatus, StepRun, StepStatus, TriggerEvent
from bcsite.bench import (
    PrivateRedis,
    WorkerPool,
    database_url,
    machine,
    publishing_to,
    routed_to,
    write_report,
)
from records.models import Customer

FLOW_NAME = "Chaos: ledger on a modified customer"
LEDGER = "Chaos ledger "
TICK_SECONDS = 1.0
REDIS_DOWN_SECONDS = 2.0
QUIET_LOGGERS = ("automate.services.runs", "automate.services.triggers")


def chaos_definition() -> dict:
    definition = engine.three_steps(trigger=engine.MODIFIED_CITY)
    definition["steps"].append(
        {
            "name": "Create_ledger_row",
            "type": "business_central.create_record",
            "inputs": {
                "table": engine.CUSTOMERS,
                "fields": {"displayName": LEDGER + "@{triggerBody()?['city']}"},
            },
        }
    )
    return definition


class Command(BaseCommand):
    help = (
        "Event-triggered runs while workers are SIGKILLed and Redis restarts; checks that "
        "every event ran once, every run finished, and no side effect happened twice."
    )

    def add_arguments(self, parser):
        parser.add_argument("--runs", type=int, default=1000)
        parser.add_argument("--kills", type=int, default=5)
        parser.add_argument("--redis-restarts", type=int, default=1)
        parser.add_argument("--workers", type=int, default=2)
        parser.add_argument("--rate", type=float, default=40.0, help="changes a second")
        parser.add_argument("--lease", type=int, default=10, help="run lease, seconds")
        parser.add_argument("--redispatch", type=int, default=5, help="redispatch after, s")
        parser.add_argument("--timeout", type=float, default=300.0, help="seconds to wait")
        parser.add_argument("--seed", type=int, default=None)
        parser.add_argument("--output", default="")

    def handle(self, *args, **options):
        runs, workers = options["runs"], options["workers"]
        if runs < 1 or workers < 1 or options["rate"] <= 0 or options["kills"] < 0:
            raise CommandError("--runs, --workers and --rate must be above 0, --kills 0 or more.")
        if options["redis_restarts"] < 0 or options["lease"] < 3 or options["redispatch"] < 1:
            raise CommandError("--lease must be at least 3 s and --redispatch at least 1 s.")
        seed = options["seed"] if options["seed"] is not None else random.randrange(10**6)
        rng = random.Random(seed)
        output = Path(
            options["output"] or settings.VAR_DIR / "bench" / f"chaos-{connection.vendor}.json"
        )
        logs = output.parent / "logs"
        # The harness's own tick hands on runs and events as the workers' settings say.
        settings.AUTOMATE_RUN_LEASE_SECONDS = options["lease"]
        settings.AUTOMATE_REDISPATCH_AFTER = options["redispatch"]

        company, user = engine.demo(customers=runs)
        customers = engine.customers_to_change(company, runs)
        if len(customers) < runs:
            raise CommandError(f"Only {len(customers)} customers to change, {runs} needed.")
        flow = engine.fresh_flow(company, user, FLOW_NAME, chaos_definition())
        mark = engine.tag()
        window = runs / options["rate"]
        faults = sorted(
            [(rng.uniform(0.05, 1.0) * window, "kill") for _ in range(options["kills"])]
            + [
                (rng.uniform(0.25, 0.75) * window, "redis")
                for _ in range(options["redis_restarts"])
            ]
        )
        redis_server = PrivateRedis(logs / "chaos-redis.log")
        redis_server.start()
        pool = WorkerPool(
            count=workers,
            database_url=database_url(),
            log_dir=logs,
            name="chaos",
            broker_url=redis_server.url,
            loglevel="INFO",
            env={
                "AUTOMATE_RUN_LEASE_SECONDS": str(options["lease"]),
                "AUTOMATE_REDISPATCH_AFTER": str(options["redispatch"]),
            },
        )
        # While Redis is down every dispatch logs a warning with kombu's traceback: that is
        # the fault at work, not news. The checks at the end say what matters.
        for name in QUIET_LOGGERS:
            logging.getLogger(name).setLevel(logging.ERROR)
        harness = _Harness(pool, redis_server, rng, faults)
        started = time.monotonic()
        try:
            with publishing_to(redis_server.url), routed_to(pool.queue):
                pool.start()
                harness.begin()
                for n, customer in enumerate(customers):
                    harness.until(n / options["rate"])
                    engine.change(customer, user, f"C{mark}-{n:05}")
                harness.until(window)
                harness.end()
                unfinished = engine.wait_for_runs(flow, runs, options["timeout"], tick=harness.step)
        finally:
            harness.stopping.set()
            harness.faults.clear()
            pool.stop()
            redis_server.stop()
        seconds = time.monotonic() - started
        checks, counts = _check(flow, customers, mark, runs)
        report = {
            "benchmark": "chaos",
            **machine(),
            "seed": seed,
            "mark": mark,
            "flow_id": flow.pk,
            "runs": runs,
            "workers": workers,
            "rate_per_s": options["rate"],
            "lease_s": options["lease"],
            "redispatch_s": options["redispatch"],
            "seconds": round(seconds, 1),
            "unfinished_at_timeout": unfinished,
            "faults": harness.done,
            "worker_restarts": pool.restarts,
            "counts": counts,
            "checks": checks,
            "passed": all(check["ok"] for check in checks),
        }
        self._print(report)
        self.stdout.write(f"Written to {write_report(output, report)}")
        if not report["passed"]:
            raise CommandError(f"Chaos checks failed; the workers' logs are in {logs}.")

    def _print(self, report: dict) -> None:
        write = self.stdout.write
        write(
            f"Chaos on {report['database']}, {report['cores']} cores, {report['workers']} "
            f"workers: {report['runs']} runs in {report['seconds']} s (seed {report['seed']})"
        )
        for fault in report["faults"]:
            write(f"  {fault['at_s']:7.1f} s  {fault['what']}")
        write(f"  workers restarted: {report['worker_restarts']}")
        counts = report["counts"]
        write(
            "  runs by status: "
            + ", ".join(f"{k} {v}" for k, v in sorted(counts["runs_by_status"].items()))
        )
        write(
            f"  deliveries: {counts['deliveries']} for {counts['runs']} runs, "
            f"{counts['lost_deliveries']} lost to a dead worker"
        )
        for check in report["checks"]:
            write(f"  [{'ok' if check['ok'] else 'FAILED'}] {check['check']}: {check['detail']}")


class _Harness:
    """Injects the faults on their schedule and restarts gone workers, in a thread of its
    own, so a change or a tick waiting on the broker never delays a fault; the main thread
    makes the changes and ticks (``step``)."""

    def __init__(self, pool: WorkerPool, redis_server: PrivateRedis, rng, faults):
        self.pool = pool
        self.redis = redis_server
        self.rng = rng
        self.faults = list(faults)
        self.done: list[dict] = []
        self.start = time.monotonic()
        self.next_tick = 0.0
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._run, name="chaos-faults", daemon=True)

    def begin(self) -> None:
        self.start = time.monotonic()
        self.thread.start()

    def end(self) -> None:
        """Stop injecting; Redis is up and every worker running when it returns."""
        self.stopping.set()
        self.thread.join()

    def now(self) -> float:
        return time.monotonic() - self.start

    def until(self, moment: float) -> None:
        """Tick until ``moment`` seconds after the start."""
        while True:
            self.step()
            left = moment - self.now()
            if left <= 0:
                return
            time.sleep(min(0.01, left))

    def step(self) -> None:
        if self.now() >= self.next_tick:
            self.next_tick = self.now() + TICK_SECONDS
            automate_tick()

    def _run(self) -> None:
        redis_back_at = None
        while True:
            now = self.now()
            if redis_back_at is not None and now >= redis_back_at:
                self.redis.start()
                redis_back_at = None
                self._note("Redis started again (empty)")
            if redis_back_at is None:
                restarted = self.pool.restart_exited()
                if restarted:
                    self._note(f"{restarted} worker(s) gone: started again")
                if self.stopping.is_set() and not self.faults:
                    return
            if self.faults and self.faults[0][0] <= now:
                kind = self.faults.pop(0)[1]
                if kind == "redis":
                    self.redis.stop()
                    redis_back_at = now + REDIS_DOWN_SECONDS
                    self._note("Redis killed")
                else:
                    self._kill()
            time.sleep(0.05)

    def _kill(self) -> None:
        alive = self.pool.alive()
        if not alive:
            self._note("kill skipped: no worker alive")
            return
        whole = self.rng.random() < 0.5
        self._note("SIGKILL " + self.pool.kill(self.rng.choice(alive), whole=whole))

    def _note(self, what: str) -> None:
        self.done.append({"at_s": round(self.now(), 2), "what": what})


def _check(flow, customers, mark: str, runs: int) -> tuple[list[dict], dict]:
    events = TriggerEvent.objects.filter(flow=flow)
    flow_runs = FlowRun.objects.filter(flow=flow)
    statuses = Counter(flow_runs.values_list("status", flat=True))
    event_statuses = Counter(events.values_list("status", flat=True))
    run_ids = list(events.values_list("run_id", flat=True))
    started = [pk for pk in run_ids if pk is not None]
    steps = (
        StepRun.objects.filter(run__flow=flow)
        .values("run_id")
        .annotate(n=Count("pk"), ok=Count("pk", filter=Q(status=StepStatus.SUCCEEDED)))
    )
    bad_steps = [row["run_id"] for row in steps if row["n"] != 4 or row["ok"] != 4]
    marks = [f"C{mark}-{n:05}" for n in range(runs)]
    ledger = Counter(
        Customer.objects.filter(name__startswith=f"{LEDGER}C{mark}-").values_list("name", flat=True)
    )
    twice = sorted(name for name, n in ledger.items() if n > 1)
    missing = [m for m in marks if ledger[LEDGER + m] == 0]
    addresses = dict(
        Customer.objects.filter(pk__in=[c.pk for c in customers]).values_list("pk", "address")
    )
    not_updated = [
        c.pk for n, c in enumerate(customers) if addresses.get(c.pk) != f"Seen C{mark}-{n:05}"
    ]
    failed = list(
        flow_runs.exclude(status=RunStatus.SUCCEEDED).values_list("pk", "status", "error")[:5]
    )
    checks = [
        _ok(
            "one event per change",
            events.count() == runs,
            f"{events.count()} events for {runs} changes",
        ),
        _ok(
            "every event started a run",
            event_statuses == Counter({TriggerEvent.Status.STARTED: runs}),
            dict(event_statuses),
        ),
        _ok(
            "exactly one run per event",
            len(started) == len(set(started)) == flow_runs.count() == runs,
            f"{len(set(started))} distinct runs for {len(started)} started events, "
            f"{flow_runs.count()} runs in all",
        ),
        _ok(
            "every run finished and succeeded",
            statuses == Counter({RunStatus.SUCCEEDED: runs}),
            dict(statuses) if not failed else f"{dict(statuses)}; e.g. {failed}",
        ),
        _ok(
            "every run has its 4 steps, each succeeded once",
            not bad_steps and len(steps) == runs,
            f"{len(steps)} runs with steps, {len(bad_steps)} not as expected {bad_steps[:5]}",
        ),
        _ok(
            "no ledger row written twice",
            not twice,
            f"{len(twice)} written twice {twice[:5]}",
        ),
        _ok(
            "no ledger row missing",
            not missing,
            f"{len(missing)} missing {missing[:5]}",
        ),
        _ok(
            "every customer's update applied",
            not not_updated,
            f"{len(not_updated)} not updated",
        ),
    ]
    totals = flow_runs.aggregate(
        all_deliveries=Sum("deliveries"), lost=Sum("lost_deliveries"), most=Max("deliveries")
    )
    counts = {
        "events": events.count(),
        "runs": flow_runs.count(),
        "runs_by_status": dict(statuses),
        "deliveries": totals["all_deliveries"] or 0,
        "most_deliveries_of_a_run": totals["most"] or 0,
        "lost_deliveries": totals["lost"] or 0,
        "ledger_rows": sum(ledger.values()),
    }
    return checks, counts


def _ok(check: str, ok: bool, detail) -> dict:
    return {"check": check, "ok": bool(ok), "detail": str(detail)}
