"""The Audit Log page: company administrators browse and filter their company's entries."""

import datetime
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from bcsite.audit import audit_record
from bcsite.models import AuditEntry

pytestmark = pytest.mark.django_db

URL = "/settings/audit-log/"
WRITES = re.compile(r"^\s*(INSERT|UPDATE|DELETE)\b", re.IGNORECASE)


@pytest.fixture
def admin_client(client, admin_user):
    client.force_login(admin_user)
    return client


def record(company, actor=None, *, area="Flow", action="changed", name="Notify sales", **fields):
    return audit_record(
        company=company,
        actor=actor,
        area=area,
        action=action,
        object_type=fields.pop("object_type", "Flow"),
        object_id=fields.pop("object_id", 1),
        object_repr=name,
        **fields,
    )


def at(entry, when):
    AuditEntry.objects.filter(pk=entry.pk).update(at=when)


def shown_ids(response):
    return [row.entry.pk for row in response.context["rows"]]


# -- Who may see it -----------------------------------------------------------------------------


def test_the_url_is_named():
    assert reverse("audit-log") == URL


def test_an_admin_sees_the_entries_newest_first(admin_client, company, sales):
    older = record(company, sales, name="Older flow")
    newer = record(company, None, action="turned off", name="Newer flow", message="It failed.")
    at(older, timezone.now() - datetime.timedelta(hours=1))

    response = admin_client.get(URL)

    assert response.status_code == 200
    assert shown_ids(response) == [newer.pk, older.pk]
    html = response.content.decode()
    assert "Older flow" in html and "Newer flow" in html
    assert "It failed." in html
    # No actor: the system did it.
    row = response.context["rows"][0]
    assert row.who == "System"
    assert response.context["rows"][1].who == "sales"


def test_a_user_who_is_not_an_admin_is_refused(sales_client, company):
    record(company)

    response = sales_client.get(URL)

    assert response.status_code == 403
    assert "Only administrators of the company can see the audit log." in (
        response.content.decode()
    )


def test_a_signed_out_visitor_is_sent_to_sign_in(client, company):
    response = client.get(URL)

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_another_companys_entries_never_show(admin_client, company, other_company, outsider):
    mine = record(company, name="Our flow")
    record(other_company, outsider, name="Their flow")

    response = admin_client.get(URL)

    assert shown_ids(response) == [mine.pk]
    assert "Their flow" not in response.content.decode()
    # Not even by asking for their user.
    response = admin_client.get(URL, {"user": outsider.pk})
    assert response.status_code == 400
    assert shown_ids(response) == []


def test_an_admin_of_another_company_sees_only_theirs(client, company, other_company):
    from records.models import Membership
    from tests.factories import MembershipFactory, UserFactory

    other_admin = UserFactory(username="otheradmin")
    MembershipFactory(user=other_admin, company=other_company, role=Membership.Role.ADMIN)
    record(company, name="Our flow")
    theirs = record(other_company, name="Their flow")
    client.force_login(other_admin)

    response = client.get(URL)

    assert response.status_code == 200
    assert shown_ids(response) == [theirs.pk]


def test_it_only_answers_get(admin_client, company):
    assert admin_client.post(URL).status_code == 405
    assert admin_client.delete(URL).status_code == 405


def test_a_get_changes_nothing(admin_client, company, sales):
    record(company, sales)
    count = AuditEntry.objects.count()

    with CaptureQueriesContext(connection) as queries:
        admin_client.get(URL, {"area": "Flow", "q": "Notify"})

    assert AuditEntry.objects.count() == count
    assert [q["sql"] for q in queries.captured_queries if WRITES.match(q["sql"])] == []


def test_the_navigation_shows_it_to_admins_only(client, company, admin_user, sales):
    client.force_login(admin_user)
    assert f'href="{URL}"' in client.get("/").content.decode()
    client.force_login(sales)
    assert f'href="{URL}"' not in client.get("/").content.decode()


# -- Before and after ---------------------------------------------------------------------------


def test_a_row_shows_the_keys_that_changed(admin_client, company, admin_user):
    record(
        company,
        admin_user,
        area="Power Automate setup",
        action="changed",
        name="CRONUS",
        before={"mode": "On for everyone", "note": "same"},
        after={"mode": "Off for everyone", "note": "same"},
    )

    response = admin_client.get(URL)

    (change,) = response.context["rows"][0].changes
    assert (change.field, change.before, change.after) == (
        "Mode",
        "On for everyone",
        "Off for everyone",
    )
    html = response.content.decode()
    assert "On for everyone" in html and "Off for everyone" in html
    assert "Note" not in html


def test_a_creation_shows_its_values(admin_client, company, sales):
    record(
        company,
        sales,
        action="created",
        after={"name": "Notify sales", "concurrency_limit": 25, "enabled": True, "key": ""},
    )

    changes = admin_client.get(URL).context["rows"][0].changes

    assert [(c.field, c.before, c.after) for c in changes] == [
        # The name first, the rest by key, whatever order the database keeps them in.
        ("Name", "", "Notify sales"),
        ("Concurrency limit", "", "25"),
        ("Enabled", "", "Yes"),
        ("Key", "", "—"),
    ]


# -- Filters ----------------------------------------------------------------------------------


def test_it_filters_by_area_action_user_and_text(admin_client, company, sales, colleague):
    flow_change = record(company, sales, name="Notify sales")
    approval = record(
        company,
        colleague,
        area="Approval",
        action="approved",
        name="Sales Order 101001",
        message="Document No. 101001. Amount 5,000.00.",
    )
    system = record(company, None, action="turned off", name="Nightly export")

    def ids(**params):
        response = admin_client.get(URL, params)
        assert response.status_code == 200, response.context["errors"]
        return shown_ids(response)

    assert ids(area="Approval") == [approval.pk]
    assert ids(action="turned off") == [system.pk]
    assert ids(user=sales.pk) == [flow_change.pk]
    assert ids(user="system") == [system.pk]
    assert ids(q="101001") == [approval.pk]
    assert ids(q="nightly") == [system.pk]
    assert ids(area="Flow", user=colleague.pk) == []


def test_it_filters_by_dates_in_the_sites_time_zone(admin_client, company):
    today = timezone.localdate()
    days = {
        offset: record(company, name=f"Day {offset}")
        for offset in (0, 1, 3)  # today, yesterday, three days ago
    }
    for offset, entry in days.items():
        midday = datetime.datetime.combine(
            today - datetime.timedelta(days=offset), datetime.time(12)
        )
        at(entry, timezone.make_aware(midday))
    yesterday = (today - datetime.timedelta(days=1)).isoformat()

    def ids(**params):
        response = admin_client.get(URL, params)
        assert response.status_code == 200
        return shown_ids(response)

    assert ids(date_from=yesterday) == [days[0].pk, days[1].pk]
    assert ids(date_to=yesterday) == [days[1].pk, days[3].pk]
    assert ids(date_from=yesterday, date_to=yesterday) == [days[1].pk]


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"area": "Payroll"}, "Payroll is not an area of the audit log."),
        ({"action": "exploded"}, "exploded is not an action of the audit log."),
        ({"user": "abc"}, "abc is not a user of this company."),
        ({"date_from": "2026-13-45"}, "Enter a date as YYYY-MM-DD."),
        ({"date_from": "2026-05-02", "date_to": "2026-05-01"}, "must not be after the To date"),
        ({"q": "x" * 101}, "Search for at most 100 characters."),
        ({"q": "a\x00b"}, "control characters"),
    ],
)
def test_a_bad_filter_says_what_is_wrong(admin_client, company, params, message):
    record(company)

    response = admin_client.get(URL, params)

    assert response.status_code == 400
    assert shown_ids(response) == []
    assert any(message in error for error in response.context["errors"])
    assert message in response.content.decode()


def test_a_bad_page_link_shows_the_first_page(admin_client, company):
    entry = record(company)

    response = admin_client.get(URL, {"after": "not-a-cursor"})

    assert response.status_code == 200
    assert shown_ids(response) == [entry.pk]
    assert "no longer valid" in response.content.decode()


# -- Paging -------------------------------------------------------------------------------------


def make_entries(company, user, n):
    AuditEntry.objects.bulk_create(
        [
            AuditEntry(
                company=company,
                actor=user,
                actor_name=user.username,
                area="Flow",
                action="changed",
                object_type="Flow",
                object_id=str(i),
                object_repr=f"Flow {i}",
                before={"name": f"Old {i}"},
                after={"name": f"Flow {i}"},
            )
            for i in range(n)
        ]
    )


def test_it_pages_fifty_at_a_time_keeping_the_filters(admin_client, company, sales):
    make_entries(company, sales, 60)
    record(company, None, area="Approval", action="approved")  # filtered out below

    first = admin_client.get(URL, {"area": "Flow"})
    assert len(first.context["rows"]) == 50
    assert first.context["count"] == 60
    next_url = first.context["next_url"]
    assert "area=Flow" in next_url

    second = admin_client.get(next_url)
    assert len(second.context["rows"]) == 10
    assert second.context["next_url"] == ""
    seen = shown_ids(first) + shown_ids(second)
    assert len(set(seen)) == 60
    assert seen == sorted(seen, reverse=True)  # same moment: newest pk first

    back = admin_client.get(second.context["previous_url"])
    assert shown_ids(back) == shown_ids(first)


@pytest.mark.parametrize("filters", [{}, {"area": "Flow", "action": "changed", "q": "Flow"}])
def test_the_query_count_does_not_grow_with_entries(
    admin_client, company, sales, django_assert_num_queries, filters
):
    make_entries(company, sales, 3)
    with CaptureQueriesContext(connection) as few:
        assert admin_client.get(URL, filters).status_code == 200

    make_entries(company, sales, 57)
    with django_assert_num_queries(len(few.captured_queries)):
        response = admin_client.get(URL, filters)
    assert response.status_code == 200
