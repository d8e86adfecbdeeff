"""What the ``make bench`` and ``make chaos`` commands of each app share.

- Timing pages in one process (``page_time``) and printing tables.
- Statistics (``spread``), the machine a figure was measured on (``machine``), reports.
- Real Celery worker processes on a queue of their own (``WorkerPool``), which a harness
  can SIGKILL and restart as a supervisor would, and a private Redis it can restart
  (``PrivateRedis``), never the Redis other processes use.
- The floor of the stack: a task that does nothing (``noop_task``) and how many of them
  the workers get through a second on this machine and this Redis (``noop_throughput``).
- Requests a second over gunicorn (``http_throughput``), every answer checked against what
  its ``HttpTarget`` expects (a 200; for the API, the rows of a page and its next link).
"""

from __future__ import annotations

import http.client
import json
import os
import platform
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote, urlsplit

import redis
from celery import signals
from django.conf import settings
from django.core.management import CommandError
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from bcsite.celery import app

WORKER_START_TIMEOUT = 60
READY_LINE = "bench worker ready"
REDIS_START_TIMEOUT = 20


# -- Pages --------------------------------------------------------------------------------


def page_time(client: Client, label: str, url: str, samples: int) -> dict:
    """p50 and p95 server time of ``url`` over ``samples`` requests, and its query count."""
    response = client.get(url)  # warm caches and the plan
    if response.status_code != 200:
        raise CommandError(f"{url} answered {response.status_code}")
    times = []
    for _ in range(samples):
        with CaptureQueriesContext(connection) as queries:
            started = time.perf_counter()
            client.get(url)
            times.append((time.perf_counter() - started) * 1000)
    times.sort()
    return {
        "page": label,
        "url": url,
        "p50_ms": round(statistics.median(times), 1),
        "p95_ms": round(times[min(len(times) - 1, int(len(times) * 0.95))], 1),
        "queries": len(queries),
    }


def print_table(write: Callable[[str], None], title: str, results: list[dict]) -> None:
    write(title)
    write(f"{'page':36} {'p50 ms':>8} {'p95 ms':>8} {'queries':>8}")
    for result in results:
        write(
            f"{result['page']:36} {result['p50_ms']:>8} {result['p95_ms']:>8} "
            f"{result['queries']:>8}"
        )


# -- Figures and reports ------------------------------------------------------------------


def spread(values: Iterable[float]) -> dict:
    """Count, p50, p95 and max of ``values`` (milliseconds), rounded; None when empty."""
    values = sorted(values)
    if not values:
        return {"count": 0, "p50_ms": None, "p95_ms": None, "max_ms": None}
    return {
        "count": len(values),
        "p50_ms": round(statistics.median(values), 1),
        "p95_ms": round(values[min(len(values) - 1, int(len(values) * 0.95))], 1),
        "max_ms": round(values[-1], 1),
    }


def machine() -> dict:
    """Where a figure was measured: cores, CPU, Python, the database of this process, and
    how busy the machine was."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cores": os.cpu_count(),
        "cpu": cpu,
        "python": platform.python_version(),
        "database": connection.vendor,
        "database_version": _database_version(),
        # Other work on the machine while measuring: figures are only comparable when low.
        "load_average_1min": round(os.getloadavg()[0], 2),
    }


def _database_version() -> str:
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("select sqlite_version()")
        elif connection.vendor == "postgresql":
            cursor.execute("show server_version")
        else:
            return ""
        return str(cursor.fetchone()[0])


def write_report(path: str | Path, report: dict) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=2, default=str))
    return path


def fmt(value, digits: int = 1) -> str:
    """A figure for a table: "-" when there is none."""
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.{digits}f}"
    return f"{value:,}" if isinstance(value, int) else str(value)


# -- The database and the broker ----------------------------------------------------------


def database_url(settings_dict=None) -> str:
    """The URL of the database this process uses, for worker processes to use the same."""
    settings_dict = settings_dict or connection.settings_dict
    engine = settings_dict["ENGINE"]
    if engine == "django.db.backends.sqlite3":
        name = str(settings_dict["NAME"])
        if name == ":memory:" or name.startswith("file:"):
            raise CommandError("Worker processes cannot open an in-memory SQLite database.")
        return f"sqlite:///{Path(name).resolve()}"
    if engine == "django.db.backends.postgresql":
        user = quote(settings_dict.get("USER") or "", safe="")
        password = quote(settings_dict.get("PASSWORD") or "", safe="")
        auth = f"{user}:{password}@" if password else (f"{user}@" if user else "")
        host = settings_dict.get("HOST") or "127.0.0.1"
        port = f":{settings_dict['PORT']}" if settings_dict.get("PORT") else ""
        return f"postgres://{auth}{host}{port}/{quote(settings_dict['NAME'], safe='')}"
    raise CommandError(f"The benchmarks do not run workers on {engine}.")


def check_broker(url: str | None = None) -> None:
    url = url or settings.CELERY_BROKER_URL
    client = redis.Redis.from_url(url, socket_connect_timeout=2)
    try:
        client.ping()
    except redis.RedisError as error:
        raise CommandError(
            f"Redis is not reachable at {url} ({error}); the benchmarks run real workers. "
            "Start it, or set REDIS_URL."
        ) from error
    finally:
        client.close()


@contextmanager
def routed_to(queue: str):
    """While inside, tasks queued by this process go to ``queue``, never run eagerly."""
    saved = (app.conf.task_default_queue, app.conf.task_always_eager)
    app.conf.task_default_queue, app.conf.task_always_eager = queue, False
    try:
        yield
    finally:
        app.conf.task_default_queue, app.conf.task_always_eager = saved


def _new_broker_connections() -> None:
    # Celery keeps its broker connections in pools made from the settings of the time.
    app._pool = None
    app.amqp._producer_pool = None


@contextmanager
def publishing_to(url: str):
    """While inside, this process's Celery app publishes to the broker at ``url``."""
    saved = app.conf.broker_url
    app.conf.broker_url = url
    _new_broker_connections()
    try:
        yield
    finally:
        app.conf.broker_url = saved
        _new_broker_connections()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# -- Worker processes ---------------------------------------------------------------------


class WorkerPool:
    """``count`` Celery worker processes (prefork, ``concurrency`` children each) on a queue
    named for this pool only, so a ``make run`` worker on the same Redis never takes its
    tasks. Tasks the workers queue themselves (a delivered event's run) stay on it too.

    ``kill`` SIGKILLs a worker (or only the child running its task) as a lost machine or
    an out-of-memory killer would; ``restart_exited`` starts a new process in the place of
    each one that has gone, as a process supervisor would.
    """

    def __init__(
        self,
        *,
        count: int,
        database_url: str,
        log_dir: Path,
        name: str = "bench",
        broker_url: str | None = None,
        concurrency: int = 1,
        loglevel: str = "WARNING",
        include: tuple[str, ...] = (),
        env: dict | None = None,
    ):
        self.count = count
        self.database_url = database_url
        self.broker_url = broker_url or settings.CELERY_BROKER_URL
        self.name = name
        self.concurrency = concurrency
        self.loglevel = loglevel
        self.include = include
        self.extra_env = env or {}
        self.queue = f"bcsite-{name}-{uuid.uuid4().hex[:12]}"
        log_dir.mkdir(parents=True, exist_ok=True)
        self.logs = [log_dir / f"{name}-worker-{n + 1}.log" for n in range(count)]
        self.processes: list[subprocess.Popen | None] = [None] * count
        self.restarts = 0

    def _spawn(self, n: int) -> subprocess.Popen:
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "bcsite.settings",
            "DATABASE_URL": self.database_url,
            "REDIS_URL": self.broker_url,
            "CELERY_TASK_ALWAYS_EAGER": "false",
            "CELERY_TASK_DEFAULT_QUEUE": self.queue,
            **self.extra_env,
        }
        command = [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "bcsite",
            "worker",
            "--pool=prefork",
            f"--concurrency={self.concurrency}",
            "--queues",
            self.queue,
            "--hostname",
            f"{self.name}{n + 1}-{self.queue}@%h",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            f"--loglevel={self.loglevel}",
            # This module tells when the worker is ready, whatever the log level.
            "--include",
            ",".join(dict.fromkeys(("bcsite.bench", *self.include))),
        ]
        # Appended, so a restarted worker's log follows its predecessor's.
        with open(self.logs[n], "ab") as log_file:
            return subprocess.Popen(
                command,
                cwd=settings.BASE_DIR,
                env=env,
                stdout=log_file,
                stderr=subprocess.STDOUT,
                # A group of its own, so a kill takes the pool's children down with it.
                start_new_session=True,
            )

    def start(self, *, wait: bool = True) -> None:
        for n, log in enumerate(self.logs):
            log.write_bytes(b"")
            self.processes[n] = self._spawn(n)
        if wait:
            try:
                self.wait_until_ready()
            except BaseException:
                self.stop()
                raise

    def wait_until_ready(self) -> None:
        """Until every worker has connected and listens."""
        deadline = time.monotonic() + WORKER_START_TIMEOUT
        waiting = set(range(self.count))
        while waiting:
            for n in list(waiting):
                process = self.processes[n]
                if process is not None and process.poll() is not None:
                    raise CommandError(f"A worker exited at start; see {self.logs[n]}.")
                if READY_LINE in self.logs[n].read_text(errors="replace"):
                    waiting.discard(n)
            if waiting and time.monotonic() > deadline:
                raise CommandError(f"The workers did not start; see {self.logs[0].parent}.")
            time.sleep(0.05)

    def alive(self) -> list[int]:
        return [n for n, p in enumerate(self.processes) if p is not None and p.poll() is None]

    def kill(self, n: int, *, whole: bool = True) -> str:
        """SIGKILL worker ``n``: all its processes at once, or only its pool child (the one
        running the task; its parent sees it die and starts another). Says what it did."""
        process = self.processes[n]
        if process is None or process.poll() is not None:
            return "already gone"
        children = [] if whole else _children(process.pid)
        if children:
            for pid in children:
                _kill(pid)
            return f"pool child {','.join(map(str, children))} of worker {n + 1}"
        with suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)
        return f"worker {n + 1} and its children"

    def restart_exited(self) -> int:
        """Start a new process for each worker that has exited; returns how many."""
        started = 0
        for n, process in enumerate(self.processes):
            if process is not None and process.poll() is not None:
                _reap_group(process.pid)
                self.processes[n] = self._spawn(n)
                self.restarts += 1
                started += 1
        return started

    def stop(self) -> None:
        running = [p for p in self.processes if p is not None and p.poll() is None]
        for process in running:
            process.terminate()  # warm shutdown: the task at hand finishes
        for process in running:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                _reap_group(process.pid)
                process.wait(timeout=10)
        for process in self.processes:
            if process is not None:
                _reap_group(process.pid)
        delete_queue(self.queue, self.broker_url)


def _kill(pid: int) -> None:
    with suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)


def _reap_group(pgid: int) -> None:
    """Kill what is left of a worker's process group (pool children of a dead parent)."""
    with suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)


def _children(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def delete_queue(queue: str, broker_url: str | None = None) -> None:
    """Remove the queue, its bindings and the messages of it that no worker acknowledged
    (kombu would put those back on the queue long after the bench)."""
    client = redis.Redis.from_url(broker_url or settings.CELERY_BROKER_URL)
    try:
        for tag, payload in client.hscan_iter("unacked"):
            try:
                routing_key = json.loads(payload)[2]
            except (ValueError, IndexError, TypeError):
                continue
            if routing_key == queue:
                client.hdel("unacked", tag)
                client.zrem("unacked_index", tag)
        keys = [
            *client.scan_iter(match=f"{queue}*"),
            *client.scan_iter(f"_kombu.*.{queue}"),
            *client.scan_iter(f"bench-noop:{queue}*"),
        ]
        if keys:
            client.delete(*keys)
    except redis.RedisError:
        pass  # a private Redis already stopped keeps nothing
    finally:
        client.close()


class PrivateRedis:
    """``redis-server`` on a free loopback port, keeping nothing on disk: a harness may
    kill it (clients see their connections drop, as when the machine goes) and start it
    again on the same port, empty, without touching the Redis anyone else uses."""

    def __init__(self, log_path: Path):
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.log_path = log_path
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        server = shutil.which("redis-server")
        if server is None:
            raise CommandError("redis-server is needed (apt-get install redis-server).")
        command = [server, "--port", str(self.port), "--bind", "127.0.0.1"]
        command += ["--save", "", "--appendonly", "no"]
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "ab") as log_file:
            self.process = subprocess.Popen(command, stdout=log_file, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + REDIS_START_TIMEOUT
        while not self.ping():
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise CommandError(f"redis-server did not start; see {self.log_path}.")
            time.sleep(0.05)

    def ping(self) -> bool:
        client = redis.Redis.from_url(self.url, socket_connect_timeout=0.5)
        try:
            return bool(client.ping())
        except redis.RedisError:
            return False
        finally:
            client.close()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)
        self.process = None


@signals.worker_ready.connect
def _tell_ready(**kwargs) -> None:
    # Celery says "ready" at INFO; the benches' workers log warnings only, to keep the
    # log lines out of the figures.
    print(READY_LINE, file=sys.stderr, flush=True)


# -- The floor: a task that does nothing ---------------------------------------------------

_counter: redis.Redis | None = None


@app.task(name="bcsite.bench.noop", ignore_result=True)
def noop_task(key: str, total: int) -> None:
    """Counts itself, and notes when the first and the last of ``total`` ran: one Redis
    round trip on top of what Celery itself does for every task."""
    global _counter
    if _counter is None:
        _counter = redis.Redis.from_url(app.conf.broker_url)
    done = _counter.incr(key)
    if done == 1 or done == total:
        _counter.set(f"{key}:{'first' if done == 1 else 'last'}", repr(time.time()))


def noop_throughput(*, workers: int, tasks: int, log_dir: Path) -> dict:
    """No-op tasks a second through ``workers`` worker processes (one pool child each),
    with the project's Celery settings (late acknowledgement, prefetch of one).

    The tasks are queued before the workers start, so the producer does not compete for
    the cores; the rate runs from the first task to the last.
    """
    pool = WorkerPool(
        count=workers,
        database_url=database_url(),
        log_dir=log_dir,
        name=f"noop{workers}",
    )
    key = f"bench-noop:{pool.queue}"
    client = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    try:
        with routed_to(pool.queue):
            for _ in range(tasks):
                noop_task.delay(key, tasks)
        pool.start()
        deadline = time.monotonic() + max(60, tasks / 50)
        while int(client.get(key) or 0) < tasks:
            if time.monotonic() > deadline:
                raise CommandError(f"The no-op tasks did not all run; see {log_dir}.")
            time.sleep(0.05)
        first = float(client.get(f"{key}:first"))
        last = float(client.get(f"{key}:last"))
    finally:
        pool.stop()
        client.delete(key, f"{key}:first", f"{key}:last")
        client.close()
    return {
        "workers": workers,
        "tasks": tasks,
        "seconds": round(last - first, 2),
        "tasks_per_s": round((tasks - 1) / (last - first), 1) if last > first else None,
    }


# -- Requests a second over gunicorn --------------------------------------------------------


@dataclass
class HttpTarget:
    """One figure of ``http_throughput``: what its clients GET, with which headers, and what
    every answer must be.

    - ``rows``: the answer is an OData collection whose ``value`` holds this many rows (the
      last page of a walk may hold fewer); None for a page of HTML, checked for its 200 only.
    - ``follow_next``: each client walks the collection by ``@odata.nextLink`` to its end,
      then starts over where it began.
    - ``entry_points``: paths asked once before the clock starts; client n begins at the
      ``@odata.nextLink`` of the n-th answer (modulo), so the clients are spread over the
      collection and every page they ask for is a keyset page.
    - ``note``: how the figure was made, for the report.
    """

    label: str
    path: str
    headers: dict[str, str] = field(default_factory=dict)
    rows: int | None = None
    follow_next: bool = False
    entry_points: tuple[str, ...] = ()
    note: str = ""


class BadAnswer(Exception):
    """An answer that is not what the target expects: the figure would be of something else."""


def http_throughput(
    targets: list[HttpTarget],
    *,
    seconds: float = 8.0,
    clients: int = 8,
    workers: int | None = None,
    threads: int = 8,
    env: dict[str, str] | None = None,
    log_path: Path,
) -> list[dict]:
    """Requests a second that gunicorn serves for each target, as the README's production
    command runs it (gthread workers, one per core), to ``clients`` keep-alive connections
    of this process. ``env`` is added to gunicorn's environment.

    Every answer is checked (``HttpTarget``); the first one that is not right stops the
    bench with a ``CommandError`` that quotes it, rather than giving a figure of errors.
    """
    workers = workers or os.cpu_count() or 1
    port = free_port()
    command = [sys.executable, "-m", "gunicorn", "bcsite.wsgi", "--bind", f"127.0.0.1:{port}"]
    command += ["--workers", str(workers), "--worker-class", "gthread"]
    command += ["--threads", str(threads), "--log-level", "warning"]
    server_env = {**os.environ, "DATABASE_URL": database_url(), "DEBUG": "false", **(env or {})}
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "wb") as log_file:
        server = subprocess.Popen(
            command,
            cwd=settings.BASE_DIR,
            env=server_env,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + WORKER_START_TIMEOUT
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                    break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise CommandError(f"gunicorn did not start; see {log_path}.") from None
                time.sleep(0.1)
        results = []
        for target in targets:
            try:
                starts = _warm_up(port, target, workers * threads)
            except (BadAnswer, OSError, http.client.HTTPException) as error:
                raise CommandError(
                    f"{target.label}: {error} (before measuring, over gunicorn; see {log_path})."
                ) from None
            began = time.monotonic()
            times, failures = _load(port, target, starts, clients, seconds)
            elapsed = time.monotonic() - began
            if failures:
                raise CommandError(
                    f"{target.label}: {len(failures)} request(s) failed over gunicorn, the "
                    f"first: {failures[0]} (see {log_path})."
                )
            results.append(
                {
                    "target": target.label,
                    "url": target.path,
                    "server": f"gunicorn, {workers} gthread workers x {threads} threads",
                    "clients": clients,
                    "requests": len(times),
                    "errors": 0,
                    "rows_per_page": target.rows,
                    "note": target.note,
                    "requests_per_s": round(len(times) / elapsed, 1),
                    **spread(times),
                }
            )
        return results
    finally:
        if server.poll() is None:
            server.terminate()
            try:
                server.wait(timeout=20)
            except subprocess.TimeoutExpired:
                _reap_group(server.pid)
                server.wait(timeout=10)
        _reap_group(server.pid)


def _warm_up(port: int, target: HttpTarget, requests: int) -> list[str]:
    """Ask for the target until every worker thread has served it, and find where the
    clients' walks begin. Raises ``BadAnswer`` as soon as an answer is wrong."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        for _ in range(requests):
            _check(target, target.path, *_get(conn, target.path, target.headers))
        starts = []
        for entry in target.entry_points:
            status, body = _get(conn, entry, target.headers)
            following = _check(target, entry, status, body, walking=True)
            if following is None:
                raise BadAnswer(f"GET {entry} has no @odata.nextLink to begin a walk at")
            starts.append(following)
    finally:
        conn.close()
    return starts or [target.path]


def _get(conn: http.client.HTTPConnection, path: str, headers: dict[str, str]):
    conn.request("GET", path, headers=headers)
    response = conn.getresponse()
    return response.status, response.read()


def _check(
    target: HttpTarget, path: str, status: int, body: bytes, *, walking: bool = False
) -> str | None:
    """Raise ``BadAnswer`` unless the answer to ``path`` is a 200 with the target's rows;
    return the path of the next page when the target (or ``walking``) follows the links."""
    if status != 200:
        raise BadAnswer(f"GET {path} answered {status}: {_excerpt(body)}")
    if target.rows is None:
        return None
    try:
        data = json.loads(body)
        count = len(data["value"])
        following = data.get("@odata.nextLink")
    except (ValueError, KeyError, TypeError):
        problem = f"GET {path} did not answer an OData collection: {_excerpt(body)}"
        raise BadAnswer(problem) from None
    walking = walking or target.follow_next
    # Only the last page of a walk may hold fewer rows, and never none.
    fits = count == target.rows or (walking and following is None and 0 < count < target.rows)
    if not fits:
        raise BadAnswer(f"GET {path} answered {count} rows, not {target.rows}")
    if not walking or not following:
        return None
    parts = urlsplit(following)
    return f"{parts.path}?{parts.query}" if parts.query else parts.path


def _excerpt(body: bytes, limit: int = 300) -> str:
    text = body.decode("utf-8", errors="replace").strip()
    return text if len(text) <= limit else text[:limit] + "..."


def _load(port: int, target: HttpTarget, starts: list[str], clients: int, seconds: float):
    """``clients`` threads GET the target back to back for ``seconds``, client n from
    ``starts[n % len(starts)]``; returns the times of the answers (ms) and what failed.
    The first failure stops every client."""
    times: list[float] = []
    failures: list[str] = []
    lock = threading.Lock()
    failed = threading.Event()
    stop_at = time.monotonic() + seconds

    def client(n: int) -> None:
        start = starts[n % len(starts)]
        path = start
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        mine: list[float] = []
        problem = None
        while time.monotonic() < stop_at and not failed.is_set():
            t0 = time.perf_counter()
            try:
                status, body = _get(conn, path, target.headers)
                took = (time.perf_counter() - t0) * 1000
                following = _check(target, path, status, body)
            except (OSError, http.client.HTTPException) as error:
                problem = f"GET {path}: {error.__class__.__name__}: {error}"
            except BadAnswer as error:
                problem = str(error)
            if problem is not None:
                failed.set()
                break
            mine.append(took)
            path = following or start
        conn.close()
        with lock:
            times.extend(mine)
            if problem is not None:
                failures.append(problem)

    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return times, failures


def postgres_ready(url: str) -> bool:
    """Whether the PostgreSQL server of ``url`` answers; creates its database if missing.
    Says why not on stderr."""
    from urllib.parse import unquote, urlparse

    import psycopg
    from psycopg import sql

    parts = urlparse(url)
    name = unquote(parts.path.lstrip("/"))
    if parts.scheme not in ("postgres", "postgresql", "pgsql") or not name:
        print(f"Not a PostgreSQL database URL: {url}", file=sys.stderr)
        return False
    server = parts._replace(path="/postgres").geturl()
    try:
        with psycopg.connect(server, autocommit=True, connect_timeout=3) as conn:
            exists = conn.execute("select 1 from pg_database where datname = %s", [name]).fetchone()
            if not exists:
                conn.execute(sql.SQL("create database {}").format(sql.Identifier(name)))
    except psycopg.Error as error:
        print(f"PostgreSQL: {error}".strip(), file=sys.stderr)
        return False
    return True
