"""Rate limits per token (or per service client, or per signed-in user), counted in Redis.

``API_RATE_LIMIT`` (``6000/300s``, or DRF's ``100/min``) is how many requests one caller may
make in a window. Counting uses two fixed windows, the current and the previous one, weighted
by how far the current one has run (a sliding-window estimate): one atomic INCR a request,
shared by every web process, instead of DRF's list of timestamps, which grows with the limit
and loses counts when two processes write it at once.
"""

from __future__ import annotations

import logging
import math
import time

from django.core.cache import caches
from rest_framework.settings import api_settings
from rest_framework.throttling import BaseThrottle

from bcsite.models import ApiToken

logger = logging.getLogger(__name__)

PERIODS = {"s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600, "hour": 3600, "d": 86400, "day": 86400}


def _now() -> float:
    return time.time()


def parse_rate(rate: str | None) -> tuple[int, int] | tuple[None, None]:
    """``6000/300s``, ``100/min``, ``10/5m`` -> (requests, seconds); None: no limit."""
    if not rate:
        return (None, None)
    try:
        count, period = rate.strip().split("/")
        digits = "".join(c for c in period if c.isdigit())
        unit = period[len(digits) :].strip().lower() or "s"
        seconds = (int(digits) if digits else 1) * PERIODS[unit]
        requests = int(count)
    except (ValueError, KeyError):
        raise ValueError(f"API_RATE_LIMIT {rate!r} is not like 6000/300s or 100/min.") from None
    if requests < 1 or seconds < 1:
        raise ValueError(f"API_RATE_LIMIT {rate!r} must allow at least one request a second.")
    return requests, seconds


def caller_ident(request) -> str:
    """Who is counted: the token, the service client (all its tokens together), the user."""
    auth = request.auth
    if isinstance(auth, ApiToken):
        return f"token:{auth.pk}"
    if auth is not None and getattr(auth, "application_id", None):
        return f"client:{auth.application_id}"
    user = request.user
    if user is not None and user.is_authenticated:
        return f"user:{user.pk}"
    return f"ip:{BaseThrottle().get_ident(request)}"


class ApiRateThrottle(BaseThrottle):
    scope = "api"

    def __init__(self):
        self.cache = caches["api"]
        self._wait: float | None = None

    def rate(self) -> tuple[int, int] | tuple[None, None]:
        # Read at each request, so a changed setting (in tests, say) takes effect at once.
        return parse_rate(api_settings.DEFAULT_THROTTLE_RATES.get(self.scope))

    def allow_request(self, request, view) -> bool:
        limit, period = self.rate()
        if limit is None:
            return True
        now = _now()
        window = int(now // period)
        base = f"throttle:{self.scope}:{period}:{caller_ident(request)}"
        current_key, previous_key = f"{base}:{window}", f"{base}:{window - 1}"
        try:
            # add() then incr(): atomic in Redis, the window's key expires by itself.
            self.cache.add(current_key, 0, timeout=period * 2 + 1)
            current = self.cache.incr(current_key)
            previous = self.cache.get(previous_key) or 0
        except Exception:
            # A rate limit that cannot be counted must not take the API down with Redis.
            logger.warning("API rate limit not checked: the cache is unavailable", exc_info=True)
            return True
        elapsed = now - window * period
        estimate = previous * (1 - elapsed / period) + current
        if estimate <= limit:
            return True
        try:
            # A refused request does not count: the limit is on requests served.
            current = self.cache.decr(current_key)
        except Exception:
            logger.warning("API rate limit: could not uncount a refused request", exc_info=True)
        self._wait = _seconds_until_allowed(limit, period, elapsed, previous, current)
        return False

    def wait(self) -> float | None:
        return self._wait


def _seconds_until_allowed(
    limit: int, period: int, elapsed: float, previous: int, current: int
) -> int:
    """When one more request fits: the previous window's weight shrinks as time passes, and
    after this window ends its count becomes the previous one."""
    if current < limit and previous:
        # Later in this window: previous * (1 - t / period) + current + 1 <= limit.
        fraction = 1 - (limit - current - 1) / previous
        wait = fraction * period - elapsed
    else:
        # In the next window: current * (1 - t / period) + 1 <= limit.
        fraction = max(0.0, 1 - (limit - 1) / current) if current else 0.0
        wait = (period - elapsed) + fraction * period
    return max(1, math.ceil(wait))
