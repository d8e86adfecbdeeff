"""Approvals over the API: a request sent with the bound action, listed by its approver,
approved or rejected with a comment; refusals for others, decided requests and outsiders."""

import pytest

from approvals.models import ApprovalEntry, ApprovalRequest
from records.models import SalesOrder
from tests.api.conftest import token_client
from tests.approvals.conftest import (  # noqa: F401  (fixtures)
    _celery_eager,
    approver,
    boss,
    chain,
    make_order,
    order_workflow,
    workflows,
)

pytestmark = pytest.mark.django_db


def base(company) -> str:
    return f"/api/bcsite/approvals/v1.0/companies({company.system_id})"


@pytest.fixture
def approver_api(approver, company):  # noqa: F811
    return token_client(approver, company)


@pytest.fixture
def pending(api_client, company, sales, order_workflow):  # noqa: F811
    """A 5,000 order that ``sales`` sent for approval through the API: ``approver`` decides."""
    order = make_order(company, sales, 5000)
    url = f"/api/v2.0/companies({company.system_id})/salesOrders({order.system_id})"
    response = api_client.post(f"{url}/Microsoft.NAV.sendApprovalRequest")
    assert response.status_code == 204, response.content
    order.refresh_from_db()
    assert order.status == SalesOrder.Status.PENDING_APPROVAL
    return order


def test_the_approver_lists_open_requests(approver_api, company, pending):
    body = approver_api.get(f"{base(company)}/approvalRequests").json()
    assert len(body["value"]) == 1
    entry = body["value"][0]
    assert entry["documentNumber"] == pending.no
    assert entry["status"] == "Open"
    assert entry["requestStatus"] == "Open"
    assert entry["requester"] == "sales"
    assert entry["approver"] == "approver"
    assert entry["amount"] == 5000.0


def test_the_requester_has_nothing_to_approve(api_client, company, pending):
    assert api_client.get(f"{base(company)}/approvalRequests").json()["value"] == []


def test_approve_with_a_comment_releases_the_order(approver_api, company, pending):
    entry = ApprovalEntry.objects.get(status=ApprovalEntry.Status.OPEN)
    response = approver_api.post(
        f"{base(company)}/approvalRequests({entry.pk})/Microsoft.NAV.approve",
        {"comment": "Fine by me"},
        format="json",
    )
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["status"] == "Approved"
    assert body["requestStatus"] == "Approved"
    assert body["comment"] == "Fine by me"
    pending.refresh_from_db()
    assert pending.status == SalesOrder.Status.RELEASED
    # Decided entries leave the default list, and come back when filtered on.
    assert approver_api.get(f"{base(company)}/approvalRequests").json()["value"] == []
    decided = approver_api.get(
        f"{base(company)}/approvalRequests", {"$filter": "status eq 'Approved'"}
    ).json()["value"]
    assert [e["id"] for e in decided] == [entry.pk]


def test_reject_reopens_the_order(approver_api, company, pending):
    entry = ApprovalEntry.objects.get(status=ApprovalEntry.Status.OPEN)
    response = approver_api.post(
        f"{base(company)}/approvalRequests({entry.pk})/Microsoft.NAV.reject"
    )
    assert response.status_code == 200, response.json()
    assert response.json()["status"] == "Rejected"
    pending.refresh_from_db()
    assert pending.status == SalesOrder.Status.OPEN
    assert ApprovalRequest.objects.get().status == ApprovalRequest.Status.REJECTED


def test_a_decided_request_is_a_conflict(approver_api, company, pending):
    entry = ApprovalEntry.objects.get(status=ApprovalEntry.Status.OPEN)
    url = f"{base(company)}/approvalRequests({entry.pk})"
    assert approver_api.post(f"{url}/Microsoft.NAV.approve").status_code == 200
    again = approver_api.post(f"{url}/Microsoft.NAV.reject")
    assert again.status_code == 409
    assert "already approved" in again.json()["error"]["message"]


def test_only_the_approver_decides(api_client, colleague_api_client, company, pending):
    entry = ApprovalEntry.objects.get(status=ApprovalEntry.Status.OPEN)
    url = f"{base(company)}/approvalRequests({entry.pk})"
    # The requester sees the entry but may not decide it.
    assert api_client.get(url).status_code == 200
    refused = api_client.post(f"{url}/Microsoft.NAV.approve")
    assert refused.status_code == 403
    assert "Only the approver" in refused.json()["error"]["message"]
    # A colleague with no part in it does not even see it.
    assert colleague_api_client.get(url).status_code == 404
    assert colleague_api_client.post(f"{url}/Microsoft.NAV.approve").status_code == 404
    entry.refresh_from_db()
    assert entry.status == ApprovalEntry.Status.OPEN


def test_the_approval_administrator_may_decide(admin_api_client, company, pending):
    entry = ApprovalEntry.objects.get(status=ApprovalEntry.Status.OPEN)
    response = admin_api_client.post(
        f"{base(company)}/approvalRequests({entry.pk})/Microsoft.NAV.approve"
    )
    assert response.status_code == 200
    assert response.json()["decidedBy"] == "admin"


def test_outsiders_do_not_reach_the_company(outsider_api_client, company, pending):
    entry = ApprovalEntry.objects.get()
    assert outsider_api_client.get(f"{base(company)}/approvalRequests").status_code == 404
    url = f"{base(company)}/approvalRequests({entry.pk})/Microsoft.NAV.approve"
    assert outsider_api_client.post(url).status_code == 404


@pytest.mark.parametrize("body", [{"comment": 5}, {"comment": "x" * 4001}, ["x"]])
def test_bad_comments_are_refused(approver_api, company, pending, body):
    entry = ApprovalEntry.objects.get()
    response = approver_api.post(
        f"{base(company)}/approvalRequests({entry.pk})/Microsoft.NAV.approve", body, format="json"
    )
    assert response.status_code == 400
    entry.refresh_from_db()
    assert entry.status == ApprovalEntry.Status.OPEN


def test_unknown_entries_are_not_found(approver_api, company):
    for key in ("999999", "abc", "99999999999999999999999"):
        assert approver_api.get(f"{base(company)}/approvalRequests({key})").status_code == 404
