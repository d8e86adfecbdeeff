"""Real Celery worker processes, for tests that must not run Celery eagerly.

The worker is a separate process: it reads the test database through its own
connections, so the tests that use it need ``django_db(transaction=True)`` (their
rows must be committed for the worker to see them), and on SQLite the test
database must be a file rather than memory (see ``pytest_configure``).

Each worker listens on a queue named for this run only, and the tests' tasks are
routed there, so two test runs against one Redis (or a developer's ``make run``
worker) never take each other's tasks.
"""

import os
import re
import signal
import subprocess
import sys
import time
import uuid
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

import pytest
from django.conf import settings
from django.db import connection

from bcsite.bench import delete_queue
from bcsite.celery import app

WORKER_START_TIMEOUT = 60
TASK_TIMEOUT = 60


def use_file_database() -> None:
    """Put the SQLite test database in a file another process can open.

    pytest-django's default SQLite test database lives in memory, which only this
    process can see. The name carries the pid so parallel runs never share a file;
    Django deletes the file when the test database is destroyed.

    The conftests of the folders whose tests start workers call this from
    ``pytest_configure``, before any test database exists, so the whole run uses the
    file; runs that leave those folders out keep the in-memory database.
    """
    default = settings.DATABASES["default"]
    if default["ENGINE"] == "django.db.backends.sqlite3" and not default.get("TEST", {}).get(
        "NAME"
    ):
        _remove_abandoned_test_databases(Path(settings.VAR_DIR))
        name = Path(settings.VAR_DIR) / f"test-{os.getpid()}.sqlite3"
        default.setdefault("TEST", {})["NAME"] = str(name)


def _remove_abandoned_test_databases(var_dir: Path) -> None:
    """Delete the files of test runs that were killed before they could clean up."""
    for path in var_dir.glob("test-*.sqlite3*"):
        match = re.fullmatch(r"test-(\d+)\.sqlite3.*", path.name)
        if match is None or _pid_alive(int(match.group(1))):
            continue
        path.unlink(missing_ok=True)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def database_url(settings_dict) -> str:
    """The URL of the database this process is connected to (the test database)."""
    if settings_dict["ENGINE"] == "django.db.backends.sqlite3":
        name = str(settings_dict["NAME"])
        if name == ":memory:" or name.startswith("file:"):
            pytest.fail("The worker cannot open an in-memory SQLite test database.")
        return f"sqlite:///{Path(name).resolve()}"
    if settings_dict["ENGINE"] == "django.db.backends.postgresql":
        user = quote(settings_dict.get("USER") or "", safe="")
        password = quote(settings_dict.get("PASSWORD") or "", safe="")
        auth = f"{user}:{password}@" if password else (f"{user}@" if user else "")
        host = settings_dict.get("HOST") or "127.0.0.1"
        port = f":{settings_dict['PORT']}" if settings_dict.get("PORT") else ""
        return f"postgres://{auth}{host}{port}/{quote(settings_dict['NAME'], safe='')}"
    pytest.fail(f"No worker support for the database engine {settings_dict['ENGINE']}.")


class WorkerProcess:
    """A ``celery worker`` subprocess and what the tests ask of it."""

    def __init__(self, *, queue: str, log_path: Path, process: subprocess.Popen):
        self.queue = queue
        self.log_path = log_path
        self.process = process

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def check_alive(self) -> None:
        if self.process.poll() is not None:
            pytest.fail(
                f"The Celery worker exited with {self.process.returncode}:\n{self.log()[-5000:]}"
            )

    def wait_until(self, condition, *, timeout: float = TASK_TIMEOUT, what: str = "condition"):
        """Poll ``condition`` until it returns something truthy; fail after ``timeout``."""
        deadline = time.monotonic() + timeout
        while True:
            result = condition()
            if result:
                return result
            self.check_alive()
            if time.monotonic() > deadline:
                pytest.fail(f"Timed out waiting for {what}. Worker log:\n{self.log()[-5000:]}")
            time.sleep(0.1)

    def task_outcome(self, task_id: str) -> str | None:
        """The worker's log line for the end of task ``task_id``, once it has ended."""
        pattern = re.compile(rf"Task [\w.]+\[{re.escape(task_id)}\] (succeeded|raised|failed).*")
        match = pattern.search(self.log())
        return match.group(0) if match else None

    def wait_for_task(self, task_id: str, *, timeout: float = TASK_TIMEOUT) -> str:
        return self.wait_until(
            lambda: self.task_outcome(task_id), timeout=timeout, what=f"task {task_id}"
        )

    def kill(self) -> None:
        """SIGKILL the worker and its pool processes at once, as a lost machine would."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process.poll() is None:
            # TERM is Celery's warm shutdown: the task at hand finishes and is acknowledged.
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)


def _delete_queue(queue: str) -> None:
    """The queue, its bindings and the messages of it a killed worker never acknowledged
    (kombu would put them back on the queue long after the test)."""
    delete_queue(queue)


def start_worker(url: str, log_path: Path, *, env: dict | None = None) -> WorkerProcess:
    """Start ``celery -A bcsite worker`` on the database at ``url`` and a queue of its own."""
    queue = f"bcsite-test-{uuid.uuid4().hex[:12]}"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "bcsite.settings",
        "DATABASE_URL": url,
        "REDIS_URL": settings.CELERY_BROKER_URL,
        "CELERY_TASK_ALWAYS_EAGER": "false",
        # Tasks the worker queues itself (a delivered event's run) stay on its queue.
        "CELERY_TASK_DEFAULT_QUEUE": queue,
        **(env or {}),
    }
    command = [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "bcsite",
        "worker",
        # Two processes, so two deliveries of one task can really run at once.
        "--pool=prefork",
        "--concurrency=2",
        "--queues",
        queue,
        "--hostname",
        f"{queue}@%h",
        "--without-gossip",
        "--without-mingle",
        "--loglevel=INFO",
    ]
    with open(log_path, "wb") as log_file:
        process = subprocess.Popen(
            command,
            cwd=settings.BASE_DIR,
            env=env,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            # A group of its own, so kill() can take the pool's children down with it.
            start_new_session=True,
        )
    worker = WorkerProcess(queue=queue, log_path=log_path, process=process)
    try:
        worker.wait_until(
            lambda: " ready." in worker.log(),
            timeout=WORKER_START_TIMEOUT,
            what="the Celery worker to start",
        )
    except BaseException:
        worker.kill()
        raise
    return worker


@contextmanager
def routed_to(queue: str):
    """While inside, tasks queued by this process go to ``queue`` and never run eagerly
    (Celery reads ``task_default_queue`` when it routes each task)."""
    saved = (app.conf.task_default_queue, app.conf.task_always_eager)
    app.conf.task_default_queue, app.conf.task_always_eager = queue, False
    try:
        yield
    finally:
        app.conf.task_default_queue, app.conf.task_always_eager = saved


@pytest.fixture
def worker_url(django_db_blocker) -> str:
    """The test database's URL, for workers started by a test itself."""
    with django_db_blocker.unblock():
        return database_url(connection.settings_dict)


@pytest.fixture(scope="module")
def celery_worker_process(django_db_setup, django_db_blocker, tmp_path_factory):
    """A worker on the test database, shared by the tests of a module."""
    with django_db_blocker.unblock():
        url = database_url(connection.settings_dict)
    worker = start_worker(url, tmp_path_factory.mktemp("celery") / "worker.log")
    try:
        with routed_to(worker.queue):
            yield worker
    finally:
        worker.stop()
        _delete_queue(worker.queue)
