"""An approval request is seen by its requester, its approvers and the approval
administrator, and decided by its approvers only: nobody else in the company, on the pages or
through the API, and not its requester."""

from __future__ import annotations

import pytest
from django.test import Client

from approvals.models import ApprovalEntry
from bcsite.api import credentials
from tests.security.conftest import browser
from tests.security.sweep import is_json, send

pytestmark = pytest.mark.django_db


def api_client(user, company) -> Client:
    _, key = credentials.api_token_create(user=user, company=company, name=f"t{user.pk}")
    return Client(raise_request_exception=False, HTTP_AUTHORIZATION=f"Bearer {key}")


def entry_api(world) -> str:
    return (
        f"/api/bcsite/approvals/v1.0/companies({world.company_a.system_id})"
        f"/approvalRequests({world.approval_entry.pk})"
    )


def test_someone_else_in_the_company_neither_sees_nor_decides(world):
    client = browser(world.colleague_a)
    request_pk, entry_pk = world.approval_request.pk, world.approval_entry.pk
    for method, url, data in [
        ("GET", f"/approvals/requests/{request_pk}/", None),
        ("POST", f"/approvals/requests/{request_pk}/comments/", {"text": "Looks fine"}),
        ("GET", f"/approvals/entries/{entry_pk}/decide/", None),
        ("POST", f"/approvals/entries/{entry_pk}/decide/", {"decision": "approve"}),
        ("POST", "/approvals/requests/approve/", {"selected": [entry_pk]}),
    ]:
        response = send(client, method, url, **({"data": data} if data else {}))
        assert response.status_code in (302, 403, 404), (method, url, response.status_code)
        assert world.pending_order.no.encode() not in response.content
    assert not world.approval_request.comments.exists()
    api = api_client(world.colleague_a, world.company_a)
    for method, url in [
        ("GET", entry_api(world)),
        ("POST", f"{entry_api(world)}/Microsoft.NAV.approve"),
        ("POST", f"{entry_api(world)}/Microsoft.NAV.reject"),
    ]:
        response = send(api, method, url)
        assert response.status_code == 404 and is_json(response), (method, url)
    world.approval_entry.refresh_from_db()
    assert world.approval_entry.status == ApprovalEntry.Status.OPEN


def test_the_requester_sees_the_request_but_cannot_decide_it(world):
    client = browser(world.sales_a)
    assert client.get(f"/approvals/requests/{world.approval_request.pk}/").status_code == 200
    url = f"/approvals/entries/{world.approval_entry.pk}/decide/"
    response = send(client, "POST", url, data={"decision": "approve"})
    assert response.status_code == 403
    response = send(
        api_client(world.sales_a, world.company_a),
        "POST",
        f"{entry_api(world)}/Microsoft.NAV.approve",
    )
    assert response.status_code in (403, 404) and is_json(response)
    world.approval_entry.refresh_from_db()
    assert world.approval_entry.status == ApprovalEntry.Status.OPEN


def test_the_approver_decides(world):
    """The refusals above are refusals of the person, not of a broken request."""
    url = f"/approvals/entries/{world.approval_entry.pk}/decide/"
    response = browser(world.admin_a).post(url, {"decision": "approve", "comment": "OK"})
    assert response.status_code == 302
    world.approval_entry.refresh_from_db()
    assert world.approval_entry.status == ApprovalEntry.Status.APPROVED
