"""Custom actions that Power Automate fulfils, declared in code or pinned from the UI.

- ``FlowAction`` declarations (bcsite's, AL's ``customaction``) become actions here, per
  request: ``flow=`` runs the company's flow with that key on the record through the same
  Run Flow pane and handlers as the Automate group; ``template=`` opens a template's create
  page; ``gallery_category=`` opens the templates gallery filtered to a category and to the
  page's table. Nothing is offered while Power Automate is off for the user. A flow the user
  may not run (missing, off, not shared with them) gives a disabled action whose handler
  says why and who can change it: the handler refuses by itself, the button only shows it.
- Pinned flow actions: an administrator places an instant flow in an action group of a
  page (``PinnedFlowAction``); the action is there for everyone who may run the flow, as in
  the Automate group.

Each costs one query per request, however many declarations or pins a page has.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, NoReturn
from urllib.parse import urlencode

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import OuterRef, Subquery
from django.http import HttpRequest
from django.urls import reverse

from automate import gallery
from automate.access import is_company_admin, request_automate_refusal, user_flow_role
from automate.automate_group import GROUP_KEY, flow_action
from automate.models import Flow, FlowShare, PinnedFlowAction
from automate.services import instant_flow_runnable
from bcsite.audit import audit_record
from bcsite.pages.base import Action, ActionGroup, FlowAction, ListPage, Page
from bcsite.pages.site import card_page_of
from bcsite.registry import NavEntry, registry

PIN_ACTION_PREFIX = "pinned-flow-"
AUTOMATE_GROUP_LABEL = "Automate"
_FLOWS_CACHE = "_automate_flow_action_flows"
_PINS_CACHE = "_automate_pinned_flow_actions"


def _may_automate(request: HttpRequest) -> bool:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated or getattr(request, "company", None) is None:
        return False
    return not request_automate_refusal(request)


def _back(page: Page, obj: Any) -> str:
    return page.list_url() if obj is None else page.card_url(obj)


def _owner_name(flow: Flow) -> str:
    return flow.owner.get_full_name() or flow.owner.get_username()


def _never(obj: Any, request: HttpRequest) -> bool:
    return False


def _refused(key: str, label: str, scope: str, message: str) -> Action:
    """A greyed-out action whose handler refuses with ``message``, should it be posted."""

    def refuse(request: HttpRequest, target: Any, /, **inputs: Any) -> None:
        raise ValidationError(message)

    return Action(key=key, label=label, handler=refuse, enabled=_never, scope=scope)


# -- FlowAction declarations -------------------------------------------------------------------


def flow_action_for(
    page: Page, request: HttpRequest, obj: Any, declaration: FlowAction
) -> Action | None:
    """The action ``declaration`` stands for on ``page`` for this user, or None."""
    if not _may_automate(request):
        return None
    if declaration.template:
        return _template_action(page, obj, declaration)
    if declaration.gallery_category:
        return _gallery_action(page, obj, declaration)
    return _run_flow_action(page, request, obj, declaration)


def _template_action(page: Page, obj: Any, declaration: FlowAction) -> Action:
    template = gallery.get_template(declaration.template)
    if template is None:
        return _refused(
            declaration.key,
            declaration.label,
            declaration.scope,
            f"{declaration.label} starts from the template '{declaration.template}', which "
            "is not in the templates gallery.",
        )
    url = reverse("automate:template-use", args=[template.key])
    query = urlencode({"next": _back(page, obj)})
    return Action(
        key=declaration.key, label=declaration.label, url=f"{url}?{query}", scope=declaration.scope
    )


def _gallery_action(page: Page, obj: Any, declaration: FlowAction) -> Action:
    table = registry.table_for_model(page.model)
    query = {"category": declaration.gallery_category}
    if table is not None:
        query["table"] = table.id
    query["next"] = _back(page, obj)
    url = f"{reverse('automate:gallery')}?{urlencode(query)}"
    return Action(key=declaration.key, label=declaration.label, url=url, scope=declaration.scope)


def _run_flow_action(page: Page, request: HttpRequest, obj: Any, declaration: FlowAction) -> Action:
    flow = flows_by_key(request).get(declaration.flow)
    refusal = flow_action_refusal(page, request.user, declaration, flow)
    if refusal is not None:
        return _refused(declaration.key, declaration.label, declaration.scope, refusal)
    # The Automate group's own action: same Run Flow pane, same handlers, same checks.
    return replace(flow_action(page, flow, obj), key=declaration.key, label=declaration.label)


def flows_by_key(request: HttpRequest) -> dict[str, Flow]:
    """The company's flows that declarations name, by key: one query per request."""
    if _FLOWS_CACHE not in request.__dict__:
        keys = sorted(
            {a.flow for _, _, a in registry.custom_actions if isinstance(a, FlowAction) and a.flow}
        )
        flows: dict[str, Flow] = {}
        if keys:
            shares = FlowShare.objects.filter(user=request.user, flow=OuterRef("pk"))
            rows = (
                Flow.objects.filter(company=request.company, key__in=keys)
                .select_related("owner", "current_version")
                .annotate(shared_role=Subquery(shares.values("role")[:1]))
            )
            flows = {flow.key: flow for flow in rows}
        request.__dict__[_FLOWS_CACHE] = flows
    return request.__dict__[_FLOWS_CACHE]


def flow_action_refusal(page: Page, user, declaration: FlowAction, flow: Flow | None) -> str | None:
    """Why ``user`` cannot run the declared flow from ``page`` now, or None when they can."""
    start = f"{declaration.label} runs the flow '{declaration.flow}'"
    if flow is None:
        return f"{start}, which does not exist in this company. Ask an administrator to set it up."
    owner = _owner_name(flow)
    if user_flow_role(user, flow) is None:
        return f"{start}, which is not shared with you. Ask its owner {owner} to share it."
    table = registry.table_for_model(page.model)
    if flow.trigger_type != "selected_record" or table is None or flow.table_id != table.id:
        card = card_page_of(page)
        noun = (card.entity or card.title) if card is not None else page.title
        return (
            f"{start}, which is not a flow for a selected {noun} record. Ask its owner "
            f"{owner} to change its trigger."
        )
    if not flow.enabled or flow.current_version_id is None:
        return f"{start}, which is turned off. Ask its owner {owner} to turn it on."
    return None


registry.register_flow_action_resolver(flow_action_for)


# -- Pinned flow actions -----------------------------------------------------------------------


def pinned_flow_groups(page: Page, request: HttpRequest, obj: Any) -> list[ActionGroup]:
    """The flows pinned to ``page`` that the user may run, each in the group it was pinned
    to (groups of one key become one in the action bar)."""
    if not _may_automate(request):
        return []
    pins = _pins(request).get(page.key)
    table = registry.table_for_model(page.model)
    if not pins or table is None:
        return []
    groups = []
    for pin in pins:
        flow = pin.flow
        if flow.table_id != table.id or not instant_flow_runnable(flow, request.user):
            continue
        action = replace(
            flow_action(page, flow, obj), key=f"{PIN_ACTION_PREFIX}{pin.pk}", label=pin.label
        )
        groups.append(ActionGroup(pin.group_key, group_label(page, pin.group_key), [action]))
    return groups


def _pins(request: HttpRequest) -> dict[str, list[PinnedFlowAction]]:
    """The company's pins by page key, with their flows: one query per request."""
    if _PINS_CACHE not in request.__dict__:
        shares = FlowShare.objects.filter(user=request.user, flow=OuterRef("flow_id"))
        rows = (
            PinnedFlowAction.objects.filter(company=request.company)
            .select_related("flow__owner", "flow__current_version")
            .annotate(shared_role=Subquery(shares.values("role")[:1]))
        )
        pins: dict[str, list[PinnedFlowAction]] = {}
        for pin in rows:
            # What user_flow_role reads, so checking a pin costs no query.
            pin.flow.shared_role = pin.shared_role
            pins.setdefault(pin.page_key, []).append(pin)
        request.__dict__[_PINS_CACHE] = pins
    return request.__dict__[_PINS_CACHE]


registry.register_action_groups(pinned_flow_groups)


# -- Pinning (administrators) ------------------------------------------------------------------


def pin_groups(page: Page) -> list[tuple[str, str]]:
    """The groups a flow can be pinned to on ``page``: Automate, or one of the page's own."""
    groups = {GROUP_KEY: AUTOMATE_GROUP_LABEL}
    for group in page.action_groups:
        groups.setdefault(group.key, group.label)
    return list(groups.items())


def group_label(page: Page, group_key: str) -> str:
    return dict(pin_groups(page)).get(group_key, group_key.replace("_", " ").title())


def pin_pages(table_id: int | None = None) -> list[Page]:
    """The list, card and document pages a flow on ``table_id`` can be pinned to (every
    page with a table when None)."""
    pages = []
    for page in registry.pages.values():
        table = registry.table_for_model(page.model)
        if table is not None and (table_id is None or table.id == table_id):
            pages.append(page)
    return pages


def pinnable_flows(company) -> Any:
    """The instant flows of the company that are on: the ones that can be pinned."""
    return Flow.objects.filter(
        company=company,
        trigger_type="selected_record",
        enabled=True,
        current_version__isnull=False,
    ).select_related("owner")


def _page_kind(page: Page) -> str:
    return "list" if isinstance(page, ListPage) else page.kind


def page_caption(page: Page) -> str:
    return f"{page.title} ({_page_kind(page)})"


def _check_pin(*, company, flow: Flow, page_key: str, group_key: str, label: str) -> str:
    """The label to pin with, or a ValidationError keyed by the form's fields."""
    page = registry.pages.get(page_key)
    if flow.company_id != company.pk:
        _refuse("flow", "Choose a flow of this company.")
    if not (flow.trigger_type == "selected_record" and flow.enabled and flow.current_version_id):
        _refuse("flow", f"{flow.name} is not an instant flow that is on; only those can be pinned.")
    if page is None or page not in pin_pages(flow.table_id):
        table = registry.tables.get(flow.table_id)
        _refuse(
            "page",
            f"{flow.name} runs on {table.name if table else 'another table'}: "
            "choose one of its pages.",
        )
    if group_key not in dict(pin_groups(page)):
        groups = ", ".join(label for _, label in pin_groups(page))
        _refuse(
            "group", f"{page.title} has no action group {group_key!r}. Choose one of: {groups}."
        )
    label = (label or "").strip() or flow.name
    max_length = PinnedFlowAction._meta.get_field("label").max_length
    if not label.isprintable() or len(label) > max_length:
        _refuse("label", f"The label must be printable text of at most {max_length} characters.")
    if PinnedFlowAction.objects.filter(flow=flow, page_key=page_key).exists():
        _refuse("page", f"{flow.name} is already pinned to {page.title}.")
    return label


def _refuse(field: str, message: str) -> NoReturn:
    raise ValidationError({field: [message]})


def _pin_summary(pin: PinnedFlowAction) -> dict[str, str]:
    page = registry.pages.get(pin.page_key)
    return {
        "flow": pin.flow.name,
        "page": page.title if page else pin.page_key,
        "group": group_label(page, pin.group_key) if page else pin.group_key,
        "label": pin.label,
    }


@transaction.atomic
def pinned_action_create(
    *, company, user, flow: Flow, page_key: str, group_key: str, label: str = ""
) -> PinnedFlowAction:
    """Pin ``flow`` to the group ``group_key`` of page ``page_key``."""
    label = _check_pin(
        company=company, flow=flow, page_key=page_key, group_key=group_key, label=label
    )
    try:
        with transaction.atomic():
            pin = PinnedFlowAction.objects.create(
                company=company,
                flow=flow,
                page_key=page_key,
                group_key=group_key,
                label=label,
                pinned_by=user,
            )
    except IntegrityError:
        # Someone pinned it at the same moment.
        _refuse("page", f"{flow.name} is already pinned to {registry.pages[page_key].title}.")
    audit_record(
        company=company,
        actor=user,
        area="Pinned action",
        action="pinned",
        target=pin,
        object_type="Pinned action",
        after=_pin_summary(pin),
    )
    return pin


@transaction.atomic
def pinned_action_delete(*, pin: PinnedFlowAction, user) -> None:
    audit_record(
        company=pin.company_id,
        actor=user,
        area="Pinned action",
        action="unpinned",
        target=pin,
        object_type="Pinned action",
        before=_pin_summary(pin),
    )
    pin.delete()


registry.register_nav_entry(
    NavEntry(
        group="Power Automate",
        title="Pinned flow actions",
        url=lambda: reverse("automate:pinned-actions"),
        order=85,
        allowed=lambda request: is_company_admin(request) and _may_automate(request),
    )
)
