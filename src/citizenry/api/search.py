"""GET /people/search and /people/match."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter
from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session
from starlette.datastructures import QueryParams
from starlette.requests import Request
from starlette.responses import JSONResponse

from citizenry.api.access import authenticate_caller, read_api_request
from citizenry.api.errors import ApiError, BadRequest, MultipleMatches
from citizenry.api.pagination import PageRequest, PageTokens, is_legacy_request, page_request, read_page
from citizenry.api.people import avatar_url_for, legacy_people_listing, people_listing, single_person
from citizenry.context import app_database, app_settings
from citizenry.store.models import Person

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


def read_filters(params: QueryParams, allowed: frozenset[str]) -> dict[str, str]:
    """Return the filters of a query string; unknown, repeated or bracketed names are a 400."""
    filters: dict[str, str] = {}
    for key, value in params.multi_items():
        if key in CONTROL_PARAMETERS:
            continue
        if "[" in key or "]" in key:
            raise BadRequest(
                f"The parameter '{key[:64]}' is not supported: "
                "custom_values and arrays are not searchable yet."
            )
        if key not in allowed:
            raise BadRequest(f"'{key[:64]}' is not a filter of this search.")
        if key in filters:
            raise BadRequest(f"The filter '{key}' is given more than once.")
        if len(value) > 255:
            raise BadRequest(f"The filter '{key}' is longer than 255 characters.")
        filters[key] = value
    return filters


def _parse_time(value: str) -> datetime:
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        raise BadRequest(
            "updated_since must be an ISO 8601 date or time, such as 2024-05-01T12:00:00Z."
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def apply_filters(query: Select[Any], filters: dict[str, str]) -> Select[Any]:
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
        tokens = PageTokens(secret_key, nation_id=caller.nation.id, listing="people-search")
        page = page_request(tokens, params)
        if page.after_id is None and page.before_id is None:
            page = PageRequest(limit=page.limit, filters=read_filters(params, SEARCH_FILTERS))
        if is_legacy_request(params):
            filters = read_filters(params, SEARCH_FILTERS)
            query = apply_filters(select(Person).where(Person.nation_id == caller.nation.id), filters)
            return legacy_people_listing(session, query, params, avatar_url)
        query = apply_filters(select(Person).where(Person.nation_id == caller.nation.id), page.filters)
        listing = read_page(session, query, Person.id, page, tokens=tokens, path="/api/v1/people/search")
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
