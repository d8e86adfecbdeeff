"""factory_boy factories for the business data. Personas live in tests/conftest.py."""

import datetime
from decimal import Decimal

import factory
from django.contrib.auth import get_user_model

from records.models import (
    Company,
    Customer,
    Item,
    Membership,
    NoSeries,
    SalesOrder,
    SalesOrderLine,
)


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    password = factory.django.Password("demo")


class CompanyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Company
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"COMPANY{n}")
    display_name = factory.LazyAttribute(lambda c: f"{c.name.title()} Inc.")
    vat_percent = Decimal("25")


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory)
    company = factory.SubFactory(CompanyFactory)


class NoSeriesFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = NoSeries
        django_get_or_create = ("company", "code")

    company = factory.SubFactory(CompanyFactory)
    code = "S-ORD"
    starting_no = "S-ORD101001"


class CustomerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Customer

    company = factory.SubFactory(CompanyFactory)
    no = factory.Sequence(lambda n: f"C{n:05d}")
    name = factory.Sequence(lambda n: f"Customer {n}")
    city = "Atlanta"
    email = factory.LazyAttribute(lambda c: f"{c.no.lower()}@example.com")
    credit_limit = Decimal("0")


class ItemFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Item

    company = factory.SubFactory(CompanyFactory)
    no = factory.Sequence(lambda n: f"{1000 + n}")
    description = factory.Sequence(lambda n: f"Item {n}")
    unit_price = Decimal("100.00")
    unit_cost = Decimal("60.00")
    inventory = Decimal("100")


class SalesOrderFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SalesOrder

    company = factory.SubFactory(CompanyFactory)
    no = factory.Sequence(lambda n: f"S-ORD{101001 + n}")
    customer = factory.SubFactory(CustomerFactory, company=factory.SelfAttribute("..company"))
    sell_to_customer_name = factory.LazyAttribute(lambda o: o.customer.name)
    order_date = factory.LazyFunction(datetime.date.today)
    posting_date = factory.LazyFunction(datetime.date.today)
    vat_percent = factory.LazyAttribute(lambda o: o.company.vat_percent)


class SalesOrderLineFactory(factory.django.DjangoModelFactory):
    """A line with its amount computed; use the services to keep order totals right."""

    class Meta:
        model = SalesOrderLine

    order = factory.SubFactory(SalesOrderFactory)
    line_no = factory.Sequence(lambda n: 10000 * (n + 1))
    item = factory.SubFactory(ItemFactory, company=factory.SelfAttribute("..order.company"))
    description = factory.LazyAttribute(lambda line: line.item.description)
    quantity = Decimal("1")
    unit_price = factory.LazyAttribute(lambda line: line.item.unit_price)
    line_amount = factory.LazyAttribute(lambda line: line.quantity * line.unit_price)
