"""Permission sets: what members of each permission level may do with the API and apps."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from citizenry.store.models import PERMISSION_LEVELS, Membership, Nation, PermissionSet

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Permissions:
    level: str
    #: May use the API, with an API token or through an app.
    api: bool
    #: May authorize apps on the nation.
    sign_into_apps: bool


#: The switches of a nation that never changed them: admins may do both, staffers only use the API.
DEFAULTS = {
    "admin": Permissions(level="admin", api=True, sign_into_apps=True),
    "staffer": Permissions(level="staffer", api=True, sign_into_apps=False),
}


def permissions_for(session: Session, nation_id: int, level: str) -> Permissions:
    row = session.scalar(
        select(PermissionSet).where(PermissionSet.nation_id == nation_id, PermissionSet.level == level)
    )
    if row is None:
        return DEFAULTS[level]
    return Permissions(level=level, api=row.api, sign_into_apps=row.sign_into_apps)


def member_permissions(
    session: Session, *, user_id: int, nation_id: int
) -> tuple[Membership, Permissions] | None:
    """Return a user's membership of a nation and its level's permissions in one query, or None."""
    found = session.execute(
        select(Membership, PermissionSet.api, PermissionSet.sign_into_apps)
        .outerjoin(
            PermissionSet,
            (PermissionSet.nation_id == Membership.nation_id)
            & (PermissionSet.level == Membership.permission_level),
        )
        .where(Membership.user_id == user_id, Membership.nation_id == nation_id)
    ).first()
    if found is None:
        return None
    membership, api, sign_into_apps = found
    level = membership.permission_level
    if api is None:
        return membership, DEFAULTS[level]
    return membership, Permissions(level=level, api=api, sign_into_apps=sign_into_apps)


def set_permissions(
    session: Session,
    nation: Nation,
    level: str,
    *,
    api: bool | None = None,
    sign_into_apps: bool | None = None,
) -> Permissions:
    """Change the switches of one level; a switch passed as None keeps its value."""
    if level not in PERMISSION_LEVELS:
        raise ValueError(f"unknown permission level {level!r}; choose admin or staffer")
    current = permissions_for(session, nation.id, level)
    row = session.scalar(
        select(PermissionSet).where(PermissionSet.nation_id == nation.id, PermissionSet.level == level)
    )
    if row is None:
        row = PermissionSet(nation_id=nation.id, level=level)
        session.add(row)
    row.api = current.api if api is None else api
    row.sign_into_apps = current.sign_into_apps if sign_into_apps is None else sign_into_apps
    session.flush()
    logger.info(
        "permission set %s of nation id=%s: api=%s sign_into_apps=%s",
        level,
        nation.id,
        row.api,
        row.sign_into_apps,
    )
    return Permissions(level=level, api=row.api, sign_into_apps=row.sign_into_apps)
