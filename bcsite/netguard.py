"""Checks for outbound requests to URLs that users choose, against server-side request forgery.

A user chooses the URL (a flow's HTTP action, an API subscription's notification URL), but
the request leaves from our servers, inside our network: without a check, a request to
``http://169.254.169.254/...`` would read the cloud provider's credentials and one to
``http://10.0.0.5:6379`` would talk to Redis. A ``Guard`` therefore:

1. accepts http and https URLs only, without credentials in them;
2. resolves the host name and refuses it if ANY of its addresses is not a public one
   (private, loopback, link-local, multicast, reserved, shared, ...), unless the address lies
   in a network that the guard's setting allows;
3. returns a ``Target`` holding the addresses it checked: the caller connects to one of those,
   never to the name again, so a DNS answer that changes in between (DNS rebinding) cannot
   redirect the request.

Each use builds its own guard: which setting lists its allowed networks, which exception it
raises and how its messages name the URL and the refusal.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import urlsplit

from django.conf import settings

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

SHARED_ADDRESS_SPACE = ipaddress.ip_network("100.64.0.0/10")  # carrier-grade NAT
NAT64_PREFIX = ipaddress.ip_network("64:ff9b::/96")
NAT64_LOCAL_PREFIX = ipaddress.ip_network("64:ff9b:1::/48")


class ErrorFactory(Protocol):
    """Builds the exception a guard raises; ``retryable`` when a later attempt may succeed."""

    def __call__(self, message: str, *, retryable: bool = False) -> Exception: ...


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


def parse_networks(setting: str) -> list[IPNetwork]:
    """The networks the setting named ``setting`` lists (a list, or a comma-separated string).

    Raises ``ValueError`` with a message for the administrator if one is not a network.
    """
    raw = getattr(settings, setting, None) or []
    if isinstance(raw, str):
        raw = [part for part in raw.split(",") if part.strip()]
    networks = []
    for cidr in raw:
        try:
            networks.append(ipaddress.ip_network(str(cidr).strip(), strict=False))
        except ValueError:
            raise ValueError(
                f"The setting {setting} holds {cidr!r}, which is not a network "
                "(write it as 10.1.0.0/16). Ask your administrator to correct it."
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


def why_not_public(ip: IPAddress) -> str | None:
    """Why ``ip`` is not a public internet address ("is in a private network"), or None."""
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


@dataclass(frozen=True)
class Guard:
    """The checks, with what differs between their uses.

    ``refusal`` ends the message of a refused address ("flows may not call it");
    ``wrong_scheme`` is formatted with ``url``.
    """

    setting: str  # the setting that lists the networks allowed despite not being public
    error: ErrorFactory
    max_url_length: int
    refusal: str
    missing_url: str
    wrong_scheme: str
    credentials_in_url: str
    url_name: str = "URL"

    def allowed_networks(self) -> list[IPNetwork]:
        try:
            return parse_networks(self.setting)
        except ValueError as error:
            raise self.error(str(error)) from None

    def check_address(self, ip: IPAddress, allowed: Iterable[IPNetwork] = ()) -> None:
        """Refuse ``ip`` unless it is public or inside an allowed network."""
        embedded = embedded_ipv4(ip)
        candidates = [ip] if embedded is None else [ip, embedded]
        networks = list(allowed)
        if any(c.version == n.version and c in n for c in candidates for n in networks):
            return
        if embedded is not None:
            reason = why_not_public(embedded)
            if reason:
                raise self.error(
                    f"The address {ip} stands for {embedded}, and {embedded} {reason}; "
                    f"{self.refusal}."
                )
            if ip in NAT64_PREFIX or ip.ipv4_mapped is not None:
                # The IPv6 form only carries the IPv4 address; that one decides.
                return
        reason = why_not_public(ip)
        if reason:
            raise self.error(f"The address {ip} {reason}; {self.refusal}.")

    def resolve(self, host: str, port: int) -> tuple[IPAddress, ...]:
        """Every address ``host`` resolves to, in the resolver's order, without repeats."""
        try:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except socket.gaierror as error:
            if error.errno == socket.EAI_AGAIN:
                raise self.error(
                    f"The host name {host} could not be resolved right now.", retryable=True
                ) from None
            raise self.error(
                f"The host name {host} could not be resolved: it does not exist."
            ) from None
        except (UnicodeError, ValueError):
            raise self.error(f"The host name {host} is not valid.") from None
        addresses: list[IPAddress] = []
        for _family, _type, _proto, _canonname, sockaddr in infos:
            # An IPv6 sockaddr may carry a zone ("fe80::1%eth0"); the address is before it.
            ip = ipaddress.ip_address(str(sockaddr[0]).split("%", 1)[0])
            if ip not in addresses:
                addresses.append(ip)
        if not addresses:
            raise self.error(f"The host name {host} has no addresses.")
        return tuple(addresses)

    def check_url(
        self, url: str, *, resolve: Callable[[str, int], tuple[IPAddress, ...]] | None = None
    ) -> Target:
        """Parse ``url``, resolve its host and check every address it resolves to.

        ``resolve`` replaces ``self.resolve`` when given.
        """
        name = self.url_name
        if not isinstance(url, str) or not url.strip():
            raise self.error(self.missing_url)
        url = url.strip()
        if len(url) > self.max_url_length:
            raise self.error(f"The {name} is longer than {self.max_url_length} characters.")
        if any(ord(ch) < 0x21 or ord(ch) == 0x7F for ch in url):
            raise self.error(f"The {name} may not contain spaces or control characters.")
        try:
            parts = urlsplit(url)
            port = parts.port
        except ValueError:
            raise self.error(f"{url} is not a valid URL.") from None
        scheme = parts.scheme.lower()
        if scheme not in ("http", "https"):
            raise self.error(self.wrong_scheme.format(url=url))
        if parts.username is not None or parts.password is not None:
            raise self.error(self.credentials_in_url)
        host = (parts.hostname or "").rstrip(".")
        if not host:
            raise self.error(f"The {name} {url} names no host.")
        port = port or (443 if scheme == "https" else 80)
        addresses = (resolve or self.resolve)(host, port)
        allowed = self.allowed_networks()
        for ip in addresses:
            self.check_address(ip, allowed)
        path = parts.path or "/"
        if parts.query:
            path = f"{path}?{parts.query}"
        return Target(scheme=scheme, host=host, port=port, path=path, addresses=addresses)
