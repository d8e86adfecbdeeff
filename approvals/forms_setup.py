"""Forms of the approval setup pages. They check the input's shape; the services check the
rules (one approval administrator, approvers who are users of the company, ...) and the
views put the services' refusals next to the fields they are about."""

from __future__ import annotations

from decimal import Decimal

from django import forms
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db.models import QuerySet

from approvals.models import ApprovalUserSetup, Workflow, WorkflowUserGroup
from approvals.templates import NUMERIC_TYPES, OPERATORS, due_date_formula_error
from bcsite.registry import Table
from records.models import MONEY, MONEY_LIMIT, ZERO

# Blank rows offered under the condition and member grids: more rows without JavaScript
# come from saving and editing again.
BLANK_ROWS = 3
MAX_ROWS = 50


def company_users(company) -> QuerySet:
    """The users of ``company``: the only ones who may approve in it."""
    return (
        get_user_model()
        .objects.filter(memberships__company=company, is_active=True)
        .order_by("username")
    )


def user_label(user) -> str:
    name = user.get_full_name()
    return f"{user.get_username()} ({name})" if name else user.get_username()


class UserChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj) -> str:
        return user_label(obj)


def add_service_errors(form: forms.Form, error: ValidationError) -> list[str]:
    """Put a service's refusal next to the form's fields; return the messages about
    anything the form has no field for, for the page to show above its grids."""
    others: list[str] = []
    if not hasattr(error, "error_dict"):
        form.add_error(None, error.messages)
        return others
    for name, messages in error.message_dict.items():
        if name in form.fields:
            form.add_error(name, messages)
        else:
            others.extend(messages)
    return others


# -- Approval User Setup ----------------------------------------------------------------------


class ApprovalUserSetupForm(forms.Form):
    user = UserChoiceField(
        queryset=None,
        error_messages={
            "required": "Choose the user this setup is for.",
            "invalid_choice": "Choose a user of the company who has no approval setup yet.",
        },
    )
    approver = UserChoiceField(
        queryset=None,
        required=False,
        label="Approver ID",
        help_text="Who approves this user's requests. Blank: the top of the approver chain.",
        error_messages={"invalid_choice": "Choose a user of the company."},
    )
    substitute = UserChoiceField(
        queryset=None,
        required=False,
        help_text="Who gets this user's approvals when they are overdue.",
        error_messages={"invalid_choice": "Choose a user of the company."},
    )
    sales_amount_approval_limit = forms.DecimalField(
        label="Sales Amount Approval Limit",
        required=False,
        min_value=ZERO,
        max_value=MONEY_LIMIT,
        max_digits=MONEY["max_digits"],
        decimal_places=MONEY["decimal_places"],
        help_text="Sales documents up to this amount. 0 approves none.",
        error_messages={
            "invalid": "Sales Amount Approval Limit must be an amount, e.g. 5000.",
            "min_value": "Sales Amount Approval Limit must be zero or more.",
            "max_value": "Sales Amount Approval Limit is too large.",
            "max_digits": "Sales Amount Approval Limit is too large.",
            "max_decimal_places": "Sales Amount Approval Limit has at most 2 decimals.",
            "max_whole_digits": "Sales Amount Approval Limit is too large.",
        },
    )
    unlimited_sales_approval = forms.BooleanField(label="Unlimited Sales Approval", required=False)
    email = forms.EmailField(
        label="E-Mail",
        required=False,
        max_length=254,
        help_text="Where approval notifications go. Blank: the user's own email.",
        error_messages={"invalid": "Enter an email address, e.g. name@example.com."},
    )
    approval_administrator = forms.BooleanField(
        label="Approval Administrator",
        required=False,
        help_text="The one user who may decide any request. Choosing another user moves it.",
    )

    def __init__(self, *args, company, setup: ApprovalUserSetup | None = None, **kwargs):
        if setup is not None:
            kwargs.setdefault(
                "initial",
                {
                    "approver": setup.approver_id,
                    "substitute": setup.substitute_id,
                    "sales_amount_approval_limit": setup.sales_amount_approval_limit,
                    "unlimited_sales_approval": setup.unlimited_sales_approval,
                    "email": setup.email,
                    "approval_administrator": setup.approval_administrator,
                },
            )
        super().__init__(*args, **kwargs)
        users = company_users(company)
        self.fields["approver"].queryset = users
        self.fields["substitute"].queryset = users
        if setup is None:
            # A user has one setup: the ones who have it are edited from the list.
            have = ApprovalUserSetup.objects.filter(company=company).values("user_id")
            self.fields["user"].queryset = users.exclude(pk__in=have)
        else:
            del self.fields["user"]

    def clean_sales_amount_approval_limit(self) -> Decimal:
        limit = self.cleaned_data.get("sales_amount_approval_limit")
        return ZERO if limit is None else limit

    def setup_fields(self) -> dict:
        """The fields the service saves."""
        return {name: self.cleaned_data[name] for name in self.fields if name != "user"}


# -- Workflows --------------------------------------------------------------------------------


class WorkflowForm(forms.Form):
    description = forms.CharField(
        max_length=Workflow._meta.get_field("description").max_length,
        error_messages={"required": "Description must have a value."},
    )
    approver_type = forms.ChoiceField(
        label="Approver Type",
        choices=Workflow.ApproverType.choices,
        error_messages={"invalid_choice": "Choose an approver type from the list."},
    )
    specific_approver = UserChoiceField(
        queryset=None,
        required=False,
        label="Specific Approver",
        help_text="For the approver type Specific Approver.",
        error_messages={"invalid_choice": "Choose a user of the company."},
    )
    user_group = forms.ModelChoiceField(
        queryset=None,
        required=False,
        label="Workflow User Group",
        help_text="For the approver type Workflow User Group.",
        error_messages={"invalid_choice": "Choose a workflow user group of the company."},
    )
    due_date_formula = forms.CharField(
        label="Due Date Formula",
        required=False,
        max_length=Workflow._meta.get_field("due_date_formula").max_length,
        help_text="When an approval is due after it is sent, e.g. 2D or 1W+2D.",
    )
    delegate_after = forms.ChoiceField(
        choices=Workflow.DelegateAfter.choices,
        required=False,
        label="Delegate After",
        help_text="An approval still open this long after it is sent goes to the approver's "
        "substitute.",
        error_messages={"invalid_choice": "Choose a Delegate After period from the list."},
    )

    def __init__(self, *args, company, workflow: Workflow, **kwargs):
        kwargs.setdefault(
            "initial",
            {
                "description": workflow.description,
                "approver_type": workflow.approver_type,
                "specific_approver": workflow.specific_approver_id,
                "user_group": workflow.user_group_id,
                "due_date_formula": workflow.due_date_formula,
                "delegate_after": workflow.delegate_after,
            },
        )
        super().__init__(*args, **kwargs)
        self.fields["specific_approver"].queryset = company_users(company)
        self.fields["user_group"].queryset = WorkflowUserGroup.objects.filter(company=company)

    def clean_due_date_formula(self) -> str:
        formula = self.cleaned_data["due_date_formula"]
        error = due_date_formula_error(formula)
        if error:
            raise ValidationError(error)
        return formula.replace(" ", "").upper()

    def workflow_fields(self) -> dict:
        return dict(self.cleaned_data)


class ConditionForm(forms.Form):
    """One row of a workflow's conditions: field, operator, value. A row without a field
    is blank and left out."""

    field = forms.ChoiceField(required=False, label="Field")
    operator = forms.ChoiceField(
        choices=list(OPERATORS.items()),
        required=False,
        label="Operator",
        error_messages={"invalid_choice": "Choose an operator from the list."},
    )
    value = forms.CharField(required=False, max_length=100, label="Value")

    def __init__(self, *args, table: Table | None, **kwargs):
        super().__init__(*args, **kwargs)
        self.table = table
        fields = table.fields if table is not None else ()
        self.fields["field"].choices = [("", "")] + [(f.api_name, f.label) for f in fields]
        self.fields["field"].error_messages["invalid_choice"] = "Choose a field from the list."

    def clean(self) -> dict:
        data = super().clean()
        name, value = data.get("field"), (data.get("value") or "").strip()
        if not name:
            if value:
                self.add_error("field", "Choose the field this value is for, or clear the value.")
            return data
        if not data.get("operator"):
            self.add_error("operator", "Choose an operator.")
            return data
        table_field = self.table.field(name) if self.table is not None else None
        numeric = table_field is not None and table_field.type in NUMERIC_TYPES
        if numeric and data["operator"] != "contains":
            number = _number(value)
            if number is None:
                self.add_error("value", f"{table_field.label} needs a number, e.g. 1000.")
                return data
            data["value"] = number
            return data
        data["value"] = value
        return data

    def condition(self) -> dict | None:
        data = self.cleaned_data
        if not data.get("field") or data.get("DELETE"):
            return None
        return {"field": data["field"], "operator": data["operator"], "value": data["value"]}


def _number(text: str) -> int | float | None:
    """The number ``text`` spells, as JSON keeps it: whole numbers stay integers."""
    try:
        number = Decimal(text.replace(",", ""))
    except ArithmeticError:
        return None
    if not number.is_finite() or abs(number) > MONEY_LIMIT:
        return None
    return int(number) if number == number.to_integral_value() else float(number)


ConditionFormSet = forms.formset_factory(
    ConditionForm,
    extra=BLANK_ROWS,
    can_delete=True,
    max_num=MAX_ROWS,
    absolute_max=MAX_ROWS,
    validate_max=True,
)


def condition_formset(workflow: Workflow, table: Table | None, data=None):
    initial = [
        {"field": c.get("field"), "operator": c.get("operator"), "value": c.get("value")}
        for c in workflow.conditions
        if isinstance(c, dict)
    ]
    # Bound to what was posted only: rows compared with the saved conditions would count
    # as unchanged, and be dropped, when the workflow changed since the page was shown.
    return ConditionFormSet(
        data,
        initial=initial if data is None else None,
        prefix="conditions",
        form_kwargs={"table": table},
    )


def conditions_from(formset) -> list[dict]:
    return [c for c in (form.condition() for form in formset.forms) if c is not None]


# -- Workflow user groups ---------------------------------------------------------------------


class WorkflowUserGroupForm(forms.Form):
    code = forms.CharField(
        max_length=WorkflowUserGroup._meta.get_field("code").max_length,
        error_messages={"required": "Code must have a value."},
    )
    description = forms.CharField(
        required=False, max_length=WorkflowUserGroup._meta.get_field("description").max_length
    )


class MemberForm(forms.Form):
    """One member row: the user and their sequence no. A row without a user is blank."""

    user = UserChoiceField(
        queryset=None,
        required=False,
        label="User",
        error_messages={"invalid_choice": "Choose a user of the company."},
    )
    sequence_no = forms.IntegerField(
        required=False,
        min_value=1,
        max_value=999,
        label="Sequence No.",
        error_messages={
            "invalid": "Sequence No. must be a whole number.",
            "min_value": "Sequence No. must be 1 or more.",
            "max_value": "Sequence No. must be 999 or less.",
        },
    )

    def __init__(self, *args, users: QuerySet, choices: list, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["user"].queryset = users
        # The same list for every row: one query for the page, not one per row.
        self.fields["user"].choices = choices

    def clean(self) -> dict:
        data = super().clean()
        if data.get("DELETE"):
            return data
        if data.get("user") is None and data.get("sequence_no") is not None:
            self.add_error("user", "Choose the user for this sequence no., or clear it.")
        elif data.get("user") is not None and data.get("sequence_no") is None:
            self.add_error("sequence_no", "Sequence No. must have a value.")
        return data

    def member(self) -> tuple | None:
        data = self.cleaned_data
        if data.get("user") is None or data.get("DELETE"):
            return None
        return (data["user"], data["sequence_no"])


MemberFormSet = forms.formset_factory(
    MemberForm,
    extra=BLANK_ROWS,
    can_delete=True,
    max_num=MAX_ROWS,
    absolute_max=MAX_ROWS,
    validate_max=True,
)


def member_formset(company, group: WorkflowUserGroup | None, data=None):
    initial = (
        [{"user": m.user_id, "sequence_no": m.sequence_no} for m in group.members.all()]
        if group is not None
        else []
    )
    users = company_users(company)
    choices = [("", "---------")] + [(u.pk, user_label(u)) for u in users]
    return MemberFormSet(
        data,
        initial=initial if data is None else None,
        prefix="members",
        form_kwargs={"users": users, "choices": choices},
    )


def members_from(formset) -> list[tuple]:
    return [m for m in (form.member() for form in formset.forms) if m is not None]
