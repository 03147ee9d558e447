"""GET /people/search, /people/nearby and /people/match."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any, cast

from fastapi import APIRouter
from sqlalchemy import ColumnElement, Select, func, select
from sqlalchemy.orm import Session
from starlette.datastructures import QueryParams
from starlette.requests import Request

from citizenry.api.access import authenticate_caller, read_api_request
from citizenry.api.errors import ApiError, BadRequest, MissingParameters, MultipleMatches
from citizenry.api.pagination import PageRequest, PageTokens, is_legacy_request, page_request, read_page
from citizenry.api.people import avatar_url_for, legacy_people_listing, people_listing, single_person
from citizenry.api.person_custom import load_custom_fields
from citizenry.api.person_json import SELECT_LISTED
from citizenry.context import app_database, app_settings
from citizenry.json_codec import JSONResponse
from citizenry.store.models import CustomField, Person

router = APIRouter()

#: Filters compared with the column, ignoring case: NationBuilder matches whole values, not prefixes.
TEXT_FILTERS = ("first_name", "last_name", "sex")
#: Filters compared exactly.
ID_FILTERS = (
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
ADDRESS_FILTERS = ("city", "state")
OTHER_FILTERS = ("birthdate", "updated_since", "with_mobile")
SEARCH_FILTERS = frozenset(TEXT_FILTERS + ID_FILTERS + ADDRESS_FILTERS + OTHER_FILTERS)
#: Parameters that are not filters.
CONTROL_PARAMETERS = frozenset(
    {"limit", "__nonce", "__token", "access_token", "token_paginator", "format", "page", "per_page"}
)


class NoMatches(ApiError):
    status = 400
    code = "no_matches"
    default_message = "No people match the given criteria."


def custom_filter_name(slug: str) -> str:
    return f"custom_values[{slug}]"


def read_filters(params: QueryParams, allowed: frozenset[str]) -> dict[str, str]:
    """Return the filters of a query string; unknown, repeated or array names are a 400."""
    filters: dict[str, str] = {}
    for key, value in params.multi_items():
        if key in CONTROL_PARAMETERS:
            continue
        if key not in allowed and key.startswith("custom_values["):
            raise BadRequest(f"'{key[:64]}' names no custom field of this nation.")
        if key not in allowed and ("[" in key or "]" in key):
            raise BadRequest(f"The parameter '{key[:64]}' is not supported: filters take one value each.")
        if key not in allowed:
            raise BadRequest(f"'{key[:64]}' is not a filter of this search.")
        if key in filters:
            raise BadRequest(f"The filter '{key}' is given more than once.")
        if len(value) > 255:
            raise BadRequest(f"The filter '{key}' is longer than 255 characters.")
        if "\x00" in value:
            raise BadRequest(f"The filter '{key}' contains a NUL character.")
        filters[key] = value
    return filters


def filtered_page_request(tokens: PageTokens, params: QueryParams, allowed: frozenset[str]) -> PageRequest:
    """Return the page asked for: a later page keeps the filters its token seals, a first page reads them."""
    page = page_request(tokens, params)
    if page.after_id is None and page.before_id is None:
        page = PageRequest(limit=page.limit, filters=read_filters(params, allowed))
    return page


def _parse_time(value: str) -> datetime:
    try:
        moment = datetime.fromisoformat(value.strip())
        # In UTC, as the database compares it; a time at the edge of the calendar overflows.
        return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(UTC)
    except (ValueError, OverflowError):
        raise BadRequest(
            "updated_since must be an ISO 8601 date or time, such as 2024-05-01T12:00:00Z."
        ) from None


def _custom_condition(field: CustomField, value: str) -> ColumnElement[bool]:
    stored = Person.custom_values[str(field.id)]
    if field.type == "number":
        try:
            number = float(value)
        except ValueError:
            number = math.nan
        if not math.isfinite(number):
            raise BadRequest(f"custom_values[{field.slug}] must be a finite number.")
        return cast(ColumnElement[bool], stored.as_float() == number)
    if field.type == "checkbox":
        if value.lower() not in {"true", "false", "1", "0"}:
            raise BadRequest(f"custom_values[{field.slug}] must be true or false.")
        return cast(ColumnElement[bool], stored.as_boolean() == (value.lower() in {"true", "1"}))
    return func.lower(stored.as_string()) == value.lower()


def apply_filters(
    query: Select[Any], filters: dict[str, str], custom_fields: dict[str, CustomField]
) -> Select[Any]:
    by_filter = {custom_filter_name(slug): field for slug, field in custom_fields.items()}
    for name, value in filters.items():
        if name.startswith("custom_values["):
            if name not in by_filter:  # deleted since the first page
                raise BadRequest("A custom field of this search no longer exists; search again.")
            query = query.where(_custom_condition(by_filter[name], value))
    for name in TEXT_FILTERS:
        if name in filters:
            query = query.where(func.lower(getattr(Person, name)) == filters[name].lower())
    for name in ID_FILTERS:
        if name in filters:
            query = query.where(getattr(Person, name) == filters[name])
    for name in ADDRESS_FILTERS:
        if name in filters:
            query = query.where(func.lower(Person.primary_address[name].as_string()) == filters[name].lower())
    if "birthdate" in filters:
        try:
            query = query.where(
                Person.birthdate == datetime.strptime(filters["birthdate"], "%Y-%m-%d").date()
            )
        except ValueError:
            raise BadRequest("birthdate must be a date as YYYY-MM-DD.") from None
    if "updated_since" in filters:
        query = query.where(Person.updated_at >= _parse_time(filters["updated_since"]))
    if filters.get("with_mobile", "").lower() in {"1", "true"}:
        query = query.where(Person.mobile.is_not(None))
    return query


@router.get("/api/v1/people/search")
async def people_search(request: Request) -> JSONResponse:
    """Search people by the filters NationBuilder offers; the page token keeps the filters."""
    api_request = read_api_request(request)
    params = request.query_params
    avatar_url = avatar_url_for(request)
    secret_key = app_settings(request).secret_key

    def read(session: Session) -> dict[str, Any]:
        caller = authenticate_caller(session, api_request)
        custom_fields = load_custom_fields(session, caller.nation.id)
        allowed = SEARCH_FILTERS | {custom_filter_name(slug) for slug in custom_fields}
        tokens = PageTokens(secret_key, nation_id=caller.nation.id, listing="people-search")
        page = filtered_page_request(tokens, params, allowed)
        people = SELECT_LISTED.where(Person.nation_id == caller.nation.id)
        if is_legacy_request(params):
            query = apply_filters(people, read_filters(params, allowed), custom_fields)
            return legacy_people_listing(session, query, params, avatar_url)
        query = apply_filters(people, page.filters, custom_fields)
        listing = read_page(session, query, Person.id, page, tokens=tokens, path="/api/v1/people/search")
        return people_listing(session, listing, avatar_url)

    return JSONResponse(await app_database(request).run(read))


EARTH_RADIUS_MILES = 3958.8
MILES_PER_DEGREE_OF_LATITUDE = math.pi * EARTH_RADIUS_MILES / 180
MAX_DISTANCE_MILES = 1000.0
NEARBY_FILTERS = frozenset({"location", "distance"})


def _read_location(filters: dict[str, str]) -> tuple[float, float, float]:
    """Return the latitude, longitude and distance in miles of a nearby search."""
    if "location" not in filters:
        raise MissingParameters("location")
    try:
        latitude, longitude = (float(part) for part in filters["location"].split(","))
    except ValueError:
        raise BadRequest(
            "location must be a latitude and a longitude, as in location=40.71,-74.01."
        ) from None
    if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
        raise BadRequest("location must have a latitude from -90 to 90 and a longitude from -180 to 180.")
    try:
        distance = float(filters.get("distance", "1"))
    except ValueError:
        distance = math.nan
    if not 0 < distance <= MAX_DISTANCE_MILES:
        raise BadRequest(f"distance must be a number of miles above 0 and at most {MAX_DISTANCE_MILES:g}.")
    return latitude, longitude, distance


def within(query: Select[Any], latitude: float, longitude: float, distance: float) -> Select[Any]:
    """Keep the people whose primary address is within ``distance`` miles (great-circle)."""
    # A box on the indexed latitude first, then the haversine formula, compared without asin
    # and sqrt: hav(d / R) >= sin²(dlat / 2) + cos(lat1) cos(lat2) sin²(dlng / 2).
    span = distance / MILES_PER_DEGREE_OF_LATITUDE
    query = query.where(Person.latitude.between(latitude - span, latitude + span))
    half_dlat = func.sin(func.radians(Person.latitude - latitude) / 2)
    half_dlng = func.sin(func.radians(Person.longitude - longitude) / 2)
    cos_product = math.cos(math.radians(latitude)) * func.cos(func.radians(Person.latitude))
    limit = math.sin(distance / EARTH_RADIUS_MILES / 2) ** 2
    return query.where(half_dlat * half_dlat + cos_product * half_dlng * half_dlng <= limit)


@router.get("/api/v1/people/nearby")
async def people_nearby(request: Request) -> JSONResponse:
    """List the people within ``distance`` miles (default 1) of ``location`` ("lat,lng")."""
    api_request = read_api_request(request)
    params = request.query_params
    avatar_url = avatar_url_for(request)
    secret_key = app_settings(request).secret_key

    def read(session: Session) -> dict[str, Any]:
        caller = authenticate_caller(session, api_request)
        tokens = PageTokens(secret_key, nation_id=caller.nation.id, listing="people-nearby")
        page = filtered_page_request(tokens, params, NEARBY_FILTERS)
        query = within(
            SELECT_LISTED.where(Person.nation_id == caller.nation.id), *_read_location(page.filters)
        )
        listing = read_page(session, query, Person.id, page, tokens=tokens, path="/api/v1/people/nearby")
        return people_listing(session, listing, avatar_url)

    return JSONResponse(await app_database(request).run(read))


MATCH_FILTERS = frozenset({"email", "first_name", "last_name", "phone", "mobile"})


@router.get("/api/v1/people/match")
async def people_match(request: Request) -> JSONResponse:
    """Return the one person matching ``email`` (and the older name and phone filters)."""
    api_request = read_api_request(request)
    filters = read_filters(request.query_params, MATCH_FILTERS)
    avatar_url = avatar_url_for(request)

    def match(session: Session) -> dict[str, Any]:
        caller = authenticate_caller(session, api_request)
        if not filters:
            raise BadRequest("Give at least one of email, first_name, last_name, phone or mobile.")
        query = select(Person).where(Person.nation_id == caller.nation.id)
        for name, value in filters.items():
            column = getattr(Person, name)
            query = query.where(func.lower(column) == value.lower() if name != "phone" else column == value)
        people = list(session.scalars(query.order_by(Person.id).limit(2)))
        if not people:
            raise NoMatches()
        if len(people) > 1:
            raise MultipleMatches()
        return single_person(session, people[0], avatar_url)

    return JSONResponse(await app_database(request).run(match))
