"""The Business Central connector: each action as the engine calls it, in the run's company."""

from decimal import Decimal

import pytest
from django.db import OperationalError

from automate.connectors import find_action
from automate.connectors.base import ActionError
from records import services
from records.models import Customer, PostedSalesInvoice, SalesOrder
from tests.factories import CustomerFactory, ItemFactory, SalesOrderFactory


def run(action_key: str, action_call, inputs: dict) -> dict:
    return find_action(f"business_central.{action_key}").run(action_call(inputs))


def refused(action_key: str, action_call, inputs: dict) -> ActionError:
    with pytest.raises(ActionError) as error:
        run(action_key, action_call, inputs)
    return error.value


@pytest.fixture
def customer(company):
    return CustomerFactory(company=company, no="C10000", name="Adatum Corporation", city="Atlanta")


@pytest.fixture
def customers(company, customer):
    return [
        customer,
        CustomerFactory(company=company, no="C20000", name="Trey Research", city="Chicago"),
        CustomerFactory(company=company, no="C30000", name="School of Fine Art", city="Miami"),
        CustomerFactory(company=company, no="C40000", name="Alpine Ski House", city="Atlanta"),
    ]


@pytest.fixture
def theirs(other_company):
    """A customer of another company, with the same No. as ours."""
    return CustomerFactory(company=other_company, no="C10000", name="Their Adatum", city="Atlanta")


@pytest.fixture
def order(company, sales, customer):
    """An open order with one line, ready to release and post."""
    order = SalesOrderFactory(company=company, customer=customer, no="S-ORD101001")
    bicycle = ItemFactory(company=company, no="1000", unit_price=Decimal("4000.00"))
    services.sales_order_line_add(order=order, user=sales, item=bicycle, quantity=2)
    return order


# -- The connector --------------------------------------------------------------------------


def test_actions_declare_how_the_engine_may_run_them():
    reads = ("get_record", "find_records", "find_one_record", "get_url")
    writes = ("create_record", "update_record", "delete_record", "run_action")
    for key in reads:
        action = find_action(f"business_central.{key}")
        assert action.repeatable and not action.transactional, key
    for key in writes:
        action = find_action(f"business_central.{key}")
        assert action.transactional and not action.repeatable, key
        assert action.connector.name == "Business Central"


def test_table_inputs_are_tables_and_get_record_offers_record_fields():
    described = find_action("business_central.get_record").describe()

    assert described["title"] == "Get record (V3)"
    assert described["inputs"][0]["type"] == "table"
    paths = {o["path"] for o in described["outputs"]}
    assert {"body/number", "body/displayName", "body/id"} <= paths


def test_validate_refuses_an_unknown_table_but_not_an_expression():
    action = find_action("business_central.get_record")

    assert action.validate({"table": 99, "id": "C1"}) == ["Table 99 does not exist."]
    assert action.validate({"table": "@{triggerBody()?['tableId']}", "id": "C1"}) == []
    assert action.validate({"table": 18}) == ["Row id is required."]


# -- Get record -----------------------------------------------------------------------------


@pytest.mark.django_db
def test_get_record_by_system_id(action_call, customer):
    outputs = run("get_record", action_call, {"table": 18, "id": str(customer.system_id)})

    assert outputs["body"]["number"] == "C10000"
    assert outputs["body"]["displayName"] == "Adatum Corporation"


@pytest.mark.django_db
def test_get_record_by_number_and_table_name(action_call, customer):
    outputs = run("get_record", action_call, {"table": "customers", "id": "C10000"})

    assert outputs["body"]["id"] == str(customer.system_id)


@pytest.mark.django_db
def test_get_record_of_another_company_is_not_found(action_call, customer, theirs):
    error = refused("get_record", action_call, {"table": 18, "id": str(theirs.system_id)})

    assert error.code == "NotFound"
    assert error.message == f"Customer {theirs.system_id} does not exist in company CRONUS."
    assert error.retryable is False


@pytest.mark.django_db
def test_get_record_of_an_unknown_table(action_call):
    error = refused("get_record", action_call, {"table": 4711, "id": "1"})

    assert error.message == "Table 4711 does not exist."


# -- Find records -------------------------------------------------------------------------


@pytest.mark.django_db
def test_find_records_with_filter_order_and_top(action_call, customers, theirs):
    outputs = run(
        "find_records",
        action_call,
        {"table": 18, "filter": {"city": "Atlanta|Chicago"}, "orderBy": "displayName desc"},
    )

    names = [row["displayName"] for row in outputs["body"]["value"]]
    assert names == ["Trey Research", "Alpine Ski House", "Adatum Corporation"]


@pytest.mark.django_db
def test_find_records_top_and_several_sort_fields(action_call, customers):
    outputs = run(
        "find_records", action_call, {"table": 18, "orderBy": "city, number desc", "top": 2}
    )

    assert [row["number"] for row in outputs["body"]["value"]] == ["C40000", "C10000"]


@pytest.mark.django_db
def test_find_records_filters_by_expression_per_field(action_call, customers, order):
    outputs = run(
        "find_records",
        action_call,
        {"table": "salesOrders", "filter": {"status": "Open", "totalAmountExcludingTax": ">1000"}},
    )

    assert [row["number"] for row in outputs["body"]["value"]] == ["S-ORD101001"]
    outputs = run("find_records", action_call, {"table": 36, "filter": {"status": "Released"}})
    assert outputs["body"]["value"] == []


@pytest.mark.django_db
def test_find_records_defaults_to_a_hundred_rows(action_call, company):
    CustomerFactory.create_batch(101, company=company)

    outputs = run("find_records", action_call, {"table": 18})

    assert len(outputs["body"]["value"]) == 100


@pytest.mark.django_db
def test_find_records_accepts_a_filter_as_json_text(action_call, customers):
    outputs = run("find_records", action_call, {"table": 18, "filter": '{"number": "C2*"}'})

    assert [row["number"] for row in outputs["body"]["value"]] == ["C20000"]


@pytest.mark.django_db
def test_find_records_never_lists_another_companys_rows(action_call, customer, theirs):
    outputs = run("find_records", action_call, {"table": 18, "filter": {"city": "Atlanta"}})

    assert [row["id"] for row in outputs["body"]["value"]] == [str(customer.system_id)]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("inputs", "message"),
    [
        ({"filter": {"colour": "red"}}, "The field colour does not exist in Customer."),
        ({"filter": {"creditLimit": "lots"}}, "The filter 'lots' is not valid for Credit Limit"),
        ({"filter": {"city": ["Atlanta"]}}, "must be a filter expression"),
        ({"filter": ["city"]}, "The filter must be an object"),
        ({"filter": "{city"}, "Expected an object"),
        ({"orderBy": "colour"}, "The field colour does not exist in Customer."),
        ({"orderBy": "city upwards"}, "Order by takes field names"),
        ({"top": 0}, "Top count must be a whole number from 1 to 1000"),
        ({"top": 1001}, "Top count must be a whole number from 1 to 1000"),
        ({"top": "many"}, "Top count must be a whole number from 1 to 1000"),
    ],
)
def test_find_records_refuses_bad_inputs_clearly(action_call, customer, inputs, message):
    error = refused("find_records", action_call, {"table": 18, **inputs})

    assert message in error.message
    assert error.code == "BadRequest"
    assert not error.retryable


@pytest.mark.django_db
def test_a_computed_field_cannot_be_filtered_on(action_call, order):
    error = refused("find_records", action_call, {"table": 36, "filter": {"totalTaxAmount": ">0"}})

    assert error.message == "You cannot filter on totalTaxAmount: it is computed, not stored."


# -- Find one record ----------------------------------------------------------------------


@pytest.mark.django_db
def test_find_one_record(action_call, customers):
    outputs = run("find_one_record", action_call, {"table": 18, "filter": {"city": "Miami"}})

    assert outputs["body"]["number"] == "C30000"


@pytest.mark.django_db
def test_find_one_record_refuses_no_match(action_call, customers):
    error = refused("find_one_record", action_call, {"table": 18, "filter": {"city": "Oslo"}})

    assert error.code == "NotFound"
    assert error.message == "No Customer record matches the filter."


@pytest.mark.django_db
def test_find_one_record_may_continue_on_empty(action_call, customers):
    outputs = run(
        "find_one_record",
        action_call,
        {"table": 18, "filter": {"city": "Oslo"}, "continueOnEmpty": True},
    )

    assert outputs == {"body": None}


@pytest.mark.django_db
def test_find_one_record_refuses_two_matches(action_call, customers):
    error = refused(
        "find_one_record",
        action_call,
        {"table": 18, "filter": {"city": "Atlanta"}, "continueOnEmpty": True},
    )

    assert error.code == "MultipleRecords"
    assert "More than one Customer record matches the filter" in error.message


# -- Create, update, delete -------------------------------------------------------------------


@pytest.mark.django_db
def test_create_record(action_call, company):
    outputs = run(
        "create_record",
        action_call,
        {"table": 18, "fields": {"displayName": "Trey Research", "city": "Chicago"}},
    )

    customer = Customer.objects.get(company=company, name="Trey Research")
    assert outputs["body"]["id"] == str(customer.system_id)
    assert outputs["body"]["number"] == customer.no


@pytest.mark.django_db
def test_create_record_refused_for_a_blocked_customer(action_call, company):
    CustomerFactory(company=company, no="C90000", blocked=Customer.Blocked.ALL)

    error = refused(
        "create_record", action_call, {"table": 36, "fields": {"customerNumber": "C90000"}}
    )

    assert error.message == "Customer C90000 is blocked for all transactions."
    assert error.code == "ValidationFailed"
    assert error.retryable is False
    assert error.details == {"customerId": ["Customer C90000 is blocked for all transactions."]}
    assert not SalesOrder.objects.exists()


@pytest.mark.django_db
def test_create_record_in_a_read_only_table(action_call):
    error = refused("create_record", action_call, {"table": 112, "fields": {"number": "X"}})

    assert error.message == "Records cannot be created in Sales Invoice Header."


@pytest.mark.django_db
def test_update_record(action_call, customer):
    outputs = run(
        "update_record",
        action_call,
        {"table": 18, "id": "C10000", "fields": {"creditLimit": 2500, "blocked": "Invoice"}},
    )

    customer.refresh_from_db()
    assert customer.credit_limit == Decimal("2500")
    assert customer.blocked == Customer.Blocked.INVOICE
    assert outputs["body"]["blocked"] == "Invoice"


@pytest.mark.django_db
def test_update_record_refusal_names_the_api_field(action_call, customer):
    error = refused(
        "update_record", action_call, {"table": 18, "id": "C10000", "fields": {"creditLimit": -5}}
    )

    assert list(error.details) == ["creditLimit"]
    assert error.message == " ".join(error.details["creditLimit"])


@pytest.mark.django_db
def test_update_record_of_another_company_is_not_found(action_call, theirs):
    error = refused(
        "update_record",
        action_call,
        {"table": 18, "id": str(theirs.system_id), "fields": {"displayName": "Mine now"}},
    )

    assert error.code == "NotFound"
    theirs.refresh_from_db()
    assert theirs.name == "Their Adatum"


@pytest.mark.django_db
def test_delete_record(action_call, customer):
    outputs = run("delete_record", action_call, {"table": 18, "id": "C10000"})

    assert outputs == {"body": None}
    assert not Customer.objects.filter(pk=customer.pk).exists()


@pytest.mark.django_db
def test_delete_record_of_another_company_is_not_found(action_call, customer, theirs):
    error = refused("delete_record", action_call, {"table": 18, "id": str(theirs.system_id)})

    assert error.code == "NotFound"
    assert Customer.objects.filter(pk=theirs.pk).exists()


@pytest.mark.django_db
def test_delete_record_refused_by_the_service(action_call, order):
    error = refused("delete_record", action_call, {"table": 18, "id": "C10000"})

    assert "at least one outstanding Sales Order" in error.message


# -- Run action -----------------------------------------------------------------------------


@pytest.mark.django_db
def test_run_action_release_and_reopen(action_call, order):
    released = run(
        "run_action", action_call, {"table": 36, "id": "S-ORD101001", "action": "release"}
    )
    order.refresh_from_db()
    assert released["body"]["status"] == "Released"
    assert order.status == SalesOrder.Status.RELEASED

    reopened = run(
        "run_action", action_call, {"table": 36, "id": str(order.system_id), "action": "Reopen"}
    )
    assert reopened["body"]["status"] == "Open"


@pytest.mark.django_db
def test_run_action_post_returns_the_posted_invoice(action_call, order, customer):
    outputs = run("run_action", action_call, {"table": 36, "id": "S-ORD101001", "action": "post"})

    invoice = PostedSalesInvoice.objects.get(order_no="S-ORD101001")
    assert outputs["body"]["id"] == str(invoice.system_id)
    assert outputs["body"]["number"] == invoice.no
    assert outputs["body"]["totalAmountIncludingTax"] == 10000.0
    assert not SalesOrder.objects.filter(pk=order.pk).exists()
    customer.refresh_from_db()
    assert customer.balance == Decimal("10000.00")


@pytest.mark.django_db
def test_run_action_post_refused_for_a_blocked_customer(action_call, order, customer):
    Customer.objects.filter(pk=customer.pk).update(blocked=Customer.Blocked.INVOICE)

    error = refused("run_action", action_call, {"table": 36, "id": "S-ORD101001", "action": "post"})

    assert error.message == "Customer C10000 is blocked for invoicing."
    assert error.details is None
    assert SalesOrder.objects.filter(pk=order.pk).exists()


@pytest.mark.django_db
def test_run_action_unknown_action(action_call, order):
    error = refused("run_action", action_call, {"table": 36, "id": "S-ORD101001", "action": "ship"})

    assert (
        error.message
        == "Sales Header has no action 'ship'. Its actions are: release, reopen, post, "
        "sendApprovalRequest, cancelApprovalRequest."
    )


@pytest.mark.django_db
def test_run_action_on_another_companys_order_is_not_found(action_call, other_company):
    their_order = SalesOrderFactory(company=other_company)

    error = refused(
        "run_action",
        action_call,
        {"table": 36, "id": str(their_order.system_id), "action": "release"},
    )

    assert error.code == "NotFound"
    their_order.refresh_from_db()
    assert their_order.status == SalesOrder.Status.OPEN


@pytest.mark.django_db
def test_a_busy_database_is_worth_a_retry(action_call, order, monkeypatch):
    def locked(**kwargs):
        raise OperationalError("could not obtain lock on row in relation")

    monkeypatch.setattr(services, "sales_order_release", locked)

    error = refused(
        "run_action", action_call, {"table": 36, "id": "S-ORD101001", "action": "release"}
    )

    assert error.retryable is True
    assert error.code == "Transient"


# -- Get URL --------------------------------------------------------------------------------


@pytest.mark.django_db
def test_get_url(action_call, customer, settings):
    settings.SITE_URL = ""

    outputs = run("get_url", action_call, {"table": 18, "id": "C10000"})

    assert outputs == {"body": {"url": f"/customers/{customer.pk}/"}}


@pytest.mark.django_db
def test_get_url_starts_with_the_site_url(action_call, order, settings):
    settings.SITE_URL = "https://erp.example.com/"
    line = order.lines.get()

    outputs = run("get_url", action_call, {"table": 37, "id": str(line.system_id)})

    assert outputs["body"]["url"] == f"https://erp.example.com/sales-orders/{order.pk}/"


@pytest.mark.django_db
def test_get_url_of_another_companys_record_is_not_found(action_call, theirs):
    error = refused("get_url", action_call, {"table": 18, "id": str(theirs.system_id)})

    assert error.code == "NotFound"


@pytest.mark.django_db
def test_find_records_by_a_related_id_and_an_option(action_call, order, customer, company):
    CustomerFactory(company=company, no="C50000", blocked=Customer.Blocked.SHIP)

    by_customer = run(
        "find_records",
        action_call,
        {"table": 36, "filter": {"customerId": str(customer.system_id)}},
    )
    not_blocked = run("find_records", action_call, {"table": 18, "filter": {"blocked": "''"}})

    assert [row["number"] for row in by_customer["body"]["value"]] == ["S-ORD101001"]
    assert [row["number"] for row in not_blocked["body"]["value"]] == ["C10000"]
