"""Power Automate's switch on the flows API (/api/bcsite/automate/v1.0/): a caller it refuses
gets 403 with the refusal as the JSON error's message, by token and by session alike, and
gets their flows back once it is on again."""

from __future__ import annotations

import uuid

import pytest
from rest_framework.test import APIClient

from automate.access import automate_refusal
from automate.models import AutomateSetup, FlowRun
from automate.services import flow_create
from automate.services.setup import (
    automate_opt_in,
    automate_setup_set_mode,
    automate_user_access_set,
)
from tests.api.conftest import token_client
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db

DEFINITION = {
    "schemaVersion": 1,
    "trigger": {"type": "selected_record", "table": 18, "inputs": []},
    "steps": [{"name": "Compose", "type": "data.compose", "inputs": {"value": "x"}}],
}


@pytest.fixture(autouse=True)
def _own_rate_limit_counts(settings):
    # As tests/api/conftest.py: each test counts API rate limits under a prefix of its own.
    settings.CACHES = {
        **settings.CACHES,
        "api": {**settings.CACHES["api"], "KEY_PREFIX": f"bcsite-api-test-{uuid.uuid4().hex}"},
    }


@pytest.fixture(params=["token", "session"])
def api(request, sales, company) -> APIClient:
    if request.param == "token":
        return token_client(sales, company)
    client = APIClient()
    client.force_login(sales)
    return client


@pytest.fixture
def flow(company, sales):
    return flow_create(company=company, owner=sales, name="Note it", definition=DEFINITION)


def base(company) -> str:
    return f"/api/bcsite/automate/v1.0/companies({company.system_id})"


def _endpoints(flow) -> list[tuple[str, str]]:
    return [
        ("get", "/flows"),
        ("get", f"/flows({flow.system_id})"),
        ("post", f"/flows({flow.system_id})/Microsoft.NAV.run"),
        ("get", f"/flows({flow.system_id})/runs"),
        ("get", "/flowRuns"),
    ]


@pytest.mark.parametrize("how", ["off for everyone", "off for the user", "not opted in"])
def test_a_refused_caller_gets_403_with_the_reason(api, company, sales, admin_user, flow, how):
    CustomerFactory(company=company, no="C10000")
    if how == "off for everyone":
        automate_setup_set_mode(company=company, mode=AutomateSetup.Mode.OFF, by=admin_user)
    elif how == "off for the user":
        automate_user_access_set(company=company, users=[sales], allowed=False, by=admin_user)
    else:
        automate_setup_set_mode(
            company=company, mode=AutomateSetup.Mode.USERS_DECIDE, by=admin_user
        )
    refusal = automate_refusal(sales, company.pk)
    assert refusal

    for method, path in _endpoints(flow):
        response = getattr(api, method)(
            f"{base(company)}{path}", {"recordId": "C10000"}, format="json"
        )
        assert response.status_code == 403, path
        assert response.json()["error"] == {"code": "Forbidden", "message": refusal}, path
    assert not FlowRun.objects.exists()


def test_switched_back_on_the_api_answers_again(api, company, sales, admin_user, flow):
    automate_setup_set_mode(company=company, mode=AutomateSetup.Mode.OFF, by=admin_user)
    assert api.get(f"{base(company)}/flows").status_code == 403

    automate_setup_set_mode(company=company, mode=AutomateSetup.Mode.USERS_DECIDE, by=admin_user)
    assert api.get(f"{base(company)}/flows").status_code == 403
    automate_opt_in(company=company, user=sales)

    response = api.get(f"{base(company)}/flows")
    assert response.status_code == 200
    assert [f["name"] for f in response.json()["value"]] == ["Note it"]
