"""The business services of records: every change to the business data happens here.

Views, API views, Celery tasks and flows call these alike. They are keyword-only
and raise ``django.core.exceptions.ValidationError``: with a dict of field ->
messages for field errors, or a plain message for a refused action.
"""

from records.services.customers import customer_create, customer_delete, customer_update
from records.services.items import (
    item_adjust_inventory,
    item_create,
    item_delete,
    item_update,
)
from records.services.no_series import no_series_next
from records.services.posting import sales_order_post
from records.services.sales_orders import (
    sales_order_create,
    sales_order_delete,
    sales_order_end_approval,
    sales_order_line_add,
    sales_order_line_delete,
    sales_order_line_update,
    sales_order_mark_pending_approval,
    sales_order_release,
    sales_order_reopen,
    sales_order_update,
)

__all__ = [
    "customer_create",
    "customer_delete",
    "customer_update",
    "item_adjust_inventory",
    "item_create",
    "item_delete",
    "item_update",
    "no_series_next",
    "sales_order_create",
    "sales_order_delete",
    "sales_order_end_approval",
    "sales_order_line_add",
    "sales_order_line_delete",
    "sales_order_line_update",
    "sales_order_mark_pending_approval",
    "sales_order_post",
    "sales_order_release",
    "sales_order_reopen",
    "sales_order_update",
]
