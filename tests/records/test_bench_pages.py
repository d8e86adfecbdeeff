import json
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.core.management import CommandError, call_command
from rest_framework.test import APIClient

from bcsite.bench import BadAnswer, HttpTarget, _check, _load, http_throughput
from bcsite.models import ApiToken
from records.management.commands.bench_pages import BENCH_API_ENVIRONMENT, bench_api_token
from tests.workers import use_file_database

# gunicorn opens the test database from its own processes, so it must be a file.
use_file_database()


@pytest.fixture(autouse=True)
def _own_rate_limit_counts(settings):
    # Test databases hand out the same token ids again: count under a prefix of our own.
    settings.CACHES = {
        **settings.CACHES,
        "api": {**settings.CACHES["api"], "KEY_PREFIX": f"bcsite-api-test-{uuid.uuid4().hex}"},
    }


def test_bench_pages_measures_every_page_and_writes_json(db, tmp_path, capsys):
    output = tmp_path / "pages.json"
    call_command(
        "bench_pages", orders=250, customers=60, samples=2, http_seconds=0, output=str(output)
    )
    report = json.loads(output.read_text())
    assert report["rows"] == {"sales orders": 250, "customers": 60}
    assert {r["page"] for r in report["results"]} >= {
        "sales order list, middle page",
        "sales order document",
        "role centre",
    }
    assert all(r["p95_ms"] >= r["p50_ms"] > 0 and r["queries"] > 0 for r in report["results"])
    assert report["http"] == [] and report["http_environment"] == {}
    assert report["cores"] > 0 and report["database"] in ("sqlite", "postgresql")
    assert "sales order list, first page" in capsys.readouterr().out
    # Without the HTTP part no token is made.
    assert not ApiToken.objects.exists()


def test_the_bench_token_acts_as_its_user_and_replaces_the_last_one(sales, company, settings):
    first = bench_api_token(user=sales, company=company)
    second = bench_api_token(user=sales, company=company)
    api = APIClient()
    path = f"/api/v2.0/companies({company.system_id})/salesOrders?$top=50"
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {first}")
    assert api.get(path).status_code == 401
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {second}")
    response = api.get(path)
    assert response.status_code == 200 and response.json()["value"] == []
    tokens = ApiToken.objects.filter(user=sales, company=company)
    assert tokens.count() == 2 and tokens.filter(revoked_at=None).count() == 1


def test_it_refuses_no_clients(db):
    with pytest.raises(CommandError, match="--http-clients"):
        call_command("bench_pages", orders=0, customers=0, http_clients=0)


API_TARGET = HttpTarget("api", "/api/x", rows=3)
WALK_TARGET = HttpTarget("walk", "/api/x", rows=3, follow_next=True)


def _page(rows: int, next_link: str | None = None) -> bytes:
    body: dict = {"value": [{"n": n} for n in range(rows)]}
    if next_link:
        body["@odata.nextLink"] = next_link
    return json.dumps(body).encode()


def test_an_answer_must_be_a_200_with_the_rows_of_a_page():
    assert _check(API_TARGET, "/api/x", 200, _page(3, "http://h:1/api/x?$skiptoken=a")) is None
    with pytest.raises(BadAnswer, match="answered 429"):
        _check(API_TARGET, "/api/x", 429, b'{"error": {"code": "TooManyRequests"}}')
    with pytest.raises(BadAnswer, match="answered 2 rows, not 3"):
        _check(API_TARGET, "/api/x", 200, _page(2))
    with pytest.raises(BadAnswer, match="not answer an OData collection"):
        _check(API_TARGET, "/api/x", 200, b"<html>")
    # HTML: only the status is checked.
    assert _check(HttpTarget("page", "/p/"), "/p/", 200, b"<html>") is None


def test_a_walk_follows_the_next_link_and_only_its_last_page_may_be_short():
    following = _check(WALK_TARGET, "/api/x", 200, _page(3, "http://h:1/api/x?$skiptoken=a.b"))
    assert following == "/api/x?$skiptoken=a.b"
    assert _check(WALK_TARGET, "/api/x", 200, _page(1)) is None
    with pytest.raises(BadAnswer, match="answered 2 rows"):
        _check(WALK_TARGET, "/api/x", 200, _page(2, "http://h:1/api/x?$skiptoken=a"))
    with pytest.raises(BadAnswer, match="answered 0 rows"):
        _check(WALK_TARGET, "/api/x", 200, _page(0))


class _FailingAfter(BaseHTTPRequestHandler):
    """Answers pages of 3 rows, then a 500 from the fifth request on."""

    protocol_version = "HTTP/1.1"
    served = 0
    lock = threading.Lock()

    def do_GET(self):
        with self.lock:
            type(self).served += 1
            n = self.served
        status, body = (200, _page(3)) if n < 5 else (500, b"boom")
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def test_the_first_failed_request_stops_the_clients_and_is_reported():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _FailingAfter)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        times, failures = _load(server.server_port, API_TARGET, ["/api/x"], 2, seconds=30)
    finally:
        server.shutdown()
        server.server_close()
    # The clients stopped at the failure, long before the 30 seconds.
    assert len(times) == 4
    assert failures and failures[0] == "GET /api/x answered 500: boom"


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_it_measures_the_list_and_the_api_over_gunicorn(tmp_path, capsys, monkeypatch):
    # A limit the measurement would pass at once: the bench raises it for its gunicorn.
    monkeypatch.setenv("API_RATE_LIMIT", "3/300s")
    output = tmp_path / "pages.json"
    call_command(
        "bench_pages",
        orders=120,
        customers=30,
        samples=1,
        http_seconds=1.5,
        http_clients=2,
        output=str(output),
    )
    report = json.loads(output.read_text())
    page, top, walk = report["http"]
    assert report["http_environment"]["API_RATE_LIMIT"] == "1000000000/1s"
    assert page["url"] == "/sales-orders/" and page["rows_per_page"] is None
    company_id = ApiToken.objects.get(revoked_at=None).company.system_id
    assert top["url"] == f"/api/v2.0/companies({company_id})/salesOrders?$top=50"
    assert walk["url"] == f"/api/v2.0/companies({company_id})/salesOrders"
    assert top["rows_per_page"] == walk["rows_per_page"] == 50
    # Two clients, one from the second page, one from the middle of the table.
    orders = report["rows"]["sales orders"]
    assert f"after rows 50, {(orders - 50) // 2 + 50:,} of {orders:,}" in walk["note"]
    for row in (page, top, walk):
        assert row["requests"] > 3 and row["requests_per_s"] > 0 and row["errors"] == 0
        assert 0 < row["p50_ms"] <= row["p95_ms"]
    out = capsys.readouterr().out
    assert "API_RATE_LIMIT=1000000000/1s" in out and "API salesOrders, $top=50" in out


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_an_answer_without_its_rows_fails_the_bench_with_a_message(sales, company, tmp_path):
    key = bench_api_token(user=sales, company=company)
    path = f"/api/v2.0/companies({company.system_id})/salesOrders?$top=50"
    target = HttpTarget("API", path, headers={"Authorization": f"Bearer {key}"}, rows=50)
    # The company has no orders: a 200, but not a page of 50.
    with pytest.raises(CommandError, match=r"^API: GET .*\$top=50 answered 0 rows, not 50"):
        http_throughput(
            [target],
            seconds=0.5,
            clients=1,
            workers=1,
            threads=1,
            env=BENCH_API_ENVIRONMENT,
            log_path=tmp_path / "gunicorn.log",
        )
