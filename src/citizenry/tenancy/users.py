"""Users of the control panel and their memberships in nations."""

from __future__ import annotations

import logging

from sqlalchemy import select
from sqlalchemy.orm import Session

from citizenry.store.models import PERMISSION_LEVELS, Membership, Nation, User
from citizenry.tenancy.passwords import hash_password, verify_password

logger = logging.getLogger(__name__)

#: Minimum password length, in characters.
MIN_PASSWORD_LENGTH = 10


class InvalidUser(ValueError):
    """An e-mail address, password or permission level that cannot be used."""


def normalize_email(email: str) -> str:
    return email.strip().lower()


def create_user(
    session: Session,
    *,
    email: str,
    password: str,
    full_name: str = "",
    is_certified_developer: bool = False,
) -> User:
    email = normalize_email(email)
    if "@" not in email or len(email) > 254:
        raise InvalidUser(f"invalid e-mail address {email!r}")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidUser(f"the password must have at least {MIN_PASSWORD_LENGTH} characters")
    if session.scalar(select(User.id).where(User.email == email)) is not None:
        raise InvalidUser(f"a user with the e-mail address {email!r} already exists")
    user = User(
        email=email,
        full_name=full_name.strip(),
        password_hash=hash_password(password),
        is_certified_developer=is_certified_developer,
    )
    session.add(user)
    session.flush()
    logger.info("created user id=%s", user.id)
    return user


def add_membership(session: Session, *, user: User, nation: Nation, level: str) -> Membership:
    if level not in PERMISSION_LEVELS:
        raise InvalidUser(f"unknown permission level {level!r}; choose admin or staffer")
    membership = Membership(user_id=user.id, nation_id=nation.id, permission_level=level)
    session.add(membership)
    session.flush()
    logger.info("added user id=%s to nation id=%s as %s", user.id, nation.id, level)
    return membership


def authenticate(session: Session, email: str, password: str) -> User | None:
    """Return the user whose e-mail address and password match, or None."""
    user = session.scalar(select(User).where(User.email == normalize_email(email)))
    if not verify_password(user.password_hash if user else None, password):
        return None
    return user


def find_user(session: Session, user_id: int) -> User | None:
    return session.get(User, user_id)


def find_membership(session: Session, *, user_id: int, nation_id: int) -> Membership | None:
    return session.scalar(
        select(Membership).where(Membership.user_id == user_id, Membership.nation_id == nation_id)
    )


def find_user_by_email(session: Session, email: str) -> User | None:
    return session.scalar(select(User).where(User.email == normalize_email(email)))
