"""API tokens that a nation's admin creates for their own nation (Settings > Developer > API token)."""

from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

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
    logger.info("created test token id=%s for user id=%s on nation id=%s", row.id, user.id, nation.id)
    return row, value


def list_test_tokens(session: Session, nation: Nation) -> list[TestToken]:
    return list(
        session.scalars(
            select(TestToken).where(TestToken.nation_id == nation.id).order_by(TestToken.id.desc())
        )
    )
