"""People endpoints of API v1."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from fastapi import APIRouter
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import JSONResponse

from citizenry.api.access import authenticate_caller, read_api_request
from citizenry.api.pagination import DEFAULT_LIMIT, PageRequest, PageTokens, page_link, parse_limit
from citizenry.api.person_json import abbreviated_person
from citizenry.context import app_database, app_settings
from citizenry.store.models import Person, Tag, Tagging

router = APIRouter()


def _tags_by_person(session: Session, person_ids: list[int]) -> dict[int, list[str]]:
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


def _read_page(session: Session, nation_id: int, page: PageRequest) -> tuple[list[Person], bool, bool]:
    """Return a page of people in id order, and whether pages exist after and before it."""
    query = select(Person).where(Person.nation_id == nation_id)
    if page.before_id is not None:
        rows = list(
            session.scalars(
                query.where(Person.id < page.before_id).order_by(Person.id.desc()).limit(page.limit + 1)
            )
        )
        has_before = len(rows) > page.limit
        return list(reversed(rows[: page.limit])), True, has_before

    if page.after_id is not None:
        query = query.where(Person.id > page.after_id)
    rows = list(session.scalars(query.order_by(Person.id).limit(page.limit + 1)))
    return rows[: page.limit], len(rows) > page.limit, page.after_id is not None


@router.get("/api/v1/people")
async def people_index(request: Request) -> JSONResponse:
    """List the nation's people, ten at a time by default, in the abbreviated representation."""
    api_request = read_api_request(request)
    params = request.query_params
    secret_key = app_settings(request).secret_key
    root = request.scope.get("root_path", "")
    avatar_url = f"{request.url.scheme}://{request.url.netloc}{root}/static/avatar.svg"

    def read(session: Session) -> dict[str, Any]:
        caller = authenticate_caller(session, api_request)
        tokens = PageTokens(secret_key, nation_id=caller.nation.id, listing="people")
        nonce, token = params.get("__nonce"), params.get("__token")
        limit_values = params.getlist("limit")
        if nonce is not None or token is not None:
            page = tokens.open(nonce or "", token or "", limit_values)
        else:
            page = PageRequest(limit=parse_limit(limit_values, DEFAULT_LIMIT))

        people, has_next, has_prev = _read_page(session, caller.nation.id, page)
        tags = _tags_by_person(session, [p.id for p in people])
        # NationBuilder's links are "/api/v1/..." paths; clients append them to the base URL they
        # were given, which already carries any "/n/{slug}" prefix.
        path = "/api/v1/people"
        next_link = prev_link = None
        if people and has_next:
            next_link = page_link(
                path,
                tokens,
                PageRequest(limit=page.limit, after_id=people[-1].id, filters=page.filters),
            )
        if people and has_prev:
            prev_link = page_link(
                path,
                tokens,
                PageRequest(limit=page.limit, before_id=people[0].id, filters=page.filters),
            )
        return {
            "results": [abbreviated_person(p, tags[p.id], avatar_url) for p in people],
            "next": next_link,
            "prev": prev_link,
        }

    return JSONResponse(await app_database(request).run(read))
