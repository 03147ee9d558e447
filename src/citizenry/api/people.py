"""People endpoints of API v1."""

from __future__ import annotations

import logging
from collections import defaultdict
from typing import Any

from fastapi import APIRouter
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from starlette.requests import Request

from citizenry.api.access import Caller, authenticate_caller, owner_person, read_api_request
from citizenry.api.errors import NotFound
from citizenry.api.pagination import (
    Page,
    PageTokens,
    is_legacy_request,
    page_request,
    read_legacy_page,
    read_page,
)
from citizenry.api.person_custom import load_custom_fields
from citizenry.api.person_full import full_person
from citizenry.api.person_json import SELECT_LISTED, abbreviated_person
from citizenry.context import app_database, app_settings
from citizenry.json_codec import JSONResponse
from citizenry.store.models import Person, Tag, Tagging

logger = logging.getLogger(__name__)

router = APIRouter()


def tags_by_person(session: Session, person_ids: list[int]) -> dict[int, list[str]]:
    tags: dict[int, list[str]] = defaultdict(list)
    if not person_ids:
        return tags
    rows = session.execute(
        select(Tagging.person_id, Tag.name)
        .join(Tag, Tag.id == Tagging.tag_id)
        .where(Tagging.person_id.in_(person_ids))
    )
    for person_id, name in rows:
        tags[person_id].append(name)
    return tags


def abbreviated_people(session: Session, people: list[Person], avatar_url: str) -> list[dict[str, Any]]:
    """Return people of one nation in the abbreviated representation, with their tags."""
    if not people:
        return []
    tags = tags_by_person(session, [person.id for person in people])
    custom_fields = load_custom_fields(session, people[0].nation_id)
    return [abbreviated_person(person, tags[person.id], avatar_url, custom_fields) for person in people]


def people_listing(session: Session, page: Page[Person], avatar_url: str) -> dict[str, Any]:
    """Return a page of people as ``{"results", "next", "prev"}`` in the abbreviated representation."""
    return {
        "results": abbreviated_people(session, page.rows, avatar_url),
        "next": page.next,
        "prev": page.prev,
    }


def legacy_people_listing(session: Session, query: Any, params: Any, avatar_url: str) -> dict[str, Any]:
    """Return people in the older page-numbered shape, with totals."""
    rows, totals = read_legacy_page(session, query, Person.id, params)
    return {**totals, "results": abbreviated_people(session, rows, avatar_url)}


def avatar_url_for(request: Request) -> str:
    """Return the URL of the picture for a person without one, on this server, never a third-party host."""
    root: str = request.scope.get("root_path", "")
    return f"{request.url.scheme}://{request.url.netloc}{root}/static/avatar.svg"


def single_person(session: Session, person: Person, avatar_url: str) -> dict[str, Any]:
    """Return ``{"person": {...}, "precinct": null}`` with the full representation."""
    tags = tags_by_person(session, [person.id])[person.id]
    custom_fields = load_custom_fields(session, person.nation_id)
    return {"person": full_person(person, tags, avatar_url, custom_fields), "precinct": None}


def find_person(session: Session, caller: Caller, person_id: str) -> Person:
    """Return the nation's person with the id in the path, or raise ``not_found``."""
    if not (person_id.isascii() and person_id.isdigit() and len(person_id) <= 18):
        raise NotFound()
    person = session.scalar(
        select(Person).where(Person.nation_id == caller.nation.id, Person.id == int(person_id))
    )
    if person is None:
        raise NotFound()
    return person


@router.get("/api/v1/people")
async def people_index(request: Request) -> JSONResponse:
    """List the nation's people, ten at a time by default, in the abbreviated representation."""
    api_request = read_api_request(request)
    params = request.query_params
    secret_key = app_settings(request).secret_key
    avatar_url = avatar_url_for(request)

    def read(session: Session) -> dict[str, Any]:
        caller = authenticate_caller(session, api_request)
        tokens = PageTokens(secret_key, nation_id=caller.nation.id, listing="people")
        query = SELECT_LISTED.where(Person.nation_id == caller.nation.id)
        if is_legacy_request(params):
            return legacy_people_listing(session, query, params, avatar_url)
        page = read_page(
            session, query, Person.id, page_request(tokens, params), tokens=tokens, path="/api/v1/people"
        )
        return people_listing(session, page, avatar_url)

    return JSONResponse(await app_database(request).run(read))


@router.get("/api/v1/people/count")
async def people_count(request: Request) -> JSONResponse:
    """Count the nation's people."""
    api_request = read_api_request(request)

    def count(session: Session) -> dict[str, int]:
        caller = authenticate_caller(session, api_request)
        total = session.scalar(
            select(func.count()).select_from(Person).where(Person.nation_id == caller.nation.id)
        )
        return {"people_count": int(total or 0)}

    return JSONResponse(await app_database(request).run(count))


@router.get("/api/v1/people/me")
async def people_me(request: Request) -> JSONResponse:
    """Show the person record of the token's owner, in the full representation."""
    api_request = read_api_request(request)
    avatar_url = avatar_url_for(request)

    def show(session: Session) -> dict[str, Any]:
        caller = authenticate_caller(session, api_request, admin_only=False)
        person = owner_person(session, caller)
        if person is None:
            raise NotFound()
        return single_person(session, person, avatar_url)

    return JSONResponse(await app_database(request).run(show))


@router.get("/api/v1/people/{person_id}")
async def people_show(request: Request, person_id: str) -> JSONResponse:
    """Show one person in the full representation; ``id_type=external`` looks up ``external_id``."""
    api_request = read_api_request(request)
    by_external_id = request.query_params.get("id_type") == "external"
    avatar_url = avatar_url_for(request)

    def show(session: Session) -> dict[str, Any]:
        caller = authenticate_caller(session, api_request)
        if not by_external_id:
            return single_person(session, find_person(session, caller, person_id), avatar_url)
        if "\x00" in person_id:  # PostgreSQL rejects text containing NUL, and no id contains one
            raise NotFound()
        person = session.scalar(
            select(Person)
            .where(Person.nation_id == caller.nation.id, Person.external_id == person_id)
            .order_by(Person.id)
            .limit(1)
        )
        if person is None:
            raise NotFound()
        return single_person(session, person, avatar_url)

    return JSONResponse(await app_database(request).run(show))


@router.get("/api/v1/people/{person_id}/register")
async def people_register(request: Request, person_id: str) -> JSONResponse:
    """Start a person's account activation: 200 ``{"status": "success"}``.

    NationBuilder e-mails the person an activation link. Citizenry assumes no mail server, so it
    records the request in the log; the person's record does not change.
    """
    api_request = read_api_request(request)

    def register(session: Session) -> dict[str, str]:
        caller = authenticate_caller(session, api_request)
        person = find_person(session, caller, person_id)
        logger.info("account activation asked for person id=%s on nation id=%s", person.id, caller.nation.id)
        return {"status": "success"}

    return JSONResponse(await app_database(request).run(register))
