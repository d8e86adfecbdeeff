"""What the API tests share: clients that authenticate as a persona with a personal token.

- ``api_client``: ``sales`` in CRONUS, with a personal token (``Authorization: Bearer bcs_...``);
- ``colleague_api_client``, ``admin_api_client``: the same for ``colleague`` and ``admin_user``;
- ``outsider_api_client``: ``outsider``, whose token is for OTHER;
- ``token_client(user, company)``: a client for anyone else.

Each test counts API rate limits on its own (a Redis key prefix of its own).
"""

import uuid

import pytest
from rest_framework.test import APIClient

from bcsite.api import credentials


def token_client(user, company) -> APIClient:
    """A client that calls the API with a new personal token of ``user`` in ``company``."""
    _, key = credentials.api_token_create(user=user, company=company, name=f"test {user.pk}")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    client.token_key = key
    return client


@pytest.fixture(autouse=True)
def _own_rate_limit_counts(settings):
    """Rate limits count in Redis under each caller's id; test databases hand out the same ids
    again, so each test counts under a key prefix of its own."""
    settings.CACHES = {
        **settings.CACHES,
        "api": {**settings.CACHES["api"], "KEY_PREFIX": f"bcsite-api-test-{uuid.uuid4().hex}"},
    }


@pytest.fixture
def api_client(sales, company):
    return token_client(sales, company)


@pytest.fixture
def colleague_api_client(colleague, company):
    return token_client(colleague, company)


@pytest.fixture
def admin_api_client(admin_user, company):
    return token_client(admin_user, company)


@pytest.fixture
def outsider_api_client(outsider, other_company):
    return token_client(outsider, other_company)
