"""Signatures on webhook and business event deliveries.

Every delivery carries two headers:

- ``X-Bcsite-Timestamp``: the time of sending, in whole seconds since 1970 (UTC);
- ``X-Bcsite-Signature``: ``sha256=<hex>``, the HMAC-SHA256 of ``"<timestamp>.<body>"``
  under the subscription's signing secret (returned once, when the subscription is created).

A receiver recomputes the HMAC over the raw body it received, compares it in constant time
and refuses timestamps too far from its own clock, so a captured request cannot be replayed
later. ``verify`` does exactly that, for receivers written in Python.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time

TIMESTAMP_HEADER = "X-Bcsite-Timestamp"
SIGNATURE_HEADER = "X-Bcsite-Signature"
SCHEME = "sha256"


def new_signing_secret() -> str:
    return secrets.token_hex(32)


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """``sha256=<hex>`` of ``"<timestamp>.<body>"`` under ``secret``."""
    message = timestamp.encode() + b"." + body
    digest = hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()
    return f"{SCHEME}={digest}"


def signed_headers(secret: str, body: bytes, *, now: float | None = None) -> dict[str, str]:
    timestamp = str(int(time.time() if now is None else now))
    return {TIMESTAMP_HEADER: timestamp, SIGNATURE_HEADER: signature(secret, timestamp, body)}


def verify(
    secret: str,
    *,
    timestamp: str,
    signature_header: str,
    body: bytes,
    tolerance: float = 300,
    now: float | None = None,
) -> bool:
    """Whether ``signature_header`` signs ``body`` at ``timestamp``, sent within
    ``tolerance`` seconds of ``now``."""
    if not timestamp.isdigit():
        return False
    current = time.time() if now is None else now
    if abs(current - int(timestamp)) > tolerance:
        return False
    return hmac.compare_digest(signature(secret, timestamp, body), signature_header.strip())
