"""Power Automate's refusals, over every Power Automate URL the resolver knows:

- Power Automate switched off for a user: every view answers 403 with who can turn it on
  (except the views marked ``automate_exempt``), the flows API answers 403 in JSON, and
  their record pages have no Automate group;
- a run-only user of a flow: everything that edits the flow or shows its whole history
  answers 403; their run history holds only their own runs; others' runs are not found;
- a user of another company: every flow and run URL of company A is not found.
"""

from __future__ import annotations

import re

import pytest
from django.test import Client

from automate.models import AutomateUserAccess, FlowShare
from bcsite.api import credentials
from tests.security.conftest import browser, finished_run
from tests.security.sweep import Case, cases, explain, is_json, send

pytestmark = pytest.mark.django_db

METHODS = ("GET", "POST")
GROUP_MARK = b'data-group="automate"'


def token_client(user, company) -> Client:
    _, key = credentials.api_token_create(user=user, company=company, name=f"t{user.pk}")
    return Client(raise_request_exception=False, HTTP_AUTHORIZATION=f"Bearer {key}")


def automate_cases(world) -> list[Case]:
    found, unfillable = cases(world, browser(world.admin_a))
    assert not unfillable, unfillable
    return [c for c in found if (c.pattern.name or "").startswith("automate:")]


def flows_api_cases(world) -> list[Case]:
    found, _ = cases(world, browser(world.admin_a))
    return [c for c in found if c.pattern.route.startswith("api/bcsite/automate/")]


def is_exempt(case: Case) -> bool:
    return bool(getattr(case.pattern.callback, "automate_exempt", False))


def run_links(response) -> set[int]:
    return {int(pk) for pk in re.findall(r"/automate/runs/(\d+)/", response.content.decode())}


# -- Power Automate switched off for the user ------------------------------------------------


@pytest.fixture
def switched_off(world):
    AutomateUserAccess.objects.create(
        company=world.company_a, user=world.sales_a, allowed=False, changed_by=world.admin_a
    )
    return world


def test_every_power_automate_view_refuses_a_user_it_is_off_for(switched_off):
    world = switched_off
    client = browser(world.sales_a)
    failures = []
    swept = automate_cases(world)
    assert any(is_exempt(c) for c in swept), "the HTTP trigger is exempt: the sweep must see it"
    for case in swept:
        for method in METHODS:
            response = send(client, method, case.url)
            if response.status_code >= 500:
                failures.append(f"{method} {case.label}: 500\n{explain(response)}")
            elif is_exempt(case):
                continue
            elif response.status_code != 403 or b"turned off for sales_a" not in response.content:
                failures.append(f"{method} {case.label}: {response.status_code}")
    assert not failures, "\n".join(failures)


def test_the_refusal_says_who_can_turn_it_on(switched_off):
    response = browser(switched_off.sales_a).get("/automate/flows/")
    assert response.status_code == 403
    assert b"admin_a" in response.content
    assert b"Power Automate Setup" in response.content


def test_the_flows_api_refuses_a_user_it_is_off_for_in_json(switched_off):
    world = switched_off
    client = token_client(world.sales_a, world.company_a)
    failures = []
    swept = flows_api_cases(world)
    assert len(swept) >= 6
    for case in swept:
        for method in METHODS:
            response = send(client, method, case.url)
            body = response.content.decode(errors="replace")
            if response.status_code != 403 or not is_json(response):
                failures.append(f"{method} {case.label}: {response.status_code} {body[:200]}")
            elif "turned off for sales_a" not in body:
                failures.append(f"{method} {case.label}: 403 without the reason: {body[:200]}")
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("page", ["customers/{customer}", "customers", "sales-orders/{order}"])
def test_record_pages_have_no_automate_group_for_a_user_it_is_off_for(world, page):
    url = "/" + page.format(customer=world.customer.pk, order=world.order.pk) + "/"
    client = browser(world.sales_a)
    before = client.get(url)
    assert before.status_code == 200
    assert GROUP_MARK in before.content  # the group is there while it is on
    AutomateUserAccess.objects.create(company=world.company_a, user=world.sales_a, allowed=False)
    after = client.get(url)
    assert after.status_code == 200
    assert GROUP_MARK not in after.content
    assert b"run-flow-" not in after.content


def test_a_user_it_is_off_for_cannot_run_a_flow_shared_with_them(switched_off):
    world = switched_off
    FlowShare.objects.create(
        flow=world.flow, user=world.sales_a, role=FlowShare.Role.RUN_ONLY, added_by=world.admin_a
    )
    url = f"/customers/{world.customer.pk}/actions/run-flow-{world.flow.pk}/"
    response = send(browser(world.sales_a), "POST", url, data={"confirmed": "1"})
    assert response.status_code in (403, 404)
    assert not world.flow.runs.filter(triggered_by=world.sales_a).exists()


# -- A run-only user --------------------------------------------------------------------------


@pytest.fixture
def run_only(world):
    FlowShare.objects.create(
        flow=world.flow, user=world.sales_a, role=FlowShare.Role.RUN_ONLY, added_by=world.admin_a
    )
    world.own_run = finished_run(world.flow, world.sales_a)
    return world


def _flow_pages(world) -> list[Case]:
    """Every URL of one flow (designer, switch, export, delete, keys, sharing...), except
    its run history, which a run-only user sees their own part of."""
    prefix = "automate/flows/<int:pk>/"
    return [
        c
        for c in automate_cases(world)
        if c.pattern.route.startswith(prefix) and c.pattern.name != "automate:flow-runs"
    ]


def test_a_run_only_user_cannot_edit_switch_export_delete_or_share_the_flow(run_only):
    world = run_only
    client = browser(world.sales_a)
    swept = _flow_pages(world)
    names = {c.pattern.name for c in swept}
    assert {
        "automate:flow-edit",
        "automate:flow-toggle",
        "automate:flow-export",
        "automate:flow-delete",
    } <= names
    failures = []
    for case in swept:
        for method in METHODS:
            response = send(client, method, case.url)
            if response.status_code == 405:
                continue  # the other method of a GET-only or POST-only view
            if response.status_code != 403 or b"to run only" not in response.content:
                failures.append(f"{method} {case.label}: {response.status_code}")
    assert not failures, "\n".join(failures)
    world.flow.refresh_from_db()
    assert world.flow.enabled


def test_the_sweep_covers_the_share_page(run_only):
    routes = [c.pattern.route for c in _flow_pages(run_only)]
    assert any("share" in route for route in routes), routes


def test_a_run_only_user_cannot_resubmit_even_their_own_run(run_only):
    world = run_only
    client = browser(world.sales_a)
    own = send(client, "POST", f"/automate/runs/{world.own_run.pk}/resubmit/")
    assert own.status_code == 403
    assert b"to run only" in own.content
    others = send(client, "POST", f"/automate/runs/{world.run.pk}/resubmit/")
    assert others.status_code == 404
    assert world.flow.runs.count() == 2


def test_a_run_only_users_history_holds_only_their_own_runs(run_only):
    world = run_only
    client = browser(world.sales_a)
    for url in ("/automate/runs/", f"/automate/flows/{world.flow.pk}/runs/", "/automate/"):
        response = client.get(url)
        assert response.status_code == 200, url
        links = run_links(response)
        assert world.own_run.pk in links, url
        assert world.run.pk not in links, url
    # The owner sees both: the links are there to be found.
    assert {world.run.pk, world.own_run.pk} <= run_links(
        browser(world.admin_a).get("/automate/runs/")
    )


def test_a_run_only_user_finds_no_one_elses_run(run_only):
    world = run_only
    client = browser(world.sales_a)
    assert client.get(f"/automate/runs/{world.own_run.pk}/").status_code == 200
    for method, url in [
        ("GET", f"/automate/runs/{world.run.pk}/"),
        ("POST", f"/automate/runs/{world.run.pk}/cancel/"),
        ("GET", f"/automate/runs/progress/?run={world.run.pk}"),
    ]:
        response = send(client, method, url)
        assert response.status_code == 404 or world.run.record_name.encode() not in (
            response.content
        ), url
    api = token_client(world.sales_a, world.company_a)
    base = f"/api/bcsite/automate/v1.0/companies({world.company_a.system_id})"
    assert api.get(f"{base}/flowRuns({world.run.system_id})").status_code == 404
    listed = api.get(f"{base}/flowRuns").json()["value"]
    assert {r["id"] for r in listed} == {str(world.own_run.system_id)}


# -- Another company's user ----------------------------------------------------------------


def test_another_companys_user_finds_none_of_the_flows_or_runs(world):
    client = browser(world.outsider_b)
    failures = []
    swept = [
        c
        for c in automate_cases(world)
        if re.search(r"(flows|runs)/<int:pk>/|<str:flow_id>", c.pattern.route)
    ]
    assert len(swept) >= 10
    for case in swept:
        if case.public:
            continue
        for method in METHODS:
            response = send(client, method, case.url)
            if response.status_code not in (404, 405):
                failures.append(f"{method} {case.label}: {response.status_code}")
    assert not failures, "\n".join(failures)


def test_another_companys_token_finds_none_of_the_flows_or_runs(world):
    """Even through its own company's path, B's token finds no flow or run of A."""
    client = token_client(world.outsider_b, world.company_b)
    base = f"/api/bcsite/automate/v1.0/companies({world.company_b.system_id})"
    for method, url in [
        ("GET", f"{base}/flows({world.flow.system_id})"),
        ("GET", f"{base}/flows({world.flow.system_id})/runs"),
        ("POST", f"{base}/flows({world.flow.system_id})/Microsoft.NAV.run"),
        ("GET", f"{base}/flowRuns({world.run.system_id})"),
    ]:
        response = send(client, method, url, content_type="application/json")
        assert response.status_code == 404, (method, url, response.content)
        assert is_json(response)
