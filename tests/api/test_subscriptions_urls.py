"""The site mounts the subscription and business event endpoints under /api/ as BC names them."""

import pytest
from django.urls import resolve

from bcsite.api import subscriptions as views


@pytest.mark.parametrize(
    ("path", "view", "key"),
    [
        ("/api/v2.0/subscriptions", views.SubscriptionListView, None),
        ("/api/v2.0/subscriptions('0f1e2d3c')", views.SubscriptionDetailView, "'0f1e2d3c'"),
        ("/api/v2.0/subscriptions(0f1e2d3c)", views.SubscriptionDetailView, "0f1e2d3c"),
        (
            "/api/microsoft/runtime/v1.0/externalbusinesseventdefinitions",
            views.BusinessEventDefinitionListView,
            None,
        ),
        (
            "/api/microsoft/runtime/v1.0/externaleventsubscriptions",
            views.EventSubscriptionListView,
            None,
        ),
        (
            "/api/microsoft/runtime/v1.0/externaleventsubscriptions(0f1e2d3c)",
            views.EventSubscriptionDetailView,
            "0f1e2d3c",
        ),
    ],
)
def test_the_endpoints_are_mounted(path, view, key):
    match = resolve(path)

    assert match.func.view_class is view
    assert match.kwargs.get("key") == key
