"""Tags: the nation's tags with how many people have each, and renaming a tag.

Tags are added to and removed from people on the person page. A tag's people are the People
page filtered by the tag.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from fastapi import APIRouter
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import Response

from citizenry import audit
from citizenry.api.errors import ValidationFailed
from citizenry.api.pagination import read_page
from citizenry.api.person_write import MAX_STRING
from citizenry.api.tags import tag_names
from citizenry.context import app_database
from citizenry.panel.access import Member
from citizenry.panel.forms import checked_form, form_field
from citizenry.panel.notices import notice_of, redirect_done
from citizenry.panel.pages import PanelError, path_for, render
from citizenry.panel.paging import opened_page, page_tokens
from citizenry.panel.person_pages import admin_member
from citizenry.store.models import Tag, Tagging

logger = logging.getLogger(__name__)

router = APIRouter(include_in_schema=False)

BASE = "/admin/tags"

NOTICES = {
    "renamed": "Tag renamed. Every person who had it has it under the new name.",
    "unchanged": "The name is the same as before; nothing changed.",
}


@dataclass
class TagsTable:
    member: Member
    search: str
    rows: list[tuple[Tag, int]]
    next: str | None
    prev: str | None


def _counts(session: Session, tag_ids: list[int]) -> dict[int, int]:
    query = select(Tagging.tag_id, func.count()).where(Tagging.tag_id.in_(tag_ids)).group_by(Tagging.tag_id)
    return {tag_id: count for tag_id, count in session.execute(query)}


@router.get(BASE)
async def tags_page(request: Request) -> Response:
    def load(session: Session) -> TagsTable:
        member = admin_member(session, request)
        tokens = page_tokens(request, member.nation.id, "tags")
        search = request.query_params.get("q", "").replace("\x00", "").strip()[:MAX_STRING]
        page = opened_page(tokens, request.query_params, {"q": search} if search else {})
        search = page.filters.get("q", "")
        query = select(Tag).where(Tag.nation_id == member.nation.id)
        if search:
            query = query.where(func.lower(Tag.name).contains(search.lower(), autoescape=True))
        listing = read_page(session, query, Tag.id, page, tokens=tokens, path=path_for(request, BASE))
        counts = _counts(session, [tag.id for tag in listing.rows])
        rows = [(tag, counts.get(tag.id, 0)) for tag in listing.rows]
        return TagsTable(member=member, search=search, rows=rows, next=listing.next, prev=listing.prev)

    table = await app_database(request).run(load)
    return render(request, "tags.html", member=table.member, table=table)


def _tag_of(session: Session, member: Member, tag_id: int) -> Tag:
    tag = session.scalar(select(Tag).where(Tag.nation_id == member.nation.id, Tag.id == tag_id))
    if tag is None:
        raise PanelError(
            status=404,
            title="Tag not found",
            message=f"{member.nation.name} has no tag with the number {tag_id}. It may have been "
            "renamed into another or removed. Go back to Tags.",
        )
    return tag


def _render_tag(
    request: Request, member: Member, tag: Tag, count: int, *, name: str, error: str = ""
) -> Response:
    return render(
        request,
        "tag.html",
        status=400 if error else 200,
        member=member,
        tag=tag,
        count=count,
        name=name,
        error=error,
        notice=None if error else notice_of(request, NOTICES),
    )


@router.get(f"{BASE}/{{tag_id:int}}")
async def tag_page(request: Request, tag_id: int) -> Response:
    def load(session: Session) -> tuple[Member, Tag, int]:
        member = admin_member(session, request)
        tag = _tag_of(session, member, tag_id)
        return member, tag, _counts(session, [tag.id]).get(tag.id, 0)

    member, tag, count = await app_database(request).run(load)
    return _render_tag(request, member, tag, count, name=tag.name)


def _rename(session: Session, member: Member, tag: Tag, name: str) -> str:
    """Rename ``tag``; return an error message for the form, or "" when it is renamed."""
    try:
        new_name = tag_names(name)[0]
    except ValidationFailed:
        return f"Enter a tag name of 1 to {MAX_STRING} characters."
    other_id = session.scalar(
        select(Tag.id).where(Tag.nation_id == member.nation.id, Tag.name == new_name, Tag.id != tag.id)
    )
    if other_id is not None:
        return "Another tag already has this name. Choose a different name."
    old_name = tag.name
    try:
        with session.begin_nested():
            tag.name = new_name
            session.flush()
    except IntegrityError:
        # Another admin gave a tag this name after the check above.
        session.refresh(tag)
        return "Another tag already has this name. Choose a different name."
    audit.record(
        session,
        nation_id=member.nation.id,
        kind="tag.renamed",
        actor_user_id=member.user.id,
        tag_id=tag.id,
        old_name=old_name,
        new_name=new_name,
    )
    return ""


@router.post(f"{BASE}/{{tag_id:int}}")
async def rename_tag(request: Request, tag_id: int) -> Response:
    data = await checked_form(request)
    name = form_field(data, "name")

    def write(session: Session) -> tuple[Member, Tag, int, str, str]:
        member = admin_member(session, request)
        tag = _tag_of(session, member, tag_id)
        count = _counts(session, [tag.id]).get(tag.id, 0)
        if name.strip() == tag.name:
            return member, tag, count, "", "unchanged"
        error = _rename(session, member, tag, name)
        return member, tag, count, error, "renamed"

    member, tag, count, error, done = await app_database(request).run(write)
    if error:
        logger.info("rename of tag id=%s rejected on nation id=%s: %s", tag_id, member.nation.id, error)
        return _render_tag(request, member, tag, count, name=name, error=error)
    return redirect_done(request, f"{BASE}/{tag_id}", done)
