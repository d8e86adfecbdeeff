"""Registries through which apps extend every page without importing each other.

records declares its pages and tables here; automate and approvals add action groups and
cues; Tell me and the navigation read from here. Registration happens in each app's
``AppConfig.ready``.
"""

from __future__ import annotations

import datetime
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cache
from typing import TYPE_CHECKING, Any

from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.db import models

if TYPE_CHECKING:
    from django.http import HttpRequest

    from bcsite.pages.base import Action, ActionGroup, FactBox, FlowAction, Page


# The kinds of value a table field holds, as JSON carries them.
FIELD_TYPES = ("text", "integer", "number", "boolean", "date", "datetime", "uuid", "option")
# Primary keys and integer columns are 64-bit at most.
_INTEGER_LIMIT = 2**63


@dataclass(frozen=True)
class TableField:
    """A field as flows and the API name it: ``number`` is the attribute ``no``.

    ``attribute`` is a path through relations with ``__`` (``customer__no``), as in a
    query, so the same field can be read from a row, filtered and sorted on. An ``option``
    is shown by its caption ("Released") and accepts the caption or the stored value.
    """

    api_name: str
    attribute: str
    label: str
    type: str = "text"
    writable: bool = False

    def __post_init__(self) -> None:
        if self.type not in FIELD_TYPES:
            raise ValueError(f"Unknown field type {self.type!r} for {self.api_name!r}")


# Operations an app registers for its table; each raises ValidationError when refused.
CreateOperation = Callable[[Any, Any, dict], Any]  # (company, user, fields) -> record
UpdateOperation = Callable[[Any, Any, dict], Any]  # (record, user, fields) -> record
DeleteOperation = Callable[[Any, Any], None]  # (record, user)
RecordAction = Callable[[Any, Any], Any]  # (record, user) -> record or result


# Compared by identity: one table per id, and its operations are functions.
@dataclass(frozen=True, eq=False)
class Table:
    """A business table that flows, webhooks, approvals and the API refer to (BC's table no.).

    ``entity`` and ``entity_set`` are the API names ("customer", "customers"); ``fields``
    the fields records are read and written with. ``id_field`` is the attribute of the
    record's id (its system id), ``number_field`` that of its No., ``company_field`` the
    path to its company. A record's page is the card ``page_key`` names, unless
    ``page_url`` builds the URL (a line opens its document). ``create``, ``update``,
    ``delete`` and ``actions`` take API-named fields; a table without them is read-only.
    """

    id: int
    name: str
    model: type[models.Model]
    entity: str = ""
    entity_set: str = ""
    fields: tuple[TableField, ...] = ()
    id_field: str = "system_id"
    number_field: str | None = None
    display_field: str | None = None
    company_field: str = "company"
    page_key: str | None = None
    page_url: Callable[[Any], str | None] | None = None
    create: CreateOperation | None = None
    update: UpdateOperation | None = None
    delete: DeleteOperation | None = None
    actions: Mapping[str, RecordAction] = field(default_factory=dict)

    def field(self, api_name: str) -> TableField | None:
        return next((f for f in self.fields if f.api_name == api_name), None)

    def model_field(self, table_field: TableField) -> models.Field | None:
        """The database column behind ``table_field``; None for a computed value."""
        return _model_field(self.model, table_field.attribute)

    def api_name(self, attribute: str) -> str:
        """The API name of a service's field name (``credit_limit`` -> ``creditLimit``)."""
        for table_field in self.fields:
            if table_field.attribute == attribute:
                return table_field.api_name
        for table_field in self.fields:
            if table_field.writable and table_field.attribute.startswith(f"{attribute}__"):
                return table_field.api_name
        return attribute

    # -- Reading ------------------------------------------------------------------------

    def rows(self) -> models.QuerySet:
        """Every company's rows, with the relations the fields read."""
        rows = self.model._default_manager.all()
        related = _relations(self.model, [f.attribute for f in self.fields])
        return rows.select_related(*related) if related else rows

    def queryset(self, company: Any) -> models.QuerySet:
        """The company's rows, with the relations the fields read.

        The company itself is fetched once for the page rather than joined: with the join,
        SQLite's planner sorts the whole table instead of walking the (company, key) index
        (150 ms instead of 1 ms at 100,000 orders)."""
        rows = self.model._default_manager.filter(**{self.company_field: company})
        related = _relations(self.model, [f.attribute for f in self.fields])
        company_paths = [
            p for p in related if p == self.company_field or p.startswith(f"{self.company_field}__")
        ]
        joined = [p for p in related if p not in company_paths]
        rows = rows.select_related(*joined) if joined else rows
        return rows.prefetch_related(*company_paths) if company_paths else rows

    def get(self, company: Any, key: Any) -> models.Model | None:
        """The company's record whose id or No. is ``key``; None if it has none."""
        text = "" if key is None or isinstance(key, bool) else str(key).strip()
        if not text or "\x00" in text:
            return None  # no key holds a NUL (PostgreSQL cannot even compare one)
        rows = self.queryset(company)
        for attribute in dict.fromkeys(a for a in (self.id_field, self.number_field) if a):
            values = _key_values(_model_field(self.model, attribute), text)
            if values:
                found = rows.filter(**{f"{attribute}__in": values}).first()
                if found is not None:
                    return found
        return None

    def to_dict(self, obj: models.Model) -> dict[str, Any]:
        """The record's fields by API name, as JSON values (amounts are numbers)."""
        return {f.api_name: self._json_value(obj, f) for f in self.fields}

    def record_url(self, obj: models.Model) -> str | None:
        """The path of the page that shows ``obj``."""
        if self.page_url is not None:
            return self.page_url(obj)
        page = registry.pages.get(self.page_key) if self.page_key else None
        return page.card_url(obj) if page is not None else None

    def _json_value(self, obj: models.Model, table_field: TableField) -> Any:
        value = _attribute_value(obj, table_field.attribute)
        if value is None:
            return None
        if table_field.type == "option":
            return _option_caption(self.model_field(table_field), value)
        if isinstance(value, Decimal):
            return float(value)
        if isinstance(value, datetime.date | datetime.datetime):
            return value.isoformat()
        if isinstance(value, uuid.UUID):
            return str(value)
        if isinstance(value, bool | int | float | str):
            return value
        return str(value)

    # -- Writing ------------------------------------------------------------------------

    def values_from_api(self, data: Any) -> dict[str, Any]:
        """Turn API-named fields into attribute values; refuse unknown and read-only fields.

        Options become their stored values and JSON numbers exact decimals; the services
        check everything else. Errors are keyed by API name.
        """
        if not isinstance(data, dict):
            raise ValidationError(
                f"The fields must be an object of field names and values, "
                f'e.g. {{"{self._example_field()}": "..."}}.'
            )
        values: dict[str, Any] = {}
        errors: dict[str, list[str]] = {}
        for name, value in data.items():
            table_field = self.field(name)
            if table_field is None:
                writable = ", ".join(f.api_name for f in self.fields if f.writable)
                errors[name] = [
                    f"The field {name} does not exist in {self.name}. "
                    f"The fields that can be set are: {writable or 'none'}."
                ]
            elif not table_field.writable:
                errors[name] = [f"{table_field.label} ({name}) cannot be changed in {self.name}."]
            else:
                try:
                    values[table_field.attribute] = self._value_from_api(table_field, value)
                except ValidationError as error:
                    errors[name] = error.messages
        if errors:
            raise ValidationError(errors)
        return values

    def _value_from_api(self, table_field: TableField, value: Any) -> Any:
        if table_field.type == "option" and value is not None:
            return _option_value(self.model_field(table_field), table_field.label, value)
        # A JSON number arrives as a float; its digits as written are what was meant.
        if table_field.type == "number" and isinstance(value, float):
            return Decimal(repr(value))
        if table_field.type == "number" and isinstance(value, int) and not isinstance(value, bool):
            return Decimal(value)
        return value

    def _example_field(self) -> str:
        return next((f.api_name for f in self.fields if f.writable), "number")


@cache
def _model_field(model: type[models.Model], attribute: str) -> models.Field | None:
    current: Any = model
    model_field = None
    for part in attribute.split("__"):
        if current is None:
            return None
        try:
            model_field = current._meta.pk if part == "pk" else current._meta.get_field(part)
        except FieldDoesNotExist:
            return None
        current = model_field.related_model if model_field.is_relation else None
    if model_field is None or model_field.is_relation or not model_field.concrete:
        return None
    return model_field


def _relations(model: type[models.Model], attributes: Iterable[str]) -> list[str]:
    """The forward relations that ``attributes`` go through, for ``select_related``."""
    paths: list[str] = []
    for attribute in attributes:
        parts = attribute.split("__")
        current: Any = model
        for depth, part in enumerate(parts[:-1], start=1):
            try:
                relation = current._meta.get_field(part)
            except FieldDoesNotExist:
                break
            if not (relation.many_to_one or relation.one_to_one):
                break
            paths.append("__".join(parts[:depth]))
            current = relation.related_model
    return list(dict.fromkeys(paths))


def _attribute_value(obj: Any, attribute: str) -> Any:
    value = obj
    for part in attribute.split("__"):
        if value is None:
            return None
        value = getattr(value, part)
    return value


def _key_values(model_field: models.Field | None, text: str) -> list[Any]:
    """The values ``text`` can stand for in a key column; none if it cannot be one."""
    if model_field is None:
        return []
    if isinstance(model_field, models.UUIDField):
        try:
            return [uuid.UUID(text)]
        except ValueError:
            return []
    if isinstance(model_field, models.IntegerField | models.AutoField):
        # isdigit() also accepts "¹" and "٣", which int() refuses.
        if not (text.isascii() and text.isdigit()) or len(text) > 19 or int(text) >= _INTEGER_LIMIT:
            return []
        return [int(text)]
    # Numbers are stored upper case, but a record typed otherwise is still found.
    return list(dict.fromkeys([text, text.upper()]))


def _option_caption(model_field: models.Field | None, value: Any) -> Any:
    if model_field is None or not model_field.choices:
        return value
    return str(dict(model_field.flatchoices).get(value, value))


def _option_value(model_field: models.Field | None, label: str, value: Any) -> Any:
    if model_field is None or not model_field.choices:
        return value
    wanted = str(value).strip().casefold()
    for stored, caption in model_field.flatchoices:
        if str(stored).casefold() == wanted or str(caption).strip().casefold() == wanted:
            return stored
    options = ", ".join(str(c).strip() or "' ' (blank)" for _, c in model_field.flatchoices)
    raise ValidationError(f"{value} is not an option of {label}. The options are: {options}.")


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
    # allowed(request): whether the user sees the tile at all.
    allowed: Callable[[HttpRequest], bool] | None = None


@dataclass(frozen=True)
class NavEntry:
    """A navigation link to a view that is not a declared list page (Automate home, ...)."""

    group: str
    title: str
    url: Callable[[], str]
    order: int = 100
    allowed: Callable[[HttpRequest], bool] | None = None


# Extra action groups for every page: provider(page, request, obj) -> groups.
ActionGroupProvider = Callable[["Page", "HttpRequest", Any], Iterable["ActionGroup"]]
# resolver(page, request, obj, declaration) -> the Action a FlowAction stands for on this
# page for this user, or None to leave it out.
FlowActionResolver = Callable[["Page", "HttpRequest", Any, "FlowAction"], "Action | None"]
# guard(records, user, operation) -> why the operation is refused now, or None. ``records``
# are of one model; operations: "modify" and "delete" a record, "use" it on a document,
# "release" a document.
RecordGuard = Callable[[list, Any, str], "str | None"]
# holder(record, user, changes) -> {attribute: message} for the changes it holds back (for
# an approval); ``changes`` maps attributes to (old, new).
ChangeHolder = Callable[[Any, Any, dict], dict]
# seeder(company, users by name) -> {what: number created}: demo data other apps add.
DemoSeeder = Callable[[Any, dict], dict]


@dataclass
class Registry:
    pages: dict[str, Page] = field(default_factory=dict)
    tables: dict[int, Table] = field(default_factory=dict)
    cues: list[Cue] = field(default_factory=list)
    action_group_providers: list[ActionGroupProvider] = field(default_factory=list)
    # (page key or "*", action group key, action or FlowAction declaration)
    custom_actions: list[tuple[str, str, Action | FlowAction]] = field(default_factory=list)
    # Turns FlowAction declarations into actions; None: they are left out.
    flow_action_resolver: FlowActionResolver | None = None
    # (page key or "*", FactBox): boxes shown after the page's own.
    factboxes: list[tuple[str, FactBox]] = field(default_factory=list)
    nav_entries: list[NavEntry] = field(default_factory=list)
    record_guards: list[RecordGuard] = field(default_factory=list)
    change_holders: list[ChangeHolder] = field(default_factory=list)
    demo_seeders: list[DemoSeeder] = field(default_factory=list)

    def register_page(self, page: Page) -> Page:
        if page.key in self.pages:
            raise ValueError(f"A page with the key {page.key!r} is already registered")
        self.pages[page.key] = page
        return page

    def register_table(
        self, table_id: int, name: str, model: type[models.Model], **options: Any
    ) -> Table:
        """Declare table ``table_id``; ``options`` are the other fields of ``Table``."""
        from bcsite.events import connect_record_signals

        table = Table(id=table_id, name=name, model=model, **options)
        self.tables[table_id] = table
        connect_record_signals(table)
        return table

    def table_for_model(self, model: type[models.Model]) -> Table | None:
        return next((t for t in self.tables.values() if t.model is model), None)

    def find_table(self, key: Any) -> Table | None:
        """The table a flow or a URL names: its number, name, entity or entity set."""
        if isinstance(key, bool):
            return None
        if isinstance(key, int):
            return self.tables.get(key)
        text = str(key or "").strip()
        if text.isdigit() and len(text) < 10:
            return self.tables.get(int(text))
        wanted = text.casefold()
        return next(
            (
                t
                for t in self.tables.values()
                if wanted
                and wanted in (t.name.casefold(), t.entity.casefold(), t.entity_set.casefold())
            ),
            None,
        )

    def register_nav_entry(self, entry: NavEntry) -> None:
        self.nav_entries.append(entry)

    def register_cue(self, cue: Cue) -> None:
        self.cues.append(cue)

    def register_action_groups(self, provider: ActionGroupProvider) -> ActionGroupProvider:
        self.action_group_providers.append(provider)
        return provider

    def register_custom_action(
        self, page_key: str, group_key: str, action: Action | FlowAction
    ) -> None:
        """Place ``action`` in the group ``group_key`` of page ``page_key`` ("*": every page).

        A ``FlowAction`` is a declaration that the flow action resolver turns into an
        action as each page is drawn."""
        self.custom_actions.append((page_key, group_key, action))

    def register_flow_action_resolver(self, resolver: FlowActionResolver) -> FlowActionResolver:
        """The one function that turns ``FlowAction`` declarations into actions (the app
        that runs flows registers it; registering again replaces it)."""
        self.flow_action_resolver = resolver
        return resolver

    def register_factbox(self, page_key: str, factbox: FactBox) -> FactBox:
        """Show ``factbox`` on page ``page_key`` ("*": every page that shows a record)."""
        self.factboxes.append((page_key, factbox))
        return factbox

    def register_record_guard(self, guard: RecordGuard) -> RecordGuard:
        self.record_guards.append(guard)
        return guard

    def guard_refusal(self, records: Any, user: Any, operation: str) -> str | None:
        """Why another app refuses ``operation`` on ``records`` (one record or a list of
        one model's records) now: a pending approval, a record restricted until approved."""
        records = list(records) if isinstance(records, list | tuple) else [records]
        for guard in self.record_guards if records else ():
            refusal = guard(records, user, operation)
            if refusal:
                return refusal
        return None

    def check_guards(
        self, records: Any, user: Any, operation: str, *, field: str | None = None
    ) -> None:
        """Raise the refusal as a ValidationError (on ``field`` when given)."""
        refusal = self.guard_refusal(records, user, operation)
        if refusal:
            raise ValidationError({field: [refusal]} if field else refusal)

    def register_change_holder(self, holder: ChangeHolder) -> ChangeHolder:
        self.change_holders.append(holder)
        return holder

    def hold_changes(self, record: Any, user: Any, changes: dict) -> dict[str, str]:
        """The changes other apps hold back (sent for approval), with what to tell the user.
        Call it inside the change's transaction: what holds a change records it there."""
        held: dict[str, str] = {}
        for holder in self.change_holders:
            pending = {a: c for a, c in changes.items() if a not in held}
            if pending:
                held.update(holder(record, user, pending))
        return held

    def register_demo_seeder(self, seeder: DemoSeeder) -> DemoSeeder:
        if seeder not in self.demo_seeders:
            self.demo_seeders.append(seeder)
        return seeder


registry = Registry()
