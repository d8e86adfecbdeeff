"""Integration tests run against a real Celery worker process (see tests/workers.py)."""

from tests.workers import (  # noqa: F401 (fixtures)
    celery_worker_process,
    use_file_database,
    worker_url,
)


def pytest_configure(config):
    use_file_database()
