"""The role centre's "Failed flow runs" cue: the user's flows' failed runs of the last week.

The tile links to the run list with the same filters (status, days, mine), so the number
on the tile is the number of rows the list shows.
"""

from __future__ import annotations

import datetime

from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone

from automate.access import request_automate_refusal
from automate.models import FlowRun, RunStatus
from bcsite.registry import Cue, registry

GROUP = "Power Automate"
DAYS = 7


def failed_runs_count(request: HttpRequest) -> int:
    since = timezone.now() - datetime.timedelta(days=DAYS)
    return FlowRun.objects.filter(
        company=request.company,
        flow__owner=request.user,
        status=RunStatus.FAILED,
        created_at__gte=since,
    ).count()


def failed_runs_url(request: HttpRequest) -> str:
    return f"{reverse('automate:run-list')}?status={RunStatus.FAILED}&days={DAYS}&mine=1"


FAILED_RUNS = Cue(
    group=GROUP,
    label="Failed flow runs",
    count=failed_runs_count,
    url=failed_runs_url,
    order=200,
    allowed=lambda request: request_automate_refusal(request) is None,
)

registry.register_cue(FAILED_RUNS)
