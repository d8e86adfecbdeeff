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
"""

from __future__ import annotations

import ipaddress
import socket
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

import urllib3
from django.conf import settings
from urllib3.exceptions import (
    HTTPError,
    LocationParseError,
    NewConnectionError,
    ProtocolError,
    SSLError,
)
from urllib3.exceptions import TimeoutError as Urllib3TimeoutError

from automate.connectors.base import TIMEOUT, ActionError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

DEFAULT_MAX_RESPONSE_BYTES = 5 * 1024 * 1024
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
# A later attempt can succeed: the server timed out, is throttling us or is failing.
RETRYABLE_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})
MAX_URL_LENGTH = 8192

SHARED_ADDRESS_SPACE = ipaddress.ip_network("100.64.0.0/10")  # carrier-grade NAT
NAT64_PREFIX = ipaddress.ip_network("64:ff9b::/96")
NAT64_LOCAL_PREFIX = ipaddress.ip_network("64:ff9b:1::/48")
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


@dataclass(frozen=True)
class Target:
    """A URL whose addresses passed the checks: where to connect and what to say."""

    scheme: str
    host: str  # as written in the URL, lower case; an IPv6 literal without brackets
    port: int
    path: str  # path and query, what goes on the request line
    addresses: tuple[IPAddress, ...]

    @property
    def host_header(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        default_port = 443 if self.scheme == "https" else 80
        return host if self.port == default_port else f"{host}:{self.port}"

    @property
    def origin(self) -> tuple[str, str, int]:
        return (self.scheme, self.host, self.port)


def is_retryable_status(status: int) -> bool:
    return status in RETRYABLE_STATUSES or status >= 500


def allowed_networks() -> list[IPNetwork]:
    raw = getattr(settings, "AUTOMATE_HTTP_ALLOWED_NETWORKS", []) or []
    networks = []
    for cidr in raw:
        try:
            networks.append(ipaddress.ip_network(str(cidr).strip(), strict=False))
        except ValueError:
            raise ActionError(
                f"The setting AUTOMATE_HTTP_ALLOWED_NETWORKS holds {cidr!r}, which is not a "
                "network (write it as 10.1.0.0/16). Ask your administrator to correct it."
            ) from None
    return networks


def embedded_ipv4(ip: IPAddress) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address stands for (mapped, 6to4, NAT64), if any."""
    if not isinstance(ip, ipaddress.IPv6Address):
        return None
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip in NAT64_PREFIX:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def _why_not_public(ip: IPAddress) -> str | None:
    if ip.is_unspecified:
        return "is unspecified"
    if ip.is_loopback:
        return "is a loopback address (this server itself)"
    if ip.is_link_local:
        return "is link-local (where cloud metadata services answer)"
    if ip.is_multicast:
        return "is a multicast address"
    if isinstance(ip, ipaddress.IPv4Address) and ip in SHARED_ADDRESS_SPACE:
        return "is in a shared (carrier-grade NAT) network"
    if isinstance(ip, ipaddress.IPv6Address) and ip in NAT64_LOCAL_PREFIX:
        return "is in a local address translation network"
    if ip.is_private:
        return "is in a private network"
    if ip.is_reserved:
        return "is in a reserved range"
    if not ip.is_global:
        return "is not a public internet address"
    return None


def check_address(ip: IPAddress, allowed: Iterable[IPNetwork] = ()) -> None:
    """Refuse ``ip`` unless it is public or inside an allowed network."""
    embedded = embedded_ipv4(ip)
    candidates = [ip] if embedded is None else [ip, embedded]
    networks = list(allowed)
    if any(c.version == n.version and c in n for c in candidates for n in networks):
        return
    if embedded is not None:
        reason = _why_not_public(embedded)
        if reason:
            raise ActionError(
                f"The address {ip} stands for {embedded}, which {reason}; flows may not call it."
            )
        if ip in NAT64_PREFIX or ip.ipv4_mapped is not None:
            # The IPv6 form only carries the IPv4 address; that one decides.
            return
    reason = _why_not_public(ip)
    if reason:
        raise ActionError(f"The address {ip} {reason}; flows may not call it.")


def resolve(host: str, port: int) -> tuple[IPAddress, ...]:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as error:
        if error.errno == socket.EAI_AGAIN:
            raise ActionError(
                f"The host name {host} could not be resolved right now.", retryable=True
            ) from None
        raise ActionError(f"The host name {host} does not exist.") from None
    except UnicodeError:
        raise ActionError(f"The host name {host} is not valid.") from None
    addresses: list[IPAddress] = []
    for _family, _type, _proto, _canonname, sockaddr in infos:
        # An IPv6 sockaddr may carry a zone ("fe80::1%eth0"); the address is before it.
        ip = ipaddress.ip_address(str(sockaddr[0]).split("%", 1)[0])
        if ip not in addresses:
            addresses.append(ip)
    if not addresses:
        raise ActionError(f"The host name {host} has no addresses.")
    return tuple(addresses)


def check_url(url: str) -> Target:
    """Parse ``url``, resolve its host and check every address it resolves to."""
    if not isinstance(url, str) or not url.strip():
        raise ActionError("Give the URL to call.")
    url = url.strip()
    if len(url) > MAX_URL_LENGTH:
        raise ActionError(f"The URL is longer than {MAX_URL_LENGTH} characters.")
    if any(ord(ch) < 0x21 or ord(ch) == 0x7F for ch in url):
        raise ActionError("The URL may not contain spaces or control characters.")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise ActionError(f"{url} is not a valid URL.") from None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise ActionError(f"Only http and https URLs can be called, not {url}.")
    if parts.username is not None or parts.password is not None:
        raise ActionError(
            "Put credentials in the authentication input, not in the URL (user:password@)."
        )
    host = (parts.hostname or "").rstrip(".")
    if not host:
        raise ActionError(f"{url} names no host.")
    port = port or (443 if scheme == "https" else 80)
    addresses = resolve(host, port)
    allowed = allowed_networks()
    for ip in addresses:
        check_address(ip, allowed)
    path = parts.path or "/"
    if parts.query:
        path = f"{path}?{parts.query}"
    return Target(scheme=scheme, host=host, port=port, path=path, addresses=addresses)


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
