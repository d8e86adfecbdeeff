"""Personas shared by every test.

- ``company``: CRONUS, the company everyone below works in (except the outsider).
- ``sales``: a sales user of CRONUS; ``colleague``: another user of CRONUS.
- ``admin_user``: a superuser who is a CRONUS administrator.
- ``outsider``: a user of another company, OTHER, who must never see CRONUS's rows.
- ``other_company``: OTHER.
"""

import pytest

from records.models import Membership
from tests.factories import CompanyFactory, MembershipFactory, UserFactory


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    # PBKDF2 costs ~0.3 s a user; tests need passwords to work, not to resist cracking.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def company(db):
    return CompanyFactory(name="CRONUS", display_name="CRONUS USA, Inc.")


@pytest.fixture
def other_company(db):
    return CompanyFactory(name="OTHER", display_name="Other Company Ltd.")


@pytest.fixture
def sales(company):
    user = UserFactory(username="sales")
    MembershipFactory(user=user, company=company)
    return user


@pytest.fixture
def colleague(company):
    user = UserFactory(username="colleague")
    MembershipFactory(user=user, company=company)
    return user


@pytest.fixture
def admin_user(company):
    user = UserFactory(username="admin", is_staff=True, is_superuser=True)
    MembershipFactory(user=user, company=company, role=Membership.Role.ADMIN)
    return user


@pytest.fixture
def outsider(other_company):
    user = UserFactory(username="outsider")
    MembershipFactory(user=user, company=other_company)
    return user


@pytest.fixture
def sales_client(client, sales):
    client.force_login(sales)
    return client


@pytest.fixture
def outsider_client(client, outsider):
    client.force_login(outsider)
    return client
