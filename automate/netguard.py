"""Outbound HTTP for flows, guarded against server-side request forgery.

A flow's author chooses the URL, but the request leaves from our servers, inside our
network: without a guard, "HTTP GET http://169.254.169.254/..." would read the cloud
provider's credentials and "http://10.0.0.5:6379" would talk to Redis. So every request:

1. accepts http and https only, without credentials in the URL;
2. resolves the host name and refuses it if ANY of its addresses is not a public one
   (private, loopback, link-local, multicast, reserved, shared, ...), unless the address
   lies in a network the setting ``AUTOMATE_HTTP_ALLOWED_NETWORKS`` allows;
3. connects to the address it checked, not to the name again, so a DNS answer that changes
   between the check and the connection (DNS rebinding) cannot redirect it; the Host header
   and the TLS server name still carry the original host;
4. follows redirects itself, checking each new target as in 1-3.

Steps 1 and 2 are ``bcsite.netguard``'s, shared with the API's webhook deliveries; this
module words their messages for flows and raises ``ActionError``.
"""

from __future__ import annotations

import ipaddress
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from urllib.parse import urljoin

import urllib3
from urllib3.exceptions import (
    HTTPError,
    LocationParseError,
    NewConnectionError,
    ProtocolError,
    SSLError,
)
from urllib3.exceptions import TimeoutError as Urllib3TimeoutError

from automate.connectors.base import TIMEOUT, ActionError
from bcsite.netguard import Guard, IPAddress, IPNetwork, Target, embedded_ipv4

DEFAULT_MAX_RESPONSE_BYTES = 5 * 1024 * 1024
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
# A later attempt can succeed: the server timed out, is throttling us or is failing.
RETRYABLE_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})
MAX_URL_LENGTH = 8192

# Credentials that must not follow a redirect to another origin.
ORIGIN_BOUND_HEADERS = frozenset({"authorization", "cookie", "proxy-authorization"})


@dataclass(frozen=True)
class GuardedResponse:
    status: int
    headers: Mapping[str, str]
    body: bytes
    url: str  # after redirects

    @property
    def content_type(self) -> str:
        return self.headers.get("Content-Type", "")


def is_retryable_status(status: int) -> bool:
    return status in RETRYABLE_STATUSES or status >= 500


GUARD = Guard(
    setting="AUTOMATE_HTTP_ALLOWED_NETWORKS",
    error=ActionError,
    max_url_length=MAX_URL_LENGTH,
    refusal="flows may not call it",
    missing_url="Give the URL to call.",
    wrong_scheme="Only http and https URLs can be called, not {url}.",
    credentials_in_url=(
        "Put credentials in the authentication input, not in the URL (user:password@)."
    ),
)


def allowed_networks() -> list[IPNetwork]:
    return GUARD.allowed_networks()


def check_address(ip: IPAddress, allowed: Iterable[IPNetwork] = ()) -> None:
    """Refuse ``ip`` unless it is public or inside an allowed network."""
    GUARD.check_address(ip, allowed)


def resolve(host: str, port: int) -> tuple[IPAddress, ...]:
    return GUARD.resolve(host, port)


def check_url(url: str) -> Target:
    """Parse ``url``, resolve its host and check every address it resolves to."""
    # resolve is looked up when called, so a replacement of this module's resolve() applies.
    return GUARD.check_url(url, resolve=resolve)


def guarded_request(
    method: str,
    url: str,
    *,
    headers: Mapping[str, str] | None = None,
    body: bytes | None = None,
    timeout: float = 30,
    max_redirects: int = 5,
    max_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
) -> GuardedResponse:
    """Send one request, following up to ``max_redirects`` redirects, each target checked.

    ``timeout`` bounds the whole exchange, redirects included. Raises ``ActionError``:
    retryable for timeouts and connection failures, not for refused or invalid targets.
    """
    deadline = time.monotonic() + timeout
    method = method.upper()
    headers = dict(headers or {})
    target = check_url(url)
    for hop in range(max_redirects + 1):
        response = _send(method, target, headers, body, deadline, timeout, max_bytes)
        location = response.headers.get("Location")
        if response.status not in REDIRECT_STATUSES or not location:
            return GuardedResponse(response.status, response.headers, response.body, url)
        if hop == max_redirects:
            raise ActionError(
                f"{url} redirected more than {max_redirects} times; the request was stopped."
            )
        url = urljoin(url, location.strip())
        next_target = check_url(url)
        if response.status == 303 or (response.status in (301, 302) and method == "POST"):
            # What browsers do: the redirect is fetched with GET, without the body.
            method = "HEAD" if method == "HEAD" else "GET"
            body = None
            headers = {
                k: v
                for k, v in headers.items()
                if k.lower() not in ("content-type", "content-length")
            }
        if next_target.origin != target.origin:
            headers = {k: v for k, v in headers.items() if k.lower() not in ORIGIN_BOUND_HEADERS}
        target = next_target
    raise AssertionError("unreachable")  # the loop returns or raises


def _send(
    method: str,
    target: Target,
    headers: dict[str, str],
    body: bytes | None,
    deadline: float,
    timeout: float,
    max_bytes: int,
) -> GuardedResponse:
    """One request to the first of the target's checked addresses that accepts a connection."""
    request_headers = {
        k: v
        for k, v in headers.items()
        if k.lower() not in ("host", "content-length", "transfer-encoding")
    }
    request_headers["Host"] = target.host_header
    last_error: Exception | None = None
    for ip in target.addresses:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            break
        try:
            return _send_to(ip, method, target, request_headers, body, deadline, max_bytes)
        except NewConnectionError as error:
            last_error = error  # try the host's next address
        except Urllib3TimeoutError:
            raise _timed_out(target, timeout) from None
        except SSLError as error:
            raise ActionError(
                f"The secure connection to {target.host} failed: {_reason(error)}"
            ) from None
        except (ProtocolError, HTTPError) as error:
            raise ActionError(
                f"The connection to {target.host} broke off: {_reason(error)}", retryable=True
            ) from None
        except (LocationParseError, ValueError) as error:
            raise ActionError(f"The request could not be sent: {error}") from None
    if last_error is None:
        raise _timed_out(target, timeout)
    raise ActionError(f"Could not connect to {target.host}: {_reason(last_error)}", retryable=True)


def _send_to(
    ip: IPAddress,
    method: str,
    target: Target,
    headers: dict[str, str],
    body: bytes | None,
    deadline: float,
    max_bytes: int,
) -> GuardedResponse:
    connect_to = embedded_ipv4(ip) if getattr(ip, "ipv4_mapped", None) else ip
    remaining = max(deadline - time.monotonic(), 0.001)
    pool_options: dict = {
        "host": str(connect_to),
        "port": target.port,
        "timeout": urllib3.Timeout(connect=remaining, read=remaining),
        "retries": False,
        "maxsize": 1,
    }
    if target.scheme == "https":
        pool_class: type[urllib3.HTTPConnectionPool] = urllib3.HTTPSConnectionPool
        pool_options["cert_reqs"] = "CERT_REQUIRED"
        pool_options["assert_hostname"] = target.host
        if not _is_ip_literal(target.host):
            pool_options["server_hostname"] = target.host
    else:
        pool_class = urllib3.HTTPConnectionPool
    with pool_class(**pool_options) as pool:
        response = pool.urlopen(
            method,
            target.path,
            body=body,
            headers=headers,
            redirect=False,
            retries=False,
            preload_content=False,
            assert_same_host=False,
        )
        try:
            status = response.status
            response_headers = dict(response.headers.items())
            if status in REDIRECT_STATUSES and response.headers.get("Location"):
                return GuardedResponse(status, response_headers, b"", "")
            data = _read_capped(response, target, deadline, max_bytes)
        finally:
            response.release_conn()
    return GuardedResponse(status, response_headers, data, "")


def _read_capped(response, target: Target, deadline: float, max_bytes: int) -> bytes:
    chunks = []
    size = 0
    for chunk in response.stream(64 * 1024):
        size += len(chunk)
        if size > max_bytes:
            raise ActionError(
                f"The response from {target.host} is larger than {_megabytes(max_bytes)}; "
                "it was not read."
            )
        chunks.append(chunk)
        if time.monotonic() > deadline:
            raise ActionError(
                f"The response from {target.host} took too long to arrive.",
                retryable=True,
                code=TIMEOUT,
            )
    return b"".join(chunks)


def _timed_out(target: Target, timeout: float) -> ActionError:
    return ActionError(
        f"The request to {target.host} timed out after {timeout:g} seconds.",
        retryable=True,
        code=TIMEOUT,
    )


def _reason(error: Exception) -> str:
    reason = getattr(error, "reason", None) or error
    text = str(reason)
    # urllib3 prefixes its own object reprs ("<HTTPConnection object at 0x..>: ..."); drop them.
    return text.split(">: ", 1)[-1] if text.startswith("<") else text


def _is_ip_literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):g} MB"
