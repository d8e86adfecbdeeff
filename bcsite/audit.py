"""The audit log: who created, changed, shared, switched or decided what, before and after.

Services call ``audit_record`` inside the transaction of their change, so an entry exists
exactly when the change does. The Audit Log page (``bcsite.views_audit``) browses it.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from django.db import models

from bcsite.models import AuditEntry

# Values longer than this are cut in the log: a flow definition is summed up, not copied.
MAX_VALUE_CHARS = 500


def audit_record(
    *,
    company: Any,
    actor: Any,
    area: str,
    action: str,
    target: Any = None,
    object_type: str = "",
    object_id: Any = "",
    object_repr: str = "",
    before: dict | None = None,
    after: dict | None = None,
    message: str = "",
) -> AuditEntry:
    """Write one entry. ``target`` (a model instance) fills the object's type, id and name
    unless they are given; ``before`` and ``after`` hold only what the entry is about."""
    if target is not None:
        object_type = object_type or target._meta.verbose_name.title()
        object_id = object_id or target.pk
        object_repr = object_repr or str(target)
    is_user = actor is not None and getattr(actor, "is_authenticated", False)
    return AuditEntry.objects.create(
        company_id=getattr(company, "pk", company),
        actor=actor if is_user else None,
        actor_name=actor.get_username() if is_user else "",
        area=area,
        action=action,
        object_type=object_type[:60],
        object_id=str(object_id or "")[:64],
        object_repr=str(object_repr)[:250],
        before=_jsonable(before or {}),
        after=_jsonable(after or {}),
        message=message,
    )


def snapshot(instance: models.Model, fields: Iterable[str]) -> dict[str, Any]:
    """The named fields of ``instance`` as the log keeps them (choices by their label)."""
    values = {}
    for name in fields:
        field = instance._meta.get_field(name)
        value = getattr(instance, field.attname)
        if getattr(field, "choices", None):
            value = dict(field.flatchoices).get(value, value)
        values[name] = value
    return values


def changed(before: dict, after: dict) -> tuple[dict, dict]:
    """Only the keys whose values differ, from each side."""
    keys = [k for k in {**before, **after} if before.get(k) != after.get(k)]
    return {k: before.get(k) for k in keys}, {k: after.get(k) for k in keys}


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [_jsonable(v) for v in value]
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, models.Model):
        return str(value)
    if isinstance(value, str) and len(value) > MAX_VALUE_CHARS:
        return value[:MAX_VALUE_CHARS] + "…"
    return value
