"""What a flow's page shows of its HTTP trigger: ``{% http_trigger flow as hook %}``."""

from django import template

from automate.views.hooks import hook_details

register = template.Library()


@register.simple_tag
def http_trigger(flow):
    """The flow's URL, signing secret and an example call; None for other triggers."""
    return hook_details(flow)
