"""Operating automated flows: the business events they can start on, and the runs going now.

The Business Events page is the catalogue of ``bcsite.events`` (BC's external business
events): what each event carries, and a way to start a flow on it. Runs in progress lists
the queued, running and waiting runs the user may see (``runs_for``), newest first, a page
at a time, with what each is waiting for and a way to cancel it.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from itertools import groupby
from urllib.parse import urlencode

from django.db.models import Count, Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.cache import patch_vary_headers
from django.views.decorators.http import require_safe

from automate.access import flows_for, is_company_admin, runs_for
from automate.models import FlowRun, RunStatus
from automate.views.runs import RUN_SORT, decorate, with_record
from bcsite.events import BusinessEvent, events
from bcsite.pages.paging import Cursor, InvalidCursor, bounded_count
from bcsite.pages.views.common import is_partial
from bcsite.registry import registry
from bcsite.views import company_required

IN_PROGRESS_STATUSES = (RunStatus.QUEUED, RunStatus.RUNNING, RunStatus.WAITING)
IN_PROGRESS_PAGE_SIZE = 50
# Counting stops here: "1,000+" says enough, and the count stays cheap at any backlog.
IN_PROGRESS_COUNT_LIMIT = 1000
CURSOR_SALT = "automate.runs-in-progress"


def _render(request: HttpRequest, template: str, partial: str, context: dict) -> HttpResponse:
    """The page, or only its ``partial`` for an htmx request that swaps it."""
    response = render(
        request, f"{template}#{partial}" if is_partial(request) else template, context
    )
    patch_vary_headers(response, ("HX-Request",))
    return response


# -- Business events --------------------------------------------------------------------------


@dataclass(frozen=True)
class EventEntry:
    event: BusinessEvent
    table_name: str
    flow_count: int
    new_flow_url: str


@dataclass(frozen=True)
class EventCategory:
    name: str
    entries: list[EventEntry]


def event_categories(flow_counts: dict[str, int]) -> list[EventCategory]:
    """The catalogue by category, each with the number of flows on it."""
    new_flow = reverse("automate:flow-new")
    ordered = sorted(events.business_events.values(), key=lambda e: (e.category, e.name))
    return [
        EventCategory(
            name=category,
            entries=[
                EventEntry(
                    event=event,
                    table_name=_table_name(event.table_id),
                    flow_count=flow_counts.get(event.key, 0),
                    new_flow_url=f"{new_flow}?{urlencode({'event': event.key})}",
                )
                for event in group
            ],
        )
        for category, group in groupby(ordered, key=lambda e: e.category)
    ]


def _table_name(table_id: int | None) -> str:
    table = registry.tables.get(table_id) if table_id is not None else None
    return table.name if table else ""


def _flow_counts(request: HttpRequest) -> dict[str, int]:
    """Flows the user may see (the ones My flows lists), per business event: one query."""
    rows = (
        flows_for(request)
        .filter(trigger_type="business_event")
        .order_by()
        .values("trigger_event")
        .annotate(count=Count("pk"))
        .values_list("trigger_event", "count")
    )
    return dict(rows)


@require_safe
@company_required
def business_event_list(request: HttpRequest) -> HttpResponse:
    context = {
        "categories": event_categories(_flow_counts(request)),
        "sees_company": is_company_admin(request),
    }
    return render(request, "automate/operations/business_events.html", context)


# -- Runs in progress -------------------------------------------------------------------------


@dataclass(frozen=True)
class InProgressPage:
    runs: list[FlowRun]
    next_cursor: str | None


def _older_than(cursor: Cursor) -> Q:
    # "created_at <= v AND (created_at < v OR pk < p)": the index range-scans from v.
    return Q(created_at__lte=cursor.value) & (Q(created_at__lt=cursor.value) | Q(pk__lt=cursor.pk))


def in_progress_page(
    runs: QuerySet[FlowRun], *, size: int, after: Cursor | None = None
) -> InProgressPage:
    """Unfinished runs among ``runs``, newest first, the page after ``after``.

    One query per status, merged here: each reads (company, status, created_at) in index
    order and stops after a page, so a page costs the same with a backlog of 100,000
    queued runs as with none. A single ``status IN (...)`` query would sort every
    unfinished run to find the newest.
    """
    found: dict[int, FlowRun] = {}
    for status in IN_PROGRESS_STATUSES:
        matching = runs.filter(status=status)
        if after is not None:
            matching = matching.filter(_older_than(after))
        # A run that moved on (queued to running) between two queries is shown once.
        for run in matching.order_by("-created_at", "-pk")[: size + 1]:
            found.setdefault(run.pk, run)
    rows = sorted(found.values(), key=lambda run: (run.created_at, run.pk), reverse=True)
    has_next = len(rows) > size
    rows = rows[:size]
    next_cursor = None
    if has_next:
        last = rows[-1]
        next_cursor = Cursor(value=last.created_at, pk=last.pk).encode(CURSOR_SALT)
    return InProgressPage(runs=rows, next_cursor=next_cursor)


def _cursor(raw: str | None) -> Cursor | None:
    if not raw:
        return None
    cursor = Cursor.decode(raw, RUN_SORT, CURSOR_SALT)
    if not isinstance(cursor.value, datetime.datetime):
        raise InvalidCursor("Invalid page cursor.")
    return cursor


@require_safe
@company_required
def runs_in_progress(request: HttpRequest) -> HttpResponse:
    base = reverse("automate:runs-in-progress")
    runs = runs_for(request)
    errors = []
    try:
        after = _cursor(request.GET.get("after"))
    except InvalidCursor:
        errors.append("That page link is no longer valid; showing the newest runs.")
        after = None
    page = in_progress_page(with_record(runs), size=IN_PROGRESS_PAGE_SIZE, after=after)
    count, more = bounded_count(
        runs.filter(status__in=IN_PROGRESS_STATUSES), IN_PROGRESS_COUNT_LIMIT
    )
    context = {
        "runs": [decorate(run) for run in page.runs],
        "errors": errors,
        "count": count,
        "count_more": more,
        "sees_company": is_company_admin(request),
        "next_url": f"{base}?{urlencode({'after': page.next_cursor})}" if page.next_cursor else "",
        "first_url": base if after is not None else "",
        "refresh_url": request.get_full_path(),
    }
    return _render(request, "automate/operations/runs_in_progress.html", "grid", context)
