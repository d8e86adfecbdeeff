"""FlowAction, bcsite's declaration of a custom action that runs a flow (AL's customaction).

bcsite keeps declarations and hands each to the registered resolver as a bar is built; with
no resolver (Power Automate not installed) a declaration is left out. The declaration itself
refuses what cannot mean anything.
"""

import pytest

from bcsite.pages.base import Action, FlowAction
from bcsite.registry import registry
from tests.factories import CustomerFactory, SalesOrderFactory

CUSTOMERS = registry.pages["customer_list"]
CUSTOMER = registry.pages["customer_card"]
ORDER = registry.pages["sales_order"]


def _group(response, key):
    return next((g for g in response.context["actionbar"].groups if g.key == key), None)


def _keys(response, group_key):
    group = _group(response, group_key)
    return [item.key for item in group.items] if group else []


@pytest.fixture
def order(company):
    return SalesOrderFactory(company=company, customer=CustomerFactory(company=company))


@pytest.fixture
def resolved(monkeypatch):
    """A resolver that turns every declaration into a link and notes what it was asked."""
    asked = []

    def resolver(page, request, obj, declaration):
        asked.append((page.key, obj, declaration.key))
        if declaration.label == "Hidden":
            return None
        return Action(
            key=declaration.key, label=declaration.label, url="/x/", scope=declaration.scope
        )

    monkeypatch.setattr(registry, "flow_action_resolver", resolver)
    return asked


def _declare(monkeypatch, *placed):
    """Only these declarations (none of the apps' own), with the plain custom actions."""
    plain = [c for c in registry.custom_actions if not isinstance(c[2], FlowAction)]
    monkeypatch.setattr(registry, "custom_actions", [*plain, *placed])


# -- The declaration ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "targets",
    [
        {},
        {"flow": "notify", "template": "block-selected-customer"},
        {"template": "t", "gallery_category": "Instant"},
        {"flow": "", "template": ""},
    ],
)
def test_it_needs_exactly_one_target(targets):
    with pytest.raises(ValueError, match="exactly one of flow=, template= or gallery_category="):
        FlowAction(key="k", label="K", **targets)


def test_a_flow_runs_on_records_not_on_the_page():
    with pytest.raises(ValueError, match='not "page"'):
        FlowAction(key="k", label="K", flow="notify", scope="page")
    with pytest.raises(ValueError, match="unknown scope"):
        FlowAction(key="k", label="K", template="t", scope="everywhere")
    assert FlowAction(key="k", label="K", template="t", scope="page").scope == "page"


def test_it_is_a_frozen_declaration():
    action = FlowAction(key="notify", label="Notify", flow="notify")

    with pytest.raises(AttributeError):
        action.flow = "other"  # type: ignore[misc]
    assert (action.template, action.gallery_category, action.scope) == (None, None, "record")


# -- Placing it --------------------------------------------------------------------------------


def test_without_a_resolver_declarations_are_left_out(sales_client, monkeypatch, order):
    monkeypatch.setattr(registry, "flow_action_resolver", None)
    _declare(monkeypatch, ("sales_order", "process", FlowAction(key="x", label="X", flow="x")))

    response = sales_client.get(ORDER.card_url(order))

    assert response.status_code == 200
    assert "x" not in _keys(response, "process")


def test_the_resolved_action_joins_its_group_on_its_page_only(
    sales_client, monkeypatch, resolved, order, company
):
    customer = CustomerFactory(company=company)
    _declare(
        monkeypatch,
        ("sales_order", "process", FlowAction(key="notify", label="Notify", flow="notify")),
        ("sales_order", "related", FlowAction(key="more", label="More", template="t")),
    )

    card = sales_client.get(ORDER.card_url(order))
    other = sales_client.get(CUSTOMER.card_url(customer))

    assert _keys(card, "process")[-1] == "notify"
    assert _group(card, "process").label == "Process"
    related = _keys(card, "related")
    assert related[-1] == "more" and "customer_orders" in related
    assert ("sales_order", order, "notify") in resolved
    assert "notify" not in other.content.decode()
    assert all(page == "sales_order" for page, _, _ in resolved)


def test_a_declaration_for_every_page_is_resolved_on_each(
    sales_client, monkeypatch, resolved, order, company
):
    customer = CustomerFactory(company=company)
    _declare(
        monkeypatch,
        (
            "*",
            "gallery",
            FlowAction(key="ideas", label="Ideas", gallery_category="x", scope="page"),
        ),
    )

    for url in (CUSTOMERS.list_url(), CUSTOMER.card_url(customer), ORDER.card_url(order)):
        assert _keys(sales_client.get(url), "gallery") == ["ideas"]


def test_a_declaration_the_page_does_not_offer_is_not_resolved(
    sales_client, monkeypatch, resolved, company
):
    _declare(
        monkeypatch,
        ("customer_list", "process", FlowAction(key="one", label="One", flow="one")),
        ("customer_list", "process", FlowAction(key="rows", label="Rows", flow="r", scope="list")),
    )

    response = sales_client.get(CUSTOMERS.list_url())

    assert _keys(response, "process") == ["rows"]
    assert [key for _, _, key in resolved] == ["rows"]


def test_a_declaration_the_resolver_refuses_is_left_out(sales_client, monkeypatch, resolved, order):
    _declare(monkeypatch, ("sales_order", "process", FlowAction(key="h", label="Hidden", flow="h")))

    response = sales_client.get(ORDER.card_url(order))
    posted = sales_client.post(ORDER.url("action", order.pk, "h"))

    assert _group(response, "process") is None
    assert posted.status_code == 404
