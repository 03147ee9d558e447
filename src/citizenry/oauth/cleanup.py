"""Removal of expired codes and tokens, keeping what refresh-token reuse detection needs.

A rotated refresh token stays while its authorization is live, so presenting it again still
revokes the family. Once the authorization is revoked or past the refresh token maximum age,
nothing under it can be used, and the whole family goes.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete, exists, or_
from sqlalchemy.orm import Session

from citizenry.store.models import AccessToken, Authorization, AuthorizationCode, RefreshToken, TestToken
from citizenry.store.types import utcnow

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class CleanupCounts:
    authorizations: int
    authorization_codes: int
    access_tokens: int
    test_tokens: int


def delete_expired(session: Session, *, refresh_token_max_age: int) -> CleanupCounts:
    """Delete dead rows; return how many of each kind went."""
    now = utcnow()
    families = session.execute(
        delete(Authorization).where(
            or_(
                Authorization.revoked_at.is_not(None),
                Authorization.created_at < now - timedelta(seconds=refresh_token_max_age),
            )
        )
    )
    codes = session.execute(delete(AuthorizationCode).where(AuthorizationCode.expires_at < now))
    # An access token that a refresh token points at stays until its family goes: deleting it
    # would cascade to the refresh token.
    access = session.execute(
        delete(AccessToken).where(
            AccessToken.expires_at.is_not(None),
            AccessToken.expires_at < now,
            ~exists().where(RefreshToken.access_token_id == AccessToken.id),
        )
    )
    tests = session.execute(
        delete(TestToken).where(or_(TestToken.expires_at < now, TestToken.revoked_at.is_not(None)))
    )
    counts = CleanupCounts(
        authorizations=families.rowcount,  # type: ignore[attr-defined]
        authorization_codes=codes.rowcount,  # type: ignore[attr-defined]
        access_tokens=access.rowcount,  # type: ignore[attr-defined]
        test_tokens=tests.rowcount,  # type: ignore[attr-defined]
    )
    logger.info(
        "cleanup deleted authorizations=%s authorization_codes=%s access_tokens=%s test_tokens=%s",
        counts.authorizations,
        counts.authorization_codes,
        counts.access_tokens,
        counts.test_tokens,
    )
    return counts
