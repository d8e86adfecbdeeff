"""The approval setup pages: Approval User Setup, Workflows, Workflow User Groups."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

import approvals.nav  # noqa: F401  (the navigation entries, as the app registers them)
from approvals import hooks
from approvals.models import (
    ApprovalUserSetup,
    Workflow,
    WorkflowUserGroup,
    WorkflowUserGroupMember,
)
from approvals.services import workflows_install
from records.models import Membership
from tests.factories import MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db


# -- Personas and data ------------------------------------------------------------------------


def signed_in(user) -> Client:
    browser = Client()
    browser.force_login(user)
    return browser


@pytest.fixture
def admin(admin_user) -> Client:
    return signed_in(admin_user)


@pytest.fixture
def role_admin(company):
    """An administrator of the company by role, not a superuser."""
    user = UserFactory(username="manager")
    MembershipFactory(user=user, company=company, role=Membership.Role.ADMIN)
    return user


@pytest.fixture
def workflows(company) -> dict[str, Workflow]:
    workflows_install(company=company)
    return {w.code: w for w in Workflow.objects.filter(company=company)}


@pytest.fixture
def setup_row(company, sales, colleague) -> ApprovalUserSetup:
    return ApprovalUserSetup.objects.create(
        company=company,
        user=sales,
        approver=colleague,
        sales_amount_approval_limit=Decimal("1000"),
    )


@pytest.fixture
def group(company, sales, colleague) -> WorkflowUserGroup:
    group = WorkflowUserGroup.objects.create(company=company, code="SALES", description="Sales")
    WorkflowUserGroupMember.objects.create(group=group, user=sales, sequence_no=1)
    WorkflowUserGroupMember.objects.create(group=group, user=colleague, sequence_no=2)
    return group


@pytest.fixture
def others(other_company, outsider):
    """Rows of another company, which CRONUS's administrators must never reach."""
    workflows_install(company=other_company)
    return {
        "setup": ApprovalUserSetup.objects.create(company=other_company, user=outsider),
        "workflow": Workflow.objects.filter(company=other_company).first(),
        "group": WorkflowUserGroup.objects.create(company=other_company, code="OTHER"),
    }


def page_urls(setup_row, workflows, group) -> list[str]:
    workflow = workflows["MS-SOAPW"]
    return [
        reverse("approvals:user-setup"),
        reverse("approvals:user-setup-new"),
        reverse("approvals:user-setup-edit", args=[setup_row.pk]),
        reverse("approvals:user-setup-delete", args=[setup_row.pk]),
        reverse("approvals:workflow-list"),
        reverse("approvals:workflows-reset"),
        reverse("approvals:workflow-card", args=[workflow.pk]),
        reverse("approvals:workflow-group-list"),
        reverse("approvals:workflow-group-new"),
        reverse("approvals:workflow-group-card", args=[group.pk]),
        reverse("approvals:workflow-group-delete", args=[group.pk]),
    ]


def post_urls(setup_row, workflows, group) -> list[str]:
    workflow = workflows["MS-SOAPW"]
    return [
        *page_urls(setup_row, workflows, group)[1:4],
        reverse("approvals:workflows-reset"),
        reverse("approvals:workflow-card", args=[workflow.pk]),
        reverse("approvals:workflow-enabled", args=[workflow.pk]),
        *page_urls(setup_row, workflows, group)[8:],
    ]


def errors_of(response) -> str:
    return response.content.decode()


# -- Who may ----------------------------------------------------------------------------------


def test_every_page_renders_for_an_administrator(admin, setup_row, workflows, group):
    for url in page_urls(setup_row, workflows, group):
        response = admin.get(url)
        assert response.status_code == 200, url
        assert b'class="page-title"' in response.content, url


def test_a_company_administrator_by_role_may_see_them(role_admin, setup_row, workflows, group):
    browser = signed_in(role_admin)
    for url in page_urls(setup_row, workflows, group):
        assert browser.get(url).status_code == 200, url


def test_users_who_are_not_administrators_get_403_on_every_view(sales, setup_row, workflows, group):
    browser = signed_in(sales)
    for url in page_urls(setup_row, workflows, group):
        assert browser.get(url).status_code == 403, url
    for url in post_urls(setup_row, workflows, group):
        assert browser.post(url, {"enabled": "true", "code": "X"}).status_code == 403, url
    # Nothing changed behind the refusals.
    assert ApprovalUserSetup.objects.get(pk=setup_row.pk).approver_id is not None
    assert WorkflowUserGroup.objects.filter(pk=group.pk).exists()
    assert not Workflow.objects.filter(enabled=True).exists()


def test_anonymous_users_are_sent_to_sign_in(client, setup_row, workflows, group):
    for url in page_urls(setup_row, workflows, group):
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith(reverse("login")), url
    for url in post_urls(setup_row, workflows, group):
        response = client.post(url, {"enabled": "true"})
        assert response.status_code == 302, url
    assert not Workflow.objects.filter(enabled=True).exists()


def test_another_companys_rows_are_404(admin, others):
    urls = [
        reverse("approvals:user-setup-edit", args=[others["setup"].pk]),
        reverse("approvals:user-setup-delete", args=[others["setup"].pk]),
        reverse("approvals:workflow-card", args=[others["workflow"].pk]),
        reverse("approvals:workflow-group-card", args=[others["group"].pk]),
        reverse("approvals:workflow-group-delete", args=[others["group"].pk]),
    ]
    for url in urls:
        assert admin.get(url).status_code == 404, url
        assert admin.post(url, {"code": "MINE"}).status_code == 404, url
    toggle = reverse("approvals:workflow-enabled", args=[others["workflow"].pk])
    assert admin.post(toggle, {"enabled": "true"}).status_code == 404
    assert ApprovalUserSetup.objects.filter(pk=others["setup"].pk).exists()
    assert WorkflowUserGroup.objects.get(pk=others["group"].pk).code == "OTHER"


def test_lists_show_only_the_companys_rows(admin, setup_row, workflows, group, others):
    setups = admin.get(reverse("approvals:user-setup")).content.decode()
    assert "outsider" not in setups
    groups = admin.get(reverse("approvals:workflow-group-list")).content.decode()
    assert "SALES" in groups and "OTHER" not in groups
    flows = admin.get(reverse("approvals:workflow-list")).content.decode()
    assert f"/approvals/workflows/{others['workflow'].pk}/" not in flows


def test_posting_to_the_toggle_needs_post(admin, workflows):
    url = reverse("approvals:workflow-enabled", args=[workflows["MS-SOAPW"].pk])
    assert admin.get(url).status_code == 405


def test_the_navigation_shows_the_pages_to_administrators_only(admin, sales):
    page = admin.get(reverse("home")).content.decode()
    for url in (
        "/approvals/user-setup/",
        "/approvals/workflows/",
        "/approvals/workflow-user-groups/",
    ):
        assert f'href="{url}"' in page
    page = signed_in(sales).get(reverse("home")).content.decode()
    assert "/approvals/user-setup/" not in page
    assert "/approvals/workflows/" not in page


# -- Approval User Setup ----------------------------------------------------------------------


def setup_data(**fields) -> dict:
    data = {
        "approver": "",
        "substitute": "",
        "sales_amount_approval_limit": "0",
        "email": "",
    }
    data.update({k: v for k, v in fields.items() if v is not None})
    return data


def test_it_creates_a_users_setup(admin, company, sales, colleague):
    response = admin.post(
        reverse("approvals:user-setup-new"),
        setup_data(
            user=sales.pk,
            approver=colleague.pk,
            sales_amount_approval_limit="2500.50",
            email="boss@example.com",
        ),
    )
    assert response.status_code == 302
    setup = ApprovalUserSetup.objects.get(company=company, user=sales)
    assert setup.approver == colleague
    assert setup.sales_amount_approval_limit == Decimal("2500.50")
    assert setup.email == "boss@example.com"
    page = admin.get(reverse("approvals:user-setup")).content.decode()
    assert "2500.50" in page and "boss@example.com" in page
    assert "The approval setup of sales is saved." in page


def test_the_new_form_offers_only_company_users_without_a_setup(
    admin, setup_row, colleague, outsider
):
    page = admin.get(reverse("approvals:user-setup-new")).content.decode()
    user_select = page.split('name="user"')[1].split("</select>")[0]
    assert f'value="{colleague.pk}"' in user_select
    assert f'value="{setup_row.user_id}"' not in user_select
    assert "outsider" not in page


def test_making_a_second_user_approval_administrator_moves_the_role(
    admin, company, sales, colleague
):
    first = ApprovalUserSetup.objects.create(
        company=company, user=sales, approval_administrator=True
    )
    response = admin.post(
        reverse("approvals:user-setup-new"),
        setup_data(user=colleague.pk, approval_administrator="on"),
    )
    assert response.status_code == 302
    first.refresh_from_db()
    assert not first.approval_administrator
    assert ApprovalUserSetup.objects.get(user=colleague).approval_administrator
    assert (
        ApprovalUserSetup.objects.filter(company=company, approval_administrator=True).count() == 1
    )


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"approver": "SELF"}, "A user cannot be their own approver."),
        ({"substitute": "SELF"}, "A user cannot be their own substitute."),
        ({"sales_amount_approval_limit": "-5"}, "must be zero or more"),
        ({"sales_amount_approval_limit": "lots"}, "must be an amount"),
        ({"sales_amount_approval_limit": "1" * 20}, "too large"),
        (
            {"sales_amount_approval_limit": "100", "unlimited_sales_approval": "on"},
            "must be 0 when Unlimited Sales Approval is set",
        ),
        ({"email": "not an address"}, "Enter an email address"),
        ({"approver": "OUTSIDER"}, "Choose a user of the company."),
    ],
)
def test_bad_input_is_shown_next_to_the_fields_and_nothing_is_written(
    admin, setup_row, outsider, fields, message
):
    before = ApprovalUserSetup.objects.values().get(pk=setup_row.pk)
    swap = {"SELF": setup_row.user_id, "OUTSIDER": outsider.pk}
    fields = {"approver": setup_row.approver_id, "sales_amount_approval_limit": "1000", **fields}
    data = setup_data(**{k: swap.get(v, v) for k, v in fields.items()})
    response = admin.post(reverse("approvals:user-setup-edit", args=[setup_row.pk]), data)
    assert response.status_code == 400
    page = errors_of(response)
    assert message in page
    assert 'class="field-error"' in page
    assert ApprovalUserSetup.objects.values().get(pk=setup_row.pk) == before


def test_a_new_setup_for_no_user_is_refused(admin):
    response = admin.post(reverse("approvals:user-setup-new"), setup_data())
    assert response.status_code == 400
    assert "Choose the user this setup is for." in response.content.decode()
    assert not ApprovalUserSetup.objects.exists()


def test_the_approval_administrator_cannot_be_unset_without_a_successor(admin, company, sales):
    setup = ApprovalUserSetup.objects.create(
        company=company, user=sales, approval_administrator=True
    )
    response = admin.post(reverse("approvals:user-setup-edit", args=[setup.pk]), setup_data())
    assert response.status_code == 400
    assert "There must be one approval administrator." in response.content.decode()
    setup.refresh_from_db()
    assert setup.approval_administrator


def test_a_setup_of_a_user_who_left_the_company_says_so_on_save(admin, company, setup_row):
    Membership.objects.filter(company=company, user=setup_row.user).delete()
    url = reverse("approvals:user-setup-edit", args=[setup_row.pk])
    data = setup_data(approver=setup_row.approver_id, sales_amount_approval_limit="5")
    response = admin.post(url, data)
    assert response.status_code == 400
    assert "sales is not a user of company CRONUS." in response.content.decode()
    setup_row.refresh_from_db()
    assert setup_row.sales_amount_approval_limit == Decimal("1000")


def test_it_deletes_a_setup_after_confirming(admin, setup_row):
    url = reverse("approvals:user-setup-delete", args=[setup_row.pk])
    page = admin.get(url).content.decode()
    assert "Delete the approval setup of sales?" in page
    assert ApprovalUserSetup.objects.filter(pk=setup_row.pk).exists()
    response = admin.post(url)
    assert response.status_code == 302
    assert not ApprovalUserSetup.objects.filter(pk=setup_row.pk).exists()


def test_the_approval_administrators_setup_cannot_be_deleted(admin, setup_row):
    ApprovalUserSetup.objects.filter(pk=setup_row.pk).update(approval_administrator=True)
    response = admin.post(reverse("approvals:user-setup-delete", args=[setup_row.pk]))
    assert response.status_code == 400
    assert "The approval administrator cannot be removed." in response.content.decode()
    assert ApprovalUserSetup.objects.filter(pk=setup_row.pk).exists()


# -- Workflows --------------------------------------------------------------------------------


def workflow_data(workflow: Workflow, conditions=(), **fields) -> dict:
    conditions = list(conditions)
    data = {
        "description": workflow.description,
        "approver_type": workflow.approver_type,
        "specific_approver": workflow.specific_approver_id or "",
        "user_group": workflow.user_group_id or "",
        "due_date_formula": workflow.due_date_formula,
        "delegate_after": workflow.delegate_after,
        "conditions-TOTAL_FORMS": str(len(conditions)),
        "conditions-INITIAL_FORMS": "0",
        "conditions-MIN_NUM_FORMS": "0",
        "conditions-MAX_NUM_FORMS": "50",
    }
    for number, (field, operator, value) in enumerate(conditions):
        data[f"conditions-{number}-field"] = field
        data[f"conditions-{number}-operator"] = operator
        data[f"conditions-{number}-value"] = value
    data.update(fields)
    return data


def test_the_workflow_list_shows_workflows_in_words(admin, workflows, group):
    Workflow.objects.filter(pk=workflows["MS-CUSTAPW"].pk).update(
        approver_type="user_group", user_group=group
    )
    page = admin.get(reverse("approvals:workflow-list")).content.decode()
    for code in ("MS-SOAPW", "MS-CUSTAPW", "MS-ITEMAPW", "MS-CCLCAPW", "MS-IUPCAPW"):
        assert code in page
    assert "Sales Order Approval Workflow" in page
    assert "Amount is greater than 0" in page
    assert "Approver Chain" in page
    assert "Workflow User Group: SALES" in page
    assert reverse("approvals:workflow-card", args=[workflows["MS-SOAPW"].pk]) in page


def test_the_workflow_list_shows_approval_flows_side_by_side(admin, workflows):
    def source(request):
        assert request.company is not None
        return [
            hooks.WorkflowListRow(
                code="Flow 7",
                description="Approve big orders in Teams",
                category="Sales",
                kind="Power Automate approval flow",
                enabled=True,
                url="/automate/flows/7/",
                table="Sales Order",
                owner="sales",
            )
        ]

    hooks.workflow_list_sources.append(source)
    try:
        page = admin.get(reverse("approvals:workflow-list")).content.decode()
    finally:
        hooks.workflow_list_sources.remove(source)
    assert "Approve big orders in Teams" in page
    assert "Power Automate approval flow" in page
    assert 'href="/automate/flows/7/"' in page
    assert "MS-SOAPW" in page


def test_it_enables_and_disables_a_workflow(admin, workflows):
    workflow = workflows["MS-SOAPW"]
    url = reverse("approvals:workflow-enabled", args=[workflow.pk])
    response = admin.post(url, {"enabled": "true"}, follow=True)
    assert "Workflow MS-SOAPW is enabled." in response.content.decode()
    workflow.refresh_from_db()
    assert workflow.enabled
    admin.post(url, {"enabled": "false"})
    workflow.refresh_from_db()
    assert not workflow.enabled


def test_the_toggle_goes_back_to_the_page_it_came_from_on_this_site_only(admin, workflows):
    workflow = workflows["MS-SOAPW"]
    url = reverse("approvals:workflow-enabled", args=[workflow.pk])
    card = reverse("approvals:workflow-card", args=[workflow.pk])
    assert admin.post(url, {"enabled": "true", "next": card})["Location"] == card
    response = admin.post(url, {"enabled": "false", "next": "https://evil.example/"})
    assert response["Location"] == reverse("approvals:workflow-list")


def test_the_toggle_refuses_a_value_it_does_not_know(admin, workflows):
    url = reverse("approvals:workflow-enabled", args=[workflows["MS-SOAPW"].pk])
    response = admin.post(url, {"enabled": "maybe"})
    assert response.status_code == 400
    assert b"enabled=true" in response.content
    assert not Workflow.objects.filter(enabled=True).exists()


def test_enable_refuses_an_invalid_workflow_with_a_message(admin, workflows):
    workflow = workflows["MS-CUSTAPW"]
    # A specific approver who was deleted leaves the workflow without one.
    Workflow.objects.filter(pk=workflow.pk).update(approver_type="specific_approver")
    url = reverse("approvals:workflow-enabled", args=[workflow.pk])
    response = admin.post(url, {"enabled": "true"}, follow=True)
    page = response.content.decode()
    assert "Workflow MS-CUSTAPW cannot be enabled" in page
    assert "A specific approver is needed for this approver type." in page
    assert 'role="alert"' in page
    workflow.refresh_from_db()
    assert not workflow.enabled


def test_the_card_saves_conditions_and_approvers(admin, workflows, colleague):
    workflow = workflows["MS-SOAPW"]
    url = reverse("approvals:workflow-card", args=[workflow.pk])
    data = workflow_data(
        workflow,
        conditions=[
            ("totalAmountExcludingTax", "gt", "5,000"),
            ("customerNumber", "ne", "C00010"),
            ("", "eq", ""),  # a blank row
        ],
        approver_type="specific_approver",
        specific_approver=colleague.pk,
        due_date_formula="1w+2d",
        delegate_after="2D",
    )
    response = admin.post(url, data)
    assert response.status_code == 302
    workflow.refresh_from_db()
    assert workflow.conditions == [
        {"field": "totalAmountExcludingTax", "operator": "gt", "value": 5000},
        {"field": "customerNumber", "operator": "ne", "value": "C00010"},
    ]
    assert workflow.specific_approver == colleague
    assert workflow.due_date_formula == "1W+2D"
    assert workflow.delegate_after == "2D"
    page = admin.get(url).content.decode()
    assert "Amount is greater than 5000 and Sell-to Customer No. is not C00010" in page


def test_the_card_offers_blank_rows_and_removes_conditions(admin, workflows):
    workflow = workflows["MS-SOAPW"]
    url = reverse("approvals:workflow-card", args=[workflow.pk])
    page = admin.get(url).content.decode()
    # The shipped condition and three blank rows.
    assert 'name="conditions-3-field"' in page
    assert 'name="conditions-4-field"' not in page
    data = workflow_data(workflow, conditions=[("totalAmountExcludingTax", "gt", "0")])
    data["conditions-INITIAL_FORMS"] = "1"
    data["conditions-0-DELETE"] = "on"
    assert admin.post(url, data).status_code == 302
    workflow.refresh_from_db()
    assert workflow.conditions == []
    assert "Always" in admin.get(reverse("approvals:workflow-list")).content.decode()


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"conditions": [("totalAmountExcludingTax", "gt", "many")]}, "Amount needs a number"),
        ({"conditions": [("noSuchField", "gt", "1")]}, "Choose a field from the list."),
        ({"conditions": [("customerNumber", "like", "1")]}, "Choose an operator from the list."),
        ({"conditions": [("", "eq", "5")]}, "Choose the field this value is for"),
        ({"due_date_formula": "soon"}, "soon is not a date formula"),
        ({"approver_type": "specific_approver"}, "A specific approver is needed"),
        ({"approver_type": "user_group"}, "A workflow user group is needed"),
        ({"approver_type": "everyone"}, "Choose an approver type from the list."),
        ({"delegate_after": "9D"}, "Choose a Delegate After period from the list."),
        ({"description": ""}, "Description must have a value."),
        ({"specific_approver": "OUTSIDER"}, "Choose a user of the company."),
        ({"user_group": "OTHER_GROUP"}, "Choose a workflow user group of the company."),
        ({"conditions-TOTAL_FORMS": "x"}, "ManagementForm data is missing or has been tampered"),
    ],
)
def test_bad_workflow_input_shows_messages_and_writes_nothing(
    admin, workflows, others, outsider, changes, message
):
    workflow = workflows["MS-SOAPW"]
    before = Workflow.objects.values().get(pk=workflow.pk)
    swap = {"OUTSIDER": outsider.pk, "OTHER_GROUP": others["group"].pk}
    changes = {k: swap.get(v, v) if isinstance(v, str) else v for k, v in changes.items()}
    data = workflow_data(workflow, **changes)
    response = admin.post(reverse("approvals:workflow-card", args=[workflow.pk]), data)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert Workflow.objects.values().get(pk=workflow.pk) == before


def test_an_empty_group_is_refused_by_the_service_next_to_the_field(admin, workflows, company):
    empty = WorkflowUserGroup.objects.create(company=company, code="EMPTY")
    workflow = workflows["MS-ITEMAPW"]
    data = workflow_data(workflow, approver_type="user_group", user_group=empty.pk)
    response = admin.post(reverse("approvals:workflow-card", args=[workflow.pk]), data)
    assert response.status_code == 400
    page = response.content.decode()
    assert "Workflow user group EMPTY has no members." in page
    assert 'class="field-error"' in page
    workflow.refresh_from_db()
    assert workflow.user_group is None


def test_an_enabled_workflow_is_read_only_and_says_why(admin, workflows):
    workflow = workflows["MS-SOAPW"]
    Workflow.objects.filter(pk=workflow.pk).update(enabled=True)
    url = reverse("approvals:workflow-card", args=[workflow.pk])
    page = admin.get(url).content.decode()
    assert "This workflow is enabled, so it cannot be changed" in page
    assert 'name="description"' not in page
    assert 'name="conditions-0-field"' not in page
    assert "Disable" in page
    response = admin.post(url, workflow_data(workflow, description="Changed"), follow=True)
    assert "Workflow MS-SOAPW is enabled. Disable it to change it." in response.content.decode()
    workflow.refresh_from_db()
    assert workflow.description == "Sales Order Approval Workflow"


def test_reset_asks_first_then_restores_a_changed_workflow(admin, company, workflows, colleague):
    workflow = workflows["MS-SOAPW"]
    Workflow.objects.filter(pk=workflow.pk).update(
        description="Mine",
        conditions=[{"field": "customerNumber", "operator": "eq", "value": "C1"}],
        approver_type="specific_approver",
        specific_approver=colleague,
        due_date_formula="5D",
    )
    workflows["MS-ITEMAPW"].delete()
    url = reverse("approvals:workflows-reset")
    page = admin.get(url).content.decode()
    assert "Reset the workflows to the shipped templates?" in page
    assert (
        "The templates MS-ITEMAPW have no workflow yet."
        in admin.get(reverse("approvals:workflow-list")).content.decode()
    )
    workflow.refresh_from_db()
    assert workflow.description == "Mine"  # a GET changes nothing
    response = admin.post(url, follow=True)
    assert "5 workflows reset to the templates." in response.content.decode()
    workflow.refresh_from_db()
    assert workflow.description == "Sales Order Approval Workflow"
    assert workflow.conditions == [
        {"field": "totalAmountExcludingTax", "operator": "gt", "value": 0}
    ]
    assert workflow.approver_type == "approver_chain"
    assert workflow.specific_approver is None
    assert workflow.due_date_formula == "2D"
    assert Workflow.objects.filter(company=company, code="MS-ITEMAPW").exists()


# -- Workflow user groups ---------------------------------------------------------------------


def group_data(code="APPROVERS", description="", members=(), initial=0, **extra) -> dict:
    members = list(members)
    data = {
        "code": code,
        "description": description,
        "members-TOTAL_FORMS": str(len(members)),
        "members-INITIAL_FORMS": str(initial),
        "members-MIN_NUM_FORMS": "0",
        "members-MAX_NUM_FORMS": "50",
    }
    for number, member in enumerate(members):
        user, sequence = member[0], member[1]
        data[f"members-{number}-user"] = user
        data[f"members-{number}-sequence_no"] = sequence
        if len(member) > 2 and member[2]:
            data[f"members-{number}-DELETE"] = "on"
    data.update(extra)
    return data


def test_it_creates_a_group_with_members(admin, company, sales, colleague):
    response = admin.post(
        reverse("approvals:workflow-group-new"),
        group_data(
            code="finance",
            description="Finance approvers",
            members=[(sales.pk, "1"), (colleague.pk, "2"), ("", "")],
        ),
    )
    assert response.status_code == 302
    group = WorkflowUserGroup.objects.get(company=company, code="FINANCE")
    assert response["Location"] == reverse("approvals:workflow-group-card", args=[group.pk])
    assert [(m.user, m.sequence_no) for m in group.members.all()] == [(sales, 1), (colleague, 2)]
    page = admin.get(reverse("approvals:workflow-group-list")).content.decode()
    assert "FINANCE" in page and "sales (1), colleague (2)" in page


def test_it_adds_and_removes_members(admin, group, sales, colleague, admin_user):
    url = reverse("approvals:workflow-group-card", args=[group.pk])
    page = admin.get(url).content.decode()
    assert 'name="members-4-user"' in page  # two members, three blank rows
    data = group_data(
        code="SALES",
        members=[(sales.pk, "1", True), (colleague.pk, "2"), (admin_user.pk, "2")],
        initial=2,
    )
    assert admin.post(url, data).status_code == 302
    members = [(m.user, m.sequence_no) for m in group.members.all()]
    assert members == [(colleague, 2), (admin_user, 2)]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"code": ""}, "Code must have a value."),
        ({"code": "X" * 21}, "Ensure this value has at most 20 characters"),
        ({"code": "TAKEN"}, "A workflow user group TAKEN exists."),
        ({"members": [("SALES", "1"), ("SALES", "2")]}, "sales is in the group twice."),
        ({"members": [("SALES", "0")]}, "Sequence No. must be 1 or more."),
        ({"members": [("SALES", "")]}, "Sequence No. must have a value."),
        ({"members": [("", "3")]}, "Choose the user for this sequence no., or clear it."),
        ({"members": [("OUTSIDER", "1")]}, "Choose a user of the company."),
    ],
)
def test_bad_group_input_shows_messages_and_writes_nothing(
    admin, company, group, sales, outsider, data, message
):
    WorkflowUserGroup.objects.create(company=company, code="TAKEN")
    swap = {"SALES": sales.pk, "OUTSIDER": outsider.pk}
    members = [(swap.get(u, u), s) for u, s in data.pop("members", [])]
    url = reverse("approvals:workflow-group-card", args=[group.pk])
    before = list(group.members.values_list("user", "sequence_no"))
    response = admin.post(url, group_data(**{"code": "SALES", **data}, members=members))
    assert response.status_code == 400
    assert message in response.content.decode()
    group.refresh_from_db()
    assert group.code == "SALES"
    assert list(group.members.values_list("user", "sequence_no")) == before


def test_a_group_in_use_is_not_deleted(admin, group, workflows):
    Workflow.objects.filter(pk=workflows["MS-CUSTAPW"].pk).update(
        approver_type="user_group", user_group=group
    )
    url = reverse("approvals:workflow-group-delete", args=[group.pk])
    response = admin.post(url)
    assert response.status_code == 400
    assert "Workflow user group SALES is used by workflow MS-CUSTAPW." in response.content.decode()
    assert WorkflowUserGroup.objects.filter(pk=group.pk).exists()
    assert group.members.count() == 2


def test_it_deletes_a_group_after_confirming(admin, group):
    url = reverse("approvals:workflow-group-delete", args=[group.pk])
    assert "Delete workflow user group SALES?" in admin.get(url).content.decode()
    assert admin.post(url).status_code == 302
    assert not WorkflowUserGroup.objects.filter(pk=group.pk).exists()
    assert not WorkflowUserGroupMember.objects.exists()


# -- Query counts -----------------------------------------------------------------------------


def add_rows(company, count: int, start: int) -> None:
    for n in range(start, start + count):
        user = UserFactory(username=f"user{n}")
        MembershipFactory(user=user, company=company)
        approver = UserFactory(username=f"boss{n}")
        MembershipFactory(user=approver, company=company)
        ApprovalUserSetup.objects.create(
            company=company, user=user, approver=approver, substitute=approver
        )
        group = WorkflowUserGroup.objects.create(company=company, code=f"G{n}")
        WorkflowUserGroupMember.objects.create(group=group, user=user, sequence_no=1)
        WorkflowUserGroupMember.objects.create(group=group, user=approver, sequence_no=2)
        Workflow.objects.create(
            company=company,
            code=f"W{n}",
            description=f"Workflow {n}",
            template="",
            table_id=36,
            approver_type="user_group",
            user_group=group,
        )


@pytest.mark.parametrize(
    ("name", "last_row"),
    [
        ("approvals:user-setup", "user119"),
        ("approvals:workflow-list", "W119"),
        ("approvals:workflow-group-list", "G119"),
    ],
)
def test_list_queries_do_not_grow_with_rows(
    admin, company, workflows, name, last_row, django_assert_max_num_queries
):
    url = reverse(name)
    add_rows(company, 2, 0)
    admin.get(url)  # the session and the caches are warm for both counts
    with CaptureQueriesContext(connection) as few_rows:
        assert admin.get(url).status_code == 200
    add_rows(company, 20, 100)
    with django_assert_max_num_queries(len(few_rows)):
        response = admin.get(url)
    assert last_row in response.content.decode()
