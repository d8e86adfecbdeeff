"""The record pages: customers, items, sales orders, posted invoices, ledger entries.

Declarations only: the generic views in ``bcsite.pages`` render them, and the handlers in
``records.actions`` call the services. Imported by ``RecordsConfig.ready``.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Count, Sum
from django.http import HttpRequest
from django.utils import timezone

from bcsite.pages.base import (
    Action,
    ActionGroup,
    CardPage,
    Column,
    DocumentPage,
    FactBox,
    FactRow,
    FastTab,
    Field,
    Filter,
    FlowAction,
    LinesPart,
    ListPage,
    Lookup,
    Total,
)
from bcsite.registry import registry
from records import actions
from records.models import (
    ZERO,
    Customer,
    CustomerLedgerEntry,
    Item,
    ItemLedgerEntry,
    PostedSalesInvoice,
    PostedSalesInvoiceLine,
    SalesOrder,
    SalesOrderLine,
)

NEW_NO_HELP = "Leave blank to take the next number of the number series."


def _page(key: str):
    return registry.pages[key]


# Links between pages resolve when followed, so pages can refer to each other in any order.
def _customer_url(customer_id: Any) -> str:
    return _page("customer_card").card_url(customer_id)


def _item_url(item_id: Any) -> str:
    return _page("item_card").card_url(item_id)


def _list_of(list_key: str, param: str, value):
    """An action URL: the list ``list_key`` filtered to ``param`` = ``value(obj)``."""
    return lambda obj, request: _page(list_key).list_url(**{param: value(obj)})


# -- Declarations shared by several pages ---------------------------------------------------

NO_FILTER = Filter("no", label="No.", normalize=str.upper)
SELL_TO_CUSTOMER_NO_FILTER = Filter(
    "customer", label="Sell-to Customer No.", lookup="customer__no", normalize=str.upper
)
# The No. of a card whose number the series gives when left blank.
NEW_NO_FIELD = Field(
    "no", create_only=True, required=False, help_text=NEW_NO_HELP, importance="promoted"
)
# Sales documents (orders and posted invoices) show their customer, items and totals alike.
SELL_TO_CUSTOMER_NO_COLUMN = Column(
    "customer__no", label="Sell-to Customer No.", link=lambda d: _customer_url(d.customer_id)
)
SELL_TO_CUSTOMER_NO_FIELD = Field(
    "customer", label="Sell-to Customer No.", link=lambda d: _customer_url(d.customer_id)
)
LINE_ITEM_FIELD = Field("item", link=lambda line: _item_url(line.item_id))
DOCUMENT_TOTALS = [
    Total("Subtotal Excl. VAT", "amount"),
    Total("Total VAT", "vat_amount"),
    Total("Total Incl. VAT", "amount_including_vat"),
]
OPEN_CUSTOMER_ACTION = Action(
    key="customer", label="Customer", url=lambda d, r: _customer_url(d.customer_id)
)


# -- FactBoxes ------------------------------------------------------------------------------


def _customer_statistics(customer_of):
    def rows(request: HttpRequest, obj: Any) -> list[FactRow]:
        customer = customer_of(obj)
        orders = SalesOrder.objects.filter(company=request.company, customer=customer).aggregate(
            count=Count("pk"), amount=Sum("amount_including_vat")
        )
        orders_url = _page("sales_order_list").list_url(customer=customer.no)
        entries_url = _page("customer_ledger_entries").list_url(customer=customer.no)
        return [
            FactRow("Customer No.", customer.no, _customer_url(customer.pk)),
            FactRow("Balance (LCY)", customer.balance, entries_url),
            FactRow("Credit Limit (LCY)", customer.credit_limit),
            FactRow("Sales Orders", orders["count"], orders_url, numeric=True),
            FactRow("Outstanding Orders (LCY)", orders["amount"] or ZERO),
        ]

    return FactBox(key="customer_statistics", title="Customer Statistics", rows=rows)


def _customer_details(request: HttpRequest, obj: Any) -> list[FactRow]:
    customer = obj.customer
    return [
        FactRow("Customer No.", customer.no, _customer_url(customer.pk)),
        FactRow("Name", customer.name),
        FactRow("Phone No.", customer.phone),
        FactRow("Email", customer.email),
        FactRow("City", customer.city),
    ]


def _item_details(request: HttpRequest, item: Item) -> list[FactRow]:
    on_orders = SalesOrderLine.objects.filter(order__company=request.company, item=item).aggregate(
        quantity=Sum("quantity")
    )["quantity"]
    entries_url = _page("item_ledger_entries").list_url(item=item.no)
    return [
        FactRow("Item No.", item.no, _item_url(item.pk)),
        FactRow("Inventory", item.inventory.normalize(), entries_url, numeric=True),
        FactRow("Qty. on Sales Order", (on_orders or ZERO).normalize(), numeric=True),
        FactRow("Unit Price", item.unit_price),
        FactRow("Unit Cost", item.unit_cost),
    ]


CUSTOMER_STATISTICS = _customer_statistics(lambda customer: customer)
SELL_TO_CUSTOMER = FactBox(key="sell_to_customer", title="Sell-to Customer", rows=_customer_details)
SELL_TO_CUSTOMER_STATISTICS = _customer_statistics(lambda document: document.customer)
SELL_TO_FACTBOXES = [SELL_TO_CUSTOMER, SELL_TO_CUSTOMER_STATISTICS]
ITEM_DETAILS = FactBox(key="item_details", title="Item Details", rows=_item_details)


# -- Customers ------------------------------------------------------------------------------

registry.register_page(
    ListPage(
        key="customer_list",
        title="Customers",
        model=Customer,
        slug="customers",
        nav_group="Sales",
        nav_order=10,
        card_page="customer_card",
        columns=[
            Column("no"),
            Column("name"),
            Column("city"),
            Column("post_code", label="Post Code"),
            Column("phone"),
            Column("salesperson_code"),
            Column("blocked"),
            Column("credit_limit"),
            Column("balance"),
        ],
        search_fields=["no", "name", "city", "email", "phone"],
        filters=[
            NO_FILTER,
            Filter("name"),
            Filter("city"),
            Filter("blocked"),
            Filter("salesperson_code"),
            Filter("country", label="Country/Region Code"),
            Filter("credit_limit"),
            Filter("balance"),
        ],
        default_sort="no",
        bulk_delete=True,
        lookup=Lookup(key="no", contains=["name"]),
        factboxes=[CUSTOMER_STATISTICS],
    )
)

registry.register_page(
    CardPage(
        key="customer_card",
        title="Customer Card",
        entity="Customer",
        model=Customer,
        slug="customers",
        list_page="customer_list",
        record_title=lambda c: f"{c.no} · {c.name}",
        readonly_reason=actions.record_readonly_reason,
        fasttabs=[
            FastTab(
                "general",
                "General",
                [
                    NEW_NO_FIELD,
                    Field("name", importance="promoted"),
                    Field("balance", importance="promoted"),
                    Field("credit_limit"),
                    Field("blocked"),
                    Field("salesperson_code", importance="additional"),
                ],
            ),
            FastTab(
                "address",
                "Address & Contact",
                [
                    Field("address"),
                    Field("city", importance="promoted"),
                    Field("post_code", label="Post Code"),
                    Field("country"),
                    Field("phone", importance="promoted"),
                    Field("email", label="Email"),
                ],
            ),
        ],
        create=actions.customer_create,
        update=actions.customer_update,
        delete=actions.customer_delete,
        action_groups=[
            ActionGroup(
                "new_document",
                "New Document",
                [
                    Action(
                        key="new_sales_order",
                        label="Sales Order",
                        url=lambda c, r: _page("sales_order").new_url(customer=c.no),
                        enabled=lambda c, r: c.blocked != Customer.Blocked.ALL,
                    )
                ],
            ),
            ActionGroup(
                "related",
                "Related",
                [
                    Action(
                        key="sales_orders",
                        label="Sales Orders",
                        url=_list_of("sales_order_list", "customer", lambda c: c.no),
                    ),
                    Action(
                        key="posted_invoices",
                        label="Posted Sales Invoices",
                        url=_list_of("posted_sales_invoice_list", "customer", lambda c: c.no),
                    ),
                    Action(
                        key="ledger_entries",
                        label="Ledger Entries",
                        url=_list_of("customer_ledger_entries", "customer", lambda c: c.no),
                    ),
                ],
            ),
        ],
        factboxes=[CUSTOMER_STATISTICS],
    )
)


# -- Items ----------------------------------------------------------------------------------

registry.register_page(
    ListPage(
        key="item_list",
        title="Items",
        model=Item,
        slug="items",
        nav_group="Inventory",
        nav_order=10,
        card_page="item_card",
        columns=[
            Column("no"),
            Column("description"),
            Column("type"),
            Column("inventory"),
            Column("base_unit_of_measure"),
            Column("unit_price"),
            Column("unit_cost"),
            Column("blocked"),
        ],
        search_fields=["no", "description"],
        filters=[
            NO_FILTER,
            Filter("description"),
            Filter("type"),
            Filter("blocked"),
            Filter("base_unit_of_measure"),
            Filter("inventory"),
            Filter("unit_price"),
        ],
        default_sort="no",
        bulk_delete=True,
        lookup=Lookup(key="no", contains=["description"]),
        factboxes=[ITEM_DETAILS],
    )
)

registry.register_page(
    CardPage(
        key="item_card",
        title="Item Card",
        entity="Item",
        model=Item,
        slug="items",
        list_page="item_list",
        record_title=lambda i: f"{i.no} · {i.description}",
        readonly_reason=actions.record_readonly_reason,
        fasttabs=[
            FastTab(
                "general",
                "Item",
                [
                    NEW_NO_FIELD,
                    Field("description", importance="promoted"),
                    Field("type"),
                    Field("base_unit_of_measure", importance="promoted"),
                    Field("blocked"),
                ],
            ),
            FastTab("inventory", "Inventory", [Field("inventory")]),
            FastTab("prices", "Prices & Sales", [Field("unit_price"), Field("unit_cost")]),
        ],
        create=actions.item_create,
        update=actions.item_update,
        delete=actions.item_delete,
        actions=[
            Action(
                key="adjust_inventory",
                label="Adjust Inventory",
                handler=actions.item_adjust_inventory,
                form=actions.AdjustInventoryForm,
                initial=actions.adjust_inventory_initial,
                enabled=lambda i, r: i.type == Item.Type.INVENTORY and not i.blocked,
            )
        ],
        action_groups=[
            ActionGroup(
                "related",
                "Related",
                [
                    Action(
                        key="ledger_entries",
                        label="Ledger Entries",
                        url=_list_of("item_ledger_entries", "item", lambda i: i.no),
                    )
                ],
            )
        ],
        factboxes=[ITEM_DETAILS],
    )
)


# -- Sales orders ---------------------------------------------------------------------------


def _order_readonly_reason(order: SalesOrder) -> str | None:
    if order.is_editable:
        return None
    return (
        f"The status of sales order {order.no} is {order.get_status_display()}: "
        "it can be changed only while it is Open."
    )


def _order_title(order: SalesOrder) -> str:
    return f"{order.no} · {order.sell_to_customer_name}"


POST_QUESTION = "Do you want to post the order?"

registry.register_page(
    ListPage(
        key="sales_order_list",
        title="Sales Orders",
        model=SalesOrder,
        slug="sales-orders",
        nav_group="Sales",
        nav_order=20,
        card_page="sales_order",
        select_related=["customer"],
        columns=[
            Column("no"),
            SELL_TO_CUSTOMER_NO_COLUMN,
            Column("sell_to_customer_name"),
            Column("external_document_no"),
            Column("order_date"),
            Column("status"),
            Column("amount"),
            Column("amount_including_vat"),
        ],
        search_fields=["no", "sell_to_customer_name", "external_document_no", "customer__no"],
        filters=[
            NO_FILTER,
            Filter("status"),
            SELL_TO_CUSTOMER_NO_FILTER,
            Filter("sell_to_customer_name"),
            Filter("external_document_no"),
            Filter("order_date"),
            Filter("posting_date"),
            Filter("amount_including_vat"),
        ],
        default_sort="no",
        bulk_delete=True,
        actions=[
            Action(key="release", label="Release", handler=actions.release_selected, scope="list"),
            Action(key="reopen", label="Reopen", handler=actions.reopen_selected, scope="list"),
            Action(
                key="post",
                label="Post",
                handler=actions.post_selected,
                scope="list",
                confirm="Do you want to post the selected orders?",
            ),
        ],
        factboxes=SELL_TO_FACTBOXES,
    )
)

registry.register_page(
    DocumentPage(
        key="sales_order",
        title="Sales Order",
        entity="Sales Order",
        model=SalesOrder,
        slug="sales-orders",
        list_page="sales_order_list",
        select_related=["customer"],
        record_title=_order_title,
        readonly_reason=_order_readonly_reason,
        fasttabs=[
            FastTab(
                "general",
                "General",
                [
                    Field("no", create_only=True, required=False, help_text=NEW_NO_HELP),
                    SELL_TO_CUSTOMER_NO_FIELD,
                    Field("sell_to_customer_name", readonly=True, importance="promoted"),
                    Field(
                        "order_date",
                        required=False,
                        initial=timezone.localdate,
                        importance="promoted",
                    ),
                    # Rarely changed on an order (it starts as today), so BC keeps it
                    # under "Show more".
                    Field(
                        "posting_date",
                        required=False,
                        initial=timezone.localdate,
                        importance="additional",
                    ),
                    Field("due_date", help_text="Leave blank for 30 days after the order date."),
                    Field("external_document_no", importance="promoted"),
                    Field("status", readonly=True, importance="promoted"),
                ],
            ),
            FastTab(
                "invoice_details",
                "Invoice Details",
                [
                    Field("vat_percent", readonly=True),
                    Field("amount", importance="promoted"),
                    Field("amount_including_vat", importance="promoted"),
                ],
            ),
        ],
        lines=LinesPart(
            model=SalesOrderLine,
            relation="lines",
            select_related=["item"],
            columns=[
                Field("type", readonly=True),
                LINE_ITEM_FIELD,
                Field("description", required=False),
                Field("quantity"),
                Field("unit_of_measure", readonly=True),
                Field("unit_price", required=False),
                Field("line_discount_percent", required=False),
                Field("line_amount"),
            ],
            add=actions.sales_line_add,
            update=actions.sales_line_update,
            delete=actions.sales_line_delete,
            refresh=["amount", "amount_including_vat"],
        ),
        totals=DOCUMENT_TOTALS,
        create=actions.sales_order_create,
        update=actions.sales_order_update,
        delete=actions.sales_order_delete,
        actions=[
            Action(
                key="release",
                label="Release",
                handler=actions.sales_order_release,
                enabled=actions.order_can("can_release"),
            ),
            Action(
                key="reopen",
                label="Reopen",
                handler=actions.sales_order_reopen,
                enabled=actions.order_can("can_reopen"),
            ),
            Action(
                key="post",
                label="Post",
                handler=actions.sales_order_post,
                enabled=actions.order_can("can_post"),
                confirm=POST_QUESTION,
                primary=True,
            ),
        ],
        action_groups=[
            ActionGroup(
                "related",
                "Related",
                [
                    OPEN_CUSTOMER_ACTION,
                    Action(
                        key="customer_orders",
                        label="Customer's Sales Orders",
                        url=_list_of("sales_order_list", "customer", lambda o: o.customer.no),
                    ),
                ],
            )
        ],
        factboxes=SELL_TO_FACTBOXES,
    )
)

# A custom action (AL's customaction): Notify warehouse in the order's Process group runs the
# company's flow whose key is notify-warehouse (the demo ships it). Power Automate resolves
# the declaration; records never imports it.
registry.register_custom_action(
    "sales_order",
    "process",
    FlowAction(key="notify-warehouse", label="Notify warehouse", flow="notify-warehouse"),
)


# -- Posted sales invoices ------------------------------------------------------------------

registry.register_page(
    ListPage(
        key="posted_sales_invoice_list",
        title="Posted Sales Invoices",
        model=PostedSalesInvoice,
        slug="posted-sales-invoices",
        nav_group="Sales",
        nav_order=30,
        card_page="posted_sales_invoice",
        select_related=["customer"],
        columns=[
            Column("no"),
            SELL_TO_CUSTOMER_NO_COLUMN,
            Column("sell_to_customer_name"),
            Column("order_no"),
            Column("posting_date"),
            Column("due_date"),
            Column("amount"),
            Column("amount_including_vat"),
        ],
        search_fields=["no", "sell_to_customer_name", "order_no", "external_document_no"],
        filters=[
            SELL_TO_CUSTOMER_NO_FILTER,
            Filter("posting_date"),
            NO_FILTER,
            Filter("order_no", normalize=str.upper),
        ],
        default_sort="no",
        factboxes=SELL_TO_FACTBOXES,
    )
)

registry.register_page(
    DocumentPage(
        key="posted_sales_invoice",
        title="Posted Sales Invoice",
        entity="Posted Sales Invoice",
        model=PostedSalesInvoice,
        slug="posted-sales-invoices",
        list_page="posted_sales_invoice_list",
        select_related=["customer"],
        record_title=_order_title,
        fasttabs=[
            FastTab(
                "general",
                "General",
                [
                    Field("no"),
                    SELL_TO_CUSTOMER_NO_FIELD,
                    Field("sell_to_customer_name"),
                    Field("order_no"),
                    Field("order_date"),
                    Field("posting_date"),
                    Field("due_date"),
                    Field("external_document_no"),
                ],
            ),
            FastTab(
                "invoice_details",
                "Invoice Details",
                [
                    Field("vat_percent"),
                    Field("amount"),
                    Field("amount_including_vat"),
                    Field("posted_at", label="Posted At"),
                ],
            ),
        ],
        lines=LinesPart(
            model=PostedSalesInvoiceLine,
            relation="lines",
            select_related=["item"],
            columns=[
                LINE_ITEM_FIELD,
                Field("description"),
                Field("quantity"),
                Field("unit_of_measure"),
                Field("unit_price"),
                Field("line_discount_percent"),
                Field("line_amount"),
            ],
        ),
        totals=DOCUMENT_TOTALS,
        action_groups=[
            ActionGroup(
                "related",
                "Related",
                [
                    OPEN_CUSTOMER_ACTION,
                    Action(
                        key="ledger_entries",
                        label="Customer Ledger Entries",
                        url=_list_of("customer_ledger_entries", "document_no", lambda i: i.no),
                    ),
                    Action(
                        key="item_ledger_entries",
                        label="Item Ledger Entries",
                        url=_list_of("item_ledger_entries", "document_no", lambda i: i.no),
                    ),
                ],
            )
        ],
        factboxes=SELL_TO_FACTBOXES,
    )
)


# -- Ledger entries (read-only lists) -------------------------------------------------------


def _invoice_link(entry: Any) -> str:
    return _page("posted_sales_invoice_list").list_url(no=entry.document_no)


registry.register_page(
    ListPage(
        key="customer_ledger_entries",
        title="Customer Ledger Entries",
        model=CustomerLedgerEntry,
        slug="customer-ledger-entries",
        nav_group="Finance",
        nav_order=10,
        select_related=["customer"],
        columns=[
            Column("pk", label="Entry No."),
            Column("posting_date"),
            Column("document_type"),
            Column("document_no", link=_invoice_link),
            Column(
                "customer__no", label="Customer No.", link=lambda e: _customer_url(e.customer_id)
            ),
            Column("description"),
            Column("amount"),
            Column("remaining_amount"),
            Column("due_date"),
            Column("open"),
        ],
        search_fields=["document_no", "description", "customer__no"],
        filters=[
            Filter("customer", label="Customer No.", lookup="customer__no", normalize=str.upper),
            Filter("document_type"),
            Filter("document_no", normalize=str.upper),
            Filter("open"),
            Filter("posting_date"),
        ],
        default_sort="-pk",
    )
)

registry.register_page(
    ListPage(
        key="item_ledger_entries",
        title="Item Ledger Entries",
        model=ItemLedgerEntry,
        slug="item-ledger-entries",
        nav_group="Inventory",
        nav_order=20,
        select_related=["item"],
        columns=[
            Column("pk", label="Entry No."),
            Column("posting_date"),
            Column("entry_type"),
            Column("document_no"),
            Column("item__no", label="Item No.", link=lambda e: _item_url(e.item_id)),
            Column("description"),
            Column("quantity"),
            Column("sales_amount"),
            Column("cost_amount"),
        ],
        search_fields=["document_no", "description", "item__no"],
        filters=[
            Filter("item", label="Item No.", lookup="item__no", normalize=str.upper),
            Filter("entry_type"),
            Filter("document_no", normalize=str.upper),
            Filter("posting_date"),
        ],
        default_sort="-pk",
    )
)
