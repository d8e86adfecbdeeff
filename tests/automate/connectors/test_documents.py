"""Who sees which documents, where there is no request: a flow acting for its owner."""

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.files.base import ContentFile

from automate.models import Document
from automate.services.documents import documents_visible_to, sees_every_flow
from records.models import Membership
from tests.automate.conftest import make_flow_run
from tests.factories import MembershipFactory, UserFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("media")]


def document(company, name, *, user=None, run=None):
    return Document.objects.create(
        company=company,
        name=name,
        file=ContentFile(b"x", name=name),
        size=1,
        created_by=user,
        flow=run.flow if run else None,
        run=run,
    )


def test_administrators_of_the_company_and_superusers_see_every_flow(company, other_company, sales):
    admin = UserFactory(username="company-admin")
    MembershipFactory(user=admin, company=company, role=Membership.Role.ADMIN)
    elsewhere = UserFactory(username="admin-elsewhere")
    MembershipFactory(user=elsewhere, company=other_company, role=Membership.Role.ADMIN)
    superuser = UserFactory(username="root", is_superuser=True)

    assert sees_every_flow(user=admin, company=company) is True
    assert sees_every_flow(user=superuser, company=company) is True
    assert sees_every_flow(user=sales, company=company) is False
    assert sees_every_flow(user=elsewhere, company=company) is False
    assert sees_every_flow(user=AnonymousUser(), company=company) is False
    assert sees_every_flow(user=None, company=company) is False


def test_a_user_sees_their_own_documents_and_those_created_outside_flows(
    company, other_company, sales, colleague, outsider
):
    mine = document(company, "mine.txt", user=sales)
    shared = document(company, "shared.txt")
    document(company, "theirs.txt", user=colleague)
    document(other_company, "elsewhere.txt")
    document(other_company, "outsider.txt", user=outsider)

    visible = documents_visible_to(user=sales, company=company)
    assert set(visible) == {mine, shared}
    assert set(documents_visible_to(user=AnonymousUser(), company=company)) == {shared}


def test_visibility_follows_the_creator_not_the_run(company, sales, colleague):
    theirs_run = make_flow_run(company=company, owner=colleague, name="Colleague's flow")
    # Created by sales in a colleague's run (a flow shared with them, say): still sales's.
    mine = document(company, "mine.txt", user=sales, run=theirs_run)
    theirs = document(company, "theirs.txt", user=colleague, run=theirs_run)
    theirs_run.delete()
    assert set(documents_visible_to(user=sales, company=company)) == {mine}
    assert set(documents_visible_to(user=colleague, company=company)) == {theirs}


def test_an_administrator_sees_all_documents_unless_told_otherwise(company, admin_user, sales):
    mine = document(company, "mine.txt", user=sales)
    assert list(documents_visible_to(user=admin_user, company=company)) == [mine]
    assert list(documents_visible_to(user=admin_user, company=company, sees_all=False)) == []
