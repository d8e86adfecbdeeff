"""What approvals do to the record pages: held changes are told, pending records are read-only."""

from decimal import Decimal

import pytest

from approvals.services import approval_request_send
from bcsite.registry import registry
from tests.approvals.conftest import enable
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db


def test_a_held_credit_limit_change_is_told_on_the_card(client, company, workflows, chain, sales):
    enable(workflows["MS-CCLCAPW"])
    customer = CustomerFactory(company=company, name="Held Co", credit_limit=Decimal("100"))
    client.force_login(sales)
    card = registry.pages["customer_card"]
    response = client.post(
        card.edit_url(customer),
        {"name": "Held Co", "credit_limit": "9000", "blocked": ""},
        follow=True,
    )
    assert response.status_code == 200
    assert "was sent for approval" in response.content.decode()
    customer.refresh_from_db()
    assert customer.credit_limit == Decimal("100")


def test_a_customer_pending_approval_cannot_be_edited_on_its_card(
    client, company, workflows, chain, sales
):
    customer = CustomerFactory(company=company)
    enable(workflows["MS-CUSTAPW"])
    approval_request_send(record=customer, user=sales)
    client.force_login(sales)
    card = registry.pages["customer_card"]
    response = client.get(card.edit_url(customer), follow=True)
    assert "is pending approval" in response.content.decode()
    response = client.post(card.edit_url(customer), {"name": "Changed"}, follow=True)
    customer.refresh_from_db()
    assert customer.name != "Changed"
