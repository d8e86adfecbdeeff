"""Forms built from page declarations: card and line ModelForms, list filters, service errors."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from decimal import Decimal
from functools import cache
from typing import Any
from urllib.parse import urlencode

from django import forms
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import models

from bcsite.pages.base import Field, field_label, resolve_model_field
from bcsite.pages.display import format_decimal
from bcsite.pages.site import lookup_page_for_model

# A datalist helps pick a related record by its No.; it never lists a whole table.
DATALIST_LIMIT = 100
SEARCH_MAX_LENGTH = 100


class RecordNoInput(forms.TextInput):
    """A text input for a record's No.; the page renders a bounded datalist next to it."""


class RecordNoField(forms.CharField):
    """A related record chosen by its No. (a customer, an item), within one company.

    BC lets people type the No. rather than scroll a list: with 100k customers a select
    could not list them all. ``queryset`` is set per request to the company's rows.
    """

    widget = RecordNoInput

    def __init__(self, *, model: type[models.Model], to_field: str = "no", **kwargs: Any):
        self.model = model
        self.to_field = to_field
        self.queryset = model._default_manager.none()
        kwargs.setdefault("max_length", model._meta.get_field(to_field).max_length)
        super().__init__(**kwargs)

    def prepare_value(self, value: Any) -> Any:
        if isinstance(value, models.Model):
            return getattr(value, self.to_field)
        return value

    def clean(self, value: Any) -> models.Model | None:
        text = super().clean(value)
        if not text:
            return None
        lookup = {f"{self.to_field}__iexact": text}
        record = self.queryset.filter(**lookup).order_by(self.to_field).first()
        if record is None:
            name = self.model._meta.verbose_name.title()
            raise ValidationError(f"There is no {name} with No. {text}.", code="invalid_choice")
        return record

    def has_changed(self, initial: Any, data: Any) -> bool:
        return str(self.prepare_value(initial) or "") != str(data or "").strip()

    def datalist(self) -> list[tuple[str, str]]:
        rows = self.queryset.order_by(self.to_field)[:DATALIST_LIMIT]
        return [(getattr(row, self.to_field), str(row)) for row in rows]


class PageModelForm(forms.ModelForm):
    """A ModelForm over declared fields; ``company`` scopes the related-record inputs.

    The form only validates: the page's write callable (a service) saves.
    """

    declared: Sequence[Field] = ()

    def __init__(self, *args: Any, company: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        for declared in self.declared:
            self._apply_declaration(declared)
        for name, field in self.fields.items():
            if isinstance(field, RecordNoField):
                field.queryset = field.model._default_manager.filter(company=company)
                field.widget.attrs.update(_lookup_attrs(field, self.add_prefix(name)))
                # The instance's related row is already loaded (select_related): show its No.
                if getattr(self.instance, f"{name}_id", None) is not None:
                    self.initial[name] = getattr(getattr(self.instance, name), field.to_field)

    def _apply_declaration(self, declared: Field) -> None:
        field = self.fields[declared.name]
        field.label = declared.label_for(self._meta.model)
        if declared.required is not None:
            field.required = declared.required
        if declared.help_text:
            field.help_text = declared.help_text
        blank = self.initial.get(declared.name) in (None, "")
        if self.instance.pk is None and declared.initial is not None and blank:
            initial = declared.initial() if callable(declared.initial) else declared.initial
            self.initial[declared.name] = initial


def _lookup_attrs(field: RecordNoField, html_name: str) -> dict[str, str]:
    """The input's datalist, and the htmx that refreshes it from the lookup as people type.

    Without JavaScript the datalist keeps its first rows and the typed No. is validated on
    save all the same.
    """
    options = f"{html_name}-options"
    attrs = {"list": options, "autocomplete": "off"}
    page = lookup_page_for_model(field.model)
    if page is not None:
        attrs.update(
            {
                "hx-get": f"{page.url('lookup')}?{urlencode({'field': html_name})}",
                "hx-trigger": "input changed delay:200ms",
                "hx-target": f"#{options}",
                "hx-swap": "innerHTML",
                "hx-sync": "this:replace",
            }
        )
    return attrs


def _formfield(db_field: models.Field, **kwargs: Any) -> forms.Field | None:
    if isinstance(db_field, models.ForeignKey):
        return RecordNoField(
            model=db_field.related_model,
            label=db_field.verbose_name,
            required=not db_field.blank,
        )
    if isinstance(db_field, models.DateField) and not isinstance(db_field, models.DateTimeField):
        kwargs["widget"] = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    elif isinstance(db_field, models.DecimalField):
        # A text input: the server's message, not the browser's step rules, explains bad input.
        kwargs["widget"] = forms.TextInput(attrs={"inputmode": "decimal"})
        kwargs["form_class"] = TrimmedDecimalField
    return db_field.formfield(**kwargs)


class TrimmedDecimalField(forms.DecimalField):
    """Quantities are typed as "8", not "8.00000"; amounts keep their two decimals."""

    def prepare_value(self, value: Any) -> Any:
        if isinstance(value, Decimal) and (self.decimal_places or 0) > 2:
            return format_decimal(value, None).replace(",", "")
        return value


@cache
def model_form_class(model: type[models.Model], declared: tuple[Field, ...]) -> type:
    """A PageModelForm for ``declared`` fields of ``model`` (cached: declarations are fixed)."""
    names = [f.name for f in declared]
    form_class = forms.modelform_factory(
        model, form=PageModelForm, fields=names, formfield_callback=_formfield
    )
    form_class.declared = declared
    return form_class


def add_service_errors(form: forms.BaseForm, error: ValidationError) -> None:
    """Show a service's ValidationError on the form: field errors next to their fields,
    the rest above the form."""
    if not hasattr(error, "error_dict"):
        form.add_error(None, error)
        return
    for name, errors in error.error_dict.items():
        if name in form.fields:
            form.add_error(name, errors)
        elif name == NON_FIELD_ERRORS:
            form.add_error(None, errors)
        else:
            label = _label_for(form, name)
            form.add_error(None, [f"{label}: {m}" for e in errors for m in e.messages])


def saved(form: forms.BaseForm, save: Callable[[], Any]) -> bool:
    """Run the service in ``save``; its refusal lands on the form (fields next to fields)."""
    try:
        save()
    except ValidationError as error:
        add_service_errors(form, error)
        return False
    return True


def _label_for(form: forms.BaseForm, name: str) -> str:
    model = getattr(getattr(form, "_meta", None), "model", None)
    model_field = resolve_model_field(model, name) if model else None
    if model_field is None:
        return name.replace("_", " ").capitalize()
    return field_label(model_field)
