"""Measuring pages' server time for the ``make bench`` commands of each app."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable

from django.core.management import CommandError
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext


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
