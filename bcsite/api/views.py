"""BC's API v2.0 over the registered tables: ``/api/v2.0/companies({id})/{entitySet}``.

Every table with an entity set gets a collection (GET with OData options, POST), an
entity (GET, PATCH and DELETE with If-Match) and its bound actions (``Microsoft.NAV.*``,
from ``Table.actions``); a table without operations is read-only. Writes go through the
table's operations, which call the same services as the pages, so the API refuses what a
page refuses, with the same message.
"""

from __future__ import annotations

from typing import Any

from django.db import models, transaction
from django.http import JsonResponse
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response

from bcsite.api import schema
from bcsite.api.errors import ApiError
from bcsite.api.resources import (
    ApiView,
    CollectionSpec,
    Navigation,
    api_company,
    api_root,
    check_if_match,
    collection_response,
    entity_json,
    entity_response,
    has_unstorable,
    reachable_companies,
    record_key,
)
from bcsite.events import acting_as
from bcsite.registry import Table, TableField, registry
from records.models import Company

# Collections reached through an entity, and what $expand may name on it.
NAVIGATIONS: dict[int, dict[str, Navigation]] = {
    36: {
        "salesOrderLines": Navigation(
            name="salesOrderLines",
            table_id=37,
            related_name="lines",
            parent_attribute="order",
            parent_field="documentId",
            order=("line_no",),
        )
    }
}
# BC's bound action names that differ from the table's action names.
ACTION_ALIASES = {36: {"shipAndInvoice": "post"}}
# Rows come in the order of their number, else as here, else as created.
DEFAULT_ORDER = {37: ["order__no", "line_no"]}


def api_tables() -> list[Table]:
    return [t for t in registry.tables.values() if t.entity_set]


def default_order(table: Table) -> list[str]:
    if table.id in DEFAULT_ORDER:
        return DEFAULT_ORDER[table.id]
    return [table.number_field] if table.number_field and table.number_field != "pk" else []


def actions_of(table: Table) -> dict[str, str]:
    """Bound action names (as in the URL) and the table action each runs."""
    names = {name: name for name in table.actions}
    for alias, target in ACTION_ALIASES.get(table.id, {}).items():
        if target in table.actions:
            names[alias] = target
    return names


def _context(request: Request, company: Company, path: str) -> str:
    return f"{api_root(request)}/v2.0/$metadata#companies({company.system_id})/{path}"


def _entity_url(request: Request, company: Company, table: Table, obj: models.Model) -> str:
    return (
        f"{api_root(request)}/v2.0/companies({company.system_id})/"
        f"{table.entity_set}({_record_id(table, obj)})"
    )


def _record_id(table: Table, obj: models.Model) -> Any:
    return obj.pk if table.id_field == "pk" else getattr(obj, table.id_field)


def _record(table: Table, company: Company, key: str) -> models.Model:
    try:
        obj = None if has_unstorable(key) else table.get(company, record_key(key))
    except (ValueError, OverflowError):
        # A key that no column can hold (digits of other scripts in a number column).
        obj = None
    if obj is None:
        raise ApiError(
            404,
            "BadRequest_NotFound",
            f"The {table.entity} {key} does not exist in this company.",
        )
    return obj


def _lock(table: Table, obj: models.Model) -> None:
    """Hold the record while its ETag is compared and it is changed, so a change made in
    between is not overwritten. A line is held through its document, which is what the
    services lock first too (one lock order)."""
    parent = table.company_field.rpartition("__")[0]
    target = obj
    for part in parent.split("__") if parent else ():
        target = getattr(target, part)
    rows = type(target)._default_manager.select_for_update(no_key=True).filter(pk=target.pk)
    list(rows.values_list("pk", flat=True))


def _reload(table: Table, company: Company, obj: models.Model) -> models.Model:
    return table.queryset(company).get(pk=obj.pk)


# -- Companies ------------------------------------------------------------------------------

COMPANIES = Table(
    id=2000000006,
    name="Company",
    model=Company,
    entity="company",
    entity_set="companies",
    fields=(
        TableField("id", "system_id", "Id", "uuid"),
        TableField("name", "name", "Name"),
        TableField("displayName", "display_name", "Display Name"),
        TableField("systemCreatedAt", "created_at", "Created At", "datetime"),
        TableField("systemModifiedAt", "last_modified", "Modified At", "datetime"),
    ),
    id_field="system_id",
    company_field="pk",
)
_NO_USER = "00000000-0000-0000-0000-000000000000"


def _company_extra(company: Company) -> dict[str, Any]:
    version = int(company.last_modified.timestamp() * 1_000_000)
    return {
        "systemVersion": str(version),
        "timestamp": version,
        "businessProfileId": "",
        "systemCreatedBy": _NO_USER,
        "systemModifiedBy": _NO_USER,
    }


_COMPANY_REF = schema.entity_schema(
    COMPANIES,
    extra={
        "systemVersion": {"type": "string"},
        "timestamp": {"type": "integer"},
        "businessProfileId": {"type": "string"},
        "systemCreatedBy": {"type": "string", "format": "uuid"},
        "systemModifiedBy": {"type": "string", "format": "uuid"},
    },
)


class CompanyListView(ApiView):
    """``/api/v2.0/companies``: the companies the caller may work in."""

    def openapi_operation(self, method):
        return schema.Operation(
            operation_id="listCompanies",
            summary="List the companies you can reach",
            tags=["companies"],
            responses=schema.responses(200, schema.collection(_COMPANY_REF)),
            parameters=schema.COLLECTION_PARAMETERS,
        )

    def get(self, request: Request) -> Response:
        spec = CollectionSpec(
            table=COMPANIES,
            context=f"{api_root(request)}/v2.0/$metadata#companies",
            default_order=["name"],
            salt="companies",
            extra=_company_extra,
        )
        return collection_response(request, reachable_companies(request), spec)


class CompanyView(ApiView):
    """``/api/v2.0/companies({id})``."""

    def openapi_operation(self, method):
        return schema.Operation(
            operation_id="getCompany",
            summary="Get a company",
            tags=["companies"],
            responses=schema.responses(200, schema.single(_COMPANY_REF)),
            parameters=[schema.COMPANY_ID, *schema.ENTITY_PARAMETERS],
        )

    def get(self, request: Request, company_id: str) -> Response:
        company = api_company(request, company_id)
        return entity_response(
            request,
            COMPANIES,
            company,
            context=f"{api_root(request)}/v2.0/$metadata#companies/$entity",
            extra=_company_extra,
        )


# -- Entities -------------------------------------------------------------------------------


class EntityViewBase(ApiView):
    table: Table

    @property
    def navigations(self) -> dict[str, Navigation]:
        return NAVIGATIONS.get(self.table.id, {})

    def collection_spec(self, request: Request, company: Company, path: str) -> CollectionSpec:
        return CollectionSpec(
            table=self.table,
            context=_context(request, company, path),
            default_order=default_order(self.table),
            salt=f"{self.table.id}:{company.pk}",
            navigations=self.navigations,
        )

    def created(self, request: Request, company: Company, obj: models.Model) -> Response:
        obj = _reload(self.table, company, obj)
        return entity_response(
            request,
            self.table,
            obj,
            context=_context(request, company, f"{self.table.entity_set}/$entity"),
            navigations=self.navigations,
            http_status=status.HTTP_201_CREATED,
            headers={"Location": _entity_url(request, company, self.table, obj)},
        )

    def _refuse_read_only(self, verb: str) -> None:
        raise ApiError(
            405,
            "BadRequest_MethodNotAllowed",
            f"{self.table.entity_set} is read-only: records cannot be {verb} through the API.",
        )


class EntityCollectionView(EntityViewBase):
    def get(self, request: Request, company_id: str) -> Response:
        company = api_company(request, company_id)
        spec = self.collection_spec(request, company, self.table.entity_set)
        return collection_response(request, self.table.queryset(company), spec)

    def post(self, request: Request, company_id: str) -> Response:
        company = api_company(request, company_id)
        if self.table.create is None:
            self._refuse_read_only("created")
        fields = self.body_object(request)
        with acting_as(request.user, origin="api"), transaction.atomic():
            obj = self.table.create(company, request.user, fields)
        return self.created(request, company, obj)


class EntityView(EntityViewBase):
    def get(self, request: Request, company_id: str, record_id: str) -> Response:
        company = api_company(request, company_id)
        obj = _record(self.table, company, record_id)
        return entity_response(
            request,
            self.table,
            obj,
            context=_context(request, company, f"{self.table.entity_set}/$entity"),
            navigations=self.navigations,
        )

    def patch(self, request: Request, company_id: str, record_id: str) -> Response:
        company = api_company(request, company_id)
        if self.table.update is None:
            self._refuse_read_only("changed")
        obj = _record(self.table, company, record_id)
        fields = self.body_object(request)
        with acting_as(request.user, origin="api"), transaction.atomic():
            _lock(self.table, obj)
            obj = _reload(self.table, company, obj)
            check_if_match(request, entity_json(self.table, obj)["@odata.etag"])
            self.table.update(obj, request.user, fields)
        return entity_response(
            request,
            self.table,
            _reload(self.table, company, obj),
            context=_context(request, company, f"{self.table.entity_set}/$entity"),
            navigations=self.navigations,
        )

    def delete(self, request: Request, company_id: str, record_id: str) -> Response:
        company = api_company(request, company_id)
        if self.table.delete is None:
            self._refuse_read_only("deleted")
        obj = _record(self.table, company, record_id)
        with acting_as(request.user, origin="api"), transaction.atomic():
            _lock(self.table, obj)
            obj = _reload(self.table, company, obj)
            check_if_match(request, entity_json(self.table, obj)["@odata.etag"])
            self.table.delete(obj, request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class NavigationView(EntityViewBase):
    """``salesOrders({id})/salesOrderLines``: the parent's children; POST adds one."""

    navigation: Navigation

    def _parent(self, request: Request, company_id: str, record_id: str):
        company = api_company(request, company_id)
        return company, _record(self.table, company, record_id)

    def get(self, request: Request, company_id: str, record_id: str) -> Response:
        company, parent = self._parent(request, company_id, record_id)
        child = self.navigation.table
        rows = child.queryset(company).filter(**{self.navigation.parent_attribute: parent})
        path = f"{self.table.entity_set}({_record_id(self.table, parent)})/{self.navigation.name}"
        spec = CollectionSpec(
            table=child,
            context=_context(request, company, path),
            default_order=list(self.navigation.order),
            salt=f"{child.id}:{company.pk}:{parent.pk}",
        )
        return collection_response(request, rows, spec)

    def post(self, request: Request, company_id: str, record_id: str) -> Response:
        company, parent = self._parent(request, company_id, record_id)
        child = self.navigation.table
        if child.create is None:
            self._refuse_read_only("created")
        fields = dict(self.body_object(request))
        parent_id = str(_record_id(self.table, parent))
        given = fields.get(self.navigation.parent_field)
        if given not in (None, "") and str(given).strip().lower() != parent_id.lower():
            raise ApiError(
                400,
                "BadRequest",
                f"{self.navigation.parent_field} must be the id in the URL ({parent_id}) "
                "or left out.",
            )
        fields[self.navigation.parent_field] = parent_id
        with acting_as(request.user, origin="api"), transaction.atomic():
            obj = child.create(company, request.user, fields)
        obj = _reload(child, company, obj)
        return entity_response(
            request,
            child,
            obj,
            context=_context(request, company, f"{child.entity_set}/$entity"),
            http_status=status.HTTP_201_CREATED,
            headers={"Location": _entity_url(request, company, child, obj)},
        )


class ActionView(EntityViewBase):
    """``{entitySet}({id})/Microsoft.NAV.{action}``: a bound action; 204 when done."""

    action: str

    def post(self, request: Request, company_id: str, record_id: str) -> Response:
        company = api_company(request, company_id)
        obj = _record(self.table, company, record_id)
        operation = self.table.actions[self.action]
        with acting_as(request.user, origin="api"), transaction.atomic():
            operation(obj, request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


# -- Views and their schema, per table --------------------------------------------------


def _tag(table: Table) -> list[str]:
    return [table.entity_set]


def _entity_refs(table: Table) -> tuple[dict, dict | None]:
    expand = {
        name: schema.entity_schema(nav.table) for name, nav in NAVIGATIONS.get(table.id, {}).items()
    }
    entity = schema.entity_schema(table, expand=expand)
    writable = table.create is not None or table.update is not None
    return entity, schema.entity_input_schema(table) if writable else None


def _collection_parameters(table: Table) -> list:
    parameters = [schema.COMPANY_ID, *schema.COLLECTION_PARAMETERS]
    navigations = tuple(NAVIGATIONS.get(table.id, {}))
    if navigations:
        parameters.append(schema.expand_parameter(navigations))
    return parameters


def _entity_parameters(table: Table) -> list:
    parameters = [schema.COMPANY_ID, schema.RECORD_ID, *schema.ENTITY_PARAMETERS]
    navigations = tuple(NAVIGATIONS.get(table.id, {}))
    if navigations:
        parameters.append(schema.expand_parameter(navigations))
    return parameters


def collection_view(table: Table) -> type[EntityCollectionView]:
    entity, entity_input = _entity_refs(table)
    name = table.entity_set

    def openapi_operation(self, method):
        if method == "POST":
            return schema.Operation(
                operation_id=f"create_{table.entity}",
                summary=f"Create a {table.entity}",
                tags=_tag(table),
                request=entity_input,
                responses=schema.responses(201, schema.single(entity)),
                parameters=[schema.COMPANY_ID],
            )
        return schema.Operation(
            operation_id=f"list_{name}",
            summary=f"List {name}",
            tags=_tag(table),
            responses=schema.responses(200, schema.collection(entity)),
            parameters=_collection_parameters(table),
        )

    methods = ["get", "post", "options"] if table.create else ["get", "options"]
    return type(
        f"{table.entity}CollectionView",
        (EntityCollectionView,),
        {"table": table, "openapi_operation": openapi_operation, "http_method_names": methods},
    )


def entity_view(table: Table) -> type[EntityView]:
    entity, entity_input = _entity_refs(table)

    def openapi_operation(self, method):
        if method == "PATCH":
            return schema.Operation(
                operation_id=f"update_{table.entity}",
                summary=f"Change a {table.entity}",
                tags=_tag(table),
                request=entity_input,
                responses=schema.responses(200, schema.single(entity)),
                parameters=[schema.COMPANY_ID, schema.RECORD_ID, schema.IF_MATCH],
            )
        if method == "DELETE":
            return schema.Operation(
                operation_id=f"delete_{table.entity}",
                summary=f"Delete a {table.entity}",
                tags=_tag(table),
                responses=schema.responses(204, None),
                parameters=[schema.COMPANY_ID, schema.RECORD_ID, schema.IF_MATCH],
            )
        return schema.Operation(
            operation_id=f"get_{table.entity}",
            summary=f"Get a {table.entity}",
            tags=_tag(table),
            responses=schema.responses(200, schema.single(entity)),
            parameters=_entity_parameters(table),
        )

    methods = ["get", "options"]
    methods += ["patch"] if table.update else []
    methods += ["delete"] if table.delete else []
    return type(
        f"{table.entity}View",
        (EntityView,),
        {"table": table, "openapi_operation": openapi_operation, "http_method_names": methods},
    )


def navigation_view(table: Table, navigation: Navigation) -> type[NavigationView]:
    child = navigation.table
    child_entity, child_input = _entity_refs(child)

    def openapi_operation(self, method):
        if method == "POST":
            return schema.Operation(
                operation_id=f"create_{table.entity}_{navigation.name}",
                summary=f"Add to the {navigation.name} of a {table.entity}",
                tags=_tag(table),
                request=child_input,
                responses=schema.responses(201, schema.single(child_entity)),
                parameters=[schema.COMPANY_ID, schema.RECORD_ID],
            )
        return schema.Operation(
            operation_id=f"list_{table.entity}_{navigation.name}",
            summary=f"List the {navigation.name} of a {table.entity}",
            tags=_tag(table),
            responses=schema.responses(200, schema.collection(child_entity)),
            parameters=[schema.COMPANY_ID, schema.RECORD_ID, *schema.COLLECTION_PARAMETERS],
        )

    methods = ["get", "post", "options"] if child.create else ["get", "options"]
    return type(
        f"{table.entity}{navigation.name}View",
        (NavigationView,),
        {
            "table": table,
            "navigation": navigation,
            "openapi_operation": openapi_operation,
            "http_method_names": methods,
        },
    )


def action_view(table: Table, name: str, action: str) -> type[ActionView]:
    def openapi_operation(self, method):
        return schema.Operation(
            operation_id=f"{table.entity}_{name}",
            summary=f"{name} ({table.entity})",
            description=f"Runs {action} on the {table.entity}, as the page's action does.",
            tags=_tag(table),
            responses=schema.responses(204, None),
            parameters=[schema.COMPANY_ID, schema.RECORD_ID],
        )

    return type(
        f"{table.entity}{name}ActionView",
        (ActionView,),
        {
            "table": table,
            "action": action,
            "openapi_operation": openapi_operation,
            "http_method_names": ["post", "options"],
        },
    )


# -- What no route matched ----------------------------------------------------------------


def not_found(request, path: str = "") -> JsonResponse:
    """Any other address under /api/: BC's error, not an HTML page."""
    segment = path.rstrip("/").rsplit("/", 1)[-1] or path
    return JsonResponse(
        {
            "error": {
                "code": "BadRequest_ResourceNotFound",
                "message": f"Resource not found for the segment '{segment}'.",
            }
        },
        status=404,
    )
