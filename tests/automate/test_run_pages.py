"""Run progress, run history, the run page, cancel and resubmit, the failed-runs cue."""

import datetime
import uuid

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

import automate.cues  # noqa: F401  (registers the cue)
from automate.cues import FAILED_RUNS
from automate.models import FlowRun, RunStatus, StepRun, StepStatus
from automate.services import flow_create
from automate.views.runs import RUN_PAGE_SIZE

HX = {"HTTP_HX_REQUEST": "true"}


def _flow(company, owner, name="Notify sales"):
    definition = {
        "schemaVersion": 1,
        "trigger": {"type": "selected_record", "table": 18, "inputs": []},
        "steps": [
            {"name": "Compose", "type": "data.compose", "inputs": {"value": "x"}},
            {
                "name": "Apply_to_each",
                "title": "For every line",
                "type": "control.foreach",
                "inputs": {"items": "@createArray(1, 2)"},
                "actions": [
                    {"name": "Send_an_email", "type": "data.compose", "inputs": {"value": "y"}}
                ],
            },
        ],
    }
    return flow_create(company=company, owner=owner, name=name, definition=definition)


def _run(flow, *, status=RunStatus.SUCCEEDED, ago=datetime.timedelta(0), body=None, **fields):
    now = timezone.now() - ago
    if body is None:
        body = {"number": "C10000", "displayName": "Adatum", "recordUrl": "/customers/1/"}
    finished = status in (
        RunStatus.SUCCEEDED,
        RunStatus.FAILED,
        RunStatus.CANCELLED,
        RunStatus.TIMED_OUT,
    )
    return FlowRun.objects.create(
        flow=flow,
        version=flow.current_version,
        company=flow.company,
        idempotency_key=f"test:{uuid.uuid4()}",
        status=status,
        triggered_by=flow.owner,
        trigger_data={"body": body, "headers": {}},
        # As flow_run_start copies them from the trigger data.
        record_number=body.get("number", ""),
        record_name=body.get("displayName", ""),
        record_path=body.get("recordUrl", ""),
        deadline=now + datetime.timedelta(days=1),
        created_at=now,
        started_at=now,
        finished_at=now + datetime.timedelta(seconds=3) if finished else None,
        steps_total=2,
        **fields,
    )


@pytest.fixture
def anonymous():
    return Client()


@pytest.fixture
def stranger(outsider):
    """A second browser, signed in as the outsider, beside ``sales_client``."""
    browser = Client()
    browser.force_login(outsider)
    return browser


@pytest.fixture
def flow(company, sales):
    return _flow(company, sales)


@pytest.fixture
def their_flow(company, colleague):
    return _flow(company, colleague, name="Colleague flow")


@pytest.fixture
def foreign_flow(other_company, outsider):
    return _flow(other_company, outsider, name="Foreign flow")


def _progress(*runs, **params):
    query = "&".join([*(f"run={r.pk}" for r in runs), *(f"{k}={v}" for k, v in params.items())])
    return f"{reverse('automate:run-progress')}?{query}"


# -- Progress -----------------------------------------------------------------------------------


def test_progress_shows_each_run_and_polls_while_one_is_unfinished(sales_client, flow):
    running = _run(flow, status=RunStatus.RUNNING, steps_done=1)
    done = _run(flow, status=RunStatus.SUCCEEDED, steps_done=2)

    response = sales_client.get(_progress(running, done, next="/customers/"))

    html = response.content.decode()
    assert response.status_code == 200
    assert [r.pk for r in response.context["runs"]] == [running.pk, done.pk]
    assert "Step 1 of 2" in html
    assert 'hx-trigger="every 1s"' in html
    assert '<meta http-equiv="refresh" content="2">' in html
    assert "The flow ran successfully." in html
    assert reverse("automate:run-detail", args=[done.pk]) in html
    assert 'href="/customers/"' in html


def test_progress_stops_polling_when_every_run_has_ended(sales_client, flow):
    run = _run(flow, status=RunStatus.FAILED, error="The customer is blocked.")

    response = sales_client.get(_progress(run), **HX)

    html = response.content.decode()
    assert "<html" not in html
    assert 'id="run-progress"' in html
    assert "hx-trigger" not in html
    assert "http-equiv" not in html
    assert "The customer is blocked." in html
    assert "Back to C10000 · Adatum" in html


def test_progress_fragment_keeps_polling_while_running(sales_client, flow):
    run = _run(flow, status=RunStatus.QUEUED)

    html = sales_client.get(_progress(run), **HX).content.decode()

    assert "<html" not in html
    assert 'hx-trigger="every 1s"' in html
    assert "Step 0 of 2" in html


def test_progress_does_not_show_another_owners_or_companys_runs(
    sales_client, their_flow, foreign_flow
):
    response = sales_client.get(_progress(_run(their_flow), _run(foreign_flow)))

    assert response.status_code == 200
    assert response.context["runs"] == []
    assert "These runs do not exist, or you may not see them." in response.content.decode()


def test_progress_refuses_a_bad_link_with_a_message(sales_client):
    response = sales_client.get(f"{reverse('automate:run-progress')}?run=abc")

    assert response.status_code == 200
    assert "The link names runs that cannot be shown." in response.content.decode()


def test_progress_ignores_a_link_back_to_another_site(sales_client, flow):
    response = sales_client.get(_progress(_run(flow), next="https://evil.example/"))

    assert "evil.example" not in response.content.decode()


def test_progress_does_not_link_to_a_record_url_off_the_site(sales_client, flow):
    run = _run(flow, body={"number": "X", "recordUrl": "//evil.example/x"})

    html = sales_client.get(_progress(run)).content.decode()

    assert "evil.example" not in html


def test_progress_refusals(anonymous, sales_client, flow):
    run = _run(flow)
    response = anonymous.get(_progress(run))
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))
    assert sales_client.post(_progress(run)).status_code == 405


def test_progress_queries_do_not_grow_with_runs(sales_client, flow, django_assert_max_num_queries):
    runs = [_run(flow) for _ in range(20)]
    with django_assert_max_num_queries(8):
        sales_client.get(_progress(*runs))


# -- Run history ------------------------------------------------------------------------------


def test_flow_history_lists_runs_newest_first_with_their_columns(sales_client, flow, sales):
    old = _run(flow, ago=datetime.timedelta(hours=2), status=RunStatus.FAILED)
    new = _run(flow, resubmitted_from=old)

    response = sales_client.get(reverse("automate:flow-runs", args=[flow.pk]))

    html = response.content.decode()
    assert [r.pk for r in response.context["runs"]] == [new.pk, old.pk]
    assert "C10000 · Adatum" in html
    assert 'href="/customers/1/"' in html
    assert "3.0 s" in html
    assert f"Run {old.pk}" in html
    assert "sales" in html


def test_flow_history_filters_by_status(sales_client, flow):
    failed = _run(flow, status=RunStatus.FAILED)
    _run(flow, status=RunStatus.SUCCEEDED)

    response = sales_client.get(reverse("automate:flow-runs", args=[flow.pk]) + "?status=failed")

    assert [r.pk for r in response.context["runs"]] == [failed.pk]


def test_an_unknown_status_is_a_message_not_an_error(sales_client, flow):
    _run(flow)

    response = sales_client.get(reverse("automate:run-list") + "?status=exploded&days=0")

    assert response.status_code == 200
    html = response.content.decode()
    assert "There is no run status" in html
    assert "Days must be a whole number" in html
    assert len(response.context["runs"]) == 1


def test_history_pages_by_keyset_and_the_queries_stay_flat(
    sales_client, flow, django_assert_max_num_queries
):
    runs = [_run(flow, ago=datetime.timedelta(minutes=i)) for i in range(RUN_PAGE_SIZE + 5)]
    url = reverse("automate:flow-runs", args=[flow.pk])

    with django_assert_max_num_queries(8):
        first = sales_client.get(url)
    assert [r.pk for r in first.context["runs"]] == [r.pk for r in runs[:RUN_PAGE_SIZE]]
    assert first.context["next_url"]

    second = sales_client.get(first.context["next_url"], **HX)
    assert [r.pk for r in second.context["runs"]] == [r.pk for r in runs[RUN_PAGE_SIZE:]]
    assert "<html" not in second.content.decode()
    assert second.context["previous_url"] and not second.context["next_url"]


def test_a_forged_page_cursor_shows_the_newest_runs_with_a_message(sales_client, flow):
    run = _run(flow)

    response = sales_client.get(reverse("automate:run-list") + "?after=forged")

    assert [r.pk for r in response.context["runs"]] == [run.pk]
    assert "no longer valid" in response.content.decode()


def test_the_run_list_shows_the_users_runs_and_admins_the_companys(
    sales_client, flow, their_flow, foreign_flow, admin_user
):
    mine, theirs = _run(flow), _run(their_flow)
    _run(foreign_flow)
    url = reverse("automate:run-list")
    admin = Client()
    admin.force_login(admin_user)

    assert [r.pk for r in sales_client.get(url).context["runs"]] == [mine.pk]
    assert {r.pk for r in admin.get(url).context["runs"]} == {mine.pk, theirs.pk}


def test_history_refusals(anonymous, sales_client, stranger, flow, their_flow):
    url = reverse("automate:flow-runs", args=[flow.pk])
    assert sales_client.get(reverse("automate:flow-runs", args=[their_flow.pk])).status_code == 404
    assert stranger.get(url).status_code == 404
    response = anonymous.get(url)
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))
    assert sales_client.post(url).status_code == 405
    assert sales_client.post(reverse("automate:run-list")).status_code == 405


# -- One run ----------------------------------------------------------------------------------


def _steps(run):
    now = timezone.now()
    common = {"run": run, "started_at": now, "finished_at": now + datetime.timedelta(seconds=1)}
    StepRun.objects.create(
        path="Compose",
        name="Compose",
        action="data.compose",
        position=0,
        status=StepStatus.SUCCEEDED,
        attempts=1,
        inputs={"value": "<script>alert(1)</script>"},
        outputs={"body": "<b>bold</b>"},
        **common,
    )
    StepRun.objects.create(
        path="Apply_to_each",
        name="Apply_to_each",
        action="control.foreach",
        position=1,
        status=StepStatus.FAILED,
        attempts=1,
        outputs={"iterations": 2},
        **common,
    )
    StepRun.objects.create(
        path="Apply_to_each[1]/Send_an_email",
        name="Send_an_email",
        action="data.compose",
        position=2,
        depth=1,
        status=StepStatus.FAILED,
        attempts=3,
        inputs={"value": "x" * 2000, "password": "***"},
        error={"code": "ActionFailed", "message": "The mailbox is full."},
        **common,
    )


def test_the_run_page_shows_the_header_and_each_step_escaped(sales_client, flow):
    run = _run(flow, status=RunStatus.FAILED, error="Send an email failed.")
    _steps(run)

    response = sales_client.get(reverse("automate:run-detail", args=[run.pk]))

    html = response.content.decode()
    assert response.status_code == 200
    steps = response.context["steps"]
    assert [s.path for s in steps] == [
        "Compose",
        "Apply_to_each",
        "Apply_to_each[1]/Send_an_email",
    ]
    assert [s.title for s in steps] == ["Compose", "For every line", "Send an email"]
    assert steps[1].action == "Apply to each"
    assert "run-step-depth-1" in html
    assert "Apply_to_each[1]/Send_an_email" in html
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<b>bold</b>" not in html
    assert "The mailbox is full." in html
    assert "3 attempts" in html
    assert "&quot;password&quot;: &quot;***&quot;" in html
    assert "Send an email failed." in html
    assert f"<dd>{flow.current_version.number}</dd>" in html
    # The 2,000-character input starts collapsed; the short ones are shown open.
    assert html.count('<details class="run-json">') >= 1
    assert steps[2].inputs.long and not steps[0].inputs.long


def test_the_run_page_polls_while_the_run_is_unfinished(sales_client, flow):
    run = _run(flow, status=RunStatus.RUNNING)
    url = reverse("automate:run-detail", args=[run.pk])

    html = sales_client.get(url).content.decode()
    assert 'hx-trigger="every 1s"' in html
    assert "Cancel run" in html

    fragment = sales_client.get(url, **HX).content.decode()
    assert "<html" not in fragment and 'id="run-detail"' in fragment


def test_a_finished_run_page_does_not_poll_or_offer_cancel(sales_client, flow):
    run = _run(flow)

    html = sales_client.get(reverse("automate:run-detail", args=[run.pk])).content.decode()

    assert "every 1s" not in html
    assert "Cancel run" not in html
    assert "Resubmit" in html


def test_run_page_refusals(anonymous, sales_client, stranger, flow, their_flow):
    run, theirs = _run(flow), _run(their_flow)
    url = reverse("automate:run-detail", args=[run.pk])
    assert sales_client.get(reverse("automate:run-detail", args=[theirs.pk])).status_code == 404
    assert stranger.get(url).status_code == 404
    assert anonymous.get(url)["Location"].startswith(reverse("login"))
    assert sales_client.post(url).status_code == 405


def test_an_admin_sees_a_colleagues_run(client, admin_user, their_flow):
    client.force_login(admin_user)
    run = _run(their_flow)

    assert client.get(reverse("automate:run-detail", args=[run.pk])).status_code == 200


def test_the_run_page_queries_do_not_grow_with_steps(
    sales_client, flow, django_assert_max_num_queries
):
    run = _run(flow)
    for position in range(40):
        StepRun.objects.create(
            run=run,
            path=f"Step_{position}",
            name=f"Step_{position}",
            action="data.compose",
            position=position,
            status=StepStatus.SUCCEEDED,
        )
    with django_assert_max_num_queries(8):
        sales_client.get(reverse("automate:run-detail", args=[run.pk]))


# -- Cancel and resubmit ----------------------------------------------------------------------


def test_cancel_stops_an_unfinished_run(sales_client, flow):
    run = _run(flow, status=RunStatus.RUNNING)

    response = sales_client.post(reverse("automate:run-cancel", args=[run.pk]), follow=True)

    run.refresh_from_db()
    assert run.status == RunStatus.CANCELLED
    assert "The run was cancelled." in response.content.decode()


def test_cancelling_a_finished_run_says_why_not(sales_client, flow):
    run = _run(flow, status=RunStatus.SUCCEEDED)

    response = sales_client.post(reverse("automate:run-cancel", args=[run.pk]), follow=True)

    run.refresh_from_db()
    assert run.status == RunStatus.SUCCEEDED
    assert "The run has already ended (Succeeded)." in response.content.decode()


def test_resubmit_starts_a_new_run_from_the_same_trigger(sales_client, flow, sales):
    run = _run(flow, status=RunStatus.FAILED)

    response = sales_client.post(reverse("automate:run-resubmit", args=[run.pk]))

    new = FlowRun.objects.exclude(pk=run.pk).get()
    assert response.status_code == 302
    assert response["Location"] == reverse("automate:run-detail", args=[new.pk])
    assert new.resubmitted_from == run
    assert new.trigger_data == run.trigger_data
    assert new.triggered_by == sales


def test_cancel_and_resubmit_refusals(anonymous, sales_client, stranger, flow, their_flow):
    run, theirs = _run(flow, status=RunStatus.RUNNING), _run(their_flow, status=RunStatus.RUNNING)
    for name in ("automate:run-cancel", "automate:run-resubmit"):
        assert sales_client.get(reverse(name, args=[run.pk])).status_code == 405
        assert sales_client.post(reverse(name, args=[theirs.pk])).status_code == 404
        assert stranger.post(reverse(name, args=[run.pk])).status_code == 404
        response = anonymous.post(reverse(name, args=[run.pk]))
        assert response["Location"].startswith(reverse("login"))
    theirs.refresh_from_db()
    assert theirs.status == RunStatus.RUNNING
    assert FlowRun.objects.count() == 2


# -- The failed-runs cue ----------------------------------------------------------------------


def test_the_cue_counts_the_users_failed_runs_of_the_week_as_its_list_shows(
    sales_client, admin_user, flow, their_flow, rf, sales, company
):
    counted = [_run(flow, status=RunStatus.FAILED) for _ in range(2)]
    _run(flow, status=RunStatus.FAILED, ago=datetime.timedelta(days=8))
    _run(flow, status=RunStatus.SUCCEEDED)
    _run(their_flow, status=RunStatus.FAILED)
    request = rf.get("/")
    request.user, request.company, request.is_company_admin = sales, company, False

    assert FAILED_RUNS.count(request) == 2
    listed = sales_client.get(FAILED_RUNS.url(request)).context["runs"]
    assert {r.pk for r in listed} == {r.pk for r in counted}

    home = sales_client.get(reverse("home")).content.decode()
    assert "Failed flow runs" in home


def test_an_admins_cue_counts_only_their_own_flows(client, admin_user, their_flow, rf, company):
    _run(their_flow, status=RunStatus.FAILED)
    request = rf.get("/")
    request.user, request.company, request.is_company_admin = admin_user, company, True

    assert FAILED_RUNS.count(request) == 0
    client.force_login(admin_user)
    assert client.get(FAILED_RUNS.url(request)).context["runs"] == []
