"""Daily counts of ended runs per flow and outcome (``FlowRunDay``), for charts."""

from __future__ import annotations

import datetime

from django.db import IntegrityError, transaction
from django.db.models import Count, F
from django.db.models.functions import TruncDate
from django.utils import timezone

from automate.models import FINISHED_RUN_STATUSES, FlowRun, FlowRunDay


def run_day_count(
    *, flow_id: int, company_id: int, created_at: datetime.datetime, status: str
) -> None:
    """Count one run that has just ended. Call it in the transaction that ends the run, so
    the count and the run's status never disagree."""
    day = timezone.localdate(created_at)
    counted = FlowRunDay.objects.filter(flow_id=flow_id, day=day, status=status)
    if counted.update(count=F("count") + 1):
        return
    try:
        with transaction.atomic():
            FlowRunDay.objects.create(
                flow_id=flow_id, company_id=company_id, day=day, status=status, count=1
            )
    except IntegrityError:
        # Another run of the flow, on the same day, created the row first.
        counted.update(count=F("count") + 1)


@transaction.atomic
def run_days_rebuild(*, since: datetime.date | None = None) -> int:
    """Count again from the runs themselves (after a bulk load that bypassed the engine)."""
    days = FlowRunDay.objects.all()
    runs = FlowRun.objects.filter(status__in=FINISHED_RUN_STATUSES)
    if since is not None:
        days = days.filter(day__gte=since)
        start = timezone.make_aware(datetime.datetime.combine(since, datetime.time.min))
        runs = runs.filter(created_at__gte=start)
    days.delete()
    rows = [
        FlowRunDay(
            flow_id=row["flow_id"],
            company_id=row["company_id"],
            day=row["day"],
            status=row["status"],
            count=row["n"],
        )
        for row in runs.annotate(day=TruncDate("created_at"))
        .values("flow_id", "company_id", "day", "status")
        .annotate(n=Count("pk"))
        .order_by()
    ]
    FlowRunDay.objects.bulk_create(rows, batch_size=1000)
    return len(rows)
