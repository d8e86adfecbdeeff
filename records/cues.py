"""The role centre's Activities cues: counts of the company's rows that open filtered lists.

Each count is one COUNT over an index that starts with the company; each link is the list
page's own URL with the filter that selects exactly the rows counted.
"""

from __future__ import annotations

from collections.abc import Callable

from django.db import models
from django.http import HttpRequest
from django.utils import timezone

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
    label: str,
    model: type[models.Model],
    lookups: Callable[[], dict],
    params: Callable[[], dict],
    order: int,
) -> Cue:
    """A cue over ``model``; ``lookups`` and ``params`` are called per request (dates move)."""

    def count(request: HttpRequest) -> int:
        return model._default_manager.filter(company=request.company, **lookups()).count()

    def url(request: HttpRequest) -> str:
        return list_page_for(model).list_url(**params())

    return Cue(group=GROUP, label=label, count=count, url=url, order=order)


def _status(status: SalesOrder.Status) -> Cue:
    return _cue(
        f"Sales Orders - {status.label}",
        SalesOrder,
        lambda: {"status": status},
        lambda: {"status": status.value},
        order={"open": 10, "released": 20, "pending_approval": 30}[status.value],
    )


def _today() -> dict:
    return {"posting_date": timezone.localdate().isoformat()}


CUES = [
    _status(SalesOrder.Status.OPEN),
    _status(SalesOrder.Status.RELEASED),
    _status(SalesOrder.Status.PENDING_APPROVAL),
    # "Blocked" means blocked for everything, which is what the list's Blocked filter selects.
    _cue(
        "Customers - Blocked",
        Customer,
        lambda: {"blocked": Customer.Blocked.ALL},
        lambda: {"blocked": Customer.Blocked.ALL.value},
        order=40,
    ),
    _cue(
        "Items - Blocked",
        Item,
        lambda: {"blocked": True},
        lambda: {"blocked": "yes"},
        order=50,
    ),
    _cue("Posted Sales Invoices - Today", PostedSalesInvoice, _today, _today, order=60),
]

for _c in CUES:
    registry.register_cue(_c)
