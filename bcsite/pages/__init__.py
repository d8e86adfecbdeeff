"""The page framework: declare list, card and document pages; generic views render them.

Declarations live in ``bcsite.pages.base``; apps register pages in ``bcsite.registry``.
"""

from bcsite.pages.site import card_url_for, tell_me_entries

__all__ = ["card_url_for", "tell_me_entries"]
