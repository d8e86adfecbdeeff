"""``manage.py bench_triggers``: how long an automated flow takes from a change to its run.

On the database that DATABASE_URL names, with the demo company (``seed_demo``):

1. Start ``--workers`` Celery worker processes (no beat) on a queue of this bench's own.
2. Create the flow "When a record is modified" on customers, with one Compose step (the
   flow an earlier bench left is deleted first, with its runs).
3. Change customers at ``--rate`` changes a second for ``--seconds``, each change in its
   own transaction, noting when each one committed.
4. Wait for the runs, then measure for each change, from its commit: the run queued (the
   event delivered), the run started, and the run finished.

Prints p50, p95 and max of each, with the throughput, and writes JSON to var/bench/.
"""

from __future__ import annotations

import datetime
import io
import json
import os
import platform
import statistics
import subprocess
import sys
import time
import uuid
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

import redis
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import BaseCommand, CommandError, call_command
from django.db import connection, transaction
from django.utils import timezone

from automate.models import FINISHED_RUN_STATUSES, Flow, FlowRun, RunStatus, TriggerEvent
from automate.services import flow_create, flow_delete
from bcsite.celery import app
from records import services as records
from records.demo import COMPANY_NAME
from records.models import Company, Customer

USERNAME = "sales"
FLOW_NAME = "Bench: customer modified"
DEFINITION = {
    "schemaVersion": 1,
    "trigger": {"type": "record_modified", "table": 18},
    "steps": [
        {
            "name": "Compose",
            "type": "data.compose",
            "inputs": {"value": {"number": "@triggerBody()?['number']"}},
        }
    ],
}
WORKER_START_TIMEOUT = 60
POLL_SECONDS = 0.5
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
        parser.add_argument("--output", default=str(settings.VAR_DIR / "bench" / "triggers.json"))

    def handle(self, *args, **options):
        workers, rate, seconds = options["workers"], options["rate"], options["seconds"]
        changes = round(rate * seconds)
        if workers < 1 or rate <= 0 or changes < 1 or options["drain"] <= 0:
            raise CommandError(
                "--workers must be at least 1, --drain above 0, and --rate times --seconds "
                "at least 1 change."
            )
        url = _database_url(connection.settings_dict)
        _check_broker()
        call_command("seed_demo", verbosity=0, stdout=io.StringIO())
        company = Company.objects.get(name=COMPANY_NAME)
        user = get_user_model().objects.get(username=USERNAME)
        customers = list(Customer.objects.filter(company=company).order_by("pk")[:changes])
        if not customers:
            raise CommandError(f"{COMPANY_NAME} has no customers to change.")
        for old in Flow.objects.filter(company=company, owner=user, name=FLOW_NAME):
            flow_delete(flow=old, user=user)
        flow = flow_create(company=company, owner=user, name=FLOW_NAME, definition=DEFINITION)

        log_dir = Path(options["output"]).parent
        log_dir.mkdir(parents=True, exist_ok=True)
        pool = WorkerPool(count=workers, database_url=url, log_dir=log_dir)
        pool.start()
        try:
            with _routed_to(pool.queue):
                commits = self._change(customers, user, changes, rate)
                unfinished = _wait_for_runs(flow, changes, options["drain"])
        finally:
            pool.stop()
        report = _report(flow, commits, workers=workers, rate=rate, seconds=seconds)
        self._print(report)
        output = Path(options["output"])
        output.write_text(json.dumps(report, indent=2))
        self.stdout.write(f"Written to {output}")
        if unfinished:
            raise CommandError(
                f"{unfinished} of {changes} runs had not finished {options['drain']:g} s after "
                f"the last change; the workers' logs are in {log_dir}."
            )

    def _change(self, customers, user, changes: int, rate: float) -> list[datetime.datetime]:
        """Change a customer every 1/rate seconds, each in its own transaction; returns when
        each change committed (taken before the commit's dispatch to the workers)."""
        tag = uuid.uuid4().hex[:4]
        commits: list[datetime.datetime] = []
        start = time.monotonic()
        for n in range(changes):
            delay = start + n / rate - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            customer = customers[n % len(customers)]
            with transaction.atomic():
                # Registered first, so it runs before the hook that dispatches the event.
                transaction.on_commit(lambda: commits.append(timezone.now()))
                records.customer_update(customer=customer, user=user, city=f"Bench {tag}-{n:06}")
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


# -- Workers ------------------------------------------------------------------------------


class WorkerPool:
    """``count`` Celery worker processes on one queue named for this bench only, so a
    ``make run`` worker on the same Redis never takes the bench's tasks."""

    def __init__(self, *, count: int, database_url: str, log_dir: Path):
        self.count = count
        self.database_url = database_url
        self.queue = f"bcsite-bench-{uuid.uuid4().hex[:12]}"
        self.logs = [log_dir / f"triggers-worker-{n + 1}.log" for n in range(count)]
        self.processes: list[subprocess.Popen] = []

    def start(self) -> None:
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "bcsite.settings",
            "DATABASE_URL": self.database_url,
            "REDIS_URL": settings.CELERY_BROKER_URL,
            "CELERY_TASK_ALWAYS_EAGER": "false",
            # The tasks the workers queue themselves (a delivered event's run) stay here too.
            "CELERY_TASK_DEFAULT_QUEUE": self.queue,
        }
        for n, log_path in enumerate(self.logs, 1):
            command = [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "bcsite",
                "worker",
                "--pool=prefork",
                "--concurrency=1",
                "--queues",
                self.queue,
                "--hostname",
                f"bench{n}-{self.queue}@%h",
                "--without-gossip",
                "--without-mingle",
                "--loglevel=INFO",
            ]
            with open(log_path, "wb") as log_file:
                self.processes.append(
                    subprocess.Popen(
                        command,
                        cwd=settings.BASE_DIR,
                        env=env,
                        stdout=log_file,
                        stderr=subprocess.STDOUT,
                        start_new_session=True,
                    )
                )
        try:
            self._wait_until_ready()
        except BaseException:
            self.stop()
            raise

    def _wait_until_ready(self) -> None:
        deadline = time.monotonic() + WORKER_START_TIMEOUT
        waiting = set(range(self.count))
        while waiting:
            for n in list(waiting):
                if self.processes[n].poll() is not None:
                    raise CommandError(f"A worker exited; see {self.logs[n]}.")
                if " ready." in self.logs[n].read_text(errors="replace"):
                    waiting.discard(n)
            if waiting and time.monotonic() > deadline:
                raise CommandError(f"The workers did not start; see {self.logs[0].parent}.")
            time.sleep(0.1)

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.terminate()  # warm shutdown: the task at hand finishes
        for process in self.processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)
        _delete_queue(self.queue)


def _delete_queue(queue: str) -> None:
    client = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    try:
        keys = [*client.scan_iter(match=f"{queue}*"), *client.scan_iter(f"_kombu.*.{queue}")]
        if keys:
            client.delete(*keys)
    finally:
        client.close()


def _check_broker() -> None:
    client = redis.Redis.from_url(settings.CELERY_BROKER_URL, socket_connect_timeout=2)
    try:
        client.ping()
    except redis.RedisError as error:
        raise CommandError(
            f"Redis is not reachable at {settings.CELERY_BROKER_URL} ({error}); the bench "
            "runs real workers. Start it, or set REDIS_URL."
        ) from error
    finally:
        client.close()


@contextmanager
def _routed_to(queue: str):
    """While inside, tasks queued by this process go to ``queue``, never run eagerly."""
    saved = (app.conf.task_default_queue, app.conf.task_always_eager)
    app.conf.task_default_queue, app.conf.task_always_eager = queue, False
    try:
        yield
    finally:
        app.conf.task_default_queue, app.conf.task_always_eager = saved


def _database_url(settings_dict) -> str:
    """The URL of the database this process uses, for the workers to use the same one."""
    engine = settings_dict["ENGINE"]
    if engine == "django.db.backends.sqlite3":
        name = str(settings_dict["NAME"])
        if name == ":memory:" or name.startswith("file:"):
            raise CommandError("The workers cannot open an in-memory SQLite database.")
        return f"sqlite:///{Path(name).resolve()}"
    if engine == "django.db.backends.postgresql":
        user = quote(settings_dict.get("USER") or "", safe="")
        password = quote(settings_dict.get("PASSWORD") or "", safe="")
        auth = f"{user}:{password}@" if password else (f"{user}@" if user else "")
        host = settings_dict.get("HOST") or "127.0.0.1"
        port = f":{settings_dict['PORT']}" if settings_dict.get("PORT") else ""
        return f"postgres://{auth}{host}{port}/{quote(settings_dict['NAME'], safe='')}"
    raise CommandError(f"The bench does not run workers on {engine}.")


# -- Measuring ----------------------------------------------------------------------------


def _wait_for_runs(flow: Flow, changes: int, drain: float) -> int:
    """Wait until every change's event has been delivered and its run has ended, or
    ``drain`` seconds; returns how many changes have not got that far."""
    deadline = time.monotonic() + drain
    while True:
        events = TriggerEvent.objects.filter(flow=flow)
        delivered = events.exclude(status=TriggerEvent.Status.PENDING).count()
        finished = FlowRun.objects.filter(flow=flow, status__in=FINISHED_RUN_STATUSES).count()
        skipped = events.filter(status=TriggerEvent.Status.SKIPPED).count()
        if delivered == changes and finished + skipped == changes:
            return 0
        if time.monotonic() > deadline:
            return changes - finished - skipped
        time.sleep(POLL_SECONDS)


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
        "database": connection.vendor,
        "cores": os.cpu_count(),
        "python": platform.python_version(),
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
    values = sorted(values)
    if not values:
        return {"stage": label, "count": 0, "p50_ms": None, "p95_ms": None, "max_ms": None}
    return {
        "stage": label,
        "count": len(values),
        "p50_ms": round(statistics.median(values), 1),
        "p95_ms": round(values[min(len(values) - 1, int(len(values) * 0.95))], 1),
        "max_ms": round(values[-1], 1),
    }
