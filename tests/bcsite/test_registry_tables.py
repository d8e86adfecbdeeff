"""The records tables in the registry: API shapes, lookups, and writes through the services."""

import json
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from bcsite.registry import Table, TableField, registry
from records.models import (
    Customer,
    CustomerLedgerEntry,
    ItemLedgerEntry,
    PostedSalesInvoice,
    SalesOrder,
    SalesOrderLine,
)
from records.services import sales_order_line_add
from tests.factories import CustomerFactory, ItemFactory, SalesOrderFactory

CUSTOMERS = 18
ITEMS = 27
SALES_ORDERS = 36
SALES_LINES = 37
SALES_INVOICES = 112
CUSTOMER_ENTRIES = 21
ITEM_ENTRIES = 32


def table(table_id: int) -> Table:
    return registry.tables[table_id]


@pytest.fixture
def customer(company):
    return CustomerFactory(
        company=company,
        no="C10000",
        name="Adatum Corporation",
        city="Atlanta",
        credit_limit=Decimal("5000.50"),
    )


@pytest.fixture
def bicycle(company):
    return ItemFactory(
        company=company, no="1000", description="Bicycle", unit_price=Decimal("4000.00")
    )


@pytest.fixture
def order(company, sales, customer, bicycle):
    order = SalesOrderFactory(company=company, customer=customer, no="S-ORD101001")
    sales_order_line_add(order=order, user=sales, item=bicycle, quantity=Decimal("2"))
    order.refresh_from_db()
    return order


# -- Declarations -------------------------------------------------------------------------------


def test_every_records_table_is_registered_with_its_api_names():
    names = {t.id: (t.name, t.entity, t.entity_set) for t in registry.tables.values()}
    assert names[CUSTOMERS] == ("Customer", "customer", "customers")
    assert names[ITEMS] == ("Item", "item", "items")
    assert names[SALES_ORDERS] == ("Sales Header", "salesOrder", "salesOrders")
    assert names[SALES_LINES] == ("Sales Line", "salesOrderLine", "salesOrderLines")
    assert names[SALES_INVOICES] == ("Sales Invoice Header", "salesInvoice", "salesInvoices")
    assert names[CUSTOMER_ENTRIES][1] == "customerLedgerEntry"
    assert names[ITEM_ENTRIES][1] == "itemLedgerEntry"
    assert registry.table_for_model(SalesOrderLine) is table(SALES_LINES)


def test_api_names_are_camel_case_and_unique_per_table():
    for registered in registry.tables.values():
        names = [f.api_name for f in registered.fields]
        assert len(names) == len(set(names)), registered.name
        assert all(name[0].islower() and "_" not in name for name in names), registered.name
        assert "id" in names, registered.name


@pytest.mark.parametrize(
    ("key", "expected"),
    [(18, 18), ("36", 36), ("Customer", 18), ("salesOrders", 36), ("salesorder", 36)],
)
def test_find_table_by_number_or_name(key, expected):
    assert registry.find_table(key).id == expected


@pytest.mark.parametrize("key", [99, "99", "", None, True, "nothing"])
def test_find_table_returns_none_for_unknown_tables(key):
    assert registry.find_table(key) is None


def test_only_the_owning_app_operations_make_a_table_writable():
    assert table(SALES_ORDERS).create and table(SALES_ORDERS).update and table(SALES_ORDERS).delete
    # records' own actions, and approvals' Send and Cancel Approval Request.
    assert set(table(SALES_ORDERS).actions) == {
        "release",
        "reopen",
        "post",
        "sendApprovalRequest",
        "cancelApprovalRequest",
    }
    for read_only in (SALES_INVOICES, CUSTOMER_ENTRIES, ITEM_ENTRIES):
        assert table(read_only).create is None
        assert table(read_only).update is None
        assert table(read_only).delete is None
        assert not any(f.writable for f in table(read_only).fields)


def test_a_field_type_must_be_known():
    with pytest.raises(ValueError, match="Unknown field type"):
        TableField("x", "x", "X", "money")


# -- Reading --------------------------------------------------------------------------------


@pytest.mark.django_db
def test_customer_dict_has_bc_names_and_json_values(customer):
    data = table(CUSTOMERS).to_dict(customer)

    assert data["id"] == str(customer.system_id)
    assert data["number"] == "C10000"
    assert data["displayName"] == "Adatum Corporation"
    assert data["city"] == "Atlanta"
    assert data["creditLimit"] == 5000.5
    assert data["balanceDue"] == 0.0
    assert data["blocked"] == " "
    assert data["lastModifiedDateTime"] == customer.last_modified.isoformat()
    assert json.loads(json.dumps(data)) == data


@pytest.mark.django_db
def test_sales_order_dict_names_its_customer_status_and_totals(order, customer):
    data = table(SALES_ORDERS).to_dict(order)

    assert data["number"] == "S-ORD101001"
    assert data["customerId"] == str(customer.system_id)
    assert data["customerNumber"] == "C10000"
    assert data["customerName"] == "Adatum Corporation"
    assert data["status"] == "Open"
    assert data["orderDate"] == order.order_date.isoformat()
    assert data["totalAmountExcludingTax"] == 8000.0
    assert data["totalTaxAmount"] == 2000.0
    assert data["totalAmountIncludingTax"] == 10000.0
    assert data["currencyCode"] == "USD"
    assert json.loads(json.dumps(data)) == data


@pytest.mark.django_db
def test_line_dict_names_its_document_and_item(order, bicycle):
    line = order.lines.get()
    data = table(SALES_LINES).to_dict(line)

    assert data["documentId"] == str(order.system_id)
    assert data["documentNumber"] == order.no
    assert data["sequence"] == 10000
    assert data["lineType"] == "Item"
    assert data["itemId"] == str(bicycle.system_id)
    assert data["lineObjectNumber"] == "1000"
    assert data["quantity"] == 2.0
    assert data["amountExcludingTax"] == 8000.0
    assert json.loads(json.dumps(data)) == data


@pytest.mark.django_db
def test_posted_documents_and_entries_read_as_json(order, sales, customer, bicycle):
    invoice = table(SALES_ORDERS).actions["post"](order, sales)
    entry = CustomerLedgerEntry.objects.get(customer=customer)
    item_entry = ItemLedgerEntry.objects.get(item=bicycle)

    invoice_data = table(SALES_INVOICES).to_dict(invoice)
    entry_data = table(CUSTOMER_ENTRIES).to_dict(entry)
    item_data = table(ITEM_ENTRIES).to_dict(item_entry)

    assert invoice_data["orderNumber"] == "S-ORD101001"
    assert invoice_data["totalAmountIncludingTax"] == 10000.0
    assert invoice_data["invoiceDate"] == invoice.posting_date.isoformat()
    assert entry_data["id"] == entry_data["entryNumber"] == entry.pk
    assert entry_data["documentType"] == "Invoice"
    assert entry_data["documentNumber"] == invoice.no
    assert entry_data["open"] is True
    assert item_data["entryType"] == "Sale"
    assert item_data["quantity"] == -2.0
    for data in (invoice_data, entry_data, item_data):
        assert json.loads(json.dumps(data)) == data


@pytest.mark.django_db
def test_get_finds_a_record_by_system_id_or_number(company, customer):
    customers = table(CUSTOMERS)

    assert customers.get(company, str(customer.system_id)) == customer
    assert customers.get(company, customer.system_id) == customer
    assert customers.get(company, "C10000") == customer
    assert customers.get(company, " c10000 ") == customer
    assert customers.get(company, "C99999") is None
    assert customers.get(company, "") is None
    assert customers.get(company, None) is None


@pytest.mark.django_db
def test_get_never_finds_another_companys_record(company, other_company):
    theirs = CustomerFactory(company=other_company, no="C10000")

    assert table(CUSTOMERS).get(company, str(theirs.system_id)) is None
    assert table(CUSTOMERS).get(company, "C10000") is None
    assert table(CUSTOMERS).get(other_company, "C10000") == theirs


@pytest.mark.django_db
def test_entries_are_found_by_entry_number_only(company, order, sales):
    table(SALES_ORDERS).actions["post"](order, sales)
    entry = CustomerLedgerEntry.objects.get()
    entries = table(CUSTOMER_ENTRIES)

    assert entries.get(company, str(entry.pk)) == entry
    assert entries.get(company, "not a number") is None
    assert entries.get(company, "9" * 30) is None


@pytest.mark.django_db
def test_lines_belong_to_the_company_of_their_order(company, other_company, order):
    theirs = SalesOrderFactory(company=other_company)
    sales_order_line_add(
        order=theirs, user=None, item=ItemFactory(company=other_company), quantity=1
    )

    rows = table(SALES_LINES).queryset(company)

    assert list(rows) == list(order.lines.all())
    assert table(SALES_LINES).get(company, str(theirs.lines.get().system_id)) is None


@pytest.mark.django_db
def test_record_url_opens_the_records_page(order, customer, sales):
    line = order.lines.get()

    assert table(CUSTOMERS).record_url(customer) == f"/customers/{customer.pk}/"
    assert table(SALES_ORDERS).record_url(order) == f"/sales-orders/{order.pk}/"
    assert table(SALES_LINES).record_url(line) == f"/sales-orders/{order.pk}/"
    invoice = table(SALES_ORDERS).actions["post"](order, sales)
    entry = CustomerLedgerEntry.objects.get()
    assert table(SALES_INVOICES).record_url(invoice) == f"/posted-sales-invoices/{invoice.pk}/"
    url = table(CUSTOMER_ENTRIES).record_url(entry)
    assert url.startswith("/customer-ledger-entries/?")
    assert f"document_no={invoice.no}" in url


# -- Writing --------------------------------------------------------------------------------


@pytest.mark.django_db
def test_create_customer_from_api_fields(company, sales):
    customer = table(CUSTOMERS).create(
        company,
        sales,
        {"number": "c20000", "displayName": "Trey Research", "creditLimit": 1234.1},
    )

    customer.refresh_from_db()
    assert customer.company == company
    assert customer.no == "C20000"
    assert customer.name == "Trey Research"
    assert customer.credit_limit == Decimal("1234.10")


@pytest.mark.django_db
def test_create_customer_without_number_takes_the_series(company, sales):
    customer = table(CUSTOMERS).create(company, sales, {"displayName": "Trey Research"})

    assert customer.no == "C00010"


@pytest.mark.django_db
def test_update_customer_takes_an_option_by_caption(customer, sales):
    updated = table(CUSTOMERS).update(customer, sales, {"blocked": "All", "city": "Chicago"})

    customer.refresh_from_db()
    assert customer.blocked == Customer.Blocked.ALL
    assert customer.city == "Chicago"
    assert table(CUSTOMERS).to_dict(updated)["blocked"] == "All"


@pytest.mark.django_db
def test_update_refuses_an_unknown_option(customer, sales):
    with pytest.raises(ValidationError) as error:
        table(CUSTOMERS).update(customer, sales, {"blocked": "Everything"})

    assert "Everything is not an option of Blocked" in error.value.message_dict["blocked"][0]
    assert "Ship, Invoice, All" in error.value.message_dict["blocked"][0]


@pytest.mark.django_db
def test_update_refuses_unknown_and_read_only_fields(customer, sales):
    with pytest.raises(ValidationError) as error:
        table(CUSTOMERS).update(customer, sales, {"balanceDue": 10, "colour": "red"})

    errors = error.value.message_dict
    assert errors["balanceDue"] == ["Balance (LCY) (balanceDue) cannot be changed in Customer."]
    assert errors["colour"][0].startswith("The field colour does not exist in Customer.")
    customer.refresh_from_db()
    assert customer.balance == 0


@pytest.mark.django_db
def test_fields_must_be_an_object(customer, sales):
    with pytest.raises(ValidationError, match="must be an object"):
        table(CUSTOMERS).update(customer, sales, ["displayName"])


@pytest.mark.django_db
def test_service_refusals_are_left_as_they_are(customer, sales):
    with pytest.raises(ValidationError) as error:
        table(CUSTOMERS).update(customer, sales, {"creditLimit": -1})

    assert "credit_limit" in error.value.message_dict


@pytest.mark.django_db
def test_delete_customer_refused_while_it_has_orders(order, customer, sales):
    with pytest.raises(ValidationError, match="at least one outstanding Sales Order"):
        table(CUSTOMERS).delete(customer, sales)

    assert Customer.objects.filter(pk=customer.pk).exists()


@pytest.mark.django_db
def test_delete_customer(customer, sales):
    table(CUSTOMERS).delete(customer, sales)

    assert not Customer.objects.filter(pk=customer.pk).exists()


@pytest.mark.django_db
def test_create_item_with_a_type_caption(company, sales):
    item = table(ITEMS).create(
        company, sales, {"displayName": "Installation", "type": "Service", "unitPrice": 80}
    )

    assert item.type == "service"
    assert item.unit_price == Decimal("80")


@pytest.mark.django_db
def test_create_sales_order_for_a_customer_number(company, sales, customer):
    order = table(SALES_ORDERS).create(
        company, sales, {"customerNumber": "C10000", "externalDocumentNumber": "PO-1"}
    )

    assert order.customer == customer
    assert order.sell_to_customer_name == "Adatum Corporation"
    assert order.external_document_no == "PO-1"
    assert order.status == SalesOrder.Status.OPEN


@pytest.mark.django_db
def test_create_sales_order_for_a_customer_id(company, sales, customer):
    order = table(SALES_ORDERS).create(company, sales, {"customerId": str(customer.system_id)})

    assert order.customer == customer


@pytest.mark.django_db
def test_create_sales_order_for_another_companys_customer_refused(company, other_company, sales):
    theirs = CustomerFactory(company=other_company, no="C50000")

    with pytest.raises(ValidationError) as error:
        table(SALES_ORDERS).create(company, sales, {"customerId": str(theirs.system_id)})

    assert error.value.message_dict == {
        "customerId": [f"Customer {theirs.system_id} does not exist."]
    }
    assert not SalesOrder.objects.exists()


@pytest.mark.django_db
def test_create_sales_order_for_a_blocked_customer_refused_by_the_service(company, sales):
    CustomerFactory(company=company, no="C40000", blocked=Customer.Blocked.ALL)

    with pytest.raises(ValidationError) as error:
        table(SALES_ORDERS).create(company, sales, {"customerNumber": "C40000"})

    assert error.value.message_dict == {
        "customer": ["Customer C40000 is blocked for all transactions."]
    }


@pytest.mark.django_db
def test_create_sales_order_without_customer_refused(company, sales):
    with pytest.raises(ValidationError, match=r"Sell-to Customer No\. must have a value"):
        table(SALES_ORDERS).create(company, sales, {})


@pytest.mark.django_db
def test_update_sales_order_to_another_customer(order, sales, company):
    other = CustomerFactory(company=company, no="C20000", name="Trey Research")

    table(SALES_ORDERS).update(order, sales, {"customerNumber": "C20000", "dueDate": None})

    order.refresh_from_db()
    assert order.customer == other
    assert order.sell_to_customer_name == "Trey Research"


@pytest.mark.django_db
def test_customer_id_and_number_must_agree(order, sales, company, customer):
    CustomerFactory(company=company, no="C20000")

    with pytest.raises(ValidationError, match="name different records"):
        table(SALES_ORDERS).update(
            order, sales, {"customerId": str(customer.system_id), "customerNumber": "C20000"}
        )


@pytest.mark.django_db
def test_sales_order_actions_release_reopen_and_post(order, sales):
    orders = table(SALES_ORDERS)

    assert orders.actions["release"](order, sales).status == SalesOrder.Status.RELEASED
    assert orders.actions["reopen"](order, sales).status == SalesOrder.Status.OPEN
    invoice = orders.actions["post"](order, sales)

    assert isinstance(invoice, PostedSalesInvoice)
    assert invoice.order_no == "S-ORD101001"
    assert not SalesOrder.objects.filter(pk=order.pk).exists()


@pytest.mark.django_db
def test_release_without_lines_refused_by_the_service(company, sales, customer):
    empty = SalesOrderFactory(company=company, customer=customer, no="S-ORD2")

    with pytest.raises(ValidationError, match="There is nothing to release for Order S-ORD2"):
        table(SALES_ORDERS).actions["release"](empty, sales)


@pytest.mark.django_db
def test_create_line_on_an_order(company, sales, order, bicycle):
    line = table(SALES_LINES).create(
        company,
        sales,
        {
            "documentId": str(order.system_id),
            "lineObjectNumber": "1000",
            "quantity": 1.5,
            "discountPercent": 10,
        },
    )

    order.refresh_from_db()
    assert line.order == order
    assert line.item == bicycle
    assert line.line_no == 20000
    assert line.line_amount == Decimal("5400.00")
    assert order.amount == Decimal("13400.00")


@pytest.mark.django_db
def test_create_line_needs_an_order_of_the_company(company, other_company, sales, bicycle):
    theirs = SalesOrderFactory(company=other_company)

    with pytest.raises(ValidationError) as error:
        table(SALES_LINES).create(
            company, sales, {"documentId": str(theirs.system_id), "itemId": str(bicycle.system_id)}
        )
    assert "does not exist" in error.value.message_dict["documentId"][0]

    with pytest.raises(ValidationError) as error:
        table(SALES_LINES).create(company, sales, {"lineObjectNumber": "1000", "quantity": 1})
    assert "must have a value" in error.value.message_dict["documentId"][0]
    assert not theirs.lines.exists()


@pytest.mark.django_db
def test_create_line_for_an_unknown_item_refused(company, sales, order):
    with pytest.raises(ValidationError) as error:
        table(SALES_LINES).create(
            company,
            sales,
            {"documentId": str(order.system_id), "lineObjectNumber": "9999", "quantity": 1},
        )

    assert error.value.message_dict == {"lineObjectNumber": ["Item 9999 does not exist."]}


@pytest.mark.django_db
def test_update_and_delete_a_line(order, sales):
    line = order.lines.get()

    table(SALES_LINES).update(line, sales, {"quantity": 3, "documentId": str(order.system_id)})
    order.refresh_from_db()
    assert order.amount == Decimal("12000.00")

    table(SALES_LINES).delete(line, sales)
    order.refresh_from_db()
    assert not order.lines.exists()
    assert order.amount == 0


@pytest.mark.django_db
def test_a_line_cannot_move_to_another_order(order, sales, company, customer):
    other = SalesOrderFactory(company=company, customer=customer)

    with pytest.raises(ValidationError, match="A line cannot move to another order"):
        table(SALES_LINES).update(order.lines.get(), sales, {"documentId": str(other.system_id)})


@pytest.mark.django_db
def test_lines_of_a_released_order_cannot_change(order, sales):
    table(SALES_ORDERS).actions["release"](order, sales)

    with pytest.raises(ValidationError, match="Status must be equal to 'Open'"):
        table(SALES_LINES).update(order.lines.get(), sales, {"quantity": 5})
