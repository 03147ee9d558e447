"""People tags of API v1: a person's taggings, the nation's tags, and the people with a tag.

A tag is any UTF-8 string, slashes included, so the routes take the rest of the path as the tag.
Servers decode percent-escapes before routing, so ``a%2Fb`` and ``a/b`` name the same tag.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi import APIRouter
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import Response

from citizenry.api.access import Caller, authenticate_caller, read_api_request
from citizenry.api.bodies import parse_root, read_body
from citizenry.api.errors import NotFound, ValidationFailed
from citizenry.api.pagination import PageTokens, page_request, read_page
from citizenry.api.people import avatar_url_for, find_person, people_listing
from citizenry.api.people_write import add_tags
from citizenry.api.person_json import SELECT_LISTED, iso_utc
from citizenry.api.person_write import MAX_STRING, MAX_TAGS
from citizenry.context import app_database, app_settings
from citizenry.json_codec import JSONResponse
from citizenry.store.models import Person, Tag, Tagging

router = APIRouter()


def tag_names(value: Any) -> list[str]:
    """Read ``tagging.tag``: one name or a list of names."""
    names = [value] if isinstance(value, str) else value
    if not isinstance(names, list) or not names or not all(isinstance(name, str) for name in names):
        raise ValidationFailed(["tag must be a tag name or a list of tag names"])
    cleaned = [name.strip() for name in names]
    if (
        any(not name or len(name) > MAX_STRING or "\x00" in name for name in cleaned)
        or len(cleaned) > MAX_TAGS
    ):
        raise ValidationFailed([f"tag names must have 1 to {MAX_STRING} characters, {MAX_TAGS} at most"])
    return list(dict.fromkeys(cleaned))


def path_tag(tag: str) -> str:
    """Check a tag named in the path; it is taken as it is, without trimming."""
    if not tag or len(tag) > MAX_STRING or "\x00" in tag:
        raise ValidationFailed([f"the tag in the path must have 1 to {MAX_STRING} characters and no NUL"])
    return tag


def _taggings(session: Session, person: Person, names: list[str] | None = None) -> list[dict[str, Any]]:
    query = (
        select(Tag.name, Tagging.created_at)
        .join(Tagging, Tagging.tag_id == Tag.id)
        .where(Tagging.person_id == person.id)
        .order_by(Tagging.id)
    )
    if names is not None:
        query = query.where(Tag.name.in_(names))
    return [
        {"person_id": person.id, "tag": name, "created_at": iso_utc(created_at)}
        for name, created_at in session.execute(query)
    ]


def remove_tags(session: Session, person: Person, names: list[str]) -> None:
    tag_ids = select(Tag.id).where(Tag.nation_id == person.nation_id, Tag.name.in_(names))
    session.execute(delete(Tagging).where(Tagging.person_id == person.id, Tagging.tag_id.in_(tag_ids)))


@router.get("/api/v1/people/{person_id}/taggings")
async def taggings_index(request: Request, person_id: str) -> JSONResponse:
    api_request = read_api_request(request)

    def read(session: Session) -> dict[str, Any]:
        caller = authenticate_caller(session, api_request)
        return {"taggings": _taggings(session, find_person(session, caller, person_id))}

    return JSONResponse(await app_database(request).run(read))


@router.put("/api/v1/people/{person_id}/taggings")
async def taggings_add(request: Request, person_id: str) -> JSONResponse:
    """Tag a person with one tag (``{"tagging": {...}}``) or several (``{"taggings": [...]}``)."""
    api_request = read_api_request(request)
    body = await read_body(request)

    def write(session: Session) -> dict[str, Any]:
        caller = authenticate_caller(session, api_request)
        person = find_person(session, caller, person_id)
        value = parse_root(body, "tagging").get("tag")
        names = tag_names(value)
        add_tags(session, person, names)
        taggings = _taggings(session, person, names)
        return {"taggings": taggings} if isinstance(value, list) else {"tagging": taggings[0]}

    return JSONResponse(await app_database(request).run(write))


@router.delete("/api/v1/people/{person_id}/taggings")
async def taggings_remove_many(request: Request, person_id: str) -> Response:
    """Remove the tags named in ``{"tagging": {"tag": [...]}}``: 204."""
    api_request = read_api_request(request)
    body = await read_body(request)

    def write(session: Session) -> None:
        caller = authenticate_caller(session, api_request)
        person = find_person(session, caller, person_id)
        remove_tags(session, person, tag_names(parse_root(body, "tagging").get("tag")))

    await app_database(request).run(write)
    return Response(status_code=204)


@router.delete("/api/v1/people/{person_id}/taggings/{tag:path}")
async def taggings_remove(request: Request, person_id: str, tag: str) -> Response:
    """Remove one tag, named in the path: 204, also when the person did not have it."""
    api_request = read_api_request(request)

    def write(session: Session) -> None:
        caller = authenticate_caller(session, api_request)
        remove_tags(session, find_person(session, caller, person_id), [path_tag(tag)])

    await app_database(request).run(write)
    return Response(status_code=204)


def _tokens(request: Request, caller: Caller, listing: str) -> PageTokens:
    return PageTokens(app_settings(request).secret_key, nation_id=caller.nation.id, listing=listing)


@router.get("/api/v1/tags")
async def tags_index(request: Request) -> JSONResponse:
    """List the nation's tags with how many people have each."""
    api_request = read_api_request(request)
    params = request.query_params

    def read(session: Session) -> dict[str, Any]:
        caller = authenticate_caller(session, api_request)
        tokens = _tokens(request, caller, "tags")
        query = select(Tag).where(Tag.nation_id == caller.nation.id)
        page = read_page(
            session, query, Tag.id, page_request(tokens, params), tokens=tokens, path="/api/v1/tags"
        )
        counts = dict(
            session.execute(
                select(Tagging.tag_id, func.count())
                .where(Tagging.tag_id.in_([tag.id for tag in page.rows]))
                .group_by(Tagging.tag_id)
            ).all()
        )
        results = [{"name": tag.name, "taggings_count": counts.get(tag.id, 0)} for tag in page.rows]
        return {"results": results, "next": page.next, "prev": page.prev}

    return JSONResponse(await app_database(request).run(read))


@router.get("/api/v1/tags/{tag:path}/people")
async def tag_people(request: Request, tag: str) -> JSONResponse:
    """List the people with a tag, in the abbreviated representation."""
    api_request = read_api_request(request)
    params = request.query_params
    avatar_url = avatar_url_for(request)

    def read(session: Session) -> dict[str, Any]:
        caller = authenticate_caller(session, api_request)
        tag_id = session.scalar(
            select(Tag.id).where(Tag.nation_id == caller.nation.id, Tag.name == path_tag(tag))
        )
        if tag_id is None:
            raise NotFound()
        tokens = _tokens(request, caller, f"tag:{tag_id}")
        query = SELECT_LISTED.join(Tagging, Tagging.person_id == Person.id).where(
            Person.nation_id == caller.nation.id, Tagging.tag_id == tag_id
        )
        path = f"/api/v1/tags/{quote(tag, safe='')}/people"
        page = read_page(session, query, Person.id, page_request(tokens, params), tokens=tokens, path=path)
        return people_listing(session, page, avatar_url)

    return JSONResponse(await app_database(request).run(read))
