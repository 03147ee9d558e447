"""Invitations to join a nation, by a link the admin copies and passes on.

The link's token seals the nation, the invited e-mail address, the permission level and a random
invitation id, signed with the server's secret key, and expires after
:data:`INVITATION_MAX_AGE` seconds. Nothing is stored besides the audit log: the
``member.invited`` event records an invitation, and a ``member.joined`` or
``member.invitation_cancelled`` event with the same invitation id closes it, so a link works
once, even if the member is removed later.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import select
from sqlalchemy.orm import Session

from citizenry import audit
from citizenry.panel.signed_links import InvalidLink
from citizenry.store.models import PERMISSION_LEVELS, AuditEvent, Membership, Nation, User
from citizenry.store.types import utcnow
from citizenry.tenancy.users import (
    InvalidUser,
    add_membership,
    create_user,
    find_membership,
    find_user_by_email,
    normalize_email,
)

logger = logging.getLogger(__name__)

#: Seconds an invitation link works for: 7 days.
INVITATION_MAX_AGE = 7 * 86400

#: The path of the page an invitation link opens, under a nation's base URL.
JOIN_PATH = "/join"

#: Audit event kinds that close an invitation.
CLOSING_KINDS = ("member.joined", "member.invitation_cancelled")

#: Maximum length of a member's name, as the users table stores it.
MAX_NAME_LENGTH = 255


class InvalidInvitation(ValueError):
    """An e-mail address or permission level that cannot be invited; ``field`` names the form field."""

    def __init__(self, message: str, *, field: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class Invitation:
    nation_id: int
    email: str
    level: str
    #: The random id that the audit events of this invitation carry.
    invitation_id: str
    created_at: datetime

    @property
    def expires_at(self) -> datetime:
        return self.created_at + timedelta(seconds=INVITATION_MAX_AGE)


def _serializer(secret_key: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret_key, salt="citizenry.invitation")


def join_link(base_url: str, token: str) -> str:
    return f"{base_url.rstrip('/')}{JOIN_PATH}?{urlencode({'token': token})}"


def create_invitation(
    session: Session, secret_key: str, *, nation: Nation, email: str, level: str, actor_user_id: int
) -> tuple[str, Invitation]:
    """Sign an invitation and record it; returns the token and what it seals."""
    email = normalize_email(email)
    if "@" not in email or len(email) > 254:
        raise InvalidInvitation("Enter an e-mail address such as name@example.org.", field="email")
    if level not in PERMISSION_LEVELS:
        raise InvalidInvitation("Choose admin or staffer.", field="level")
    existing = find_user_by_email(session, email)
    if existing and find_membership(session, user_id=existing.id, nation_id=nation.id):
        raise InvalidInvitation(f"{email} is already a member of {nation.name}.", field="email")

    invitation_id = secrets.token_urlsafe(12)
    token = _serializer(secret_key).dumps({"n": nation.id, "e": email, "l": level, "i": invitation_id})
    audit.record(
        session,
        nation_id=nation.id,
        kind="member.invited",
        actor_user_id=actor_user_id,
        email=email,
        level=level,
        invitation=invitation_id,
    )
    invitation = Invitation(
        nation_id=nation.id, email=email, level=level, invitation_id=invitation_id, created_at=utcnow()
    )
    return token, invitation


def _closed_ids(session: Session, nation_id: int) -> set[str]:
    """Return the ids of the nation's invitations that were used or cancelled and could still be open."""
    # An invitation is closed while its link is valid, so older events close only expired links.
    # The extra minute allows for clocks that differ between server processes.
    since = utcnow() - timedelta(seconds=INVITATION_MAX_AGE + 60)
    query = select(AuditEvent.detail).where(
        AuditEvent.nation_id == nation_id,
        AuditEvent.kind.in_(CLOSING_KINDS),
        AuditEvent.created_at >= since,
    )
    return {str(detail.get("invitation")) for detail in session.scalars(query) if detail.get("invitation")}


def read_invitation(session: Session, secret_key: str, token: str, nation: Nation) -> Invitation:
    """Check an invitation token for ``nation``; raises :class:`InvalidLink` with the reason."""
    try:
        payload: Any
        payload, signed_at = _serializer(secret_key).loads(
            token, max_age=INVITATION_MAX_AGE, return_timestamp=True
        )
    except SignatureExpired:
        raise InvalidLink(reason="expired") from None
    except BadSignature:
        raise InvalidLink(reason="invalid") from None

    if (
        not isinstance(payload, dict)
        or payload.get("n") != nation.id
        or payload.get("l") not in PERMISSION_LEVELS
        or not isinstance(payload.get("e"), str)
        or not isinstance(payload.get("i"), str)
    ):
        raise InvalidLink(reason="invalid")
    if payload["i"] in _closed_ids(session, nation.id):
        raise InvalidLink(reason="used")
    return Invitation(
        nation_id=nation.id,
        email=payload["e"],
        level=payload["l"],
        invitation_id=payload["i"],
        created_at=signed_at,
    )


def _record_joined(session: Session, invitation: Invitation, user: User, *, new_account: bool) -> None:
    audit.record(
        session,
        nation_id=invitation.nation_id,
        kind="member.joined",
        actor_user_id=user.id,
        user_id=user.id,
        email=user.email,
        level=invitation.level,
        invitation=invitation.invitation_id,
        new_account=new_account,
    )


def name_problems(full_name: str) -> list[str]:
    name = full_name.strip()
    if not name:
        return ["Enter your name."]
    if len(name) > MAX_NAME_LENGTH:
        return [f"The name has more than {MAX_NAME_LENGTH} characters. Shorten it."]
    return []


def accept_with_new_account(
    session: Session, invitation: Invitation, nation: Nation, *, full_name: str, password: str
) -> User:
    """Create the invited user with ``password`` and add them to the nation.

    Raises :class:`~citizenry.tenancy.users.InvalidUser` when the address got an account meanwhile.
    """
    problems = name_problems(full_name)
    if problems:
        raise InvalidUser(" ".join(problems))
    user = create_user(session, email=invitation.email, password=password, full_name=full_name)
    add_membership(session, user=user, nation=nation, level=invitation.level)
    _record_joined(session, invitation, user, new_account=True)
    return user


def accept_as_user(session: Session, invitation: Invitation, nation: Nation, user: User) -> Membership:
    """Add an existing, signed-in user to the nation at the invited level."""
    membership = add_membership(session, user=user, nation=nation, level=invitation.level)
    _record_joined(session, invitation, user, new_account=False)
    return membership


@dataclass(frozen=True)
class PendingInvitation:
    email: str
    level: str
    invitation_id: str
    invited_by: str | None
    expires_at: datetime


def pending_invitations(session: Session, nation_id: int) -> list[PendingInvitation]:
    """Return the invitations that are neither expired, used nor cancelled, newest first.

    An invitation whose address joined the nation by other means is left out too.
    """
    since = utcnow() - timedelta(seconds=INVITATION_MAX_AGE)
    query = (
        select(AuditEvent, User.email)
        .outerjoin(User, User.id == AuditEvent.actor_user_id)
        .where(
            AuditEvent.nation_id == nation_id,
            AuditEvent.kind == "member.invited",
            AuditEvent.created_at >= since,
        )
        .order_by(AuditEvent.id.desc())
    )
    closed = _closed_ids(session, nation_id)
    members = set(
        session.scalars(
            select(User.email)
            .join(Membership, Membership.user_id == User.id)
            .where(Membership.nation_id == nation_id)
        )
    )
    pending = []
    for event, invited_by in session.execute(query):
        detail = event.detail
        if detail.get("invitation") in closed or detail.get("email") in members:
            continue
        pending.append(
            PendingInvitation(
                email=str(detail.get("email")),
                level=str(detail.get("level")),
                invitation_id=str(detail.get("invitation")),
                invited_by=invited_by,
                expires_at=event.created_at + timedelta(seconds=INVITATION_MAX_AGE),
            )
        )
    return pending


def cancel_invitation(session: Session, nation: Nation, invitation_id: str, *, actor_user_id: int) -> bool:
    """Close an open invitation of the nation; returns False when none has that id."""
    open_ids = {row.invitation_id: row for row in pending_invitations(session, nation.id)}
    invitation = open_ids.get(invitation_id)
    if invitation is None:
        return False
    audit.record(
        session,
        nation_id=nation.id,
        kind="member.invitation_cancelled",
        actor_user_id=actor_user_id,
        email=invitation.email,
        invitation=invitation_id,
    )
    logger.info("cancelled an invitation to nation id=%s", nation.id)
    return True
