"""The demo company CRONUS: master data and sales documents to try the product with.

``demo_seed`` can run at every start. The company, the users and the number series are
created when missing; the demo customers, items and orders are loaded once, into a company
that has none yet, so what people change, delete or post afterwards stays as they left it.
The demo rows go through the services, so their numbers, totals, ledger entries and
inventory are what a user would get by hand. Volume for benchmarks
(``customers``, ``orders``, ``items``) is written with ``bulk_create`` instead, with the
amounts computed by the same model methods the services use.

Everything is drawn from one seeded random generator: two fresh databases get the same
customers, items and orders (dates move with the day the seed runs).
"""

from __future__ import annotations

import datetime
import itertools
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone

from bcsite.registry import registry
from records import services
from records.models import (
    ZERO,
    Company,
    Customer,
    Item,
    Membership,
    NoSeries,
    PostedSalesInvoice,
    SalesOrder,
    SalesOrderLine,
    round_amount,
)
from records.services.locks import no_series_lock
from records.services.no_series import DEFAULT_SERIES, increment_no
from records.services.sales_orders import LINE_NO_STEP, PAYMENT_DAYS

SEED = 20240115
COMPANY_NAME = "CRONUS"
COMPANY_DISPLAY_NAME = "CRONUS USA, Inc."
# The model's default and the test personas' rate, so the demo and the tests agree.
VAT_PERCENT = Decimal("25")
DEMO_PASSWORD = "demo"
BATCH = 2000

# (username, superuser, membership role, first name, last name)
USERS = [
    ("admin", True, Membership.Role.ADMIN, "Annie", "Admin"),
    ("sales", False, Membership.Role.USER, "Susan", "Sales"),
    ("approver", False, Membership.Role.USER, "Alan", "Approver"),
]

# city -> (post codes, area code, streets)
CITIES: dict[str, tuple[tuple[str, ...], str, tuple[str, ...]]] = {
    "Atlanta": (
        ("30303", "30308", "30309", "30318"),
        "404",
        ("Peachtree St NE", "Spring St NW", "Piedmont Ave NE", "Marietta St NW"),
    ),
    "Chicago": (
        ("60601", "60603", "60606", "60611"),
        "312",
        ("N Michigan Ave", "W Madison St", "W Wacker Dr", "S LaSalle St"),
    ),
    "Miami": (
        ("33130", "33131", "33132", "33137"),
        "305",
        ("Brickell Ave", "Biscayne Blvd", "NW 7th St", "SW 8th St"),
    ),
    "New York": (
        ("10001", "10016", "10018", "10036"),
        "212",
        ("Broadway", "Madison Ave", "W 34th St", "Lexington Ave"),
    ),
    "Boston": (("02108", "02110", "02116"), "617", ("Boylston St", "State St", "Tremont St")),
    "Dallas": (("75201", "75202", "75204"), "214", ("Main St", "Elm St", "McKinney Ave")),
    "Houston": (("77002", "77006", "77019"), "713", ("Louisiana St", "Travis St", "Westheimer Rd")),
    "Denver": (("80202", "80203", "80205"), "303", ("Larimer St", "17th St", "Colfax Ave")),
    "Seattle": (("98101", "98104", "98109"), "206", ("Pike St", "1st Ave", "Westlake Ave N")),
    "San Francisco": (
        ("94103", "94105", "94111"),
        "415",
        ("Market St", "Mission St", "Montgomery St"),
    ),
    "Phoenix": (
        ("85003", "85004", "85012"),
        "602",
        ("Central Ave", "Van Buren St", "Camelback Rd"),
    ),
    "Minneapolis": (("55401", "55402", "55403"), "612", ("Nicollet Mall", "Hennepin Ave")),
    "Nashville": (("37201", "37203", "37219"), "615", ("Broadway", "Church St", "West End Ave")),
    "Charlotte": (("28202", "28203", "28204"), "704", ("S Tryon St", "N College St")),
}

# (name, city, credit limit, blocked, salesperson)
CUSTOMERS: list[tuple[str, str, int, str, str]] = [
    ("Adatum Corporation", "Atlanta", 25000, "", "JR"),
    ("Trey Research", "Chicago", 10000, "", "PS"),
    ("School of Fine Art", "Miami", 0, "", "OF"),
    ("Alpine Ski House", "Denver", 15000, "", "JR"),
    ("Relecloud", "Seattle", 50000, "", "PS"),
    ("Coho Winery", "San Francisco", 10000, "", "OF"),
    ("Fabrikam, Inc.", "Atlanta", 40000, "", "JR"),
    ("Contoso Ltd.", "Chicago", 30000, "", "PS"),
    ("Litware, Inc.", "Boston", 20000, "", "OF"),
    ("Northwind Traders", "Miami", 25000, "", "JR"),
    ("Tailspin Toys", "Dallas", 8000, "", "PS"),
    ("Wide World Importers", "Houston", 60000, "", "OF"),
    ("Woodgrove Bank", "New York", 100000, "", "JR"),
    ("Proseware, Inc.", "Atlanta", 15000, "", "PS"),
    ("Lucerne Publishing", "New York", 12000, "", "OF"),
    ("Margie's Travel", "Miami", 5000, "", "JR"),
    ("Fourth Coffee", "Seattle", 7500, "", "PS"),
    ("Graphic Design Institute", "Chicago", 0, "", "OF"),
    ("Humongous Insurance", "Boston", 45000, "", "JR"),
    ("Blue Yonder Airlines", "Dallas", 80000, "", "PS"),
    ("City Power & Light", "Phoenix", 35000, "", "OF"),
    ("Consolidated Messenger", "Atlanta", 10000, "", "JR"),
    ("Southridge Video", "Nashville", 6000, "", "PS"),
    ("VanArsdel, Ltd.", "Minneapolis", 20000, "", "OF"),
    ("Wingtip Toys", "Charlotte", 9000, "", "JR"),
    ("The Phone Company", "Chicago", 30000, "", "PS"),
    ("Bellows College", "Boston", 0, "", "OF"),
    ("Best For You Organics Company", "Miami", 8000, "", "JR"),
    ("Contoso Pharmaceuticals", "New York", 70000, "", "PS"),
    ("First Up Consultants", "Atlanta", 12000, "", "OF"),
    ("Lamna Healthcare Company", "Houston", 55000, "", "JR"),
    ("Munson's Pickles and Preserves Farm", "Nashville", 4000, "all", "PS"),
    ("Nod Publishers", "Denver", 9000, "", "OF"),
    ("Northwind Electric Cars", "San Francisco", 65000, "", "JR"),
    ("Tailwind Traders", "Chicago", 25000, "", "PS"),
    ("World Wide Importers", "Miami", 30000, "", "OF"),
    ("Fabrikam Residences", "Phoenix", 15000, "", "JR"),
    ("Contoso Suites", "Atlanta", 20000, "", "PS"),
    ("Adventure Works Cycles", "Seattle", 35000, "", "OF"),
    ("Liberty's Delightful Bakery & Cafe", "Charlotte", 3000, "invoice", "JR"),
    ("Datum Consulting Group", "Dallas", 18000, "", "PS"),
    ("Parnell Aerospace", "Houston", 90000, "", "OF"),
    ("Olympia Office Design", "Miami", 10000, "", "JR"),
    ("Lakeshore Dental Clinic", "Chicago", 6000, "", "PS"),
    ("Peachtree Law Partners", "Atlanta", 22000, "", "OF"),
    ("Harborview Medical Group", "Seattle", 40000, "", "JR"),
    ("Magnolia Architects", "Nashville", 14000, "", "PS"),
    ("Biscayne Realty", "Miami", 11000, "", "OF"),
    ("Windy City Coworking", "Chicago", 16000, "", "JR"),
    ("Mile High Logistics", "Denver", 28000, "", "PS"),
]

FURNITURE_SERIES = (
    "ATHENS", "PARIS", "LONDON", "ANTWERP", "BERLIN", "ROME", "TOKYO", "MEXICO", "MUNICH",
    "SEOUL", "AMSTERDAM", "SYDNEY", "OSLO", "MADRID", "VIENNA", "DUBLIN", "LISBON", "PRAGUE",
)  # fmt: skip
COLOURS = ("black", "blue", "green", "red", "white", "grey", "yellow", "oak")
# (kind, coloured, lowest price, highest price)
FURNITURE_KINDS = (
    ("Desk", False, 450, 900),
    ("Mobile Pedestal", False, 180, 320),
    ("Guest Chair", True, 120, 220),
    ("Swivel Chair", True, 150, 380),
    ("Conference Table", False, 700, 1400),
    ("Meeting Table, round", False, 380, 650),
    ("Lamp", False, 40, 95),
    ("Whiteboard", False, 140, 260),
    ("Bookcase", False, 240, 420),
    ("Filing Cabinet", False, 190, 360),
    ("Storage Unit", False, 300, 520),
)
# Always in the demo, as in BC's CRONUS: (series, kind, colour, price).
FEATURED_FURNITURE = (
    ("ATHENS", "Desk", "", 649),
    ("PARIS", "Guest Chair", "black", 189),
    ("ATHENS", "Mobile Pedestal", "", 259),
    ("LONDON", "Swivel Chair", "blue", 229),
    ("ANTWERP", "Conference Table", "", 1129),
)
FURNITURE_COUNT = 70
# (description, lowest price, highest price)
SUPPLIES = (
    ("Copy Paper, letter, box of 10 reams", 45, 65),
    ("Whiteboard Markers, assorted, box of 12", 12, 20),
    ("Ballpoint Pens, blue, box of 50", 15, 25),
    ("Staples 24/6, box of 5000", 4, 9),
    ("Sticky Notes, yellow, box of 24 pads", 18, 28),
    ("Hanging File Folders, box of 25", 20, 32),
    ("Printer Toner, black, box of 2", 120, 180),
    ("Binder Clips, medium, box of 100", 8, 14),
    ("Ring Binders, 2 in., box of 12", 30, 48),
    ("Envelopes, #10, box of 500", 22, 34),
    ("Highlighters, assorted, box of 24", 14, 22),
    ("Desk Organizers, mesh, box of 6", 40, 60),
    ("Cable Ties, box of 200", 9, 15),
    ("Label Tape, 12 mm, box of 5", 55, 80),
    ("Paper Clips, jumbo, box of 1000", 6, 11),
    ("Shipping Labels, box of 750", 28, 42),
    ("Coffee Filters, box of 1000", 16, 24),
    ("Hand Sanitizer, box of 12", 35, 50),
)
SERVICES = (
    ("Installation, per hour", 85, 110),
    ("Assembly Service, per hour", 65, 90),
    ("Office Design Consulting", 140, 190),
    ("On-site Support", 95, 130),
    ("Delivery and Setup", 70, 100),
    ("Furniture Repair", 60, 85),
    ("Space Planning Workshop", 150, 220),
    ("Ergonomics Assessment", 110, 160),
    ("Removal of Old Furniture", 55, 80),
    ("Project Management", 120, 170),
    ("Cable Management Service", 75, 95),
    ("Chair Reupholstering", 65, 95),
)

ORDER_COUNT = 200
# How many of the demo orders end up in each state; the rest stay open.
# No demo order waits for approval: an order pending approval needs its approval request.
ORDER_STATES = {"posted": 30, "released": 50}
VOLUME_STATES = (SalesOrder.Status.OPEN,) * 7 + (SalesOrder.Status.RELEASED,) * 3

# Name parts for volume customers.
SURNAMES = (
    "Abbott", "Barrett", "Calloway", "Dalton", "Ellison", "Fairbanks", "Garrison", "Hartley",
    "Iverson", "Jennings", "Kendrick", "Langley", "Merritt", "Norwood", "Oakley", "Prescott",
    "Quinlan", "Radford", "Sterling", "Thornton", "Underwood", "Vance", "Whitfield", "Yardley",
)  # fmt: skip
TRADES = (
    "Office Supplies", "Interiors", "Consulting", "Dental", "Architects", "Logistics",
    "Law Group", "Realty", "Insurance", "Engineering", "Media", "Hospitality", "Clinic",
)  # fmt: skip
LEGAL_FORMS = ("Inc.", "LLC", "& Co.", "Group", "Partners", "Ltd.")


@dataclass(frozen=True)
class CustomerSpec:
    name: str
    address: str
    city: str
    post_code: str
    phone: str
    email: str
    credit_limit: Decimal
    blocked: str
    salesperson_code: str


@dataclass(frozen=True)
class ItemSpec:
    description: str
    type: str
    unit: str
    unit_price: Decimal
    unit_cost: Decimal
    inventory: int


@dataclass(frozen=True)
class OrderSpec:
    reference: str  # the customer's PO number: the order's External Document No.
    customer: str
    days_ago: int
    state: str
    lines: tuple[tuple[str, int, int], ...]  # (item description, quantity, discount %)


@dataclass
class SeedSummary:
    company: Company | None = None
    created: dict[str, int] = field(default_factory=dict)
    totals: dict[str, int] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)

    def count(self, what: str, n: int = 1) -> None:
        self.created[what] = self.created.get(what, 0) + n


# ---------------------------------------------------------------------------
# What the demo contains: pure functions of the seed.


def _money(value: float) -> Decimal:
    return round_amount(Decimal(str(value)))


def _price(rng: random.Random, low: int, high: int) -> Decimal:
    # Shelf prices: whole dollars, most ending in 9, as price lists usually do.
    dollars = rng.randint(low, high)
    if rng.random() < 0.7:
        dollars = dollars - dollars % 10 + 9
    return Decimal(dollars)


def _address(rng: random.Random, city: str) -> tuple[str, str, str]:
    post_codes, area_code, streets = CITIES[city]
    address = f"{rng.randint(10, 2999)} {rng.choice(streets)}"
    phone = f"({area_code}) 555-01{rng.randint(0, 99):02d}"
    return address, rng.choice(post_codes), phone


def _email(name: str) -> str:
    slug = "".join(ch for ch in name.lower().replace("&", "and") if ch.isalnum() or ch == " ")
    # .example.com never delivers, so flows that mail the demo customers reach no one.
    return f"purchasing@{'-'.join(slug.split()[:3])}.example.com"


def demo_customer_specs() -> list[CustomerSpec]:
    rng = random.Random(f"{SEED}-customers")
    specs = []
    for name, city, credit_limit, blocked, salesperson in CUSTOMERS:
        address, post_code, phone = _address(rng, city)
        specs.append(
            CustomerSpec(
                name=name,
                address=address,
                city=city,
                post_code=post_code,
                phone=phone,
                email=_email(name),
                credit_limit=Decimal(credit_limit),
                blocked=blocked,
                salesperson_code=salesperson,
            )
        )
    return specs


def demo_item_specs() -> list[ItemSpec]:
    rng = random.Random(f"{SEED}-items")
    featured = {(series, kind) for series, kind, _, _ in FEATURED_FURNITURE}
    combos = [
        (series, kind, rng.choice(COLOURS) if coloured else "", _price(rng, low, high))
        for series, (kind, coloured, low, high) in itertools.product(
            FURNITURE_SERIES, FURNITURE_KINDS
        )
        if (series, kind) not in featured
    ]
    furniture = [
        *FEATURED_FURNITURE,
        *rng.sample(combos, FURNITURE_COUNT - len(FEATURED_FURNITURE)),
    ]
    specs = []
    for series, kind, colour, price in furniture:
        description = f"{series} {kind}, {colour}" if colour else f"{series} {kind}"
        price = Decimal(price)
        specs.append(
            ItemSpec(
                description=description,
                type=Item.Type.INVENTORY,
                unit="PCS",
                unit_price=price,
                unit_cost=_money(float(price) * rng.uniform(0.55, 0.7)),
                inventory=rng.randrange(40, 400, 5),
            )
        )
    for description, low, high in SUPPLIES:
        price = _money(rng.randint(low * 100, high * 100) / 100)
        specs.append(
            ItemSpec(
                description=description,
                type=Item.Type.INVENTORY,
                unit="BOX",
                unit_price=price,
                unit_cost=_money(float(price) * rng.uniform(0.5, 0.65)),
                inventory=rng.randrange(100, 1000, 10),
            )
        )
    for description, low, high in SERVICES:
        price = Decimal(rng.randrange(low, high, 5))
        specs.append(
            ItemSpec(
                description=description,
                type=Item.Type.SERVICE,
                unit="HOUR",
                unit_price=price,
                unit_cost=_money(float(price) * rng.uniform(0.4, 0.6)),
                inventory=0,
            )
        )
    return specs


def _line_quantity(rng: random.Random, unit: str) -> int:
    if unit == "HOUR":
        return rng.randint(1, 16)
    if unit == "BOX":
        return rng.randint(1, 25)
    return rng.choice((1, 1, 2, 2, 3, 4, 5, 6, 8, 10, 12))


def _line_discount(rng: random.Random) -> int:
    return rng.choice((0, 0, 0, 0, 0, 0, 5, 5, 10, 15))


def demo_order_specs() -> list[OrderSpec]:
    """The demo orders, oldest first, so order numbers rise with the order date."""
    rng = random.Random(f"{SEED}-orders")
    customers = [spec.name for spec in demo_customer_specs() if not spec.blocked]
    items = demo_item_specs()
    states = [state for state, n in ORDER_STATES.items() for _ in range(n)]
    states += ["open"] * (ORDER_COUNT - len(states))
    rng.shuffle(states)
    specs = []
    for index, state in enumerate(states):
        # Posted orders are older; what is still open came in over the last weeks.
        days_ago = rng.randint(20, 120) if state == "posted" else rng.randint(0, 45)
        lines = []
        for item in rng.sample(items, rng.randint(1, 5)):
            lines.append((item.description, _line_quantity(rng, item.unit), _line_discount(rng)))
        specs.append(
            OrderSpec(
                reference=f"PO-{24001 + index}",
                customer=rng.choice(customers),
                days_ago=days_ago,
                state=state,
                lines=tuple(lines),
            )
        )
    specs.sort(key=lambda spec: (-spec.days_ago, spec.reference))
    return specs


# ---------------------------------------------------------------------------
# Writing it.


def demo_seed(
    *,
    customers: int | None = None,
    items: int | None = None,
    orders: int | None = None,
    log: Callable[[str], None] | None = None,
) -> SeedSummary:
    """Create the demo company and whatever of its demo data is missing.

    ``customers``, ``items`` and ``orders`` top the company up to that many rows
    for benchmarks; rows already there count, so running it again adds nothing.
    """
    log = log or (lambda message: None)
    summary = SeedSummary()
    started = time.monotonic()
    with transaction.atomic():
        company = _company(summary)
        users = _users(company, summary)
        customers_by_name = _customers(company, users["admin"], summary)
        items_by_description = _items(company, users["admin"], summary)
    summary.seconds["master data"] = time.monotonic() - started
    log(f"Master data ready ({summary.seconds['master data']:.1f} s).")

    started = time.monotonic()
    _orders(company, users["sales"], customers_by_name, items_by_description, summary, log)
    summary.seconds["demo orders"] = time.monotonic() - started
    log(f"Demo orders ready ({summary.seconds['demo orders']:.1f} s).")

    # Other apps' demo data (approvals: its setup and workflows), after the demo orders,
    # which were released and posted before any approval workflow was on.
    with transaction.atomic():
        for seeder in registry.demo_seeders:
            for what, n in seeder(company, users).items():
                summary.count(what, n)

    for what, target, fill in (
        ("customers", customers, _volume_customers),
        ("items", items, _volume_items),
        ("orders", orders, _volume_orders),
    ):
        if target:
            started = time.monotonic()
            fill(company, target, summary, log)
            summary.seconds[f"volume {what}"] = time.monotonic() - started
    if customers or items or orders:
        _refresh_statistics()

    summary.totals = {
        "customers": Customer.objects.filter(company=company).count(),
        "items": Item.objects.filter(company=company).count(),
        "sales orders": SalesOrder.objects.filter(company=company).count(),
        "sales order lines": SalesOrderLine.objects.filter(order__company=company).count(),
        "posted sales invoices": PostedSalesInvoice.objects.filter(company=company).count(),
    }
    return summary


def _company(summary: SeedSummary) -> Company:
    company, created = Company.objects.get_or_create(
        name=COMPANY_NAME,
        defaults={"display_name": COMPANY_DISPLAY_NAME, "vat_percent": VAT_PERCENT},
    )
    if created:
        summary.count("company")
    summary.company = company
    # The services create a series on first use; creating them all now lists them
    # on the No. Series page from the start.
    for code, default in DEFAULT_SERIES.items():
        _, created = NoSeries.objects.get_or_create(
            company=company,
            code=code,
            defaults={
                "description": default.description,
                "starting_no": default.starting_no,
                "increment_by": default.increment_by,
            },
        )
        if created:
            summary.count("number series")
    return company


def _users(company: Company, summary: SeedSummary) -> dict:
    """The demo users; an existing user keeps its password and flags."""
    user_model = get_user_model()
    users = {}
    for username, superuser, role, first_name, last_name in USERS:
        user = user_model.objects.filter(username=username).first()
        if user is None:
            user = user_model(
                username=username,
                email=f"{username}@cronus.example.com",
                first_name=first_name,
                last_name=last_name,
                is_staff=superuser,
                is_superuser=superuser,
            )
            user.set_password(DEMO_PASSWORD)
            user.save()
            summary.count("users")
        _, created = Membership.objects.get_or_create(
            user=user, company=company, defaults={"role": role}
        )
        if created:
            summary.count("memberships")
        users[username] = user
    return users


def _customers(company: Company, user, summary: SeedSummary) -> dict[str, Customer]:
    """The demo customers, created once: a company that has customers keeps them as they are,
    so renaming or deleting one never brings a duplicate back."""
    specs = demo_customer_specs()
    if Customer.objects.filter(company=company).exists():
        return _by(Customer, company, "name", [spec.name for spec in specs])
    created = {}
    for spec in specs:
        created[spec.name] = services.customer_create(
            company=company,
            user=user,
            name=spec.name,
            address=spec.address,
            city=spec.city,
            post_code=spec.post_code,
            country="US",
            phone=spec.phone,
            email=spec.email,
            credit_limit=spec.credit_limit,
            blocked=spec.blocked,
            salesperson_code=spec.salesperson_code,
        )
        summary.count("customers")
    return created


def _items(company: Company, user, summary: SeedSummary) -> dict[str, Item]:
    """The demo items, created once, like the customers."""
    specs = demo_item_specs()
    if Item.objects.filter(company=company).exists():
        return _by(Item, company, "description", [spec.description for spec in specs])
    posting_date = timezone.localdate() - datetime.timedelta(days=150)
    created = {}
    for spec in specs:
        item = services.item_create(
            company=company,
            user=user,
            description=spec.description,
            type=spec.type,
            base_unit_of_measure=spec.unit,
            unit_price=spec.unit_price,
            unit_cost=spec.unit_cost,
        )
        if spec.inventory:
            # Opening stock as an adjustment, so the item ledger explains the inventory.
            services.item_adjust_inventory(
                item=item, user=user, new_inventory=spec.inventory, posting_date=posting_date
            )
        created[spec.description] = item
        summary.count("items")
    return created


def _by(model, company: Company, field: str, values: list[str]) -> dict:
    # Oldest last, so of two rows with one name the older (the demo's) wins.
    rows = model.objects.filter(company=company, **{f"{field}__in": values}).order_by("-pk")
    return {getattr(row, field): row for row in rows}


def _orders(
    company: Company,
    user,
    customers: dict[str, Customer],
    items: dict[str, Item],
    summary: SeedSummary,
    log: Callable[[str], None],
) -> None:
    """The demo orders, created once, in one transaction: a company that has sales documents
    keeps them as they are, so a deleted or posted demo order never comes back.

    An order the data no longer allows (its customer or an item was deleted or blocked
    since) is skipped with a line in the log, never failing the seed and so `make run`.
    """
    if (
        SalesOrder.objects.filter(company=company).exists()
        or PostedSalesInvoice.objects.filter(company=company).exists()
    ):
        return
    today = timezone.localdate()
    with transaction.atomic():
        for spec in demo_order_specs():
            order_date = today - datetime.timedelta(days=spec.days_ago)
            try:
                with transaction.atomic():
                    _demo_order(company, user, customers, items, spec, order_date)
            except KeyError as missing:
                log(f"Demo order {spec.reference} skipped: {missing} is no longer there.")
                continue
            except ValidationError as refused:
                log(f"Demo order {spec.reference} skipped: {refused.messages[0]}")
                continue
            summary.count("sales orders")
            if spec.state == "posted":
                summary.count("posted sales invoices")


def _demo_order(company, user, customers, items, spec, order_date) -> None:
    order = services.sales_order_create(
        company=company,
        user=user,
        customer=customers[spec.customer],
        order_date=order_date,
        posting_date=order_date,
        external_document_no=spec.reference,
    )
    for description, quantity, discount in spec.lines:
        services.sales_order_line_add(
            order=order,
            user=user,
            item=items[description],
            quantity=Decimal(quantity),
            line_discount_percent=Decimal(discount),
        )
    if spec.state == "released":
        services.sales_order_release(order=order, user=user)
    elif spec.state == "posted":
        services.sales_order_post(order=order, user=user)


# ---------------------------------------------------------------------------
# Volume for benchmarks.


def _reserve_numbers(company: Company, code: str, count: int) -> list[str]:
    """Take ``count`` numbers from a series in one update, as ``no_series_next`` would.

    Call inside a transaction: the series stays locked until it ends.
    """
    series = no_series_lock(company=company, code=code)
    if series is None:
        # Creates the series with its default and takes its first number.
        first = services.no_series_next(company=company, code=code)
        series = no_series_lock(company=company, code=code)
        numbers = [first]
    elif series.last_no_used:
        numbers = [increment_no(series.last_no_used, series.increment_by, code=code)]
    else:
        numbers = [series.starting_no]
    while len(numbers) < count:
        numbers.append(increment_no(numbers[-1], series.increment_by, code=code))
    series.last_no_used = numbers[-1]
    series.save(update_fields=["last_no_used"])
    return numbers


def _refresh_statistics() -> None:
    """After a bulk load the planner's row estimates are stale until autovacuum runs;
    refresh them so the first page views after seeding get the plans they will have."""
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


def _batches(total: int, size: int = BATCH):
    done = 0
    while done < total:
        yield min(size, total - done)
        done += size


def _volume_customers(company: Company, target: int, summary: SeedSummary, log) -> None:
    missing = target - Customer.objects.filter(company=company).count()
    if missing <= 0:
        return
    # Seeded by the number already there, so topping up to the same target twice
    # from the same start gives the same rows.
    rng = random.Random(f"{SEED}-volume-customers-{target - missing}")
    cities = list(CITIES)
    for size in _batches(missing):
        with transaction.atomic():
            numbers = _reserve_numbers(company, "CUST", size)
            rows = []
            for no in numbers:
                name = f"{rng.choice(SURNAMES)} {rng.choice(TRADES)} {rng.choice(LEGAL_FORMS)}"
                city = rng.choice(cities)
                address, post_code, phone = _address(rng, city)
                rows.append(
                    Customer(
                        company=company,
                        no=no,
                        name=name,
                        address=address,
                        city=city,
                        post_code=post_code,
                        country="US",
                        phone=phone,
                        email=f"purchasing@{no.lower()}.example.com",
                        credit_limit=Decimal(rng.randrange(0, 50001, 1000)),
                        salesperson_code=rng.choice(("JR", "PS", "OF")),
                    )
                )
            Customer.objects.bulk_create(rows, batch_size=BATCH)
        summary.count("customers", size)
    log(f"Customers topped up to {target}.")


def _volume_items(company: Company, target: int, summary: SeedSummary, log) -> None:
    missing = target - Item.objects.filter(company=company).count()
    if missing <= 0:
        return
    rng = random.Random(f"{SEED}-volume-items-{target - missing}")
    for size in _batches(missing):
        with transaction.atomic():
            numbers = _reserve_numbers(company, "ITEM", size)
            rows = []
            for no in numbers:
                kind, coloured, low, high = rng.choice(FURNITURE_KINDS)
                description = f"{rng.choice(FURNITURE_SERIES)} {kind}"
                if coloured:
                    description += f", {rng.choice(COLOURS)}"
                price = _price(rng, low, high)
                rows.append(
                    Item(
                        company=company,
                        no=no,
                        description=description,
                        type=Item.Type.INVENTORY,
                        base_unit_of_measure="PCS",
                        unit_price=price,
                        unit_cost=_money(float(price) * rng.uniform(0.55, 0.7)),
                    )
                )
            Item.objects.bulk_create(rows, batch_size=BATCH)
        summary.count("items", size)
    log(f"Items topped up to {target}.")


def _volume_orders(company: Company, target: int, summary: SeedSummary, log) -> None:
    """Top up to ``target`` sales orders, each with 1-5 lines, in batches.

    1. Load the customers that may order and the items that may be sold, once.
    2. Per batch, in one transaction: reserve the batch's order numbers, build the
       orders and their lines in memory with the amounts the services would compute,
       then ``bulk_create`` the orders (which returns their ids) and the lines.
    """
    missing = target - SalesOrder.objects.filter(company=company).count()
    if missing <= 0:
        return
    customers = list(
        # Unblocked only: released orders must be shippable, as sales_order_release checks.
        Customer.objects.filter(company=company, blocked=Customer.Blocked.NONE)
        .order_by("pk")
        .values_list("pk", "name")
    )
    items = list(
        Item.objects.filter(company=company, blocked=False)
        .order_by("pk")
        .values_list("pk", "description", "base_unit_of_measure", "unit_price")
    )
    if not customers or not items:
        raise ValueError("Sales orders need at least one unblocked customer and item.")
    rng = random.Random(f"{SEED}-volume-orders-{target - missing}")
    today = timezone.localdate()
    vat_percent = company.vat_percent
    done = 0
    for size in _batches(missing):
        with transaction.atomic():
            numbers = _reserve_numbers(company, "S-ORD", size)
            orders, lines_per_order = [], []
            for no in numbers:
                customer_id, customer_name = rng.choice(customers)
                order_date = today - datetime.timedelta(days=rng.randint(0, 365))
                order = SalesOrder(
                    company=company,
                    no=no,
                    customer_id=customer_id,
                    sell_to_customer_name=customer_name,
                    order_date=order_date,
                    posting_date=order_date,
                    due_date=order_date + datetime.timedelta(days=PAYMENT_DAYS),
                    status=rng.choice(VOLUME_STATES),
                    vat_percent=vat_percent,
                )
                lines = []
                for n, (item_id, description, unit, price) in enumerate(
                    rng.sample(items, min(len(items), rng.randint(1, 5))), start=1
                ):
                    line = SalesOrderLine(
                        line_no=n * LINE_NO_STEP,
                        item_id=item_id,
                        description=description,
                        quantity=Decimal(_line_quantity(rng, unit)),
                        unit_of_measure=unit,
                        unit_price=price,
                        line_discount_percent=Decimal(_line_discount(rng)),
                    )
                    line.line_amount = line.compute_line_amount()
                    lines.append(line)
                order.amount = round_amount(sum((line.line_amount for line in lines), ZERO))
                order.amount_including_vat = order.compute_amount_including_vat(order.amount)
                orders.append(order)
                lines_per_order.append(lines)
            SalesOrder.objects.bulk_create(orders, batch_size=BATCH)
            all_lines = []
            for order, lines in zip(orders, lines_per_order, strict=True):
                for line in lines:
                    line.order_id = order.pk
                all_lines.extend(lines)
            SalesOrderLine.objects.bulk_create(all_lines, batch_size=BATCH)
        done += size
        summary.count("sales orders", size)
        summary.count("sales order lines", len(all_lines))
        if done % 20000 < BATCH or done == missing:
            log(f"  {done} of {missing} sales orders written.")
    log(f"Sales orders topped up to {target}.")
