"""The audit log of flows: created, changed, turned on and off, deleted, imported."""

import json

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.urls import reverse

from automate.models import Flow
from automate.services import (
    flow_create,
    flow_delete,
    flow_export,
    flow_import,
    flow_set_enabled,
    flow_update,
)
from automate.services.flows import http_keys_regenerate
from bcsite.models import AuditEntry

pytestmark = pytest.mark.django_db

SECRET_TEXT = "do-not-copy-me"
DEFINITION = {
    "schemaVersion": 1,
    "trigger": {"type": "selected_record", "table": 18, "inputs": []},
    "steps": [{"name": "Compose", "type": "data.compose", "inputs": {"value": SECRET_TEXT}}],
}
TWO_STEPS = {
    **DEFINITION,
    "steps": [
        *DEFINITION["steps"],
        {"name": "Compose_2", "type": "data.compose", "inputs": {"value": "y"}},
    ],
}
HTTP_DEFINITION = {
    "schemaVersion": 1,
    "trigger": {"type": "http_request", "method": "POST", "requireSignature": True},
    "steps": [],
}


def make_flow(company, owner, name="Notify sales", definition=None, **fields):
    return flow_create(
        company=company, owner=owner, name=name, definition=definition or DEFINITION, **fields
    )


def entries(**filters):
    return list(AuditEntry.objects.filter(area="Flow", **filters).order_by("pk"))


def only_entry(**filters):
    found = entries(**filters)
    assert len(found) == 1, found
    return found[0]


# -- Created ----------------------------------------------------------------------------------


def test_creating_a_flow_logs_it_with_its_summary(company, sales):
    flow = make_flow(company, sales)

    entry = only_entry(action="created")
    assert entry.company_id == company.pk
    assert (entry.actor, entry.actor_name) == (sales, "sales")
    assert (entry.object_type, entry.object_id, entry.object_repr) == (
        "Flow",
        str(flow.pk),
        "Notify sales",
    )
    assert entry.before == {}
    assert entry.after == {
        "name": "Notify sales",
        "kind": "Instant",
        "trigger": "For a selected record · Customer",
        "enabled": "On",
        "version": 1,
        "steps": 1,
    }
    # The definition is summed up, never copied.
    assert SECRET_TEXT not in json.dumps(entry.after)


def test_a_flow_from_a_template_says_which(company, sales):
    make_flow(company, sales, template_key="notify-warehouse", enabled=False)

    entry = only_entry(action="created")
    assert entry.after["enabled"] == "Off"
    assert "notify-warehouse" in entry.message


def test_someone_creating_a_flow_for_its_owner_is_the_actor(company, sales, admin_user):
    flow = make_flow(company, sales, by=admin_user)

    assert flow.owner == sales
    assert only_entry(action="created").actor == admin_user


def test_importing_a_flow_logs_it_as_created(company, sales, colleague):
    exported = flow_export(flow=make_flow(company, sales))
    AuditEntry.objects.all().delete()

    flow = flow_import(company=company, owner=colleague, data=json.dumps(exported).encode())

    entry = only_entry(action="created")
    assert entry.actor == colleague
    assert entry.object_id == str(flow.pk)
    assert entry.message == "Imported from a file."


def test_a_refused_import_logs_nothing(company, sales):
    with pytest.raises(ValidationError):
        flow_import(company=company, owner=sales, data=b"{not json")

    assert entries() == []


def test_importing_from_my_flows_logs_the_signed_in_user(sales_client, company, sales):
    exported = json.dumps(flow_export(flow=make_flow(company, sales, name="Exported")))
    AuditEntry.objects.all().delete()

    upload = SimpleUploadedFile("flow.json", exported.encode(), content_type="application/json")
    response = sales_client.post(reverse("automate:flow-import"), {"file": upload})

    assert response.status_code == 302
    assert only_entry(action="created").actor == sales


# -- Changed ----------------------------------------------------------------------------------


def test_a_change_logs_only_what_changed(company, sales, colleague):
    flow = make_flow(company, sales)

    flow_update(
        flow=flow,
        user=colleague,
        name="Notify the warehouse",
        description="",
        definition=TWO_STEPS,
        concurrency_limit=5,
    )

    entry = only_entry(action="changed")
    assert entry.actor == colleague
    assert entry.object_repr == "Notify the warehouse"
    assert entry.before == {
        "name": "Notify sales",
        "concurrency_limit": 25,
        "version": 1,
        "steps": 1,
    }
    assert entry.after == {
        "name": "Notify the warehouse",
        "concurrency_limit": 5,
        "version": 2,
        "steps": 2,
    }


def test_a_new_trigger_is_logged_as_its_summary(company, sales):
    flow = make_flow(company, sales)
    on_items = {**DEFINITION, "trigger": {"type": "record_created", "table": 27}}

    flow_update(flow=flow, user=sales, definition=on_items)

    entry = only_entry(action="changed")
    assert entry.before["trigger"] == "For a selected record · Customer"
    assert entry.after["trigger"] == "When a record is created · Item"
    assert (entry.before["version"], entry.after["version"]) == (1, 2)


def test_saving_a_flow_unchanged_logs_nothing(company, sales):
    flow = make_flow(company, sales)

    flow_update(flow=flow, user=sales, name="Notify sales", definition=DEFINITION)

    assert entries(action="changed") == []


def test_a_new_key_is_logged_and_a_taken_one_refused(company, sales):
    flow = make_flow(company, sales)
    other = make_flow(company, sales, name="Other", key="notify-warehouse")

    flow_update(flow=flow, user=sales, key="notify-sales")
    entry = only_entry(action="changed")
    assert (entry.before, entry.after) == ({"key": ""}, {"key": "notify-sales"})

    with pytest.raises(ValidationError) as refused:
        flow_update(flow=flow, user=sales, key=other.key)
    assert "key" in refused.value.message_dict
    with pytest.raises(ValidationError):
        flow_update(flow=flow, user=sales, key="not a slug!")
    assert len(entries(action="changed")) == 1
    flow.refresh_from_db()
    assert flow.key == "notify-sales"


def test_a_refused_change_logs_nothing(company, sales):
    flow = make_flow(company, sales)

    with pytest.raises(ValidationError):
        flow_update(flow=flow, user=sales, name="Renamed", concurrency_limit=0)

    assert entries(action="changed") == []
    flow.refresh_from_db()
    assert flow.name == "Notify sales"


def test_a_rolled_back_change_leaves_no_entry(company, sales):
    flow = make_flow(company, sales)

    with pytest.raises(RuntimeError), transaction.atomic():
        flow_update(flow=flow, user=sales, name="Renamed")
        flow_set_enabled(flow=flow, user=sales, enabled=False)
        raise RuntimeError("the request failed after the save")

    assert [e.action for e in entries()] == ["created"]


def test_new_http_keys_are_logged_without_the_secrets(company, sales):
    flow = make_flow(company, sales, definition=HTTP_DEFINITION)

    flow = http_keys_regenerate(flow=flow, user=sales)

    entry = only_entry(action="changed")
    assert entry.actor == sales
    assert "HTTP URL key" in entry.message
    logged = json.dumps([entry.before, entry.after, entry.message])
    assert flow.http_key not in logged
    assert flow.signing_secret not in logged


# -- Turned on and off ------------------------------------------------------------------------


def test_turning_a_flow_off_and_on_logs_both(company, sales):
    flow = make_flow(company, sales)

    flow_set_enabled(flow=flow, user=sales, enabled=False)
    flow_set_enabled(flow=flow, user=sales, enabled=True)

    off, on = entries(action__startswith="turned")
    assert (off.action, off.before, off.after) == (
        "turned off",
        {"enabled": "On"},
        {"enabled": "Off"},
    )
    assert (on.action, on.before, on.after) == ("turned on", {"enabled": "Off"}, {"enabled": "On"})
    assert off.actor == on.actor == sales


def test_turning_off_a_flow_that_is_off_logs_nothing(company, sales):
    flow = make_flow(company, sales, enabled=False)

    flow_set_enabled(flow=flow, user=sales, enabled=False)

    assert entries(action__startswith="turned") == []


def test_the_system_turning_a_flow_off_is_logged_without_an_actor(company, sales):
    flow = make_flow(company, sales)

    flow_set_enabled(flow=flow, user=None, enabled=False, reason="It failed 10 times in a row.")

    entry = only_entry(action="turned off")
    assert (entry.actor, entry.actor_name) == (None, "")
    assert entry.message == "It failed 10 times in a row."


def test_the_switch_in_my_flows_logs_the_signed_in_user(sales_client, company, sales):
    flow = make_flow(company, sales)

    response = sales_client.post(reverse("automate:flow-toggle", args=[flow.pk]), {})

    assert response.status_code == 302
    entry = only_entry(action="turned off")
    assert entry.actor == sales
    assert entry.object_id == str(flow.pk)


# -- Deleted ----------------------------------------------------------------------------------


def test_deleting_a_flow_logs_what_it_was(company, sales, colleague):
    flow = make_flow(company, sales, key="notify-sales")
    flow_update(flow=flow, user=sales, definition=TWO_STEPS)
    pk = flow.pk

    flow_delete(flow=flow, user=colleague)

    assert not Flow.objects.filter(pk=pk).exists()
    entry = only_entry(action="deleted")
    assert entry.actor == colleague
    assert (entry.object_id, entry.object_repr) == (str(pk), "Notify sales")
    assert entry.after == {}
    assert entry.before == {
        "name": "Notify sales",
        "kind": "Instant",
        "owner": "sales",
        "trigger": "For a selected record · Customer",
        "enabled": "On",
        "version": 2,
        "steps": 2,
        "key": "notify-sales",
    }


def test_deleting_from_my_flows_logs_the_signed_in_user(sales_client, company, sales):
    flow = make_flow(company, sales)

    response = sales_client.post(reverse("automate:flow-delete", args=[flow.pk]))

    assert response.status_code == 302
    assert only_entry(action="deleted").actor == sales


def test_a_refused_delete_logs_nothing(client, company, sales, colleague):
    flow = make_flow(company, sales)
    client.force_login(colleague)

    response = client.post(reverse("automate:flow-delete", args=[flow.pk]))

    assert response.status_code == 404
    assert entries(action="deleted") == []
