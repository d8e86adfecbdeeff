"""Schemathesis over the whole OpenAPI schema at /api/schema/: every operation, with
generated (valid and invalid) requests from a caller with a personal token, answers no 5xx,
only the status codes and content types it documents, and bodies that match its schema.

The company id and a customer's id are real, so entity endpoints answer with real rows
(and those rows are checked against the schema), not only with 404s. Runs through the WSGI
app in-process, on the test database.
"""

import re
from decimal import Decimal

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from approvals.models import ApprovalEntry, ApprovalRequest
from automate.services import flow_create
from bcsite.celery import app as celery_app
from bcsite.wsgi import application
from tests.api.conftest import token_client
from tests.factories import (
    CustomerFactory,
    ItemFactory,
    SalesOrderFactory,
    SalesOrderLineFactory,
)

pytestmark = [pytest.mark.slow, pytest.mark.django_db]

SETTINGS = settings(max_examples=8, deadline=None, suppress_health_check=list(HealthCheck))
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@pytest.fixture
def _wsgi_keeps_the_test_connection():
    """The WSGI handler closes the database connection after each request; the test's
    transaction lives on it. Django's test client disconnects the same signal."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def _no_worker():
    previous = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = previous


@pytest.fixture
def api_data(company, sales, colleague):
    """A little of everything, so lists answer with rows the schema must describe."""
    customer = CustomerFactory(company=company, no="10000", city="Atlanta")
    CustomerFactory(company=company, no="20000", blocked="all")
    ItemFactory(company=company, no="1000")
    order = SalesOrderFactory(company=company, customer=customer, due_date=None)
    SalesOrderLineFactory(order=order, quantity=Decimal("2.5"))
    flow_create(
        company=company,
        owner=sales,
        name="Note it",
        definition={
            "schemaVersion": 1,
            "trigger": {"type": "selected_record", "table": 18, "inputs": []},
            "steps": [],
        },
    )
    request = ApprovalRequest.objects.create(
        company=company,
        kind=ApprovalRequest.Kind.WORKFLOW,
        table_id=36,
        record_id=order.system_id,
        record_no=order.no,
        title=f"Sales Order {order.no}",
        amount=Decimal("250"),
        requester=colleague,
    )
    ApprovalEntry.objects.create(
        request=request, company=company, approver=sales, status=ApprovalEntry.Status.OPEN
    )
    return {"customer": customer, "order": order}


@pytest.fixture
def api_key(company, sales, api_data, _wsgi_keeps_the_test_connection, _no_worker, settings):
    # Every request of the run counts against one token's limit; that is not what is tested.
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"api": "1000000/300s"},
    }
    return token_client(sales, company).token_key


def test_the_api_keeps_to_its_schema(api_key, company, api_data):
    schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", application)
    known = {
        "company_id": str(company.system_id),
        "record_id": str(api_data["customer"].system_id),
    }
    headers = {"Authorization": f"Bearer {api_key}"}
    failures, operations = [], 0
    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1
        names = set(re.findall(r"{(\w+)}", operation.path))
        path_parameters = {name: value for name, value in known.items() if name in names}
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            strategy = operation.as_strategy(mode, path_parameters=path_parameters or None)

            @given(case=strategy)
            @SETTINGS
            def check(case):
                case.call_and_validate(headers=headers, checks=CHECKS)

            try:
                check()
            except Exception as error:
                failures.append(f"{operation.method.upper()} {operation.path} ({mode}): {error}")
    # The entity sets, flows, approvals, subscriptions and business events are all there.
    assert operations >= 40
    assert not failures, "\n\n".join(failures)
