"""Sharing flows: co-owners edit and see the whole history, run-only users run the instant
flow from the Automate group and see only their own runs; administrators reassign the flows
of a user who leaves; every change is in the audit log.

Personas: ``colleague`` owns the flow, ``sales`` gets it shared, ``stranger`` is a user of
the company it is not shared with, ``outsider`` is of another company, ``admin_user``
administers CRONUS.
"""

import json
import uuid

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

import automate.automate_group  # noqa: F401  (registers the group)
from automate.models import AutomateSetup, Flow, FlowRun, FlowShare, RunStatus, SentEmail
from automate.services import flow_create, instant_flow_run
from automate.services.sharing import flow_share, flow_unshare, flows_reassign
from bcsite.models import AuditEntry
from bcsite.registry import registry
from records.models import Membership
from tests.api.conftest import token_client
from tests.factories import CustomerFactory, MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db

CARD = registry.pages["customer_card"]
RUN_ONLY_MESSAGE = "is shared with you to run only"


def instant(table=18):
    return {
        "schemaVersion": 1,
        "trigger": {"type": "selected_record", "table": table, "inputs": []},
        "steps": [{"name": "Compose", "type": "data.compose", "inputs": {"value": "x"}}],
    }


AUTOMATED = {
    "schemaVersion": 1,
    "trigger": {"type": "record_created", "table": 18, "conditions": []},
    "steps": [{"name": "Compose", "type": "data.compose", "inputs": {"value": "x"}}],
}


def make_flow(company, owner, name="Notify warehouse", definition=None):
    return flow_create(company=company, owner=owner, name=name, definition=definition or instant())


def api_base(company) -> str:
    return f"/api/bcsite/automate/v1.0/companies({company.system_id})"


@pytest.fixture(autouse=True)
def _own_rate_limit_counts(settings):
    # API rate limits count in Redis by caller id, and test databases reuse ids.
    settings.CACHES = {
        **settings.CACHES,
        "api": {**settings.CACHES["api"], "KEY_PREFIX": f"bcsite-sharing-{uuid.uuid4().hex}"},
    }


@pytest.fixture
def stranger(company):
    user = UserFactory(username="stranger")
    MembershipFactory(user=user, company=company)
    return user


@pytest.fixture
def adatum(company):
    return CustomerFactory(company=company, no="C10000", name="Adatum Corporation")


@pytest.fixture
def flow(company, colleague):
    return make_flow(company, colleague)


@pytest.fixture
def run_only(flow, sales, colleague):
    return flow_share(flow=flow, user=sales, role=FlowShare.Role.RUN_ONLY, by=colleague)


@pytest.fixture
def co_owner(flow, sales, colleague):
    return flow_share(flow=flow, user=sales, role=FlowShare.Role.CO_OWNER, by=colleague)


def start_run(flow, user, record, capture):
    with capture(execute=True):
        return instant_flow_run(flow=flow, record=record, user=user)


# -- Run-only users ------------------------------------------------------------------------------


def test_a_run_only_user_sees_the_flow_in_my_flows_marked_run_only(sales_client, flow, run_only):
    content = sales_client.get(reverse("automate:flow-list")).content.decode()

    assert "Notify warehouse" in content
    assert "Run-only user" in content
    assert "Run from the Automate group on Customer pages" in content
    for hidden in ("flow-edit", "flow-share", "flow-delete", "flow-toggle", "flow-export"):
        assert f'"{reverse(f"automate:{hidden}", args=[flow.pk])}"' not in content
    assert f'"{reverse("automate:flow-runs", args=[flow.pk])}"' in content


def test_a_run_only_user_runs_the_flow_from_the_automate_group(
    sales_client, sales, flow, run_only, adatum, django_capture_on_commit_callbacks
):
    html = sales_client.get(CARD.card_url(adatum)).content.decode()
    assert f'data-action="run-flow-{flow.pk}"' in html
    assert "Notify warehouse (shared)" in html

    with django_capture_on_commit_callbacks(execute=True):
        response = sales_client.post(
            CARD.url("action", adatum.pk, f"run-flow-{flow.pk}"), {"confirmed": "1"}
        )

    assert response.status_code == 302
    run = FlowRun.objects.get()
    assert run.flow == flow and run.triggered_by == sales
    assert run.status == RunStatus.SUCCEEDED


def test_a_run_only_user_sees_their_own_runs_and_not_the_owners(
    sales_client,
    sales,
    colleague,
    flow,
    run_only,
    adatum,
    django_capture_on_commit_callbacks,
):
    owners = start_run(flow, colleague, adatum, django_capture_on_commit_callbacks)
    mine = start_run(flow, sales, adatum, django_capture_on_commit_callbacks)

    for url in (reverse("automate:flow-runs", args=[flow.pk]), reverse("automate:run-list")):
        response = sales_client.get(url)
        assert response.status_code == 200
        shown = [run.pk for run in response.context["runs"]]
        assert shown == [mine.pk], url
    home = sales_client.get(reverse("automate:home"))
    assert [run.pk for run in home.context["recent_runs"]] == [mine.pk]
    assert home.context["chart"]["total"] == 1
    assert sales_client.get(reverse("automate:run-detail", args=[mine.pk])).status_code == 200
    assert sales_client.get(reverse("automate:run-detail", args=[owners.pk])).status_code == 404


def test_the_owner_sees_the_run_only_users_runs(
    client, sales, colleague, flow, run_only, adatum, django_capture_on_commit_callbacks
):
    theirs = start_run(flow, sales, adatum, django_capture_on_commit_callbacks)
    client.force_login(colleague)

    response = client.get(reverse("automate:flow-runs", args=[flow.pk]))

    assert [run.pk for run in response.context["runs"]] == [theirs.pk]


def test_a_run_only_user_does_not_see_the_trigger_history(sales_client, flow, run_only):
    url = reverse("automate:flow-runs", args=[flow.pk])

    page = sales_client.get(url)
    fragment = sales_client.get(url, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="trigger-history")

    assert "triggers" not in page.context
    assert page.context["may_edit"] is False
    assert fragment.status_code == 403


@pytest.mark.parametrize(
    ("method", "name"),
    [
        ("get", "automate:flow-edit"),
        ("post", "automate:flow-edit"),
        ("post", "automate:flow-toggle"),
        ("get", "automate:flow-export"),
        ("get", "automate:flow-delete"),
        ("post", "automate:flow-delete"),
        ("get", "automate:flow-share"),
        ("post", "automate:flow-share"),
    ],
)
def test_a_run_only_user_may_not_edit_switch_export_delete_or_share(
    sales_client, sales, flow, run_only, method, name
):
    data = {
        "name": "Taken over",
        "definition": json.dumps(instant()),
        "enabled": "false",
        "user": sales.pk,
        "role": "co_owner",
    }
    url = reverse(name, args=[flow.pk])

    response = getattr(sales_client, method)(url, data if method == "post" else None)

    assert response.status_code == 403
    assert RUN_ONLY_MESSAGE in response.content.decode()
    assert "colleague" in response.content.decode()  # who can make them a co-owner
    flow.refresh_from_db()
    assert flow.name == "Notify warehouse" and flow.enabled
    assert flow.versions.count() == 1
    assert FlowShare.objects.get(flow=flow, user=sales).role == FlowShare.Role.RUN_ONLY


def test_a_run_only_user_cancels_their_own_run_but_may_not_resubmit(
    sales_client, sales, flow, run_only, adatum
):
    # Not dispatched (no on-commit here): the run stays queued, ready to cancel.
    run = instant_flow_run(flow=flow, record=adatum, user=sales)

    resubmit = sales_client.post(reverse("automate:run-resubmit", args=[run.pk]))
    cancel = sales_client.post(reverse("automate:run-cancel", args=[run.pk]))

    assert resubmit.status_code == 403
    assert RUN_ONLY_MESSAGE in resubmit.content.decode()
    assert cancel.status_code == 302
    run.refresh_from_db()
    assert run.status == RunStatus.CANCELLED
    assert FlowRun.objects.count() == 1


def test_a_run_only_user_may_not_cancel_the_owners_run(
    sales_client, colleague, flow, run_only, adatum
):
    run = instant_flow_run(flow=flow, record=adatum, user=colleague)

    response = sales_client.post(reverse("automate:run-cancel", args=[run.pk]))

    assert response.status_code == 404
    run.refresh_from_db()
    assert run.status == RunStatus.QUEUED


def test_a_run_only_user_runs_the_flow_over_the_api_and_sees_only_their_runs(
    company, sales, colleague, flow, run_only, adatum, django_capture_on_commit_callbacks
):
    owners = start_run(flow, colleague, adatum, django_capture_on_commit_callbacks)
    api = token_client(sales, company)

    listed = api.get(f"{api_base(company)}/flows").json()["value"]
    with django_capture_on_commit_callbacks(execute=True):
        started = api.post(
            f"{api_base(company)}/flows({flow.system_id})/Microsoft.NAV.run",
            {"recordId": "C10000"},
            format="json",
        )
    all_runs = api.get(f"{api_base(company)}/flowRuns").json()["value"]
    flow_runs = api.get(f"{api_base(company)}/flows({flow.system_id})/runs").json()["value"]
    others = api.get(f"{api_base(company)}/flowRuns({owners.system_id})")

    assert [(f["name"], f["myRole"]) for f in listed] == [("Notify warehouse", "run_only")]
    assert started.status_code == 202
    mine = started.json()["id"]
    assert [r["id"] for r in all_runs] == [mine]
    assert [r["id"] for r in flow_runs] == [mine]
    assert others.status_code == 404
    assert FlowRun.objects.get(system_id=mine).triggered_by == sales


def test_the_api_tells_the_owner_their_role(company, colleague, flow, run_only):
    api = token_client(colleague, company)

    flow_data = api.get(f"{api_base(company)}/flows({flow.system_id})").json()

    assert flow_data["myRole"] == "owner"


# -- Co-owners -----------------------------------------------------------------------------------


def test_a_co_owner_edits_the_flow_into_a_new_version(sales_client, sales, flow, co_owner):
    changed = instant()
    changed["steps"][0]["inputs"]["value"] = "y"

    response = sales_client.post(
        reverse("automate:flow-edit", args=[flow.pk]),
        {"name": "Notify warehouse", "definition": json.dumps(changed)},
    )

    assert response.status_code == 302
    flow.refresh_from_db()
    assert flow.current_version.number == 2
    assert flow.current_version.created_by == sales
    assert flow.owner.username == "colleague"


def test_a_co_owner_sees_every_run_of_the_flow(
    sales_client, sales, colleague, flow, co_owner, adatum, django_capture_on_commit_callbacks
):
    owners = start_run(flow, colleague, adatum, django_capture_on_commit_callbacks)
    mine = start_run(flow, sales, adatum, django_capture_on_commit_callbacks)

    response = sales_client.get(reverse("automate:flow-runs", args=[flow.pk]))
    detail = sales_client.get(reverse("automate:run-detail", args=[owners.pk]))

    assert {run.pk for run in response.context["runs"]} == {owners.pk, mine.pk}
    assert detail.status_code == 200


def test_a_co_owner_resubmits_the_owners_run(
    sales_client, colleague, flow, co_owner, adatum, django_capture_on_commit_callbacks
):
    owners = start_run(flow, colleague, adatum, django_capture_on_commit_callbacks)

    response = sales_client.post(reverse("automate:run-resubmit", args=[owners.pk]))

    assert response.status_code == 302
    assert FlowRun.objects.filter(resubmitted_from=owners).count() == 1


def test_a_co_owner_manages_the_sharing(sales_client, sales, flow, co_owner, stranger):
    url = reverse("automate:flow-share", args=[flow.pk])

    page = sales_client.get(url)
    added = sales_client.post(url, {"action": "share", "user": stranger.pk, "role": "run_only"})

    assert page.status_code == 200
    assert [c.username for c in page.context["candidates"]] == ["stranger"]
    assert added.status_code == 302 and added["Location"] == url
    assert FlowShare.objects.get(flow=flow, user=stranger).role == FlowShare.Role.RUN_ONLY


def test_a_co_owner_sees_the_flow_in_my_flows_with_a_share_link(sales_client, flow, co_owner):
    response = sales_client.get(reverse("automate:flow-list"))
    content = response.content.decode()

    assert [row.role_label for row in response.context["rows"]] == ["Co-owner"]
    assert f'"{reverse("automate:flow-edit", args=[flow.pk])}"' in content
    assert f'"{reverse("automate:flow-share", args=[flow.pk])}"' in content
    assert response.context["show_owner"] is True


def test_a_co_owner_may_not_reassign_flows(sales_client, colleague, flow, co_owner):
    response = sales_client.get(reverse("automate:flows-reassign", args=[colleague.pk]))
    post = sales_client.post(
        reverse("automate:flows-reassign", args=[colleague.pk]), {"to_user": colleague.pk}
    )

    assert response.status_code == 403
    assert "Only administrators" in response.content.decode()
    assert post.status_code == 403
    flow.refresh_from_db()
    assert flow.owner == colleague


def test_a_co_owner_who_removes_themselves_goes_back_to_my_flows(
    sales_client, sales, flow, co_owner
):
    response = sales_client.post(
        reverse("automate:flow-share", args=[flow.pk]), {"action": "remove", "user": sales.pk}
    )

    assert response.status_code == 302
    assert response["Location"] == reverse("automate:flow-list")
    assert not FlowShare.objects.filter(flow=flow).exists()


# -- Everyone else -------------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["stranger", "outsider"])
@pytest.mark.parametrize(
    ("method", "name"),
    [
        ("get", "automate:flow-edit"),
        ("post", "automate:flow-toggle"),
        ("get", "automate:flow-export"),
        ("get", "automate:flow-delete"),
        ("get", "automate:flow-runs"),
        ("get", "automate:flow-share"),
        ("post", "automate:flow-share"),
    ],
)
def test_users_the_flow_is_not_shared_with_get_404(
    client, request, flow, run_only, who, method, name
):
    user = request.getfixturevalue(who)
    client.force_login(user)

    response = getattr(client, method)(reverse(name, args=[flow.pk]))

    assert response.status_code == 404


@pytest.mark.parametrize("who", ["stranger", "outsider"])
def test_users_the_flow_is_not_shared_with_do_not_reach_it_over_the_api(
    request, company, flow, run_only, who
):
    user = request.getfixturevalue(who)
    home = company if who == "stranger" else user.memberships.get().company
    api = token_client(user, home)
    base = api_base(company)

    flow_url = f"{base}/flows({flow.system_id})"
    if who == "stranger":
        assert api.get(f"{base}/flows").json()["value"] == []
    assert api.get(flow_url).status_code == 404
    run = api.post(f"{flow_url}/Microsoft.NAV.run", {"recordId": "C10000"}, format="json")
    assert run.status_code == 404
    assert not FlowRun.objects.exists()


def test_a_user_the_flow_is_not_shared_with_does_not_see_it_in_the_automate_group(
    client, stranger, flow, run_only, adatum
):
    client.force_login(stranger)

    html = client.get(CARD.card_url(adatum)).content.decode()

    assert f'data-action="run-flow-{flow.pk}"' not in html


def test_the_share_page_refuses_anonymous_and_other_methods(client, sales_client, flow, co_owner):
    url = reverse("automate:flow-share", args=[flow.pk])
    assert sales_client.put(url).status_code == 405
    client.logout()
    response = client.get(url)
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_the_share_page_answers_403_when_power_automate_is_off(
    sales_client, company, flow, co_owner
):
    AutomateSetup.objects.create(company=company, mode=AutomateSetup.Mode.OFF)

    response = sales_client.get(reverse("automate:flow-share", args=[flow.pk]))

    assert response.status_code == 403
    assert "Power Automate is turned off" in response.content.decode()


# -- The share page and the service --------------------------------------------------------------


def test_the_owner_shares_changes_and_unshares_from_the_page(
    client, colleague, sales, flow, stranger
):
    client.force_login(colleague)
    url = reverse("automate:flow-share", args=[flow.pk])

    client.post(url, {"action": "share", "user": sales.pk, "role": "run_only"})
    client.post(url, {"action": "share", "user": sales.pk, "role": "co_owner"})
    page = client.get(url)
    removed = client.post(url, {"action": "remove", "user": sales.pk})

    assert [(s.user.username, s.role) for s in page.context["shares"]] == [("sales", "co_owner")]
    assert [c.username for c in page.context["candidates"]] == ["stranger"]
    assert "Co-owner" in page.content.decode()
    assert removed.status_code == 302 and removed["Location"] == url
    assert not FlowShare.objects.filter(flow=flow).exists()


NOT_A_USER = "Choose a user of the company."


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"action": "share", "user": "", "role": "co_owner"}, NOT_A_USER),
        ({"action": "share", "user": "999999", "role": "co_owner"}, NOT_A_USER),
        ({"action": "share", "user": "abc", "role": "co_owner"}, NOT_A_USER),
        ({"action": "share", "role": "boss"}, "Choose a role"),
        ({"action": "remove", "user": "999999"}, "no longer shares this flow"),
    ],
)
def test_the_share_page_refuses_bad_input_with_a_message(client, colleague, flow, data, message):
    client.force_login(colleague)

    response = client.post(reverse("automate:flow-share", args=[flow.pk]), data)

    assert response.status_code == 400
    assert message in response.content.decode()
    assert not FlowShare.objects.exists()


def test_the_share_page_refuses_an_outsider_as_a_user(client, colleague, flow, outsider):
    client.force_login(colleague)

    response = client.post(
        reverse("automate:flow-share", args=[flow.pk]),
        {"action": "share", "user": outsider.pk, "role": "co_owner"},
    )

    assert response.status_code == 400
    assert not FlowShare.objects.exists()


def test_run_only_sharing_is_refused_for_an_automated_flow(client, company, colleague, sales):
    automated = make_flow(company, colleague, name="On new customers", definition=AUTOMATED)
    client.force_login(colleague)
    url = reverse("automate:flow-share", args=[automated.pk])

    page = client.get(url)
    response = client.post(url, {"action": "share", "user": sales.pk, "role": "run_only"})

    assert 'value="run_only" disabled' in page.content.decode()
    assert response.status_code == 400
    assert "run-only users are for instant flows" in response.content.decode()
    assert not FlowShare.objects.exists()


def test_the_service_refuses_the_owner_outsiders_and_inactive_users(
    company, colleague, sales, flow, outsider
):
    sales.is_active = False
    sales.save()
    with pytest.raises(ValidationError, match="owns Notify warehouse"):
        flow_share(flow=flow, user=colleague, role="co_owner", by=colleague)
    with pytest.raises(ValidationError, match="not a user of this company"):
        flow_share(flow=flow, user=outsider, role="co_owner", by=colleague)
    with pytest.raises(ValidationError, match="no longer an active user"):
        flow_share(flow=flow, user=sales, role="co_owner", by=colleague)
    with pytest.raises(ValidationError, match="Choose a role"):
        flow_share(flow=flow, user=outsider, role="owner", by=colleague)
    with pytest.raises(ValidationError, match="not shared with"):
        flow_unshare(flow=flow, user=outsider, by=colleague)
    assert not FlowShare.objects.exists()
    assert not AuditEntry.objects.filter(area="Flow sharing").exists()


def test_sharing_again_with_the_same_role_changes_nothing(colleague, sales, flow, run_only):
    flow_share(flow=flow, user=sales, role="run_only", by=colleague)

    assert FlowShare.objects.count() == 1
    assert AuditEntry.objects.filter(area="Flow sharing").count() == 1


# -- The audit log -------------------------------------------------------------------------------


def test_share_change_and_unshare_are_audited_with_before_and_after(
    company, colleague, sales, flow
):
    flow_share(flow=flow, user=sales, role="run_only", by=colleague)
    flow_share(flow=flow, user=sales, role="co_owner", by=colleague)
    flow_unshare(flow=flow, user=sales, by=colleague)

    entries = list(AuditEntry.objects.filter(area="Flow sharing").order_by("pk"))
    assert [(e.action, e.before, e.after) for e in entries] == [
        ("shared", {}, {"user": "sales", "role": "Run-only user"}),
        (
            "changed",
            {"user": "sales", "role": "Run-only user"},
            {"user": "sales", "role": "Co-owner"},
        ),
        ("unshared", {"user": "sales", "role": "Co-owner"}, {}),
    ]
    for entry in entries:
        assert entry.company == company
        assert entry.actor == colleague
        assert entry.object_id == str(flow.pk)
        assert entry.object_repr == "Notify warehouse"


# -- Reassigning a leaving user's flows ----------------------------------------------------------


def test_an_admin_reassigns_a_leaving_users_flows(
    client, company, admin_user, colleague, sales, stranger, flow
):
    second = make_flow(company, colleague, name="Weekly summary")
    untouched = make_flow(company, sales, name="Sales own flow")
    flow_share(flow=flow, user=stranger, role="co_owner", by=colleague)
    flow_share(flow=second, user=sales, role="run_only", by=colleague)
    client.force_login(admin_user)
    url = reverse("automate:flows-reassign", args=[colleague.pk])

    page = client.get(url)
    response = client.post(url, {"to_user": sales.pk})

    assert page.status_code == 200
    assert [row["flow"].name for row in page.context["rows"]] == [
        "Notify warehouse",
        "Weekly summary",
    ]
    assert response.status_code == 302
    assert set(Flow.objects.filter(owner=sales).values_list("name", flat=True)) == {
        "Notify warehouse",
        "Weekly summary",
        "Sales own flow",
    }
    assert not Flow.objects.filter(owner=colleague).exists()
    # The new owner's own share went; the other co-owner keeps theirs.
    assert list(FlowShare.objects.values_list("flow__name", "user__username")) == [
        ("Notify warehouse", "stranger")
    ]
    entries = AuditEntry.objects.filter(area="Flow sharing", action="reassigned")
    assert {(e.object_id, e.actor_id) for e in entries} == {
        (str(flow.pk), admin_user.pk),
        (str(second.pk), admin_user.pk),
    }
    second_entry = entries.get(object_id=str(second.pk))
    assert second_entry.before == {"owner": "colleague", "sales's role": "Run-only user"}
    assert second_entry.after == {"owner": "sales"}
    untouched.refresh_from_db()
    assert untouched.owner == sales


def test_the_new_owner_edits_a_reassigned_flow_and_the_old_owner_keeps_nothing(
    client, company, admin_user, colleague, sales, flow
):
    flows_reassign(company=company, from_user=colleague, to_user=sales, by=admin_user)

    client.force_login(colleague)
    assert client.get(reverse("automate:flow-edit", args=[flow.pk])).status_code == 404
    client.force_login(sales)
    assert client.get(reverse("automate:flow-edit", args=[flow.pk])).status_code == 200


def test_flows_of_a_user_who_left_the_company_can_still_be_reassigned(
    client, company, admin_user, colleague, sales, flow
):
    Membership.objects.filter(user=colleague, company=company).delete()
    colleague.is_active = False
    colleague.save()
    client.force_login(admin_user)

    response = client.post(
        reverse("automate:flows-reassign", args=[colleague.pk]), {"to_user": sales.pk}
    )

    assert response.status_code == 302
    flow.refresh_from_db()
    assert flow.owner == sales


def test_reassigning_refuses_bad_targets(client, company, admin_user, colleague, flow, outsider):
    client.force_login(admin_user)
    url = reverse("automate:flows-reassign", args=[colleague.pk])

    for data in ({}, {"to_user": "abc"}, {"to_user": outsider.pk}, {"to_user": colleague.pk}):
        response = client.post(url, data)
        assert response.status_code == 400, data
        assert "new owner" in response.content.decode()
    with pytest.raises(ValidationError, match="not a user of this company"):
        flows_reassign(company=company, from_user=colleague, to_user=outsider, by=admin_user)
    flow.refresh_from_db()
    assert flow.owner == colleague
    assert not AuditEntry.objects.filter(action="reassigned").exists()


def test_reassigning_is_for_admins_and_users_of_the_company(
    client, sales_client, admin_user, colleague, outsider, flow
):
    url = reverse("automate:flows-reassign", args=[colleague.pk])

    refused = sales_client.post(url, {"to_user": admin_user.pk})
    client.force_login(admin_user)
    unknown = client.get(reverse("automate:flows-reassign", args=[outsider.pk]))
    wrong_method = client.put(url)

    assert refused.status_code == 403
    assert unknown.status_code == 404
    assert wrong_method.status_code == 405
    flow.refresh_from_db()
    assert flow.owner == colleague


def test_reassigning_works_while_power_automate_is_off(client, company, admin_user, colleague):
    AutomateSetup.objects.create(company=company, mode=AutomateSetup.Mode.OFF)
    client.force_login(admin_user)

    response = client.get(reverse("automate:flows-reassign", args=[colleague.pk]))

    assert response.status_code == 200


# -- Query counts --------------------------------------------------------------------------------


def test_my_flows_costs_the_same_queries_with_2_and_10_shared_flows(
    sales_client, company, colleague, stranger, sales
):
    def share(count, start):
        for index in range(start, start + count):
            owner = colleague if index % 2 else stranger
            shared = make_flow(company, owner, name=f"Flow {index:02d}")
            role = "run_only" if index % 3 else "co_owner"
            flow_share(flow=shared, user=sales, role=role, by=owner)

    url = reverse("automate:flow-list")
    share(2, 0)
    sales_client.get(url)
    with CaptureQueriesContext(connection) as two:
        first = sales_client.get(url)
    share(8, 2)

    with CaptureQueriesContext(connection) as ten:
        second = sales_client.get(url)

    assert len(first.context["rows"]) == 2 and len(second.context["rows"]) == 10
    assert {row.role_label for row in second.context["rows"]} == {"Co-owner", "Run-only user"}
    assert len(ten.captured_queries) == len(two.captured_queries)


# -- Sent Emails follow the runs ------------------------------------------------------------------


def _mail(run, subject):
    return SentEmail.objects.create(
        company=run.company,
        run=run,
        flow=run.flow,
        step_key=f"mail:{run.pk}",
        sender="bcsite@cronus.example.com",
        to=["warehouse@cronus.example.com"],
        subject=subject,
    )


def test_sent_emails_follow_the_runs_a_user_may_see(
    client, sales, colleague, stranger, flow, run_only, adatum, django_capture_on_commit_callbacks
):
    owners = _mail(start_run(flow, colleague, adatum, django_capture_on_commit_callbacks), "Owners")
    mine = _mail(start_run(flow, sales, adatum, django_capture_on_commit_callbacks), "Mine")
    page = registry.pages["sent_email_list"].list_url()

    def subjects(user):
        client.force_login(user)
        content = client.get(page).content.decode()
        return {subject for subject in ("Owners", "Mine") if subject in content}

    assert subjects(sales) == {mine.subject}
    assert subjects(colleague) == {owners.subject, mine.subject}
    assert subjects(stranger) == set()
    flow_share(flow=flow, user=sales, role=FlowShare.Role.CO_OWNER, by=colleague)
    assert subjects(sales) == {owners.subject, mine.subject}
