"""Outbound requests to subscribers' notification URLs, guarded against request forgery.

A subscriber chooses the URL, but the request leaves from our servers, inside our network:
without a guard, a subscription to ``http://169.254.169.254/...`` or ``http://10.0.0.5:6379``
would make us talk to the cloud's metadata service or to Redis. So every request:

1. accepts http and https only, without credentials in the URL;
2. resolves the host and refuses it if ANY of its addresses is not public (private,
   loopback, link-local, multicast, reserved, shared, ...), unless the address lies in a
   network the setting ``API_WEBHOOK_ALLOWED_NETWORKS`` allows;
3. connects to the address it checked, not to the name again, so a DNS answer that changes
   in between cannot redirect it; the Host header and TLS server name keep the host;
4. never follows redirects: a notification URL that redirects is answered as a failure.

Steps 1 and 2 are ``bcsite.netguard``'s, shared with flows' HTTP actions; this module words
their messages for notifications and raises ``DeliveryError``.
"""

from __future__ import annotations

import ipaddress
import time
from dataclasses import dataclass

import urllib3
from urllib3.exceptions import HTTPError, NewConnectionError, SSLError
from urllib3.exceptions import TimeoutError as Urllib3TimeoutError

from bcsite.netguard import Guard, IPAddress, IPNetwork, Target, embedded_ipv4

MAX_URL_LENGTH = 2000
USER_AGENT = "bcsite-webhooks/1.0"
# A subscriber's answer is not read further: only its status matters (and the token).
MAX_RESPONSE_BYTES = 64 * 1024


class DeliveryError(Exception):
    """A request that could not be made or got no answer; the message says why.

    ``retryable`` marks a failure that may pass by itself (a DNS server that did not answer).
    """

    def __init__(self, message: str, *, retryable: bool = False):
        super().__init__(message)
        self.retryable = retryable


@dataclass(frozen=True)
class Answer:
    status: int
    body: bytes


GUARD = Guard(
    setting="API_WEBHOOK_ALLOWED_NETWORKS",
    error=DeliveryError,
    max_url_length=MAX_URL_LENGTH,
    refusal="notifications are not sent there",
    missing_url="Give the notification URL.",
    wrong_scheme="The notification URL must start with https:// or http://: {url}",
    credentials_in_url="The notification URL may not hold a user name or password.",
    url_name="notification URL",
)


def allowed_networks() -> list[IPNetwork]:
    return GUARD.allowed_networks()


def check_address(ip: IPAddress, allowed: list[IPNetwork]) -> None:
    GUARD.check_address(ip, allowed)


def check_url(url: str) -> Target:
    """Parse ``url``, resolve its host and check every address it resolves to."""
    return GUARD.check_url(url)


def post(url: str, *, body: bytes, headers: dict[str, str], timeout: float) -> Answer:
    """POST ``body`` to ``url`` once; ``timeout`` bounds the whole exchange."""
    target = check_url(url)
    deadline = time.monotonic() + timeout
    headers = {"User-Agent": USER_AGENT, **headers, "Host": target.host_header}
    last_error: Exception | None = None
    for ip in target.addresses:
        if time.monotonic() >= deadline:
            break
        try:
            return _post_to(ip, target, body, headers, deadline)
        except NewConnectionError as error:
            last_error = error  # try the host's next address
        except Urllib3TimeoutError:
            break
        except SSLError as error:
            raise DeliveryError(f"The secure connection to {target.host} failed: {error}") from None
        except (HTTPError, OSError) as error:
            raise DeliveryError(f"The connection to {target.host} broke off: {error}") from None
    if last_error is not None and time.monotonic() < deadline:
        raise DeliveryError(f"Could not connect to {target.host}:{target.port}.")
    raise DeliveryError(f"{target.host} did not answer within {timeout:g} seconds.")


def _post_to(ip: IPAddress, target: Target, body: bytes, headers: dict, deadline: float) -> Answer:
    connect_to = embedded_ipv4(ip) if getattr(ip, "ipv4_mapped", None) else ip
    remaining = max(deadline - time.monotonic(), 0.001)
    options: dict = {
        "host": str(connect_to),
        "port": target.port,
        "timeout": urllib3.Timeout(connect=remaining, read=remaining),
        "retries": False,
        "maxsize": 1,
    }
    pool_class: type[urllib3.HTTPConnectionPool] = urllib3.HTTPConnectionPool
    if target.scheme == "https":
        pool_class = urllib3.HTTPSConnectionPool
        options["cert_reqs"] = "CERT_REQUIRED"
        options["assert_hostname"] = target.host
        try:
            ipaddress.ip_address(target.host)
        except ValueError:
            options["server_hostname"] = target.host
    with pool_class(**options) as pool:
        response = pool.urlopen(
            "POST",
            target.path,
            body=body,
            headers=headers,
            redirect=False,
            retries=False,
            preload_content=False,
            assert_same_host=False,
        )
        try:
            data = b""
            for chunk in response.stream(16 * 1024):
                data += chunk
                if len(data) >= MAX_RESPONSE_BYTES or time.monotonic() > deadline:
                    break
            return Answer(status=response.status, body=data[:MAX_RESPONSE_BYTES])
        finally:
            response.release_conn()
