"""What every endpoint of the connector API shares: who may reach which company, entities
as JSON with their ETags, collections with OData options and paging, and If-Match.

Views over the registry (``bcsite.api.views``) and the flows and approvals endpoints
(``automate.api``, ``approvals.api``) are built from these.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlencode

from django.db import models
from django.db.models import Prefetch
from rest_framework import status
from rest_framework.exceptions import NotFound, ParseError
from rest_framework.parsers import JSONParser
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from bcsite.api import access
from bcsite.api.errors import ApiError
from bcsite.api.odata import page_of, parse_options
from bcsite.api.schema import BCAutoSchema
from bcsite.registry import Table, registry
from records.models import Company, Membership


class TextJSONParser(JSONParser):
    """JSON whose strings hold no NUL character: no text column can store one (PostgreSQL
    refuses them), so a body with one is refused as a whole, with a 400."""

    def parse(self, stream, media_type=None, parser_context=None):
        data = super().parse(stream, media_type, parser_context)
        if _holds_nul(data):
            raise ParseError("Text in the body may not contain the NUL character (\\u0000).")
        return data


def _holds_nul(value: Any) -> bool:
    if isinstance(value, str):
        return has_unstorable(value)
    if isinstance(value, dict):
        return any(_holds_nul(k) or _holds_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_holds_nul(v) for v in value)
    return False


class ApiView(APIView):
    """JSON in, JSON out, errors in BC's shape; the schema comes from ``openapi_operation``."""

    renderer_classes = [JSONRenderer]
    parser_classes = [TextJSONParser]
    schema = BCAutoSchema()

    def body_object(self, request: Request) -> dict:
        data = request.data
        if not isinstance(data, dict):
            raise ApiError(
                400,
                "BadRequest_InvalidRequestBody",
                "The request body must be a JSON object of field names and values.",
            )
        return data


# -- Companies ------------------------------------------------------------------------------


def api_company(request: Request, key: str) -> Company:
    """The company in the URL, if the caller may work in it (``bcsite.api.access`` decides;
    404 otherwise). Sets ``request.company`` and ``request.is_company_admin``, as the
    company middleware does for pages, so the apps' access helpers work alike."""
    if has_unstorable(key):
        raise NotFound(f"The company {key[:100]!r} does not exist, or you have no access to it.")
    return bind_company(request, access.api_company(request, key))


def bind_company(request: Request, company: Company) -> Company:
    """Work in ``company`` (checked already by ``access.api_company``) for this request."""
    request.company = company
    request.is_company_admin = access.api_role(request, company) == Membership.Role.ADMIN
    return company


def reachable_companies(request: Request) -> models.QuerySet[Company]:
    return access.api_companies(request)


def api_root(request: Request) -> str:
    return request.build_absolute_uri("/api/").rstrip("/")


# -- Entities -------------------------------------------------------------------------------


def etag(table: Table, data: dict) -> str:
    """A weak ETag in BC's form (``W/"JzE4OzEyMzQ1OzAwOyc="``), from what the entity shows:
    it changes whenever any of its fields does, whatever changed it."""
    digest = hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).digest()
    version = int.from_bytes(digest[:9], "big")
    text = f"'{table.id};{version};00;'"
    return f'W/"{base64.b64encode(text.encode()).decode()}"'


def _opaque(tag: str) -> str:
    tag = tag.strip()
    if tag[:2].upper() == "W/":
        tag = tag[2:]
    return tag.strip('"')


def check_if_match(request: Request, current: str) -> None:
    """BC requires If-Match on changes: the ETag the client read, or ``*``."""
    header = request.headers.get("If-Match")
    if header is None or not header.strip():
        raise ApiError(
            428,
            "BadRequest_PreconditionRequired",
            "An If-Match header is required: send the record's @odata.etag, or * to change "
            "it whatever its current state.",
        )
    tags = [t for t in header.split(",") if t.strip()]
    if any(t.strip() == "*" for t in tags):
        return
    if _opaque(current) not in {_opaque(t) for t in tags}:
        raise ApiError(
            412,
            "Request_EntityChanged",
            "Another user has already changed the record. Read it again and retry with its "
            "new @odata.etag.",
        )


@dataclass(frozen=True)
class Navigation:
    """A collection reached through an entity (``salesOrders({id})/salesOrderLines``)."""

    name: str
    table_id: int
    related_name: str  # the reverse relation on the parent model
    parent_attribute: str  # the child's relation to the parent
    parent_field: str  # the child's API field naming the parent's id
    order: tuple[str, ...] = ()

    @property
    def table(self) -> Table:
        return registry.tables[self.table_id]


def entity_json(
    table: Table,
    obj: models.Model,
    *,
    select: list[str] | None = None,
    expand: Iterable[str] = (),
    navigations: dict[str, Navigation] | None = None,
    extra: Callable[[models.Model], dict] | None = None,
) -> dict[str, Any]:
    data = table.to_dict(obj)
    if extra is not None:
        data |= extra(obj)
    body = {"@odata.etag": etag(table, data)}
    body |= {name: data[name] for name in select} if select else data
    for name in expand:
        navigation = (navigations or {})[name]
        rows = getattr(obj, navigation.related_name).all()
        body[name] = [entity_json(navigation.table, row) for row in rows]
    return body


def with_expand(
    queryset: models.QuerySet, expand: Iterable[str], navigations: dict[str, Navigation]
) -> models.QuerySet:
    """Prefetch what ``$expand`` names: one query per navigation, however many rows."""
    for name in expand:
        navigation = navigations[name]
        rows = navigation.table.rows().order_by(*navigation.order, "pk")
        queryset = queryset.prefetch_related(Prefetch(navigation.related_name, queryset=rows))
    return queryset


@dataclass
class CollectionSpec:
    table: Table
    context: str
    default_order: list[str]
    salt: str
    navigations: dict[str, Navigation] = field(default_factory=dict)
    extra: Callable[[models.Model], dict] | None = None


def collection_response(
    request: Request,
    queryset: models.QuerySet,
    spec: CollectionSpec,
    *,
    options=None,
) -> Response:
    """A page of ``queryset`` under the request's OData options, in BC's collection shape."""
    if options is None:
        options = parse_options(
            spec.table,
            request.query_params,
            navigations=tuple(spec.navigations),
            prefer=request.headers.get("Prefer", ""),
        )
    queryset = with_expand(queryset, options.expand, spec.navigations)
    page = page_of(queryset, options, salt=spec.salt, default_order=spec.default_order)
    body: dict[str, Any] = {"@odata.context": spec.context}
    if page.count is not None:
        body["@odata.count"] = page.count
    body["value"] = [
        entity_json(
            spec.table,
            row,
            select=options.select,
            expand=options.expand,
            navigations=spec.navigations,
            extra=spec.extra,
        )
        for row in page.rows
    ]
    if page.next_token is not None:
        body["@odata.nextLink"] = next_link(request, page.next_token, page.remaining_top)
    headers = {}
    if options.page_size_preferred:
        headers["Preference-Applied"] = f"odata.maxpagesize={options.page_size}"
    return Response(body, headers=headers)


def entity_response(
    request: Request,
    table: Table,
    obj: models.Model,
    *,
    context: str,
    navigations: dict[str, Navigation] | None = None,
    extra: Callable[[models.Model], dict] | None = None,
    http_status: int = status.HTTP_200_OK,
    headers: dict | None = None,
    options=None,
) -> Response:
    if options is None:
        options = parse_options(
            table, request.query_params, navigations=tuple(navigations or ()), collection=False
        )
    body = {"@odata.context": context}
    body |= entity_json(
        table,
        obj,
        select=options.select,
        expand=options.expand,
        navigations=navigations,
        extra=extra,
    )
    headers = dict(headers or {})
    headers["ETag"] = body["@odata.etag"]
    return Response(body, status=http_status, headers=headers)


def next_link(request: Request, token: str, remaining_top: int | None) -> str:
    params = [
        (name, value)
        for name, values in request.query_params.lists()
        for value in values
        if name not in ("$skip", "$skiptoken", "$top")
    ]
    if remaining_top is not None:
        params.append(("$top", str(remaining_top)))
    params.append(("$skiptoken", token))
    query = urlencode(params, quote_via=quote, safe="$,'")
    return f"{request.build_absolute_uri(request.path)}?{query}"


def has_unstorable(text: str) -> bool:
    """Text no database column holds (PostgreSQL refuses NUL): it names no record."""
    return "\x00" in text


def record_key(text: str) -> str:
    """A key from the URL, as BC writes it (a bare GUID) or quoted."""
    text = text.strip()
    if len(text) >= 2 and text[0] == text[-1] == "'":
        text = text[1:-1].replace("''", "'")
    return text
