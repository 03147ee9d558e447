"""Authorizations and the codes and tokens that descend from them."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Select, and_, exists, func, or_, select, update
from sqlalchemy.orm import Session

from citizenry import audit
from citizenry.store.models import AccessToken, App, Authorization, RefreshToken
from citizenry.store.types import utcnow

logger = logging.getLogger(__name__)


def revoke_family(session: Session, authorization_id: int, now: datetime, *, reason: str) -> None:
    """Revoke an authorization with every access and refresh token issued under it."""
    session.execute(
        update(Authorization)
        .where(Authorization.id == authorization_id, Authorization.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    for model in (AccessToken, RefreshToken):
        session.execute(
            update(model)
            .where(model.authorization_id == authorization_id, model.revoked_at.is_(None))
            .values(revoked_at=now)
        )
    logger.warning("revoked authorization id=%s and its tokens: %s", authorization_id, reason)


@dataclass(frozen=True)
class AuthorizedApp:
    """An app with live tokens on a nation."""

    app_id: int
    name: str
    client_id: str
    authorizations: int
    last_authorized_at: datetime


def _live_authorizations(nation_id: int, now: datetime, refresh_token_max_age: int) -> Select[int]:
    live_access = exists().where(
        AccessToken.authorization_id == Authorization.id,
        AccessToken.revoked_at.is_(None),
        or_(AccessToken.expires_at.is_(None), AccessToken.expires_at > now),
    )
    live_refresh = exists().where(
        RefreshToken.authorization_id == Authorization.id,
        RefreshToken.revoked_at.is_(None),
        RefreshToken.rotated_at.is_(None),
    )
    refreshable = Authorization.created_at > now - timedelta(seconds=refresh_token_max_age)
    return select(Authorization.id).where(
        Authorization.nation_id == nation_id,
        Authorization.revoked_at.is_(None),
        or_(live_access, and_(refreshable, live_refresh)),
    )


def list_authorized_apps(
    session: Session, nation_id: int, *, refresh_token_max_age: int
) -> list[AuthorizedApp]:
    live = _live_authorizations(nation_id, utcnow(), refresh_token_max_age).subquery()
    rows = session.execute(
        select(
            App.id, App.name, App.client_id, func.count(Authorization.id), func.max(Authorization.created_at)
        )
        .join(Authorization, Authorization.app_id == App.id)
        .where(Authorization.id.in_(select(live.c.id)))
        .group_by(App.id, App.name, App.client_id)
        .order_by(App.name, App.id)
    )
    return [
        AuthorizedApp(
            app_id=app_id,
            name=name,
            client_id=client_id,
            authorizations=count,
            last_authorized_at=_as_utc(last),
        )
        for app_id, name, client_id, count, last in rows
    ]


def _as_utc(value: datetime) -> datetime:
    # Aggregates bypass the column type, so SQLite hands back a naive value or a string.
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def revoke_app_on_nation(session: Session, *, nation_id: int, app_id: int, actor_user_id: int) -> int:
    """Revoke every authorization of an app on a nation, and their tokens. Return how many."""
    now = utcnow()
    ids = list(
        session.scalars(
            select(Authorization.id).where(
                Authorization.nation_id == nation_id,
                Authorization.app_id == app_id,
                Authorization.revoked_at.is_(None),
            )
        )
    )
    for authorization_id in ids:
        revoke_family(session, authorization_id, now, reason=f"revoked by user id={actor_user_id}")
    if not ids:
        return 0
    audit.record(
        session,
        nation_id=nation_id,
        kind="authorization.revoked",
        actor_user_id=actor_user_id,
        app_id=app_id,
        authorizations=len(ids),
    )
    return len(ids)
