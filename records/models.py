"""The business data: companies, number series, customers, items, sales orders, posting.

Model methods hold one row's own rules (``SalesOrder.is_editable``); anything that
touches several rows or the outside world is a service in ``records.services``.
"""

import uuid
from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models

ZERO = Decimal("0")
MONEY = {"max_digits": 18, "decimal_places": 2, "default": ZERO}
QUANTITY = {"max_digits": 18, "decimal_places": 5, "default": ZERO}
CENT = Decimal("0.01")
# The largest amount a MONEY column holds: 16 digits before the point, 2 after.
MONEY_LIMIT = Decimal("9999999999999999.99")


def round_amount(value: Decimal) -> Decimal:
    """Round to cents, halves away from zero, as BC's amount rounding precision does."""
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


class Company(models.Model):
    system_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    name = models.CharField(max_length=30, unique=True)
    display_name = models.CharField(max_length=250, blank=True)
    vat_percent = models.DecimalField(
        "VAT %",
        max_digits=5,
        decimal_places=2,
        default=Decimal("25"),
        validators=[MinValueValidator(ZERO)],
    )
    currency_code = models.CharField(max_length=10, default="USD")
    created_at = models.DateTimeField(auto_now_add=True)
    last_modified = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "companies"
        ordering = ["name"]

    def __str__(self) -> str:
        return self.display_name or self.name


class Membership(models.Model):
    """A user's access to a company. A user may work in several companies."""

    class Role(models.TextChoices):
        USER = "user", "User"
        ADMIN = "admin", "Administrator"

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.USER)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "company"], name="membership_unique")
        ]

    def __str__(self) -> str:
        return f"{self.user} @ {self.company}"


class CompanyOwned(models.Model):
    """Base for every business row: it belongs to one company."""

    company = models.ForeignKey(Company, on_delete=models.PROTECT, related_name="+")
    system_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    last_modified = models.DateTimeField(auto_now=True, db_index=True)

    class Meta:
        abstract = True


class NoSeries(models.Model):
    """BC's No. Series: hands out document and master-data numbers."""

    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="no_series")
    code = models.CharField(max_length=20)
    description = models.CharField(max_length=100, blank=True)
    starting_no = models.CharField(max_length=20)
    last_no_used = models.CharField(max_length=20, blank=True)
    increment_by = models.PositiveIntegerField(default=1)

    class Meta:
        verbose_name = "No. Series"
        verbose_name_plural = "No. Series"
        constraints = [
            models.UniqueConstraint(fields=["company", "code"], name="no_series_unique_code")
        ]

    def __str__(self) -> str:
        return self.code


class Customer(CompanyOwned):
    class Blocked(models.TextChoices):
        NONE = "", " "
        SHIP = "ship", "Ship"
        INVOICE = "invoice", "Invoice"
        ALL = "all", "All"

    no = models.CharField("No.", max_length=20)
    name = models.CharField(max_length=100)
    address = models.CharField(max_length=100, blank=True)
    city = models.CharField(max_length=30, blank=True)
    post_code = models.CharField(max_length=20, blank=True)
    country = models.CharField("Country/Region Code", max_length=10, blank=True)
    phone = models.CharField("Phone No.", max_length=30, blank=True)
    email = models.EmailField(blank=True)
    credit_limit = models.DecimalField(
        "Credit Limit (LCY)", validators=[MinValueValidator(ZERO)], **MONEY
    )
    blocked = models.CharField(max_length=10, choices=Blocked.choices, default="", blank=True)
    salesperson_code = models.CharField("Salesperson Code", max_length=20, blank=True)
    balance = models.DecimalField("Balance (LCY)", editable=False, **MONEY)

    class Meta:
        ordering = ["no"]
        constraints = [models.UniqueConstraint(fields=["company", "no"], name="customer_unique_no")]
        indexes = [
            models.Index(fields=["company", "name"]),
            models.Index(fields=["company", "city"]),
            models.Index(fields=["company", "blocked"]),
        ]

    def __str__(self) -> str:
        return f"{self.no} {self.name}"

    def blocked_reason(self, *, for_: str) -> str | None:
        """Why this customer cannot take part in ``for_`` ("order", "ship" or "invoice")."""
        if self.blocked == self.Blocked.ALL:
            return f"Customer {self.no} is blocked for all transactions."
        # Invoicing an order ships it too, so a shipping block also stops invoicing.
        if for_ in ("ship", "invoice") and self.blocked == self.Blocked.SHIP:
            return f"Customer {self.no} is blocked for shipping."
        if for_ == "invoice" and self.blocked == self.Blocked.INVOICE:
            return f"Customer {self.no} is blocked for invoicing."
        return None


class Item(CompanyOwned):
    class Type(models.TextChoices):
        INVENTORY = "inventory", "Inventory"
        SERVICE = "service", "Service"

    no = models.CharField("No.", max_length=20)
    description = models.CharField(max_length=100)
    type = models.CharField(max_length=10, choices=Type.choices, default=Type.INVENTORY)
    base_unit_of_measure = models.CharField("Base Unit of Measure", max_length=10, default="PCS")
    unit_price = models.DecimalField(validators=[MinValueValidator(ZERO)], **MONEY)
    unit_cost = models.DecimalField(validators=[MinValueValidator(ZERO)], **MONEY)
    inventory = models.DecimalField(editable=False, **QUANTITY)
    blocked = models.BooleanField(default=False)

    class Meta:
        ordering = ["no"]
        constraints = [models.UniqueConstraint(fields=["company", "no"], name="item_unique_no")]
        indexes = [
            models.Index(fields=["company", "description"]),
            models.Index(fields=["company", "blocked"]),
        ]

    def __str__(self) -> str:
        return f"{self.no} {self.description}"


class SalesOrder(CompanyOwned):
    class Status(models.TextChoices):
        OPEN = "open", "Open"
        PENDING_APPROVAL = "pending_approval", "Pending Approval"
        RELEASED = "released", "Released"

    no = models.CharField("No.", max_length=20)
    customer = models.ForeignKey(
        Customer,
        on_delete=models.PROTECT,
        related_name="sales_orders",
        verbose_name="Sell-to Customer",
    )
    sell_to_customer_name = models.CharField("Sell-to Customer Name", max_length=100, blank=True)
    order_date = models.DateField()
    posting_date = models.DateField()
    due_date = models.DateField(null=True, blank=True)
    external_document_no = models.CharField("External Document No.", max_length=35, blank=True)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.OPEN)
    vat_percent = models.DecimalField("VAT %", max_digits=5, decimal_places=2, default=ZERO)
    amount = models.DecimalField(editable=False, **MONEY)
    amount_including_vat = models.DecimalField("Amount Including VAT", editable=False, **MONEY)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["no"]
        constraints = [
            models.UniqueConstraint(fields=["company", "no"], name="sales_order_unique_no")
        ]
        indexes = [
            models.Index(fields=["company", "status", "no"]),
            models.Index(fields=["company", "order_date"]),
            models.Index(fields=["company", "sell_to_customer_name"]),
        ]

    def __str__(self) -> str:
        return f"Sales Order {self.no}"

    @property
    def is_editable(self) -> bool:
        """Released and pending documents are read-only until reopened."""
        return self.status == self.Status.OPEN

    # The can_* checks look at the status only, to enable buttons; the services
    # check everything else (lines, blocked customer and items) and still refuse.
    @property
    def can_release(self) -> bool:
        return self.status == self.Status.OPEN

    @property
    def can_reopen(self) -> bool:
        return self.status == self.Status.RELEASED

    @property
    def can_post(self) -> bool:
        # Posting releases an open order first, as BC does.
        return self.status in (self.Status.OPEN, self.Status.RELEASED)

    @property
    def vat_amount(self) -> Decimal:
        return self.amount_including_vat - self.amount

    @property
    def document_label(self) -> str:
        """How BC names the header in its messages."""
        return f"Sales Header: Document Type=Order, No.={self.no}"

    def compute_amount_including_vat(self, amount: Decimal) -> Decimal:
        return round_amount(amount * (Decimal("100") + (self.vat_percent or ZERO)) / 100)


class SalesOrderLine(models.Model):
    class Type(models.TextChoices):
        ITEM = "item", "Item"

    order = models.ForeignKey(SalesOrder, on_delete=models.CASCADE, related_name="lines")
    system_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    line_no = models.PositiveIntegerField("Line No.")
    type = models.CharField(max_length=10, choices=Type.choices, default=Type.ITEM)
    item = models.ForeignKey(Item, on_delete=models.PROTECT, related_name="+", verbose_name="No.")
    description = models.CharField(max_length=100, blank=True)
    quantity = models.DecimalField(validators=[MinValueValidator(ZERO)], **QUANTITY)
    unit_of_measure = models.CharField("Unit of Measure", max_length=10, blank=True)
    unit_price = models.DecimalField(
        "Unit Price Excl. VAT", validators=[MinValueValidator(ZERO)], **MONEY
    )
    line_discount_percent = models.DecimalField(
        "Line Discount %",
        max_digits=5,
        decimal_places=2,
        default=ZERO,
        validators=[MinValueValidator(ZERO)],
    )
    line_amount = models.DecimalField("Line Amount Excl. VAT", editable=False, **MONEY)
    last_modified = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["order", "line_no"]
        constraints = [
            models.UniqueConstraint(fields=["order", "line_no"], name="sales_line_unique_no")
        ]

    def __str__(self) -> str:
        return f"{self.order.no} line {self.line_no}"

    def compute_line_amount(self) -> Decimal:
        # BC rounds the gross amount and the discount amount each, then subtracts,
        # so the invoice shows a discount amount that adds up to the line amount.
        gross = round_amount((self.quantity or ZERO) * (self.unit_price or ZERO))
        discount = round_amount(gross * (self.line_discount_percent or ZERO) / Decimal("100"))
        return gross - discount


class PostedSalesInvoice(CompanyOwned):
    no = models.CharField("No.", max_length=20)
    order_no = models.CharField("Order No.", max_length=20, blank=True)
    customer = models.ForeignKey(
        Customer, on_delete=models.PROTECT, related_name="invoices", verbose_name="Sell-to Customer"
    )
    sell_to_customer_name = models.CharField("Sell-to Customer Name", max_length=100)
    order_date = models.DateField(null=True, blank=True)
    posting_date = models.DateField()
    due_date = models.DateField(null=True, blank=True)
    external_document_no = models.CharField("External Document No.", max_length=35, blank=True)
    vat_percent = models.DecimalField("VAT %", max_digits=5, decimal_places=2, default=ZERO)
    amount = models.DecimalField(**MONEY)
    amount_including_vat = models.DecimalField("Amount Including VAT", **MONEY)
    posted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    posted_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["no"]
        constraints = [
            models.UniqueConstraint(fields=["company", "no"], name="posted_invoice_unique_no")
        ]
        indexes = [models.Index(fields=["company", "posting_date"])]

    def __str__(self) -> str:
        return f"Posted Sales Invoice {self.no}"

    @property
    def vat_amount(self) -> Decimal:
        return self.amount_including_vat - self.amount


class PostedSalesInvoiceLine(models.Model):
    invoice = models.ForeignKey(PostedSalesInvoice, on_delete=models.CASCADE, related_name="lines")
    line_no = models.PositiveIntegerField("Line No.")
    item = models.ForeignKey(Item, on_delete=models.PROTECT, related_name="+", verbose_name="No.")
    description = models.CharField(max_length=100, blank=True)
    quantity = models.DecimalField(**QUANTITY)
    unit_of_measure = models.CharField("Unit of Measure", max_length=10, blank=True)
    unit_price = models.DecimalField("Unit Price Excl. VAT", **MONEY)
    line_discount_percent = models.DecimalField(
        "Line Discount %", max_digits=5, decimal_places=2, default=ZERO
    )
    line_amount = models.DecimalField("Line Amount Excl. VAT", **MONEY)

    class Meta:
        ordering = ["invoice", "line_no"]

    def __str__(self) -> str:
        return f"{self.invoice.no} line {self.line_no}"


class CustomerLedgerEntry(models.Model):
    class DocumentType(models.TextChoices):
        INVOICE = "invoice", "Invoice"
        PAYMENT = "payment", "Payment"
        CREDIT_MEMO = "credit_memo", "Credit Memo"

    company = models.ForeignKey(Company, on_delete=models.PROTECT, related_name="+")
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="ledger_entries")
    posting_date = models.DateField()
    document_type = models.CharField(max_length=20, choices=DocumentType.choices)
    document_no = models.CharField("Document No.", max_length=20)
    description = models.CharField(max_length=100, blank=True)
    amount = models.DecimalField(**MONEY)
    remaining_amount = models.DecimalField(**MONEY)
    due_date = models.DateField(null=True, blank=True)
    open = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name_plural = "customer ledger entries"
        ordering = ["-id"]
        indexes = [models.Index(fields=["company", "customer", "posting_date"])]

    def __str__(self) -> str:
        return f"Cust. Ledger Entry {self.pk}"

    @property
    def entry_no(self) -> int:
        return self.pk


class ItemLedgerEntry(models.Model):
    class EntryType(models.TextChoices):
        SALE = "sale", "Sale"
        PURCHASE = "purchase", "Purchase"
        POSITIVE_ADJMT = "positive_adjmt", "Positive Adjmt."
        NEGATIVE_ADJMT = "negative_adjmt", "Negative Adjmt."

    company = models.ForeignKey(Company, on_delete=models.PROTECT, related_name="+")
    item = models.ForeignKey(Item, on_delete=models.PROTECT, related_name="ledger_entries")
    posting_date = models.DateField()
    entry_type = models.CharField(max_length=20, choices=EntryType.choices)
    document_no = models.CharField("Document No.", max_length=20)
    description = models.CharField(max_length=100, blank=True)
    quantity = models.DecimalField(**QUANTITY)
    sales_amount = models.DecimalField("Sales Amount (Actual)", **MONEY)
    cost_amount = models.DecimalField("Cost Amount (Actual)", **MONEY)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name_plural = "item ledger entries"
        ordering = ["-id"]
        indexes = [models.Index(fields=["company", "item", "posting_date"])]

    def __str__(self) -> str:
        return f"Item Ledger Entry {self.pk}"

    @property
    def entry_no(self) -> int:
        return self.pk
