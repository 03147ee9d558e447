"""API tokens that a nation's admin creates for their own nation (Settings > Developer > API token)."""

from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from citizenry import audit
from citizenry.oauth.digests import digest, new_hex_token
from citizenry.store.models import Nation, TestToken, User
from citizenry.store.types import utcnow

logger = logging.getLogger(__name__)

__test__ = False  # not a pytest module


def create_test_token(session: Session, *, nation: Nation, user: User, ttl: int) -> tuple[TestToken, str]:
    """Create a token acting as ``user`` on ``nation``. Return it with its value, which is not stored."""
    value = new_hex_token()
    now = utcnow()
    row = TestToken(
        nation_id=nation.id,
        user_id=user.id,
        token_digest=digest(value),
        token_prefix=value[:6],
        created_at=now,
        expires_at=now + timedelta(seconds=ttl),
    )
    session.add(row)
    session.flush()
    audit.record(
        session, nation_id=nation.id, kind="test_token.created", actor_user_id=user.id, test_token_id=row.id
    )
    return row, value


def revoke_test_token(session: Session, *, nation: Nation, token_id: int, actor_user_id: int) -> bool:
    """Revoke one of the nation's test tokens; return False when it has none with that id."""
    row = session.scalar(select(TestToken).where(TestToken.nation_id == nation.id, TestToken.id == token_id))
    if row is None:
        return False
    if row.revoked_at is None:
        row.revoked_at = utcnow()
        session.flush()
        audit.record(
            session,
            nation_id=nation.id,
            kind="test_token.revoked",
            actor_user_id=actor_user_id,
            test_token_id=row.id,
        )
    return True


def list_test_tokens(session: Session, nation: Nation) -> list[TestToken]:
    return list(
        session.scalars(
            select(TestToken).where(TestToken.nation_id == nation.id).order_by(TestToken.id.desc())
        )
    )
