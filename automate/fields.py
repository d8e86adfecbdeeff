"""A JSON column that keeps the order of object keys.

PostgreSQL's jsonb sorts object keys, and order matters to flows: the columns of a
workbook built from rows, the fields of a message, the keys a user typed in the designer.
Definitions, trigger data, variables and step values are therefore stored as JSON text.
Nothing queries inside them, so nothing is lost.
"""

from __future__ import annotations

import json

from django.core.exceptions import ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models


class OrderedJSONField(models.TextField):
    description = "JSON, with the order of object keys kept"

    def from_db_value(self, value, expression, connection):
        return None if value is None else json.loads(value)

    def to_python(self, value):
        if value is None or not isinstance(value, str):
            return value
        try:
            return json.loads(value)
        except json.JSONDecodeError as error:
            raise ValidationError(f"Not valid JSON: {error.msg}.") from None

    def get_prep_value(self, value):
        if value is None:
            return None
        return json.dumps(value, cls=DjangoJSONEncoder, ensure_ascii=False)

    def value_to_string(self, obj):
        return self.get_prep_value(self.value_from_object(obj))
