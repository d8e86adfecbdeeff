from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission
from django.contrib.messages import get_messages
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from records.models import (
    Customer,
    CustomerLedgerEntry,
    Item,
    ItemLedgerEntry,
    Membership,
    NoSeries,
    PostedSalesInvoice,
    PostedSalesInvoiceLine,
    SalesOrder,
    SalesOrderLine,
)
from records.services import (
    item_adjust_inventory,
    sales_order_create,
    sales_order_line_add,
    sales_order_post,
    sales_order_release,
)
from tests.factories import CustomerFactory, ItemFactory, MembershipFactory, UserFactory
from tests.records.snapshots import RECORDS_MODELS

READ_ONLY_MODELS = [
    PostedSalesInvoice,
    PostedSalesInvoiceLine,
    CustomerLedgerEntry,
    ItemLedgerEntry,
]


def admin_url(model, view, *args):
    return reverse(f"admin:records_{model._meta.model_name}_{view}", args=args)


def messages_of(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


@pytest.fixture
def world(company, sales):
    """One row of every model: an open order, a posted invoice, ledger entries."""
    customer = CustomerFactory(company=company, no="C10000", name="Adatum")
    item = ItemFactory(company=company, no="1000", description="Bicycle")
    item_adjust_inventory(item=item, user=sales, new_inventory=20)
    posted = sales_order_create(company=company, user=sales, customer=customer)
    sales_order_line_add(order=posted, user=sales, item=item, quantity=1)
    sales_order_post(order=posted, user=sales)
    order = sales_order_create(company=company, user=sales, customer=customer)
    sales_order_line_add(order=order, user=sales, item=item, quantity=3)
    return {"customer": customer, "item": item, "order": order}


@pytest.mark.parametrize("model", RECORDS_MODELS, ids=lambda m: m.__name__)
def test_changelist_and_change_view_render(admin_client, world, model):
    obj = model.objects.order_by("pk").first()
    assert obj is not None
    response = admin_client.get(admin_url(model, "changelist"))
    assert response.status_code == 200
    response = admin_client.get(admin_url(model, "change", obj.pk))
    assert response.status_code == 200
    assert str(obj) in response.content.decode()


@pytest.mark.parametrize("model", RECORDS_MODELS, ids=lambda m: m.__name__)
def test_changelist_search_and_filters_work(admin_client, world, model):
    response = admin_client.get(admin_url(model, "changelist"), {"q": "1000"})
    assert response.status_code == 200


@pytest.mark.parametrize(
    "model",
    [m for m in RECORDS_MODELS if m not in [*READ_ONLY_MODELS, SalesOrderLine]],
    ids=lambda m: m.__name__,
)
def test_add_view_renders(admin_client, world, model):
    assert admin_client.get(admin_url(model, "add")).status_code == 200


@pytest.mark.parametrize("model", READ_ONLY_MODELS, ids=lambda m: m.__name__)
def test_posted_documents_and_entries_are_read_only(admin_client, world, model):
    obj = model.objects.order_by("pk").first()
    assert admin_client.get(admin_url(model, "add")).status_code == 403
    assert admin_client.post(admin_url(model, "change", obj.pk), {}).status_code == 403
    assert admin_client.post(admin_url(model, "delete", obj.pk), {"post": "yes"}).status_code == 403
    assert model.objects.filter(pk=obj.pk).exists()


def test_adding_a_customer_with_a_blank_no_uses_the_series(admin_client, company):
    response = admin_client.post(
        admin_url(Customer, "add"),
        {"company": company.pk, "no": "", "name": "Trey Research", "credit_limit": "0"},
    )
    assert response.status_code == 302, response.content
    customer = Customer.objects.get()
    assert (customer.no, customer.name) == ("C00010", "Trey Research")
    assert response["Location"] == admin_url(Customer, "changelist")


def test_the_admin_never_writes_the_balance(admin_client, world):
    customer = world["customer"]
    balance = Customer.objects.get(pk=customer.pk).balance
    assert balance > 0
    response = admin_client.post(
        admin_url(Customer, "change", customer.pk),
        {"no": "C10000", "name": "Adatum Corp.", "credit_limit": "0", "balance": "0"},
    )
    assert response.status_code == 302, response.content
    customer.refresh_from_db()
    assert (customer.name, customer.balance) == ("Adatum Corp.", balance)


def test_a_refused_change_shows_the_message_and_writes_nothing(admin_client, world):
    item = world["item"]
    url = admin_url(Item, "change", item.pk)
    response = admin_client.post(
        url,
        {
            "no": "1000",
            "description": "Bicycle",
            "type": "service",
            "base_unit_of_measure": "PCS",
            "unit_price": "100",
            "unit_cost": "60",
        },
    )
    assert response.status_code == 302
    assert response["Location"] == url
    assert any("You cannot change the Type field" in m for m in messages_of(response))
    assert Item.objects.get(pk=item.pk).type == Item.Type.INVENTORY


def test_deleting_a_released_order_is_refused(admin_client, world, admin_user):
    order = world["order"]
    sales_order_release(order=order, user=admin_user)
    response = admin_client.post(admin_url(SalesOrder, "delete", order.pk), {"post": "yes"})
    assert response.status_code == 302
    assert any("Current value is 'Released'" in m for m in messages_of(response))
    assert SalesOrder.objects.filter(pk=order.pk).exists()


def test_deleting_a_customer_with_documents_is_refused(admin_client, world):
    customer = world["customer"]
    response = admin_client.post(admin_url(Customer, "delete", customer.pk), {"post": "yes"})
    assert response.status_code == 200  # the "cannot delete" page
    assert Customer.objects.filter(pk=customer.pk).exists()


def test_lines_are_changed_on_their_order_and_deleted_through_the_service(admin_client, world):
    order = world["order"]
    line = order.lines.get()
    assert admin_client.get(admin_url(SalesOrderLine, "add")).status_code == 403
    assert admin_client.post(admin_url(SalesOrderLine, "change", line.pk), {}).status_code == 403
    response = admin_client.post(admin_url(SalesOrderLine, "delete", line.pk), {"post": "yes"})
    assert response.status_code == 302
    order.refresh_from_db()
    assert (order.lines.count(), order.amount, order.amount_including_vat) == (0, 0, 0)


def test_deleting_an_open_order_deletes_its_lines(admin_client, world):
    order = world["order"]
    response = admin_client.post(admin_url(SalesOrder, "delete", order.pk), {"post": "yes"})
    assert response.status_code == 302
    assert not SalesOrder.objects.filter(pk=order.pk).exists()
    assert not SalesOrderLine.objects.exists()


def test_an_order_added_with_lines_gets_its_number_and_totals(admin_client, company, admin_user):
    customer = CustomerFactory(company=company)
    item = ItemFactory(company=company, unit_price=Decimal("10.00"))
    response = admin_client.post(
        admin_url(SalesOrder, "add"),
        {
            "company": company.pk,
            "no": "",
            "customer": customer.pk,
            "order_date": "",
            "posting_date": "",
            "due_date": "",
            "external_document_no": "PO-1",
            "lines-TOTAL_FORMS": "1",
            "lines-INITIAL_FORMS": "0",
            "lines-MIN_NUM_FORMS": "0",
            "lines-MAX_NUM_FORMS": "1000",
            "lines-0-item": item.pk,
            "lines-0-description": "",
            "lines-0-quantity": "3",
            "lines-0-unit_price": "",
            "lines-0-line_discount_percent": "10",
        },
    )
    assert response.status_code == 302, response.content
    order = SalesOrder.objects.get()
    assert (order.no, order.external_document_no, order.created_by) == (
        "S-ORD101001",
        "PO-1",
        admin_user,
    )
    assert (order.amount, order.amount_including_vat) == (Decimal("27.00"), Decimal("33.75"))
    assert order.lines.get().description == item.description


def test_a_refused_line_rolls_back_the_whole_order(admin_client, company):
    customer = CustomerFactory(company=company)
    blocked = ItemFactory(company=company, no="1999", blocked=True)
    response = admin_client.post(
        admin_url(SalesOrder, "add"),
        {
            "company": company.pk,
            "customer": customer.pk,
            "lines-TOTAL_FORMS": "1",
            "lines-INITIAL_FORMS": "0",
            "lines-MIN_NUM_FORMS": "0",
            "lines-MAX_NUM_FORMS": "1000",
            "lines-0-item": blocked.pk,
            "lines-0-quantity": "1",
            "lines-0-line_discount_percent": "0",
        },
    )
    assert response.status_code == 302
    assert "Item 1999 is blocked." in messages_of(response)
    assert not SalesOrder.objects.exists()
    assert not NoSeries.objects.filter(last_no_used__gt="").exists()


def test_the_post_action_posts_and_reports_refusals(admin_client, world, company, admin_user):
    empty = sales_order_create(company=company, user=admin_user, customer=world["customer"])
    response = admin_client.post(
        admin_url(SalesOrder, "changelist"),
        {"action": "post", "_selected_action": [world["order"].pk, empty.pk]},
    )
    assert response.status_code == 302
    shown = messages_of(response)
    assert f"There is nothing to post for Order {empty.no}." in shown
    assert f"Posted: {world['order'].no}." in shown
    assert PostedSalesInvoice.objects.filter(order_no=world["order"].no).exists()
    assert SalesOrder.objects.filter(pk=empty.pk).exists()


@pytest.fixture
def company_admin_client(client, company):
    """Staff, not superuser: administers CRONUS and may view and change customers."""
    user = UserFactory(username="cronus-admin", is_staff=True)
    MembershipFactory(user=user, company=company, role=Membership.Role.ADMIN)
    user.user_permissions.add(
        *Permission.objects.filter(codename__in=["view_customer", "change_customer"])
    )
    client.force_login(user)
    return client


def test_staff_see_only_the_companies_they_administer(company_admin_client, company, other_company):
    mine = CustomerFactory(company=company, name="Mine Inc.")
    theirs = CustomerFactory(company=other_company, name="Theirs Ltd.")
    response = company_admin_client.get(admin_url(Customer, "changelist"))
    content = response.content.decode()
    assert "Mine Inc." in content
    assert "Theirs Ltd." not in content
    assert company_admin_client.get(admin_url(Customer, "change", mine.pk)).status_code == 200
    response = company_admin_client.get(admin_url(Customer, "change", theirs.pk))
    assert response.status_code == 302
    assert response["Location"] == reverse("admin:index")


@pytest.mark.parametrize(
    ("model", "make_rows"),
    [
        (Customer, lambda company, n: CustomerFactory.create_batch(n, company=company)),
        (
            ItemLedgerEntry,
            lambda company, n: [
                item_adjust_inventory(item=ItemFactory(company=company), user=None, new_inventory=1)
                for _ in range(n)
            ],
        ),
    ],
    ids=["customers", "item-ledger-entries"],
)
def test_changelists_do_not_grow_in_queries_with_rows(admin_client, company, model, make_rows):
    def queries():
        with CaptureQueriesContext(connection) as ctx:
            assert admin_client.get(admin_url(model, "changelist")).status_code == 200
        return len(ctx.captured_queries)

    make_rows(company, 2)
    few = queries()
    make_rows(company, 20)
    assert queries() == few


def test_a_staff_user_who_may_only_view_orders_cannot_post_them(client, world, company):
    viewer = UserFactory(username="cronus-viewer", is_staff=True)
    MembershipFactory(user=viewer, company=company, role=Membership.Role.ADMIN)
    viewer.user_permissions.add(*Permission.objects.filter(codename="view_salesorder"))
    client.force_login(viewer)
    invoices = PostedSalesInvoice.objects.count()

    client.post(
        admin_url(SalesOrder, "changelist"),
        {"action": "post", "_selected_action": [world["order"].pk]},
    )

    assert SalesOrder.objects.filter(pk=world["order"].pk).exists()
    assert PostedSalesInvoice.objects.count() == invoices
