"""The audit log: one row per change to an app, a secret, an authorization or a token.

Changes the control panel makes to people, tags and lists are recorded too, and so are changes
to a nation's settings, permission sets and members, and to its members' passwords. API writes
to people, tags and lists are not.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from citizenry.store.models import AuditEvent

logger = logging.getLogger(__name__)

#: Every kind of event, grouped by what it is about.
KINDS = (
    "app.registered",
    "app.updated",
    "app.deleted",
    "app.secret_regenerated",
    "authorization.granted",
    "authorization.denied",
    "authorization.revoked",
    "token.issued",
    "token.refreshed",
    "token.migrated",
    "token.revoked",
    "token.reuse_detected",
    "test_token.created",
    "test_token.revoked",
    "person.created",
    "person.updated",
    "person.deleted",
    "person.tagged",
    "person.untagged",
    "person.note_added",
    "person.contact_added",
    "tag.renamed",
    "list.created",
    "list.renamed",
    "list.people_added",
    "list.people_removed",
    "nation.updated",
    "permission_set.updated",
    "member.invited",
    "member.invitation_cancelled",
    "member.joined",
    "member.level_changed",
    "member.removed",
    "user.password_reset_link_created",
    "user.password_reset",
    "user.password_changed",
)


def record(
    session: Session,
    *,
    nation_id: int,
    kind: str,
    actor_user_id: int | None = None,
    app_id: int | None = None,
    **detail: Any,
) -> None:
    """Add an event to the nation's audit log. ``detail`` contains ids and names, never a secret."""
    if kind not in KINDS:
        raise ValueError(f"unknown audit event kind {kind!r}")
    session.add(
        AuditEvent(nation_id=nation_id, kind=kind, actor_user_id=actor_user_id, app_id=app_id, detail=detail)
    )
    logger.info(
        "audit %s nation id=%s app id=%s user id=%s %s", kind, nation_id, app_id, actor_user_id, detail
    )


def list_events(
    session: Session, nation_id: int, *, kind_prefix: str = "", limit: int = 200
) -> list[AuditEvent]:
    query = select(AuditEvent).where(AuditEvent.nation_id == nation_id)
    if kind_prefix:
        query = query.where(AuditEvent.kind.startswith(kind_prefix, autoescape=True))
    return list(session.scalars(query.order_by(AuditEvent.id.desc()).limit(limit)))
