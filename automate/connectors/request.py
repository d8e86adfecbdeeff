"""Request: answer the caller of a flow started by "When an HTTP request is received".

The Response action's outputs are its status code, headers and body. Once its step has
committed, it also pushes them onto a Redis list named for the run, where the request
that started the flow is waiting for them (``automate.views.hooks``). The caller gets
the first Response of a run; a second one fails, since there is nobody left to answer.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import re
from functools import cache, partial
from typing import Any

import redis
from django.conf import settings
from django.db import transaction

from automate.connectors.base import (
    NO_RETRY,
    ActionCall,
    ActionError,
    Connector,
    ConnectorAction,
    Output,
    Param,
)
from automate.models import StepRun, StepStatus

log = logging.getLogger(__name__)

RESPONSE_KEY = "bcsite:automate:response:{run}"
# A response nobody collects (the caller gave up, or the run was not started by a request)
# is gone from Redis after this; the step's outputs keep it.
RESPONSE_KEY_SECONDS = 60
MAX_BODY_BYTES = 5 * 1024 * 1024
MAX_HEADERS = 50
MAX_HEADER_VALUE = 8 * 1024
# RFC 9110's token: what a header name may be made of.
HEADER_NAME = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")
# Headers of one connection, not of the message (RFC 9110, 7.6.1): WSGI servers refuse
# them from an application. Content-Length is the body's, computed when it is sent.
REFUSED_HEADERS = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "proxy-connection",
        "te",
        "trailer",
        "trailers",
        "transfer-encoding",
        "upgrade",
        "content-length",
    }
)


class Response(ConnectorAction):
    key = "response"
    title = "Response"
    description = (
        "Answer the request that started the flow (When an HTTP request is received) with a "
        "status code, headers and a body."
    )
    inputs = (
        Param("statusCode", "Status code", "integer", default=200, help="100 to 599."),
        Param(
            "headers",
            "Headers",
            "json",
            help='An object of text values: {"Content-Type": "text/csv"}.',
        ),
        Param(
            "body",
            "Body",
            "json",
            help="Text (sent as text/plain), or any JSON value (sent as application/json).",
        ),
    )
    outputs = (
        Output("statusCode", "Status code", "integer"),
        Output("headers", "Headers", "json"),
        Output("body", "Body", "json"),
    )
    retry_policy = NO_RETRY
    # The check for an earlier Response and the step's "Succeeded" commit together, and the
    # caller is told only after that commit.
    transactional = True

    def validate(self, inputs: dict) -> list[str]:
        errors = super().validate(inputs)
        code = inputs.get("statusCode")
        headers = inputs.get("headers")
        try:
            if _is_literal(code):
                status_code(code)
            if isinstance(headers, dict):
                # The names are typed in the designer even when the values are expressions.
                typed = {k: v for k, v in headers.items() if _is_literal(k) and _is_literal(v)}
                header_names(name for name in headers if _is_literal(name))
                response_headers(typed)
            elif _is_literal(headers):
                response_headers(headers)
        except ActionError as error:
            errors.append(error.message)
        return errors

    def run(self, call: ActionCall) -> dict:
        outputs = {
            "statusCode": status_code(call.inputs.get("statusCode")),
            "headers": response_headers(call.inputs.get("headers")),
            "body": call.inputs.get("body"),
        }
        content, _content_type = encode_body(outputs["body"])
        if len(content) > MAX_BODY_BYTES:
            raise ActionError(f"The body is larger than {MAX_BODY_BYTES // (1024 * 1024)} MB.")
        answered = StepRun.objects.filter(
            run=call.run, action=self.type, status=StepStatus.SUCCEEDED
        ).exists()
        if answered:
            raise ActionError(
                "The flow has already responded to its caller; a request gets one response.",
                code="AlreadyResponded",
            )
        transaction.on_commit(
            partial(response_publish, run_key=str(call.run.system_id), outputs=outputs),
            robust=True,
        )
        return outputs


class RequestConnector(Connector):
    key = "request"
    name = "Request"
    description = "Answer the HTTP request that started the flow."
    color = "#009da5"
    actions = (Response,)


# -- Inputs ---------------------------------------------------------------------------------


def status_code(value: Any) -> int:
    if value is None or value == "":
        return 200
    if isinstance(value, bool):
        raise ActionError("The status code must be a number from 100 to 599.")
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    try:
        number = int(value) if isinstance(value, int | str) else None
    except ValueError:
        number = None
    if number is None or not 100 <= number <= 599:
        raise ActionError(f"The status code must be a number from 100 to 599, not {value!r}.")
    return number


def header_names(names) -> None:
    for name in names:
        if not HEADER_NAME.match(str(name)):
            raise ActionError(f"{name!r} is not a valid header name.")
        if str(name).lower() in REFUSED_HEADERS:
            raise ActionError(
                f"The header {name} belongs to the connection, not to the response; "
                "it is set by the server."
            )


def response_headers(value: Any) -> dict[str, str]:
    if value is None or value == "":
        return {}
    if not isinstance(value, dict):
        raise ActionError('Headers must be an object, e.g. {"Content-Type": "text/csv"}.')
    if len(value) > MAX_HEADERS:
        raise ActionError(f"A response has at most {MAX_HEADERS} headers.")
    header_names(value)
    headers = {}
    for name, raw in value.items():
        if raw is None:
            continue
        if isinstance(raw, bool) or not isinstance(raw, str | int | float):
            raise ActionError(f"The value of the header {name} must be text.")
        text = str(raw)
        if any(ch in text for ch in "\r\n\0"):
            raise ActionError(f"The value of the header {name} may not contain line breaks.")
        if len(text) > MAX_HEADER_VALUE:
            raise ActionError(f"The value of the header {name} is too long.")
        headers[str(name)] = text
    return headers


def encode_body(body: Any) -> tuple[bytes, str]:
    """The body as it goes on the wire, and its content type unless the headers give one.

    Text goes as text, ``{"$content": <base64>, "$content-type": ...}`` (what the HTTP action
    returns for a file) as those bytes, and any other JSON value as JSON.
    """
    if body is None:
        return b"", ""
    if isinstance(body, str):
        return body.encode("utf-8", errors="replace"), "text/plain; charset=utf-8"
    if isinstance(body, dict) and "$content" in body:
        try:
            content = base64.b64decode(str(body["$content"]), validate=True)
        except (binascii.Error, ValueError):
            raise ActionError("The body's $content is not valid base64.") from None
        return content, str(body.get("$content-type") or "application/octet-stream")
    return json.dumps(body, separators=(",", ":")).encode(), "application/json"


def _is_literal(value: Any) -> bool:
    """A value typed in the designer, not an expression evaluated when the flow runs."""
    return not (isinstance(value, str) and (value.lstrip().startswith("@") or "@{" in value))


# -- The way to the caller ------------------------------------------------------------------


def response_key(run_key: str) -> str:
    """The Redis list the response of the run with system id ``run_key`` is pushed onto."""
    return RESPONSE_KEY.format(run=run_key)


@cache
def _client(url: str) -> redis.Redis:
    return redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=5)


def redis_client() -> redis.Redis:
    return _client(settings.REDIS_URL)


def response_publish(*, run_key: str, outputs: dict) -> None:
    """Hand the response to the waiting request. Without Redis the request still finds it
    in the step's outputs, only later."""
    key = response_key(run_key)
    try:
        pipe = redis_client().pipeline()
        pipe.rpush(key, json.dumps(outputs))
        pipe.expire(key, RESPONSE_KEY_SECONDS)
        pipe.execute()
    except redis.RedisError:
        log.warning("The response of run %s could not be published", run_key, exc_info=True)
