"""HTTP: call a partner service, through the SSRF guard of ``automate.netguard``."""

from __future__ import annotations

import base64
import binascii
import json
import re
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

from automate import netguard
from automate.connectors._files import megabytes
from automate.connectors.base import (
    ActionCall,
    ActionError,
    Connector,
    ConnectorAction,
    Output,
    Param,
)

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD")
DEFAULT_TIMEOUT = 30
MAX_TIMEOUT = 120
MAX_REQUEST_BYTES = 10 * 1024 * 1024
MAX_RESPONSE_BYTES = 5 * 1024 * 1024
AUTH_TYPES = ("none", "basic", "bearer", "apikey")
# RFC 9110's token: what a header name may be made of.
HEADER_NAME = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")
TEXT_TYPES = ("text/", "application/xml", "application/javascript", "+xml")


class HttpRequest(ConnectorAction):
    key = "request"
    title = "HTTP"
    description = "Send an HTTP request to a partner service and get its response."
    inputs = (
        Param("method", "Method", "choice", required=True, choices=tuple((m, m) for m in METHODS)),
        Param("uri", "URI", "url", required=True),
        Param("headers", "Headers", "json", help='An object: {"Accept": "application/json"}.'),
        Param("queries", "Queries", "json", help="An object of query parameters."),
        Param("body", "Body", "json", help="Text, or any JSON value (sent as JSON)."),
        Param(
            "authentication",
            "Authentication",
            "json",
            advanced=True,
            help='{"type": "basic", "username": ..., "password": ...}, {"type": "bearer", '
            '"token": ...} or {"type": "apikey", "name": ..., "value": ..., "in": "header"}.',
        ),
        Param(
            "timeout",
            "Timeout (seconds)",
            "integer",
            advanced=True,
            default=DEFAULT_TIMEOUT,
            help=f"At most {MAX_TIMEOUT}.",
        ),
    )
    outputs = (
        Output("statusCode", "Status code", "integer"),
        Output("headers", "Headers", "json"),
        Output("body", "Body", "json"),
    )
    # Repeating the call after a worker died during it does no harm: GET, HEAD, PUT and
    # DELETE are idempotent by definition, and every other request carries this step's
    # Idempotency-Key, stable across attempts, so a service that honours it does the work once.
    repeatable = True

    def run(self, call: ActionCall) -> dict:
        inputs = call.inputs
        method = str(inputs.get("method") or "GET").upper()
        if method not in METHODS:
            raise ActionError(f"The method must be one of {', '.join(METHODS)}, not {method}.")
        headers = clean_headers(inputs.get("headers"))
        url = with_queries(inputs.get("uri"), inputs.get("queries"))
        url = apply_authentication(inputs.get("authentication"), headers, url)
        body = encode_body(inputs.get("body"), headers) if method != "HEAD" else None
        if method != "GET" and not _has_header(headers, "Idempotency-Key"):
            headers["Idempotency-Key"] = call.idempotency_key
        response = netguard.guarded_request(
            method,
            url,
            headers=headers,
            body=body,
            timeout=timeout_seconds(inputs.get("timeout")),
            max_bytes=MAX_RESPONSE_BYTES,
        )
        outputs = {
            "statusCode": response.status,
            "headers": dict(response.headers),
            "body": decode_body(response),
        }
        raise_for_status(response, outputs["body"])
        return outputs


class HttpConnector(Connector):
    key = "http"
    name = "HTTP"
    description = "Call any service over HTTP or HTTPS."
    color = "#709727"
    actions = (HttpRequest,)


# -- Request ------------------------------------------------------------------------------


def timeout_seconds(value: Any) -> float:
    if value in (None, ""):
        return DEFAULT_TIMEOUT
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        raise ActionError(f"The timeout must be a number of seconds, not {value!r}.") from None
    if not 1 <= seconds <= MAX_TIMEOUT:
        raise ActionError(f"The timeout must be between 1 and {MAX_TIMEOUT} seconds.")
    return seconds


def clean_headers(value: Any) -> dict[str, str]:
    if value in (None, ""):
        return {}
    if not isinstance(value, dict):
        raise ActionError('Headers must be an object, e.g. {"Accept": "application/json"}.')
    headers = {}
    for name, raw in value.items():
        if not HEADER_NAME.match(str(name)):
            raise ActionError(f"{name!r} is not a valid header name.")
        if raw is None:
            continue
        text = raw if isinstance(raw, str) else json.dumps(raw)
        if any(ch in text for ch in "\r\n\0"):
            raise ActionError(f"The value of the header {name} may not contain line breaks.")
        headers[str(name)] = text
    return headers


def with_queries(uri: Any, queries: Any) -> str:
    if not isinstance(uri, str) or not uri.strip():
        raise ActionError("Give the URI to call.")
    uri = uri.strip()
    if queries in (None, "", {}):
        return uri
    if not isinstance(queries, dict):
        raise ActionError('Queries must be an object, e.g. {"$top": 10}.')
    pairs = []
    for name, value in queries.items():
        values = value if isinstance(value, list) else [value]
        pairs.extend((str(name), _query_text(v)) for v in values if v is not None)
    return _append_query(uri, urlencode(pairs))


def apply_authentication(auth: Any, headers: dict[str, str], url: str) -> str:
    """Add the credentials ``auth`` describes to ``headers`` (or to the URL); the new URL."""
    if auth in (None, "", {}):
        return url
    if not isinstance(auth, dict):
        raise ActionError('Authentication must be an object, e.g. {"type": "bearer", ...}.')
    kind = str(auth.get("type") or "none").lower()
    if kind not in AUTH_TYPES:
        raise ActionError(f"The authentication type must be one of {', '.join(AUTH_TYPES)}.")
    if kind == "none":
        return url
    if kind == "basic":
        username = _required_text(auth, "username", "Basic authentication")
        password = str(auth.get("password") or "")
        if ":" in username:
            raise ActionError("A user name for basic authentication may not contain ':'.")
        token = base64.b64encode(f"{username}:{password}".encode()).decode("ascii")
        headers["Authorization"] = f"Basic {token}"
        return url
    if kind == "bearer":
        token = _required_text(auth, "token", "Bearer authentication")
        headers["Authorization"] = f"Bearer {_single_line(token, 'The token')}"
        return url
    name = _required_text(auth, "name", "API key authentication")
    value = _required_text(auth, "value", "API key authentication")
    where = str(auth.get("in") or "header").lower()
    if where == "query":
        return _append_query(url, urlencode([(name, value)]))
    if where != "header":
        raise ActionError('An API key goes "in": "header" or "in": "query".')
    if not HEADER_NAME.match(name):
        raise ActionError(f"{name!r} is not a valid header name for the API key.")
    headers[name] = _single_line(value, "The API key")
    return url


def encode_body(body: Any, headers: dict[str, str]) -> bytes | None:
    """The body as bytes; JSON values go as JSON, text as text, ``$content`` as binary."""
    if body is None or body == "":
        return None
    if isinstance(body, dict) and "$content" in body:
        try:
            data = base64.b64decode(str(body["$content"]), validate=True)
        except (binascii.Error, ValueError):
            raise ActionError("The body's $content is not valid base64.") from None
        content_type = body.get("$content-type") or "application/octet-stream"
    elif isinstance(body, str):
        data = body.encode()
        content_type = "text/plain; charset=utf-8"
    else:
        data = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
        content_type = "application/json"
    if len(data) > MAX_REQUEST_BYTES:
        raise ActionError(f"The body is larger than {megabytes(MAX_REQUEST_BYTES)}.")
    if not _has_header(headers, "Content-Type"):
        headers["Content-Type"] = str(content_type)
    return data


# -- Response -----------------------------------------------------------------------------


def decode_body(response: netguard.GuardedResponse) -> Any:
    """JSON when the response says it is JSON, text when it is text, else ``$content``."""
    data = response.body
    if not data:
        return ""
    content_type = response.content_type.lower()
    media_type = content_type.split(";", 1)[0].strip()
    charset = _charset(content_type)
    if media_type == "application/json" or media_type.endswith("+json"):
        try:
            return json.loads(data.decode(charset or "utf-8"))
        except (UnicodeDecodeError, LookupError, ValueError):
            return data.decode("utf-8", errors="replace")
    if not media_type or any(t in media_type for t in TEXT_TYPES) or "form" in media_type:
        try:
            return data.decode(charset or "utf-8")
        except (UnicodeDecodeError, LookupError):
            if media_type:
                return data.decode("utf-8", errors="replace")
    return {
        "$content-type": media_type or "application/octet-stream",
        "$content": base64.b64encode(data).decode("ascii"),
    }


def raise_for_status(response: netguard.GuardedResponse, body: Any) -> None:
    status = response.status
    if status < 400:
        return
    details: dict[str, Any] = {"statusCode": status, "body": _excerpt(body)}
    retry_after = response.headers.get("Retry-After")
    if retry_after:
        details["retryAfter"] = retry_after
    if netguard.is_retryable_status(status):
        raise ActionError(
            f"The service answered {status}; trying again later may help.",
            retryable=True,
            code=f"Http{status}",
            details=details,
        )
    raise ActionError(
        f"The service refused the request with status {status}.",
        code=f"Http{status}",
        details=details,
    )


# -- Helpers ------------------------------------------------------------------------------


def _has_header(headers: dict[str, str], name: str) -> bool:
    return any(k.lower() == name.lower() for k in headers)


def _append_query(url: str, query: str) -> str:
    if not query:
        return url
    try:
        parts = urlsplit(url)
    except ValueError:
        raise ActionError(f"{url} is not a valid URL.") from None
    combined = f"{parts.query}&{query}" if parts.query else query
    return urlunsplit(parts._replace(query=combined))


def _query_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int | float):
        return str(value)
    return json.dumps(value)


def _required_text(auth: dict, key: str, kind: str) -> str:
    value = auth.get(key)
    if value in (None, ""):
        raise ActionError(f"{kind} needs a {key}.")
    return str(value)


def _single_line(value: str, what: str) -> str:
    if any(ch in value for ch in "\r\n\0"):
        raise ActionError(f"{what} may not contain line breaks.")
    return value


def _charset(content_type: str) -> str | None:
    match = re.search(r"charset=\"?([\w.:-]+)", content_type)
    return match.group(1) if match else None


def _excerpt(body: Any, limit: int = 2000) -> Any:
    if isinstance(body, str) and len(body) > limit:
        return body[:limit] + "..."
    if isinstance(body, dict | list) and len(json.dumps(body)) > limit:
        return json.dumps(body)[:limit] + "..."
    return body
