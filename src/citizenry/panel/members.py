"""A nation's members: listing them, changing a permission level, removing one.

A nation always keeps at least one admin. The check and the change run under a lock on the
nation's memberships, so two admins who demote each other at once cannot both succeed.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from citizenry import audit
from citizenry.store.locks import lock_for_write
from citizenry.store.models import PERMISSION_LEVELS, Membership, Nation, User
from citizenry.tenancy.users import find_membership

logger = logging.getLogger(__name__)


class LastAdmin(Exception):
    """The change would leave the nation without an admin."""


class MemberNotFound(Exception):
    """The user is not a member of the nation."""


@dataclass(frozen=True)
class MemberRow:
    user: User
    membership: Membership


@dataclass(frozen=True)
class NationOfUser:
    """One nation a user belongs to, and their permission level there."""

    nation: Nation
    level: str


def list_members(session: Session, nation_id: int) -> list[MemberRow]:
    query = (
        select(User, Membership)
        .join(Membership, Membership.user_id == User.id)
        .where(Membership.nation_id == nation_id)
        .order_by(User.email)
    )
    return [MemberRow(user=user, membership=membership) for user, membership in session.execute(query)]


def nations_of_user(session: Session, user_id: int) -> list[NationOfUser]:
    query = (
        select(Nation, Membership.permission_level)
        .join(Membership, Membership.nation_id == Nation.id)
        .where(Membership.user_id == user_id)
        .order_by(Nation.name, Nation.slug)
    )
    return [NationOfUser(nation=nation, level=level) for nation, level in session.execute(query)]


def load_member_row(session: Session, nation_id: int, user_id: int) -> MemberRow:
    membership = find_membership(session, user_id=user_id, nation_id=nation_id)
    user = session.get(User, user_id) if membership else None
    if membership is None or user is None:
        raise MemberNotFound()
    return MemberRow(user=user, membership=membership)


def _admin_count(session: Session, nation_id: int) -> int:
    query = select(func.count()).where(
        Membership.nation_id == nation_id, Membership.permission_level == "admin"
    )
    return int(session.scalar(query) or 0)


def _lock_and_load(session: Session, nation: Nation, user_id: int) -> MemberRow:
    lock_for_write(session, nation.id, "memberships")
    row = load_member_row(session, nation.id, user_id)
    # The session may hold this row from before the lock (the actor's own membership): read it again.
    session.refresh(row.membership)
    return row


def change_level(session: Session, nation: Nation, *, user_id: int, level: str, actor_user_id: int) -> bool:
    """Set a member's permission level; returns False when it already was ``level``.

    Raises :class:`LastAdmin` when it would demote the nation's only admin.
    """
    if level not in PERMISSION_LEVELS:
        raise ValueError(f"unknown permission level {level!r}")
    row = _lock_and_load(session, nation, user_id)
    previous = row.membership.permission_level
    if previous == level:
        return False
    if previous == "admin" and _admin_count(session, nation.id) <= 1:
        raise LastAdmin()

    row.membership.permission_level = level
    session.flush()
    audit.record(
        session,
        nation_id=nation.id,
        kind="member.level_changed",
        actor_user_id=actor_user_id,
        user_id=user_id,
        email=row.user.email,
        level=level,
        previous_level=previous,
    )
    return True


def remove_member(session: Session, nation: Nation, *, user_id: int, actor_user_id: int) -> None:
    """Delete a membership; raises :class:`LastAdmin` for the nation's only admin.

    The user's account, and their memberships of other nations, stay. Their API tokens and app
    authorizations on this nation stop working, because the API checks membership on each request.
    """
    row = _lock_and_load(session, nation, user_id)
    if row.membership.permission_level == "admin" and _admin_count(session, nation.id) <= 1:
        raise LastAdmin()

    session.delete(row.membership)
    session.flush()
    audit.record(
        session,
        nation_id=nation.id,
        kind="member.removed",
        actor_user_id=actor_user_id,
        user_id=user_id,
        email=row.user.email,
        level=row.membership.permission_level,
    )
    logger.info("removed user id=%s from nation id=%s", user_id, nation.id)
