"""Data shared by the records tests; the personas are in ``tests/conftest.py``."""

import pytest

from tests.factories import CustomerFactory


@pytest.fixture
def customer(company):
    """The sell-to customer of the sales order tests."""
    return CustomerFactory(company=company, no="C10000", name="Adatum Corporation")
