"""Every ``select_for_update`` of the business rows, in one place.

Rows are always locked in the same order, so two transactions never wait for each
other in a circle: customer, then items by primary key, then the sales order.
Customers and items are locked FOR NO KEY UPDATE: posting changes their balance and
inventory, never their keys, and a plain FOR UPDATE would also wait for the key-share
locks that PostgreSQL's deferred foreign-key checks take at commit, so a line added to
an order while it was being posted would deadlock with the posting.
The number series is locked last of all, only for the moment it takes a number.
"""

from collections.abc import Iterable

from django.core.exceptions import ValidationError

from records.models import Customer, Item, NoSeries, SalesOrder, SalesOrderLine


def no_series_lock(*, company, code: str) -> NoSeries | None:
    return NoSeries.objects.select_for_update().filter(company=company, code=code).first()


def customer_lock(*, customer_id: int) -> Customer:
    return Customer.objects.select_for_update(no_key=True).get(pk=customer_id)


def items_lock(*, item_ids: Iterable[int]) -> dict[int, Item]:
    items = Item.objects.select_for_update(no_key=True).filter(pk__in=set(item_ids)).order_by("pk")
    return {item.pk: item for item in items}


def item_lock(*, item: Item) -> None:
    """Lock the item and reload it in place, so checks see the committed row."""
    try:
        item.refresh_from_db(from_queryset=Item.objects.select_for_update(no_key=True))
    except Item.DoesNotExist:
        raise ValidationError(f"Item {item.no} does not exist.") from None


def sales_order_lock(*, order: SalesOrder) -> None:
    """Lock the order and reload it in place, so status checks see the committed row."""
    try:
        order.refresh_from_db(from_queryset=SalesOrder.objects.select_for_update())
    except SalesOrder.DoesNotExist:
        raise ValidationError(
            f"Sales Order {order.no} does not exist. It may have been posted or deleted."
        ) from None


def sales_order_lock_for_posting(*, order: SalesOrder) -> tuple[Customer, dict[int, Item]]:
    """Lock the order's customer, its items and the order, in the one lock order.

    Returns the locked customer and items by pk; the order is reloaded in place.
    The customer and items are read before the order is locked, so if the order
    changed in between (another customer, a line with a new item), refuse rather
    than post with rows that are not locked.
    """
    customer_id = (
        SalesOrder.objects.filter(pk=order.pk).values_list("customer_id", flat=True).first()
    )
    if customer_id is None:
        raise ValidationError(
            f"Sales Order {order.no} does not exist. It may have been posted or deleted."
        )
    item_ids = _line_item_ids(order)
    customer = customer_lock(customer_id=customer_id)
    items = items_lock(item_ids=item_ids)
    sales_order_lock(order=order)
    current_item_ids = _line_item_ids(order)
    if order.customer_id != customer.pk or not current_item_ids <= items.keys():
        raise ValidationError(
            f"Sales Order {order.no} was changed while it was being posted. Try again."
        )
    return customer, items


def _line_item_ids(order: SalesOrder) -> set[int]:
    return set(SalesOrderLine.objects.filter(order_id=order.pk).values_list("item_id", flat=True))
