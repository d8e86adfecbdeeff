"""The records tables as flows and the API see them: BC's table numbers, API names, operations.

The operations take fields by API name (``displayName``, ``customerNumber``), turn them into
the services' arguments and call the services, which decide and refuse as everywhere else.
References are looked up in the record's company only, so another company's customer is
"does not exist". Imported by ``RecordsConfig.ready``.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError

from bcsite.registry import Table, TableField, registry
from records import services
from records.models import (
    Company,
    Customer,
    CustomerLedgerEntry,
    Item,
    ItemLedgerEntry,
    PostedSalesInvoice,
    SalesOrder,
    SalesOrderLine,
)


def _id(attribute: str = "system_id") -> TableField:
    return TableField("id", attribute, "Id", "uuid")


def _modified() -> TableField:
    return TableField("lastModifiedDateTime", "last_modified", "Last Modified", "datetime")


CUSTOMER_FIELDS = (
    _id(),
    TableField("number", "no", "No.", writable=True),
    TableField("displayName", "name", "Name", writable=True),
    TableField("addressLine1", "address", "Address", writable=True),
    TableField("city", "city", "City", writable=True),
    TableField("postalCode", "post_code", "Post Code", writable=True),
    TableField("country", "country", "Country/Region Code", writable=True),
    TableField("phoneNumber", "phone", "Phone No.", writable=True),
    TableField("email", "email", "Email", writable=True),
    TableField("salespersonCode", "salesperson_code", "Salesperson Code", writable=True),
    TableField("creditLimit", "credit_limit", "Credit Limit (LCY)", "number", writable=True),
    TableField("balanceDue", "balance", "Balance (LCY)", "number"),
    TableField("blocked", "blocked", "Blocked", "option", writable=True),
    _modified(),
)

ITEM_FIELDS = (
    _id(),
    TableField("number", "no", "No.", writable=True),
    TableField("displayName", "description", "Description", writable=True),
    TableField("type", "type", "Type", "option", writable=True),
    TableField(
        "baseUnitOfMeasureCode", "base_unit_of_measure", "Base Unit of Measure", writable=True
    ),
    TableField("unitPrice", "unit_price", "Unit Price", "number", writable=True),
    TableField("unitCost", "unit_cost", "Unit Cost", "number", writable=True),
    TableField("inventory", "inventory", "Inventory", "number"),
    TableField("blocked", "blocked", "Blocked", "boolean", writable=True),
    _modified(),
)

SALES_ORDER_FIELDS = (
    _id(),
    TableField("number", "no", "No.", writable=True),
    TableField(
        "externalDocumentNumber", "external_document_no", "External Document No.", writable=True
    ),
    TableField("orderDate", "order_date", "Order Date", "date", writable=True),
    TableField("postingDate", "posting_date", "Posting Date", "date", writable=True),
    TableField("dueDate", "due_date", "Due Date", "date", writable=True),
    TableField("customerId", "customer__system_id", "Sell-to Customer Id", "uuid", writable=True),
    TableField("customerNumber", "customer__no", "Sell-to Customer No.", writable=True),
    TableField("customerName", "sell_to_customer_name", "Sell-to Customer Name"),
    TableField("currencyCode", "company__currency_code", "Currency Code"),
    TableField("status", "status", "Status", "option"),
    TableField("taxPercent", "vat_percent", "VAT %", "number"),
    TableField("totalAmountExcludingTax", "amount", "Amount", "number"),
    TableField("totalTaxAmount", "vat_amount", "VAT Amount", "number"),
    TableField("totalAmountIncludingTax", "amount_including_vat", "Amount Including VAT", "number"),
    _modified(),
)

SALES_ORDER_LINE_FIELDS = (
    _id(),
    TableField("documentId", "order__system_id", "Document Id", "uuid", writable=True),
    TableField("documentNumber", "order__no", "Document No."),
    TableField("sequence", "line_no", "Line No.", "integer"),
    TableField("lineType", "type", "Type", "option"),
    TableField("itemId", "item__system_id", "Item Id", "uuid", writable=True),
    TableField("lineObjectNumber", "item__no", "No.", writable=True),
    TableField("description", "description", "Description", writable=True),
    TableField("unitOfMeasureCode", "unit_of_measure", "Unit of Measure"),
    TableField("quantity", "quantity", "Quantity", "number", writable=True),
    TableField("unitPrice", "unit_price", "Unit Price Excl. VAT", "number", writable=True),
    TableField(
        "discountPercent", "line_discount_percent", "Line Discount %", "number", writable=True
    ),
    TableField("amountExcludingTax", "line_amount", "Line Amount Excl. VAT", "number"),
    _modified(),
)

SALES_INVOICE_FIELDS = (
    _id(),
    TableField("number", "no", "No."),
    TableField("externalDocumentNumber", "external_document_no", "External Document No."),
    TableField("invoiceDate", "posting_date", "Invoice Date", "date"),
    TableField("postingDate", "posting_date", "Posting Date", "date"),
    TableField("dueDate", "due_date", "Due Date", "date"),
    TableField("orderNumber", "order_no", "Order No."),
    TableField("customerId", "customer__system_id", "Sell-to Customer Id", "uuid"),
    TableField("customerNumber", "customer__no", "Sell-to Customer No."),
    TableField("customerName", "sell_to_customer_name", "Sell-to Customer Name"),
    TableField("currencyCode", "company__currency_code", "Currency Code"),
    TableField("taxPercent", "vat_percent", "VAT %", "number"),
    TableField("totalAmountExcludingTax", "amount", "Amount", "number"),
    TableField("totalTaxAmount", "vat_amount", "VAT Amount", "number"),
    TableField("totalAmountIncludingTax", "amount_including_vat", "Amount Including VAT", "number"),
    _modified(),
)

# Ledger entries have no system id: their entry number identifies them.
CUSTOMER_LEDGER_ENTRY_FIELDS = (
    TableField("id", "pk", "Entry No.", "integer"),
    TableField("entryNumber", "pk", "Entry No.", "integer"),
    TableField("customerId", "customer__system_id", "Customer Id", "uuid"),
    TableField("customerNumber", "customer__no", "Customer No."),
    TableField("postingDate", "posting_date", "Posting Date", "date"),
    TableField("documentType", "document_type", "Document Type", "option"),
    TableField("documentNumber", "document_no", "Document No."),
    TableField("description", "description", "Description"),
    TableField("amount", "amount", "Amount", "number"),
    TableField("remainingAmount", "remaining_amount", "Remaining Amount", "number"),
    TableField("dueDate", "due_date", "Due Date", "date"),
    TableField("open", "open", "Open", "boolean"),
)

ITEM_LEDGER_ENTRY_FIELDS = (
    TableField("id", "pk", "Entry No.", "integer"),
    TableField("entryNumber", "pk", "Entry No.", "integer"),
    TableField("itemId", "item__system_id", "Item Id", "uuid"),
    TableField("itemNumber", "item__no", "Item No."),
    TableField("postingDate", "posting_date", "Posting Date", "date"),
    TableField("entryType", "entry_type", "Entry Type", "option"),
    TableField("documentNumber", "document_no", "Document No."),
    TableField("description", "description", "Description"),
    TableField("quantity", "quantity", "Quantity", "number"),
    TableField("salesAmountActual", "sales_amount", "Sales Amount (Actual)", "number"),
    TableField("costAmountActual", "cost_amount", "Cost Amount (Actual)", "number"),
)


# -- References -------------------------------------------------------------------------------


_NOT_GIVEN: Any = object()


def _reference(
    values: dict, *, table: Table, company: Company, relation: str, api_names: tuple[str, str]
) -> Any:
    """The record that ``<relation>__system_id`` or ``<relation>__no`` names, in the company.

    Returns ``_NOT_GIVEN`` when neither is among ``values``; both are removed from it.
    """
    found = _NOT_GIVEN
    for attribute, api_name in zip(
        (f"{relation}__system_id", f"{relation}__no"), api_names, strict=True
    ):
        if attribute not in values:
            continue
        key = values.pop(attribute)
        record = table.get(company, key) if key not in (None, "") else None
        if key not in (None, "") and record is None:
            raise ValidationError({api_name: [f"{table.name} {key} does not exist."]})
        if found is not _NOT_GIVEN and record != found:
            raise ValidationError(
                {api_name: [f"{api_names[0]} and {api_names[1]} name different records."]}
            )
        found = record
    return found


def _customer(values: dict, company: Company) -> Any:
    return _reference(
        values,
        table=CUSTOMERS,
        company=company,
        relation="customer",
        api_names=("customerId", "customerNumber"),
    )


def _item(values: dict, company: Company) -> Any:
    return _reference(
        values,
        table=ITEMS,
        company=company,
        relation="item",
        api_names=("itemId", "lineObjectNumber"),
    )


# -- Customers and items ------------------------------------------------------------------


def customer_create_from_api(company: Company, user: Any, fields: dict) -> Customer:
    values = CUSTOMERS.values_from_api(fields)
    return services.customer_create(company=company, user=user, **values)


def customer_update_from_api(customer: Customer, user: Any, fields: dict) -> Customer:
    values = CUSTOMERS.values_from_api(fields)
    return services.customer_update(customer=customer, user=user, **values)


def customer_delete_from_api(customer: Customer, user: Any) -> None:
    services.customer_delete(customer=customer, user=user)


def item_create_from_api(company: Company, user: Any, fields: dict) -> Item:
    return services.item_create(company=company, user=user, **ITEMS.values_from_api(fields))


def item_update_from_api(item: Item, user: Any, fields: dict) -> Item:
    return services.item_update(item=item, user=user, **ITEMS.values_from_api(fields))


def item_delete_from_api(item: Item, user: Any) -> None:
    services.item_delete(item=item, user=user)


# -- Sales orders and their lines -----------------------------------------------------------


def sales_order_create_from_api(company: Company, user: Any, fields: dict) -> SalesOrder:
    values = SALES_ORDERS.values_from_api(fields)
    customer = _customer(values, company)
    return services.sales_order_create(
        company=company,
        user=user,
        customer=None if customer is _NOT_GIVEN else customer,
        **values,
    )


def sales_order_update_from_api(order: SalesOrder, user: Any, fields: dict) -> SalesOrder:
    values = SALES_ORDERS.values_from_api(fields)
    customer = _customer(values, order.company)
    if customer is not _NOT_GIVEN:
        values["customer"] = customer
    return services.sales_order_update(order=order, user=user, **values)


def sales_order_delete_from_api(order: SalesOrder, user: Any) -> None:
    services.sales_order_delete(order=order, user=user)


def sales_order_line_create_from_api(company: Company, user: Any, fields: dict) -> SalesOrderLine:
    values = SALES_ORDER_LINES.values_from_api(fields)
    order_key = values.pop("order__system_id", None)
    order = SALES_ORDERS.get(company, order_key)
    if order is None:
        message = (
            f"Sales Order {order_key} does not exist."
            if order_key not in (None, "")
            else "Document Id (documentId) must have a value: the id of the sales order."
        )
        raise ValidationError({"documentId": [message]})
    item = _item(values, company)
    if "quantity" not in values:
        raise ValidationError({"quantity": ["Quantity must have a value."]})
    return services.sales_order_line_add(
        order=order, user=user, item=None if item is _NOT_GIVEN else item, **values
    )


def sales_order_line_update_from_api(
    line: SalesOrderLine, user: Any, fields: dict
) -> SalesOrderLine:
    values = SALES_ORDER_LINES.values_from_api(fields)
    order_key = values.pop("order__system_id", None)
    if order_key not in (None, "") and str(order_key) != str(line.order.system_id):
        # Handing the order on lets the service refuse the move with its own message.
        values["order"] = SALES_ORDERS.get(line.order.company, order_key)
    item = _item(values, line.order.company)
    if item is not _NOT_GIVEN:
        values["item"] = item
    return services.sales_order_line_update(line=line, user=user, **values)


def sales_order_line_delete_from_api(line: SalesOrderLine, user: Any) -> None:
    services.sales_order_line_delete(line=line, user=user)


def _sales_order_release(order: SalesOrder, user: Any) -> SalesOrder:
    return services.sales_order_release(order=order, user=user)


def _sales_order_reopen(order: SalesOrder, user: Any) -> SalesOrder:
    return services.sales_order_reopen(order=order, user=user)


def _sales_order_post(order: SalesOrder, user: Any) -> PostedSalesInvoice:
    return services.sales_order_post(order=order, user=user)


# -- Pages ------------------------------------------------------------------------------------


def _order_page_url(line: SalesOrderLine) -> str:
    return registry.pages["sales_order"].card_url(line.order_id)


def _customer_entry_url(entry: CustomerLedgerEntry) -> str:
    return registry.pages["customer_ledger_entries"].list_url(
        customer=entry.customer.no, document_no=entry.document_no
    )


def _item_entry_url(entry: ItemLedgerEntry) -> str:
    return registry.pages["item_ledger_entries"].list_url(
        item=entry.item.no, document_no=entry.document_no
    )


# -- The tables -------------------------------------------------------------------------------

CUSTOMERS = registry.register_table(
    18,
    "Customer",
    Customer,
    entity="customer",
    entity_set="customers",
    fields=CUSTOMER_FIELDS,
    number_field="no",
    display_field="name",
    page_key="customer_card",
    create=customer_create_from_api,
    update=customer_update_from_api,
    delete=customer_delete_from_api,
)
ITEMS = registry.register_table(
    27,
    "Item",
    Item,
    entity="item",
    entity_set="items",
    fields=ITEM_FIELDS,
    number_field="no",
    display_field="description",
    page_key="item_card",
    create=item_create_from_api,
    update=item_update_from_api,
    delete=item_delete_from_api,
)
SALES_ORDERS = registry.register_table(
    36,
    "Sales Header",
    SalesOrder,
    entity="salesOrder",
    entity_set="salesOrders",
    fields=SALES_ORDER_FIELDS,
    number_field="no",
    display_field="no",
    page_key="sales_order",
    create=sales_order_create_from_api,
    update=sales_order_update_from_api,
    delete=sales_order_delete_from_api,
    actions={
        "release": _sales_order_release,
        "reopen": _sales_order_reopen,
        "post": _sales_order_post,
    },
)
SALES_ORDER_LINES = registry.register_table(
    37,
    "Sales Line",
    SalesOrderLine,
    entity="salesOrderLine",
    entity_set="salesOrderLines",
    fields=SALES_ORDER_LINE_FIELDS,
    display_field="description",
    company_field="order__company",
    page_key="sales_order",
    page_url=_order_page_url,
    create=sales_order_line_create_from_api,
    update=sales_order_line_update_from_api,
    delete=sales_order_line_delete_from_api,
)
SALES_INVOICES = registry.register_table(
    112,
    "Sales Invoice Header",
    PostedSalesInvoice,
    entity="salesInvoice",
    entity_set="salesInvoices",
    fields=SALES_INVOICE_FIELDS,
    number_field="no",
    display_field="no",
    page_key="posted_sales_invoice",
)
CUSTOMER_LEDGER_ENTRIES = registry.register_table(
    21,
    "Cust. Ledger Entry",
    CustomerLedgerEntry,
    entity="customerLedgerEntry",
    entity_set="customerLedgerEntries",
    fields=CUSTOMER_LEDGER_ENTRY_FIELDS,
    id_field="pk",
    number_field="pk",
    display_field="description",
    page_key="customer_ledger_entries",
    page_url=_customer_entry_url,
)
ITEM_LEDGER_ENTRIES = registry.register_table(
    32,
    "Item Ledger Entry",
    ItemLedgerEntry,
    entity="itemLedgerEntry",
    entity_set="itemLedgerEntries",
    fields=ITEM_LEDGER_ENTRY_FIELDS,
    id_field="pk",
    number_field="pk",
    display_field="description",
    page_key="item_ledger_entries",
    page_url=_item_entry_url,
)
