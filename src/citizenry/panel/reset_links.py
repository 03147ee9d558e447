"""Password reset links, which an admin or the CLI makes because Citizenry sends no e-mail.

A link's token seals the user id, the nation whose control panel the link opens, and a
fingerprint of the user's current password hash. Any new password changes the hash, so a link
works once, and every older link stops working as soon as the password changes. The link also
expires after :data:`RESET_LINK_MAX_AGE` seconds. Nothing about a link is stored.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import select
from sqlalchemy.orm import Session

from citizenry import audit
from citizenry.panel.signed_links import InvalidLink
from citizenry.store.models import Membership, Nation, User
from citizenry.tenancy.passwords import hash_password, password_fingerprint
from citizenry.tenancy.users import find_membership

logger = logging.getLogger(__name__)

#: Seconds a password reset link works for.
RESET_LINK_MAX_AGE = 3600

#: The path of the "choose a new password" page, under a nation's base URL.
RESET_PATH = "/password/reset"


def _serializer(secret_key: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret_key, salt="citizenry.password-reset")


def create_reset_token(secret_key: str, *, user: User, nation: Nation) -> str:
    payload = {"u": user.id, "n": nation.id, "p": password_fingerprint(user.password_hash)}
    return _serializer(secret_key).dumps(payload)


def reset_link(base_url: str, token: str) -> str:
    """Return the address of the reset page under a nation's base URL, such as ``https://demo.example.org``."""
    return f"{base_url.rstrip('/')}{RESET_PATH}?{urlencode({'token': token})}"


@dataclass(frozen=True)
class ResetTarget:
    """The user a valid reset link is for, on the nation whose panel it opens."""

    user: User
    nation: Nation


def load_reset_target(
    session: Session, secret_key: str, token: str, nation: Nation, *, for_update: bool = False
) -> ResetTarget:
    """Check a reset token for ``nation``; raises :class:`InvalidLink` with the reason.

    ``for_update`` locks the user's row on PostgreSQL until the transaction ends, so that of two
    requests with the same link, the second reads the password hash the first one stored.
    """
    try:
        payload: Any = _serializer(secret_key).loads(token, max_age=RESET_LINK_MAX_AGE)
    except SignatureExpired:
        raise InvalidLink(reason="expired") from None
    except BadSignature:
        raise InvalidLink(reason="invalid") from None

    if (
        not isinstance(payload, dict)
        or payload.get("n") != nation.id
        or not isinstance(payload.get("u"), int)
    ):
        raise InvalidLink(reason="invalid")
    user = session.get(User, payload["u"], with_for_update=for_update, populate_existing=for_update)
    if user is None or find_membership(session, user_id=user.id, nation_id=nation.id) is None:
        raise InvalidLink(reason="invalid")

    # A password set since the link was made, by this link or otherwise, voids the link.
    if payload.get("p") != password_fingerprint(user.password_hash):
        raise InvalidLink(reason="used")
    return ResetTarget(user=user, nation=nation)


def member_nation_ids(session: Session, user_id: int) -> list[int]:
    return list(session.scalars(select(Membership.nation_id).where(Membership.user_id == user_id)))


def record_link_created(
    session: Session, *, user: User, nation: Nation, actor_user_id: int | None, via: str
) -> None:
    audit.record(
        session,
        nation_id=nation.id,
        kind="user.password_reset_link_created",
        actor_user_id=actor_user_id,
        user_id=user.id,
        email=user.email,
        via=via,
    )


def set_password(
    session: Session, user: User, password: str, *, kind: str, actor_user_id: int | None
) -> None:
    """Store a new password hash, and record ``kind`` on every nation the user is a member of.

    The password opens every nation of the user, so the change goes into each nation's audit log. The
    new hash also signs out every session signed in before (``citizenry.panel.session``).
    """
    user.password_hash = hash_password(password)
    session.flush()
    for nation_id in member_nation_ids(session, user.id):
        audit.record(
            session,
            nation_id=nation_id,
            kind=kind,
            actor_user_id=actor_user_id,
            user_id=user.id,
            email=user.email,
        )
    logger.info("password of user id=%s set (%s)", user.id, kind)
