"""Helpers shared by the services: field checks, validation, BC-style messages."""

from django.core.exceptions import ValidationError
from django.db import IntegrityError, models, transaction
from django.db.models import ProtectedError

from bcsite.registry import registry
from records.models import MONEY_LIMIT, Company, SalesOrder
from records.services.no_series import no_series_next


def writable_fields(model: type[models.Model], *, exclude: tuple[str, ...] = ()) -> frozenset:
    """The fields a service accepts: editable ones, never the company or the primary key."""
    return frozenset(
        f.name
        for f in model._meta.concrete_fields
        if f.editable and not f.primary_key and f.name != "company" and f.name not in exclude
    )


def check_field_names(fields: dict, *, writable: frozenset, protected: dict[str, str]) -> None:
    """Refuse fields that cannot be written, each with its own message."""
    errors = {}
    for name in fields:
        if name in protected:
            errors[name] = [protected[name]]
        elif name not in writable:
            errors[name] = [f"The field {name} cannot be set."]
    if errors:
        raise ValidationError(errors)


def clean_errors(instance: models.Model, *, exclude: tuple[str, ...] = ()) -> dict[str, list]:
    """Run the model's field validation and return its errors instead of raising.

    Cleaning converts the values in place (a "12.5" string becomes a Decimal), so a
    service can check its own rules on the fields that came out clean and report
    all the errors together. Uniqueness is the services' job, with clearer messages.
    """
    for field in instance._meta.concrete_fields:
        # Forms send "" for an empty date; a nullable field stores that as NULL.
        if field.null and getattr(instance, field.attname) == "":
            setattr(instance, field.attname, None)
    try:
        instance.full_clean(
            exclude=list(exclude), validate_unique=False, validate_constraints=False
        )
    except ValidationError as exc:
        return {field: list(messages) for field, messages in exc.message_dict.items()}
    return {}


def check_amount_fits(amount, *, what: str) -> None:
    """Refuse an amount its column cannot hold, before the database truncates or fails.

    Quantity and price each fit their fields, but their product need not fit an amount.
    """
    if abs(amount) > MONEY_LIMIT:
        raise ValidationError(
            f"{what} would be {amount:,.2f}, more than the largest amount bcsite can store "
            f"({MONEY_LIMIT:,.2f})."
        )


def add_error(errors: dict[str, list], field: str, message: str) -> None:
    errors.setdefault(field, []).append(message)


def raise_errors(errors: dict[str, list]) -> None:
    if errors:
        raise ValidationError(errors)


def normalize_no(value) -> str:
    """BC's No. fields are codes: trimmed and upper case."""
    return str(value or "").strip().upper()


def assign_fields(instance: models.Model, fields: dict) -> None:
    """Set the given fields; a No. is normalized as it would be on a new record."""
    for name, value in fields.items():
        setattr(instance, name, value)
    if "no" in fields:
        instance.no = normalize_no(instance.no)


def add_no_exists_error(errors: dict[str, list], instance: models.Model, *, label: str) -> None:
    """BC's "already exists" error when another record of the company has this No."""
    if "no" in errors:
        return
    others = type(instance).objects.filter(company_id=instance.company_id, no=instance.no)
    if others.exclude(pk=instance.pk).exists():
        add_error(errors, "no", f"{label} {instance.no} already exists.")


def card_errors(instance: models.Model, *, label: str) -> dict[str, list]:
    """The field errors of a customer or an item, its No. included."""
    errors = clean_errors(instance, exclude=("company",))
    add_no_exists_error(errors, instance, label=label)
    return errors


def card_create(
    model: type[models.Model], *, company: Company, series: str, label: str, fields: dict
) -> models.Model:
    """Create a customer or an item; a blank No. takes the next number of ``series``."""
    with transaction.atomic():
        instance = model(company=company, **fields)
        instance.no = normalize_no(instance.no) or no_series_next(company=company, code=series)
        raise_errors(card_errors(instance, label=label))
        save_with_unique_no(instance, label=label)
    return instance


def hold_change(record: models.Model, user, fields: dict, attribute: str, old) -> None:
    """Leave out of ``fields`` a change that an approval holds back (BC's credit limit and
    unit price change approvals), and say so in ``record.held_changes``."""
    new = fields[attribute]
    if new == old:
        return
    held = registry.hold_changes(record, user, {attribute: (old, new)})
    if attribute in held:
        del fields[attribute]
        record.held_changes = [*getattr(record, "held_changes", []), held[attribute]]


def delete_unless_referred(instance: models.Model, *, label: str) -> None:
    """Delete after the caller's checks, refusing if a reference appeared meanwhile."""
    try:
        with transaction.atomic():
            instance.delete()
    except (ProtectedError, IntegrityError):
        # Another record started referring to this one after the caller's checks.
        raise ValidationError(
            f"You cannot delete {label} because other records refer to it."
        ) from None


def save_with_unique_no(instance: models.Model, *, label: str, **save_kwargs) -> None:
    """Save, turning a lost race for a unique No. into the same message as the check."""
    try:
        with transaction.atomic():
            instance.save(**save_kwargs)
    except IntegrityError:
        raise ValidationError({"no": [f"{label} {instance.no} already exists."]}) from None


def order_status_error(order: SalesOrder, expected: str = "Open") -> ValidationError:
    return ValidationError(
        f"Status must be equal to '{expected}' in {order.document_label}. "
        f"Current value is '{order.get_status_display()}'."
    )


def ensure_order_editable(order: SalesOrder) -> None:
    if not order.is_editable:
        raise order_status_error(order)
