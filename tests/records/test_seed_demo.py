import hashlib
import os
import subprocess
import sys
from decimal import Decimal
from io import StringIO

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.db.models import Count, Sum

from records import services
from records.demo import demo_customer_specs, demo_item_specs, demo_order_specs
from records.models import (
    Company,
    Customer,
    CustomerLedgerEntry,
    Item,
    Membership,
    NoSeries,
    PostedSalesInvoice,
    SalesOrder,
    SalesOrderLine,
)
from records.services import no_series_next
from tests.factories import CompanyFactory, UserFactory
from tests.records.snapshots import RECORDS_MODELS

pytestmark = pytest.mark.django_db


def seed(*args) -> str:
    out = StringIO()
    call_command("seed_demo", *args, stdout=out)
    return out.getvalue()


def snapshot() -> dict:
    """Everything a second run could change: rows, numbers, totals, passwords."""
    state = {
        model.__name__: list(model.objects.order_by("pk").values_list("pk", flat=True))
        for model in RECORDS_MODELS
    }
    state["series"] = sorted(NoSeries.objects.values_list("code", "last_no_used"))
    state["users"] = sorted(get_user_model().objects.values_list("username", "password"))
    state["orders"] = sorted(
        SalesOrder.objects.values_list("no", "status", "amount", "amount_including_vat")
    )
    state["balances"] = sorted(Customer.objects.values_list("no", "balance"))
    state["inventory"] = sorted(Item.objects.values_list("no", "inventory"))
    return state


def assert_order_totals_consistent(company):
    orders = SalesOrder.objects.filter(company=company).annotate(
        lines_total=Sum("lines__line_amount"), line_count=Count("lines")
    )
    for order in orders:
        assert 1 <= order.line_count <= 5, order.no
        assert order.amount == order.lines_total, order.no
        assert order.amount_including_vat == order.compute_amount_including_vat(order.amount)
    for line in SalesOrderLine.objects.filter(order__company=company):
        assert line.line_amount == line.compute_line_amount()


def test_it_loads_the_demo_company():
    output = seed()

    company = Company.objects.get(name="CRONUS")
    assert company.display_name == "CRONUS USA, Inc."
    assert company.vat_percent == Decimal("25")
    assert "Created: 1 company" in output

    users = {user.username: user for user in get_user_model().objects.all()}
    assert set(users) == {"admin", "sales", "approver"}
    assert all(user.check_password("demo") for user in users.values())
    assert users["admin"].is_superuser and users["admin"].is_staff
    assert not users["sales"].is_superuser and not users["approver"].is_staff
    roles = dict(Membership.objects.filter(company=company).values_list("user__username", "role"))
    assert roles == {"admin": "admin", "sales": "user", "approver": "user"}

    customers = Customer.objects.filter(company=company)
    assert customers.count() == 50
    assert customers.exclude(blocked="").count() == 2
    for city in ("Atlanta", "Chicago", "Miami"):
        assert customers.filter(city=city).count() >= 5, city

    items = Item.objects.filter(company=company)
    assert items.count() == 100
    assert set(items.values_list("base_unit_of_measure", flat=True)) == {"PCS", "BOX", "HOUR"}
    assert items.filter(type=Item.Type.SERVICE).count() == 12
    assert items.filter(description="ATHENS Desk", base_unit_of_measure="PCS").exists()
    assert items.filter(description="PARIS Guest Chair, black").exists()
    # Inventory is what the ledger says: opening adjustments minus what was posted.
    for item in items.filter(type=Item.Type.INVENTORY):
        ledger = item.ledger_entries.aggregate(total=Sum("quantity"))["total"]
        assert item.inventory == ledger > 0, item.no

    orders = SalesOrder.objects.filter(company=company)
    statuses = dict(orders.values_list("status").annotate(n=Count("pk")))
    assert statuses == {"open": 120, "released": 50}
    assert_order_totals_consistent(company)

    invoices = PostedSalesInvoice.objects.filter(company=company)
    assert invoices.count() == 30
    assert not orders.filter(no__in=invoices.values("order_no")).exists()
    assert CustomerLedgerEntry.objects.filter(company=company).count() == 30
    for customer in customers:
        ledger = customer.ledger_entries.aggregate(total=Sum("amount"))["total"] or 0
        assert customer.balance == ledger, customer.no
    assert not orders.filter(customer__blocked="all").exists()


def test_running_it_again_changes_nothing():
    seed()
    before = snapshot()

    output = seed()

    assert snapshot() == before
    assert "Created: nothing." in output


def test_what_people_change_stays_changed_when_it_runs_again():
    seed()
    company = Company.objects.get(name="CRONUS")
    order = SalesOrder.objects.filter(company=company, status="open").first()
    item = order.lines.first().item
    customer = Customer.objects.filter(company=company).exclude(pk=order.customer_id).first()
    sales = get_user_model().objects.get(username="sales")
    services.sales_order_delete(order=order, user=sales)
    services.item_update(item=item, user=sales, description="Renamed", blocked=True)
    services.customer_update(customer=customer, user=sales, name="Renamed Customer")
    before = snapshot()

    output = seed()

    assert snapshot() == before
    assert "Created: nothing." in output


def test_demo_orders_the_data_no_longer_allows_are_skipped():
    # The demo master data exists and an item the orders use is blocked, but no order does.
    seed()
    SalesOrder.objects.all().delete()
    PostedSalesInvoice.objects.all().delete()
    cronus = Company.objects.get(name="CRONUS")
    Item.objects.filter(company=cronus, description="ATHENS Desk").update(blocked=True)

    output = seed()

    assert "skipped: Item" in output
    assert SalesOrder.objects.filter(company=cronus).exists()


def test_it_leaves_existing_users_and_company_alone():
    company = CompanyFactory(name="CRONUS", display_name="Our CRONUS", vat_percent=Decimal("8"))
    user = UserFactory(username="sales", password="my-own-secret")

    seed()

    company.refresh_from_db()
    user.refresh_from_db()
    assert (company.display_name, company.vat_percent) == ("Our CRONUS", Decimal("8"))
    assert user.check_password("my-own-secret")
    assert Membership.objects.filter(user=user, company=company).exists()
    # The orders take the company's own VAT.
    assert set(SalesOrder.objects.values_list("vat_percent", flat=True)) == {Decimal("8")}
    assert_order_totals_consistent(company)


def test_it_tops_up_volume_without_duplicating():
    seed("--customers", "80", "--items", "130", "--orders", "400")
    company = Company.objects.get(name="CRONUS")

    assert Customer.objects.filter(company=company).count() == 80
    assert Item.objects.filter(company=company).count() == 130
    assert SalesOrder.objects.filter(company=company).count() == 400
    assert_order_totals_consistent(company)
    # Bulk rows take their numbers from the series, which moved past them.
    for model, code in ((Customer, "CUST"), (Item, "ITEM"), (SalesOrder, "S-ORD")):
        numbers = list(model.objects.filter(company=company).values_list("no", flat=True))
        assert len(set(numbers)) == len(numbers)
        next_no = no_series_next(company=company, code=code)
        assert not model.objects.filter(company=company, no=next_no).exists()
    blocked = SalesOrder.objects.filter(company=company).exclude(customer__blocked="")
    assert not blocked.exists()
    assert set(SalesOrder.objects.values_list("status", flat=True)) == {"open", "released"}

    before = snapshot()
    seed("--customers", "80", "--items", "130", "--orders", "400")
    seed("--orders", "10")
    assert snapshot() == before


def test_it_refuses_a_negative_count():
    with pytest.raises(CommandError):
        seed("--orders", "-5")
    assert not Company.objects.exists()


def test_the_demo_data_is_the_same_in_every_process():
    # A fresh interpreter with another hash seed: set or dict ordering must not leak in.
    code = (
        "import django, os; os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'bcsite.settings');"
        "django.setup();"
        "from tests.records.test_seed_demo import demo_digest; print(demo_digest())"
    )
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    result = subprocess.run(
        [sys.executable, "-c", code],
        env=env,
        cwd=settings.BASE_DIR,
        capture_output=True,
        text=True,
        check=True,
    )
    assert result.stdout.strip() == demo_digest()


def demo_digest() -> str:
    data = repr((demo_customer_specs(), demo_item_specs(), demo_order_specs()))
    return hashlib.sha256(data.encode()).hexdigest()
