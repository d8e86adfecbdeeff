"""Business Events, Runs in progress, and a flow's trigger history."""

from __future__ import annotations

import datetime
import json
import re
import time
import uuid

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from automate.models import FlowRun, RunStatus, TriggerEvent
from automate.services import flow_create
from automate.views.operations import IN_PROGRESS_PAGE_SIZE
from automate.views.runs import TRIGGER_EVENT_PAGE_SIZE
from bcsite.events import events
from records import services as records
from records.middleware import SESSION_KEY
from tests.factories import CustomerFactory, MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db

HX = {"HTTP_HX_REQUEST": "true"}
COMPOSE = [{"name": "Compose", "type": "data.compose", "inputs": {"value": "x"}}]
UNFINISHED = (RunStatus.QUEUED, RunStatus.RUNNING, RunStatus.WAITING)


def make_flow(company, owner, trigger=None, *, name="Flow"):
    trigger = trigger or {"type": "selected_record", "table": 18, "inputs": []}
    return flow_create(
        company=company,
        owner=owner,
        name=name,
        definition={"schemaVersion": 1, "trigger": trigger, "steps": COMPOSE},
    )


def on_event(company, owner, key, *, name="On event"):
    return make_flow(company, owner, {"type": "business_event", "event": key}, name=name)


def add_run(flow, status, *, ago=datetime.timedelta(0), **fields):
    created = timezone.now() - ago
    return FlowRun.objects.create(
        flow=flow,
        version=flow.current_version,
        company=flow.company,
        idempotency_key=f"test:{uuid.uuid4()}",
        status=status,
        trigger_data={"body": {}, "headers": {}},
        deadline=created + datetime.timedelta(days=1),
        created_at=created,
        **fields,
    )


def add_event(flow, status=TriggerEvent.Status.STARTED, *, ago=datetime.timedelta(0), **fields):
    return TriggerEvent.objects.create(
        flow=flow,
        company=flow.company,
        key=f"test:{uuid.uuid4()}",
        trigger_type=flow.trigger_type,
        status=status,
        created_at=timezone.now() - ago,
        **fields,
    )


def signed_in(user) -> Client:
    browser = Client()
    browser.force_login(user)
    return browser


def is_login_redirect(response) -> bool:
    return response.status_code == 302 and "/accounts/login/" in response["Location"]


# -- Business events --------------------------------------------------------------------------


def test_business_events_lists_the_catalogue_by_category_with_its_fields(sales_client):
    response = sales_client.get(reverse("automate:business-events"))

    assert response.status_code == 200
    html = response.content.decode()
    categories = response.context["categories"]
    assert [c.name for c in categories] == sorted(
        {e.category for e in events.business_events.values()}
    )
    listed = [entry.event.key for category in categories for entry in category.entries]
    assert sorted(listed) == sorted(events.business_events)
    released = events.business_events["salesOrderReleased"]
    section = html[html.index('id="event-salesOrderReleased"') :]
    section = section[: section.index("</article>")]
    assert released.name in section
    assert released.description in section
    assert "<code>salesOrderReleased</code>" in section
    assert "Sales Header" in section  # table 36
    assert f"<dd>{released.version}</dd>" in section
    for field in released.payload:
        assert f"<td><code>{field.name}</code></td><td>{field.type}</td>" in section
    assert 'href="/automate/flows/new/?event=salesOrderReleased"' in section


def test_business_events_counts_the_flows_the_user_may_see_on_each_event(
    client, company, sales, colleague, admin_user, other_company, outsider
):
    on_event(company, sales, "salesOrderReleased", name="Mine 1")
    on_event(company, sales, "salesOrderReleased", name="Mine 2")
    on_event(company, sales, "customerBlocked", name="Mine 3")
    on_event(company, colleague, "salesOrderReleased", name="Theirs")
    on_event(other_company, outsider, "salesOrderReleased", name="Foreign")
    make_flow(company, sales, name="Instant")

    def counts(user):
        client.force_login(user)
        response = client.get(reverse("automate:business-events"))
        return {
            entry.event.key: entry.flow_count
            for category in response.context["categories"]
            for entry in category.entries
        }

    mine = counts(sales)
    assert (mine["salesOrderReleased"], mine["customerBlocked"], mine["salesInvoicePosted"]) == (
        2,
        1,
        0,
    )
    assert counts(admin_user)["salesOrderReleased"] == 3
    assert counts(outsider)["salesOrderReleased"] == 1


def test_business_events_costs_the_same_queries_for_many_flows(sales_client, company, sales):
    on_event(company, sales, "salesOrderReleased")
    with CaptureQueriesContext(connection) as one:
        sales_client.get(reverse("automate:business-events"))
    for index, key in enumerate(list(events.business_events) * 3):
        on_event(company, sales, key, name=f"Flow {index}")
    with CaptureQueriesContext(connection) as many:
        sales_client.get(reverse("automate:business-events"))
    assert len(many) == len(one)


def test_create_a_flow_opens_the_designer_on_the_business_event(sales_client, company, sales):
    response = sales_client.get(reverse("automate:flow-new") + "?event=salesOrderReleased")

    assert response.status_code == 200
    definition = json.loads(response.context["form"].initial["definition"])
    assert definition["trigger"] == {
        "type": "business_event",
        "event": "salesOrderReleased",
        "conditions": [],
    }
    saved = sales_client.post(
        reverse("automate:flow-new"),
        {"name": "Tell sales", "definition": json.dumps(definition), "concurrency_limit": 25},
    )
    assert saved.status_code == 302
    flow = sales.flows.get(name="Tell sales")
    assert (flow.trigger_type, flow.trigger_event) == ("business_event", "salesOrderReleased")


@pytest.mark.parametrize("event", ["noSuchEvent", "", "salesorderreleased", "<script>"])
def test_an_unknown_event_opens_a_blank_instant_flow(sales_client, event):
    response = sales_client.get(reverse("automate:flow-new"), {"event": event, "table": "18"})
    definition = json.loads(response.context["form"].initial["definition"])
    assert definition["trigger"] == {"type": "selected_record", "table": 18, "inputs": []}


def test_my_flows_names_the_business_event(sales_client, company, sales):
    on_event(company, sales, "customerBlocked")
    html = sales_client.get(reverse("automate:flow-list")).content.decode()
    assert "When a business event occurs · Customer blocked" in html


# -- Runs in progress -------------------------------------------------------------------------


def test_runs_in_progress_shows_queued_running_and_waiting_runs(sales_client, company, sales):
    flow = make_flow(company, sales, name="Notify")
    wake = timezone.now() + datetime.timedelta(hours=2)
    queued = add_run(flow, RunStatus.QUEUED, ago=datetime.timedelta(minutes=3))
    running = add_run(
        flow,
        RunStatus.RUNNING,
        ago=datetime.timedelta(minutes=2),
        started_at=timezone.now(),
        deliveries=3,
        record_number="C10000",
        record_name="Adatum",
        record_path="/customers/1/",
    )
    waiting = add_run(flow, RunStatus.WAITING, ago=datetime.timedelta(minutes=1), wake_at=wake)
    for status in (RunStatus.SUCCEEDED, RunStatus.FAILED, RunStatus.CANCELLED, RunStatus.TIMED_OUT):
        add_run(flow, status)

    response = sales_client.get(reverse("automate:runs-in-progress"))

    assert response.status_code == 200
    assert [r.pk for r in response.context["runs"]] == [waiting.pk, running.pk, queued.pk]
    html = response.content.decode()
    assert "3 runs in progress" in html
    row = html[html.index(f'id="run-{running.pk}"') :]
    row = row[: row.index("</tr>")]
    assert "Notify" in row and "run-badge-running" in row
    assert '<a href="/customers/1/">C10000 · Adatum</a>' in row
    assert '<td class="num">3</td>' in row
    assert f'action="{reverse("automate:run-cancel", args=[running.pk])}"' in row
    assert "csrfmiddlewaretoken" in row
    waiting_row = html[html.index(f'id="run-{waiting.pk}"') :]
    local_wake = timezone.localtime(wake)
    assert local_wake.strftime("%Y") in waiting_row[: waiting_row.index("</tr>")]
    assert "Not yet" in waiting_row[: waiting_row.index("</tr>")]


def test_cancel_on_runs_in_progress_cancels_through_the_run_cancel_view(
    sales_client, company, sales
):
    run = add_run(make_flow(company, sales), RunStatus.WAITING)
    html = sales_client.get(reverse("automate:runs-in-progress")).content.decode()
    row = html[html.index(f'id="run-{run.pk}"') :]
    action = re.search(r'<form method="post" action="([^"]+)">', row).group(1)
    assert action == reverse("automate:run-cancel", args=[run.pk])

    response = sales_client.post(action)

    assert response.status_code == 302
    run.refresh_from_db()
    assert run.status == RunStatus.CANCELLED
    assert run.pk not in [
        r.pk for r in sales_client.get(reverse("automate:runs-in-progress")).context["runs"]
    ]


def test_runs_in_progress_shows_a_user_only_the_runs_of_their_flows(
    client, company, sales, colleague, admin_user, other_company, outsider
):
    mine = add_run(make_flow(company, sales, name="Mine"), RunStatus.RUNNING)
    theirs = add_run(make_flow(company, colleague, name="Theirs"), RunStatus.QUEUED)
    foreign = add_run(make_flow(other_company, outsider, name="Foreign"), RunStatus.QUEUED)

    def shown(user):
        client.force_login(user)
        return {r.pk for r in client.get(reverse("automate:runs-in-progress")).context["runs"]}

    assert shown(sales) == {mine.pk}
    assert shown(colleague) == {theirs.pk}
    assert shown(admin_user) == {mine.pk, theirs.pk}
    assert shown(outsider) == {foreign.pk}


def test_a_colleague_cannot_cancel_my_run_from_the_page(company, sales, colleague):
    run = add_run(make_flow(company, sales), RunStatus.RUNNING)
    response = signed_in(colleague).post(reverse("automate:run-cancel", args=[run.pk]))
    assert response.status_code == 404
    run.refresh_from_db()
    assert run.status == RunStatus.RUNNING


def test_runs_in_progress_pages_through_every_run_newest_first_once(sales_client, company, sales):
    flow = make_flow(company, sales)
    same_time = timezone.now() - datetime.timedelta(hours=1)
    expected = []
    for index in range(2 * IN_PROGRESS_PAGE_SIZE + 7):
        status = UNFINISHED[index % 3]
        # Every fifth run shares its time with others: the pk must break the tie.
        ago = datetime.timedelta(seconds=index) if index % 5 else None
        run = add_run(flow, status, ago=ago or datetime.timedelta(0))
        if ago is None:
            FlowRun.objects.filter(pk=run.pk).update(created_at=same_time)
            run.created_at = same_time
        expected.append(run)
    add_run(flow, RunStatus.SUCCEEDED)
    expected.sort(key=lambda r: (r.created_at, r.pk), reverse=True)

    seen, url, pages = [], reverse("automate:runs-in-progress"), 0
    while url:
        response = sales_client.get(url)
        seen += [r.pk for r in response.context["runs"]]
        url, pages = response.context["next_url"], pages + 1
        assert pages <= 3
        if pages > 1:
            assert response.context["first_url"] == reverse("automate:runs-in-progress")

    assert seen == [r.pk for r in expected]
    assert pages == 3


def test_runs_in_progress_queries_do_not_grow_with_runs(
    sales_client, company, sales, colleague, django_assert_max_num_queries
):
    flow = make_flow(company, sales)
    add_run(flow, RunStatus.RUNNING)
    url = reverse("automate:runs-in-progress")
    with CaptureQueriesContext(connection) as one:
        sales_client.get(url)
    for index in range(IN_PROGRESS_PAGE_SIZE + 20):
        other = make_flow(company, sales, name=f"Flow {index}") if index % 10 == 0 else flow
        add_run(other, UNFINISHED[index % 3], triggered_by=colleague, deliveries=index)
    with CaptureQueriesContext(connection) as many:
        response = sales_client.get(url)
        next_page = sales_client.get(response.context["next_url"])
    assert len(response.context["runs"]) == IN_PROGRESS_PAGE_SIZE
    assert len(next_page.context["runs"]) == 21
    assert len(many) == 2 * len(one)
    with django_assert_max_num_queries(10):
        sales_client.get(url)


def test_runs_in_progress_answers_htmx_with_the_grid(sales_client, company, sales):
    add_run(make_flow(company, sales), RunStatus.QUEUED)
    response = sales_client.get(reverse("automate:runs-in-progress"), **HX)
    html = response.content.decode()
    assert html.strip().startswith('<div id="in-progress-grid"')
    assert "<html" not in html
    assert response["Vary"] and "HX-Request" in response["Vary"]


@pytest.mark.parametrize("after", ["junk", "a.b", "x" * 600, "W10.abc"])
def test_a_bad_cursor_shows_the_newest_runs_and_says_so(sales_client, company, sales, after):
    run = add_run(make_flow(company, sales), RunStatus.QUEUED)
    response = sales_client.get(reverse("automate:runs-in-progress"), {"after": after})
    assert response.status_code == 200
    assert [r.pk for r in response.context["runs"]] == [run.pk]
    assert "That page link is no longer valid" in response.content.decode()


def test_a_cursor_from_another_list_is_refused(sales_client, company, sales):
    flow = make_flow(company, sales)
    for _ in range(TRIGGER_EVENT_PAGE_SIZE + 1):
        add_event(flow)
    flow_runs = sales_client.get(reverse("automate:flow-runs", args=[flow.pk]))
    assert not flow_runs.context["triggers"]  # an instant flow keeps no trigger history
    automated = make_flow(company, sales, {"type": "record_created", "table": 18}, name="Auto")
    for _ in range(TRIGGER_EVENT_PAGE_SIZE + 1):
        add_event(automated)
    history = sales_client.get(reverse("automate:flow-runs", args=[automated.pk]))
    cursor = history.context["triggers"].next_url.split("events_after=")[1]
    response = sales_client.get(reverse("automate:runs-in-progress") + f"?after={cursor}")
    assert "That page link is no longer valid" in response.content.decode()


# -- Trigger history --------------------------------------------------------------------------


def test_trigger_history_lists_started_skipped_and_pending_events(sales_client, company, sales):
    flow = make_flow(company, sales, {"type": "record_modified", "table": 18}, name="Watch")
    run = add_run(flow, RunStatus.SUCCEEDED)
    started = add_event(
        flow, ago=datetime.timedelta(minutes=3), summary="Customer C1 modified", run=run
    )
    skipped = add_event(
        flow,
        TriggerEvent.Status.SKIPPED,
        ago=datetime.timedelta(minutes=2),
        summary="Customer C2 modified",
        reason="Trigger condition 1 was not met: @equals(1, 2)",
    )
    pending = add_event(
        flow, TriggerEvent.Status.PENDING, ago=datetime.timedelta(minutes=1), summary="C3"
    )
    add_event(make_flow(company, sales, {"type": "record_created", "table": 18}, name="Other"))

    response = sales_client.get(reverse("automate:flow-runs", args=[flow.pk]))

    assert response.status_code == 200
    triggers = response.context["triggers"]
    assert [e.pk for e in triggers.events] == [pending.pk, skipped.pk, started.pk]
    html = response.content.decode()
    section = html[html.index('id="trigger-history"') :]
    assert "Customer C1 modified" in section
    assert f'<a href="{reverse("automate:run-detail", args=[run.pk])}">Run {run.pk}</a>' in section
    assert "Trigger condition 1 was not met: @equals(1, 2)" in section
    assert '<span class="run-badge run-badge-started">Started</span>' in section
    assert '<span class="run-badge run-badge-skipped">Skipped</span>' in section
    assert '<span class="run-badge run-badge-waiting">Pending</span>' in section
    assert not triggers.next_url and not triggers.first_url


def test_trigger_history_shows_why_the_pipeline_skipped_an_event(
    sales_client, company, sales, django_capture_on_commit_callbacks
):
    flow = make_flow(
        company,
        sales,
        {
            "type": "record_modified",
            "table": 18,
            "conditions": ["@equals(triggerBody()?['city'], 'Atlanta')"],
        },
    )
    customer = CustomerFactory(company=company, city="Oslo")
    with django_capture_on_commit_callbacks(execute=True):
        records.customer_update(customer=customer, user=sales, city="Bergen")
        records.customer_update(customer=customer, user=sales, city="Atlanta")

    html = sales_client.get(reverse("automate:flow-runs", args=[flow.pk])).content.decode()

    section = html[html.index('id="trigger-history"') :]
    run = FlowRun.objects.get(flow=flow)
    assert "Trigger condition 1 was not met: @equals(triggerBody()?[&#x27;city&#x27;]" in section
    assert f"Run {run.pk}</a>" in section
    assert section.count("run-badge-started") == 1 and section.count("run-badge-skipped") == 1


def test_trigger_history_pages_by_itself(sales_client, company, sales):
    flow = make_flow(company, sales, {"type": "recurrence", "frequency": "minute"}, name="Tick")
    expected = [
        add_event(flow, ago=datetime.timedelta(minutes=i), summary=f"Slot {i}").pk
        for i in range(TRIGGER_EVENT_PAGE_SIZE + 5)
    ]
    url = reverse("automate:flow-runs", args=[flow.pk])

    first = sales_client.get(url).context["triggers"]
    assert [e.pk for e in first.events] == expected[:TRIGGER_EVENT_PAGE_SIZE]
    fragment = sales_client.get(first.next_url, HTTP_HX_TARGET="trigger-history", **HX)
    html = fragment.content.decode()
    assert html.strip().startswith('<div id="trigger-history"')
    assert "run-grid" not in html and "<html" not in html
    second = fragment.context["triggers"]
    assert [e.pk for e in second.events] == expected[TRIGGER_EVENT_PAGE_SIZE:]
    assert second.first_url == url and not second.next_url
    back = sales_client.get(second.previous_url).context["triggers"]
    assert [e.pk for e in back.events] == expected[:TRIGGER_EVENT_PAGE_SIZE]
    # The run grid's own htmx paging is not given the history.
    grid = sales_client.get(url, HTTP_HX_TARGET="run-grid", **HX)
    assert 'id="trigger-history"' not in grid.content.decode()


def test_a_bad_trigger_history_cursor_shows_the_newest_and_says_so(sales_client, company, sales):
    flow = make_flow(company, sales, {"type": "record_deleted", "table": 18})
    event = add_event(flow)
    response = sales_client.get(
        reverse("automate:flow-runs", args=[flow.pk]), {"events_after": "junk"}
    )
    assert response.status_code == 200
    assert [e.pk for e in response.context["triggers"].events] == [event.pk]
    assert "That page link of the trigger history is no longer valid" in response.content.decode()


def test_instant_flows_have_no_trigger_history(sales_client, company, sales):
    flow = make_flow(company, sales)
    html = sales_client.get(reverse("automate:flow-runs", args=[flow.pk])).content.decode()
    assert "Trigger history" not in html


def test_trigger_history_queries_do_not_grow_with_events(sales_client, company, sales):
    flow = make_flow(company, sales, {"type": "record_created", "table": 18})
    add_event(flow)
    url = reverse("automate:flow-runs", args=[flow.pk])
    with CaptureQueriesContext(connection) as one:
        sales_client.get(url)
    for index in range(TRIGGER_EVENT_PAGE_SIZE + 10):
        run = add_run(flow, RunStatus.SUCCEEDED) if index % 2 else None
        add_event(flow, run=run, summary=f"Event {index}")
    with CaptureQueriesContext(connection) as many:
        response = sales_client.get(url)
    assert len(response.context["triggers"].events) == TRIGGER_EVENT_PAGE_SIZE
    assert len(many) == len(one)


def test_trigger_history_is_the_owners_and_the_admins_only(
    client, company, sales, colleague, admin_user, outsider
):
    flow = make_flow(company, sales, {"type": "record_created", "table": 18})
    add_event(flow, summary="Zebra created")
    url = reverse("automate:flow-runs", args=[flow.pk])
    assert "Zebra created" in signed_in(admin_user).get(url).content.decode()
    assert signed_in(colleague).get(url).status_code == 404
    assert signed_in(outsider).get(url).status_code == 404
    assert signed_in(colleague).get(url, HTTP_HX_TARGET="trigger-history", **HX).status_code == 404
    assert is_login_redirect(client.get(url))


# -- Refusals common to the pages -------------------------------------------------------------


PAGES = ["automate:business-events", "automate:runs-in-progress"]


@pytest.mark.parametrize("name", PAGES)
def test_the_pages_send_anonymous_users_to_sign_in(client, name):
    assert is_login_redirect(client.get(reverse(name)))
    htmx = client.get(reverse(name), **HX)
    assert htmx.status_code == 200 and "/accounts/login/" in htmx["HX-Redirect"]


@pytest.mark.parametrize("name", PAGES)
@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
def test_the_pages_refuse_other_methods(sales_client, name, method):
    assert getattr(sales_client, method)(reverse(name)).status_code == 405


@pytest.mark.parametrize("name", PAGES)
def test_a_user_of_no_company_is_told_so(company, name):
    user = UserFactory(username="nobody")
    response = signed_in(user).get(reverse(name))
    assert response.status_code == 403


def test_the_pages_are_in_the_navigation(sales_client):
    html = sales_client.get(reverse("automate:home")).content.decode()
    assert f'href="{reverse("automate:runs-in-progress")}"' in html
    assert f'href="{reverse("automate:business-events")}"' in html


def test_a_user_of_two_companies_sees_the_runs_of_the_one_they_work_in(
    company, other_company, sales
):
    MembershipFactory(user=sales, company=other_company)
    here = add_run(make_flow(company, sales, name="Here"), RunStatus.QUEUED)
    there = add_run(make_flow(other_company, sales, name="There"), RunStatus.QUEUED)
    browser = signed_in(sales)
    url = reverse("automate:runs-in-progress")
    assert [r.pk for r in browser.get(url).context["runs"]] == [here.pk]
    session = browser.session
    session[SESSION_KEY] = other_company.pk
    session.save()
    assert [r.pk for r in browser.get(url).context["runs"]] == [there.pk]


# -- At scale ---------------------------------------------------------------------------------


def _bulk_runs(flow, count, statuses, *, start, tag):
    """``count`` runs of ``flow``, a second apart from ``start``, cycling through ``statuses``:
    one INSERT ... SELECT, which writes 100,000 runs in about a second."""
    if connection.vendor == "postgresql":
        numbers = "SELECT n FROM generate_series(0, %s) AS n"
        system_id = "md5(%s || n::text)::uuid"
        created = "%s::timestamptz + n * interval '1 second'"
        deadline = "%s::timestamptz + interval '30 days'"
    else:
        numbers = (
            "WITH RECURSIVE s(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM s WHERE n < %s) "
            "SELECT n FROM s"
        )
        system_id = "lower(hex(randomblob(16))) || substr(%s, 1, 0)"
        created = "datetime(%s, '+' || n || ' seconds')"
        deadline = "datetime(%s, '+30 days')"
    status = "CASE n %% {} {} END".format(
        len(statuses), " ".join(f"WHEN {i} THEN '{value}'" for i, value in enumerate(statuses))
    )
    sql = f"""
        INSERT INTO automate_flowrun (
            flow_id, version_id, company_id, system_id, idempotency_key, status, trigger_data,
            record_number, record_name, record_path, variables, error, steps_total, steps_done,
            deliveries, lost_deliveries, deadline, created_at
        )
        SELECT %s, %s, %s, {system_id}, %s || n, {status}, '{{}}', '', '', '', '{{}}', '',
            0, 0, 0, 0, {deadline}, {created}
        FROM ({numbers}) AS numbers
    """
    at = start.astimezone(datetime.UTC).replace(tzinfo=None).isoformat(sep=" ")
    params = [
        flow.pk,
        flow.current_version_id,
        flow.company_id,
        tag,
        f"bulk:{tag}:",
        at,
        at,
        count - 1,
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def _plans(queries) -> list[str]:
    """The plans of the ordered queries on runs: the pages' reads. (The bounded count
    may scan: it stops at its limit.)"""
    plans = []
    with connection.cursor() as cursor:
        for query in queries:
            sql = query["sql"]
            if "automate_flowrun" not in sql or "ORDER BY" not in sql:
                continue
            prefix = "EXPLAIN QUERY PLAN " if connection.vendor == "sqlite" else "EXPLAIN "
            cursor.execute(prefix + sql)
            plans.append(" ".join(str(part) for row in cursor.fetchall() for part in row))
    return plans


@pytest.mark.slow
@pytest.mark.parametrize("backlog", [60, 50_000], ids=["few-going", "backlog"])
def test_runs_in_progress_reads_a_page_not_the_table(sales_client, company, sales, backlog):
    flow = make_flow(company, sales)
    start = timezone.now() - datetime.timedelta(days=20)
    _bulk_runs(
        flow, 100_000 - backlog, [RunStatus.SUCCEEDED, RunStatus.FAILED], start=start, tag="ended"
    )
    _bulk_runs(flow, backlog, UNFINISHED, start=start + datetime.timedelta(days=1), tag="going")
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    url = reverse("automate:runs-in-progress")
    sales_client.get(url)

    started = time.perf_counter()
    with CaptureQueriesContext(connection) as queries:
        response = sales_client.get(url)
        following = sales_client.get(response.context["next_url"])
    elapsed = time.perf_counter() - started

    assert len(response.context["runs"]) == IN_PROGRESS_PAGE_SIZE
    assert following.context["runs"][0].created_at < response.context["runs"][-1].created_at
    plans = _plans(queries.captured_queries)
    assert len(plans) == 6  # per page, one query per unfinished status
    # Through an index of the runs: the status index, or whichever the planner prefers
    # when most runs are in progress (PostgreSQL may walk created_at and sort a little).
    # Never the whole table.
    assert all("INDEX" in plan.upper() for plan in plans), plans
    full_scans = ("SCAN automate_flowrun ", "Seq Scan on automate_flowrun ")
    assert not [plan for plan in plans if any(scan in plan for scan in full_scans)], plans
    print(f"{connection.vendor}, {backlog} in progress: two pages in {elapsed * 1000:.0f} ms")
    assert elapsed < 2.0, f"two pages took {elapsed:.2f} s"
