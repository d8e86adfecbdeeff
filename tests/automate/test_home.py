"""Automate home: the runs chart, totals, recent runs, links, and who sees which runs."""

import datetime
import uuid

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from automate.models import FlowRun, RunStatus
from automate.services import flow_create
from automate.services.run_days import run_day_count

URL = "/automate/"


def _flow(company, owner, name="Notify sales"):
    definition = {
        "schemaVersion": 1,
        "trigger": {"type": "selected_record", "table": 18, "inputs": []},
        "steps": [{"name": "Compose", "type": "data.compose", "inputs": {"value": "x"}}],
    }
    return flow_create(company=company, owner=owner, name=name, definition=definition)


def _run(flow, status, days_ago=0):
    # Noon local time, so a run never lands on the day before or after in the chart.
    day = timezone.localdate() - datetime.timedelta(days=days_ago)
    when = timezone.make_aware(datetime.datetime.combine(day, datetime.time(12)))
    run = FlowRun.objects.create(
        flow=flow,
        version=flow.current_version,
        company=flow.company,
        idempotency_key=f"test:{uuid.uuid4()}",
        status=status,
        triggered_by=flow.owner,
        trigger_data={"body": {"number": "C10000", "displayName": "Adatum"}, "headers": {}},
        deadline=when + datetime.timedelta(days=1),
        created_at=when,
    )
    if run.is_finished:
        # As the engine counts a run in the transaction that ends it.
        run_day_count(flow_id=flow.pk, company_id=flow.company_id, created_at=when, status=status)
    return run


@pytest.fixture
def flow(company, sales):
    return _flow(company, sales)


@pytest.fixture
def their_flow(company, colleague):
    return _flow(company, colleague, name="Colleague flow")


def _day(response, days_ago):
    date = timezone.localdate() - datetime.timedelta(days=days_ago)
    return next(d for d in response.context["chart"]["days"] if d.date == date)


def _totals(response):
    return {t["key"]: t["count"] for t in response.context["chart"]["totals"]}


def test_the_url_is_the_automate_home():
    assert reverse("automate:home") == URL


def test_the_chart_counts_runs_per_day_by_outcome(sales_client, flow):
    for status in (RunStatus.SUCCEEDED, RunStatus.SUCCEEDED, RunStatus.FAILED):
        _run(flow, status)
    _run(flow, RunStatus.TIMED_OUT, days_ago=3)
    _run(flow, RunStatus.CANCELLED, days_ago=3)
    _run(flow, RunStatus.RUNNING, days_ago=13)
    _run(flow, RunStatus.WAITING, days_ago=13)
    _run(flow, RunStatus.FAILED, days_ago=14)  # outside the two weeks

    response = sales_client.get(URL)

    assert response.status_code == 200
    days = response.context["chart"]["days"]
    assert len(days) == 14
    assert days[-1].date == timezone.localdate()
    assert _day(response, 0).counts == [2, 1, 0, 0, 0]
    assert _day(response, 3).counts == [0, 0, 1, 1, 0]
    assert _day(response, 13).counts == [0, 0, 0, 0, 2]
    assert _totals(response) == {
        "succeeded": 2,
        "failed": 1,
        "cancelled": 1,
        "timedout": 1,
        "inprogress": 2,
    }
    assert response.context["chart"]["total"] == 7


def test_the_chart_is_inline_svg_with_labels(sales_client, flow):
    _run(flow, RunStatus.SUCCEEDED)
    _run(flow, RunStatus.FAILED)

    html = sales_client.get(URL).content.decode()

    assert '<svg class="runs-chart"' in html
    assert 'role="img"' in html
    assert "Flow runs per day by outcome" in html
    assert html.count('<rect class="run-fill-succeeded"') == 1
    assert html.count('<rect class="run-fill-failed"') == 1
    assert "1 succeeded, 1 failed" in html
    for label in ("Succeeded", "Failed", "Cancelled", "Timed out", "In progress"):
        assert label in html


def test_the_tallest_bar_fills_the_plot_and_segments_stack(sales_client, flow):
    for _ in range(4):
        _run(flow, RunStatus.SUCCEEDED)
    _run(flow, RunStatus.FAILED, days_ago=1)

    response = sales_client.get(URL)

    chart = response.context["chart"]
    today, yesterday = _day(response, 0), _day(response, 1)
    assert today.segments[0].height == chart["baseline"] - chart["top"]
    assert yesterday.segments[0].height == pytest.approx(today.segments[0].height / 4)
    assert today.segments[0].y == chart["top"]


def test_users_see_their_flows_runs_and_admins_the_companys(
    sales_client, flow, their_flow, admin_user
):
    _run(flow, RunStatus.SUCCEEDED)
    _run(their_flow, RunStatus.FAILED)
    admin = Client()
    admin.force_login(admin_user)

    assert _totals(sales_client.get(URL)) == {
        "succeeded": 1,
        "failed": 0,
        "cancelled": 0,
        "timedout": 0,
        "inprogress": 0,
    }
    assert sum(_totals(admin.get(URL)).values()) == 2
    assert "Colleague flow" not in sales_client.get(URL).content.decode()
    assert "Colleague flow" in admin.get(URL).content.decode()


def test_an_outsider_sees_nothing_of_another_company(outsider_client, flow):
    _run(flow, RunStatus.SUCCEEDED)

    response = outsider_client.get(URL)

    assert response.context["chart"]["total"] == 0
    assert response.context["recent_runs"] == []


def test_recent_runs_are_the_last_ten(sales_client, flow):
    runs = [_run(flow, RunStatus.SUCCEEDED, days_ago=i % 14) for i in range(12)]

    response = sales_client.get(URL)

    shown = [r.pk for r in response.context["recent_runs"]]
    newest = sorted(runs, key=lambda r: (r.created_at, r.pk), reverse=True)[:10]
    assert shown == [r.pk for r in newest]
    assert reverse("automate:run-detail", args=[newest[0].pk]) in response.content.decode()


def test_home_links_to_flows_templates_and_history(sales_client):
    html = sales_client.get(URL).content.decode()

    for name in ("automate:flow-list", "automate:gallery", "automate:run-list"):
        assert f'href="{reverse(name)}"' in html


def test_the_queries_do_not_grow_with_runs(sales_client, flow, django_assert_max_num_queries):
    for days_ago in range(14):
        for status in (RunStatus.SUCCEEDED, RunStatus.FAILED, RunStatus.RUNNING):
            _run(flow, status, days_ago=days_ago)

    with django_assert_max_num_queries(8):
        sales_client.get(URL)


def test_home_refusals(sales_client):
    response = Client().get(URL)
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))
    assert sales_client.post(URL).status_code == 405
