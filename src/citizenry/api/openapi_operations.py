"""The operations of the OpenAPI document: parameters, shared error responses and one entry per route."""

from __future__ import annotations

from typing import Any

from citizenry.api.openapi_schemas import Schema, closed_object, nullable, ref
from citizenry.api.person_records import MAX_WHOLE
from citizenry.api.person_write import MAX_STRING, MAX_TEXT

API_DESCRIPTION = """\
NationBuilder's API v1, as Citizenry serves it for one nation. Existing NationBuilder clients work
unchanged when pointed at the server URL below.

- **Authentication**: an app's access token or an API token, as `Authorization: Bearer <token>` or
  `?access_token=<token>`. Every operation except `/people/me` needs an admin's token.
- **JSON only**: an `Accept` header that excludes JSON gets 406. Request bodies are JSON objects
  sent with `Content-Type: application/json`, at most 1 MiB, wrapped in a root key such as
  `{"person": {...}}`.
- **Errors** are flat objects `{"code", "message", ...}`; clients match on `code`.
- **Paging**: listings return `{"results", "next", "prev"}`; append `next` to the server URL for the
  following page. `limit` sets the page size (default 10; values above 100 are lowered to 100).
- **Rate limit**: every response to a request with a token carries `X-RateLimit-Limit`,
  `X-RateLimit-Remaining`, `X-RateLimit-Reset` (epoch seconds) and `RateLimit-Limit`,
  `RateLimit-Remaining`, `RateLimit-Reset` (seconds). Over the limit the answer is 429 with
  `Retry-After`.
"""

TAGS = [
    {"name": "People", "description": "The nation's people: listing, search, reads and writes."},
    {"name": "Tags", "description": "Tags and the taggings of a person."},
    {"name": "Lists", "description": "Named lists of people."},
    {"name": "Person records", "description": "Private notes, political capital and contacts of a person."},
    {"name": "Custom fields", "description": "Fields the nation adds to its people."},
    {"name": "Documentation", "description": "This document and its HTML page."},
]

JSON = "application/json"


def _parameter_ref(name: str) -> Schema:
    return {"$ref": f"#/components/parameters/{name}"}


def _response_ref(name: str) -> Schema:
    return {"$ref": f"#/components/responses/{name}"}


def _query(name: str, schema: Schema, description: str) -> Schema:
    return {"name": name, "in": "query", "required": False, "schema": schema, "description": description}


def _path(name: str, schema: Schema, description: str) -> Schema:
    return {"name": name, "in": "path", "required": True, "schema": schema, "description": description}


def component_parameters() -> dict[str, Schema]:
    """Return the ``components.parameters`` section: paging controls and path ids."""
    id_schema: Schema = {"type": "integer", "minimum": 1}
    tag_description = (
        "A tag name. It may contain slashes, percent-encoded or not: a/b and a%2Fb name the same tag."
    )
    return {
        "limit": _query(
            "limit",
            {"type": "integer", "minimum": 1, "maximum": 999_999, "default": 10},
            "The page size. Values above 100 are lowered to 100.",
        ),
        "nonce": _query("__nonce", {"type": "string"}, "Copied from a next or prev link; do not build it."),
        "token": _query(
            "__token",
            {"type": "string"},
            "Copied from a next or prev link. It seals the position, the page size and the filters; "
            "a forged or foreign token is 400.",
        ),
        "page": _query(
            "page",
            {"type": "integer", "minimum": 1, "maximum": 1_000_000, "default": 1},
            "Asks for the older page-numbered shape, from page 1.",
        ),
        "per_page": _query(
            "per_page",
            {"type": "integer", "minimum": 1, "maximum": 9_999_999, "default": 10},
            "The page size of the older page-numbered shape; values above 100 are lowered to 100.",
        ),
        "token_paginator": _query(
            "token_paginator",
            {"type": "string"},
            "Any value keeps token paging even when page or per_page is given, as NationBuilder's iOS SDK "
            "asks.",
        ),
        "person_id": _path("person_id", id_schema, "A person's id."),
        "list_id": _path("list_id", id_schema, "A list's id."),
        "capital_id": _path("capital_id", id_schema, "A political capital record's id."),
        "tag": _path("tag", {"type": "string", "minLength": 1, "maxLength": MAX_STRING}, tag_description),
        "slug": _path("slug", {"type": "string", "minLength": 1, "maxLength": 64}, "A custom field's slug."),
    }


PAGING = [_parameter_ref("limit"), _parameter_ref("nonce"), _parameter_ref("token")]
PAGE_NUMBERED = [_parameter_ref("page"), _parameter_ref("per_page"), _parameter_ref("token_paginator")]


def component_headers() -> dict[str, Schema]:
    return {
        "Retry-After": {
            "description": "Seconds to wait before retrying.",
            "schema": {"type": "integer", "minimum": 0},
        },
        "WWW-Authenticate": {
            "description": 'The bearer challenge, such as Bearer realm="api", error="invalid_token".',
            "schema": {"type": "string"},
        },
    }


def _error_with_code(*codes: str) -> Schema:
    code: Schema = {"const": codes[0]} if len(codes) == 1 else {"enum": list(codes)}
    return {"allOf": [ref("Error"), {"properties": {"code": code}}]}


def _error_response(description: str, schema: Schema, headers: tuple[str, ...] = ()) -> Schema:
    response: Schema = {"description": description, "content": {JSON: {"schema": schema}}}
    if headers:
        response["headers"] = {name: {"$ref": f"#/components/headers/{name}"} for name in headers}
    return response


def component_responses() -> dict[str, Schema]:
    """Return the ``components.responses`` section: the error responses that operations share."""
    bad_request = {
        "oneOf": [
            _error_with_code("bad_request", "no_matches", "multiple_matches"),
            ref("MissingParametersError"),
            ref("ValidationError"),
        ]
    }
    return {
        "BadRequest": _error_response(
            "bad_request (a malformed parameter or body), missing_parameters (no body root key), "
            "validation_failed (unacceptable values, listed in validation_errors), or for match and "
            "push no_matches or multiple_matches.",
            bad_request,
        ),
        "Unauthorized": _error_response(
            "unauthorized: the token is missing, unknown, expired or revoked, is of another nation, or its "
            "owner is no longer a member or lacks the permission level.",
            _error_with_code("unauthorized"),
            ("WWW-Authenticate",),
        ),
        "Forbidden": _error_response(
            "insufficient_scope: in the strict profile, a valid token whose owner lacks the permission "
            "level.",
            _error_with_code("insufficient_scope"),
            ("WWW-Authenticate",),
        ),
        "NotFound": _error_response(
            "not_found: no such record, or no nation at this address.", _error_with_code("not_found")
        ),
        "NotAcceptable": _error_response(
            "not_acceptable: the Accept header excludes JSON.", _error_with_code("not_acceptable")
        ),
        "UnsupportedMediaType": _error_response(
            "unsupported_media_type: a body sent with a content type other than application/json.",
            _error_with_code("unsupported_media_type"),
        ),
        "TooManyRequests": _error_response(
            "rate_limited: too many requests with this token in the current window.",
            _error_with_code("rate_limited"),
            ("Retry-After",),
        ),
        "ServiceUnavailable": _error_response(
            "service_unavailable: the database cannot be reached.",
            _error_with_code("service_unavailable"),
            ("Retry-After",),
        ),
    }


def _json_response(description: str, schema: Schema) -> Schema:
    return {"description": description, "content": {JSON: {"schema": schema}}}


NO_CONTENT: Schema = {"description": "Done; no body."}


def _body(root: str, schema: Schema, description: str) -> Schema:
    """Describe a JSON request body ``{root: {...}}``."""
    return {
        "required": True,
        "description": description,
        "content": {
            JSON: {"schema": {"type": "object", "properties": {root: schema}, "required": [root]}},
        },
    }


def _operation(
    operation_id: str,
    summary: str,
    *,
    tag: str,
    responses: dict[str, Schema],
    description: str | None = None,
    parameters: list[Schema] | None = None,
    body: Schema | None = None,
    can_fail_validation: bool = False,
) -> Schema:
    """Build an operation that needs a token, with the error responses every such operation shares.

    ``can_fail_validation`` adds 400 for operations without a body that check their parameters.
    """
    operation: Schema = {"operationId": operation_id, "summary": summary, "tags": [tag]}
    if description:
        operation["description"] = description
    if parameters:
        operation["parameters"] = parameters
    if body is not None:
        operation["requestBody"] = body
    answers = dict(responses)
    if body is not None or can_fail_validation:
        answers["400"] = _response_ref("BadRequest")
    answers["401"] = _response_ref("Unauthorized")
    answers["403"] = _response_ref("Forbidden")
    answers["404"] = _response_ref("NotFound")
    answers["406"] = _response_ref("NotAcceptable")
    if body is not None:
        answers["415"] = _response_ref("UnsupportedMediaType")
    answers["429"] = _response_ref("TooManyRequests")
    answers["503"] = _response_ref("ServiceUnavailable")
    operation["responses"] = dict(sorted(answers.items()))
    return operation


def _person_answer(description: str) -> Schema:
    return _json_response(description, ref("PersonBody"))


#: Fields of which a person needs at least one with a value.
IDENTITY_FIELDS = ("first_name", "last_name", "email", "phone", "mobile")


def _non_blank(name: str) -> Schema:
    """Return a schema requiring ``name`` to be a string with a character other than white space."""
    return {"required": [name], "properties": {name: {"type": "string", "pattern": "\\S"}}}


def _people_paths() -> dict[str, Schema]:
    people_page = _json_response("A page of people.", ref("PeopleListing"))
    people_page_or_numbered = _json_response(
        "A page of people; with page or per_page and no __token, the older page-numbered shape.",
        {"oneOf": [ref("PeopleListing"), ref("PeoplePageNumbered")]},
    )
    person_body = _body("person", ref("PersonWrite"), "The person's fields.")
    new_person_body = _body(
        "person",
        {"allOf": [ref("PersonWrite")], "anyOf": [_non_blank(name) for name in IDENTITY_FIELDS]},
        "The person's fields. At least one of first_name, last_name, email, phone and mobile must "
        "have a value.",
    )
    search_filters = [
        _query(name, {"type": "string", "maxLength": MAX_STRING}, description)
        for name, description in (
            ("first_name", "The whole first name, ignoring case."),
            ("last_name", "The whole last name, ignoring case."),
            ("sex", "M, F or O, ignoring case."),
            ("city", "The primary address's city, ignoring case."),
            ("state", "The primary address's state, ignoring case."),
            *(
                (name, f"The exact {name}.")
                for name in (
                    "civicrm_id",
                    "county_file_id",
                    "datatrust_id",
                    "dw_id",
                    "external_id",
                    "ngp_id",
                    "pf_strat_id",
                    "rnc_id",
                    "rnc_regid",
                    "salesforce_id",
                    "state_file_id",
                    "van_id",
                )
            ),
        )
    ]
    search_filters += [
        _query("birthdate", {"type": "string", "format": "date"}, "The birth date, as YYYY-MM-DD."),
        _query(
            "updated_since",
            {"type": "string", "format": "date-time"},
            "People changed at or after this ISO 8601 time; without an offset it is UTC.",
        ),
        _query(
            "with_mobile",
            {"type": "string", "enum": ["1", "true", "0", "false"]},
            "1 or true: people with a mobile number.",
        ),
        {
            "name": "custom_values",
            "in": "query",
            "required": False,
            "style": "deepObject",
            "explode": True,
            "schema": {"type": "object", "additionalProperties": {"type": "string", "maxLength": MAX_STRING}},
            "description": "custom_values[slug]=value matches a custom field: text ignoring case, a number, "
            "or true or false for a checkbox. A slug of no custom field of the nation is 400.",
        },
    ]
    match_filters = [
        _query("email", {"type": "string", "maxLength": MAX_STRING}, "The e-mail address, ignoring case."),
        _query("first_name", {"type": "string", "maxLength": MAX_STRING}, "The first name, ignoring case."),
        _query("last_name", {"type": "string", "maxLength": MAX_STRING}, "The last name, ignoring case."),
        _query("phone", {"type": "string", "maxLength": MAX_STRING}, "The exact phone number."),
        _query("mobile", {"type": "string", "maxLength": MAX_STRING}, "The mobile number, ignoring case."),
    ]
    upsert_description = (
        "Matches on email (ignoring case, with + kept) or one of civicrm_id, county_file_id, dw_id, "
        "external_id, ngp_id, salesforce_id and van_id. Two matches are 400 multiple_matches."
    )
    show_id = _path(
        "person_id",
        {"type": "string", "minLength": 1, "maxLength": MAX_STRING, "pattern": "^[^/]+$"},
        "A person's id; with id_type=external, the person's external_id. The words count, me, search, "
        "match and nearby name other operations, so they cannot be looked up here.",
    )
    return {
        "/api/v1/people": {
            "get": _operation(
                "people_index",
                "List the nation's people",
                tag="People",
                description="People in id order, in the abbreviated representation.",
                parameters=PAGING + PAGE_NUMBERED,
                responses={"200": people_page_or_numbered},
                can_fail_validation=True,
            ),
            "post": _operation(
                "people_create",
                "Create a person",
                tag="People",
                body=new_person_body,
                responses={"201": _person_answer("The new person.")},
            ),
        },
        "/api/v1/people/count": {
            "get": _operation(
                "people_count",
                "Count the nation's people",
                tag="People",
                responses={
                    "200": _json_response(
                        "The count.", closed_object({"people_count": {"type": "integer", "minimum": 0}})
                    )
                },
            )
        },
        "/api/v1/people/me": {
            "get": _operation(
                "people_me",
                "Show the token owner's person record",
                tag="People",
                description="The person of the nation with the token owner's e-mail address, or 404. "
                "Any member whose permission level may use the API may call it.",
                responses={"200": _person_answer("The token owner's person record.")},
            )
        },
        "/api/v1/people/search": {
            "get": _operation(
                "people_search",
                "Search people",
                tag="People",
                description="Every filter given must match. An unknown, repeated or bracketed parameter "
                "(such as custom_values[...]) is 400. The page token keeps the filters.",
                parameters=search_filters + PAGING + PAGE_NUMBERED,
                responses={"200": people_page_or_numbered},
                can_fail_validation=True,
            )
        },
        "/api/v1/people/match": {
            "get": _operation(
                "people_match",
                "Find the one person matching the filters",
                tag="People",
                description="At least one filter is needed. No match is 400 no_matches; several are 400 "
                "multiple_matches.",
                parameters=match_filters,
                responses={"200": _person_answer("The matching person.")},
                can_fail_validation=True,
            )
        },
        "/api/v1/people/nearby": {
            "get": _operation(
                "people_nearby",
                "List people near a place",
                tag="People",
                description="People whose primary address lies within distance miles of location, "
                "measured along the Earth's surface, in id order. Without location the answer is 400 "
                "missing_parameters; any other parameter is 400.",
                parameters=[
                    {
                        "name": "location",
                        "in": "query",
                        "required": True,
                        "schema": {
                            "type": "string",
                            "pattern": "^-?[0-9]{1,2}(\\.[0-9]+)?,-?[0-9]{1,3}(\\.[0-9]+)?$",
                            "maxLength": MAX_STRING,
                        },
                        "description": "The centre as latitude,longitude in decimal degrees, "
                        "such as 40.71,-74.01.",
                    },
                    _query(
                        "distance",
                        {"type": "number", "exclusiveMinimum": 0, "maximum": 1000, "default": 1},
                        "The radius, in miles.",
                    ),
                    *PAGING,
                ],
                responses={"200": people_page},
                can_fail_validation=True,
            )
        },
        "/api/v1/people/push": {
            "put": _operation(
                "people_push",
                "Update the matching person, or create one",
                tag="People",
                description=upsert_description + " The matching person's fields are overwritten.",
                body=person_body,
                responses={
                    "200": _person_answer("The updated person."),
                    "201": _person_answer("The new person."),
                },
            )
        },
        "/api/v1/people/add": {
            "put": _operation(
                "people_add",
                "Fill the matching person's empty fields, or create one",
                tag="People",
                description=upsert_description + " Only fields the matching person has no value for are set.",
                body=person_body,
                responses={
                    "200": _person_answer("The updated person."),
                    "201": _person_answer("The new person."),
                },
            )
        },
        "/api/v1/people/{person_id}": {
            "get": _operation(
                "people_show",
                "Show a person",
                tag="People",
                parameters=[
                    show_id,
                    _query(
                        "id_type",
                        {"type": "string", "enum": ["external"]},
                        "external: look up by external_id.",
                    ),
                ],
                responses={"200": _person_answer("The person, in the full representation.")},
            ),
            "put": _operation(
                "people_update",
                "Update a person",
                tag="People",
                description="Sets the fields sent; tags sent are added to the existing ones.",
                parameters=[_parameter_ref("person_id")],
                body=person_body,
                responses={"200": _person_answer("The updated person.")},
            ),
            "delete": _operation(
                "people_destroy",
                "Delete a person",
                tag="People",
                parameters=[_parameter_ref("person_id")],
                responses={"204": NO_CONTENT},
            ),
        },
        "/api/v1/people/{person_id}/register": {
            "get": _operation(
                "people_register",
                "Start a person's account activation",
                tag="People",
                description="NationBuilder e-mails the person an activation link. Citizenry sends no "
                "e-mail: it logs the request and leaves the person unchanged.",
                parameters=[_parameter_ref("person_id")],
                responses={"200": _json_response("Done.", closed_object({"status": {"const": "success"}}))},
            )
        },
    }


def _tag_paths() -> dict[str, Schema]:
    tagging_body = _body(
        "tagging",
        {
            "type": "object",
            "properties": {
                "tag": {
                    "anyOf": [
                        {"type": "string", "minLength": 1, "maxLength": MAX_STRING},
                        {
                            "type": "array",
                            "items": {"type": "string", "minLength": 1, "maxLength": MAX_STRING},
                            "minItems": 1,
                            "maxItems": 100,
                        },
                    ]
                }
            },
            "required": ["tag"],
        },
        "One tag name or a list of names; names are trimmed and must not be blank.",
    )
    person = [_parameter_ref("person_id")]
    return {
        "/api/v1/people/{person_id}/taggings": {
            "get": _operation(
                "taggings_index",
                "List a person's taggings",
                tag="Tags",
                parameters=person,
                responses={
                    "200": _json_response(
                        "The person's taggings.",
                        closed_object({"taggings": {"type": "array", "items": ref("Tagging")}}),
                    )
                },
            ),
            "put": _operation(
                "taggings_add",
                "Tag a person",
                tag="Tags",
                parameters=person,
                body=tagging_body,
                responses={
                    "200": _json_response(
                        '{"tagging": ...} for one name, {"taggings": [...]} for a list of names.',
                        {
                            "oneOf": [
                                closed_object({"tagging": ref("Tagging")}),
                                closed_object({"taggings": {"type": "array", "items": ref("Tagging")}}),
                            ]
                        },
                    )
                },
            ),
            "delete": _operation(
                "taggings_remove_many",
                "Remove several tags from a person",
                tag="Tags",
                parameters=person,
                body=tagging_body,
                responses={"204": NO_CONTENT},
            ),
        },
        "/api/v1/people/{person_id}/taggings/{tag}": {
            "delete": _operation(
                "taggings_remove",
                "Remove a tag from a person",
                tag="Tags",
                description="Also 204 when the person did not have the tag.",
                parameters=[*person, _parameter_ref("tag")],
                responses={"204": NO_CONTENT},
                can_fail_validation=True,
            )
        },
        "/api/v1/tags": {
            "get": _operation(
                "tags_index",
                "List the nation's tags",
                tag="Tags",
                parameters=PAGING,
                responses={"200": _json_response("A page of tags.", ref("TagListing"))},
                can_fail_validation=True,
            )
        },
        "/api/v1/tags/{tag}/people": {
            "get": _operation(
                "tag_people",
                "List the people with a tag",
                tag="Tags",
                parameters=[_parameter_ref("tag"), *PAGING],
                responses={"200": _json_response("A page of people.", ref("PeopleListing"))},
                can_fail_validation=True,
            )
        },
    }


def _list_paths() -> dict[str, Schema]:
    list_fields = {
        "type": "object",
        "properties": {
            "name": {"type": "string", "minLength": 1, "maxLength": MAX_STRING},
            "slug": {"type": "string", "minLength": 1, "maxLength": MAX_STRING},
            "author_id": nullable("integer", description="The id of a person of this nation."),
        },
    }
    people_ids = {
        "required": True,
        "content": {
            JSON: {
                "schema": {
                    "type": "object",
                    "properties": {
                        "people_ids": {"type": "array", "items": {"type": "integer"}, "maxItems": 1000}
                    },
                    "required": ["people_ids"],
                }
            }
        },
        "description": "Ids of people of this nation; an id of no such person is 400 and changes nothing.",
    }
    list_id = [_parameter_ref("list_id")]
    one_list = _json_response("The list.", closed_object({"list": ref("List")}))
    return {
        "/api/v1/lists": {
            "get": _operation(
                "lists_index",
                "List the nation's lists",
                tag="Lists",
                parameters=PAGING,
                responses={"200": _json_response("A page of lists.", ref("ListListing"))},
                can_fail_validation=True,
            ),
            "post": _operation(
                "lists_create",
                "Create a list",
                tag="Lists",
                description="A name is required; the slug defaults to one made from the name and must be "
                "unique in the nation.",
                body=_body("list", list_fields, "The list's fields."),
                responses={"201": one_list},
            ),
        },
        "/api/v1/lists/{list_id}": {
            "put": _operation(
                "lists_update",
                "Rename a list or change its slug",
                tag="Lists",
                parameters=list_id,
                body=_body("list", list_fields, "The fields to change."),
                responses={"200": one_list},
            ),
            "delete": _operation(
                "lists_destroy",
                "Delete a list",
                tag="Lists",
                parameters=list_id,
                responses={"204": NO_CONTENT},
            ),
        },
        "/api/v1/lists/{list_id}/people": {
            "get": _operation(
                "lists_people",
                "List the people on a list",
                tag="Lists",
                parameters=[*list_id, *PAGING],
                responses={"200": _json_response("A page of people.", ref("PeopleListing"))},
                can_fail_validation=True,
            ),
            "post": _operation(
                "lists_add_people",
                "Add people to a list",
                tag="Lists",
                parameters=list_id,
                body=people_ids,
                responses={"204": NO_CONTENT},
            ),
            "delete": _operation(
                "lists_remove_people",
                "Remove people from a list",
                tag="Lists",
                parameters=list_id,
                body=people_ids,
                responses={"204": NO_CONTENT},
            ),
        },
        "/api/v1/lists/{list_id}/listings": {
            "post": _operation(
                "listings_create",
                "Add one person to a list, the older way",
                tag="Lists",
                parameters=list_id,
                body=_body(
                    "listing",
                    {
                        "type": "object",
                        "properties": {"person_id": {"type": "integer"}},
                        "required": ["person_id"],
                    },
                    "The person to add.",
                ),
                responses={"201": _json_response("The listing.", closed_object({"listing": ref("Listing")}))},
            )
        },
        "/api/v1/lists/{list_id}/listings/{person_id}": {
            "delete": _operation(
                "listings_destroy",
                "Remove one person from a list, the older way",
                tag="Lists",
                parameters=[*list_id, _parameter_ref("person_id")],
                responses={"204": NO_CONTENT},
            )
        },
        "/api/v1/lists/{list_id}/tag/{tag}": {
            "post": _operation(
                "lists_add_tag",
                "Tag everyone on a list",
                tag="Lists",
                description="Done at once, not later as NationBuilder does.",
                parameters=[*list_id, _parameter_ref("tag")],
                responses={"204": NO_CONTENT},
                can_fail_validation=True,
            ),
            "delete": _operation(
                "lists_remove_tag",
                "Remove a tag from everyone on a list",
                tag="Lists",
                parameters=[*list_id, _parameter_ref("tag")],
                responses={"204": NO_CONTENT},
                can_fail_validation=True,
            ),
        },
    }


CONTACT_METHODS = [
    "delivery",
    "door_knock",
    "email",
    "email_blast",
    "face_to_face",
    "facebook",
    "meeting",
    "phone_call",
    "robocall",
    "snail_mail",
    "text",
    "text_blast",
    "tweet",
    "video_call",
    "webinar",
    "other",
]
CONTACT_STATUSES = [
    "answered",
    "bad_info",
    "inaccessible",
    "left_message",
    "meaningful_interaction",
    "not_interested",
    "no_answer",
    "refused",
    "send_information",
    "other",
]
#: The largest political capital amount, contact type id and broadcaster id that the server accepts.


def _record_paths() -> dict[str, Schema]:
    person = [_parameter_ref("person_id")]
    whole = nullable("integer", minimum=-MAX_WHOLE, maximum=MAX_WHOLE)
    text = nullable("string", maxLength=MAX_TEXT)
    author_note = "The author is the token owner's person record: the person with the owner's e-mail address."
    return {
        "/api/v1/people/{person_id}/notes": {
            "post": _operation(
                "notes_create",
                "Add a private note to a person",
                tag="Person records",
                description=author_note,
                parameters=person,
                body=_body(
                    "note",
                    {
                        "type": "object",
                        "properties": {"content": {"type": "string", "minLength": 1, "maxLength": MAX_TEXT}},
                        "required": ["content"],
                    },
                    "The note's text.",
                ),
                responses={"200": _json_response("The note.", closed_object({"note": ref("Note")}))},
            )
        },
        "/api/v1/people/{person_id}/capitals": {
            "get": _operation(
                "capitals_index",
                "List a person's political capital",
                tag="Person records",
                parameters=[*person, *PAGING],
                responses={"200": _json_response("A page of capital records.", ref("CapitalListing"))},
                can_fail_validation=True,
            ),
            "post": _operation(
                "capitals_create",
                "Give or take political capital",
                tag="Person records",
                description=author_note,
                parameters=person,
                body=_body(
                    "capital",
                    {
                        "type": "object",
                        "properties": {
                            "amount_in_cents": {
                                "type": "integer",
                                "minimum": -MAX_WHOLE,
                                "maximum": MAX_WHOLE,
                            },
                            "content": text,
                            "type": {
                                "type": "string",
                                "minLength": 1,
                                "maxLength": 50,
                                "default": "adjustment",
                            },
                        },
                        "required": ["amount_in_cents"],
                    },
                    "The amount, negative to take capital away.",
                ),
                responses={"200": _json_response("The record.", closed_object({"capital": ref("Capital")}))},
            ),
        },
        "/api/v1/people/{person_id}/capitals/{capital_id}": {
            "delete": _operation(
                "capitals_destroy",
                "Delete a political capital record",
                tag="Person records",
                parameters=[*person, _parameter_ref("capital_id")],
                responses={"204": NO_CONTENT},
            )
        },
        "/api/v1/people/{person_id}/contacts": {
            "get": _operation(
                "contacts_index",
                "List a person's contacts",
                tag="Person records",
                parameters=[*person, *PAGING],
                responses={"200": _json_response("A page of contacts.", ref("ContactListing"))},
                can_fail_validation=True,
            ),
            "post": _operation(
                "contacts_create",
                "Record a contact with a person",
                tag="Person records",
                description="The sender defaults to the token owner's person record.",
                parameters=person,
                body=_body(
                    "contact",
                    {
                        "type": "object",
                        "properties": {
                            "method": {"anyOf": [{"enum": CONTACT_METHODS}, {"type": "null"}]},
                            "status": {"anyOf": [{"enum": CONTACT_STATUSES}, {"type": "null"}]},
                            "note": text,
                            "type_id": whole,
                            "sender_id": nullable(
                                "integer", description="The id of a person of this nation."
                            ),
                            "broadcaster_id": whole,
                        },
                    },
                    "The contact's fields, all optional.",
                ),
                responses={"200": _json_response("The contact.", closed_object({"contact": ref("Contact")}))},
            ),
        },
    }


def _custom_field_paths() -> dict[str, Schema]:
    definition = closed_object(
        {
            "name": {"type": "string", "minLength": 1, "maxLength": MAX_STRING},
            "slug": {
                "type": "string",
                "pattern": "^[a-z][a-z0-9_]{0,63}$",
                "description": "Lower-case letters, digits and underscores, starting with a letter; "
                "not the name of a standard person field nor of another custom field.",
            },
            "type": {"type": "string", "enum": ["text", "number", "checkbox"], "default": "text"},
        }
    )
    definition["required"] = ["name", "slug"]
    return {
        "/api/v1/custom_fields": {
            "get": _operation(
                "custom_fields_index",
                "List the nation's custom fields",
                tag="Custom fields",
                description="Every field, oldest first, in one page: next and prev are always null.",
                responses={"200": _json_response("The custom fields.", ref("CustomFieldListing"))},
            ),
            "post": _operation(
                "custom_fields_create",
                "Add a custom field",
                tag="Custom fields",
                description="A Citizenry addition to API v1. The slug becomes a key of every person object, "
                "and a search filter as custom_values[slug]. A nation has at most 200 custom fields.",
                body=_body("custom_field", definition, "The field's name, slug and type."),
                responses={
                    "201": _json_response(
                        "The new field.", closed_object({"custom_field": ref("CustomField")})
                    )
                },
            ),
        },
        "/api/v1/custom_fields/{slug}": {
            "delete": _operation(
                "custom_fields_destroy",
                "Delete a custom field and every person's value of it",
                tag="Custom fields",
                parameters=[_parameter_ref("slug")],
                responses={"204": NO_CONTENT},
            )
        },
    }


def _documentation_paths() -> dict[str, Schema]:
    public = {
        "404": _response_ref("NotFound"),
        "429": _response_ref("TooManyRequests"),
        "503": _response_ref("ServiceUnavailable"),
    }
    return {
        "/api/v1/openapi.json": {
            "get": {
                "operationId": "openapi_document",
                "summary": "This OpenAPI document",
                "tags": ["Documentation"],
                "description": "No token is needed. A request that sends one counts against the token's "
                "rate limit.",
                "security": [],
                "responses": {
                    "200": _json_response("The OpenAPI 3.1 document.", {"type": "object"}),
                    **public,
                    "406": _response_ref("NotAcceptable"),
                },
            }
        },
        "/api/v1/docs": {
            "get": {
                "operationId": "openapi_page",
                "summary": "This document as an HTML page",
                "tags": ["Documentation"],
                "description": "No token is needed.",
                "security": [],
                "responses": {
                    "200": {
                        "description": "The page.",
                        "content": {"text/html": {"schema": {"type": "string"}}},
                    },
                    **public,
                },
            }
        },
    }


def paths() -> dict[str, Schema]:
    """Return the ``paths`` section: every operation the server serves under /api/v1."""
    all_paths: dict[str, Any] = {}
    for part in (_people_paths(), _tag_paths(), _list_paths(), _record_paths(), _custom_field_paths()):
        all_paths.update(part)
    all_paths.update(_documentation_paths())
    return all_paths
