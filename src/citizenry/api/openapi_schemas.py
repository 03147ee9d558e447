"""JSON Schemas of the API v1 resources, for the OpenAPI document in :mod:`citizenry.api.openapi`.

The schemas are written out by hand, field by field, rather than derived from the serializers. A
serializer change that adds, drops or retypes a key then fails a test instead of silently changing
the published contract. Every key that can be ``null`` is typed so.
"""

from __future__ import annotations

from typing import Any

from citizenry.api.person_full import (
    EMPTY_LISTS,
    NULL_INTEGERS,
    NULL_OBJECTS,
    NULL_STRINGS,
    NULL_TIMESTAMPS,
    ZERO_INTEGERS,
)
from citizenry.api.person_json import ADDRESS_FIELDS, PLAIN_FIELDS
from citizenry.api.person_write import (
    BOOLEAN_COLUMNS,
    EXTRA_ADDRESSES,
    EXTRA_STRINGS,
    MAX_STRING,
    MAX_TEXT,
)

Schema = dict[str, Any]


def ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


def nullable(type_name: str, **keywords: Any) -> Schema:
    """Return a schema of ``type_name`` or ``null``, in JSON Schema 2020-12's type-list form."""
    return {"type": [type_name, "null"], **keywords}


def nullable_ref(name: str) -> Schema:
    return {"anyOf": [ref(name), {"type": "null"}]}


def closed_object(properties: dict[str, Schema], *, description: str | None = None) -> Schema:
    """Return an object schema whose every property is required and that allows no other key."""
    schema: Schema = {
        "type": "object",
        "properties": properties,
        "required": list(properties),
        "additionalProperties": False,
    }
    if description:
        schema["description"] = description
    return schema


TIMESTAMP: Schema = {
    "type": "string",
    "format": "date-time",
    "description": "ISO 8601 in UTC with a Z, such as 2024-05-01T12:00:00Z.",
}
NULLABLE_TIMESTAMP: Schema = nullable("string", format="date-time")
NULLABLE_STRING: Schema = nullable("string")

#: The form of every person key: the standard fields have it, and custom field slugs must.
PERSON_KEY_NAMES: Schema = {"pattern": "^[a-z][a-z0-9_]{0,63}$"}

#: A custom field's value, under the field's slug: text, a number (always sent as a float, such
#: as 2008.0) or a checkbox. It is null until set.
CUSTOM_FIELD_VALUE: Schema = {
    "type": ["string", "number", "boolean", "null"],
    "description": "The value of the nation's custom field with this slug: text, a number or a "
    "checkbox, null until set.",
}

# Person fields, grouped by their JSON type.

ABBREVIATED_NULLABLE_INTEGERS = ("support_level", "precinct_id", "recruiter_id")
#: Whole-number fields of the abbreviated representation: the nullable ones and ``signup_type``.
ABBREVIATED_INTEGERS = frozenset({*ABBREVIATED_NULLABLE_INTEGERS, "signup_type"})
#: Text fields of the abbreviated representation, null when empty.
ABBREVIATED_STRINGS = tuple(
    name for name in PLAIN_FIELDS if name not in BOOLEAN_COLUMNS and name not in ABBREVIATED_INTEGERS
)
ABBREVIATED_BOOLEANS = tuple(name for name in PLAIN_FIELDS if name in BOOLEAN_COLUMNS)

#: Abbreviated person objects in NationBuilder. Citizenry does not link people yet, so they are always null.
FULL_PERSON_LINKS = ("author", "recruiter", "parent", "last_contacted_by")
#: Address objects that a write may set.
FULL_WRITABLE_ADDRESSES = tuple(name for name in NULL_OBJECTS if name in EXTRA_ADDRESSES)
#: Address objects Citizenry does not store yet: always null.
FULL_UNSTORED_ADDRESSES = ("meetup_address", "facebook_address", "twitter_address")
FULL_NULLABLE_INTEGERS = (*NULL_INTEGERS, "primary_email_id")
FULL_INTEGERS = ZERO_INTEGERS
FULL_BOOLEANS = (
    "is_donor",
    "is_fundraiser",
    "is_ignore_donation_limits",
    "is_possible_duplicate",
    "email1_is_bad",
    "email2_is_bad",
    "email3_is_bad",
    "email4_is_bad",
)
#: Flags a write may set to true, false or null.
FULL_NULLABLE_BOOLEANS = (
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
    "could_vote_status",
)
FULL_STRINGS = ("full_name", "email1", *NULL_STRINGS)
FULL_TIMESTAMPS = NULL_TIMESTAMPS
#: Lists of NationBuilder objects that Citizenry does not store yet: always empty.
FULL_EMPTY_LISTS = EMPTY_LISTS

#: Full-only text fields a write may set.
WRITABLE_FULL_STRINGS = tuple(name for name in NULL_STRINGS if name in EXTRA_STRINGS)


def _address() -> Schema:
    properties = {name: dict(NULLABLE_STRING) for name in ADDRESS_FIELDS}
    properties["lat"]["description"] = "Latitude in decimal degrees, as a string."
    properties["lng"]["description"] = "Longitude in decimal degrees, as a string."
    return closed_object(
        properties, description="An address; lat and lng are strings, as NationBuilder sends them."
    )


def _abbreviated_properties() -> dict[str, Schema]:
    properties: dict[str, Schema] = {
        "id": {"type": "integer"},
        "created_at": TIMESTAMP,
        "updated_at": TIMESTAMP,
    }
    properties.update({name: dict(NULLABLE_STRING) for name in ABBREVIATED_STRINGS})
    properties["email"]["description"] = (
        "The primary e-mail address unless it is marked bad, else the first good one of email1 to email4."
    )
    properties["sex"]["description"] = "M, F or O."
    properties["party"]["description"] = "A one-letter party code."
    properties.update({name: {"type": "boolean"} for name in ABBREVIATED_BOOLEANS})
    properties.update({name: nullable("integer") for name in ABBREVIATED_NULLABLE_INTEGERS})
    properties["support_level"]["description"] = "1 (strong support) to 5 (strong opposition)."
    properties["signup_type"] = {"type": "integer", "description": "0 for a person, 1 for an organization."}
    properties["birthdate"] = nullable("string", format="date")
    properties["tags"] = {"type": "array", "items": {"type": "string"}}
    properties["primary_address"] = nullable_ref("Address")
    properties["profile_image_url_ssl"] = {
        "type": "string",
        "format": "uri",
        "description": "The person's picture; a placeholder image on this server when they have none.",
    }
    return properties


def _full_only_properties() -> dict[str, Schema]:
    properties: dict[str, Schema] = {}
    for name in FULL_PERSON_LINKS:
        properties[name] = nullable(
            "object", description="An abbreviated person in NationBuilder; always null in Citizenry for now."
        )
    properties.update({name: nullable_ref("Address") for name in FULL_WRITABLE_ADDRESSES})
    for name in FULL_UNSTORED_ADDRESSES:
        properties[name] = {**nullable_ref("Address"), "description": "Not stored yet: always null."}
    properties.update({name: nullable("integer") for name in FULL_NULLABLE_INTEGERS})
    properties["priority_level"]["description"] = "1 to 5."
    properties["primary_email_id"]["description"] = "The slot (1 to 4) of the primary e-mail address."
    properties.update({name: {"type": "integer"} for name in FULL_INTEGERS})
    properties.update({name: {"type": "boolean"} for name in FULL_BOOLEANS})
    properties.update({name: nullable("boolean") for name in FULL_NULLABLE_BOOLEANS})
    properties.update({name: dict(NULLABLE_STRING) for name in FULL_STRINGS})
    properties.update({name: dict(NULLABLE_TIMESTAMP) for name in FULL_TIMESTAMPS})
    properties["first_supporter_at"] = TIMESTAMP
    properties["emails"] = {"type": "array", "items": ref("EmailAddress")}
    for name in FULL_EMPTY_LISTS:
        properties[name] = {
            "type": "array",
            "items": {"type": "object"},
            "description": "Not stored yet: always empty.",
        }
    return properties


def _person(properties: dict[str, Schema], description: str) -> Schema:
    return {
        "type": "object",
        "description": description,
        "properties": properties,
        "required": list(properties),
        "propertyNames": PERSON_KEY_NAMES,
        "additionalProperties": CUSTOM_FIELD_VALUE,
    }


def _person_write() -> Schema:
    """Describe the writable person fields; read-only fields that a client sends back are ignored."""
    short_text: Schema = nullable("string", maxLength=MAX_STRING)
    email: Schema = nullable("string", format="email", maxLength=254)
    address: Schema = nullable_ref("AddressWrite")

    # Fields of the abbreviated representation.
    properties: dict[str, Schema] = {}
    for name in ABBREVIATED_STRINGS:
        properties[name] = dict(short_text)
    properties["email"] = {
        **email,
        "description": "Stored in the slot that already holds it, else in the first empty or bad "
        "slot, and made primary.",
    }
    properties["note"] = nullable("string", maxLength=MAX_TEXT)
    properties["party"] = nullable("string", maxLength=1)
    properties["sex"] = {
        "anyOf": [{"type": "string", "enum": ["M", "F", "O", "m", "f", "o"]}, {"type": "null"}]
    }
    properties.update({name: {"type": "boolean"} for name in ABBREVIATED_BOOLEANS})
    properties["support_level"] = nullable("integer", minimum=1, maximum=5)
    properties["signup_type"] = nullable("integer", minimum=0, maximum=1, description="null is stored as 0.")
    properties["recruiter_id"] = nullable("integer", minimum=1, maximum=2**31 - 1)
    properties["birthdate"] = nullable("string", format="date")
    properties["primary_address"] = address
    properties["tags"] = {
        "description": "Tag names, added to the person's existing tags.",
        "anyOf": [
            {"type": "string", "maxLength": MAX_STRING},
            {"type": "array", "items": {"type": "string", "maxLength": MAX_STRING}, "maxItems": 100},
        ],
    }

    # The four e-mail slots, and fields of the full representation.
    for slot in (1, 2, 3, 4):
        properties[f"email{slot}"] = dict(email)
        properties[f"email{slot}_is_bad"] = {"type": "boolean"}
    properties["primary_email_id"] = nullable(
        "integer", minimum=1, maximum=4, description="The slot of the primary address; it must hold one."
    )
    properties.update({name: address for name in FULL_WRITABLE_ADDRESSES})
    properties["priority_level"] = nullable("integer", minimum=1, maximum=5)
    properties.update(
        {name: nullable("boolean") for name in FULL_NULLABLE_BOOLEANS if name != "could_vote_status"}
    )
    for name in WRITABLE_FULL_STRINGS:
        properties[name] = nullable("string", maxLength=MAX_TEXT if name == "bio" else MAX_STRING)

    for name in (*ABBREVIATED_STRINGS, *WRITABLE_FULL_STRINGS):
        if name.endswith("_id"):
            # External ids arrive as numbers from some systems.
            properties[name] = {
                "anyOf": [short_text, {"type": "number"}],
                "description": "A number is stored as its text.",
            }

    return {
        "type": "object",
        "description": "The fields to set. Fields a read returns may be sent back: read-only ones "
        "(id, timestamps, counters, full_name, emails, ...) are ignored. Any other key must be the slug "
        "of one of the nation's custom fields. An unknown key, or a value of the wrong type or size, is "
        "400 validation_failed. Text is trimmed and must not contain NUL characters. A person needs a "
        "first or last name, an e-mail address, a phone or a mobile number.",
        "properties": properties,
        "propertyNames": PERSON_KEY_NAMES,
        "additionalProperties": CUSTOM_FIELD_VALUE,
    }


def _address_write() -> Schema:
    properties: dict[str, Schema] = {
        name: nullable("string", maxLength=MAX_STRING)
        for name in ADDRESS_FIELDS
        if name not in {"lat", "lng"}
    }
    for name in ("lat", "lng"):
        properties[name] = {
            "anyOf": [nullable("string", maxLength=MAX_STRING), {"type": "number"}],
            "description": "Decimal degrees; a number is stored as its text.",
        }
    return {
        "type": "object",
        "description": "An address to store. Keys left out are stored as null, and other keys are rejected.",
        "properties": properties,
        "additionalProperties": False,
    }


def _error_schemas() -> dict[str, Schema]:
    message: Schema = {"type": "string", "description": "What went wrong, in English, for people."}
    return {
        "Error": closed_object(
            {"code": {"type": "string"}, "message": message},
            description="NationBuilder's flat error object; clients match on code.",
        ),
        "MissingParametersError": closed_object(
            {
                "code": {"const": "missing_parameters"},
                "message": message,
                "parameters": {"type": "array", "items": {"type": "string"}},
                "inner_error": closed_object({"name": {"type": "string"}, "message": {"type": "string"}}),
            },
            description="A required body root key or parameter is missing; parameters names it.",
        ),
        "ValidationError": closed_object(
            {
                "code": {"const": "validation_failed"},
                "message": message,
                "validation_errors": {
                    "type": "array",
                    "items": {"type": "string"},
                    "description": "One entry per problem, each starting with the field's name.",
                },
            },
            description="The request is well formed but some values are not acceptable.",
        ),
    }


def _listing(item: Schema, description: str) -> Schema:
    link = nullable(
        "string",
        description="A path starting with /api/v1 with the opaque __nonce and __token parameters; "
        "append it to the nation's base URL. Null on the last (or first) page.",
    )
    return closed_object(
        {"results": {"type": "array", "items": item}, "next": link, "prev": dict(link)},
        description=description,
    )


def _record_schemas() -> dict[str, Schema]:
    author_id = nullable("integer", description="The token owner's person record on this nation, if any.")
    return {
        "Tagging": closed_object(
            {"person_id": {"type": "integer"}, "tag": {"type": "string"}, "created_at": TIMESTAMP},
            description="A tag on a person.",
        ),
        "Tag": closed_object(
            {"name": {"type": "string"}, "taggings_count": {"type": "integer", "minimum": 0}},
            description="A tag of the nation, with how many people have it.",
        ),
        "List": closed_object(
            {
                "id": {"type": "integer"},
                "name": {"type": "string"},
                "slug": {"type": "string"},
                "author_id": nullable("integer"),
                "count": {"type": "integer", "minimum": 0, "description": "How many people are on the list."},
            },
            description="A named list of people.",
        ),
        "Listing": closed_object(
            {"id": {"type": "integer"}, "person_id": {"type": "integer"}, "list_id": {"type": "integer"}},
            description="One person's place on a list.",
        ),
        "Note": closed_object(
            {"person_id": {"type": "integer"}, "author_id": author_id, "content": {"type": "string"}},
            description="A private note on a person.",
        ),
        "Capital": closed_object(
            {
                "id": {"type": "integer"},
                "person_id": {"type": "integer"},
                "author_id": author_id,
                "type": {"type": "string"},
                "amount_in_cents": {"type": "integer"},
                "created_at": TIMESTAMP,
                "content": NULLABLE_STRING,
            },
            description="Political capital given to (positive) or taken from (negative) a person.",
        ),
        "Contact": closed_object(
            {
                "type_id": nullable("integer"),
                "method": NULLABLE_STRING,
                "sender_id": nullable("integer"),
                "recipient_id": {"type": "integer"},
                "status": NULLABLE_STRING,
                "broadcaster_id": nullable("integer"),
                "note": NULLABLE_STRING,
                "created_at": TIMESTAMP,
            },
            description="A contact with a person: a call, a visit, an e-mail.",
        ),
        "CustomField": closed_object(
            {
                "id": {"type": "integer"},
                "slug": {"type": "string", "description": "The key of the field's value on person objects."},
                "name": {"type": "string"},
                "type": {"type": "string", "enum": ["text", "number", "checkbox"]},
                "created_at": TIMESTAMP,
            },
            description="A field the nation adds to its people.",
        ),
        "EmailAddress": closed_object(
            {
                "email_address": {"type": "string"},
                "email_number": {"type": "integer", "minimum": 1, "maximum": 4},
                "is_bad": {"type": "boolean"},
                "is_primary": {"type": "boolean"},
            },
            description="One of a person's e-mail addresses, email1 to email4.",
        ),
    }


def component_schemas() -> dict[str, Schema]:
    """Return the ``components.schemas`` section of the document."""
    abbreviated = _abbreviated_properties()
    full = {**abbreviated, **_full_only_properties()}
    schemas: dict[str, Schema] = {
        "Address": _address(),
        "AddressWrite": _address_write(),
        "AbbreviatedPerson": _person(
            abbreviated,
            "A person in NationBuilder's abbreviated representation, followed by one key per custom field.",
        ),
        "FullPerson": _person(
            full, "A person in NationBuilder's full representation, followed by one key per custom field."
        ),
        "PersonWrite": _person_write(),
        "PersonBody": closed_object(
            {
                "person": ref("FullPerson"),
                "precinct": nullable("object", description="Not stored yet: always null."),
            },
            description="One person in the full representation, as reads and writes of a person return it.",
        ),
        "PeopleListing": _listing(ref("AbbreviatedPerson"), "A page of people."),
        "PeoplePageNumbered": closed_object(
            {
                "page": {"type": "integer", "minimum": 1},
                "total_pages": {"type": "integer", "minimum": 1},
                "per_page": {"type": "integer", "minimum": 1, "maximum": 100},
                "total": {"type": "integer", "minimum": 0},
                "results": {"type": "array", "items": ref("AbbreviatedPerson")},
            },
            description="The older page-numbered shape, for requests with page or per_page and no __token.",
        ),
        "TagListing": _listing(ref("Tag"), "A page of the nation's tags."),
        "ListListing": _listing(ref("List"), "A page of the nation's lists."),
        "CapitalListing": _listing(ref("Capital"), "A page of a person's political capital."),
        "ContactListing": _listing(ref("Contact"), "A page of a person's contacts."),
        "CustomFieldListing": _listing(ref("CustomField"), "A page of the nation's custom fields."),
    }
    schemas.update(_error_schemas())
    schemas.update(_record_schemas())
    return schemas
