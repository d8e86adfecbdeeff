"""Creating, editing, switching and moving flows. Saving a definition adds a version.

Each change writes its audit entry (area "Flow") in its own transaction. A definition is
summed up in the log as its trigger, version number and step count, never copied.
"""

from __future__ import annotations

import json
import re
import secrets

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from automate.definition import TRIGGER_TYPES, validate_definition, walk
from automate.models import Flow, FlowRun, FlowVersion
from automate.recurrence import next_slot
from bcsite.audit import audit_record, changed
from bcsite.events import events
from bcsite.registry import registry

EXPORT_FORMAT = "bcsite.flow"
EXPORT_FORMAT_VERSION = 1
MAX_IMPORT_BYTES = 1024 * 1024
KIND_OF_TRIGGER = {"selected_record": Flow.Kind.INSTANT, "recurrence": Flow.Kind.SCHEDULED}
AUDIT_AREA = "Flow"
KEY_PATTERN = re.compile(r"^[-a-zA-Z0-9_]+$")


def _check_name(name) -> str:
    name = (name or "").strip() if isinstance(name, str) else ""
    if not name:
        raise ValidationError({"name": ["Give the flow a name."]})
    if not name.isprintable():
        raise ValidationError({"name": ["The name may not hold control characters."]})
    if len(name) > Flow._meta.get_field("name").max_length:
        raise ValidationError({"name": ["The name is too long (at most 120 characters)."]})
    return name


def _check_concurrency(limit) -> int:
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= 100:
        raise ValidationError({"concurrency_limit": ["Runs at once must be 1 to 100."]})
    return limit


def _check_key(company_id: int, key, flow_pk: int | None = None) -> str:
    """A custom action names the flow by its key: letters, digits, "-" and "_", unique in
    the company. An empty key names no flow."""
    key = (key or "").strip() if isinstance(key, str) else None
    if key is None:
        raise ValidationError({"key": ["The key must be text."]})
    if not key:
        return ""
    if len(key) > Flow._meta.get_field("key").max_length or not KEY_PATTERN.match(key):
        raise ValidationError(
            {"key": ["The key may hold letters, digits, '-' and '_' only (at most 80)."]}
        )
    taken = Flow.objects.filter(company_id=company_id, key=key).exclude(pk=flow_pk).exists()
    if taken:
        raise ValidationError({"key": [f"Another flow of the company has the key {key}."]})
    return key


def trigger_summary(trigger: dict | None) -> str:
    """What starts a flow, and on which table or business event:
    "For a selected record · Customer", "When a business event occurs · Sales order released"."""
    if not isinstance(trigger, dict):
        return "No trigger"
    kind = TRIGGER_TYPES.get(trigger.get("type"), str(trigger.get("type") or "No trigger"))
    event = events.business_events.get(trigger.get("event") or "")
    if event is not None:
        return f"{kind} · {event.name}"
    table = registry.tables.get(trigger.get("table"))
    return f"{kind} · {table.name}" if table else kind


def _audit_state(flow: Flow, version: FlowVersion | None) -> dict:
    """What the log keeps of a flow: its settings, and its definition summed up."""
    definition = version.definition if version is not None else {}
    return {
        "name": flow.name,
        "description": flow.description,
        "key": flow.key,
        "concurrency_limit": flow.concurrency_limit,
        "trigger": trigger_summary(definition.get("trigger")),
        "version": version.number if version is not None else None,
        "steps": sum(1 for _ in walk(definition.get("steps") or [])),
    }


def _on_off(enabled: bool) -> str:
    return "On" if enabled else "Off"


def _audit(flow: Flow, user, action: str, *, before=None, after=None, message="") -> None:
    audit_record(
        company=flow.company_id,
        actor=user,
        area=AUDIT_AREA,
        action=action,
        target=flow,
        before=before,
        after=after,
        message=message,
    )


def _apply_trigger(flow: Flow, definition: dict) -> None:
    """Copy what finds the flow from its trigger: table, event, next slot, HTTP keys."""
    trigger = definition["trigger"]
    kind = trigger["type"]
    flow.trigger_type = kind
    flow.kind = KIND_OF_TRIGGER.get(kind, Flow.Kind.AUTOMATED)
    flow.table_id = trigger.get("table")
    flow.trigger_event = trigger.get("event", "") if kind == "business_event" else ""
    if kind == "http_request":
        flow.http_key = flow.http_key or secrets.token_urlsafe(32)
        if trigger.get("requireSignature"):
            flow.signing_secret = flow.signing_secret or secrets.token_urlsafe(32)
    _schedule(flow, trigger)


def _schedule(flow: Flow, trigger: dict) -> None:
    """A scheduled flow that is on waits for its next slot; any other flow for none."""
    if flow.enabled and trigger["type"] == "recurrence":
        flow.next_run_at = next_slot(trigger, timezone.now())
    else:
        flow.next_run_at = None


@transaction.atomic
def http_keys_regenerate(*, flow: Flow, user) -> Flow:
    """New URL key and signing secret: callers with the old ones are refused from now on."""
    flow.http_key = secrets.token_urlsafe(32)
    flow.signing_secret = secrets.token_urlsafe(32) if flow.signing_secret else ""
    flow.save(update_fields=["http_key", "signing_secret", "modified_at"])
    # The keys are secrets: the log says that they changed, not what they are.
    _audit(flow, user, "changed", message="New HTTP URL key and signing secret.")
    return flow


@transaction.atomic
def flow_create(
    *,
    company,
    owner,
    name: str,
    definition: dict,
    description: str = "",
    template_key: str = "",
    enabled: bool = True,
    concurrency_limit: int | None = None,
    key: str = "",
    by=None,
    audit_message: str = "",
) -> Flow:
    """Create a flow owned by ``owner``; ``by`` is who creates it when not the owner."""
    name = _check_name(name)
    validate_definition(definition)
    flow = Flow(
        company=company,
        owner=owner,
        name=name,
        description=description or "",
        template_key=template_key,
        enabled=enabled,
        key=_check_key(getattr(company, "pk", company), key),
    )
    if concurrency_limit is not None:
        flow.concurrency_limit = _check_concurrency(concurrency_limit)
    _apply_trigger(flow, definition)
    flow.save()
    version = _add_version(flow, definition, user=owner)
    state = _audit_state(flow, version)
    after = {
        "name": flow.name,
        "kind": flow.get_kind_display(),
        "trigger": state["trigger"],
        "enabled": _on_off(flow.enabled),
        "version": version.number,
        "steps": state["steps"],
    }
    if flow.key:
        after["key"] = flow.key
    if not audit_message and template_key:
        audit_message = f"Created from the template {template_key}."
    _audit(flow, by or owner, "created", after=after, message=audit_message)
    return flow


@transaction.atomic
def flow_update(
    *,
    flow: Flow,
    user,
    name: str | None = None,
    description: str | None = None,
    definition: dict | None = None,
    concurrency_limit: int | None = None,
    key: str | None = None,
) -> Flow:
    """Change a flow. A new definition becomes a new version; runs keep the one they ran."""
    flow = Flow.objects.select_for_update().get(pk=flow.pk)
    version = flow.current_version
    before = _audit_state(flow, version)
    if concurrency_limit is not None:
        flow.concurrency_limit = _check_concurrency(concurrency_limit)
    if name is not None:
        flow.name = _check_name(name)
    if description is not None:
        flow.description = description
    if key is not None:
        flow.key = _check_key(flow.company_id, key, flow.pk)
    saved = False
    if definition is not None:
        validate_definition(definition)
        if version is None or version.definition != definition:
            _apply_trigger(flow, definition)
            flow.save()
            version = _add_version(flow, definition, user=user)
            saved = True
    if not saved:
        flow.save()
    old, new = changed(before, _audit_state(flow, version))
    if new:
        _audit(flow, user, "changed", before=old, after=new)
    return flow


def _add_version(flow: Flow, definition: dict, *, user) -> FlowVersion:
    last = flow.versions.order_by("-number").values_list("number", flat=True).first() or 0
    version = FlowVersion.objects.create(
        flow=flow, number=last + 1, definition=definition, created_by=user
    )
    flow.current_version = version
    flow.save(update_fields=["current_version", "modified_at"])
    return version


@transaction.atomic
def flow_set_enabled(*, flow: Flow, user, enabled: bool, reason: str = "") -> Flow:
    """Turn the flow on or off. A scheduled flow turned on waits for its next slot: slots
    missed while it was off are not caught up. ``user`` None is the system (a flow turned
    off because it keeps failing); ``reason`` says why in the audit log."""
    flow = (
        Flow.objects.select_for_update(of=("self",))
        .select_related("current_version")
        .get(pk=flow.pk)
    )
    if flow.enabled != enabled:
        _audit(
            flow,
            user,
            "turned on" if enabled else "turned off",
            before={"enabled": _on_off(flow.enabled)},
            after={"enabled": _on_off(enabled)},
            message=reason,
        )
    flow.enabled = enabled
    if flow.current_version is not None:
        _schedule(flow, flow.current_version.definition["trigger"])
    if enabled:
        flow.failure_streak = 0
        flow.failing_since = None
    flow.save(
        update_fields=["enabled", "next_run_at", "failure_streak", "failing_since", "modified_at"]
    )
    return flow


@transaction.atomic
def flow_delete(*, flow: Flow, user) -> None:
    """Delete the flow with its runs and versions (runs hold their version, so they go first)."""
    flow = Flow.objects.select_for_update(of=("self",)).select_related("owner").get(pk=flow.pk)
    state = _audit_state(flow, flow.current_version)
    before = {
        "name": flow.name,
        "kind": flow.get_kind_display(),
        "owner": flow.owner.get_username(),
        "trigger": state["trigger"],
        "enabled": _on_off(flow.enabled),
        "version": state["version"],
        "steps": state["steps"],
    }
    if flow.key:
        before["key"] = flow.key
    _audit(flow, user, "deleted", before=before)
    FlowRun.objects.filter(flow=flow).delete()
    Flow.objects.filter(pk=flow.pk).update(current_version=None)
    flow.current_version = None
    flow.delete()


def flow_export(*, flow: Flow) -> dict:
    return {
        "format": EXPORT_FORMAT,
        "formatVersion": EXPORT_FORMAT_VERSION,
        "name": flow.name,
        "description": flow.description,
        "concurrencyLimit": flow.concurrency_limit,
        "definition": flow.current_version.definition if flow.current_version else None,
    }


def flow_import(*, company, owner, data: bytes | str, name: str | None = None, by=None) -> Flow:
    """Create a flow from an exported file, validated like a save from the designer."""
    if isinstance(data, bytes):
        if len(data) > MAX_IMPORT_BYTES:
            raise ValidationError(f"The file is too large (at most {MAX_IMPORT_BYTES // 1024} KB).")
        try:
            data = data.decode("utf-8")
        except UnicodeDecodeError:
            raise ValidationError("The file is not UTF-8 text; export the flow again.") from None
    try:
        package = json.loads(data)
    except json.JSONDecodeError as error:
        raise ValidationError(
            f"The file is not valid JSON (line {error.lineno}, column {error.colno}: {error.msg})."
        ) from None
    except RecursionError:
        raise ValidationError("The file nests too deeply to be a flow.") from None
    if not isinstance(package, dict) or package.get("format") != EXPORT_FORMAT:
        raise ValidationError("This is not an exported bcsite flow (its format is missing).")
    if package.get("formatVersion") != EXPORT_FORMAT_VERSION:
        raise ValidationError("This flow was exported by a version of bcsite this one cannot read.")
    definition = package.get("definition")
    trigger = definition.get("trigger") if isinstance(definition, dict) else None
    if isinstance(trigger, dict) and trigger.get("type") not in TRIGGER_TYPES:
        raise ValidationError(f"Unknown trigger type {trigger.get('type')!r}.")
    description = package.get("description") or ""
    if not isinstance(description, str) or "\x00" in description:
        raise ValidationError("The description must be text.")
    concurrency = package.get("concurrencyLimit", 25)
    if isinstance(concurrency, bool) or not isinstance(concurrency, int):
        raise ValidationError("concurrencyLimit must be a whole number from 1 to 100.")
    return flow_create(
        company=company,
        owner=owner,
        name=name or package.get("name"),
        definition=definition,
        description=description,
        concurrency_limit=concurrency,
        by=by,
        audit_message="Imported from a file.",
    )
