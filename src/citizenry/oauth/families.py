"""Authorizations and the codes and tokens that descend from them."""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import update
from sqlalchemy.orm import Session

from citizenry.store.models import AccessToken, Authorization, RefreshToken

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
