"""Approval workflows: made from the shipped templates, edited while off, switched on and off."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction

from approvals.models import Workflow
from approvals.templates import (
    TEMPLATES,
    TEMPLATES_BY_CODE,
    WorkflowTemplate,
    condition_errors,
    due_date_formula_error,
)

EDITABLE = (
    "description",
    "conditions",
    "approver_type",
    "specific_approver",
    "user_group",
    "due_date_formula",
    "delegate_after",
)


def _template_fields(template: WorkflowTemplate) -> dict:
    return {
        "description": template.description,
        "category": template.category,
        "table_id": template.table_id,
        "change_field": template.change_field,
        "conditions": [dict(c) for c in template.conditions],
        "approver_type": template.approver_type,
        "specific_approver": None,
        "user_group": None,
        "due_date_formula": template.due_date_formula,
        "delegate_after": template.delegate_after,
    }


def workflows_install(*, company) -> list[Workflow]:
    """Make the shipped workflows the company lacks (off, as BC ships them). Idempotent."""
    have = set(Workflow.objects.filter(company=company).values_list("code", flat=True))
    made = [
        Workflow(company=company, code=t.code, template=t.code, **_template_fields(t))
        for t in TEMPLATES
        if t.code not in have
    ]
    return Workflow.objects.bulk_create(made, ignore_conflicts=True)


def workflows_reset(*, company, by) -> int:
    """Reset every shipped workflow to its template and make the missing ones again.
    Whether each is on is left as it is."""
    with transaction.atomic():
        workflows_install(company=company)
        count = 0
        for workflow in Workflow.objects.select_for_update().filter(company=company):
            template = TEMPLATES_BY_CODE.get(workflow.template)
            if template is None:
                continue
            for name, value in _template_fields(template).items():
                setattr(workflow, name, value)
            workflow.save()
            count += 1
    return count


def workflow_errors(workflow: Workflow) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    conditions = condition_errors(workflow.table_id, workflow.conditions)
    if conditions:
        errors["conditions"] = conditions
    formula = due_date_formula_error(workflow.due_date_formula)
    if formula:
        errors["due_date_formula"] = [formula]
    kind = workflow.approver_type
    if kind not in Workflow.ApproverType.values:
        errors["approver_type"] = [f"{kind} is not an approver type."]
    if kind == Workflow.ApproverType.SPECIFIC_APPROVER and workflow.specific_approver_id is None:
        errors["specific_approver"] = ["A specific approver is needed for this approver type."]
    if kind == Workflow.ApproverType.USER_GROUP:
        if workflow.user_group_id is None:
            errors["user_group"] = ["A workflow user group is needed for this approver type."]
        elif not workflow.user_group.members.exists():
            errors["user_group"] = [f"Workflow user group {workflow.user_group} has no members."]
        elif workflow.user_group.company_id != workflow.company_id:
            errors["user_group"] = ["The workflow user group belongs to another company."]
    if workflow.delegate_after not in Workflow.DelegateAfter.values:
        errors["delegate_after"] = [f"{workflow.delegate_after} is not a Delegate After period."]
    return errors


def workflow_update(*, workflow: Workflow, by, **fields) -> Workflow:
    """Change a workflow; as in BC, only while it is off."""
    unknown = set(fields) - set(EDITABLE)
    if unknown:
        raise ValidationError(f"These fields cannot be changed: {', '.join(sorted(unknown))}.")
    with transaction.atomic():
        workflow = Workflow.objects.select_for_update().get(pk=workflow.pk)
        if workflow.enabled:
            raise ValidationError(
                f"Workflow {workflow.code} is enabled and cannot be changed. Turn it off first."
            )
        for name, value in fields.items():
            setattr(workflow, name, value)
        errors = workflow_errors(workflow)
        if errors:
            raise ValidationError(errors)
        workflow.save()
    return workflow


def workflow_set_enabled(*, workflow: Workflow, by, enabled: bool) -> Workflow:
    with transaction.atomic():
        workflow = Workflow.objects.select_for_update().get(pk=workflow.pk)
        if enabled:
            errors = workflow_errors(workflow)
            if errors:
                messages = [m for ms in errors.values() for m in ms]
                raise ValidationError(
                    f"Workflow {workflow.code} cannot be enabled: {' '.join(messages)}"
                )
        workflow.enabled = enabled
        workflow.save(update_fields=["enabled", "last_modified"])
    return workflow
