"""The person resource in NationBuilder's abbreviated representation."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from citizenry.api.person_custom import custom_values_json
from citizenry.store.models import CustomField, Person

#: Keys copied from the person row unchanged, in the order NationBuilder sends them.
PLAIN_FIELDS = (
    "first_name",
    "middle_name",
    "last_name",
    "email",
    "phone",
    "mobile",
    "work_phone_number",
    "employer",
    "occupation",
    "note",
    "party",
    "sex",
    "email_opt_in",
    "mobile_opt_in",
    "do_not_call",
    "do_not_contact",
    "has_facebook",
    "is_twitter_follower",
    "is_volunteer",
    "support_level",
    "signup_type",
    "precinct_id",
    "recruiter_id",
    "civicrm_id",
    "county_file_id",
    "datatrust_id",
    "dw_id",
    "external_id",
    "linkedin_id",
    "nbec_guid",
    "ngp_id",
    "pf_strat_id",
    "rnc_id",
    "rnc_regid",
    "salesforce_id",
    "state_file_id",
    "twitter_id",
    "twitter_name",
    "van_id",
    "city_district",
    "county_district",
    "federal_district",
    "fire_district",
    "judicial_district",
    "labour_region",
    "school_district",
    "school_sub_district",
    "state_lower_district",
    "state_upper_district",
    "supranational_district",
    "village_district",
    "ward",
)

ADDRESS_FIELDS = (
    "address1",
    "address2",
    "address3",
    "city",
    "state",
    "country_code",
    "zip",
    "lat",
    "lng",
)


def iso_utc(value: datetime) -> str:
    """Format a timestamp as ISO 8601 in UTC with a ``Z``, as NationBuilder's 2018 responses do."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def address_json(address: dict[str, Any] | None) -> dict[str, Any] | None:
    if address is None:
        return None
    # Coordinates are strings in NationBuilder's address objects.
    return {
        key: (
            str(address[key]) if key in {"lat", "lng"} and address.get(key) is not None else address.get(key)
        )
        for key in ADDRESS_FIELDS
    }


def abbreviated_person(
    person: Person, tags: Iterable[str], avatar_url: str, custom_fields: dict[str, CustomField]
) -> dict[str, Any]:
    """Return the abbreviated representation, with the nation's custom fields at the end."""
    return {**_standard_keys(person, tags, avatar_url), **custom_values_json(person, custom_fields)}


def _standard_keys(person: Person, tags: Iterable[str], avatar_url: str) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": person.id,
        "created_at": iso_utc(person.created_at),
        "updated_at": iso_utc(person.updated_at),
    }
    for name in PLAIN_FIELDS:
        body[name] = getattr(person, name)
    body["birthdate"] = person.birthdate.isoformat() if person.birthdate else None
    body["tags"] = sorted(tags)
    body["primary_address"] = address_json(person.primary_address)
    body["profile_image_url_ssl"] = avatar_url
    return body
