"""The role centre's "Requests to Approve" cue: the user's open approval entries.

The tile links to Requests to Approve, which lists the same rows, so the number on the
tile is the number of rows the page shows. One COUNT over the (approver, status) index.
"""

from __future__ import annotations

from django.http import HttpRequest
from django.urls import reverse

from approvals.models import ApprovalEntry
from bcsite.registry import Cue, registry

GROUP = "Approvals"
LABEL = "Requests to Approve"


def requests_to_approve_count(request: HttpRequest) -> int:
    return ApprovalEntry.objects.filter(
        company=request.company, approver=request.user, status=ApprovalEntry.Status.OPEN
    ).count()


def requests_to_approve_url(request: HttpRequest) -> str:
    return reverse("approvals:requests-to-approve")


REQUESTS_TO_APPROVE = Cue(
    group=GROUP,
    label=LABEL,
    count=requests_to_approve_count,
    url=requests_to_approve_url,
    order=150,
)

# Registered once, however often this module is imported or reloaded.
if not any(cue.group == GROUP and cue.label == LABEL for cue in registry.cues):
    registry.register_cue(REQUESTS_TO_APPROVE)
