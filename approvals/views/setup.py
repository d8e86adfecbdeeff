"""The approval setup pages: Approval User Setup, Workflows and Workflow User Groups.

Only the company's administrators may see or change them; every view starts with
``admin_required`` and reads rows through the ``_get_*`` helpers, which keep to the
request's company (another company's row is a 404).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, Prefetch, ProtectedError
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from approvals import hooks
from approvals.forms_setup import (
    ApprovalUserSetupForm,
    WorkflowForm,
    WorkflowUserGroupForm,
    add_service_errors,
    condition_formset,
    conditions_from,
    member_formset,
    members_from,
    user_label,
)
from approvals.models import (
    ApprovalUserSetup,
    Workflow,
    WorkflowUserGroup,
    WorkflowUserGroupMember,
)
from approvals.services import (
    approval_user_setup_delete,
    approval_user_setup_save,
    workflow_set_enabled,
    workflow_update,
    workflow_user_group_save,
    workflows_reset,
)
from approvals.templates import TEMPLATES_BY_CODE, describe_conditions
from bcsite.registry import registry
from bcsite.views import company_admin_required

GET_OR_POST = require_http_methods(["GET", "HEAD", "POST"])


admin_required = company_admin_required("Only administrators of the company can set up approvals.")


def _get_setup(request: HttpRequest, pk: int) -> ApprovalUserSetup:
    return get_object_or_404(
        ApprovalUserSetup.objects.select_related("user"), pk=pk, company=request.company
    )


def _get_workflow(request: HttpRequest, pk: int) -> Workflow:
    return get_object_or_404(
        Workflow.objects.select_related("specific_approver", "user_group"),
        pk=pk,
        company=request.company,
    )


def _get_group(request: HttpRequest, pk: int) -> WorkflowUserGroup:
    return get_object_or_404(WorkflowUserGroup, pk=pk, company=request.company)


def _next_or(request: HttpRequest, fallback: str) -> str:
    target = request.POST.get("next", "")
    safe = url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    )
    return target if target and safe else fallback


# -- Approval User Setup ----------------------------------------------------------------------


@require_safe
@admin_required
def user_setup_list(request: HttpRequest) -> HttpResponse:
    setups = ApprovalUserSetup.objects.filter(company=request.company).select_related(
        "user", "approver", "substitute"
    )
    return render(request, "approvals/setup/user_setup_list.html", {"setups": setups})


@GET_OR_POST
@admin_required
def user_setup_new(request: HttpRequest) -> HttpResponse:
    return _user_setup_form(request, None)


@GET_OR_POST
@admin_required
def user_setup_edit(request: HttpRequest, pk: int) -> HttpResponse:
    return _user_setup_form(request, _get_setup(request, pk))


def _user_setup_form(request: HttpRequest, setup: ApprovalUserSetup | None) -> HttpResponse:
    data = request.POST if request.method == "POST" else None
    form = ApprovalUserSetupForm(data, company=request.company, setup=setup)
    if form.is_valid():
        user = setup.user if setup is not None else form.cleaned_data["user"]
        try:
            approval_user_setup_save(
                company=request.company,
                user=user,
                by=request.user,
                setup=setup,
                **form.setup_fields(),
            )
        except ValidationError as error:
            # The user is not a field of the edit form: what is said of them goes on top.
            for message in add_service_errors(form, error):
                form.add_error(None, message)
        else:
            messages.success(request, f"The approval setup of {user.get_username()} is saved.")
            return redirect("approvals:user-setup")
    context = {"form": form, "setup": setup, "user_text": user_label(setup.user) if setup else ""}
    status = 400 if request.method == "POST" else 200
    return render(request, "approvals/setup/user_setup_form.html", context, status=status)


@GET_OR_POST
@admin_required
def user_setup_delete(request: HttpRequest, pk: int) -> HttpResponse:
    setup = _get_setup(request, pk)
    username = setup.user.get_username()
    errors: list[str] = []
    if request.method == "POST":
        try:
            approval_user_setup_delete(setup=setup, by=request.user)
        except ValidationError as error:
            errors = error.messages
        else:
            messages.success(request, f"The approval setup of {username} is deleted.")
            return redirect("approvals:user-setup")
    return _confirm(
        request,
        title=f"Delete the approval setup of {username}",
        question=f"Delete the approval setup of {username}?",
        details="Requests already sent keep their approvers. New requests of this user find "
        "no approver until the user is set up again.",
        button="Delete",
        cancel_url=reverse("approvals:user-setup"),
        errors=errors,
    )


def _confirm(request: HttpRequest, **context) -> HttpResponse:
    status = 400 if context.get("errors") else 200
    return render(request, "approvals/setup/confirm.html", context, status=status)


# -- Workflows --------------------------------------------------------------------------------


@dataclass(frozen=True)
class WorkflowRow:
    workflow: Workflow
    table: str
    conditions: str
    approver: str


def approver_text(workflow: Workflow) -> str:
    kind = workflow.get_approver_type_display()
    if workflow.approver_type == Workflow.ApproverType.SPECIFIC_APPROVER:
        who = workflow.specific_approver
        return f"{kind}: {who.get_username()}" if who else kind
    if workflow.approver_type == Workflow.ApproverType.USER_GROUP and workflow.user_group:
        return f"{kind}: {workflow.user_group.code}"
    return kind


def table_name(table_id: int | None) -> str:
    table = registry.tables.get(table_id) if table_id is not None else None
    return table.name if table else ""


def workflow_row(workflow: Workflow) -> WorkflowRow:
    return WorkflowRow(
        workflow=workflow,
        table=table_name(workflow.table_id),
        conditions=describe_conditions(workflow.table_id, workflow.conditions),
        approver=approver_text(workflow),
    )


@require_safe
@admin_required
def workflow_list(request: HttpRequest) -> HttpResponse:
    workflows = Workflow.objects.filter(company=request.company).select_related(
        "specific_approver", "user_group"
    )
    rows = [workflow_row(w) for w in workflows]
    flow_rows = [row for source in hooks.workflow_list_sources for row in source(request)]
    missing = set(TEMPLATES_BY_CODE) - {row.workflow.template for row in rows}
    context = {"rows": rows, "flow_rows": flow_rows, "missing_templates": sorted(missing)}
    return render(request, "approvals/setup/workflow_list.html", context)


@GET_OR_POST
@admin_required
def workflow_card(request: HttpRequest, pk: int) -> HttpResponse:
    workflow = _get_workflow(request, pk)
    table = registry.tables.get(workflow.table_id)
    editing = request.method == "POST" and not workflow.enabled
    data = request.POST if editing else None
    form = WorkflowForm(data, company=request.company, workflow=workflow)
    conditions = condition_formset(workflow, table, data)
    condition_errors: list[str] = []
    if editing and form.is_valid() and conditions.is_valid():
        try:
            workflow_update(
                workflow=workflow,
                by=request.user,
                conditions=conditions_from(conditions),
                **form.workflow_fields(),
            )
        except ValidationError as error:
            condition_errors = add_service_errors(form, error)
        else:
            messages.success(request, f"Workflow {workflow.code} is saved.")
            return redirect("approvals:workflow-card", pk=workflow.pk)
    elif request.method == "POST" and workflow.enabled:
        messages.error(request, f"Workflow {workflow.code} is enabled. Disable it to change it.")
        return redirect("approvals:workflow-card", pk=workflow.pk)
    context = {
        "row": workflow_row(workflow),
        "workflow": workflow,
        "template": TEMPLATES_BY_CODE.get(workflow.template),
        "change_label": _change_label(table, workflow.change_field),
        "form": form,
        "conditions": conditions,
        "condition_errors": condition_errors + list(conditions.non_form_errors()),
    }
    status = 400 if editing else 200
    return render(request, "approvals/setup/workflow_card.html", context, status=status)


def _change_label(table, change_field: str) -> str:
    table_field = table.field(change_field) if table is not None and change_field else None
    return table_field.label if table_field else change_field


@require_POST
@admin_required
def workflow_enabled(request: HttpRequest, pk: int) -> HttpResponse:
    workflow = _get_workflow(request, pk)
    wanted = request.POST.get("enabled")
    if wanted not in ("true", "false"):
        return HttpResponseBadRequest("Say enabled=true or enabled=false.")
    try:
        workflow = workflow_set_enabled(
            workflow=workflow, by=request.user, enabled=wanted == "true"
        )
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        state = "enabled" if workflow.enabled else "disabled"
        messages.success(request, f"Workflow {workflow.code} is {state}.")
    return redirect(_next_or(request, reverse("approvals:workflow-list")))


@GET_OR_POST
@admin_required
def workflows_reset_view(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        count = workflows_reset(company=request.company, by=request.user)
        messages.success(
            request, f"{count} workflow{'s' if count != 1 else ''} reset to the templates."
        )
        return redirect("approvals:workflow-list")
    return _confirm(
        request,
        title="Reset to templates",
        question="Reset the workflows to the shipped templates?",
        details="Every workflow made from a template gets the template's description, "
        "conditions, approver type, due date formula and delegation again, and templates "
        "without a workflow get one. Whether a workflow is enabled stays as it is.",
        button="Reset",
        cancel_url=reverse("approvals:workflow-list"),
    )


# -- Workflow user groups ---------------------------------------------------------------------


@require_safe
@admin_required
def group_list(request: HttpRequest) -> HttpResponse:
    members = WorkflowUserGroupMember.objects.select_related("user")
    groups = (
        WorkflowUserGroup.objects.filter(company=request.company)
        .annotate(workflow_count=Count("workflows"))
        .prefetch_related(Prefetch("members", queryset=members))
    )
    return render(request, "approvals/setup/group_list.html", {"groups": groups})


@GET_OR_POST
@admin_required
def group_new(request: HttpRequest) -> HttpResponse:
    return _group_form(request, None)


@GET_OR_POST
@admin_required
def group_card(request: HttpRequest, pk: int) -> HttpResponse:
    return _group_form(request, _get_group(request, pk))


def _group_form(request: HttpRequest, group: WorkflowUserGroup | None) -> HttpResponse:
    data = request.POST if request.method == "POST" else None
    initial = {"code": group.code, "description": group.description} if group else None
    form = WorkflowUserGroupForm(data, initial=initial)
    members = member_formset(request.company, group, data)
    member_errors: list[str] = []
    if data is not None and form.is_valid() and members.is_valid():
        try:
            group = workflow_user_group_save(
                company=request.company,
                by=request.user,
                group=group,
                members=members_from(members),
                **form.cleaned_data,
            )
        except ValidationError as error:
            member_errors = add_service_errors(form, error)
        else:
            messages.success(request, f"Workflow user group {group.code} is saved.")
            return redirect("approvals:workflow-group-card", pk=group.pk)
    context = {
        "group": group,
        "form": form,
        "members": members,
        "member_errors": member_errors + list(members.non_form_errors()),
    }
    status = 400 if data is not None else 200
    return render(request, "approvals/setup/group_card.html", context, status=status)


@GET_OR_POST
@admin_required
def group_delete(request: HttpRequest, pk: int) -> HttpResponse:
    group = _get_group(request, pk)
    errors: list[str] = []
    if request.method == "POST":
        try:
            # The workflows that use the group protect it: nothing is deleted then.
            with transaction.atomic():
                group.delete()
        except ProtectedError:
            used_by = ", ".join(group.workflows.order_by("code").values_list("code", flat=True))
            errors = [f"Workflow user group {group.code} is used by workflow {used_by}."]
        else:
            messages.success(request, f"Workflow user group {group.code} is deleted.")
            return redirect("approvals:workflow-group-list")
    return _confirm(
        request,
        title=f"Delete workflow user group {group.code}",
        question=f"Delete workflow user group {group.code}?",
        details="Its members are removed with it.",
        button="Delete",
        cancel_url=reverse("approvals:workflow-group-card", args=[group.pk]),
        errors=errors,
    )
