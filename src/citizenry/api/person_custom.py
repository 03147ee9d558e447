"""Custom field values on the person resource.

A nation's custom fields are extra keys of both person representations, named by the field's
slug and appended after the standard keys, ``null`` until set. Values are kept in
``people.custom_values`` under the field's id. Number fields come back as floats, as
NationBuilder sends them (``2008.0``).
"""

from __future__ import annotations

import math
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from citizenry.store.models import CustomField, Person

MAX_TEXT_VALUE = 255


def load_custom_fields(session: Session, nation_id: int) -> dict[str, CustomField]:
    """Return the nation's custom fields by slug, oldest first."""
    fields = session.scalars(
        select(CustomField).where(CustomField.nation_id == nation_id).order_by(CustomField.id)
    )
    return {field.slug: field for field in fields}


def custom_value(field: CustomField, value: Any, errors: list[str]) -> Any:
    """Check one value for ``field``; on a problem add it to ``errors`` and return None."""
    if value is None:
        return None
    if field.type == "number":
        if isinstance(value, str):
            value = _number_or_text(value)
        number = _finite(value)
        if number is None:
            errors.append(f"{field.slug} must be a number")
        return number
    if field.type == "checkbox":
        if not isinstance(value, bool):
            errors.append(f"{field.slug} must be true or false")
            return None
        return value
    if not isinstance(value, str):
        errors.append(f"{field.slug} must be a string")
        return None
    if "\x00" in value or len(value) > MAX_TEXT_VALUE:
        errors.append(f"{field.slug} must be at most {MAX_TEXT_VALUE} characters, without NUL")
        return None
    return value.strip() or None


def _finite(value: Any) -> float | None:
    """Return ``value`` as a finite float, or None for anything else (booleans, huge integers)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    try:
        number = float(value)
    except OverflowError:
        return None
    return number if math.isfinite(number) else None


def is_unset(value: Any) -> bool:
    """Tell whether a stored custom value counts as empty for ``PUT /people/add``: 0 is a value."""
    return value is None or value == "" or value is False


def _number_or_text(text: str) -> float | str:
    """Convert a number written as text, as in a CSV cell, to a float; return other text unchanged."""
    try:
        return float(text.strip())
    except ValueError:
        return text


def custom_values_json(person: Person, fields: dict[str, CustomField]) -> dict[str, Any]:
    """Return the person's value of each custom field, by slug, ``null`` when unset."""
    return stored_values_json(person.custom_values, fields)


def stored_values_json(stored: dict[str, Any] | None, fields: dict[str, CustomField]) -> dict[str, Any]:
    """Return the value of each custom field in ``stored`` (a ``custom_values`` column), by slug."""
    stored = stored or {}
    values: dict[str, Any] = {}
    for slug, field in fields.items():
        value = stored.get(str(field.id))
        values[slug] = float(value) if field.type == "number" and value is not None else value
    return values
