"""Events: what happened to business data, told to whoever listens (flows, webhooks).

Two kinds, as Business Central has them:

- **Record events**: a record of a registered table was created, modified or deleted. They
  are raised by Django's model signals, so every save through the ORM counts, whatever
  made it (a page, a flow, the API, the admin). ``bulk_create`` and queryset ``update``
  are not saves and raise nothing; the services use them only for computed columns
  (balances, inventory), which are BC's FlowFields and never trigger either.
- **Business events**: named happenings an app declares in a catalogue with the fields of
  their payload (``salesOrderReleased``), raised by its services with ``emit``.

Listeners run inside the transaction of the change, so what they write (an outbox row)
commits or rolls back with it. A listener must be quick and must not call out.
"""

from __future__ import annotations

import contextlib
import contextvars
import datetime
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from django.db import models
from django.db.models.signals import post_delete, post_save, pre_delete, pre_save
from django.utils import timezone

from bcsite.registry import Table, registry

CREATED, MODIFIED, DELETED = "created", "modified", "deleted"

# The user whose action is changing records now: a request's user, a flow's owner.
_acting_user: contextvars.ContextVar[Any] = contextvars.ContextVar("acting_user", default=None)


# What is making the changes, when it is not a person at a page: "flow:12".
_origin: contextvars.ContextVar[str] = contextvars.ContextVar("change_origin", default="")


@contextlib.contextmanager
def acting_as(user, *, origin: str = "") -> Iterator[None]:
    """Record changes made inside the block are made by ``user``, through ``origin``."""
    token = _acting_user.set(user)
    origin_token = _origin.set(origin)
    try:
        yield
    finally:
        _origin.reset(origin_token)
        _acting_user.reset(token)


def acting_user():
    return _acting_user.get()


def change_origin() -> str:
    return _origin.get()


class ActingUserMiddleware:
    """Changes made while answering a request are made by its signed-in user."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = request.user if request.user.is_authenticated else None
        with acting_as(user):
            return self.get_response(request)


@dataclass(frozen=True)
class PayloadField:
    name: str
    type: str  # text, number, integer, boolean, date, datetime, uuid
    description: str


@dataclass(frozen=True)
class BusinessEvent:
    """An entry of the business event catalogue: BC's external business events."""

    key: str  # "salesOrderReleased"
    name: str  # "Sales order released"
    category: str  # "Sales"
    description: str
    payload: tuple[PayloadField, ...]
    table_id: int | None = None  # the table whose record the event is about
    version: str = "1.0"

    def field_names(self) -> list[str]:
        return [f.name for f in self.payload]


@dataclass(frozen=True)
class RecordEvent:
    kind: str  # created / modified / deleted
    table: Table
    record: models.Model
    company_id: int
    values: dict[str, Any]  # the record's fields by API name (the last ones, when deleted)
    changed: tuple[str, ...] = ()  # API names of the fields a modification changed
    previous: dict[str, Any] = field(default_factory=dict)  # their values before it
    user: Any = None


@dataclass(frozen=True)
class RaisedBusinessEvent:
    event: BusinessEvent
    company_id: int
    payload: dict[str, Any]
    time: datetime.datetime
    record: models.Model | None = None
    user: Any = None


RecordListener = Callable[[RecordEvent], None]
BusinessListener = Callable[[RaisedBusinessEvent], None]
# Before a save: does anyone want to know what this modification changed? (table, company id)
InterestCheck = Callable[[Table, int], bool]


@dataclass
class EventHub:
    business_events: dict[str, BusinessEvent] = field(default_factory=dict)
    record_listeners: list[tuple[RecordListener, InterestCheck]] = field(default_factory=list)
    business_listeners: list[BusinessListener] = field(default_factory=list)

    def declare(self, event: BusinessEvent) -> BusinessEvent:
        if event.key in self.business_events:
            raise ValueError(f"The business event {event.key!r} is already declared")
        self.business_events[event.key] = event
        return event

    def listen_to_records(self, listener: RecordListener, *, interested: InterestCheck) -> None:
        """``interested(table, company_id)`` says before a change whether ``listener`` wants
        it; only then is the record read before the change to tell what changed."""
        self.record_listeners.append((listener, interested))

    def listen_to_business_events(self, listener: BusinessListener) -> None:
        self.business_listeners.append(listener)

    def emit(self, key: str, *, company_id: int, payload: dict, record=None) -> None:
        """Raise business event ``key``. Call it inside the transaction of the change."""
        event = self.business_events[key]
        unknown = set(payload) - set(event.field_names())
        if unknown:
            raise ValueError(f"{key}: fields not in the catalogue: {', '.join(sorted(unknown))}")
        raised = RaisedBusinessEvent(
            event=event,
            company_id=company_id,
            payload={name: payload.get(name) for name in event.field_names()},
            time=timezone.now(),
            record=record,
            user=acting_user(),
        )
        for listener in self.business_listeners:
            listener(raised)


events = EventHub()


# -- Record events from model signals -----------------------------------------------------

_BEFORE = "_bcsite_values_before_save"


def _table_of(sender) -> Table | None:
    return registry.table_for_model(sender)


def _company_id(table: Table, instance) -> int | None:
    """The record's company id, read through the relations the record already holds."""
    *path, last = table.company_field.split("__")
    value = instance
    for part in path:
        value = getattr(value, part, None)
        if value is None:
            return None
    return getattr(value, f"{last}_id", None)


def _interested(table: Table, company_id) -> list[RecordListener]:
    return [
        listener
        for listener, interested in events.record_listeners
        if company_id is not None and interested(table, company_id)
    ]


def _before_save(sender, instance, raw=False, **kwargs) -> None:
    table = _table_of(sender)
    if raw or table is None or instance._state.adding or instance.pk is None:
        return
    if not _interested(table, _company_id(table, instance)):
        return
    old = table.rows().filter(pk=instance.pk).first()
    if old is not None:
        setattr(instance, _BEFORE, table.to_dict(old))


def _after_save(sender, instance, created, raw=False, **kwargs) -> None:
    table = _table_of(sender)
    if raw or table is None:
        return
    company_id = _company_id(table, instance)
    listeners = _interested(table, company_id)
    before = instance.__dict__.pop(_BEFORE, None)
    if not listeners:
        return
    values = table.to_dict(instance)
    if created:
        event = RecordEvent(CREATED, table, instance, company_id, values, user=acting_user())
    else:
        before = before or {}
        changed = tuple(
            name
            for name, value in values.items()
            if name != "lastModifiedDateTime" and name in before and before[name] != value
        )
        if not changed:
            return
        event = RecordEvent(
            MODIFIED,
            table,
            instance,
            company_id,
            values,
            changed=changed,
            previous={name: before[name] for name in changed},
            user=acting_user(),
        )
    for listener in listeners:
        listener(event)


def records_created(model: type[models.Model], records: list[models.Model]) -> None:
    """Raise "created" for rows made by ``bulk_create``, which sends no signals."""
    for record in records:
        _after_save(model, record, created=True)


def _before_delete(sender, instance, **kwargs) -> None:
    table = _table_of(sender)
    if table is None or instance.pk is None:
        return
    if _interested(table, _company_id(table, instance)):
        # The last values, read while the record and its relations still exist.
        setattr(instance, _BEFORE, table.to_dict(instance))


def _after_delete(sender, instance, **kwargs) -> None:
    table = _table_of(sender)
    values = instance.__dict__.pop(_BEFORE, None)
    if table is None or values is None:
        return
    company_id = _company_id(table, instance)
    event = RecordEvent(DELETED, table, instance, company_id, values, user=acting_user())
    for listener in _interested(table, company_id):
        listener(event)


def connect_record_signals(table: Table) -> None:
    """Raise record events for ``table``'s records (``register_table`` calls this)."""
    uid = f"bcsite.events:{table.id}"
    pre_save.connect(_before_save, sender=table.model, dispatch_uid=f"{uid}:pre_save")
    post_save.connect(_after_save, sender=table.model, dispatch_uid=f"{uid}:post_save")
    pre_delete.connect(_before_delete, sender=table.model, dispatch_uid=f"{uid}:pre_delete")
    post_delete.connect(_after_delete, sender=table.model, dispatch_uid=f"{uid}:post_delete")
