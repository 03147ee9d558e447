"""Settings > Audit log: the nation's events, newest first, filtered by kind, a page at a time.

The filter is a group of kinds (``app`` keeps every ``app.*`` event) or one exact kind, in
the ``event`` parameter. The older ``kind`` parameter takes a group only, as before. Pages are
keyset pages over the event id, with the panel's signed page tokens.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter
from sqlalchemy import Select, select
from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import Response

from citizenry import audit
from citizenry.api.pagination import PageRequest, PageTokens, page_link
from citizenry.context import app_database, nation_route
from citizenry.panel.access import Member, load_member
from citizenry.panel.pages import path_for, render
from citizenry.panel.paging import opened_page, page_tokens
from citizenry.panel.session import signed_in
from citizenry.store.models import App, AuditEvent, User

router = APIRouter(include_in_schema=False)

AUDIT = "/admin/settings/audit"

#: Groups of kinds, in the order :data:`citizenry.audit.KINDS` first names them.
GROUPS = tuple(dict.fromkeys(kind.split(".", 1)[0] for kind in audit.KINDS))


def describe_kind(kind: str) -> str:
    """Return a kind as words, such as "Member level changed" for ``member.level_changed``."""
    return kind.replace(".", " ").replace("_", " ").capitalize()


@dataclass(frozen=True)
class FilterGroup:
    """One group of the filter's choices: the whole group, then each of its kinds."""

    name: str
    label: str
    kinds: list[tuple[str, str]]


FILTER_GROUPS = [
    FilterGroup(
        name=group,
        label=group.replace("_", " ").capitalize(),
        kinds=[(kind, describe_kind(kind)) for kind in audit.KINDS if kind.startswith(group + ".")],
    )
    for group in GROUPS
]


def _read_filter(request: Request) -> str:
    """Return the group or kind to show; an unknown value shows every event."""
    event = request.query_params.get("event")
    if event is not None:
        return event if event in GROUPS or event in audit.KINDS else ""
    kind = request.query_params.get("kind", "")
    return kind if kind in GROUPS else ""


def _filtered(query: Select[Any], event: str) -> Select[Any]:
    if event in audit.KINDS:
        return query.where(AuditEvent.kind == event)
    if event:
        return query.where(AuditEvent.kind.startswith(event + ".", autoescape=True))
    return query


@dataclass(frozen=True)
class AuditPage:
    member: Member
    event: str
    events: list[AuditEvent]
    emails: dict[int, str]
    app_names: dict[int, str]
    #: Link to older events, None on the last page.
    older: str | None
    #: Link to newer events, None on the first page.
    newer: str | None


def _read_events(
    session: Session, query: Select[Any], page: PageRequest
) -> tuple[list[AuditEvent], bool, bool]:
    """Read one page, newest first; returns the events and whether older and newer ones exist.

    ``before_id`` continues to older events and ``after_id`` goes back to newer ones.
    """
    if page.after_id is not None:
        rows = list(
            session.scalars(
                query.where(AuditEvent.id > page.after_id).order_by(AuditEvent.id).limit(page.limit + 1)
            )
        )
        has_newer = len(rows) > page.limit
        return list(reversed(rows[: page.limit])), True, has_newer

    if page.before_id is not None:
        query = query.where(AuditEvent.id < page.before_id)
    rows = list(session.scalars(query.order_by(AuditEvent.id.desc()).limit(page.limit + 1)))
    return rows[: page.limit], len(rows) > page.limit, page.before_id is not None


def _links(
    request: Request,
    tokens: PageTokens,
    page: PageRequest,
    events: list[AuditEvent],
    older: bool,
    newer: bool,
) -> tuple[str | None, str | None]:
    path = path_for(request, AUDIT)
    older_link = newer_link = None
    if older and events:
        older_link = page_link(
            path, tokens, PageRequest(limit=page.limit, before_id=events[-1].id, filters=page.filters)
        )
    if newer and events:
        newer_link = page_link(
            path, tokens, PageRequest(limit=page.limit, after_id=events[0].id, filters=page.filters)
        )
    return older_link, newer_link


def _load(session: Session, request: Request) -> AuditPage:
    member = load_member(session, nation_route(request), signed_in(request), admin=True)
    tokens = page_tokens(request, member.nation.id, "audit")
    event = _read_filter(request)
    page = opened_page(tokens, request.query_params, {"event": event} if event else {})
    event = page.filters.get("event", "")

    query = _filtered(select(AuditEvent).where(AuditEvent.nation_id == member.nation.id), event)
    events, has_older, has_newer = _read_events(session, query, page)
    older, newer = _links(request, tokens, page, events, has_older, has_newer)

    user_ids = {row.actor_user_id for row in events if row.actor_user_id}
    app_ids = {row.app_id for row in events if row.app_id}
    emails = {
        row.id: row.email for row in session.execute(select(User.id, User.email).where(User.id.in_(user_ids)))
    }
    names = {row.id: row.name for row in session.execute(select(App.id, App.name).where(App.id.in_(app_ids)))}
    return AuditPage(
        member=member, event=event, events=events, emails=emails, app_names=names, older=older, newer=newer
    )


@router.get(AUDIT)
async def audit_log(request: Request) -> Response:
    page = await app_database(request).run(_load, request)
    return render(
        request,
        "audit.html",
        member=page.member,
        page=page,
        events=page.events,
        kind=page.event,
        filter_groups=FILTER_GROUPS,
        emails=page.emails,
        app_names=page.app_names,
    )
