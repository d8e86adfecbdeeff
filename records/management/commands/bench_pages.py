"""``manage.py bench_pages``: server time and query counts of list, card and document pages.

Measures with Django's test client inside one process, so the figures are the server's own
time (URL resolving, views, queries, templates), without network or browser. The data is
topped up first with ``seed_demo`` (100k sales orders, 10k customers by default), on the
database that DATABASE_URL names.

Then the list's throughput over HTTP: gunicorn serving ``throughput_targets`` (50 rows a
page) to several keep-alive clients, requests a second (``--http-seconds 0`` skips it).
Prints tables and writes JSON to var/bench/.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import BaseCommand, call_command
from django.test import Client

from bcsite.bench import fmt, http_throughput, machine, page_time, print_table
from bcsite.pages.listing import list_cursor
from bcsite.registry import registry
from records.models import Company, Customer, Item, SalesOrder

SAMPLES = 30


def throughput_targets(company: Company) -> list[tuple[str, str]]:
    """What the throughput over gunicorn measures, as (label, path), 50 rows a page.

    The hook for the REST API: its list endpoint joins this list once it exists, e.g.
    ``("API salesOrders, 50 a page", f"/api/v2.0/companies({company.system_id})/"
    "salesOrders?$top=50")``, and is measured the same way.
    """
    return [("sales order list page, 50 rows (HTML, not the API)", "/sales-orders/")]


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
        call_command(
            "seed_demo", orders=options["orders"], customers=options["customers"], verbosity=0
        )
        # The test client checks ALLOWED_HOSTS like any request does.
        settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
        client = Client()
        client.force_login(get_user_model().objects.get(username="sales"))
        company = Company.objects.get(name="CRONUS")
        results = [
            page_time(client, label, url, options["samples"]) for label, url in self._cases(company)
        ]
        http = []
        if options["http_seconds"] > 0:
            http = http_throughput(
                throughput_targets(company),
                cookies={name: morsel.value for name, morsel in client.cookies.items()},
                seconds=options["http_seconds"],
                clients=options["http_clients"],
                log_path=Path(options["output"]).parent / "logs" / "gunicorn.log",
            )
        report = {
            "benchmark": "pages",
            **machine(),
            "rows": {
                "sales orders": SalesOrder.objects.filter(company=company).count(),
                "customers": Customer.objects.filter(company=company).count(),
            },
            "results": results,
            "http": http,
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
        for row in report["http"]:
            self.stdout.write(
                f"Throughput over HTTP ({row['server']}, {row['clients']} clients): "
                f"{row['target']}: {fmt(row['requests_per_s'])} requests/s, "
                f"p50 {fmt(row['p50_ms'])} ms, p95 {fmt(row['p95_ms'])} ms, "
                f"{row['errors']} errors"
            )
