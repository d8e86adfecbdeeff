"""Registries through which apps extend every page without importing each other.

records declares its pages here; automate and approvals add action groups and cues;
Tell me and the navigation read from here. Registration happens in each app's
``AppConfig.ready``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from django.db.models import Model
    from django.http import HttpRequest

    from bcsite.pages.base import Action, ActionGroup, FactBox, Page


@dataclass(frozen=True)
class Table:
    """A business table that flows, webhooks and approvals can refer to (BC's table no.)."""

    id: int
    name: str
    model: type[Model]


@dataclass(frozen=True)
class TellMeEntry:
    label: str
    category: str  # "Lists", "Documents", "Actions", ...
    url: str


@dataclass(frozen=True)
class Cue:
    """A role-centre tile: a count that links to a filtered list."""

    group: str
    label: str
    count: Callable[[HttpRequest], int]
    url: Callable[[HttpRequest], str]
    order: int = 100


# Extra action groups for every page: provider(page, request, obj) -> groups.
ActionGroupProvider = Callable[["Page", "HttpRequest", Any], Iterable["ActionGroup"]]


@dataclass
class Registry:
    pages: dict[str, Page] = field(default_factory=dict)
    tables: dict[int, Table] = field(default_factory=dict)
    cues: list[Cue] = field(default_factory=list)
    action_group_providers: list[ActionGroupProvider] = field(default_factory=list)
    # (page key or "*", action group key, action)
    custom_actions: list[tuple[str, str, Action]] = field(default_factory=list)
    # (page key or "*", FactBox): boxes shown after the page's own.
    factboxes: list[tuple[str, FactBox]] = field(default_factory=list)

    def register_page(self, page: Page) -> Page:
        if page.key in self.pages:
            raise ValueError(f"A page with the key {page.key!r} is already registered")
        self.pages[page.key] = page
        return page

    def register_table(self, table_id: int, name: str, model: type[Model]) -> Table:
        table = Table(id=table_id, name=name, model=model)
        self.tables[table_id] = table
        return table

    def table_for_model(self, model: type[Model]) -> Table | None:
        return next((t for t in self.tables.values() if t.model is model), None)

    def register_cue(self, cue: Cue) -> None:
        self.cues.append(cue)

    def register_action_groups(self, provider: ActionGroupProvider) -> ActionGroupProvider:
        self.action_group_providers.append(provider)
        return provider

    def register_custom_action(self, page_key: str, group_key: str, action: Action) -> None:
        """Place ``action`` in the group ``group_key`` of page ``page_key`` ("*": every page)."""
        self.custom_actions.append((page_key, group_key, action))

    def register_factbox(self, page_key: str, factbox: FactBox) -> FactBox:
        """Show ``factbox`` on page ``page_key`` ("*": every page that shows a record)."""
        self.factboxes.append((page_key, factbox))
        return factbox


registry = Registry()
