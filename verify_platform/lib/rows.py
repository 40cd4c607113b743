"""Model instances from the rows of a hand-written statement (`<app>/sql.py`).

`Model.from_db` is Django's documented constructor for instances loaded from the database
(the fields not given are deferred and load on access, as after `only()`); it takes the values
in the model's field order, and applies no field converters. A JSON column read by a raw
statement arrives as its text (Django's PostgreSQL backend loads jsonb as text and parses it
in the field), so it is parsed here; every other column type the project uses comes from
psycopg as the field holds it.
"""

from __future__ import annotations

import json
from typing import Any, TypeVar

from django.db import models

M = TypeVar("M", bound=models.Model)


def instance(model: type[M], values: dict[str, Any]) -> M:
    """An instance of `model` holding `values` (by attribute name, e.g. `service_id`)."""
    names, ordered = [], []
    for field in model._meta.concrete_fields:
        if field.attname in values:
            value = values[field.attname]
            if isinstance(field, models.JSONField):
                value = json_value(value)
            names.append(field.attname)
            ordered.append(value)
    return model.from_db(None, names, ordered)


def json_value(value: Any) -> Any:
    """A JSON column as a raw statement returns it (its text) -> the document."""
    return json.loads(value) if isinstance(value, str) else value
