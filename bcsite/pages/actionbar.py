"""The action bar: a page's own actions, its groups, then what other apps add.

Order, as in BC: the built-in actions (New, Edit, Delete), the page's promoted actions, the
page's action groups (Process, Navigate, Related), then the groups of every registered
provider (Automate, Request Approval), with registered custom actions placed in the group
they name. A custom action declared as a ``FlowAction`` becomes an action through the flow
action resolver (Power Automate's), per request; without a resolver it is left out. The
endpoints look actions up here too, so an action that is not offered here
cannot be run.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from django.contrib import messages
from django.core.exceptions import ValidationError

from bcsite.pages.base import Action, ActionGroup, CardPage, FlowAction, ListPage, Page
from bcsite.pages.site import card_page_of
from bcsite.registry import registry

if TYPE_CHECKING:
    from django.http import HttpRequest

Mode = Literal["list", "view", "edit", "new"]
ItemKind = Literal["link", "post", "step", "bulk"]


@dataclass(frozen=True)
class BarItem:
    """An action as the bar draws it: a link, a POST button, a link to a confirmation or
    input step, or a button that submits the list's selected rows."""

    key: str
    label: str
    kind: ItemKind
    url: str
    enabled: bool
    primary: bool = False


@dataclass(frozen=True)
class BarGroup:
    key: str
    label: str
    items: Sequence[BarItem]


@dataclass(frozen=True)
class ActionBar:
    items: Sequence[BarItem]
    groups: Sequence[BarGroup]

    def __bool__(self) -> bool:
        return bool(self.items or self.groups)


def action_bar(page: Page, request: HttpRequest, obj: Any, *, mode: Mode) -> ActionBar:
    promoted, groups = collect_actions(page, request, obj, mode=mode)
    return ActionBar(
        items=[_item(page, request, obj, a) for a in promoted],
        groups=[
            BarGroup(g.key, g.label, [_item(page, request, obj, a) for a in g.actions])
            for g in groups
        ],
    )


def find_action(page: Page, request: HttpRequest, obj: Any, key: str) -> Action | None:
    """The runnable (handler) action ``key`` as the bar offers it on this page and record."""
    mode: Mode = "list" if isinstance(page, ListPage) else "view"
    promoted, groups = collect_actions(page, request, obj, mode=mode)
    for action in [*promoted, *(a for g in groups for a in g.actions)]:
        if action.key == key and action.handler is not None:
            return action
    return None


def collect_actions(
    page: Page, request: HttpRequest, obj: Any, *, mode: Mode
) -> tuple[list[Action], list[ActionGroup]]:
    if mode == "new":
        return [], []
    promoted = [*builtin_actions(page, obj, mode=mode), *page.actions]
    groups: list[ActionGroup] = list(page.action_groups)
    for provider in registry.action_group_providers:
        groups.extend(provider(page, request, obj) or ())
    groups = _merge(groups, _custom_actions(page, request, obj))
    offered = _offered(page, request, obj)
    promoted = [a for a in promoted if offered(a)]
    groups = [ActionGroup(g.key, g.label, [a for a in g.actions if offered(a)]) for g in groups]
    return promoted, [g for g in groups if g.actions]


def builtin_actions(page: Page, obj: Any, *, mode: Mode) -> list[Action]:
    card = card_page_of(page)
    if card is None:
        return []
    actions = []
    if card.create is not None:
        actions.append(Action(key="new", label="New", url=card.new_url(), scope="page"))
    if isinstance(page, ListPage):
        if page.bulk_delete and card.delete is not None:
            actions.append(_bulk_delete_action(page, card))
        return actions
    if card.update is not None and mode == "view":
        actions.append(
            Action(
                key="edit",
                label="Edit",
                url=lambda o, r: card.edit_url(o),
                enabled=lambda o, r: card.reason_readonly(o) is None,
            )
        )
    if card.delete is not None:
        actions.append(
            Action(
                key="delete",
                label="Delete",
                url=lambda o, r: card.delete_url(o),
                enabled=lambda o, r: card.reason_readonly(o) is None,
            )
        )
    return actions


def run_each(
    request: HttpRequest,
    records: Iterable[Any],
    run: Callable[[Any], Any],
    *,
    done: Callable[[int], str],
) -> str | None:
    """Run ``run`` on each record on its own, as BC's batch actions do: one record's refusal
    is reported and the others still go through. Returns the summary of what was done."""
    count = 0
    for record in records:
        try:
            run(record)
        except ValidationError as error:
            for message in error.messages:
                messages.error(request, message)
        else:
            count += 1
    return done(count) if count else None


def _bulk_delete_action(page: ListPage, card: CardPage) -> Action:
    def delete_selected(request: HttpRequest, rows: Any) -> str | None:
        return run_each(
            request,
            rows,
            lambda obj: card.delete(request, obj),
            done=lambda n: f"{n} {_noun(page, card, n)} deleted.",
        )

    return Action(
        key="delete",
        label="Delete",
        handler=delete_selected,
        scope="list",
        confirm=f"Delete the selected {page.title.lower()}?",
    )


def _noun(page: ListPage, card: CardPage, count: int) -> str:
    if count == 1:
        return f"{(card.entity or 'record').lower()} was"
    return f"{page.title.lower()} were"


def _scopes(page: Page) -> set[str]:
    return {"list", "page"} if isinstance(page, ListPage) else {"record", "page"}


def _offered(page: Page, request: HttpRequest, obj: Any) -> Callable[[Action], bool]:
    scopes = _scopes(page)
    return lambda action: action.scope in scopes and action.is_visible(obj, request)


def _custom_actions(page: Page, request: HttpRequest, obj: Any) -> list[tuple[str, Action]]:
    placed = []
    for key, group, action in registry.custom_actions:
        if key not in (page.key, "*"):
            continue
        if isinstance(action, FlowAction):
            if action.scope not in _scopes(page):
                continue  # not offered here: spare the resolver its lookups
            resolver = registry.flow_action_resolver
            action = resolver(page, request, obj, action) if resolver is not None else None
            if action is None:
                continue
        placed.append((group, action))
    return placed


def _merge(groups: list[ActionGroup], extra: list[tuple[str, Action]]) -> list[ActionGroup]:
    """Groups with one key become one (first label wins); custom actions join their group."""
    merged: dict[str, tuple[str, list[Action]]] = {}
    for group in groups:
        label, actions = merged.setdefault(group.key, (group.label, []))
        actions.extend(group.actions)
    for group_key, action in extra:
        label = group_key.replace("_", " ").replace("-", " ").title()
        merged.setdefault(group_key, (label, []))[1].append(action)
    return [ActionGroup(key, label, actions) for key, (label, actions) in merged.items()]


def _item(page: Page, request: HttpRequest, obj: Any, action: Action) -> BarItem:
    enabled = action.is_enabled(obj, request)
    if action.url is not None:
        kind: ItemKind = "link"
        url = action.resolve_url(obj, request)
    elif isinstance(page, ListPage):
        kind = "bulk" if action.scope == "list" else ("step" if action.has_step else "post")
        url = page.url("list-action", action.key)
    else:
        kind = "step" if action.has_step else "post"
        url = page.url("action", obj.pk, action.key)
    return BarItem(action.key, action.label, kind, url, enabled, action.primary)
