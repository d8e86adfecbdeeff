"""My flows: the list, switching flows on and off, deleting, exporting and importing."""

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from automate.models import Flow, FlowRun, FlowVersion, RunStatus
from automate.services import flow_create, flow_export

DEFINITION = {
    "schemaVersion": 1,
    "trigger": {"type": "selected_record", "table": 18, "inputs": []},
    "steps": [{"name": "Compose", "type": "data.compose", "inputs": {"value": "x"}}],
}


def make_flow(company, owner, name="Notify sales", definition=None):
    return flow_create(company=company, owner=owner, name=name, definition=definition or DEFINITION)


def add_run(flow, status, *, minutes_ago=0):
    return FlowRun.objects.create(
        flow=flow,
        version=flow.current_version,
        company=flow.company,
        idempotency_key=f"test:{flow.pk}:{status}:{minutes_ago}",
        status=status,
        deadline=timezone.now() + timezone.timedelta(days=1),
        created_at=timezone.now() - timezone.timedelta(minutes=minutes_ago),
    )


def upload(content, name="flow.json"):
    data = content if isinstance(content, bytes) else content.encode()
    return SimpleUploadedFile(name, data, content_type="application/json")


# -- The list ------------------------------------------------------------------------------


@pytest.mark.django_db
def test_it_lists_my_flows_with_trigger_and_last_run(sales_client, company, sales, colleague):
    mine = make_flow(company, sales)
    add_run(mine, RunStatus.SUCCEEDED, minutes_ago=10)
    add_run(mine, RunStatus.FAILED, minutes_ago=1)
    make_flow(company, colleague, name="Colleague's flow")

    response = sales_client.get(reverse("automate:flow-list"))

    assert response.status_code == 200
    content = response.content.decode()
    assert "Notify sales" in content
    assert "Colleague&#x27;s flow" not in content
    assert "For a selected record · Customer" in content
    assert "run-status-failed" in content
    assert reverse("automate:flow-runs", args=[mine.pk]) in content
    assert reverse("automate:flow-edit", args=[mine.pk]) in content
    assert ">Owner<" not in content


@pytest.mark.django_db
def test_admin_sees_every_flow_of_the_company_with_owners(
    client, company, sales, colleague, admin_user, other_company, outsider
):
    make_flow(company, sales, name="Sales flow")
    make_flow(company, colleague, name="Colleague flow")
    make_flow(other_company, outsider, name="Other company flow")
    client.force_login(admin_user)

    content = client.get(reverse("automate:flow-list")).content.decode()

    assert "Sales flow" in content and "Colleague flow" in content
    assert "Other company flow" not in content
    assert ">Owner<" in content


@pytest.mark.django_db
def test_the_list_costs_the_same_queries_for_many_flows(sales_client, company, sales):
    make_flow(company, sales, name="First")
    with CaptureQueriesContext(connection) as one:
        sales_client.get(reverse("automate:flow-list"))
    for index in range(8):
        flow = make_flow(company, sales, name=f"Flow {index}")
        add_run(flow, RunStatus.SUCCEEDED)

    with CaptureQueriesContext(connection) as many:
        response = sales_client.get(reverse("automate:flow-list"))

    assert response.content.decode().count("flow-toggle-track") == 9
    assert len(many) == len(one)


@pytest.mark.django_db
def test_the_list_stays_within_a_query_budget(
    sales_client, company, sales, django_assert_max_num_queries
):
    for index in range(20):
        add_run(make_flow(company, sales, name=f"Flow {index}"), RunStatus.RUNNING)
    with django_assert_max_num_queries(8):
        assert sales_client.get(reverse("automate:flow-list")).status_code == 200


@pytest.mark.django_db
def test_the_list_refuses_post_and_anonymous(client, sales_client):
    url = reverse("automate:flow-list")
    assert sales_client.post(url).status_code == 405
    client.logout()
    anonymous = client.get(url)
    assert anonymous.status_code == 302 and "/accounts/login/" in anonymous["Location"]


# -- On and off -----------------------------------------------------------------------------


@pytest.mark.django_db
def test_it_turns_a_flow_off_and_on(sales_client, company, sales):
    flow = make_flow(company, sales)
    url = reverse("automate:flow-toggle", args=[flow.pk])

    response = sales_client.post(url, {"enabled": "false"})
    assert response.status_code == 302
    flow.refresh_from_db()
    assert flow.enabled is False

    sales_client.post(url, {"enabled": "true"})
    flow.refresh_from_db()
    assert flow.enabled is True


@pytest.mark.django_db
def test_htmx_toggle_answers_with_the_row(sales_client, company, sales):
    flow = make_flow(company, sales)
    response = sales_client.post(
        reverse("automate:flow-toggle", args=[flow.pk]),
        {"enabled": "false"},
        HTTP_HX_REQUEST="true",
    )
    content = response.content.decode()
    assert response.status_code == 200
    assert content.strip().startswith(f'<tr id="flow-{flow.pk}"')
    assert 'aria-pressed="false"' in content
    assert "<html" not in content


@pytest.mark.django_db
def test_toggle_refuses_get_anonymous_and_other_peoples_flows(
    client, sales_client, company, colleague, other_company, outsider, sales
):
    colleague_flow = make_flow(company, colleague)
    foreign = make_flow(other_company, outsider)
    mine = make_flow(company, sales)
    assert sales_client.get(reverse("automate:flow-toggle", args=[mine.pk])).status_code == 405
    for flow in (colleague_flow, foreign):
        url = reverse("automate:flow-toggle", args=[flow.pk])
        assert sales_client.post(url, {"enabled": "false"}).status_code == 404
        flow.refresh_from_db()
        assert flow.enabled is True
    client.logout()
    response = client.post(reverse("automate:flow-toggle", args=[mine.pk]), {"enabled": "false"})
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


@pytest.mark.django_db
def test_admin_may_switch_off_a_colleagues_flow(client, company, colleague, admin_user):
    flow = make_flow(company, colleague)
    client.force_login(admin_user)
    client.post(reverse("automate:flow-toggle", args=[flow.pk]), {"enabled": "false"})
    flow.refresh_from_db()
    assert flow.enabled is False


# -- Delete ---------------------------------------------------------------------------------


@pytest.mark.django_db
def test_delete_asks_first_then_deletes_the_flow_and_its_runs(sales_client, company, sales):
    flow = make_flow(company, sales)
    add_run(flow, RunStatus.SUCCEEDED)
    url = reverse("automate:flow-delete", args=[flow.pk])

    confirm = sales_client.get(url)
    assert confirm.status_code == 200
    assert "1 run" in confirm.content.decode()
    assert Flow.objects.filter(pk=flow.pk).exists()

    response = sales_client.post(url)
    assert response.status_code == 302
    assert response["Location"] == reverse("automate:flow-list")
    assert not Flow.objects.filter(pk=flow.pk).exists()
    assert not FlowRun.objects.filter(flow_id=flow.pk).exists()


@pytest.mark.django_db
def test_delete_refuses_other_peoples_flows_and_put(
    sales_client, company, sales, colleague, other_company, outsider
):
    for flow in (make_flow(company, colleague), make_flow(other_company, outsider)):
        url = reverse("automate:flow-delete", args=[flow.pk])
        assert sales_client.get(url).status_code == 404
        assert sales_client.post(url).status_code == 404
        assert Flow.objects.filter(pk=flow.pk).exists()
    mine = make_flow(company, sales)
    assert sales_client.put(reverse("automate:flow-delete", args=[mine.pk])).status_code == 405


# -- Export and import ----------------------------------------------------------------------


@pytest.mark.django_db
def test_export_then_import_gives_the_same_flow(sales_client, company, sales):
    flow = make_flow(company, sales, name="Notify: sales/team")

    response = sales_client.get(reverse("automate:flow-export", args=[flow.pk]))

    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/json")
    assert response["Content-Disposition"] == 'attachment; filename="Notify_ sales_team.json"'
    exported = json.loads(response.content)
    assert exported == flow_export(flow=flow)

    imported = sales_client.post(
        reverse("automate:flow-import"), {"file": upload(response.content)}
    )
    copy = Flow.objects.exclude(pk=flow.pk).get()
    assert imported.status_code == 302
    assert imported["Location"] == reverse("automate:flow-edit", args=[copy.pk])
    assert copy.owner == sales and copy.company == company
    assert copy.name == flow.name
    assert copy.current_version.definition == DEFINITION


@pytest.mark.django_db
def test_export_refuses_other_peoples_flows(
    sales_client, company, colleague, other_company, outsider
):
    for flow in (make_flow(company, colleague), make_flow(other_company, outsider)):
        assert sales_client.get(reverse("automate:flow-export", args=[flow.pk])).status_code == 404


@pytest.mark.django_db
def test_import_shows_where_the_json_breaks(sales_client):
    response = sales_client.post(
        reverse("automate:flow-import"), {"file": upload('{\n  "a": ,\n}')}
    )
    content = response.content.decode()
    assert response.status_code == 400
    assert "not valid JSON (line 2, column 8" in content
    assert not Flow.objects.exists()


@pytest.mark.django_db
def test_import_refuses_a_file_of_another_format(sales_client):
    response = sales_client.post(reverse("automate:flow-import"), {"file": upload('{"a": 1}')})
    assert "This is not an exported bcsite flow" in response.content.decode()
    assert not Flow.objects.exists()


@pytest.mark.django_db
def test_import_lists_each_problem_of_an_invalid_definition(sales_client):
    package = {
        "format": "bcsite.flow",
        "formatVersion": 1,
        "name": "Broken",
        "definition": {
            "schemaVersion": 1,
            "trigger": {"type": "selected_record", "table": 99999, "inputs": []},
            "steps": [
                {"name": "Compose", "type": "data.compose", "inputs": {}},
                {"name": "Nope", "type": "nowhere.nothing", "inputs": {}},
            ],
        },
    }
    response = sales_client.post(
        reverse("automate:flow-import"), {"file": upload(json.dumps(package))}
    )
    content = response.content.decode()
    assert response.status_code == 400
    assert "Trigger: choose the table the flow runs on." in content
    assert "Compose: value is required." in content
    assert "Nope: unknown action &#x27;nowhere.nothing&#x27;." in content
    assert content.count("<li>") >= 3
    assert not Flow.objects.exists()


@pytest.mark.django_db
def test_import_asks_for_a_file(sales_client):
    response = sales_client.post(reverse("automate:flow-import"), {})
    assert response.status_code == 400
    assert "Choose a file to import." in response.content.decode()


@pytest.mark.django_db
def test_import_refuses_get_and_anonymous(client, sales_client):
    url = reverse("automate:flow-import")
    assert sales_client.get(url).status_code == 405
    client.logout()
    response = client.post(url, {"file": upload("{}")})
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


@pytest.mark.django_db
def test_outsider_never_sees_the_company_flows(outsider_client, company, sales):
    flow = make_flow(company, sales)
    assert "Notify sales" not in outsider_client.get(reverse("automate:flow-list")).content.decode()
    assert outsider_client.get(reverse("automate:flow-edit", args=[flow.pk])).status_code == 404
    assert FlowVersion.objects.filter(flow=flow).count() == 1
