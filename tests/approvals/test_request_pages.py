"""The pages of requesters and approvers: the Request Approval group, Requests to Approve,
the confirmation page of mail links, Approval Entries, a request's page, the FactBox and
the role centre's cue.

Personas (tests/conftest.py, tests/approvals/conftest.py): ``sales`` sends (limit 1,000),
``approver`` approves up to 10,000, ``boss`` is unlimited, ``admin_user`` is the approval
administrator; ``colleague`` is a user of the company with no part in the request, and
``outsider`` works for another company.
"""

import re
from decimal import Decimal

import pytest
from django.conf import settings
from django.contrib.messages import get_messages
from django.core import mail
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

# Importing registers the group, the cue and the FactBox (AppConfig.ready does it too).
from approvals import action_group, cues, factboxes  # noqa: F401
from approvals.models import ApprovalComment, ApprovalEntry, ApprovalRequest
from approvals.services import (
    approval_entry_approve,
    approval_request_send,
    flow_approval_start,
)
from records import services
from records.models import Membership, SalesOrder
from tests.approvals.conftest import enable, make_order, member
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db

OPEN = ApprovalEntry.Status.OPEN
INBOX = "/approvals/requests/"
ENTRIES = "/approvals/entries/"


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def texts(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def status_of(order) -> str:
    order.refresh_from_db()
    return order.status


def decide_url(entry) -> str:
    return reverse("approvals:entry-decide", args=[entry.pk])


def action_url(order, key: str) -> str:
    return f"/sales-orders/{order.pk}/actions/{key}/"


@pytest.fixture
def pending(order_workflow, order_of, sales):
    """An order of 5,000 that ``sales`` sent: ``approver`` decides it."""
    order = order_of(5000)
    request = approval_request_send(record=order, user=sales)
    return order, request, request.entries.get()


# -- The Request Approval group --------------------------------------------------------------


def _group_items(html: str) -> dict[str, bool]:
    """The Request Approval group's actions on a page: key -> enabled."""
    group = re.search(r'data-group="request_approval".*?</details>', html, re.S)
    assert group, "The Request Approval group is missing"
    items = {}
    for match in re.finditer(r'<(?:a|button)[^>]*data-action="([\w-]+)"[^>]*>', group.group(0)):
        items[match.group(1)] = "disabled" not in match.group(0)
    return items


def test_the_group_is_on_orders_customers_and_items(order_workflow, order_of, sales, company):
    order = order_of(5000)
    client = client_for(sales)
    items = _group_items(client.get(f"/sales-orders/{order.pk}/").content.decode())
    assert items == {
        "send-approval-request": True,
        "cancel-approval-request": False,
        "approvals": True,
    }
    customer = CustomerFactory(company=company)
    assert "send-approval-request" in _group_items(
        client.get(f"/customers/{customer.pk}/").content.decode()
    )
    # Lists have no record to send: no group there.
    assert 'data-group="request_approval"' not in client.get("/sales-orders/").content.decode()


def test_sending_an_order_says_where_it_went_and_waits(order_workflow, order_of, sales, approver):
    order = order_of(5000)
    client = client_for(sales)
    response = client.post(action_url(order, "send-approval-request"))
    assert response.status_code == 302
    assert texts(response) == [
        f"The approval request for Sales Order {order.no} was sent to approver."
    ]
    assert status_of(order) == SalesOrder.Status.PENDING_APPROVAL
    assert ApprovalEntry.objects.get(request__record_id=order.system_id).approver == approver
    # While it waits: Cancel instead of Send, and the order cannot be edited.
    page = client.get(f"/sales-orders/{order.pk}/").content.decode()
    assert _group_items(page)["send-approval-request"] is False
    assert _group_items(page)["cancel-approval-request"] is True
    assert "Pending Approval" in page


def test_a_requester_who_may_approve_it_is_approved_at_once(order_workflow, order_of, sales):
    order = order_of(800)
    response = client_for(sales).post(action_url(order, "send-approval-request"))
    assert texts(response) == [
        f"The approval request for Sales Order {order.no} was approved at once: you may "
        "approve it yourself."
    ]
    assert status_of(order) == SalesOrder.Status.RELEASED


def test_sending_without_a_workflow_is_refused_on_the_page(workflows, chain, order_of, sales):
    order = order_of(5000)
    response = client_for(sales).post(action_url(order, "send-approval-request"))
    assert response.status_code == 302
    assert "No approval workflow" in texts(response)[0]
    assert status_of(order) == SalesOrder.Status.OPEN


def test_cancelling_reopens_the_order(pending, sales):
    order, request, _ = pending
    response = client_for(sales).post(action_url(order, "cancel-approval-request"))
    assert texts(response) == [f"The approval request for Sales Order {order.no} was cancelled."]
    assert status_of(order) == SalesOrder.Status.OPEN
    request.refresh_from_db()
    assert request.status == ApprovalRequest.Status.CANCELED


def test_only_the_requester_or_the_administrator_cancels(pending, colleague):
    order, request, _ = pending
    response = client_for(colleague).post(action_url(order, "cancel-approval-request"))
    assert response.status_code == 302
    assert "Only the user who sent the approval request" in texts(response)[0]
    request.refresh_from_db()
    assert request.is_open
    assert status_of(order) == SalesOrder.Status.PENDING_APPROVAL


def test_the_group_action_is_post_only_and_company_scoped(pending, sales, outsider):
    order, _, _ = pending
    assert client_for(sales).get(action_url(order, "cancel-approval-request")).status_code == 405
    assert client_for(outsider).post(action_url(order, "cancel-approval-request")).status_code == (
        404
    )


def test_approvals_opens_the_record_s_entries(pending, sales):
    order, _, entry = pending
    page = client_for(sales).get(f"/sales-orders/{order.pk}/").content.decode()
    link = re.search(r'href="([^"]+)"[^>]*data-action="approvals"', page).group(1)
    link = link.replace("&amp;", "&")
    assert link == f"{ENTRIES}?table=36&record={order.system_id}"
    response = client_for(sales).get(link)
    assert response.status_code == 200
    assert [row.pk for row in response.context["rows"]] == [entry.pk]
    assert f"Sales Order {order.no}" in response.context["record_label"]


# -- Requests to Approve ---------------------------------------------------------------------


def test_requests_to_approve_lists_the_approver_s_open_entries(pending, approver, sales):
    _, _, entry = pending
    response = client_for(approver).get(INBOX)
    assert response.status_code == 200
    rows = response.context["rows"]
    assert [row.pk for row in rows] == [entry.pk]
    assert rows[0].request.amount == "5,000.00"
    assert rows[0].request.requester == "sales"
    assert rows[0].selectable
    html = response.content.decode()
    assert f'action="{decide_url(entry)}"' in html
    # The requester has nothing to approve.
    assert client_for(sales).get(INBOX).context["rows"] == []


def test_the_administrator_may_see_everyone_s_requests(pending, admin_user, approver):
    _, _, entry = pending
    client = client_for(admin_user)
    assert client.get(INBOX).context["rows"] == []
    response = client.get(INBOX + "?all=1")
    assert [row.pk for row in response.context["rows"]] == [entry.pk]
    # Anyone else asking for all sees their own, and why.
    response = client_for(approver).get(INBOX + "?all=1")
    assert response.context["errors"] == [
        "Only the approval administrator can see everyone's requests to approve."
    ]
    assert [row.pk for row in response.context["rows"]] == [entry.pk]


def test_overdue_entries_are_marked(pending, approver):
    _, _, entry = pending
    ApprovalEntry.objects.filter(pk=entry.pk).update(due_date="2000-01-01")
    response = client_for(approver).get(INBOX)
    assert response.context["rows"][0].overdue
    assert "Overdue" in response.content.decode()


def test_held_changes_show_old_and_new(workflows, chain, company, sales, approver):
    enable(workflows["MS-CCLCAPW"])
    customer = CustomerFactory(company=company, credit_limit=Decimal("1000"))
    services.customer_update(customer=customer, user=sales, credit_limit=Decimal("5000"))
    row = client_for(approver).get(INBOX).context["rows"][0]
    assert row.request.change.endswith(": 1,000.00 → 5,000.00")
    approval_entry_approve(entry=ApprovalEntry.objects.get(), user=approver)
    customer.refresh_from_db()
    assert customer.credit_limit == Decimal("5000")


def test_flow_approvals_with_custom_responses_offer_them(company, sales, approver):
    request = flow_approval_start(
        company_id=company.pk,
        requester=sales,
        title="Which carrier?",
        assigned_to=[approver],
        approval_type=ApprovalRequest.ApprovalType.CUSTOM_ONE,
        response_options=["DHL", "UPS"],
    )
    entry = request.entries.get()
    response = client_for(approver).get(INBOX)
    row = response.context["rows"][0]
    assert row.responses == ("DHL", "UPS")
    assert not row.selectable  # Bulk Approve cannot answer a custom question
    html = response.content.decode()
    assert 'name="response" value="UPS"' in html
    response = client_for(approver).post(
        decide_url(entry), {"response": "UPS", "comment": "Cheaper"}
    )
    assert response.status_code == 302
    entry.refresh_from_db()
    request.refresh_from_db()
    assert (entry.status, entry.response, request.outcome) == ("responded", "UPS", "UPS")


# -- Deciding: the confirmation page and the row buttons -------------------------------------


def test_get_of_the_decide_page_shows_and_changes_nothing(pending, approver):
    order, request, entry = pending
    response = client_for(approver).get(decide_url(entry))
    assert response.status_code == 200
    html = response.content.decode()
    assert f"Sales Order {order.no}" in html
    assert "5,000.00" in html
    assert 'value="approve"' in html and 'value="reject"' in html and 'value="delegate"' in html
    entry.refresh_from_db()
    request.refresh_from_db()
    assert (entry.status, request.status) == (OPEN, ApprovalRequest.Status.OPEN)
    assert status_of(order) == SalesOrder.Status.PENDING_APPROVAL


def test_approving_on_the_decide_page_releases_the_order(pending, approver):
    order, request, entry = pending
    response = client_for(approver).post(
        decide_url(entry), {"decision": "approve", "comment": "Good customer"}
    )
    assert response.status_code == 302
    assert response["Location"] == INBOX
    assert texts(response) == [f"Sales Order {order.no} is approved."]
    assert status_of(order) == SalesOrder.Status.RELEASED
    assert request.comments.get().text == "Good customer"
    # Deciding again is refused on the page, not with an error.
    again = client_for(approver).post(decide_url(entry), {"decision": "approve"})
    assert again.status_code == 302
    assert "already approved by approver" in texts(again)[0]
    page = client_for(approver).get(decide_url(entry)).content.decode()
    assert "there is nothing to decide" in page


def test_a_later_level_waits_for_the_earlier_one(order_workflow, order_of, sales, boss):
    order = order_of(50000)
    later = approval_request_send(record=order, user=sales).entries.get(approver=boss)
    page = client_for(boss).get(decide_url(later)).content.decode()
    assert "waits for an earlier approver" in page
    assert 'value="approve"' not in page
    response = client_for(boss).post(decide_url(later), {"decision": "approve"})
    assert response["Location"] == decide_url(later)
    assert "cannot be decided now" in texts(response)[0]
    assert status_of(order) == SalesOrder.Status.PENDING_APPROVAL


def test_a_row_decision_goes_back_to_the_list(pending, approver):
    order, _, entry = pending
    response = client_for(approver).post(
        decide_url(entry), {"decision": "reject", "comment": "Too much", "next": INBOX + "?x=1"}
    )
    assert response["Location"] == INBOX + "?x=1"
    assert status_of(order) == SalesOrder.Status.OPEN
    # An address elsewhere is not followed.
    _, _, other = _another_pending(order_of_fixture=pending)
    response = client_for(approver).post(
        decide_url(other), {"decision": "reject", "next": "https://evil.example/"}
    )
    assert response["Location"] == INBOX


def _another_pending(order_of_fixture):
    order, request, _ = order_of_fixture
    new = make_order(order.company, request.requester, 5000)
    sent = approval_request_send(record=new, user=request.requester)
    return new, sent, sent.entries.get()


def test_delegating_hands_the_entry_to_the_substitute(pending, approver, boss):
    order, request, entry = pending
    response = client_for(approver).post(decide_url(entry), {"decision": "delegate"})
    assert texts(response) == [f"Sales Order {order.no} was delegated to boss."]
    new = request.entries.get(status=OPEN)
    assert new.approver == boss and new.delegated_from_id == entry.pk
    assert [row.pk for row in client_for(boss).get(INBOX).context["rows"]] == [new.pk]
    assert client_for(approver).get(INBOX).context["rows"] == []
    # The delegate decides now; the original approver's entry has nothing left to decide.
    client_for(boss).post(decide_url(new), {"decision": "approve"})
    assert status_of(order) == SalesOrder.Status.RELEASED


def test_a_decision_needs_one_choice(pending, approver):
    _, _, entry = pending
    response = client_for(approver).post(decide_url(entry), {"comment": "Hm"})
    assert response.status_code == 400
    assert "Choose Approve, Reject or Delegate" in response.content.decode()
    response = client_for(approver).post(decide_url(entry), {"decision": "maybe"})
    assert response.status_code == 400
    entry.refresh_from_db()
    assert entry.status == OPEN


@pytest.mark.parametrize("method", ["get", "post"])
def test_others_may_not_decide(pending, colleague, sales, company, method):
    order, _, entry = pending
    manager = member(company, "manager", role=Membership.Role.ADMIN)
    for user in (colleague, sales, manager):
        response = getattr(client_for(user), method)(decide_url(entry), {"decision": "approve"})
        assert response.status_code == 403, user
    entry.refresh_from_db()
    assert entry.status == OPEN
    assert status_of(order) == SalesOrder.Status.PENDING_APPROVAL


def test_the_approval_administrator_may_decide(pending, admin_user):
    order, _, entry = pending
    client = client_for(admin_user)
    assert (
        "as the approval administrator, for approver"
        in client.get(decide_url(entry)).content.decode()
    )
    client.post(decide_url(entry), {"decision": "approve"})
    entry.refresh_from_db()
    assert (entry.status, entry.decided_by) == ("approved", admin_user)
    assert status_of(order) == SalesOrder.Status.RELEASED


def test_another_company_s_entry_is_not_found(pending, outsider):
    _, _, entry = pending
    assert client_for(outsider).get(decide_url(entry)).status_code == 404
    assert client_for(outsider).post(decide_url(entry), {"decision": "approve"}).status_code == 404
    entry.refresh_from_db()
    assert entry.status == OPEN


def test_anonymous_users_are_sent_to_sign_in(pending, client):
    _, request, entry = pending
    for url in (decide_url(entry), INBOX, ENTRIES, f"/approvals/requests/{request.pk}/"):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith("/accounts/login/")
    assert client.post(decide_url(entry), {"decision": "approve"}).status_code == 302
    entry.refresh_from_db()
    assert entry.status == OPEN


def test_every_post_needs_the_csrf_token(pending, approver):
    _, request, entry = pending
    client = Client(enforce_csrf_checks=True)
    client.force_login(approver)
    assert client.post(decide_url(entry), {"decision": "approve"}).status_code == 403
    assert client.post("/approvals/requests/approve/", {"selected": [entry.pk]}).status_code == 403
    comment = f"/approvals/requests/{request.pk}/comments/"
    assert client.post(comment, {"text": "Hi"}).status_code == 403
    entry.refresh_from_db()
    assert entry.status == OPEN


def test_wrong_methods_are_refused(pending, approver):
    _, request, _ = pending
    client = client_for(approver)
    assert client.post(INBOX).status_code == 405
    assert client.post(ENTRIES).status_code == 405
    assert client.get("/approvals/requests/approve/").status_code == 405
    assert client.get(f"/approvals/requests/{request.pk}/comments/").status_code == 405


def test_the_mail_links_to_the_decide_page(
    order_workflow, order_of, sales, approver, django_capture_on_commit_callbacks
):
    order = order_of(5000)
    with django_capture_on_commit_callbacks(execute=True):
        entry = approval_request_send(record=order, user=sales).entries.get()
    assert mail.outbox[-1].to == ["approver@cronus.example.com"]
    link = re.search(r"Review and decide: (\S+)", mail.outbox[-1].body).group(1)
    assert link == settings.SITE_URL + decide_url(entry)
    link = link.removeprefix(settings.SITE_URL)
    assert client_for(approver).get(link).status_code == 200
    entry.refresh_from_db()
    assert entry.status == OPEN


# -- Bulk approve -----------------------------------------------------------------------------


def test_bulk_approve_approves_the_selected_and_reports_the_rest(
    order_workflow, order_of, sales, approver, boss
):
    orders = [order_of(5000) for _ in range(3)]
    entries = [approval_request_send(record=o, user=sales).entries.get() for o in orders]
    # One is already decided; one order goes to boss (50,000 needs approver, then boss).
    approval_entry_approve(entry=entries[2], user=approver)
    big = approval_request_send(record=order_of(50000), user=sales)
    not_mine = big.entries.get(approver=approver)
    ApprovalEntry.objects.filter(pk=not_mine.pk).update(approver=boss)

    response = client_for(approver).post(
        "/approvals/requests/approve/",
        {
            "selected": [entries[0].pk, entries[1].pk, entries[2].pk, not_mine.pk],
            "comment": "All fine",
            "next": INBOX,
        },
    )
    assert response.status_code == 302
    messages = texts(response)
    assert messages[0] == "2 requests were approved."
    assert f"Sales Order {orders[2].no}: This approval request was already approved" in messages[1]
    assert messages[2] == (
        "1 of the selected requests are not yours to approve, or do not exist any more."
    )
    assert [status_of(o) for o in orders] == [SalesOrder.Status.RELEASED] * 3
    assert ApprovalComment.objects.filter(text="All fine").count() == 2
    not_mine.refresh_from_db()
    assert not_mine.status == OPEN


@pytest.mark.parametrize(
    ("selected", "message"),
    [
        ([], "Select one or more requests to approve first."),
        (["x1"], "The selected rows must be approval entry ids."),
        ([str(n) for n in range(1, 202)], "Approve at most 200 requests at once."),
    ],
)
def test_bulk_approve_refuses_bad_selections(pending, approver, selected, message):
    response = client_for(approver).post("/approvals/requests/approve/", {"selected": selected})
    assert response.status_code == 302
    assert texts(response) == [message]


# -- Approval Entries and a request's page ---------------------------------------------------


def test_entries_are_seen_by_requester_approver_and_administrators(
    pending, sales, approver, colleague, admin_user, company
):
    _, _, entry = pending
    manager = member(company, "manager", role=Membership.Role.ADMIN)
    for user, seen in ((sales, True), (approver, True), (colleague, False), (admin_user, True)):
        rows = client_for(user).get(ENTRIES).context["rows"]
        assert [row.pk for row in rows] == ([entry.pk] if seen else []), user
    assert [row.pk for row in client_for(manager).get(ENTRIES).context["rows"]] == [entry.pk]


def test_entries_filter_by_record_and_status(pending, sales, order_of):
    order, _, entry = pending
    other = _another_pending(pending)[2]
    client = client_for(sales)
    rows = client.get(ENTRIES, {"table": 36, "record": str(order.system_id)}).context["rows"]
    assert [row.pk for row in rows] == [entry.pk]
    rows = client.get(ENTRIES, {"status": "open"}).context["rows"]
    assert [row.pk for row in rows] == [other.pk, entry.pk]
    assert client.get(ENTRIES, {"status": "approved"}).context["rows"] == []


@pytest.mark.parametrize(
    "query",
    [{"record": "not-a-uuid", "table": "36"}, {"status": "maybe"}, {"table": "99"}],
)
def test_bad_filters_get_a_message(pending, sales, query):
    response = client_for(sales).get(ENTRIES, query)
    assert response.status_code == 400
    assert response.context["errors"]
    assert response.context["rows"] == []


def test_entries_page_by_keyset(pending, sales, order_of):
    client = client_for(sales)
    from approvals.views import requests as views

    views_size = views.PAGE_SIZE
    views.PAGE_SIZE = 1
    try:
        other = _another_pending(pending)[2]
        first = client.get(ENTRIES)
        assert [row.pk for row in first.context["rows"]] == [other.pk]
        second = client.get(first.context["next_url"])
        assert [row.pk for row in second.context["rows"]] == [pending[2].pk]
        broken = client.get(ENTRIES + "?after=forged")
        assert broken.context["errors"] == [
            "That page link is no longer valid; showing the first page."
        ]
    finally:
        views.PAGE_SIZE = views_size


def test_a_request_s_page_shows_entries_and_takes_comments(pending, sales, approver):
    _, request, entry = pending
    url = f"/approvals/requests/{request.pk}/"
    page = client_for(sales).get(url)
    assert page.status_code == 200
    assert [row.pk for row in page.context["entries"]] == [entry.pk]
    assert page.context["my_entry_url"] == ""
    assert client_for(approver).get(url).context["my_entry_url"] == decide_url(entry)
    response = client_for(sales).post(url + "comments/", {"text": "  Urgent, please  "})
    assert response.status_code == 302
    assert request.comments.get().text == "Urgent, please"
    assert "Urgent, please" in client_for(approver).get(url).content.decode()
    response = client_for(sales).post(url + "comments/", {"text": "   "})
    assert response.status_code == 400
    assert request.comments.count() == 1


def test_a_request_s_page_is_for_those_involved(pending, colleague, outsider):
    _, request, _ = pending
    url = f"/approvals/requests/{request.pk}/"
    assert client_for(colleague).get(url).status_code == 403
    assert client_for(colleague).post(url + "comments/", {"text": "Hi"}).status_code == 403
    assert client_for(outsider).get(url).status_code == 404
    assert client_for(outsider).post(url + "comments/", {"text": "Hi"}).status_code == 404
    assert not request.comments.exists()


# -- FactBox and cue --------------------------------------------------------------------------


def test_the_factbox_shows_the_latest_request(pending, sales, approver):
    order, _, _ = pending
    html = client_for(sales).get(f"/sales-orders/{order.pk}/").content.decode()
    box = re.search(r'data-factbox="approvals".*?</details>', html, re.S).group(0)
    assert "Open" in box
    assert "approver: Open · due" in box
    assert f"?table=36&amp;record={order.system_id}" in box
    approval_entry_approve(entry=ApprovalEntry.objects.get(), user=approver)
    html = client_for(sales).get(f"/sales-orders/{order.pk}/").content.decode()
    box = re.search(r'data-factbox="approvals".*?</details>', html, re.S).group(0)
    assert "Approved" in box and "approver: Approved" in box


def test_the_factbox_without_requests(workflows, chain, order_of, sales):
    order = order_of(5000)
    html = client_for(sales).get(f"/sales-orders/{order.pk}/").content.decode()
    assert "No approval requests." in html


def test_the_cue_counts_the_user_s_open_entries(pending, approver, sales, order_of):
    _another_pending(pending)
    response = client_for(approver).get("/")
    tiles = [t for g in response.context["cue_groups"] for t in g.tiles]
    tile = next(t for t in tiles if t.label == "Requests to Approve")
    assert (tile.count, tile.url) == (2, INBOX)
    assert len(client_for(approver).get(tile.url).context["rows"]) == 2
    tiles = [t for g in client_for(sales).get("/").context["cue_groups"] for t in g.tiles]
    assert next(t for t in tiles if t.label == "Requests to Approve").count == 0


# -- Query counts -----------------------------------------------------------------------------


def _queries(client, url) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


@pytest.mark.parametrize("url", [INBOX, ENTRIES, INBOX + "?all=1"])
def test_lists_cost_the_same_with_30_entries_as_with_3(
    order_workflow, company, sales, approver, admin_user, url, django_assert_max_num_queries
):
    def send(count):
        for _ in range(count):
            approval_request_send(record=make_order(company, sales, 5000), user=sales)

    client = client_for(admin_user if "all" in url else approver)
    send(3)
    few = _queries(client, url)
    send(27)
    with django_assert_max_num_queries(few):
        response = client.get(url)
    assert len(response.context["rows"]) == 30


def test_the_order_page_costs_the_same_with_more_approvers(
    order_workflow, order_of, sales, django_assert_max_num_queries
):
    one = order_of(5000)
    approval_request_send(record=one, user=sales)
    two = order_of(50000)
    assert approval_request_send(record=two, user=sales).entries.count() == 2
    client = client_for(sales)
    few = _queries(client, f"/sales-orders/{one.pk}/")
    with django_assert_max_num_queries(few):
        client.get(f"/sales-orders/{two.pk}/")


# -- Customers and items ----------------------------------------------------------------------


def test_a_new_customer_is_sent_from_its_card_and_stays_restricted_until_approved(
    workflows, chain, company, sales, approver
):
    enable(workflows["MS-CUSTAPW"])
    customer = services.customer_create(company=company, user=sales, name="Fabrikam")
    client = client_for(sales)
    response = client.post(f"/customers/{customer.pk}/actions/send-approval-request/")
    assert texts(response) == [
        f"The approval request for Customer {customer.no} was sent to approver."
    ]
    items = _group_items(client.get(f"/customers/{customer.pk}/").content.decode())
    assert (items["send-approval-request"], items["cancel-approval-request"]) == (False, True)
    assert services_restricted(customer)
    entry = ApprovalEntry.objects.get(request__record_id=customer.system_id)
    client_for(approver).post(decide_url(entry), {"decision": "approve"})
    assert not services_restricted(customer)


def services_restricted(record) -> bool:
    from approvals.models import RestrictedRecord

    return RestrictedRecord.objects.filter(record_id=record.system_id).exists()


def test_an_item_card_has_the_group_and_the_factbox(workflows, chain, company, sales):
    from tests.factories import ItemFactory

    item = ItemFactory(company=company)
    html = client_for(sales).get(f"/items/{item.pk}/").content.decode()
    assert set(_group_items(html)) == {
        "send-approval-request",
        "cancel-approval-request",
        "approvals",
    }
    assert 'data-factbox="approvals"' in html
    response = client_for(sales).post(f"/items/{item.pk}/actions/send-approval-request/")
    assert "No approval workflow" in texts(response)[0]
