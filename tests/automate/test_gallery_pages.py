"""The templates gallery and making a flow from a template."""

import pytest
from django.contrib.messages import get_messages
from django.test import Client, RequestFactory
from django.urls import reverse

from automate import gallery
from automate.automate_group import instant_flows
from automate.gallery import FlowTemplate
from automate.models import Flow


def _definition(table):
    return {
        "schemaVersion": 1,
        "trigger": {"type": "selected_record", "table": table, "inputs": []},
        "steps": [{"name": "Compose", "type": "data.compose", "inputs": {"value": "x"}}],
    }


CUSTOMER_TEMPLATE = FlowTemplate(
    key="greet-customer",
    title="Greet a customer",
    description="Says hello to the <selected> customer.",
    table_ids=(18,),
    definition=_definition(18),
)
ITEM_TEMPLATE = FlowTemplate(
    key="count-item",
    title="Count an item",
    description="Counts the selected item.",
    table_ids=(27,),
    definition=_definition(27),
)


@pytest.fixture(autouse=True)
def templates(monkeypatch):
    monkeypatch.setattr(gallery, "GALLERY", {t.key: t for t in (CUSTOMER_TEMPLATE, ITEM_TEMPLATE)})


def _use_url(key="greet-customer"):
    return reverse("automate:template-use", args=[key])


def test_the_gallery_shows_a_card_per_template(sales_client):
    response = sales_client.get(reverse("automate:gallery"))

    html = response.content.decode()
    assert response.status_code == 200
    assert [c["template"].key for c in response.context["cards"]] == [
        "greet-customer",
        "count-item",
    ]
    assert "Greet a customer" in html and "Count an item" in html
    assert "Says hello to the &lt;selected&gt; customer." in html
    assert "Runs on: Customer" in html
    assert f'href="{_use_url()}"' in html


def test_the_gallery_filters_by_table_and_carries_next(sales_client):
    response = sales_client.get(reverse("automate:gallery") + "?table=27&next=/items/")

    assert [c["template"].key for c in response.context["cards"]] == ["count-item"]
    assert f'href="{_use_url("count-item")}?next=%2Fitems%2F"' in response.content.decode()


def test_an_unknown_table_shows_every_template_with_a_message(sales_client):
    response = sales_client.get(reverse("automate:gallery") + "?table=abc")

    assert response.status_code == 200
    assert len(response.context["cards"]) == 2
    assert "There is no table" in response.content.decode()


def test_using_a_template_asks_for_the_name_first(sales_client):
    response = sales_client.get(_use_url())

    assert response.status_code == 200
    assert response.context["form"]["name"].value() == "Greet a customer"
    assert not Flow.objects.exists()


def test_using_a_template_makes_the_users_flow_turned_on(sales_client, sales, company):
    response = sales_client.post(_use_url(), {"name": "Hello", "next": "/customers/"})

    flow = Flow.objects.get()
    assert (flow.owner, flow.company, flow.name) == (sales, company, "Hello")
    assert flow.enabled
    assert flow.template_key == "greet-customer"
    assert flow.trigger_type == "selected_record" and flow.table_id == 18
    assert flow.current_version.definition == CUSTOMER_TEMPLATE.definition
    assert response.status_code == 302 and response["Location"] == "/customers/"
    message = str(next(iter(get_messages(response.wsgi_request))))
    assert "Flow 'Hello' created. Run it from Automate." in message
    assert reverse("automate:flow-edit", args=[flow.pk]) in message


def test_the_new_flow_is_offered_on_its_table_at_once(sales_client):
    sales_client.post(_use_url(), {"name": "Hello"})

    flow = Flow.objects.get()
    request = RequestFactory().get("/")
    request.user, request.company = flow.owner, flow.company
    assert instant_flows(request, 18) == [flow]


def test_the_message_escapes_the_flow_name(sales_client):
    response = sales_client.post(_use_url(), {"name": "<b>Hi</b>"}, follow=True)

    html = response.content.decode()
    assert "Flow '&lt;b&gt;Hi&lt;/b&gt;' created." in html
    assert "<b>Hi</b>" not in html


def test_a_next_off_the_site_goes_to_the_designer_instead(sales_client):
    response = sales_client.post(_use_url(), {"name": "Hello", "next": "https://evil.example/"})

    flow = Flow.objects.get()
    assert response["Location"] == reverse("automate:flow-edit", args=[flow.pk])


def test_a_blank_name_is_refused_on_the_form(sales_client):
    response = sales_client.post(_use_url(), {"name": "  "})

    assert response.status_code == 200
    assert "name" in response.context["form"].errors
    assert not Flow.objects.exists()


def test_a_template_the_service_refuses_comes_back_as_a_message(sales_client, monkeypatch):
    broken = FlowTemplate(
        key="broken",
        title="Broken",
        description="Refers to a table that does not exist.",
        table_ids=(99999,),
        definition=_definition(99999),
    )
    monkeypatch.setitem(gallery.GALLERY, "broken", broken)

    response = sales_client.post(_use_url("broken"), {"name": "Broken"})

    assert response.status_code == 200
    assert response.context["form"].non_field_errors()
    assert not Flow.objects.exists()


def test_gallery_refusals(sales_client):
    anonymous = Client()
    for url in (reverse("automate:gallery"), _use_url()):
        response = anonymous.get(url)
        assert response.status_code == 302 and response["Location"].startswith(reverse("login"))
    assert anonymous.post(_use_url(), {"name": "Hello"}).status_code == 302
    assert sales_client.get(_use_url("no-such-template")).status_code == 404
    assert sales_client.post(reverse("automate:gallery")).status_code == 405
    assert sales_client.put(_use_url()).status_code == 405
    assert not Flow.objects.exists()
