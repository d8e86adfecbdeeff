"""Rate limits: per personal token, per service client, per signed-in user, counted in Redis;
429 with Retry-After in BC's error shape."""

import uuid

import pytest
from django.conf import settings as django_settings
from django.urls import include, path
from rest_framework.response import Response
from rest_framework.test import APIClient
from rest_framework.views import APIView

from bcsite.api import credentials, throttling
from bcsite.api.throttling import _seconds_until_allowed, parse_rate
from records.models import Membership


class Ping(APIView):
    def get(self, request):
        return Response({"user": request.user.get_username()})


urlpatterns = [
    path("api/test/ping", Ping.as_view()),
    path("api/", include("bcsite.api.auth_urls")),
]

pytestmark = pytest.mark.urls(__name__)
PING = "/api/test/ping"


class Clock:
    def __init__(self, start: float):
        self.now = start

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch):
    # At the start of a window of 60 s (and of 10 s), so tests know where windows end.
    fake = Clock(1_800_000_000.0)
    monkeypatch.setattr(throttling, "_now", fake)
    return fake


@pytest.fixture(autouse=True)
def own_counters(settings):
    """Counters of this test only, in the real Redis: a prefix no other test or run shares."""
    caches = {**django_settings.CACHES}
    caches["api"] = {**caches["api"], "KEY_PREFIX": f"test-rate-{uuid.uuid4().hex}"}
    settings.CACHES = caches


@pytest.fixture
def rate(settings):
    def set_rate(value: str) -> None:
        settings.REST_FRAMEWORK = {
            **django_settings.REST_FRAMEWORK,
            "DEFAULT_THROTTLE_RATES": {"api": value},
        }

    return set_rate


def bearer(key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    return client


def new_token(user, company, name="Shop") -> APIClient:
    return bearer(credentials.api_token_create(user=user, company=company, name=name)[1])


def test_the_limit_answers_429_with_retry_after(sales, company, rate, clock):
    rate("3/60s")
    api = new_token(sales, company)
    assert [api.get(PING).status_code for _ in range(3)] == [200, 200, 200]
    clock.now += 15
    response = api.get(PING)
    assert response.status_code == 429
    assert response.json()["error"]["code"] == "TooManyRequests"
    assert "throttled" in response.json()["error"]["message"]
    # Three requests fill this window: one more fits once the next has run 1/3 of its way.
    assert int(response["Retry-After"]) == 45 + 20


def test_retry_after_is_when_it_is_allowed_again(sales, company, rate, clock):
    rate("3/60s")
    api = new_token(sales, company)
    for _ in range(3):
        api.get(PING)
    refused = api.get(PING)
    wait = int(refused["Retry-After"])
    clock.now += wait - 1
    assert api.get(PING).status_code == 429
    clock.now += 1
    assert api.get(PING).status_code == 200


def test_refused_requests_do_not_count(sales, company, rate, clock):
    rate("2/10s")
    api = new_token(sales, company)
    api.get(PING), api.get(PING)
    for _ in range(20):
        assert api.get(PING).status_code == 429
    # The previous window held two requests; halfway through the next, one more fits.
    clock.now += 15
    assert api.get(PING).status_code == 200


def test_the_window_slides(sales, company, rate, clock):
    rate("10/60s")
    api = new_token(sales, company)
    clock.now += 50
    for _ in range(10):
        assert api.get(PING).status_code == 200
    # 10 s into the next window the previous one still weighs 5/6 (8.3): one more fits.
    clock.now += 20
    assert [api.get(PING).status_code for _ in range(2)] == [200, 429]
    # 30 s into it, half (5) and the one served: four more fit.
    clock.now += 20
    assert [api.get(PING).status_code for _ in range(5)] == [200] * 4 + [429]


def test_each_token_has_its_own_budget(sales, colleague, company, rate, clock):
    rate("2/60s")
    first, second = new_token(sales, company, "A"), new_token(sales, company, "B")
    other = new_token(colleague, company)
    for api in (first, second, other):
        assert [api.get(PING).status_code for _ in range(3)] == [200, 200, 429]


def test_a_signed_in_user_is_counted_apart_from_their_tokens(sales, company, rate, clock):
    rate("2/60s")
    session = APIClient()
    session.force_login(sales)
    assert [session.get(PING).status_code for _ in range(3)] == [200, 200, 429]
    assert new_token(sales, company).get(PING).status_code == 200


def test_a_service_clients_tokens_share_its_budget(admin_user, company, rate, clock):
    rate("3/60s")
    _, client_id, secret = credentials.service_client_create(
        company=company, name="Sync", role=Membership.Role.USER, by=admin_user
    )

    def access_token() -> str:
        response = APIClient().post(
            "/api/oauth2/token/",
            {"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret},
        )
        assert response.status_code == 200, response.content
        return response.json()["access_token"]

    first, second = bearer(access_token()), bearer(access_token())
    assert [first.get(PING).status_code for _ in range(2)] == [200, 200]
    assert [second.get(PING).status_code for _ in range(2)] == [200, 429]
    assert first.get(PING).status_code == 429


def test_counts_are_shared_through_redis(sales, company, rate, clock):
    """Another web process sees the same counts: a fresh cache connection reads them."""
    from django.core.cache import caches

    rate("5/60s")
    token, key = credentials.api_token_create(user=sales, company=company, name="Shop")
    for _ in range(3):
        bearer(key).get(PING)
    window = int(clock.now // 60)
    connection = caches.create_connection("api")
    assert connection.get(f"throttle:api:60:token:{token.pk}:{window}") == 3


def test_the_api_stays_up_when_redis_is_down(sales, company, rate, settings):
    rate("1/60s")
    settings.CACHES = {
        **django_settings.CACHES,
        "api": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",
        },
    }
    api = new_token(sales, company)
    assert [api.get(PING).status_code for _ in range(3)] == [200, 200, 200]


def test_no_rate_means_no_limit(sales, company, rate):
    rate("")
    api = new_token(sales, company)
    assert [api.get(PING).status_code for _ in range(5)] == [200] * 5


@pytest.mark.parametrize(
    ("value", "parsed"),
    [
        ("6000/300s", (6000, 300)),
        ("100/min", (100, 60)),
        ("10/5m", (10, 300)),
        ("1/hour", (1, 3600)),
        ("7/s", (7, 1)),
        ("", (None, None)),
    ],
)
def test_it_reads_rates(value, parsed):
    assert parse_rate(value) == parsed


@pytest.mark.parametrize("value", ["100", "x/min", "10/fortnight", "0/min", "10/0s"])
def test_it_refuses_rates_it_cannot_read(value):
    with pytest.raises(ValueError, match="API_RATE_LIMIT"):
        parse_rate(value)


def test_the_wait_is_at_least_a_second():
    assert _seconds_until_allowed(10, 60, elapsed=59.9, previous=0, current=10) >= 1
    assert _seconds_until_allowed(10, 60, elapsed=0.0, previous=10, current=0) == 6
