"""The OpenAPI description of the connector API, built from the tables' declared fields.

Views over the registry do not have serializers: each declares its operations with
``openapi_operation(method)`` (request and response bodies as JSON Schema, parameters),
and ``BCAutoSchema`` hands that to drf-spectacular. Entity schemas come from
``Table.fields``, so a field added to a table shows up in the schema by itself.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.generators import EndpointEnumerator, SchemaGenerator
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.plumbing import ResolvedComponent
from drf_spectacular.utils import OpenApiParameter

from bcsite.registry import Table

# JSON Schema of each kind of table field, as the API writes it.
_FIELD_SCHEMAS: dict[str, dict[str, Any]] = {
    "text": {"type": "string"},
    "integer": {"type": "integer"},
    "number": {"type": "number"},
    "boolean": {"type": "boolean"},
    "date": {"type": "string", "format": "date"},
    "datetime": {"type": "string", "format": "date-time"},
    "uuid": {"type": "string", "format": "uuid"},
    "option": {"type": "string"},
}

ERROR = "error"
# The components every operation may refer to, by name; filled as views are declared.
_COMPONENTS: dict[str, dict[str, Any]] = {
    ERROR: {
        "type": "object",
        "description": "Business Central's error shape.",
        "properties": {
            "error": {
                "type": "object",
                "properties": {
                    "code": {"type": "string", "example": "BadRequest_NotFound"},
                    "message": {"type": "string"},
                },
                "required": ["code", "message"],
            }
        },
        "required": ["error"],
    }
}


def ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def component(name: str, schema: dict[str, Any]) -> dict[str, str]:
    """Declare a schema component; returns a reference to it."""
    _COMPONENTS[name] = schema
    return ref(name)


def field_schema(table: Table, table_field) -> dict[str, Any]:
    schema = dict(_FIELD_SCHEMAS[table_field.type])
    if table_field.type == "option":
        model_field = table.model_field(table_field)
        if model_field is not None and model_field.choices:
            schema["enum"] = [str(caption) for _, caption in model_field.flatchoices]
    schema["nullable"] = True
    schema["description"] = table_field.label
    return schema


def entity_schema(
    table: Table, *, extra: dict[str, Any] | None = None, expand: dict[str, Any] | None = None
) -> dict[str, str]:
    """The component of one entity as the API returns it (a reference)."""
    properties: dict[str, Any] = {"@odata.etag": {"type": "string"}}
    properties |= {f.api_name: field_schema(table, f) for f in table.fields}
    properties |= extra or {}
    for name, child in (expand or {}).items():
        properties[name] = {"type": "array", "items": child}
    return component(table.entity, {"type": "object", "properties": properties})


def entity_input_schema(table: Table) -> dict[str, str]:
    """The component of a POST or PATCH body: the writable fields, nothing else."""
    properties = {}
    for table_field in table.fields:
        if not table_field.writable:
            continue
        schema = field_schema(table, table_field)
        if table_field.type == "option":
            # Captions and stored values are both accepted.
            schema.pop("enum", None)
        properties[table_field.api_name] = schema
    return component(
        f"{table.entity}Input",
        {"type": "object", "properties": properties, "additionalProperties": False},
    )


def single(entity_ref: dict[str, str]) -> dict[str, Any]:
    return {"allOf": [entity_ref, {"type": "object", "properties": _CONTEXT}]}


def collection(entity_ref: dict[str, str]) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {
            **_CONTEXT,
            "@odata.count": {"type": "integer"},
            "@odata.nextLink": {"type": "string", "format": "uri"},
            "value": {"type": "array", "items": entity_ref},
        },
        "required": ["value"],
    }


_CONTEXT = {"@odata.context": {"type": "string"}}


# -- Parameters ---------------------------------------------------------------------------


def path_parameter(name: str, description: str) -> OpenApiParameter:
    return OpenApiParameter(name, str, OpenApiParameter.PATH, description=description)


COMPANY_ID = path_parameter("company_id", "The company's id (a GUID), from /api/v2.0/companies.")
RECORD_ID = path_parameter("record_id", "The record's id (a GUID).")


def query_parameter(name: str, kind: Any, description: str) -> OpenApiParameter:
    return OpenApiParameter(name, kind, OpenApiParameter.QUERY, description=description)


COLLECTION_PARAMETERS = [
    query_parameter(
        "$filter",
        str,
        "Rows to return, e.g. city eq 'Atlanta' and balanceDue gt 0. Operators: eq, ne, gt, "
        "ge, lt, le, and, or, not; functions contains, startswith, endswith.",
    ),
    query_parameter("$select", str, "Fields to return, comma separated."),
    query_parameter("$orderby", str, "Fields to order by, each optionally asc or desc."),
    query_parameter("$top", int, "At most this many rows."),
    query_parameter("$skip", int, "Skip this many rows first."),
    query_parameter("$count", str, "true to include @odata.count."),
    query_parameter("$skiptoken", str, "Where the next page starts (from @odata.nextLink)."),
]
ENTITY_PARAMETERS = [query_parameter("$select", str, "Fields to return, comma separated.")]


def expand_parameter(navigations: tuple[str, ...]) -> OpenApiParameter:
    names = ", ".join(navigations)
    return query_parameter("$expand", str, f"Related entities to include: {names}.")


IF_MATCH = OpenApiParameter(
    "If-Match",
    str,
    OpenApiParameter.HEADER,
    required=True,
    description="The @odata.etag of the record as read, or * to change it whatever its state.",
)


# -- Operations ---------------------------------------------------------------------------

ERROR_STATUSES = (400, 401, 403, 404, 405, 406, 409, 412, 415, 428, 429)


@dataclass
class Operation:
    """What one method of one view does, as the schema shows it."""

    operation_id: str
    summary: str
    tags: list[str]
    responses: dict[int, Any]
    request: dict[str, Any] | None = None
    parameters: list[OpenApiParameter] = field(default_factory=list)
    description: str = ""


def responses(status: int, body: dict[str, Any] | None) -> dict[int, Any]:
    """The success response and every error, in BC's error shape."""
    answers: dict[int, Any] = {status: body}
    answers |= {code: ref(ERROR) for code in ERROR_STATUSES}
    return answers


class BCAutoSchema(AutoSchema):
    """drf-spectacular's AutoSchema reading the view's ``openapi_operation(method)``."""

    def _operation(self) -> Operation | None:
        getter = getattr(self.view, "openapi_operation", None)
        return getter(self.method) if getter else None

    def get_operation(self, path, path_regex, path_prefix, method, registry):
        for name, schema in _COMPONENTS.items():
            # A copy: drf-spectacular's enum hook rewrites the schemas it is given in place,
            # and the next generation must start from the declarations again.
            component = ResolvedComponent(
                name, ResolvedComponent.SCHEMA, schema=copy.deepcopy(schema), object=name
            )
            registry.register_on_missing(component)
        return super().get_operation(path, path_regex, path_prefix, method, registry)

    def get_operation_id(self) -> str:
        operation = self._operation()
        return operation.operation_id if operation else super().get_operation_id()

    def get_summary(self):
        operation = self._operation()
        return operation.summary if operation else super().get_summary()

    def get_description(self):
        operation = self._operation()
        return operation.description if operation else super().get_description()

    def get_tags(self) -> list[str]:
        operation = self._operation()
        return operation.tags if operation else super().get_tags()

    def get_request_serializer(self):
        operation = self._operation()
        if operation is None:
            return super().get_request_serializer()
        # A dict is read as {media type: body}.
        return {"application/json": operation.request} if operation.request else None

    def get_response_serializers(self):
        operation = self._operation()
        return operation.responses if operation else super().get_response_serializers()

    def get_override_parameters(self):
        operation = self._operation()
        return operation.parameters if operation else super().get_override_parameters()


# -- Paths ----------------------------------------------------------------------------------


def openapi_path(path_regex: str) -> str:
    """The OpenAPI path of a URL pattern (routes and regexes, as included): parameters as
    ``{name}``, BC's parentheses kept. DRF's conversion reads ``(`` as a regex group."""
    out: list[str] = []
    i = 0
    while i < len(path_regex):
        if path_regex.startswith("(?P<", i):
            name = path_regex[i + 4 : path_regex.index(">", i)]
            out.append("{" + name + "}")
            i = _group_end(path_regex, i) + 1
        elif path_regex[i] == "<":
            end = path_regex.index(">", i)
            out.append("{" + path_regex[i + 1 : end].rpartition(":")[2] + "}")
            i = end + 1
        elif path_regex.startswith("\\Z", i):
            i += 2
        elif path_regex[i] == "\\" and i + 1 < len(path_regex):
            out.append(path_regex[i + 1])
            i += 2
        elif path_regex[i] in "^$":
            i += 1
        else:
            out.append(path_regex[i])
            i += 1
    return "/" + "".join(out).lstrip("/")


def _group_end(text: str, start: int) -> int:
    """The index of the parenthesis that closes the group opened at ``start``."""
    depth, i = 0, start
    while i < len(text):
        char = text[i]
        if char == "\\":
            i += 2
            continue
        if char == "[":
            i += 1
            while i < len(text) and text[i] != "]":
                i += 2 if text[i] == "\\" else 1
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
            if depth == 0:
                return i
        i += 1
    return len(text) - 1


class BCEndpointEnumerator(EndpointEnumerator):
    def get_path_from_regex(self, path_regex):
        return openapi_path(path_regex)


class BCSchemaGenerator(SchemaGenerator):
    """Schema generation that keeps OData's ``companies({company_id})`` paths as written."""

    endpoint_inspector_cls = BCEndpointEnumerator


# -- Authentication in the schema ---------------------------------------------------------


class ApiTokenScheme(OpenApiAuthenticationExtension):
    target_class = "bcsite.api.auth.ApiTokenAuthentication"
    name = "apiToken"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "A personal API token (bcs_...), created on the API Tokens page "
            "(/settings/api-tokens/). It acts as its user, in its company only.",
        }


class ServiceClientScheme(OpenApiAuthenticationExtension):
    target_class = "bcsite.api.auth.ServiceClientAuthentication"
    name = "serviceClient"
    priority = 1

    def get_security_definition(self, auto_schema):
        return {
            "type": "oauth2",
            "description": "OAuth2 client credentials of a service client, scoped to one "
            "company and a role.",
            "flows": {
                "clientCredentials": {"tokenUrl": "/api/oauth2/token/", "scopes": {"api": "API"}}
            },
        }

    def get_security_requirement(self, auto_schema):
        return {self.name: ["api"]}
