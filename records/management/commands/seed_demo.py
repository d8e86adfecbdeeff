from django.core.management.base import BaseCommand, CommandError

from records.demo import DEMO_PASSWORD, USERS, demo_seed


def _count(value: str) -> int:
    number = int(value)
    if number < 0:
        raise ValueError(value)
    return number


class Command(BaseCommand):
    help = (
        "Load the demo company CRONUS: users, customers, items and sales orders. "
        "Creates only what is missing, so it can run again. --customers/--items/--orders "
        "top the company up to that many rows, for benchmarks."
    )

    def add_arguments(self, parser):
        for name in ("customers", "items", "orders"):
            parser.add_argument(
                f"--{name}",
                type=_count,
                default=None,
                metavar="N",
                help=f"Top the company up to N {name} (rows already there count).",
            )

    def handle(self, *args, customers, items, orders, verbosity, **options):
        if orders and orders > 10_000_000:
            raise CommandError("--orders is limited to 10,000,000.")
        log = self.stdout.write if verbosity >= 1 else None
        summary = demo_seed(customers=customers, items=items, orders=orders, log=log)
        company = summary.company
        vat = f"{company.vat_percent.normalize():f}"
        self.stdout.write(
            self.style.SUCCESS(f"Company {company.name} ({company.display_name}), VAT {vat}%")
        )
        created = ", ".join(f"{n} {what}" for what, n in summary.created.items()) or "nothing"
        self.stdout.write(f"Created: {created}.")
        for what, n in summary.totals.items():
            self.stdout.write(f"  {what:<24}{n:>10}")
        users = ", ".join(username for username, *_ in USERS)
        self.stdout.write(f"Demo users: {users} (password for new users: {DEMO_PASSWORD}).")
        seconds = sum(summary.seconds.values())
        self.stdout.write(f"Done in {seconds:.1f} s.")
