"""Finding pages: by key, by URL slug, by model; Tell me's and the navigation's view of them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.http import Http404

from bcsite.pages.base import CardPage, ListPage, Page
from bcsite.registry import TellMeEntry, registry

if TYPE_CHECKING:
    from django.http import HttpRequest


@dataclass(frozen=True)
class SlugPages:
    """The pages behind one URL segment: a list, a card (or document), or both."""

    list: ListPage | None
    card: CardPage | None


def pages_for_slug(slug: str) -> SlugPages:
    list_page = card_page = None
    for page in registry.pages.values():
        if page.slug != slug:
            continue
        if isinstance(page, ListPage):
            list_page = page
        elif isinstance(page, CardPage):
            card_page = page
    return SlugPages(list=list_page, card=card_page)


def is_page_slug(slug: str) -> bool:
    return any(page.slug == slug for page in registry.pages.values())


def get_page(key: str) -> Page:
    return registry.pages[key]


def list_page_or_404(slug: str) -> ListPage:
    page = pages_for_slug(slug).list
    if page is None:
        raise Http404("This page has no list.")
    return page


def card_page_or_404(slug: str) -> CardPage:
    page = pages_for_slug(slug).card
    if page is None:
        raise Http404("This page has no card.")
    return page


def card_page_of(page: Page) -> CardPage | None:
    if isinstance(page, CardPage):
        return page
    key = getattr(page, "card_page", None)
    return registry.pages.get(key) if key else None  # type: ignore[return-value]


def list_page_of(page: Page) -> ListPage | None:
    if isinstance(page, ListPage):
        return page
    key = getattr(page, "list_page", None)
    return registry.pages.get(key) if key else None  # type: ignore[return-value]


def card_page_for_model(model: type) -> CardPage | None:
    return next(
        (p for p in registry.pages.values() if isinstance(p, CardPage) and p.model is model),
        None,
    )


def lookup_page_for_model(model: type) -> ListPage | None:
    """The list that No. inputs for ``model`` look records up in, if one offers a lookup."""
    return next(
        (
            p
            for p in registry.pages.values()
            if isinstance(p, ListPage) and p.model is model and p.lookup is not None
        ),
        None,
    )


def card_url_for(obj: Any) -> str | None:
    """The card or document that shows ``obj``, for links from flows, approvals, emails."""
    page = card_page_for_model(type(obj))
    return page.card_url(obj) if page is not None else None


def tell_me_entries(request: HttpRequest) -> list[TellMeEntry]:
    """Every list page ("Lists"), every other page in the navigation ("Pages": Requests to
    Approve, Workflows, My flows...) and every New action ("Actions") the user may open."""
    if getattr(request, "company", None) is None:
        return []
    pages = sorted(
        (p for p in registry.pages.values() if p.allows(request)),
        key=lambda p: (p.nav_order, p.title),
    )
    entries = [
        TellMeEntry(label=p.title, category="Lists", url=p.list_url())
        for p in pages
        if isinstance(p, ListPage)
    ]
    for page in pages:
        if isinstance(page, CardPage) and page.create is not None and page.entity:
            entries.append(
                TellMeEntry(label=f"New {page.entity}", category="Actions", url=page.new_url())
            )
    for entry in sorted(registry.nav_entries, key=lambda e: (e.group, e.order, e.title)):
        if entry.allowed is None or entry.allowed(request):
            entries.append(TellMeEntry(label=entry.title, category="Pages", url=entry.url()))
    return entries
