"""Entities under /api/v2.0: BC's shape, OData options, paging, ETags, writes, bound actions,
company scoping, and the number of queries a page costs."""

import datetime
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from oauth2_provider.models import AccessToken
from rest_framework.test import APIClient

from bcsite.api import credentials
from records.models import Customer, Membership, SalesOrder
from tests.api.conftest import token_client
from tests.factories import (
    CustomerFactory,
    ItemFactory,
    NoSeriesFactory,
    SalesOrderFactory,
    SalesOrderLineFactory,
)

pytestmark = pytest.mark.django_db


def base(company) -> str:
    return f"/api/v2.0/companies({company.system_id})"


def error(response) -> dict:
    return response.json()["error"]


@pytest.fixture
def customers(company):
    atlanta = [CustomerFactory(company=company, no=f"A{i:03d}", city="Atlanta") for i in range(7)]
    chicago = [CustomerFactory(company=company, no=f"C{i:03d}", city="Chicago") for i in range(3)]
    return atlanta + chicago


@pytest.fixture
def order(company):
    order = SalesOrderFactory(company=company, no="S-ORD101001")
    SalesOrderLineFactory(order=order, line_no=10000, quantity=Decimal("2"))
    SalesOrderLineFactory(order=order, line_no=20000, quantity=Decimal("1"))
    return order


# -- Companies ----------------------------------------------------------------------------


def test_companies_lists_the_tokens_company_only(api_client, company, sales, other_company):
    Membership.objects.create(user=sales, company=other_company)
    response = api_client.get("/api/v2.0/companies")
    assert response.status_code == 200
    body = response.json()
    assert body["@odata.context"].endswith("/api/v2.0/$metadata#companies")
    assert [c["name"] for c in body["value"]] == ["CRONUS"]
    first = body["value"][0]
    assert first["id"] == str(company.system_id)
    assert first["displayName"] == "CRONUS USA, Inc."
    for name in ("systemVersion", "timestamp", "businessProfileId", "systemCreatedAt"):
        assert name in first
    assert first["@odata.etag"].startswith('W/"')


def test_a_session_reaches_every_company_of_its_user(client, sales, company, other_company):
    Membership.objects.create(user=sales, company=other_company)
    client.force_login(sales)
    names = [c["name"] for c in client.get("/api/v2.0/companies").json()["value"]]
    assert names == ["CRONUS", "OTHER"]


def test_anonymous_callers_are_told_to_authenticate(client, company):
    response = client.get(f"{base(company)}/customers")
    assert response.status_code == 401
    assert error(response)["code"] == "Unauthorized"


def test_a_token_does_not_reach_another_company_even_of_its_user(api_client, sales, other_company):
    Membership.objects.create(user=sales, company=other_company)
    response = api_client.get(f"{base(other_company)}/customers")
    assert response.status_code == 404
    assert error(response)["code"] == "BadRequest_NotFound"


def test_an_outsider_cannot_see_the_company_or_its_records(outsider_api_client, company, customers):
    assert outsider_api_client.get(f"{base(company)}/customers").status_code == 404
    record = f"{base(company)}/customers({customers[0].system_id})"
    assert outsider_api_client.get(record).status_code == 404


def test_another_companys_record_is_not_found(api_client, company, other_company):
    theirs = CustomerFactory(company=other_company, no="X1")
    response = api_client.get(f"{base(company)}/customers({theirs.system_id})")
    assert response.status_code == 404
    assert error(response)["code"] == "BadRequest_NotFound"


def test_a_bad_company_id_is_not_found(api_client):
    assert api_client.get("/api/v2.0/companies(nonsense)/customers").status_code == 404


def test_unknown_segments_answer_in_bcs_error_shape(api_client, company):
    response = api_client.get(f"{base(company)}/vendors")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("application/json")
    assert error(response)["code"] == "BadRequest_ResourceNotFound"
    assert "vendors" in error(response)["message"]


def test_a_service_client_reaches_its_company_with_its_role(admin_user, company, other_company):
    client_row, _, _ = credentials.service_client_create(
        company=company, name="Partner", role=Membership.Role.USER, by=admin_user
    )
    token = AccessToken.objects.create(
        user=None,
        application=client_row.application,
        token="svc-token-123",
        expires=timezone.now() + datetime.timedelta(hours=1),
        scope="api",
    )
    CustomerFactory(company=company, no="10000", city="Atlanta")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token.token}")
    response = client.get(f"{base(company)}/customers?$filter=city eq 'Atlanta'&$top=5")
    assert response.status_code == 200
    assert [c["number"] for c in response.json()["value"]] == ["10000"]
    assert client.get(f"{base(other_company)}/customers").status_code == 404


# -- Reading ------------------------------------------------------------------------------


def test_the_issues_example_returns_bc_shaped_json(api_client, company, customers):
    response = api_client.get(f"{base(company)}/customers?$filter=city eq 'Atlanta'&$top=5")
    assert response.status_code == 200
    body = response.json()
    assert body["@odata.context"].endswith(
        f"/api/v2.0/$metadata#companies({company.system_id})/customers"
    )
    assert [c["number"] for c in body["value"]] == ["A000", "A001", "A002", "A003", "A004"]
    assert "@odata.nextLink" not in body
    first = body["value"][0]
    assert next(iter(first)) == "@odata.etag"
    assert first["city"] == "Atlanta"
    assert first["id"] == str(customers[0].system_id)
    for name in ("displayName", "creditLimit", "balanceDue", "blocked", "lastModifiedDateTime"):
        assert name in first


@pytest.mark.parametrize(
    ("expression", "numbers"),
    [
        ("city eq 'Chicago'", ["C000", "C001", "C002"]),
        ("city ne 'Atlanta'", ["C000", "C001", "C002"]),
        ("number gt 'C000' and number le 'C002'", ["C001", "C002"]),
        ("number ge 'C001' or number lt 'A001'", ["A000", "C001", "C002"]),
        ("not (city eq 'Atlanta' or number eq 'C000')", ["C001", "C002"]),
        ("startswith(number,'C') and not contains(number,'2')", ["C000", "C001"]),
        ("endswith(number,'02')", ["A002", "C002"]),
        (
            "contains(displayName,'CUSTOMER') and city eq 'Chicago' and number ne 'C001'",
            ["C000", "C002"],
        ),
        ("creditLimit gt 1000", ["A001"]),
        ("blocked eq 'All'", ["A002"]),
        ("blocked eq ' ' and city eq 'Chicago'", ["C000", "C001", "C002"]),
        ("phoneNumber eq 'it''s'", ["A003"]),
        (
            "lastModifiedDateTime gt 2000-01-01T00:00:00Z and city eq 'Chicago'",
            ["C000", "C001", "C002"],
        ),
    ],
)
def test_filter_expressions(api_client, company, customers, expression, numbers):
    Customer.objects.filter(no="A001").update(credit_limit=Decimal("5000"))
    Customer.objects.filter(no="A002").update(blocked="all")
    Customer.objects.filter(no="A003").update(phone="it's")
    response = api_client.get(f"{base(company)}/customers", {"$filter": expression})
    assert response.status_code == 200, response.json()
    assert [c["number"] for c in response.json()["value"]] == numbers


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("town eq 'Atlanta'", "Could not find a property named 'town'"),
        ("city eq Atlanta", "Expected a value"),
        ("city eq 'Atlanta", "no closing quote"),
        ("city eq 'Atlanta' and", "Expected a field name"),
        ("creditLimit eq 'lots'", "creditLimit is a number field"),
        ("city gt 5", "city is a text field"),
        ("blocked eq 'Sometimes'", "is not an option of Blocked"),
        ("contains(creditLimit,'1')", "works on text fields"),
        ("(" * 40 + "city eq 'x'" + ")" * 40, "nested too deeply"),
        ("balanceDue eq 1e999", "out of range"),
        ("city eq 'x' ; drop table", "cannot be read"),
    ],
)
def test_bad_filters_are_a_400_that_says_why(api_client, company, expression, message):
    response = api_client.get(f"{base(company)}/customers", {"$filter": expression})
    assert response.status_code == 400
    assert error(response)["code"] == "BadRequest_InvalidFilter"
    assert message in error(response)["message"]


def test_an_unknown_field_lists_the_fields(api_client, company):
    message = error(api_client.get(f"{base(company)}/customers", {"$filter": "x eq 1"}))["message"]
    assert "number, displayName, addressLine1" in message


def test_select_returns_the_chosen_fields_and_the_etag(api_client, company, customers):
    response = api_client.get(f"{base(company)}/customers", {"$select": "number,city", "$top": 1})
    assert list(response.json()["value"][0]) == ["@odata.etag", "number", "city"]
    bad = api_client.get(f"{base(company)}/customers", {"$select": "number,shoeSize"})
    assert bad.status_code == 400
    assert "shoeSize" in error(bad)["message"]


def test_orderby_several_fields_and_directions(api_client, company, customers):
    response = api_client.get(
        f"{base(company)}/customers", {"$orderby": "city desc,number desc", "$top": 4}
    )
    assert [c["number"] for c in response.json()["value"]] == ["C002", "C001", "C000", "A006"]
    bad = api_client.get(f"{base(company)}/customers", {"$orderby": "city sideways"})
    assert bad.status_code == 400


def test_skip_and_count(api_client, company, customers):
    response = api_client.get(
        f"{base(company)}/customers", {"$skip": 8, "$count": "true", "$orderby": "number"}
    )
    body = response.json()
    assert body["@odata.count"] == 10
    assert [c["number"] for c in body["value"]] == ["C001", "C002"]


@pytest.mark.parametrize(
    "params", [{"$top": "-1"}, {"$skip": "x"}, {"$count": "maybe"}, {"$search": "a"}]
)
def test_bad_options_are_refused(api_client, company, params):
    response = api_client.get(f"{base(company)}/customers", params)
    assert response.status_code == 400
    assert error(response)["code"].startswith("BadRequest")


def test_next_links_page_through_every_row_once_in_order(api_client, company):
    # Equal cities: the pk breaks the ties, so no row is skipped or repeated.
    for i in range(23):
        CustomerFactory(company=company, no=f"N{i:03d}", city=["Oslo", "Bergen"][i % 2])
    url = f"{base(company)}/customers?$orderby=city desc&$select=number"
    seen, pages = [], 0
    while url:
        response = api_client.get(url, HTTP_PREFER="odata.maxpagesize=5")
        assert response.status_code == 200
        assert response["Preference-Applied"] == "odata.maxpagesize=5"
        body = response.json()
        seen += [c["number"] for c in body["value"]]
        url = body.get("@odata.nextLink")
        pages += 1
    assert pages == 5
    assert len(seen) == len(set(seen)) == 23
    assert seen[:12] == [f"N{i:03d}" for i in range(0, 23, 2)]


def test_top_is_kept_across_pages(api_client, company, customers):
    first = api_client.get(
        f"{base(company)}/customers?$top=7", HTTP_PREFER="odata.maxpagesize=4"
    ).json()
    assert len(first["value"]) == 4
    assert "$top=3" in first["@odata.nextLink"]
    second = api_client.get(first["@odata.nextLink"]).json()
    assert len(second["value"]) == 3
    assert "@odata.nextLink" not in second


def test_a_tampered_skiptoken_is_refused(api_client, company, customers):
    response = api_client.get(f"{base(company)}/customers", {"$skiptoken": "abc.def"})
    assert response.status_code == 400
    assert error(response)["code"] == "BadRequest_InvalidToken"


def test_a_page_costs_the_same_queries_however_many_rows(api_client, company):
    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert (
                api_client.get(f"{base(company)}/salesOrders?$expand=salesOrderLines").status_code
                == 200
            )
        return len(captured)

    SalesOrderLineFactory(order=SalesOrderFactory(company=company))
    queries()  # The token's first use of the minute records it: one write more.
    few = queries()
    for _ in range(6):
        order = SalesOrderFactory(company=company)
        SalesOrderLineFactory.create_batch(3, order=order)
    assert queries() == few


def test_expand_sales_order_lines(api_client, company, order):
    response = api_client.get(
        f"{base(company)}/salesOrders({order.system_id})?$expand=salesOrderLines"
    )
    body = response.json()
    assert body["number"] == "S-ORD101001"
    assert body["@odata.context"].endswith("/salesOrders/$entity")
    assert [line["sequence"] for line in body["salesOrderLines"]] == [10000, 20000]
    assert all(line["@odata.etag"] for line in body["salesOrderLines"])
    bad = api_client.get(f"{base(company)}/salesOrders?$expand=customer")
    assert bad.status_code == 400


def test_lines_through_their_order(api_client, company, order):
    other = SalesOrderFactory(company=company)
    SalesOrderLineFactory(order=other)
    response = api_client.get(f"{base(company)}/salesOrders({order.system_id})/salesOrderLines")
    assert [line["documentNumber"] for line in response.json()["value"]] == ["S-ORD101001"] * 2


def test_get_one_by_id_with_its_etag_header(api_client, company, customers):
    response = api_client.get(f"{base(company)}/customers({customers[0].system_id})")
    assert response.status_code == 200
    assert response["ETag"] == response.json()["@odata.etag"]
    missing = api_client.get(f"{base(company)}/customers(00000000-0000-0000-0000-000000000001)")
    assert missing.status_code == 404


# -- Writing ------------------------------------------------------------------------------


def test_post_creates_and_answers_201_with_location(api_client, company):
    NoSeriesFactory(company=company, code="CUST", starting_no="CU10000")
    response = api_client.post(
        f"{base(company)}/customers",
        {"displayName": "Adatum", "city": "Atlanta", "creditLimit": 2500.5},
        format="json",
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    customer = Customer.objects.get(system_id=body["id"])
    assert customer.name == "Adatum" and customer.credit_limit == Decimal("2500.50")
    assert response["Location"].endswith(f"{base(company)}/customers({customer.system_id})")
    assert body["number"] == customer.no


def test_post_refusals_are_400_with_the_services_message(api_client, company):
    response = api_client.post(
        f"{base(company)}/customers", {"displayName": "X", "balanceDue": 5}, format="json"
    )
    assert response.status_code == 400
    assert "balanceDue" in error(response)["message"]
    not_object = api_client.post(f"{base(company)}/customers", [1, 2], format="json")
    assert not_object.status_code == 400
    garbage = api_client.post(
        f"{base(company)}/customers", "{not json", content_type="application/json"
    )
    assert garbage.status_code == 400


def test_text_with_a_nul_character_is_refused_not_stored(api_client, company):
    # PostgreSQL cannot store or even compare NUL: a body holding one is a 400, wherever it is.
    for body in (
        {"displayName": "Ada\x00tum"},
        {"number": "10000", "customerId": "C\x00"},
        {"displayName": "Adatum", "x": ["\x00"]},
    ):
        entity = "salesOrders" if "customerId" in body else "customers"
        response = api_client.post(f"{base(company)}/{entity}", body, format="json")
        assert response.status_code == 400, body
        assert "NUL" in error(response)["message"]
    assert not Customer.objects.filter(company=company).exists()


def test_patch_needs_the_current_etag(api_client, company, customers):
    url = f"{base(company)}/customers({customers[0].system_id})"
    tag = api_client.get(url).json()["@odata.etag"]
    missing = api_client.patch(url, {"city": "Boston"}, format="json")
    assert missing.status_code == 428
    ok = api_client.patch(url, {"city": "Boston"}, format="json", HTTP_IF_MATCH=tag)
    assert ok.status_code == 200, ok.json()
    assert ok.json()["city"] == "Boston"
    assert ok.json()["@odata.etag"] != tag
    stale = api_client.patch(url, {"city": "Denver"}, format="json", HTTP_IF_MATCH=tag)
    assert stale.status_code == 412
    assert error(stale)["code"] == "Request_EntityChanged"
    assert Customer.objects.get(pk=customers[0].pk).city == "Boston"
    anything = api_client.patch(url, {"city": "Denver"}, format="json", HTTP_IF_MATCH="*")
    assert anything.status_code == 200


def test_a_change_made_elsewhere_changes_the_etag(api_client, company, customers):
    url = f"{base(company)}/customers({customers[0].system_id})"
    tag = api_client.get(url).json()["@odata.etag"]
    Customer.objects.filter(pk=customers[0].pk).update(balance=Decimal("10"))
    response = api_client.patch(url, {"city": "Boston"}, format="json", HTTP_IF_MATCH=tag)
    assert response.status_code == 412


def test_patch_refuses_read_only_fields(api_client, company, customers):
    url = f"{base(company)}/customers({customers[0].system_id})"
    response = api_client.patch(url, {"balanceDue": 1}, format="json", HTTP_IF_MATCH="*")
    assert response.status_code == 400
    assert "cannot be changed" in error(response)["message"]


def test_delete_with_if_match(api_client, company, customers):
    url = f"{base(company)}/customers({customers[0].system_id})"
    assert api_client.delete(url).status_code == 428
    assert api_client.delete(url, HTTP_IF_MATCH='W/"JzE4OzE7MDA7Jw=="').status_code == 412
    tag = api_client.get(url).json()["@odata.etag"]
    assert api_client.delete(url, HTTP_IF_MATCH=tag).status_code == 204
    assert not Customer.objects.filter(pk=customers[0].pk).exists()


def test_read_only_entity_sets_refuse_writes(api_client, company):
    response = api_client.post(f"{base(company)}/salesInvoices", {}, format="json")
    assert response.status_code == 405
    assert error(response)["code"] == "BadRequest_MethodNotAllowed"


def test_lines_are_added_through_their_order(api_client, company, order):
    item = ItemFactory(company=company, no="1900", unit_price=Decimal("10"))
    url = f"{base(company)}/salesOrders({order.system_id})/salesOrderLines"
    response = api_client.post(url, {"lineObjectNumber": "1900", "quantity": 3}, format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["documentId"] == str(order.system_id)
    assert body["itemId"] == str(item.system_id)
    assert body["amountExcludingTax"] == 30.0
    wrong = api_client.post(
        url,
        {"documentId": str(SalesOrderFactory(company=company).system_id), "quantity": 1},
        format="json",
    )
    assert wrong.status_code == 400


# -- Bound actions ------------------------------------------------------------------------


def test_release_and_reopen(api_client, company, order):
    url = f"{base(company)}/salesOrders({order.system_id})"
    assert api_client.post(f"{url}/Microsoft.NAV.release").status_code == 204
    order.refresh_from_db()
    assert order.status == SalesOrder.Status.RELEASED
    assert api_client.post(f"{url}/Microsoft.NAV.reopen").status_code == 204
    order.refresh_from_db()
    assert order.status == SalesOrder.Status.OPEN


def test_ship_and_invoice_posts_the_order(api_client, company, order):
    NoSeriesFactory(company=company, code="S-INV", starting_no="S-INV1001")
    url = f"{base(company)}/salesOrders({order.system_id})/Microsoft.NAV.shipAndInvoice"
    response = api_client.post(url)
    assert response.status_code == 204, response.content
    assert not SalesOrder.objects.filter(pk=order.pk).exists()
    invoices = api_client.get(f"{base(company)}/salesInvoices").json()["value"]
    assert [i["orderNumber"] for i in invoices] == ["S-ORD101001"]


def test_actions_refuse_what_the_services_refuse(api_client, company):
    empty = SalesOrderFactory(company=company)
    response = api_client.post(
        f"{base(company)}/salesOrders({empty.system_id})/Microsoft.NAV.release"
    )
    assert response.status_code == 400
    assert error(response)["message"]


def test_unknown_actions_are_not_found(api_client, company, order):
    url = f"{base(company)}/salesOrders({order.system_id})/Microsoft.NAV.explode"
    response = api_client.post(url)
    assert response.status_code == 404
    assert error(response)["code"] == "BadRequest_ResourceNotFound"


def test_wrong_methods_are_405(api_client, company, order):
    url = f"{base(company)}/salesOrders({order.system_id})/Microsoft.NAV.release"
    assert api_client.get(url).status_code == 405
    assert api_client.put(f"{base(company)}/customers", {}, format="json").status_code == 405


def test_session_posts_need_csrf(company, sales, order):
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(sales)
    url = f"{base(company)}/salesOrders({order.system_id})/Microsoft.NAV.release"
    assert client.post(url).status_code == 403


def test_writes_are_made_by_the_tokens_user(company, sales, colleague):
    NoSeriesFactory(company=company, code="S-ORD", starting_no="S-ORD200001")
    customer = CustomerFactory(company=company, no="10000")
    client = token_client(colleague, company)
    response = client.post(
        f"{base(company)}/salesOrders", {"customerNumber": "10000"}, format="json"
    )
    assert response.status_code == 201, response.json()
    order = SalesOrder.objects.get(system_id=response.json()["id"])
    assert order.created_by == colleague
    assert order.customer == customer


@pytest.mark.parametrize(
    "path",
    ["customerLedgerEntries(¹)", "customerLedgerEntries(99999999999999999999)", "customers(%00)"],
)
def test_keys_no_column_holds_are_not_found(api_client, company, path):
    response = api_client.get(f"{base(company)}/{path}")
    assert response.status_code == 404
    assert error(response)["code"] == "BadRequest_NotFound"


@pytest.mark.parametrize("params", [{"$top": "¹"}, {"$skip": "٣"}])
def test_only_ascii_digits_are_numbers(api_client, company, params):
    assert api_client.get(f"{base(company)}/customers", params).status_code == 400


def test_a_company_key_no_column_holds_is_not_found(api_client):
    assert api_client.get("/api/v2.0/companies('a%00')/customers").status_code == 404
