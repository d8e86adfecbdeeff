"""Automate home: runs per day by outcome, totals, recent runs, and the way to everything.

Administrators see the company's runs; other users the runs of the flows they own or
co-own, and their own runs of flows shared with them to run (``runs_for``). The chart
reads daily counts and is drawn as inline SVG on the server, so it needs no script and no
chart library.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.db.models import Count, Q, Sum
from django.db.models.functions import TruncDate
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_safe

from automate.access import is_company_admin, own_flow_ids, runs_for
from automate.models import FINISHED_RUN_STATUSES, FlowRunDay, FlowShare, RunStatus
from automate.views.runs import decorate, with_record
from bcsite.registry import registry
from bcsite.views import company_required

CHART_DAYS = 14
RECENT_RUNS = 10
# Outcomes in stacking order (bottom first): key, label, the statuses they gather.
OUTCOMES = (
    ("succeeded", "Succeeded", (RunStatus.SUCCEEDED,)),
    ("failed", "Failed", (RunStatus.FAILED,)),
    ("cancelled", "Cancelled", (RunStatus.CANCELLED,)),
    ("timedout", "Timed out", (RunStatus.TIMED_OUT,)),
    ("inprogress", "In progress", (RunStatus.QUEUED, RunStatus.RUNNING, RunStatus.WAITING)),
)
OUTCOME_OF = {status: key for key, _label, statuses in OUTCOMES for status in statuses}
LIBRARY_PAGES = (("Sent Emails", "sent-emails"), ("Documents", "documents"))

# Chart geometry, in SVG user units.
BAR_WIDTH = 26
BAR_GAP = 14
PLOT_HEIGHT = 150
TOP = 18
LEFT = 34
BOTTOM = 34


@dataclass(frozen=True)
class Segment:
    key: str
    label: str
    count: int
    x: int
    y: float
    height: float


@dataclass(frozen=True)
class Day:
    date: datetime.date
    total: int
    counts: list[int]  # per outcome, in OUTCOMES order
    segments: list[Segment]
    x: int
    total_y: float
    label_x: int
    tooltip: str


def _counts_by_day(request: HttpRequest, first_day: datetime.date) -> dict:
    """Runs per day and outcome: ended runs from the daily counts, the few runs still going
    from the runs themselves, so the cost does not grow with the number of runs."""
    start = timezone.make_aware(datetime.datetime.combine(first_day, datetime.time.min))
    ended = FlowRunDay.objects.filter(company=request.company, day__gte=first_day)
    # Named statuses, not "not finished": the (company, status) index serves them.
    counted_here = Q(status__in=[RunStatus.QUEUED, RunStatus.RUNNING, RunStatus.WAITING])
    if not is_company_admin(request):
        ended = ended.filter(flow__in=own_flow_ids(request))
        # The daily counts are per flow, and of a flow shared with the user to run only
        # they see just their own runs (``runs_for``): those are counted from the runs.
        run_only = FlowShare.objects.filter(user=request.user, role=FlowShare.Role.RUN_ONLY)
        counted_here |= Q(flow__in=run_only.values("flow_id"), status__in=FINISHED_RUN_STATUSES)
    runs = (
        runs_for(request)
        .filter(counted_here, created_at__gte=start)
        .annotate(day=TruncDate("created_at"))
        .values("day", "status")
        .annotate(n=Count("pk"))
        .order_by()
    )
    rows = [*ended.values("day", "status").annotate(n=Sum("count")).order_by(), *runs]
    counts: dict[datetime.date, dict[str, int]] = {}
    for row in rows:
        outcome = OUTCOME_OF.get(row["status"])
        if outcome is not None:
            per_day = counts.setdefault(row["day"], {})
            per_day[outcome] = per_day.get(outcome, 0) + row["n"]
    return counts


def chart(request: HttpRequest, today: datetime.date) -> dict:
    first_day = today - datetime.timedelta(days=CHART_DAYS - 1)
    counts = _counts_by_day(request, first_day)
    days_in_order = [first_day + datetime.timedelta(days=i) for i in range(CHART_DAYS)]
    peak = max((sum(counts.get(d, {}).values()) for d in days_in_order), default=0)
    scale = PLOT_HEIGHT / max(peak, 1)
    days = []
    for index, date in enumerate(days_in_order):
        x = LEFT + BAR_GAP // 2 + index * (BAR_WIDTH + BAR_GAP)
        base = TOP + PLOT_HEIGHT
        segments = []
        per_outcome = [counts.get(date, {}).get(key, 0) for key, _label, _statuses in OUTCOMES]
        for (key, label, _statuses), count in zip(OUTCOMES, per_outcome, strict=True):
            if count:
                height = count * scale
                base -= height
                segments.append(Segment(key, label, count, x, round(base, 2), round(height, 2)))
        total = sum(s.count for s in segments)
        detail = ", ".join(f"{s.count} {s.label.lower()}" for s in segments) or "no runs"
        days.append(
            Day(
                date=date,
                total=total,
                counts=per_outcome,
                segments=segments,
                x=x,
                total_y=round(base - 4, 2),
                label_x=x + BAR_WIDTH // 2,
                tooltip=f"{date:%a %d %b}: {detail}",
            )
        )
    totals = [
        {"key": key, "label": label, "count": sum(c.get(key, 0) for c in counts.values())}
        for key, label, _statuses in OUTCOMES
    ]
    return {
        "days": days,
        "totals": totals,
        "total": sum(t["count"] for t in totals),
        "peak": peak,
        "width": LEFT + CHART_DAYS * (BAR_WIDTH + BAR_GAP),
        "height": TOP + PLOT_HEIGHT + BOTTOM,
        "bar_width": BAR_WIDTH,
        "top": TOP,
        "left": LEFT,
        "baseline": TOP + PLOT_HEIGHT,
        "label_y": TOP + PLOT_HEIGHT + 14,
        "weekday_y": TOP + PLOT_HEIGHT + 27,
        "first_day": first_day,
        "last_day": today,
    }


def _links() -> list[dict]:
    links = [
        {"label": "My flows", "url": reverse("automate:flow-list")},
        {"label": "Templates", "url": reverse("automate:gallery")},
        {"label": "Run history", "url": reverse("automate:run-list")},
    ]
    slugs = {page.slug: page for page in registry.pages.values() if page.kind == "list"}
    for label, slug in LIBRARY_PAGES:
        if slug in slugs:
            links.append({"label": label, "url": slugs[slug].list_url()})
    return links


@require_safe
@company_required
def automate_home(request: HttpRequest) -> HttpResponse:
    recent = with_record(runs_for(request))[:RECENT_RUNS]
    context = {
        "chart": chart(request, timezone.localdate()),
        "links": _links(),
        "recent_runs": [decorate(run) for run in recent],
        "sees_company": bool(getattr(request, "is_company_admin", False)),
    }
    return render(request, "automate/home.html", context)
