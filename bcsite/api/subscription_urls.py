"""URLs of webhook subscriptions and business events, included by ``bcsite.api.urls`` (at /api/).

BC addresses one subscription as ``subscriptions('<id>')``; ``subscriptions(<id>)`` works too.
"""

from django.urls import path

from bcsite.api import subscriptions as views

_RUNTIME = "microsoft/runtime/v1.0"

urlpatterns = [
    path("v2.0/subscriptions", views.SubscriptionListView.as_view()),
    path("v2.0/subscriptions(<str:key>)", views.SubscriptionDetailView.as_view()),
    path(
        f"{_RUNTIME}/externalbusinesseventdefinitions",
        views.BusinessEventDefinitionListView.as_view(),
    ),
    path(f"{_RUNTIME}/externaleventsubscriptions", views.EventSubscriptionListView.as_view()),
    path(
        f"{_RUNTIME}/externaleventsubscriptions(<str:key>)",
        views.EventSubscriptionDetailView.as_view(),
    ),
]
