"""The role centre's Activities cues: counts of the company's rows that open filtered lists.

Each cue is a list page and the filters it opens with (BC filter expressions, as people
type them in the filter pane). The count is taken with the list's own filtering, so the
number on the tile is the number of rows the list shows; each count is one COUNT over an
index that starts with the company.
"""

from __future__ import annotations

from collections.abc import Callable

from django.db import models
from django.http import HttpRequest
from django.utils import timezone

from bcsite.pages.listing import filter_rows
from bcsite.registry import Cue, registry
from records.models import Customer, Item, PostedSalesInvoice, SalesOrder

GROUP = "Activities"


def list_page_for(model: type[models.Model]):
    """The list page of ``model``: cues follow the page wherever its URL goes."""
    for page in registry.pages.values():
        if page.kind == "list" and page.model is model:
            return page
    raise LookupError(f"No list page shows {model.__name__}")


def _cue(
    label: str, model: type[models.Model], filters: Callable[[], dict[str, str]], order: int
) -> Cue:
    """A cue over ``model``'s list; ``filters`` is called per request (dates move)."""

    def count(request: HttpRequest) -> int:
        page = list_page_for(model)
        rows = filter_rows(page, page.queryset(request), filters(), company=request.company)
        return rows.count()

    def url(request: HttpRequest) -> str:
        return list_page_for(model).list_url(**filters())

    return Cue(group=GROUP, label=label, count=count, url=url, order=order)


def _status(status: SalesOrder.Status, order: int) -> Cue:
    return _cue(
        f"Sales Orders - {status.label}", SalesOrder, lambda: {"status": status.value}, order
    )


def _today() -> dict[str, str]:
    return {"posting_date": timezone.localdate().isoformat()}


CUES = [
    _status(SalesOrder.Status.OPEN, 10),
    _status(SalesOrder.Status.RELEASED, 20),
    _status(SalesOrder.Status.PENDING_APPROVAL, 30),
    # Blocked for anything (ship, invoice or all): "not blank", as BC's cue counts them.
    _cue("Customers - Blocked", Customer, lambda: {"blocked": "<>''"}, order=40),
    _cue("Items - Blocked", Item, lambda: {"blocked": "yes"}, order=50),
    _cue("Posted Sales Invoices - Today", PostedSalesInvoice, _today, order=60),
]

for _c in CUES:
    registry.register_cue(_c)
