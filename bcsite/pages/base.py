"""Page declarations: what a page shows and offers, as BC's page objects declare it.

A page is data: a kind (list, card, document), a source model, its fields in FastTabs or its
columns, its actions and action groups, its FactBoxes. The generic views in
``bcsite.pages.views`` render any page; apps declare pages and register them with
``bcsite.registry.registry.register_page``. Other apps extend every page through the registry
(action group providers, custom actions, FactBoxes), never by editing a declaration.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Literal
from urllib.parse import urlencode

from django.core.exceptions import FieldDoesNotExist
from django.db import models
from django.urls import reverse
from django.utils.text import capfirst

if TYPE_CHECKING:
    from django import forms
    from django.http import HttpRequest

Scope = Literal["record", "list", "page"]
# BC's Importance: promoted fields sum up a collapsed FastTab; additional ones wait behind
# "Show more".
Importance = Literal["standard", "promoted", "additional"]


# -- Fields and columns -------------------------------------------------------------------


@dataclass(frozen=True)
class Field:
    """A field on a card, a document header or a lines part.

    ``name`` is a model field name, or a ``__`` path through relations for display only
    (``customer__no``). ``value`` computes what to show instead of reading the attribute;
    ``link(obj)`` makes the value a link. ``readonly`` fields are shown and never edited;
    ``create_only`` fields are edited on a new record only (a customer's No.).
    ``importance`` is BC's: "promoted" fields show in a collapsed FastTab's header,
    "additional" ones (rarely used) behind the FastTab's "Show more".
    """

    name: str
    label: str | None = None
    readonly: bool = False
    create_only: bool = False
    required: bool | None = None
    help_text: str = ""
    initial: Any = None
    value: Callable[[Any], Any] | None = None
    link: Callable[[Any], str | None] | None = None
    numeric: bool | None = None
    importance: Importance = "standard"

    def __post_init__(self) -> None:
        if self.importance not in ("standard", "promoted", "additional"):
            raise ValueError(f"Field {self.name!r}: unknown importance {self.importance!r}")

    def model_field(self, model: type[models.Model]) -> models.Field | None:
        return resolve_model_field(model, self.name)

    def label_for(self, model: type[models.Model]) -> str:
        if self.label:
            return self.label
        model_field = self.model_field(model)
        if model_field is None:
            return capfirst(self.name.replace("__", " ").replace("_", " "))
        return field_label(model_field)

    def is_numeric(self, model: type[models.Model]) -> bool:
        if self.numeric is not None:
            return self.numeric
        model_field = self.model_field(model)
        return isinstance(
            model_field, models.DecimalField | models.IntegerField | models.FloatField
        ) and not getattr(model_field, "choices", None)

    def is_editable(self, model: type[models.Model], *, creating: bool) -> bool:
        """Whether the field takes input: a concrete, editable model field on this model."""
        if self.readonly or self.value is not None or "__" in self.name:
            return False
        if self.create_only and not creating:
            return False
        model_field = self.model_field(model)
        return bool(model_field and model_field.editable and model_field.concrete)

    def raw_value(self, obj: Any) -> Any:
        if self.value is not None:
            return self.value(obj)
        return attribute_path(obj, self.name)


@dataclass(frozen=True)
class Column(Field):
    """A list column. ``sort`` is the ORM path to order by (default: ``name`` when it is a
    concrete field of the list's own model); ``sortable=False`` turns header sorting off.

    A column through a relation (``customer__no``) does not sort unless ``sort`` says so:
    ordering 100k orders by a joined column sorts them all, on every page.
    """

    sortable: bool = True
    sort: str | None = None

    def sort_path(self, model: type[models.Model]) -> str | None:
        if not self.sortable or self.value is not None:
            return None
        if self.sort is None and "__" in self.name:
            return None
        path = self.sort or self.name
        model_field = resolve_model_field(model, path)
        return path if model_field is not None and model_field.concrete else None


@dataclass(frozen=True)
class FastTab:
    """A collapsible section of a card (BC's FastTab): a title and its fields."""

    key: str
    title: str
    fields: Sequence[Field]
    open: bool = True


@dataclass(frozen=True)
class Filter:
    """A field a list can be filtered by: ``?<name>=<expression>`` (what cues link to).

    The value is a BC filter expression (``C1*``, ``<>''``, ``100..500``, ``a|b``; see
    ``bcsite.pages.filters``), read by the type of the field at ``lookup`` (the ORM path,
    e.g. ``customer__no``). Text matches ignoring case, unless ``normalize`` is given: then
    the normalized value matches exactly, which an index can serve (No. fields are stored
    upper case: ``normalize=str.upper``).
    """

    name: str
    label: str | None = None
    lookup: str | None = None
    normalize: Callable[[str], str] | None = None

    def lookup_path(self) -> str:
        return self.lookup or self.name


@dataclass(frozen=True)
class Lookup:
    """How a record of a list is picked by typing (BC's lookup on a No. field).

    ``key`` is the field typed (matched by prefix, ignoring case); ``contains`` are fields
    matched anywhere (name, description). At most ``limit`` matches come back.
    """

    key: str = "no"
    contains: Sequence[str] = ()
    limit: int = 20


# -- Actions --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Action:
    """An action in the action bar.

    Either ``url`` (navigation: a string, or ``url(obj, request)``) or ``handler`` (a change,
    always POST). The handler is called as ``handler(request, target, **inputs)`` where target
    is the record (scope "record"), a queryset of the selected rows (scope "list") or None
    (scope "page"), and ``inputs`` are the cleaned data of ``form`` when the action has one.
    It returns None or a message (shown as success, then back to the page) or an HttpResponse
    (e.g. a redirect to the posted invoice), and raises ValidationError to refuse.

    ``enabled(obj, request)`` only greys the button out: the handler, through its service,
    is the check. ``visible(obj, request)`` hides the action and its endpoint (404).
    ``confirm`` asks first (a page that works without JavaScript).
    """

    key: str
    label: str
    url: str | Callable[[Any, HttpRequest], str] | None = None
    handler: Callable[..., Any] | None = None
    enabled: Callable[[Any, HttpRequest], bool] | None = None
    visible: Callable[[Any, HttpRequest], bool] | None = None
    confirm: str | None = None
    scope: Scope = "record"
    form: type[forms.Form] | Callable[[HttpRequest, Any], type[forms.Form]] | None = None
    initial: Callable[[Any], dict] | None = None
    primary: bool = False
    # The step's button, when "Yes" / "OK" does not say it (Power Automate's "Continue").
    submit_label: str | None = None

    def __post_init__(self) -> None:
        if (self.url is None) == (self.handler is None):
            raise ValueError(f"Action {self.key!r} needs either a url or a handler")

    def is_visible(self, obj: Any, request: HttpRequest) -> bool:
        return self.visible is None or bool(self.visible(obj, request))

    def is_enabled(self, obj: Any, request: HttpRequest) -> bool:
        return self.enabled is None or bool(self.enabled(obj, request))

    def resolve_url(self, obj: Any, request: HttpRequest) -> str:
        return self.url(obj, request) if callable(self.url) else str(self.url)

    def form_class(self, request: HttpRequest, obj: Any) -> type[forms.Form] | None:
        from django import forms as django_forms

        if self.form is None:
            return None
        if isinstance(self.form, type) and issubclass(self.form, django_forms.BaseForm):
            return self.form
        return self.form(request, obj)

    @property
    def has_step(self) -> bool:
        """Whether the action asks something (confirmation or inputs) before it runs."""
        return bool(self.confirm or self.form)


@dataclass(frozen=True)
class FlowAction:
    """A custom action declared in Python that Power Automate fulfils (AL's ``customaction``).

    Exactly one of: ``flow``, the ``key`` of a flow of the user's company, which the action
    runs on the record (Run Flow pane first when the flow asks for inputs); ``template``,
    the key of a gallery template, which the action opens to create a flow from it;
    ``gallery_category``, which opens the templates gallery filtered to that category and
    to the page's table. Place it like any custom action:
    ``registry.register_custom_action(page_key, group_key, FlowAction(...))``.

    ``scope`` is an ``Action``'s: a flow runs on the record shown ("record") or on the rows
    selected in a list ("list"); links may also be "page" (every list and card). bcsite
    only holds the declaration: the resolver registered with
    ``registry.register_flow_action_resolver`` turns it into an ``Action`` for each request
    (none while Power Automate is off for the user), and without a resolver it is dropped.
    """

    key: str
    label: str
    flow: str | None = None
    template: str | None = None
    gallery_category: str | None = None
    scope: Scope = "record"

    def __post_init__(self) -> None:
        targets = [t for t in (self.flow, self.template, self.gallery_category) if t]
        if len(targets) != 1:
            raise ValueError(
                f"FlowAction {self.key!r} needs exactly one of flow=, template= or "
                "gallery_category="
            )
        if self.scope not in ("record", "list", "page"):
            raise ValueError(f"FlowAction {self.key!r}: unknown scope {self.scope!r}")
        if self.flow and self.scope == "page":
            raise ValueError(
                f"FlowAction {self.key!r}: a flow runs on records, so its scope is "
                '"record" or "list", not "page"'
            )
        if not self.key or not self.label:
            raise ValueError("A FlowAction needs a key and a label")


@dataclass(frozen=True)
class ActionGroup:
    """A dropdown of actions in the action bar (Process, Navigate, Related, Automate...)."""

    key: str
    label: str
    actions: Sequence[Action] = ()


# -- FactBoxes ------------------------------------------------------------------------------


@dataclass(frozen=True)
class FactRow:
    label: str
    value: Any
    url: str | None = None
    numeric: bool | None = None


@dataclass(frozen=True)
class FactBox:
    """A box in the FactBox pane about the current record.

    Either ``rows(request, obj) -> list[FactRow]``, or a ``template`` rendered with
    ``context(request, obj)`` (plus ``obj`` and ``request``).
    """

    key: str
    title: str
    rows: Callable[[HttpRequest, Any], Sequence[FactRow]] | None = None
    template: str | None = None
    context: Callable[[HttpRequest, Any], dict] | None = None
    visible: Callable[[Any, HttpRequest], bool] | None = None

    def is_visible(self, obj: Any, request: HttpRequest) -> bool:
        return self.visible is None or bool(self.visible(obj, request))


# -- Pages ----------------------------------------------------------------------------------


@dataclass(kw_only=True, eq=False)
class Page:
    """What every page has. ``slug`` is its URL segment: a list and its card share one."""

    kind: ClassVar[str] = ""

    key: str
    title: str
    model: type[models.Model]
    slug: str
    nav_group: str | None = None
    nav_order: int = 100
    actions: Sequence[Action] = ()
    action_groups: Sequence[ActionGroup] = ()
    factboxes: Sequence[FactBox] = ()
    select_related: Sequence[str] = ()
    # queryset(request): the rows this page may show; default: the request's company's rows.
    queryset_for: Callable[[HttpRequest], models.QuerySet] | None = None
    # permission(request): who may open the page at all (e.g. administrators only).
    permission: Callable[[HttpRequest], bool] | None = None

    def queryset(self, request: HttpRequest) -> models.QuerySet:
        if self.queryset_for is not None:
            qs = self.queryset_for(request)
        else:
            qs = self.model._default_manager.filter(company=request.company)
        if self.select_related:
            qs = qs.select_related(*self.select_related)
        return qs

    def allows(self, request: HttpRequest) -> bool:
        return self.permission is None or bool(self.permission(request))

    def url(self, name: str, /, *args: Any, **params: Any) -> str:
        url = reverse(f"page-{name}", args=[self.slug, *args])
        query = {k: v for k, v in params.items() if v is not None and v != ""}
        return f"{url}?{urlencode(query)}" if query else url

    # Helpers that every page answers, whatever its kind, so callers never build URLs.
    def list_url(self, **params: Any) -> str:
        return self.url("list", **params)

    def new_url(self, **params: Any) -> str:
        return self.url("new", **params)

    def card_url(self, obj: Any) -> str:
        return self.url("card", _pk(obj))

    def get_absolute_url(self) -> str:
        return self.list_url() if self.kind == "list" else self.new_url()


@dataclass(kw_only=True, eq=False)
class ListPage(Page):
    """A list: columns, search, filters, sort, keyset paging, bulk actions.

    ``card_page`` is the key of the card page its rows open (None: rows open nothing).
    ``default_sort`` is a column sort path, "-" for descending. ``lookup`` lets No. inputs
    of other pages look this list's rows up as people type.
    """

    kind: ClassVar[str] = "list"

    columns: Sequence[Column]
    search_fields: Sequence[str] = ()
    filters: Sequence[Filter] = ()
    default_sort: str = "pk"
    card_page: str | None = None
    bulk_delete: bool = False
    page_size: int | None = None
    lookup: Lookup | None = None


@dataclass(kw_only=True, eq=False)
class CardPage(Page):
    """A card: FastTabs of fields, view and edit modes, New and Delete.

    The write callables adapt the page to the services; they raise ValidationError:
    ``create(request, data) -> obj``, ``update(request, obj, data)``, ``delete(request, obj)``.
    ``readonly_reason(obj)`` says why a record cannot be changed now (None: it can).
    """

    kind: ClassVar[str] = "card"

    fasttabs: Sequence[FastTab]
    list_page: str | None = None
    entity: str = ""
    create: Callable[[HttpRequest, dict], Any] | None = None
    update: Callable[[HttpRequest, Any, dict], Any] | None = None
    delete: Callable[[HttpRequest, Any], Any] | None = None
    record_title: Callable[[Any], str] = str
    readonly_reason: Callable[[Any], str | None] | None = None

    def edit_url(self, obj: Any) -> str:
        return self.url("edit", _pk(obj))

    def delete_url(self, obj: Any) -> str:
        return self.url("delete", _pk(obj))

    def reason_readonly(self, obj: Any) -> str | None:
        return self.readonly_reason(obj) if self.readonly_reason else None

    def form_fields(self, *, creating: bool) -> list[Field]:
        return [
            f
            for tab in self.fasttabs
            for f in tab.fields
            if f.is_editable(self.model, creating=creating)
        ]


@dataclass(frozen=True)
class Total:
    """A total under a document's lines: a label and a header attribute."""

    label: str
    attribute: str


@dataclass(kw_only=True, eq=False)
class LinesPart:
    """The lines of a document (BC's ListPart on a document page), edited inline.

    ``add(request, header, data) -> line``, ``update(request, line, data)``,
    ``delete(request, line)`` adapt to the services. ``refresh`` names header fields that
    change with the lines (amounts), so an inline edit refreshes them too.
    """

    model: type[models.Model]
    relation: str
    columns: Sequence[Field]
    title: str = "Lines"
    select_related: Sequence[str] = ()
    add: Callable[[HttpRequest, Any, dict], Any] | None = None
    update: Callable[[HttpRequest, Any, dict], Any] | None = None
    delete: Callable[[HttpRequest, Any], Any] | None = None
    refresh: Sequence[str] = ()

    def queryset(self, header: models.Model) -> models.QuerySet:
        qs = getattr(header, self.relation).all()
        return qs.select_related(*self.select_related) if self.select_related else qs

    @property
    def editable(self) -> bool:
        return self.add is not None or self.update is not None

    def form_fields(self, *, creating: bool) -> list[Field]:
        return [f for f in self.columns if f.is_editable(self.model, creating=creating)]


@dataclass(kw_only=True, eq=False)
class DocumentPage(CardPage):
    """A document: header FastTabs, a lines part, totals under the lines."""

    kind: ClassVar[str] = "document"

    lines: LinesPart | None = None
    totals: Sequence[Total] = ()


# -- Helpers --------------------------------------------------------------------------------


def _pk(obj: Any) -> Any:
    return obj.pk if isinstance(obj, models.Model) else obj


def resolve_model_field(model: type[models.Model], path: str) -> models.Field | None:
    """The model field at the end of ``path`` (``customer__no``), or None."""
    if path == "pk":
        return model._meta.pk
    current = model
    model_field = None
    for part in path.split("__"):
        if current is None:
            return None
        try:
            model_field = current._meta.get_field(part)
        except FieldDoesNotExist:
            return None
        current = model_field.related_model
    return model_field


def field_label(model_field: models.Field) -> str:
    """A field's caption as BC writes it: "Posting Date" for a field named posting_date."""
    verbose = str(model_field.verbose_name)
    if verbose == model_field.name.replace("_", " "):
        return verbose.title()
    return capfirst(verbose)


def attribute_path(obj: Any, path: str) -> Any:
    for part in path.split("__"):
        if obj is None:
            return None
        obj = getattr(obj, part)
    return obj
