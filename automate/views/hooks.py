"""The URL of a flow started by "When an HTTP request is received" (docs/flows.md).

``hook_receive`` answers machines, not people: the caller holds the flow's key (and signs
each request when the trigger asks), and every refusal is JSON,
``{"error": {"code": ..., "message": ...}}``, never a page and never a 500.

1. The flow's id and key: 401, the same for an unknown flow as for a wrong key.
2. The trigger's method (405), the body's size (413), the signature (403).
3. A repeated ``Idempotency-Key`` answers for the run the first request started.
4. Whether the flow may start: on (409), an owner who may use Power Automate (403).
5. The body: JSON (400), and what the trigger's schema asks for (400).
6. The trigger conditions: when one does not hold, 202 "skipped" and no run.
7. The run starts. Without a Response step the answer is 202 with its id; with one the
   caller waits for the Response, which arrives through Redis the moment its step
   commits, or is read from the step's outputs.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import math
import re
import shlex
import time
import uuid
from dataclasses import dataclass
from urllib.parse import quote

import redis
from django.conf import settings
from django.contrib import messages
from django.core.exceptions import TooManyFieldsSent
from django.db.models import OuterRef, Subquery
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from jsonschema import Draft202012Validator
from jsonschema.exceptions import best_match

from automate.access import automate_exempt, automate_refusal, get_flow_for_user
from automate.connectors.base import ActionError
from automate.connectors.request import encode_body, redis_client, response_key
from automate.definition import walk
from automate.fields import OrderedJSONField
from automate.models import FINISHED_RUN_STATUSES, Flow, FlowRun, StepRun, StepStatus
from automate.services.flows import http_keys_regenerate
from automate.services.runs import flow_run_start
from automate.services.triggers import condition_refusal
from bcsite.views import company_required

MAX_BODY_BYTES = 1024 * 1024
# Deeper bodies are refused: nothing a caller means to send nests this far, and every
# later reader (the schema, expressions, the history) walks the body recursively.
MAX_BODY_DEPTH = 64
SIGNATURE_TOLERANCE = 300  # seconds between the caller's clock and ours
DEFAULT_RESPONSE_TIMEOUT = 120
RESPONSE_STEP = "request.response"
TIMESTAMP = re.compile(r"[0-9]{1,12}")
SIGNATURE = re.compile(r"sha256=([0-9a-fA-F]{64})")
IDEMPOTENCY_KEY = re.compile(r"[\x21-\x7e]{1,150}")
# The run keeps the request's headers, but not the caller's credentials.
DROPPED_HEADERS = frozenset({"cookie", "authorization", "proxy-authorization"})
MAX_KEPT_HEADERS = 100
MAX_KEPT_HEADER_VALUE = 8 * 1024
# HTTP allows no body with these.
NO_BODY_STATUSES = (*range(100, 200), 204, 304)
# What a wrong key is compared with when the flow is unknown: both refusals take as long.
_NO_KEY = b"\0" * 43
_TOO_DEEP = object()
EXAMPLE_VALUES = {
    "string": "text",
    "integer": 1,
    "number": 1.5,
    "boolean": True,
    "array": [],
    "object": {},
    "null": None,
}


class Refusal(Exception):
    """A request the hook does not accept: the status and the JSON error that say why."""

    def __init__(self, status: int, code: str, message: str, *, headers=None, **extra):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message
        self.headers = headers or {}
        self.extra = extra

    def response(self) -> JsonResponse:
        return error_response(
            self.status, self.code, self.message, headers=self.headers, **self.extra
        )


def error_response(status: int, code: str, message: str, *, headers=None, **extra) -> JsonResponse:
    response = JsonResponse({"error": {"code": code, "message": message, **extra}}, status=status)
    for name, value in (headers or {}).items():
        response[name] = value
    return response


# -- The hook -------------------------------------------------------------------------------


# Partners call it, signed in or not: step 4 checks the flow owner's access itself.
@automate_exempt
@csrf_exempt
def hook_receive(request: HttpRequest, flow_id: str) -> HttpResponse:
    try:
        flow = _authenticated_flow(request, flow_id)
        trigger = _trigger(flow)
        _check_method(request, trigger)
        raw = _read_body(request)
        _check_signature(request, flow, trigger, raw)
        key = _idempotency_key(request, flow)
        run = FlowRun.objects.filter(idempotency_key=key).first() if key else None
        if run is None:
            _check_may_start(flow)
            trigger_data = _trigger_data(request, _parse_body(raw, trigger))
            reason = condition_refusal(trigger, trigger_data)
            if reason:
                return JsonResponse({"status": "skipped", "reason": reason}, status=202)
            run = flow_run_start(
                flow=flow,
                trigger_data=trigger_data,
                user=None,
                idempotency_key=key or f"http:{uuid.uuid4()}",
            )
    except Refusal as refusal:
        return refusal.response()
    except TooManyFieldsSent:
        return error_response(400, "BadRequest", "The URL has too many query parameters.")
    definition = (
        flow.current_version.definition
        if run.version_id == flow.current_version_id
        else run.version.definition
    )
    if not has_response_step(definition):
        return _accepted(run)
    return _wait_for_response(run)


def _authenticated_flow(request: HttpRequest, flow_id: str) -> Flow:
    try:
        system_id = uuid.UUID(flow_id)
    except ValueError:
        system_id = None
    flow = None
    if system_id is not None:
        flow = (
            Flow.objects.select_related("owner", "current_version")
            .filter(system_id=system_id, trigger_type="http_request")
            .first()
        )
    expected = flow.http_key.encode() if flow is not None and flow.http_key else _NO_KEY
    given = request.GET.get("sig", "").encode("utf-8", errors="replace")
    if not hmac.compare_digest(given, expected) or expected == _NO_KEY:
        raise Refusal(
            401,
            "Unauthorized",
            "No flow answers at this URL with this key. Copy the URL from the flow's page.",
        )
    return flow


def _trigger(flow: Flow) -> dict:
    if flow.current_version is None:
        raise Refusal(409, "FlowNotSaved", "The flow has no saved version to run.")
    return flow.current_version.definition["trigger"]


def _check_method(request: HttpRequest, trigger: dict) -> None:
    method = trigger.get("method") or "POST"
    if request.method != method:
        raise Refusal(
            405,
            "MethodNotAllowed",
            f"This flow is called with {method}, not {request.method}.",
            headers={"Allow": method},
        )


def _read_body(request: HttpRequest) -> bytes:
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    raw = b"" if length > MAX_BODY_BYTES else request.read(MAX_BODY_BYTES + 1)
    if length > MAX_BODY_BYTES or len(raw) > MAX_BODY_BYTES:
        raise Refusal(
            413, "PayloadTooLarge", f"The body is larger than {MAX_BODY_BYTES // 1024} KB."
        )
    return raw


def _check_signature(request: HttpRequest, flow: Flow, trigger: dict, raw: bytes) -> None:
    """``X-Bcsite-Signature: sha256=<hex>``, the HMAC-SHA256 of ``<timestamp>.<body>`` under
    the flow's signing secret, with ``X-Bcsite-Timestamp`` within five minutes of ours."""
    if not trigger.get("requireSignature"):
        return
    stamp = request.headers.get("X-Bcsite-Timestamp", "").strip()
    signature = SIGNATURE.fullmatch(request.headers.get("X-Bcsite-Signature", "").strip())
    if not flow.signing_secret or not TIMESTAMP.fullmatch(stamp) or signature is None:
        raise Refusal(
            403,
            "InvalidSignature",
            "The request must be signed: X-Bcsite-Timestamp (Unix seconds) and "
            "X-Bcsite-Signature (sha256=<hex>).",
        )
    if abs(time.time() - int(stamp)) > SIGNATURE_TOLERANCE:
        raise Refusal(
            403,
            "InvalidSignature",
            "X-Bcsite-Timestamp is more than five minutes away from the server's clock.",
        )
    expected = hmac.new(
        flow.signing_secret.encode(), stamp.encode() + b"." + raw, hashlib.sha256
    ).hexdigest()
    if not hmac.compare_digest(expected, signature.group(1).lower()):
        raise Refusal(403, "InvalidSignature", "The signature does not match the request.")


def _idempotency_key(request: HttpRequest, flow: Flow) -> str | None:
    given = request.headers.get("Idempotency-Key")
    if given is None:
        return None
    if not IDEMPOTENCY_KEY.fullmatch(given.strip()):
        raise Refusal(
            400,
            "InvalidIdempotencyKey",
            "Idempotency-Key must be 1 to 150 visible ASCII characters.",
        )
    return f"http:{flow.pk}:{given.strip()}"


def _check_may_start(flow: Flow) -> None:
    if not flow.enabled:
        raise Refusal(409, "FlowOff", "The flow is off.")
    reason = automate_refusal(flow.owner, flow.company_id)
    if reason:
        raise Refusal(403, "Forbidden", reason)


# -- The body -------------------------------------------------------------------------------


def _parse_body(raw: bytes, trigger: dict):
    """The body as JSON (None when empty), checked against the trigger's schema."""
    body = _json_body(raw) if raw.strip() else None
    schema = trigger.get("schema")
    if schema is None:
        return body
    try:
        error = best_match(Draft202012Validator(schema).iter_errors(body))
    except Exception as problem:  # the schema is the flow's data; a library reads it
        raise Refusal(
            409, "InvalidSchema", f"The flow's schema cannot check requests: {problem}"[:500]
        ) from None
    if error is not None:
        path = error.json_path
        raise Refusal(
            400,
            "TriggerInputSchemaMismatch",
            f"The body does not match the flow's schema at {path}: {error.message[:400]}",
            path=path,
        )
    return body


def _json_body(raw: bytes):
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise Refusal(400, "InvalidJson", "The body is not UTF-8 text, so not JSON.") from None
    try:
        body = json.loads(text, parse_constant=_no_constant, parse_float=_finite_float)
    except json.JSONDecodeError as error:
        raise Refusal(
            400,
            "InvalidJson",
            f"The body is not JSON: {error.msg} (line {error.lineno}, column {error.colno}).",
        ) from None
    except ValueError as error:
        raise Refusal(400, "InvalidJson", f"The body is not usable JSON: {error}"[:300]) from None
    except RecursionError:
        body = _TOO_DEEP
    if body is _TOO_DEEP or _depth(body) > MAX_BODY_DEPTH:
        raise Refusal(400, "InvalidJson", f"The body nests more than {MAX_BODY_DEPTH} levels deep.")
    try:
        # Lone surrogates ("\ud800") are valid JSON but not text a database can store.
        json.dumps(body, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        raise Refusal(
            400, "InvalidJson", "The body holds text that is not valid Unicode."
        ) from None
    return body


def _no_constant(name: str):
    raise ValueError(f"{name} is not a JSON number.")


def _finite_float(text: str) -> float:
    number = float(text)
    if not math.isfinite(number):
        raise ValueError(f"the number {text[:40]} is too large.")
    return number


def _depth(value) -> int:
    """How deeply objects and lists nest in ``value``; counting stops past the limit."""
    deepest, stack = 0, [(value, 1)]
    while stack and deepest <= MAX_BODY_DEPTH:
        item, depth = stack.pop()
        if isinstance(item, dict):
            item = list(item.values())
        if isinstance(item, list):
            deepest = max(deepest, depth)
            stack.extend((child, depth + 1) for child in item)
    return deepest


def _trigger_data(request: HttpRequest, body) -> dict:
    headers = {}
    for name, value in request.headers.items():
        name = name.lower()
        if name not in DROPPED_HEADERS and len(headers) < MAX_KEPT_HEADERS:
            headers[name] = value[:MAX_KEPT_HEADER_VALUE]
    queries = {name: value for name, value in request.GET.items() if name != "sig"}
    return {"body": body, "headers": headers, "queries": queries, "method": request.method}


# -- The answer -----------------------------------------------------------------------------


def has_response_step(definition: dict) -> bool:
    return any(ref.step.get("type") == RESPONSE_STEP for ref in walk(definition.get("steps", [])))


def _accepted(run: FlowRun) -> JsonResponse:
    response = JsonResponse({"runId": str(run.system_id), "status": "queued"}, status=202)
    response["Location"] = settings.SITE_URL + reverse("automate:run-detail", args=[run.pk])
    return response


def _wait_for_response(run: FlowRun) -> HttpResponse:
    """The run's Response, as soon as it has one.

    Each second: the step's recorded outputs (a repeated request, or Redis out of reach)
    or the run's end without a Response (502), then up to a second on the Redis list the
    step pushes its outputs onto. At the timeout, 504.
    """
    timeout = getattr(settings, "AUTOMATE_HTTP_RESPONSE_TIMEOUT", DEFAULT_RESPONSE_TIMEOUT)
    deadline = time.monotonic() + timeout
    key = response_key(str(run.system_id))
    while True:
        status, outputs = _recorded_response(run.pk)
        if outputs is None and (status is None or status in FINISHED_RUN_STATUSES):
            return error_response(
                502,
                "NoResponse",
                f"The run ended ({status or 'deleted'}) without responding.",
                runId=str(run.system_id),
            )
        remaining = deadline - time.monotonic()
        if outputs is None and remaining > 0:
            outputs = _pop_response(key, min(1.0, remaining))
        if outputs is not None:
            _discard(key)
            return response_from_outputs(outputs)
        if remaining <= 0:
            return error_response(
                504,
                "ResponseTimeout",
                f"The flow did not respond within {timeout} seconds; the run goes on.",
                runId=str(run.system_id),
            )


def _recorded_response(run_id: int) -> tuple[str | None, dict | None]:
    """The run's status and its first Response's outputs, in one query."""
    first_response = (
        StepRun.objects.filter(
            run=OuterRef("pk"), action=RESPONSE_STEP, status=StepStatus.SUCCEEDED
        )
        .order_by("finished_at", "pk")
        .values("outputs")[:1]
    )
    row = (
        FlowRun.objects.filter(pk=run_id)
        .annotate(response=Subquery(first_response, output_field=OrderedJSONField()))
        .values_list("status", "response")
        .first()
    )
    return row if row is not None else (None, None)


def _pop_response(key: str, seconds: float) -> dict | None:
    try:
        # At least a twentieth of a second: Redis reads a timeout of 0 as "for ever".
        popped = redis_client().blpop([key], timeout=max(seconds, 0.05))
    except redis.RedisError:
        time.sleep(seconds)
        return None
    if popped is None:
        return None
    try:
        outputs = json.loads(popped[1])
    except ValueError:
        return None
    return outputs if isinstance(outputs, dict) else None


def _discard(key: str) -> None:
    with contextlib.suppress(redis.RedisError):  # otherwise it expires
        redis_client().delete(key)


def response_from_outputs(outputs: dict) -> HttpResponse:
    """The HTTP response a Response step's outputs describe."""
    status = outputs.get("statusCode")
    status = status if isinstance(status, int) and 100 <= status <= 599 else 200
    try:
        content, content_type = encode_body(outputs.get("body"))
    except ActionError:
        content, content_type = b"", ""
    if status in NO_BODY_STATUSES:
        content, content_type = b"", ""
    response = HttpResponse(content, status=status)
    del response["Content-Type"]
    if content_type:
        response["Content-Type"] = content_type
    headers = outputs.get("headers")
    for name, value in (headers if isinstance(headers, dict) else {}).items():
        try:
            response[name] = value
        except (ValueError, TypeError):
            continue  # refused by the action already; a value nothing can send is dropped
    return response


# -- The flow's page ------------------------------------------------------------------------


@dataclass(frozen=True)
class HookDetails:
    url: str
    method: str
    signing_secret: str
    curl: str


def hook_details(flow: Flow | None) -> HookDetails | None:
    """The URL, secret and an example call the flow's page shows; None for other flows."""
    if flow is None or flow.trigger_type != "http_request" or not flow.http_key:
        return None
    if flow.current_version is None:
        return None
    trigger = flow.current_version.definition["trigger"]
    method = trigger.get("method") or "POST"
    path = reverse("automate:hook", args=[flow.system_id])
    url = f"{settings.SITE_URL}{path}?sig={quote(flow.http_key, safe='')}"
    secret = flow.signing_secret if trigger.get("requireSignature") else ""
    return HookDetails(
        url=url,
        method=method,
        signing_secret=secret,
        curl=curl_example(url, method, secret, trigger.get("schema")),
    )


def curl_example(url: str, method: str, secret: str, schema) -> str:
    body = "" if method == "GET" else json.dumps(_example_body(schema))
    send = [f"curl -X {method} {shlex.quote(url)}"]
    if body:
        send.append("-H 'Content-Type: application/json'")
    if not secret:
        if body:
            send.append(f"--data {shlex.quote(body)}")
        return " \\\n  ".join(send)
    send += ['-H "X-Bcsite-Timestamp: $TS"', '-H "X-Bcsite-Signature: sha256=$SIG"']
    if body:
        send.append('--data "$BODY"')
    sign = [
        f"SECRET={shlex.quote(secret)}",
        f"BODY={shlex.quote(body)}",
        "TS=$(date +%s)",
        'SIG=$(printf \'%s.%s\' "$TS" "$BODY" | openssl dgst -sha256 -hmac "$SECRET" -r'
        " | cut -d' ' -f1)",
    ]
    return "\n".join(sign) + "\n" + " \\\n  ".join(send)


def _example_body(schema):
    """A body the schema's top level accepts: a value of each property's type."""
    if not isinstance(schema, dict):
        return {}
    if "examples" in schema and isinstance(schema["examples"], list) and schema["examples"]:
        return schema["examples"][0]
    properties = schema.get("properties")
    if not isinstance(properties, dict):
        return _example_value(schema, {})
    return {name: _example_value(spec, "text") for name, spec in properties.items()}


def _example_value(schema, default):
    kind = schema.get("type") if isinstance(schema, dict) else None
    if isinstance(kind, list):
        kind = kind[0] if kind else None
    return EXAMPLE_VALUES.get(kind, default) if isinstance(kind, str) else default


@require_POST
@company_required
def http_keys_regenerate_view(request: HttpRequest, pk: int) -> HttpResponse:
    flow = get_flow_for_user(request, pk)
    if flow.trigger_type != "http_request":
        raise Http404("The flow is not started by an HTTP request.")
    flow = http_keys_regenerate(flow=flow, user=request.user)
    what = "URL key and signing secret" if flow.signing_secret else "URL key"
    messages.success(
        request, f"The flow has a new {what}: callers with the old ones are refused from now on."
    )
    return redirect("automate:flow-edit", pk=flow.pk)
