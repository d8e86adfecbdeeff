"""``manage.py bench_pages``: server time and query counts of list, card and document pages.

Measures with Django's test client inside one process, so the figures are the server's own
time (URL resolving, views, queries, templates), without network or browser. The data is
topped up first with ``seed_demo`` (100k sales orders, 10k customers by default), on the
database that DATABASE_URL names.

Then the lists' throughput over HTTP: gunicorn serving ``throughput_targets`` (50 rows a
page) to several keep-alive clients, requests a second (``--http-seconds 0`` skips it): the
sales order list page signed in, and the REST API's salesOrders with a personal API token,
its first page and its pages deep in the table by ``@odata.nextLink``. The API's rate limit
is raised for that gunicorn only. Prints tables and writes JSON to var/bench/.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import BaseCommand, CommandError, call_command
from django.test import Client

from bcsite.api.credentials import api_token_create, api_token_revoke, api_tokens_active
from bcsite.bench import HttpTarget, fmt, http_throughput, machine, page_time, print_table
from bcsite.pages.listing import list_cursor
from bcsite.registry import registry
from records.models import Company, Customer, Item, SalesOrder

SAMPLES = 30
PAGE_ROWS = 50
BENCH_TOKEN_NAME = "bench_pages throughput"
# The bench's gunicorn only: a limit no bench comes near, so the throttle still counts every
# request in Redis, as in production, but never refuses one; counted under a prefix of its
# own, apart from any other instance on the same Redis.
BENCH_API_ENVIRONMENT = {"API_RATE_LIMIT": "1000000000/1s", "API_CACHE_PREFIX": "bcsite-api-bench"}


def bench_api_token(*, user, company: Company) -> str:
    """A personal API token of ``user`` in ``company`` for the bench, and its key.

    Only a token's hash is kept, so an earlier bench's token cannot be used again: it is
    revoked, and a new one made, so that bench runs do not pile up active tokens.
    """
    earlier = api_tokens_active(user=user).filter(company=company, name=BENCH_TOKEN_NAME)
    for token in earlier:
        api_token_revoke(token=token, by=user)
    _, key = api_token_create(user=user, company=company, name=BENCH_TOKEN_NAME)
    return key


def throughput_targets(
    company: Company, *, cookies: dict[str, str], token: str, orders: int, clients: int
) -> list[HttpTarget]:
    """What the throughput over gunicorn measures, 50 rows a page.

    1. The sales order list page (HTML), signed in with the session ``cookies``.
    2. The API's salesOrders, ``$top=50``, with the personal API ``token``.
    3. The same collection 50 rows a page (``Prefer: odata.maxpagesize=50``; a ``$top``
       comes back whole, with no next link) walked by ``@odata.nextLink``: the clients
       begin spread over the ``orders`` (client n after row n * orders / clients), so the
       pages they ask for are keyset pages from the first to the last of the table.
    """
    cookie = "; ".join(f"{name}={value}" for name, value in cookies.items())
    api = f"/api/v2.0/companies({company.system_id})/salesOrders"
    bearer = {"Authorization": f"Bearer {token}"}
    offsets = [n * max(0, orders - PAGE_ROWS) // clients for n in range(clients)]
    return [
        HttpTarget(
            "sales order list page (HTML), 50 rows",
            "/sales-orders/",
            headers={"Cookie": cookie},
            note="signed in with a session cookie",
        ),
        HttpTarget(
            "API salesOrders, $top=50",
            f"{api}?$top={PAGE_ROWS}",
            headers=bearer,
            rows=PAGE_ROWS,
            note="personal API token; every answer a 200 with 50 rows",
        ),
        HttpTarget(
            "API salesOrders, nextLink pages of 50",
            api,
            headers={**bearer, "Prefer": f"odata.maxpagesize={PAGE_ROWS}"},
            rows=PAGE_ROWS,
            follow_next=True,
            entry_points=tuple(f"{api}?$skip={offset}" for offset in offsets),
            note=(
                f"personal API token; the clients begin after rows "
                f"{', '.join(f'{offset + PAGE_ROWS:,}' for offset in offsets)} of {orders:,} "
                "and follow @odata.nextLink to the end, then start over; every page 50 rows "
                "but the table's last"
            ),
        ),
    ]


class Command(BaseCommand):
    help = "Measure list, card and document page server time at volume (p50/p95, queries)."

    def add_arguments(self, parser):
        parser.add_argument("--orders", type=int, default=100_000)
        parser.add_argument("--customers", type=int, default=10_000)
        parser.add_argument("--samples", type=int, default=SAMPLES)
        parser.add_argument("--http-seconds", type=float, default=8.0)
        parser.add_argument("--http-clients", type=int, default=8)
        parser.add_argument("--output", default=str(settings.VAR_DIR / "bench" / "pages.json"))

    def handle(self, *args, **options):
        if options["http_seconds"] > 0 and options["http_clients"] < 1:
            raise CommandError("--http-clients must be at least 1 (or --http-seconds 0).")
        call_command(
            "seed_demo", orders=options["orders"], customers=options["customers"], verbosity=0
        )
        # The test client checks ALLOWED_HOSTS like any request does.
        settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
        client = Client()
        user = get_user_model().objects.get(username="sales")
        client.force_login(user)
        company = Company.objects.get(name="CRONUS")
        results = [
            page_time(client, label, url, options["samples"]) for label, url in self._cases(company)
        ]
        orders = SalesOrder.objects.filter(company=company).count()
        http, http_environment = [], {}
        if options["http_seconds"] > 0:
            http_environment = dict(BENCH_API_ENVIRONMENT)
            targets = throughput_targets(
                company,
                cookies={name: morsel.value for name, morsel in client.cookies.items()},
                token=bench_api_token(user=user, company=company),
                orders=orders,
                clients=options["http_clients"],
            )
            http = http_throughput(
                targets,
                seconds=options["http_seconds"],
                clients=options["http_clients"],
                env=http_environment,
                log_path=Path(options["output"]).parent / "logs" / "gunicorn.log",
            )
        report = {
            "benchmark": "pages",
            **machine(),
            "rows": {
                "sales orders": orders,
                "customers": Customer.objects.filter(company=company).count(),
            },
            "results": results,
            "http": http,
            "http_environment": http_environment,
        }
        self._print(report)
        output = Path(options["output"])
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(json.dumps(report, indent=2))
        self.stdout.write(f"Written to {output}")

    def _cases(self, company: Company) -> list[tuple[str, str]]:
        orders = SalesOrder.objects.filter(company=company)
        rng = random.Random(7)
        middle = orders.order_by("no")[orders.count() // 2]
        deep = list_cursor(registry.pages["sales_order_list"], middle.no, middle.pk)
        order = orders.order_by("pk")[rng.randrange(orders.count())]
        customers = Customer.objects.filter(company=company)
        customer = customers.order_by("pk")[rng.randrange(customers.count())]
        item = Item.objects.filter(company=company).order_by("pk").first()
        return [
            ("sales order list, first page", "/sales-orders/"),
            ("sales order list, middle page", f"/sales-orders/?after={deep}"),
            ("sales order list, status filter", "/sales-orders/?status=released"),
            ("sales order list, sorted by date", "/sales-orders/?sort=-order_date"),
            ("sales order list, search", "/sales-orders/?q=fabrikam"),
            ("customer list, first page", "/customers/"),
            ("customer list, search", "/customers/?q=atlanta"),
            ("sales order document", f"/sales-orders/{order.pk}/"),
            ("customer card", f"/customers/{customer.pk}/"),
            ("item card", f"/items/{item.pk}/"),
            ("role centre", "/"),
        ]

    def _print(self, report: dict) -> None:
        rows = report["rows"]
        title = (
            f"Page server time on {report['database']}, {report['cores']} cores, "
            f"{rows['sales orders']:,} sales orders, {rows['customers']:,} customers"
        )
        print_table(self.stdout.write, title, report["results"])
        if report["http"]:
            first = report["http"][0]
            self.stdout.write(
                f"Throughput over HTTP ({first['server']}, {first['clients']} keep-alive "
                f"clients); the API's rate limit raised for this gunicorn only: "
                f"API_RATE_LIMIT={report['http_environment'].get('API_RATE_LIMIT')} "
                f"(otherwise {settings.REST_FRAMEWORK['DEFAULT_THROTTLE_RATES']['api']})"
            )
        for row in report["http"]:
            self.stdout.write(
                f"  {row['target']}: {fmt(row['requests_per_s'])} requests/s, "
                f"p50 {fmt(row['p50_ms'])} ms, p95 {fmt(row['p95_ms'])} ms, "
                f"{row['requests']:,} answers, all 200 ({row['note']})"
            )
