"""URLs of every registered page, by its slug.

``/customers/`` (list), ``/customers/new/``, ``/customers/<pk>/`` (card), ``.../edit/``,
``.../delete/``, ``.../actions/<key>/``, ``/customers/actions/<key>/`` (bulk),
``/customers/lookup/`` (the options of a No. input as people type), and a
document's ``/sales-orders/<pk>/lines/...``. The slug converter only matches registered
slugs, so these patterns never shadow another app's URLs; pages registered later (in tests,
or by apps loaded after this module) are served without touching this file.
"""

from django.urls import path, register_converter

from bcsite.pages.site import is_page_slug
from bcsite.pages.views import actions, cards, lines, lists, lookups


class PageSlugConverter:
    regex = r"[a-z0-9]+(?:-[a-z0-9]+)*"

    def to_python(self, value: str) -> str:
        if not is_page_slug(value):
            raise ValueError(value)
        return value

    def to_url(self, value: str) -> str:
        return value


register_converter(PageSlugConverter, "page")

urlpatterns = [
    path("<page:slug>/", lists.list_view, name="page-list"),
    path("<page:slug>/actions/<str:action_key>/", actions.list_action, name="page-list-action"),
    path("<page:slug>/lookup/", lookups.lookup_view, name="page-lookup"),
    path("<page:slug>/new/", cards.card_new, name="page-new"),
    path("<page:slug>/<int:pk>/", cards.card_view, name="page-card"),
    path("<page:slug>/<int:pk>/edit/", cards.card_edit, name="page-edit"),
    path("<page:slug>/<int:pk>/delete/", cards.card_delete, name="page-delete"),
    path(
        "<page:slug>/<int:pk>/actions/<str:action_key>/",
        actions.record_action,
        name="page-action",
    ),
    path("<page:slug>/<int:pk>/factboxes/", lists.factboxes_view, name="page-factboxes"),
    path("<page:slug>/<int:pk>/lines/", lines.lines_view, name="page-lines"),
    path("<page:slug>/<int:pk>/lines/add/", lines.line_add, name="page-line-add"),
    path("<page:slug>/<int:pk>/lines/<int:line_pk>/edit/", lines.line_edit, name="page-line-edit"),
    path(
        "<page:slug>/<int:pk>/lines/<int:line_pk>/delete/",
        lines.line_delete,
        name="page-line-delete",
    ),
]
