"""List pages: search, filter, sort, keyset paging, row selection for the FactBox pane."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.views.decorators.http import require_safe

from bcsite.pages.actionbar import action_bar
from bcsite.pages.base import ListPage
from bcsite.pages.listing import ListQuery, parse_list_query
from bcsite.pages.paging import InvalidCursor, bounded_count, paginate
from bcsite.pages.rendering import factbox_views, has_factboxes, header_cells, row_views
from bcsite.pages.site import card_page_of, card_page_or_404, list_page_or_404
from bcsite.pages.views.common import check_page, get_record, is_partial, page_view


@require_safe
@page_view
def list_view(request: HttpRequest, slug: str) -> HttpResponse:
    page = list_page_or_404(slug)
    check_page(page, request)
    query = parse_list_query(page, request)
    rows = page.queryset(request)
    rows = query.apply(rows)
    size = page.page_size or settings.LIST_PAGE_SIZE
    try:
        keyset = paginate(
            rows,
            query.sort,
            size=size,
            after=query.after,
            before=query.before,
            salt=query.cursor_salt,
        )
    except InvalidCursor as error:
        return HttpResponseBadRequest(str(error))
    count, more = bounded_count(rows, settings.LIST_COUNT_LIMIT)
    selected = _selected_row(page, request, query, keyset.rows)
    context = {
        **_grid_context(page, query, keyset, selected),
        "count": count,
        "count_more": more,
        "count_limit": settings.LIST_COUNT_LIMIT,
        "actionbar": action_bar(page, request, None, mode="list"),
        "factboxes": factbox_views(page, request, selected),
        # A sort or page swapped in with htmx also refreshes what outside the grid keeps the
        # list's state (the search form's sort, the action bar's return URLs).
        "out_of_band": is_partial(request),
    }
    template = "bcsite/pages/list.html"
    return render(request, f"{template}#grid" if is_partial(request) else template, context)


@require_safe
@page_view
def factboxes_view(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    """The FactBoxes for one row of a list (what htmx loads when a row is clicked), or with
    ``?on=card`` those of its card (what a document reloads when its lines change)."""
    on_card = request.GET.get("on") == "card"
    page = card_page_or_404(slug) if on_card else list_page_or_404(slug)
    record = get_record(page, request, pk)
    if not is_partial(request):
        if on_card:
            return redirect(page.card_url(record))
        return redirect(f"{page.list_url()}?selected={record.pk}")
    context = {"factboxes": factbox_views(page, request, record)}
    return render(request, "bcsite/pages/_factboxes.html", context)


def _grid_context(page: ListPage, query: ListQuery, keyset, selected) -> dict:
    card = card_page_of(page)
    return {
        "page": page,
        "query": query,
        "headers": header_cells(page, query),
        "rows": row_views(
            page,
            keyset.rows,
            query,
            card_url=card.card_url if card is not None else None,
            selected_pk=selected.pk if selected is not None else None,
            with_factboxes=has_factboxes(page),
        ),
        "next_url": query.url(after=keyset.next_cursor) if keyset.next_cursor else None,
        "previous_url": query.url(before=keyset.previous_cursor)
        if keyset.previous_cursor
        else None,
        "first_url": query.url() if not keyset.is_first else None,
    }


def _selected_row(page: ListPage, request: HttpRequest, query: ListQuery, rows: list):
    """The row the FactBoxes describe: the one picked with ``?selected=``, else the first."""
    if not has_factboxes(page):
        return None
    picked = query.selected
    if picked and picked.isascii() and picked.isdigit() and len(picked) <= 18:
        for row in rows:
            if str(row.pk) == picked:
                return row
        return page.queryset(request).filter(pk=int(picked)).first()
    return rows[0] if rows else None
