"""Validation of person writes (``{"person": {...}}``) and their application to a row.

Every writable field is checked for its JSON type and size, so a bad value is a 400
``validation_failed`` naming the field, never a server error or a silent cut. Read-only and
derived fields that a client sends back from a read are ignored; unknown fields are refused.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from citizenry.api.errors import ValidationFailed
from citizenry.api.person_custom import custom_value, is_unset
from citizenry.api.person_emails import BAD_COLUMNS as EMAIL_BAD_COLUMNS
from citizenry.api.person_emails import EMPTY_STATE as EMPTY_EMAIL_STATE
from citizenry.api.person_emails import STORED_COLUMNS as EMAIL_COLUMNS
from citizenry.api.person_emails import WRITABLE_FIELDS as WRITABLE_EMAIL_FIELDS
from citizenry.api.person_emails import resolve_emails
from citizenry.api.person_full import (
    EMPTY_LISTS,
    FALSE_BOOLEANS,
    NULL_BOOLEANS,
    NULL_INTEGERS,
    NULL_OBJECTS,
    NULL_STRINGS,
    NULL_TIMESTAMPS,
    TRUE_BOOLEANS,
    ZERO_INTEGERS,
)
from citizenry.api.person_json import ADDRESS_FIELDS, PLAIN_FIELDS
from citizenry.store.models import CustomField, Person

MAX_STRING = 255
MAX_TEXT = 10_000
MAX_TAGS = 100

#: Columns that hold a short string.
STRING_COLUMNS = frozenset(
    {
        "first_name",
        "middle_name",
        "last_name",
        "phone",
        "mobile",
        "work_phone_number",
        "employer",
        "occupation",
        *(
            name
            for name in PLAIN_FIELDS
            if name.endswith(("_id", "_district", "_region", "_guid", "_regid", "_name")) or name == "ward"
        ),
    }
    - {"precinct_id", "recruiter_id"}
)
BOOLEAN_COLUMNS = frozenset(
    {
        "email_opt_in",
        "mobile_opt_in",
        "do_not_call",
        "do_not_contact",
        "has_facebook",
        "is_twitter_follower",
        "is_volunteer",
    }
)

#: Writable full-representation fields kept in ``people.extra``.
#: Strings of the full representation that NationBuilder derives or imports; they are read-only.
DERIVED_STRINGS = frozenset(
    {
        "profile_content_html",
        "page_slug",
        "call_status_name",
        "contact_status_name",
        "media_market_name",
        "precinct_code",
        "precinct_name",
        "nbec_precinct_code",
        "nbec_precinct",
        "phone_normalized",
        "mobile_normalized",
        "facebook_profile_url",
        "import_id",
        "auto_import_id",
        "support_probability_score",
        "turnout_probability_score",
    }
)
EXTRA_STRINGS = frozenset(NULL_STRINGS) - DERIVED_STRINGS - WRITABLE_EMAIL_FIELDS
EXTRA_BOOLEANS = frozenset(
    {
        "is_deceased",
        "is_prospect",
        "is_profile_private",
        "is_profile_searchable",
        "is_leaderboardable",
        "is_supporter",
        "federal_donotcall",
        "party_member",
        "is_mobile_bad",
        "is_survey_question_private",
        "is_absentee_voter",
        "is_active_voter",
        "is_early_voter",
        "is_permanent_absentee_voter",
        "is_dropped_from_file",
    }
)
EXTRA_ADDRESSES = frozenset(
    {
        "home_address",
        "mailing_address",
        "registered_address",
        "work_address",
        "billing_address",
        "user_submitted_address",
    }
)
EXTRA_FIELDS = EXTRA_STRINGS | EXTRA_BOOLEANS | EXTRA_ADDRESSES | {"priority_level"}

#: Fields a read returns that a write may carry back; they are ignored.
READ_ONLY = (
    frozenset(
        {
            "id",
            "created_at",
            "updated_at",
            "full_name",
            "emails",
            "primary_email_id",
            "profile_image_url_ssl",
            "precinct_id",
            *NULL_OBJECTS,
            *NULL_INTEGERS,
            *ZERO_INTEGERS,
            *FALSE_BOOLEANS,
            *TRUE_BOOLEANS,
            *NULL_BOOLEANS,
            *NULL_STRINGS,
            *NULL_TIMESTAMPS,
            *EMPTY_LISTS,
            "first_supporter_at",
        }
    )
    - EXTRA_FIELDS
    - STRING_COLUMNS
    - BOOLEAN_COLUMNS
    - WRITABLE_EMAIL_FIELDS
)

#: Every key a person body may carry, read-only ones included; no custom field may take one.
PERSON_FIELDS = (
    STRING_COLUMNS
    | BOOLEAN_COLUMNS
    | EXTRA_FIELDS
    | READ_ONLY
    | WRITABLE_EMAIL_FIELDS
    | set(PLAIN_FIELDS)
    | {"tags", "birthdate", "primary_address", "custom_values", "note", "party", "sex"}
    | {"support_level", "signup_type", "recruiter_id"}
)


@dataclass
class PersonChanges:
    """The validated values of one write, ready to apply."""

    columns: dict[str, Any] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)
    #: ``email`` and the e-mail slot fields, applied by :func:`resolve_emails`.
    emails: dict[str, Any] = field(default_factory=dict)
    #: Custom field values by the field's id, as a string.
    custom_values: dict[str, Any] = field(default_factory=dict)
    tags: list[str] = field(default_factory=list)

    def match_email(self) -> str | None:
        """Return the address push and add match on: ``email``, or ``email1`` without it."""
        return self.emails.get("email") or self.emails.get("email1")


def _string(name: str, value: Any, errors: list[str], limit: int = MAX_STRING) -> str | None:
    if value is None:
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool) and name.endswith("_id"):
        value = str(value)  # external ids arrive as numbers from some systems
    if not isinstance(value, str):
        errors.append(f"{name} must be a string")
        return None
    value = value.strip()
    if "\x00" in value:
        errors.append(f"{name} contains a NUL character")
        return None
    if len(value) > limit:
        errors.append(f"{name} is longer than {limit} characters")
        return None
    return value or None


def _boolean(name: str, value: Any, errors: list[str]) -> bool | None:
    if not isinstance(value, bool):
        errors.append(f"{name} must be true or false")
        return None
    return value


def _integer(name: str, value: Any, errors: list[str], low: int, high: int) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        errors.append(f"{name} must be a whole number from {low} to {high}")
        return None
    return value


def _address(name: str, value: Any, errors: list[str]) -> dict[str, Any] | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        errors.append(f"{name} must be an address object")
        return None
    unknown = sorted(set(value) - set(ADDRESS_FIELDS))
    if unknown:
        errors.append(f"{name} has unknown fields: {', '.join(unknown[:5])}")
        return None
    address: dict[str, Any] = {}
    for key in ADDRESS_FIELDS:
        raw = value.get(key)
        if key in {"lat", "lng"} and isinstance(raw, (int, float)) and not isinstance(raw, bool):
            raw = str(raw)
        address[key] = _string(f"{name}.{key}", raw, errors)
    code = address["country_code"]
    if code and not COUNTRY_CODE.fullmatch(code):
        errors.append(f"{name}.country_code must be a two-letter ISO 3166-1 code such as US, not {code!r}")
    return address


#: ISO 3166-1 alpha-2, in either case: NationBuilder's address objects carry "US", "GB", ...
COUNTRY_CODE = re.compile(r"[A-Za-z]{2}")
EMAIL_PATTERN = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def _email(name: str, value: Any, errors: list[str]) -> str | None:
    email = _string(name, value, errors, limit=254)
    if email is not None and not EMAIL_PATTERN.match(email):
        errors.append(f"{name} is not a valid e-mail address")
        return None
    return email


def _tags(value: Any, errors: list[str]) -> list[str]:
    values = [value] if isinstance(value, str) else value
    if not isinstance(values, list) or not all(isinstance(tag, str) for tag in values):
        errors.append("tags must be a string or a list of strings")
        return []
    tags = [tag.strip() for tag in values if tag.strip()]
    if any("\x00" in tag for tag in tags):
        errors.append("tags must not contain NUL characters")
        return []
    if len(tags) > MAX_TAGS or any(len(tag) > MAX_STRING for tag in tags):
        errors.append(f"tags must be at most {MAX_TAGS} names of at most {MAX_STRING} characters")
        return []
    return list(dict.fromkeys(tags))


def _one_of(name: str, value: Any, errors: list[str], allowed: set[str]) -> str | None:
    text = _string(name, value, errors)
    if text is not None and text.upper() not in allowed:
        errors.append(f"{name} must be one of {', '.join(sorted(allowed))}")
        return None
    return text.upper() if text else None


def _birthdate(value: Any, errors: list[str]) -> date | None:
    text = _string("birthdate", value, errors)
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        errors.append("birthdate must be a date as YYYY-MM-DD")
        return None


#: Validators of the columns with a rule of their own.
SPECIAL_COLUMNS: dict[str, Callable[[Any, list[str]], Any]] = {
    "note": lambda value, errors: _string("note", value, errors, limit=MAX_TEXT),
    "party": lambda value, errors: _string("party", value, errors, limit=1),
    "sex": lambda value, errors: _one_of("sex", value, errors, {"M", "F", "O"}),
    "birthdate": _birthdate,
    "support_level": lambda value, errors: _integer("support_level", value, errors, 1, 5),
    "signup_type": lambda value, errors: _integer("signup_type", value, errors, 0, 1) or 0,
    "recruiter_id": lambda value, errors: _integer("recruiter_id", value, errors, 1, 2**31 - 1),
    "primary_address": lambda value, errors: _address("primary_address", value, errors),
}


def _email_field(name: str, value: Any, errors: list[str]) -> Any:
    if name in EMAIL_BAD_COLUMNS:
        return _boolean(name, value, errors)
    if name == "primary_email_id":
        return _integer(name, value, errors, 1, 4)
    return _email(name, value, errors)


def validate_person(
    data: dict[str, Any], custom_fields: Mapping[str, CustomField] | None = None
) -> PersonChanges:
    """Check a person body; raise ``validation_failed`` listing every problem at once.

    ``custom_fields`` are the nation's custom fields by slug; their slugs are person fields too.
    """
    errors: list[str] = []
    changes = PersonChanges()
    custom_fields = custom_fields or {}
    for name, value in data.items():
        if name in WRITABLE_EMAIL_FIELDS:
            changes.emails[name] = _email_field(name, value, errors)
        elif name in custom_fields:
            changes.custom_values[str(custom_fields[name].id)] = custom_value(
                custom_fields[name], value, errors
            )
        elif name in SPECIAL_COLUMNS:
            changes.columns[name] = SPECIAL_COLUMNS[name](value, errors)
        elif name in STRING_COLUMNS:
            changes.columns[name] = _string(name, value, errors)
        elif name in BOOLEAN_COLUMNS:
            changes.columns[name] = _boolean(name, value, errors)
        elif name in EXTRA_STRINGS:
            changes.extra[name] = _string(
                name, value, errors, limit=MAX_TEXT if name == "bio" else MAX_STRING
            )
        elif name in EXTRA_BOOLEANS:
            changes.extra[name] = None if value is None else _boolean(name, value, errors)
        elif name in EXTRA_ADDRESSES:
            changes.extra[name] = _address(name, value, errors)
        elif name == "priority_level":
            changes.extra[name] = _integer(name, value, errors, 1, 5)
        elif name == "tags":
            changes.tags = _tags(value, errors)
        elif name in READ_ONLY:
            continue
        else:
            errors.append(f"{str(name)[:64]} is not a person field")
    if errors:
        raise ValidationFailed(errors)
    return changes


def apply_changes(person: Person, changes: PersonChanges, *, overwrite: bool) -> None:
    """Write the changes into ``person``; with ``overwrite`` False, only fields that are empty."""
    for name, value in changes.columns.items():
        if overwrite or getattr(person, name) in (None, "", False):
            setattr(person, name, value)
    extra = dict(person.extra or {})
    for name, value in changes.extra.items():
        if overwrite or extra.get(name) in (None, "", False):
            extra[name] = value
    person.extra = extra
    custom_values = dict(person.custom_values or {})
    for key, value in changes.custom_values.items():
        if overwrite or is_unset(custom_values.get(key)):
            custom_values[key] = value
    person.custom_values = custom_values
    if changes.emails:
        current = {name: getattr(person, name) for name in EMAIL_COLUMNS}
        for name, value in resolve_emails(current, changes.emails, overwrite=overwrite).items():
            setattr(person, name, value)
    person.latitude, person.longitude = coordinates(person.primary_address)


def new_person_columns(changes: PersonChanges) -> dict[str, Any]:
    """Return the column values of a new person made from ``changes``, as a bulk insert needs."""
    columns = dict(changes.columns)
    if changes.emails.keys() <= {"email"}:
        # The common case of an import row, without the general rules' cost.
        email = changes.emails.get("email")
        columns.update(email=email, email1=email, primary_email_id=1 if email else None)
    else:
        columns.update(resolve_emails(EMPTY_EMAIL_STATE, changes.emails, overwrite=True))
    columns["latitude"], columns["longitude"] = coordinates(columns.get("primary_address"))
    return columns


def coordinates(address: Mapping[str, Any] | None) -> tuple[float | None, float | None]:
    """Return an address's ``lat`` and ``lng`` as numbers, or two Nones when either is missing."""
    if not address:
        return None, None
    try:
        latitude, longitude = float(address["lat"]), float(address["lng"])
    except (KeyError, TypeError, ValueError):
        return None, None
    if -90 <= latitude <= 90 and -180 <= longitude <= 180:
        return latitude, longitude
    return None, None


IDENTITY_FIELDS = ("first_name", "last_name", "email", "phone", "mobile")


def check_identity(person: Person) -> None:
    """Reject a person without a name, an e-mail address or a phone number."""
    check_identity_values({name: getattr(person, name) for name in IDENTITY_FIELDS})


def check_identity_values(values: dict[str, Any]) -> None:
    if not any(values.get(name) for name in IDENTITY_FIELDS):
        raise ValidationFailed(
            ["identity: a person needs a first or last name, an e-mail address or a phone number"]
        )
