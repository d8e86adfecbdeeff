"""Django admin for the business data: a back office for administrators.

Superusers see every company; other staff see the companies they administer.
Customers, items and sales orders are saved and deleted through the services, so
the admin keeps the same rules as the pages and the API; posted documents and
ledger entries are read-only, as in BC.
"""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db import models
from django.http import HttpResponseRedirect

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
from records.services import (
    customer_create,
    customer_delete,
    customer_update,
    item_create,
    item_delete,
    item_update,
    sales_order_create,
    sales_order_delete,
    sales_order_line_add,
    sales_order_line_delete,
    sales_order_line_update,
    sales_order_post,
    sales_order_release,
    sales_order_reopen,
    sales_order_update,
)
from records.services.customers import CUSTOMER_FIELDS
from records.services.items import ITEM_FIELDS
from records.services.sales_orders import ORDER_FIELDS

# Lists only the companies whose rows the user can see.
COMPANY_FILTER = ("company", admin.RelatedOnlyFieldListFilter)
BLANK_NO_HELP = "Leave blank to take the next number from the number series."


def administered_companies(request) -> models.QuerySet:
    return Company.objects.filter(
        memberships__user=request.user, memberships__role=Membership.Role.ADMIN
    )


class CompanyScopedAdmin(admin.ModelAdmin):
    """Rows of the companies the staff user administers (all of them for superusers)."""

    company_lookup = "company"
    list_per_page = 50

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        if request.user.is_superuser:
            return queryset
        return queryset.filter(**{f"{self.company_lookup}__in": administered_companies(request)})

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if not request.user.is_superuser:
            companies = administered_companies(request)
            model = db_field.related_model
            if model is Company:
                kwargs["queryset"] = companies
            elif model in (Customer, Item, SalesOrder):
                kwargs["queryset"] = model.objects.filter(company__in=companies)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


class ReadOnlyAdminMixin:
    """Posted documents and ledger entries change only by posting."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class ServiceAdmin(CompanyScopedAdmin):
    """Saves and deletes through the services; a refusal becomes an error message.

    The admin runs a save inside one transaction, so a refusal rolls back
    everything the request wrote before it is shown.
    """

    blank_no_allowed = True

    def get_actions(self, request):
        # Bulk delete would bypass the services' checks; delete one record at a time.
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    def get_readonly_fields(self, request, obj=None):
        readonly = list(super().get_readonly_fields(request, obj))
        if obj is not None and any(f.name == "company" for f in self.model._meta.fields):
            readonly.append("company")
        return readonly

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        if self.blank_no_allowed and "no" in form.base_fields:
            form.base_fields["no"].required = False
            form.base_fields["no"].help_text = BLANK_NO_HELP
        return form

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except ValidationError as exc:
            return self._refused(request, exc)

    def delete_view(self, request, object_id, extra_context=None):
        try:
            return super().delete_view(request, object_id, extra_context)
        except ValidationError as exc:
            return self._refused(request, exc)

    def _refused(self, request, exc: ValidationError):
        for message in exc.messages:
            self.message_user(request, message, messages.ERROR)
        return HttpResponseRedirect(request.get_full_path())

    @staticmethod
    def _create(request, obj, create, **fields) -> None:
        """Create through the service ``create``, then make the admin's unsaved ``obj`` the
        created row, for the admin's redirect and log."""
        created = create(company=obj.company, user=request.user, **fields)
        for field in created._meta.concrete_fields:
            setattr(obj, field.attname, getattr(created, field.attname))
        obj._state.adding = False
        obj._state.db = created._state.db


@admin.register(Company)
class CompanyAdmin(CompanyScopedAdmin):
    company_lookup = "pk"
    list_display = ["name", "display_name", "vat_percent", "currency_code", "created_at"]
    search_fields = ["name", "display_name"]
    readonly_fields = ["system_id", "created_at", "last_modified"]


@admin.register(Membership)
class MembershipAdmin(CompanyScopedAdmin):
    list_display = ["user", "company", "role"]
    list_filter = [COMPANY_FILTER, "role"]
    list_select_related = ["user", "company"]
    search_fields = ["user__username", "user__email", "company__name"]
    raw_id_fields = ["user"]


@admin.register(NoSeries)
class NoSeriesAdmin(CompanyScopedAdmin):
    list_display = ["code", "company", "description", "starting_no", "last_no_used", "increment_by"]
    list_filter = [COMPANY_FILTER]
    list_select_related = ["company"]
    search_fields = ["code", "description"]
    ordering = ["company", "code"]


@admin.register(Customer)
class CustomerAdmin(ServiceAdmin):
    list_display = ["no", "name", "company", "city", "phone", "blocked", "balance", "credit_limit"]
    list_filter = [COMPANY_FILTER, "blocked", "country"]
    list_select_related = ["company"]
    search_fields = ["no", "name", "city", "email", "phone"]
    readonly_fields = ["balance", "system_id", "last_modified"]

    def save_model(self, request, obj, form, change):
        if change:
            customer_update(customer=obj, user=request.user, **_changed(form, CUSTOMER_FIELDS))
        else:
            self._create(request, obj, customer_create, **_only(form.cleaned_data, CUSTOMER_FIELDS))

    def delete_model(self, request, obj):
        customer_delete(customer=obj, user=request.user)


@admin.register(Item)
class ItemAdmin(ServiceAdmin):
    list_display = ["no", "description", "company", "type", "unit_price", "inventory", "blocked"]
    list_filter = [COMPANY_FILTER, "type", "blocked"]
    list_select_related = ["company"]
    search_fields = ["no", "description"]
    readonly_fields = ["inventory", "system_id", "last_modified"]

    def save_model(self, request, obj, form, change):
        if change:
            item_update(item=obj, user=request.user, **_changed(form, ITEM_FIELDS))
        else:
            self._create(request, obj, item_create, **_only(form.cleaned_data, ITEM_FIELDS))

    def delete_model(self, request, obj):
        item_delete(item=obj, user=request.user)


class SalesOrderLineForm(forms.ModelForm):
    class Meta:
        model = SalesOrderLine
        fields = ["item", "description", "quantity", "unit_price", "line_discount_percent"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Left blank, the price comes from the item.
        self.fields["unit_price"].required = False


class SalesOrderLineInline(admin.TabularInline):
    model = SalesOrderLine
    form = SalesOrderLineForm
    fields = [
        "line_no",
        "item",
        "description",
        "quantity",
        "unit_of_measure",
        "unit_price",
        "line_discount_percent",
        "line_amount",
    ]
    readonly_fields = ["line_no", "unit_of_measure", "line_amount"]
    raw_id_fields = ["item"]
    extra = 1

    # Lines of released or pending orders are read-only until the order is reopened.
    def has_add_permission(self, request, obj=None):
        return (obj is None or obj.is_editable) and super().has_add_permission(request, obj)

    def has_change_permission(self, request, obj=None):
        return (obj is None or obj.is_editable) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return (obj is None or obj.is_editable) and super().has_delete_permission(request, obj)


@admin.register(SalesOrder)
class SalesOrderAdmin(ServiceAdmin):
    list_display = [
        "no",
        "sell_to_customer_name",
        "company",
        "order_date",
        "status",
        "amount",
        "amount_including_vat",
    ]
    list_filter = [COMPANY_FILTER, "status", "order_date"]
    list_select_related = ["company"]
    search_fields = ["no", "sell_to_customer_name", "customer__no", "external_document_no"]
    date_hierarchy = "order_date"
    autocomplete_fields = ["customer"]
    fields = [
        "company",
        "no",
        "customer",
        "sell_to_customer_name",
        "order_date",
        "posting_date",
        "due_date",
        "external_document_no",
        "status",
        "vat_percent",
        "amount",
        "amount_including_vat",
        "created_by",
    ]
    readonly_fields = [
        "sell_to_customer_name",
        "status",
        "vat_percent",
        "amount",
        "amount_including_vat",
        "created_by",
    ]
    inlines = [SalesOrderLineInline]
    actions = ["release", "reopen", "post"]

    def get_readonly_fields(self, request, obj=None):
        if obj is not None and not obj.is_editable:
            return self.fields
        return super().get_readonly_fields(request, obj)

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        # Left blank, the dates default to today and the due date to 30 days later.
        for name in ("order_date", "posting_date"):
            if name in form.base_fields:
                form.base_fields[name].required = False
        return form

    def save_model(self, request, obj, form, change):
        if change:
            fields = _changed(form, ORDER_FIELDS | {"customer"})
            sales_order_update(order=obj, user=request.user, **fields)
        else:
            self._create(
                request,
                obj,
                sales_order_create,
                customer=form.cleaned_data["customer"],
                **_only(form.cleaned_data, ORDER_FIELDS),
            )

    def save_formset(self, request, form, formset, change):
        if formset.model is not SalesOrderLine:
            return super().save_formset(request, form, formset, change)
        order = form.instance
        for line_form in formset.deleted_forms:
            if line_form.instance.pk is not None:
                sales_order_line_delete(line=line_form.instance, user=request.user)
        for line_form in formset.forms:
            if line_form in formset.deleted_forms or not line_form.has_changed():
                continue
            data = {name: line_form.cleaned_data.get(name) for name in line_form.changed_data}
            if line_form.instance.pk is None:
                sales_order_line_add(
                    order=order,
                    user=request.user,
                    item=line_form.cleaned_data.get("item"),
                    quantity=line_form.cleaned_data.get("quantity"),
                    unit_price=line_form.cleaned_data.get("unit_price"),
                    line_discount_percent=line_form.cleaned_data.get("line_discount_percent") or 0,
                    description=line_form.cleaned_data.get("description"),
                )
            else:
                line_form.instance.order = order
                sales_order_line_update(line=line_form.instance, user=request.user, **data)
        # The formset's own bookkeeping (new_objects, ...) feeds the change message.
        formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []

    def delete_model(self, request, obj):
        sales_order_delete(order=obj, user=request.user)

    @admin.action(description="Release selected sales orders", permissions=["change"])
    def release(self, request, queryset):
        self._run_on_each(request, queryset, sales_order_release, "Released")

    @admin.action(description="Reopen selected sales orders", permissions=["change"])
    def reopen(self, request, queryset):
        self._run_on_each(request, queryset, sales_order_reopen, "Reopened")

    @admin.action(description="Post selected sales orders", permissions=["change"])
    def post(self, request, queryset):
        self._run_on_each(request, queryset, sales_order_post, "Posted")

    def _run_on_each(self, request, queryset, service, done: str) -> None:
        """Each order in its own transaction: one refusal does not undo the others."""
        done_nos = []
        for order in queryset.order_by("pk"):
            no = order.no
            try:
                service(order=order, user=request.user)
            except ValidationError as exc:
                self.message_user(request, " ".join(exc.messages), messages.ERROR)
            else:
                done_nos.append(no)
        if done_nos:
            self.message_user(request, f"{done}: {', '.join(done_nos)}.", messages.SUCCESS)


@admin.register(SalesOrderLine)
class SalesOrderLineAdmin(ServiceAdmin):
    """A searchable view of lines; they are added and changed on their order.

    Deleting stays allowed (through the service, which keeps the order's totals),
    since deleting an order deletes its lines and the admin asks for that right.
    """

    company_lookup = "order__company"
    list_display = ["order", "line_no", "item", "description", "quantity", "line_amount"]
    list_filter = [("order__company", admin.RelatedOnlyFieldListFilter), "order__status"]
    list_select_related = ["order", "item"]
    search_fields = ["order__no", "item__no", "description"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def delete_model(self, request, obj):
        sales_order_line_delete(line=obj, user=request.user)


class PostedSalesInvoiceLineInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = PostedSalesInvoiceLine
    fields = [
        "line_no",
        "item",
        "description",
        "quantity",
        "unit_of_measure",
        "unit_price",
        "line_discount_percent",
        "line_amount",
    ]
    readonly_fields = fields


@admin.register(PostedSalesInvoice)
class PostedSalesInvoiceAdmin(ReadOnlyAdminMixin, CompanyScopedAdmin):
    list_display = [
        "no",
        "order_no",
        "sell_to_customer_name",
        "company",
        "posting_date",
        "amount",
        "amount_including_vat",
    ]
    list_filter = [COMPANY_FILTER, "posting_date"]
    list_select_related = ["company"]
    search_fields = ["no", "order_no", "sell_to_customer_name", "external_document_no"]
    date_hierarchy = "posting_date"
    inlines = [PostedSalesInvoiceLineInline]


@admin.register(PostedSalesInvoiceLine)
class PostedSalesInvoiceLineAdmin(ReadOnlyAdminMixin, CompanyScopedAdmin):
    company_lookup = "invoice__company"
    list_display = ["invoice", "line_no", "item", "description", "quantity", "line_amount"]
    list_filter = [("invoice__company", admin.RelatedOnlyFieldListFilter)]
    list_select_related = ["invoice", "item"]
    search_fields = ["invoice__no", "item__no", "description"]


@admin.register(CustomerLedgerEntry)
class CustomerLedgerEntryAdmin(ReadOnlyAdminMixin, CompanyScopedAdmin):
    list_display = [
        "id",
        "posting_date",
        "document_type",
        "document_no",
        "customer",
        "amount",
        "remaining_amount",
        "due_date",
        "open",
    ]
    list_filter = [COMPANY_FILTER, "document_type", "open", "posting_date"]
    list_select_related = ["customer"]
    search_fields = ["document_no", "customer__no", "customer__name"]
    date_hierarchy = "posting_date"


@admin.register(ItemLedgerEntry)
class ItemLedgerEntryAdmin(ReadOnlyAdminMixin, CompanyScopedAdmin):
    list_display = [
        "id",
        "posting_date",
        "entry_type",
        "document_no",
        "item",
        "quantity",
        "sales_amount",
        "cost_amount",
    ]
    list_filter = [COMPANY_FILTER, "entry_type", "posting_date"]
    list_select_related = ["item"]
    search_fields = ["document_no", "item__no", "item__description"]
    date_hierarchy = "posting_date"


def _only(data: dict, names) -> dict:
    return {name: value for name, value in data.items() if name in names}


def _changed(form, names) -> dict:
    """What the user changed, so a value posted meanwhile (a balance) is never overwritten."""
    return {name: form.cleaned_data[name] for name in form.changed_data if name in names}
