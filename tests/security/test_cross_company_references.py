"""A row of one company never points at another company's row: a customer or an item named by
No. on a page, or by id through the API, is looked up in the caller's company only."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from bcsite.api import credentials
from records.models import SalesOrder, SalesOrderLine
from tests.factories import CustomerFactory, ItemFactory
from tests.security.conftest import browser

pytestmark = pytest.mark.django_db


@pytest.fixture
def a_only(world):
    """A customer and an item whose No. exists in company A only."""
    return (
        CustomerFactory(company=world.company_a, no="C20000", name="Only in A"),
        ItemFactory(company=world.company_a, no="2000", description="Only in A"),
    )


@pytest.fixture
def b_order(world):
    return SalesOrder.objects.get(company=world.company_b)


def b_browser(world) -> Client:
    return browser(world.outsider_b)


def b_api(world) -> Client:
    _, key = credentials.api_token_create(user=world.outsider_b, company=world.company_b, name="b")
    return Client(raise_request_exception=False, HTTP_AUTHORIZATION=f"Bearer {key}")


def test_a_new_order_cannot_take_another_companys_customer(world, a_only):
    response = b_browser(world).post("/sales-orders/new/", {"customer": "C20000"})
    assert response.status_code == 200
    assert b"There is no Customer with No. C20000" in response.content
    assert not SalesOrder.objects.filter(customer=a_only[0]).exists()
    response = b_browser(world).post("/sales-orders/new/", {"customer": "C10000"})
    assert response.status_code == 302
    assert SalesOrder.objects.filter(company=world.company_b).count() == 2


def test_a_line_cannot_take_another_companys_item(world, a_only, b_order):
    client = b_browser(world)
    url = f"/sales-orders/{b_order.pk}/lines/add/"
    response = client.post(url, {"new-item": "2000", "new-quantity": "1"})
    assert response.status_code in (200, 400)
    assert b"There is no Item with No. 2000" in response.content
    assert not SalesOrderLine.objects.filter(item=a_only[1]).exists()
    # The same form with B's own item No. goes through: the refusal was of A's item.
    before = b_order.lines.count()
    assert client.post(url, {"new-item": "1000", "new-quantity": "1"}).status_code == 302
    assert b_order.lines.count() == before + 1


def test_the_api_refuses_another_companys_customer_and_item(world, a_only, b_order):
    api = b_api(world)
    base = f"/api/v2.0/companies({world.company_b.system_id})"
    customer, item = a_only

    def post(url, body):
        return api.post(url, json.dumps(body), content_type="application/json")

    response = post(f"{base}/salesOrders", {"customerId": str(customer.system_id)})
    assert response.status_code == 400, response.content
    response = post(f"{base}/salesOrders", {"customerNumber": "C20000"})
    assert response.status_code == 400, response.content
    lines = f"{base}/salesOrders({b_order.system_id})/salesOrderLines"
    response = post(lines, {"itemId": str(item.system_id), "quantity": 1})
    assert response.status_code == 400, response.content
    response = api.patch(
        f"{base}/salesOrders({b_order.system_id})",
        json.dumps({"customerId": str(customer.system_id)}),
        content_type="application/json",
        HTTP_IF_MATCH="*",
    )
    assert response.status_code == 400, response.content
    assert not SalesOrder.objects.filter(customer=customer).exists()
    assert not SalesOrderLine.objects.filter(item=item).exists()
