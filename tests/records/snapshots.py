"""A picture of the business data, to assert that a refused action wrote nothing."""

from records.models import (
    Company,
    Customer,
    CustomerLedgerEntry,
    Item,
    ItemLedgerEntry,
    Membership,
    NoSeries,
    PostedSalesInvoice,
    PostedSalesInvoiceLine,
    SalesOrder,
    SalesOrderLine,
)

# Every model of records, in the order of their dependencies.
RECORDS_MODELS = (
    Company,
    Membership,
    NoSeries,
    Customer,
    Item,
    SalesOrder,
    SalesOrderLine,
    PostedSalesInvoice,
    PostedSalesInvoiceLine,
    CustomerLedgerEntry,
    ItemLedgerEntry,
)


def db_snapshot() -> dict:
    return {
        "series": list(NoSeries.objects.order_by("pk").values_list("code", "last_no_used")),
        "customers": list(
            Customer.objects.order_by("pk").values_list(
                "no", "name", "blocked", "balance", "credit_limit", "last_modified"
            )
        ),
        "items": list(
            Item.objects.order_by("pk").values_list(
                "no", "description", "type", "unit_price", "inventory", "blocked", "last_modified"
            )
        ),
        "orders": list(
            SalesOrder.objects.order_by("pk").values_list(
                "no",
                "customer_id",
                "status",
                "order_date",
                "due_date",
                "amount",
                "amount_including_vat",
                "last_modified",
            )
        ),
        "lines": list(
            SalesOrderLine.objects.order_by("pk").values_list(
                "order_id", "line_no", "item_id", "quantity", "unit_price", "line_amount"
            )
        ),
        "invoices": list(PostedSalesInvoice.objects.order_by("pk").values_list("no", "amount")),
        "invoice_lines": PostedSalesInvoiceLine.objects.count(),
        "customer_entries": CustomerLedgerEntry.objects.count(),
        "item_entries": ItemLedgerEntry.objects.count(),
    }
