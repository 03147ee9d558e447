"""People writes of API v1: create, update, push, add and destroy."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import APIRouter
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import Response

from citizenry.api.access import Caller, authenticate_caller, read_api_request
from citizenry.api.bodies import parse_root, read_body
from citizenry.api.errors import MultipleMatches
from citizenry.api.people import avatar_url_for, find_person, single_person
from citizenry.api.person_custom import load_custom_fields
from citizenry.api.person_write import PersonChanges, apply_changes, check_identity, validate_person
from citizenry.context import app_database
from citizenry.json_codec import JSONResponse
from citizenry.store.locks import lock_for_write
from citizenry.store.models import Person, Tag, Tagging

logger = logging.getLogger(__name__)

router = APIRouter()

#: Fields push and add match on besides the e-mail address, as NationBuilder's push does.
MATCH_IDS = (
    "civicrm_id",
    "county_file_id",
    "dw_id",
    "external_id",
    "ngp_id",
    "salesforce_id",
    "van_id",
)


def add_tags(session: Session, person: Person, names: list[str]) -> None:
    """Tag the person; tags are created on first use and existing taggings stay."""
    for name in names:
        tag = session.scalar(select(Tag).where(Tag.nation_id == person.nation_id, Tag.name == name))
        if tag is None:
            tag = Tag(nation_id=person.nation_id, name=name)
            session.add(tag)
            session.flush()
        exists = session.scalar(
            select(Tagging.id).where(Tagging.person_id == person.id, Tagging.tag_id == tag.id)
        )
        if exists is None:
            session.add(Tagging(person_id=person.id, tag_id=tag.id))
    session.flush()


def _person_body(session: Session, person: Person, avatar_url: str) -> dict[str, Any]:
    session.flush()
    session.refresh(person)
    return single_person(session, person, avatar_url)


def _create(session: Session, caller: Caller, changes: PersonChanges) -> Person:
    person = Person(nation_id=caller.nation.id, extra={})
    apply_changes(person, changes, overwrite=True)
    check_identity(person)
    session.add(person)
    session.flush()
    add_tags(session, person, changes.tags)
    logger.info("created person id=%s on nation id=%s", person.id, caller.nation.id)
    return person


@router.post("/api/v1/people", status_code=201)
async def people_create(request: Request) -> JSONResponse:
    """Create a person: 201 with the full representation."""
    api_request = read_api_request(request)
    body = await read_body(request)
    avatar_url = avatar_url_for(request)

    def create(session: Session) -> dict[str, Any]:
        caller = authenticate_caller(session, api_request)
        changes = validate_person(parse_root(body, "person"), load_custom_fields(session, caller.nation.id))
        return _person_body(session, _create(session, caller, changes), avatar_url)

    return JSONResponse(await app_database(request).run(create), status_code=201)


def _match(session: Session, caller: Caller, changes: PersonChanges) -> list[Person]:
    """Find the people a push matches: by e-mail (case-insensitive, '+' literal) or external ids."""
    conditions = []
    email = changes.match_email()
    if email:
        conditions.append(func.lower(Person.email) == email.lower())
    for name in MATCH_IDS:
        value = changes.columns.get(name)
        if value:
            conditions.append(getattr(Person, name) == value)
    if not conditions:
        return []
    query = select(Person).where(Person.nation_id == caller.nation.id, or_(*conditions)).order_by(Person.id)
    return list(session.scalars(query.limit(2)))


async def _upsert(request: Request, *, overwrite: bool) -> JSONResponse:
    api_request = read_api_request(request)
    body = await read_body(request)
    avatar_url = avatar_url_for(request)

    def upsert(session: Session) -> tuple[int, dict[str, Any]]:
        caller = authenticate_caller(session, api_request)
        changes = validate_person(parse_root(body, "person"), load_custom_fields(session, caller.nation.id))
        email = changes.match_email() or ""
        # Concurrent pushes of one new person must create it once.
        lock_for_write(session, caller.nation.id, f"person:{email.lower()}")
        matches = _match(session, caller, changes)
        if len(matches) > 1:
            raise MultipleMatches()
        if not matches:
            return 201, _person_body(session, _create(session, caller, changes), avatar_url)
        person = matches[0]
        apply_changes(person, changes, overwrite=overwrite)
        check_identity(person)
        add_tags(session, person, changes.tags)
        return 200, _person_body(session, person, avatar_url)

    status, answer = await app_database(request).run(upsert)
    return JSONResponse(answer, status_code=status)


@router.put("/api/v1/people/push")
async def people_push(request: Request) -> JSONResponse:
    """Update the matching person, overwriting, or create one: 200 or 201."""
    return await _upsert(request, overwrite=True)


@router.put("/api/v1/people/add")
async def people_add(request: Request) -> JSONResponse:
    """Like push, but fill only the fields the matching person has no value for."""
    return await _upsert(request, overwrite=False)


@router.put("/api/v1/people/{person_id}")
async def people_update(request: Request, person_id: str) -> JSONResponse:
    """Update a person; tags sent are added to the existing ones."""
    api_request = read_api_request(request)
    body = await read_body(request)
    avatar_url = avatar_url_for(request)

    def update(session: Session) -> dict[str, Any]:
        caller = authenticate_caller(session, api_request)
        person = find_person(session, caller, person_id)
        changes = validate_person(parse_root(body, "person"), load_custom_fields(session, caller.nation.id))
        apply_changes(person, changes, overwrite=True)
        check_identity(person)
        add_tags(session, person, changes.tags)
        return _person_body(session, person, avatar_url)

    return JSONResponse(await app_database(request).run(update))


@router.delete("/api/v1/people/{person_id}", status_code=204)
async def people_destroy(request: Request, person_id: str) -> Response:
    """Delete a person: 204 with no body."""
    api_request = read_api_request(request)

    def destroy(session: Session) -> None:
        caller = authenticate_caller(session, api_request)
        person = find_person(session, caller, person_id)
        session.delete(person)
        logger.info("deleted person id=%s on nation id=%s", person.id, caller.nation.id)

    await app_database(request).run(destroy)
    return Response(status_code=204)
