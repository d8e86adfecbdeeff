"""Celery tasks of records: each loads rows by id and calls a service."""

import logging

from celery import shared_task
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError

from records.models import SalesOrder
from records.services import sales_order_post

logger = logging.getLogger(__name__)


@shared_task
def sales_order_post_task(order_id: int, user_id: int | None) -> int | None:
    """Post a sales order in the background; returns the posted invoice's id.

    Safe to run twice: posting deletes the order, so a redelivered task finds no
    order and does nothing, and of two tasks running at once the order lock lets
    one post while the other finds the order gone.
    """
    order = SalesOrder.objects.filter(pk=order_id).first()
    if order is None:
        logger.info("Sales order %s no longer exists (already posted?); nothing to do", order_id)
        return None
    user = get_user_model().objects.filter(pk=user_id).first() if user_id else None
    try:
        invoice = sales_order_post(order=order, user=user)
    except ValidationError:
        if not SalesOrder.objects.filter(pk=order_id).exists():
            logger.info("Sales order %s was posted by another task; nothing to do", order_id)
            return None
        # A refusal (blocked customer, nothing to post, ...): retrying cannot help.
        logger.warning("Posting sales order %s was refused", order_id, exc_info=True)
        raise
    return invoice.pk
