"""Looking records up as people type a No.: the options of an input's datalist."""

from __future__ import annotations

from functools import reduce
from operator import or_

from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_safe

from bcsite.pages.base import ListPage
from bcsite.pages.forms import SEARCH_MAX_LENGTH
from bcsite.pages.listing import clean_text
from bcsite.pages.site import list_page_or_404
from bcsite.pages.views.common import check_page, page_view


@require_safe
@page_view
def lookup_view(request: HttpRequest, slug: str) -> HttpResponse:
    """Up to ``lookup.limit`` rows of the list whose No. starts with, or whose name contains,
    the typed text, as ``<option>``s. The input names its parameter with ``?field=``, so
    any input (``customer``, ``line-7-item``) can ask without renaming itself."""
    page = list_page_or_404(slug)
    check_page(page, request)
    if page.lookup is None:
        raise Http404("This list offers no lookup.")
    param = request.GET.get("field") or "q"
    text = clean_text(request.GET.get(param, ""))[:SEARCH_MAX_LENGTH]
    options = [
        (getattr(row, page.lookup.key), str(row)) for row in lookup_rows(page, request, text)
    ]
    return render(request, "bcsite/pages/_lookup_options.html", {"options": options})


def lookup_rows(page: ListPage, request: HttpRequest, text: str) -> list:
    """No. prefix matches first (what people type most), then name matches, in No. order.

    Two bounded queries at most, each ordered by the (company, No.) index.
    """
    lookup = page.lookup
    assert lookup is not None
    rows = page.queryset(request).order_by(lookup.key, "pk")
    if not text:
        return list(rows[: lookup.limit])
    found = list(rows.filter(**{f"{lookup.key}__istartswith": text})[: lookup.limit])
    if len(found) < lookup.limit and lookup.contains:
        terms = [Q(**{f"{name}__icontains": text}) for name in lookup.contains]
        more = rows.filter(reduce(or_, terms)).exclude(**{f"{lookup.key}__istartswith": text})
        found += list(more[: lookup.limit - len(found)])
    return found
