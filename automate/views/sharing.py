"""Sharing a flow (co-owners, run-only users) and reassigning a leaving user's flows.

The share page is for those who may edit the flow (its owner, co-owners, administrators):
``get_flow_for_user`` answers 404 to anyone who cannot see the flow and 403 to a run-only
user. Reassigning belongs to Power Automate Setup: administrators only, and it works
while Power Automate is off, as the setup does.
"""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db.models import Q, QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from automate.access import automate_exempt, flow_role, get_flow_for_user, may_edit
from automate.models import Flow, FlowShare
from automate.services.sharing import flow_share, flow_unshare, flows_reassign
from automate.views.flows import trigger_label
from bcsite.views import company_admin_required, company_required
from records.models import Membership

User = get_user_model()
NOT_A_USER = "Choose a user of the company."


def _members(company_id: int) -> QuerySet:
    return User.objects.filter(
        pk__in=Membership.objects.filter(company_id=company_id).values("user_id")
    ).order_by("username")


def _name(user) -> str:
    return user.get_full_name() or user.get_username()


class UserChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj) -> str:
        full = obj.get_full_name()
        return f"{full} ({obj.get_username()})" if full else obj.get_username()


class ShareForm(forms.Form):
    """Add a user with a role, or change the role of one the flow is shared with."""

    user = UserChoiceField(
        queryset=User.objects.none(),
        empty_label="Choose a user",
        error_messages={"required": NOT_A_USER, "invalid_choice": NOT_A_USER},
    )
    role = forms.ChoiceField(
        choices=FlowShare.Role.choices,
        error_messages={
            "required": "Choose a role.",
            "invalid_choice": "Choose a role: Co-owner or Run-only user.",
        },
    )

    def __init__(self, *args, flow: Flow, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["user"].queryset = _members(flow.company_id).exclude(pk=flow.owner_id)


class UnshareForm(forms.Form):
    user = forms.ModelChoiceField(
        queryset=User.objects.none(),
        error_messages={
            "required": NOT_A_USER,
            "invalid_choice": "That user no longer shares this flow.",
        },
    )

    def __init__(self, *args, flow: Flow, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["user"].queryset = User.objects.filter(flow_shares__flow=flow)


class ReassignForm(forms.Form):
    to_user = UserChoiceField(
        queryset=User.objects.none(),
        label="New owner",
        empty_label="Choose the new owner",
        error_messages={
            "required": "Choose the new owner.",
            "invalid_choice": "Choose an active user of the company as the new owner.",
        },
    )

    def __init__(self, *args, company_id: int, leaving, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["to_user"].queryset = (
            _members(company_id).filter(is_active=True).exclude(pk=leaving.pk)
        )


# -- Sharing one flow ---------------------------------------------------------------------------


def _share_page(
    request: HttpRequest, flow: Flow, form: ShareForm, errors=(), status: int = 200
) -> HttpResponse:
    shares = list(flow.shares.select_related("user", "added_by").order_by("user__username"))
    shared_ids = [share.user_id for share in shares]
    context = {
        "flow": flow,
        "shares": shares,
        "form": form,
        "candidates": list(
            _members(flow.company_id)
            .filter(is_active=True)
            .exclude(pk__in=[flow.owner_id, *shared_ids])
        ),
        "errors": list(errors),
        "is_instant": flow.trigger_type == "selected_record",
        "trigger": trigger_label(flow.trigger_type, flow.table_id, flow.trigger_event),
        "roles": FlowShare.Role.choices,
        "run_only": FlowShare.Role.RUN_ONLY,
    }
    return render(request, "automate/sharing/share.html", context, status=status)


def _after_change(request: HttpRequest, flow: Flow) -> HttpResponse:
    # A co-owner who removed themselves, or made themselves run-only, may no longer
    # manage the sharing: back to My flows rather than into a refusal.
    if not may_edit(flow_role(request, flow)):
        return redirect("automate:flow-list")
    return redirect("automate:flow-share", pk=flow.pk)


def _share_post(request: HttpRequest, flow: Flow) -> HttpResponse:
    removing = request.POST.get("action") == "remove"
    form_class = UnshareForm if removing else ShareForm
    form = form_class(request.POST, flow=flow)
    if form.is_valid():
        user = form.cleaned_data["user"]
        try:
            if removing:
                flow_unshare(flow=flow, user=user, by=request.user)
                done = f"{flow.name} is no longer shared with {_name(user)}."
            else:
                share = flow_share(
                    flow=flow, user=user, role=form.cleaned_data["role"], by=request.user
                )
                done = f"{_name(user)} is now {share.get_role_display().lower()} of {flow.name}."
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, done)
            return _after_change(request, flow)
    errors = [message for messages_ in form.errors.values() for message in messages_]
    page_form = ShareForm(flow=flow) if removing else form
    return _share_page(request, flow, page_form, errors=errors, status=400)


@require_http_methods(["GET", "POST"])
@company_required
def flow_share_view(request: HttpRequest, pk: int) -> HttpResponse:
    flow = get_flow_for_user(request, pk)
    if request.method == "POST":
        return _share_post(request, flow)
    return _share_page(request, flow, ShareForm(flow=flow))


# -- Reassigning a leaving user's flows ---------------------------------------------------------


def _leaving_user(request: HttpRequest, user_id: int):
    """A user of the company, or one who still owns flows in it after leaving it; 404 for
    anyone else (users of other companies stay unknown here)."""
    company = request.company
    user = (
        User.objects.filter(pk=user_id)
        .filter(
            Q(pk__in=Membership.objects.filter(company=company).values("user_id"))
            | Q(pk__in=Flow.objects.filter(company=company).values("owner_id"))
        )
        .first()
    )
    if user is None:
        raise Http404("No such user in this company.")
    return user


def _reassign_page(request: HttpRequest, leaving, form: ReassignForm, status: int = 200):
    flows = Flow.objects.filter(company=request.company, owner=leaving).order_by("name", "pk")
    rows = [
        {
            "flow": flow,
            "trigger": trigger_label(flow.trigger_type, flow.table_id, flow.trigger_event),
        }
        for flow in flows
    ]
    context = {"leaving": leaving, "rows": rows, "form": form}
    return render(request, "automate/sharing/reassign.html", context, status=status)


@automate_exempt
@require_http_methods(["GET", "POST"])
@company_admin_required("Only administrators of the company can reassign a user's flows.")
def flows_reassign_view(request: HttpRequest, user_id: int) -> HttpResponse:
    leaving = _leaving_user(request, user_id)
    data = request.POST if request.method == "POST" else None
    form = ReassignForm(data, company_id=request.company.pk, leaving=leaving)
    if request.method == "POST" and form.is_valid():
        to_user = form.cleaned_data["to_user"]
        try:
            count = flows_reassign(
                company=request.company, from_user=leaving, to_user=to_user, by=request.user
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            if count:
                messages.success(
                    request,
                    f"{count} flow{'s' if count != 1 else ''} of {_name(leaving)} now "
                    f"belong{'s' if count == 1 else ''} to {_name(to_user)}.",
                )
            else:
                messages.info(request, f"{_name(leaving)} owns no flows to reassign.")
            return redirect("automate:flows-reassign", user_id=leaving.pk)
    return _reassign_page(request, leaving, form, status=400 if form.errors else 200)
