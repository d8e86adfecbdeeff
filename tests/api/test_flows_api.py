"""Flows over the API: my flows, running an instant flow on a record with inputs, runs, and
the refusals (someone else's flow, another company's record, bad inputs, Power Automate off)."""

import pytest

from automate.models import FlowRun, RunStatus
from automate.services import flow_create, flow_set_enabled
from bcsite.celery import app
from tests.api.conftest import token_client
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _celery_eager():
    """Runs go through the engine in this process; the worker tests are the integration ones."""
    previous = (app.conf.task_always_eager, app.conf.task_eager_propagates)
    app.conf.task_always_eager = app.conf.task_eager_propagates = True
    yield
    app.conf.task_always_eager, app.conf.task_eager_propagates = previous


def definition(table=18, inputs=()):
    return {
        "schemaVersion": 1,
        "trigger": {"type": "selected_record", "table": table, "inputs": list(inputs)},
        "steps": [
            {
                "name": "Compose",
                "type": "data.compose",
                "inputs": {"value": "@{triggerBody()?['inputs']?['note']}"},
            }
        ],
    }


NOTE = {"name": "note", "label": "Note", "type": "text", "required": True}


def base(company) -> str:
    return f"/api/bcsite/automate/v1.0/companies({company.system_id})"


@pytest.fixture
def flow(company, sales):
    return flow_create(
        company=company, owner=sales, name="Note it", definition=definition(inputs=[NOTE])
    )


@pytest.fixture
def adatum(company):
    return CustomerFactory(company=company, no="C10000", name="Adatum")


def test_it_lists_my_flows_only(api_client, company, sales, colleague, flow):
    flow_create(company=company, owner=colleague, name="Theirs", definition=definition())
    body = api_client.get(f"{base(company)}/flows").json()
    assert [f["name"] for f in body["value"]] == ["Note it"]
    mine = body["value"][0]
    assert mine["id"] == str(flow.system_id)
    assert mine["triggerType"] == "selected_record"
    assert mine["tableId"] == 18
    assert mine["inputs"] == [{"name": "note", "label": "Note", "type": "text", "required": True}]


def test_it_filters_flows(api_client, company, sales, flow):
    flow_create(company=company, owner=sales, name="Other", definition=definition(table=27))
    response = api_client.get(f"{base(company)}/flows", {"$filter": "tableId eq 27"})
    assert [f["name"] for f in response.json()["value"]] == ["Other"]


def test_it_runs_an_instant_flow_on_a_record(
    api_client, company, flow, adatum, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = api_client.post(
            f"{base(company)}/flows({flow.system_id})/Microsoft.NAV.run",
            {"recordId": str(adatum.system_id), "inputs": {"note": "Call back"}},
            format="json",
        )
    assert response.status_code == 202, response.json()
    body = response.json()
    run = FlowRun.objects.get(system_id=body["id"])
    assert run.flow == flow
    assert run.trigger_data["body"]["inputs"] == {"note": "Call back"}
    assert run.trigger_data["body"]["number"] == "C10000"
    assert response["Location"].endswith(f"{base(company)}/flowRuns({run.system_id})")

    detail = api_client.get(response["Location"]).json()
    assert detail["status"] == "Succeeded"
    assert detail["recordNumber"] == "C10000"
    assert detail["steps"][0]["name"] == "Compose"
    assert detail["steps"][0]["status"] == "Succeeded"


def test_runs_of_a_flow_and_of_all_my_flows(
    api_client, company, sales, flow, adatum, django_capture_on_commit_callbacks
):
    url = f"{base(company)}/flows({flow.system_id})/Microsoft.NAV.run"
    for note in ("one", "two"):
        with django_capture_on_commit_callbacks(execute=True):
            api_client.post(url, {"recordId": "C10000", "inputs": {"note": note}}, format="json")
    runs = api_client.get(f"{base(company)}/flows({flow.system_id})/runs").json()["value"]
    assert len(runs) == 2
    assert {r["status"] for r in runs} == {"Succeeded"}
    everything = api_client.get(f"{base(company)}/flowRuns", {"$filter": "status eq 'Succeeded'"})
    assert len(everything.json()["value"]) == 2


def test_it_refuses_missing_inputs_with_the_trigger_message(api_client, company, flow, adatum):
    response = api_client.post(
        f"{base(company)}/flows({flow.system_id})/Microsoft.NAV.run",
        {"recordId": str(adatum.system_id), "inputs": {}},
        format="json",
    )
    assert response.status_code == 400
    assert "Note is required" in response.json()["error"]["message"]
    assert not FlowRun.objects.exists()


@pytest.mark.parametrize(
    "body",
    [{}, {"recordId": 5}, {"recordId": "C10000", "inputs": "x"}, {"recordId": "NOPE"}, [1]],
)
def test_it_refuses_bad_bodies(api_client, company, flow, adatum, body):
    response = api_client.post(
        f"{base(company)}/flows({flow.system_id})/Microsoft.NAV.run", body, format="json"
    )
    assert response.status_code == 400
    assert response.json()["error"]["message"]


def test_it_refuses_another_companys_record(api_client, company, other_company, flow):
    foreign = CustomerFactory(company=other_company, no="C90000")
    response = api_client.post(
        f"{base(company)}/flows({flow.system_id})/Microsoft.NAV.run",
        {"recordId": str(foreign.system_id), "inputs": {"note": "x"}},
        format="json",
    )
    assert response.status_code == 400
    assert not FlowRun.objects.exists()


def test_it_refuses_a_flow_that_is_off(api_client, company, sales, flow, adatum):
    flow_set_enabled(flow=flow, user=sales, enabled=False)
    response = api_client.post(
        f"{base(company)}/flows({flow.system_id})/Microsoft.NAV.run",
        {"recordId": "C10000", "inputs": {"note": "x"}},
        format="json",
    )
    assert response.status_code == 400


def test_someone_elses_flow_is_not_found(colleague_api_client, company, flow, adatum):
    url = f"{base(company)}/flows({flow.system_id})"
    assert colleague_api_client.get(url).status_code == 404
    run = colleague_api_client.post(
        f"{url}/Microsoft.NAV.run", {"recordId": "C10000", "inputs": {"note": "x"}}, format="json"
    )
    assert run.status_code == 404


def test_an_admin_sees_others_flows_but_cannot_run_them(admin_api_client, company, flow, adatum):
    url = f"{base(company)}/flows({flow.system_id})"
    assert admin_api_client.get(url).status_code == 200
    response = admin_api_client.post(
        f"{url}/Microsoft.NAV.run", {"recordId": "C10000", "inputs": {"note": "x"}}, format="json"
    )
    assert response.status_code == 400
    assert "neither yours nor shared" in response.json()["error"]["message"]


def test_another_users_runs_are_not_found(api_client, company, colleague, adatum):
    theirs = flow_create(company=company, owner=colleague, name="Theirs", definition=definition())
    client = token_client(colleague, company)
    started = client.post(
        f"{base(company)}/flows({theirs.system_id})/Microsoft.NAV.run",
        {"recordId": "C10000"},
        format="json",
    ).json()
    assert api_client.get(f"{base(company)}/flowRuns({started['id']})").status_code == 404
    assert api_client.get(f"{base(company)}/flowRuns").json()["value"] == []


def test_outsiders_do_not_reach_the_company(outsider_api_client, company, flow):
    assert outsider_api_client.get(f"{base(company)}/flows").status_code == 404


def test_power_automate_switched_off_refuses_every_endpoint(
    api_client, company, flow, adatum, monkeypatch
):
    monkeypatch.setattr(
        "automate.access.automate_refusal",
        lambda user, company_id: "Power Automate is turned off for your organization.",
    )
    for method, path in [
        ("get", "/flows"),
        ("get", f"/flows({flow.system_id})"),
        ("post", f"/flows({flow.system_id})/Microsoft.NAV.run"),
        ("get", f"/flows({flow.system_id})/runs"),
        ("get", "/flowRuns"),
    ]:
        response = getattr(api_client, method)(
            f"{base(company)}{path}", {"recordId": "C10000"}, format="json"
        )
        assert response.status_code == 403, path
        assert response.json()["error"] == {
            "code": "Forbidden",
            "message": "Power Automate is turned off for your organization.",
        }
    assert not FlowRun.objects.exists()


def test_a_bad_flow_id_is_not_found(api_client, company):
    assert api_client.get(f"{base(company)}/flows(xyz)").status_code == 404
    assert api_client.get(f"{base(company)}/flowRuns(xyz)").status_code == 404


def test_run_status_captions(api_client, company, flow, adatum):
    api_client.post(
        f"{base(company)}/flows({flow.system_id})/Microsoft.NAV.run",
        {"recordId": "C10000", "inputs": {"note": "x"}},
        format="json",
    )
    FlowRun.objects.update(status=RunStatus.FAILED, error="Boom")
    run = api_client.get(f"{base(company)}/flowRuns").json()["value"][0]
    assert run["status"] == "Failed"
    assert run["error"] == "Boom"
