"""Lists of API v1: the nation's lists, their people, and tags for everyone on a list."""

from __future__ import annotations

import re
from typing import Any

from fastapi import APIRouter
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import Response

from citizenry.api.access import Caller, authenticate_caller, read_api_request
from citizenry.api.bodies import RawBody, is_id, parse_object, parse_root, read_body
from citizenry.api.errors import MissingParameters, NotFound, ValidationFailed
from citizenry.api.pagination import PageTokens, page_request, read_page
from citizenry.api.people import avatar_url_for, find_person, people_listing
from citizenry.api.people_write import add_tags
from citizenry.api.person_json import SELECT_LISTED
from citizenry.api.person_write import MAX_STRING
from citizenry.api.tags import remove_tags, tag_names
from citizenry.context import app_database, app_settings
from citizenry.json_codec import JSONResponse
from citizenry.store.models import ListMembership, PeopleList, Person

router = APIRouter()

#: Maximum number of people one request may add to or remove from a list.
MAX_PEOPLE_IDS = 1000


def _list_json(session: Session, row: PeopleList) -> dict[str, Any]:
    count = session.scalar(select(func.count()).where(ListMembership.list_id == row.id)) or 0
    return {"id": row.id, "name": row.name, "slug": row.slug, "author_id": row.author_id, "count": count}


def _find_list(session: Session, caller: Caller, list_id: str) -> PeopleList:
    if not (list_id.isascii() and list_id.isdigit() and len(list_id) <= 18):
        raise NotFound()
    row = session.scalar(
        select(PeopleList).where(PeopleList.nation_id == caller.nation.id, PeopleList.id == int(list_id))
    )
    if row is None:
        raise NotFound()
    return row


def slugify(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")[:MAX_STRING] or "list"


def slug_taken(session: Session, nation_id: int, row: PeopleList) -> bool:
    """Tell whether another list of the nation has ``row``'s slug, before ``row`` is written."""
    with session.no_autoflush:
        owner_id = session.scalar(
            select(PeopleList.id).where(
                PeopleList.nation_id == nation_id, PeopleList.slug == row.slug, PeopleList.id != row.id
            )
        )
    return owner_id is not None


def _apply_list_fields(session: Session, caller: Caller, row: PeopleList, data: dict[str, Any]) -> None:
    errors: list[str] = []
    for name in ("name", "slug"):
        if name in data:
            value = data[name]
            if not isinstance(value, str) or not value.strip() or len(value) > MAX_STRING or "\x00" in value:
                errors.append(f"{name} must be text of 1 to {MAX_STRING} characters")
            else:
                setattr(row, name, value.strip())
    if "author_id" in data:
        author_id = data["author_id"]
        if author_id is not None and (
            not is_id(author_id)
            or session.scalar(
                select(Person.id).where(Person.nation_id == caller.nation.id, Person.id == author_id)
            )
            is None
        ):
            errors.append("author_id must be the id of a person of this nation")
        else:
            row.author_id = author_id
    if not row.name:
        errors.append("name must be text of 1 to 255 characters")
    row.slug = row.slug or slugify(row.name or "")
    if slug_taken(session, caller.nation.id, row):
        errors.append("slug is already used by another list")
    if errors:
        raise ValidationFailed(errors)


def _people_ids(session: Session, caller: Caller, body: RawBody) -> list[int]:
    """Read ``{"people_ids": [...]}``: ids of people of this nation, or a 400 naming the others."""
    ids = parse_object(body).get("people_ids")
    if ids is None:
        raise MissingParameters("people_ids")
    if (
        not isinstance(ids, list)
        or len(ids) > MAX_PEOPLE_IDS
        or not all(isinstance(i, int) and not isinstance(i, bool) for i in ids)
    ):
        raise ValidationFailed([f"people_ids must be a list of at most {MAX_PEOPLE_IDS} person ids"])
    requested_ids = set(ids)
    # An id past the database's 64-bit range names no one; it never reaches the query.
    possible = {person_id for person_id in requested_ids if is_id(person_id)}
    query = select(Person.id).where(Person.nation_id == caller.nation.id, Person.id.in_(possible))
    found = set(session.scalars(query))
    missing = sorted(requested_ids - found)
    if missing:
        raise ValidationFailed([f"no person has the id {person_id}" for person_id in missing[:20]])
    return sorted(found)


def add_members(session: Session, row: PeopleList, person_ids: list[int]) -> None:
    present = set(
        session.scalars(
            select(ListMembership.person_id).where(
                ListMembership.list_id == row.id, ListMembership.person_id.in_(person_ids)
            )
        )
    )
    session.add_all(ListMembership(list_id=row.id, person_id=i) for i in person_ids if i not in present)
    session.flush()


def _members(row: PeopleList) -> Any:
    return select(ListMembership.person_id).where(ListMembership.list_id == row.id)


@router.get("/api/v1/lists")
async def lists_index(request: Request) -> JSONResponse:
    api_request = read_api_request(request)
    params = request.query_params
    secret_key = app_settings(request).secret_key

    def read(session: Session) -> dict[str, Any]:
        caller = authenticate_caller(session, api_request)
        tokens = PageTokens(secret_key, nation_id=caller.nation.id, listing="lists")
        query = select(PeopleList).where(PeopleList.nation_id == caller.nation.id)
        page = read_page(
            session, query, PeopleList.id, page_request(tokens, params), tokens=tokens, path="/api/v1/lists"
        )
        return {
            "results": [_list_json(session, row) for row in page.rows],
            "next": page.next,
            "prev": page.prev,
        }

    return JSONResponse(await app_database(request).run(read))


@router.post("/api/v1/lists", status_code=201)
async def lists_create(request: Request) -> JSONResponse:
    api_request = read_api_request(request)
    body = await read_body(request)

    def create(session: Session) -> dict[str, Any]:
        caller = authenticate_caller(session, api_request)
        row = PeopleList(nation_id=caller.nation.id, name="", slug="")
        _apply_list_fields(session, caller, row, parse_root(body, "list"))
        session.add(row)
        session.flush()
        return {"list": _list_json(session, row)}

    return JSONResponse(await app_database(request).run(create), status_code=201)


@router.put("/api/v1/lists/{list_id}")
async def lists_update(request: Request, list_id: str) -> JSONResponse:
    api_request = read_api_request(request)
    body = await read_body(request)

    def update(session: Session) -> dict[str, Any]:
        caller = authenticate_caller(session, api_request)
        row = _find_list(session, caller, list_id)
        _apply_list_fields(session, caller, row, parse_root(body, "list"))
        session.flush()
        return {"list": _list_json(session, row)}

    return JSONResponse(await app_database(request).run(update))


@router.delete("/api/v1/lists/{list_id}", status_code=204)
async def lists_destroy(request: Request, list_id: str) -> Response:
    api_request = read_api_request(request)

    def destroy(session: Session) -> None:
        caller = authenticate_caller(session, api_request)
        session.delete(_find_list(session, caller, list_id))

    await app_database(request).run(destroy)
    return Response(status_code=204)


@router.get("/api/v1/lists/{list_id}/people")
async def lists_people(request: Request, list_id: str) -> JSONResponse:
    api_request = read_api_request(request)
    params = request.query_params
    avatar_url = avatar_url_for(request)
    secret_key = app_settings(request).secret_key

    def read(session: Session) -> dict[str, Any]:
        caller = authenticate_caller(session, api_request)
        row = _find_list(session, caller, list_id)
        tokens = PageTokens(secret_key, nation_id=caller.nation.id, listing=f"list:{row.id}")
        query = SELECT_LISTED.where(Person.nation_id == caller.nation.id, Person.id.in_(_members(row)))
        path = f"/api/v1/lists/{row.id}/people"
        page = read_page(session, query, Person.id, page_request(tokens, params), tokens=tokens, path=path)
        return people_listing(session, page, avatar_url)

    return JSONResponse(await app_database(request).run(read))


@router.post("/api/v1/lists/{list_id}/people", status_code=204)
async def lists_add_people(request: Request, list_id: str) -> Response:
    api_request = read_api_request(request)
    body = await read_body(request)

    def add(session: Session) -> None:
        caller = authenticate_caller(session, api_request)
        row = _find_list(session, caller, list_id)
        add_members(session, row, _people_ids(session, caller, body))

    await app_database(request).run(add)
    return Response(status_code=204)


@router.delete("/api/v1/lists/{list_id}/people", status_code=204)
async def lists_remove_people(request: Request, list_id: str) -> Response:
    api_request = read_api_request(request)
    body = await read_body(request)

    def remove(session: Session) -> None:
        caller = authenticate_caller(session, api_request)
        row = _find_list(session, caller, list_id)
        ids = _people_ids(session, caller, body)
        session.execute(
            delete(ListMembership).where(ListMembership.list_id == row.id, ListMembership.person_id.in_(ids))
        )

    await app_database(request).run(remove)
    return Response(status_code=204)


@router.post("/api/v1/lists/{list_id}/listings", status_code=201)
async def listings_create(request: Request, list_id: str) -> JSONResponse:
    """Add one person the older way, with ``{"listing": {"person_id": n}}``."""
    api_request = read_api_request(request)
    body = await read_body(request)

    def create(session: Session) -> dict[str, Any]:
        caller = authenticate_caller(session, api_request)
        row = _find_list(session, caller, list_id)
        person_id = parse_root(body, "listing").get("person_id")
        try:
            person = find_person(session, caller, str(person_id)) if isinstance(person_id, int) else None
        except NotFound:
            person = None
        if person is None:
            raise ValidationFailed(["person_id must be the id of a person of this nation"])
        add_members(session, row, [person.id])
        membership_id = session.scalar(
            select(ListMembership.id).where(
                ListMembership.list_id == row.id, ListMembership.person_id == person.id
            )
        )
        return {"listing": {"id": membership_id, "person_id": person.id, "list_id": row.id}}

    return JSONResponse(await app_database(request).run(create), status_code=201)


@router.delete("/api/v1/lists/{list_id}/listings/{person_id}", status_code=204)
async def listings_destroy(request: Request, list_id: str, person_id: str) -> Response:
    api_request = read_api_request(request)

    def destroy(session: Session) -> None:
        caller = authenticate_caller(session, api_request)
        row = _find_list(session, caller, list_id)
        person = find_person(session, caller, person_id)
        session.execute(
            delete(ListMembership).where(
                ListMembership.list_id == row.id, ListMembership.person_id == person.id
            )
        )

    await app_database(request).run(destroy)
    return Response(status_code=204)


async def _tag_members(request: Request, list_id: str, tag: str, *, add: bool) -> Response:
    api_request = read_api_request(request)

    def apply(session: Session) -> None:
        caller = authenticate_caller(session, api_request)
        row = _find_list(session, caller, list_id)
        names = tag_names(tag)
        for person in session.scalars(select(Person).where(Person.id.in_(_members(row)))):
            if add:
                add_tags(session, person, names)
            else:
                remove_tags(session, person, names)

    await app_database(request).run(apply)
    return Response(status_code=204)


@router.post("/api/v1/lists/{list_id}/tag/{tag:path}", status_code=204)
async def lists_add_tag(request: Request, list_id: str, tag: str) -> Response:
    """Tag everyone on the list. NationBuilder does this later; Citizenry does it at once."""
    return await _tag_members(request, list_id, tag, add=True)


@router.delete("/api/v1/lists/{list_id}/tag/{tag:path}", status_code=204)
async def lists_remove_tag(request: Request, list_id: str, tag: str) -> Response:
    return await _tag_members(request, list_id, tag, add=False)
