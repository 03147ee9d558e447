"""Rows for tests, written straight to the database."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from sqlalchemy.orm import Session

from citizenry.api.person_emails import one_address
from citizenry.oauth.apps import register_app
from citizenry.oauth.test_tokens import create_test_token
from citizenry.store.db import Database
from citizenry.store.models import Membership, Nation, Person, User
from citizenry.tenancy.passwords import hash_password

PASSWORD = "correct horse battery staple"
CALLBACK = "https://app.example/callback"


@cache
def _password_hash() -> str:
    # One argon2 hash for every test user; hashing takes about 0.1 s each time.
    return hash_password(PASSWORD)


@dataclass(frozen=True)
class NationInfo:
    id: int
    slug: str
    name: str

    @property
    def prefix(self) -> str:
        return f"/n/{self.slug}"


@dataclass(frozen=True)
class UserInfo:
    id: int
    email: str


@dataclass(frozen=True)
class AppInfo:
    id: int
    client_id: str
    client_secret: str
    redirect_uris: tuple[str, ...]


class Factory:
    def __init__(self, database: Database) -> None:
        self.database = database

    def nation(self, *, plan: str = "enterprise", name: str | None = None) -> NationInfo:
        slug = f"n{secrets.token_hex(5)}"

        def create(session: Session) -> NationInfo:
            row = Nation(slug=slug, name=name or f"Nation {slug}", plan=plan)
            session.add(row)
            session.flush()
            return NationInfo(id=row.id, slug=row.slug, name=row.name)

        return self.database.transaction(create)

    def user(self, nation: NationInfo | None, *, level: str = "admin", certified: bool = False) -> UserInfo:
        email = f"user-{secrets.token_hex(5)}@example.org"

        def create(session: Session) -> UserInfo:
            row = User(email=email, password_hash=_password_hash(), is_certified_developer=certified)
            session.add(row)
            session.flush()
            if nation is not None:
                session.add(Membership(user_id=row.id, nation_id=nation.id, permission_level=level))
            return UserInfo(id=row.id, email=email)

        return self.database.transaction(create)

    def app(self, owner: NationInfo, *, redirect_uris: tuple[str, ...] = (CALLBACK,)) -> AppInfo:
        def create(session: Session) -> AppInfo:
            nation = session.get(Nation, owner.id)
            assert nation is not None
            row, secret = register_app(
                session, nation=nation, name="Test App", redirect_uris=list(redirect_uris)
            )
            return AppInfo(
                id=row.id, client_id=row.client_id, client_secret=secret, redirect_uris=redirect_uris
            )

        return self.database.transaction(create)

    def people(self, nation: NationInfo, count: int) -> list[int]:
        def create(session: Session) -> list[int]:
            rows = [
                Person(
                    nation_id=nation.id,
                    first_name=f"First{i}",
                    last_name=f"Last{i}",
                    **one_address(f"p{i}@example.org"),
                )
                for i in range(count)
            ]
            session.add_all(rows)
            session.flush()
            return [row.id for row in rows]

        return self.database.transaction(create)

    def test_token(self, nation: NationInfo, user: UserInfo, *, ttl: int = 86400) -> str:
        def create(session: Session) -> str:
            _, value = create_test_token(
                session, nation=session.get(Nation, nation.id), user=session.get(User, user.id), ttl=ttl
            )
            return value

        return self.database.transaction(create)


def settings_env(tmp_path: Path, **values: str) -> dict[str, str]:
    """Return the environment of a valid configuration, plus ``CITIZENRY_NAME`` for each ``NAME=value``."""
    return {
        "CITIZENRY_DATA_DIR": str(tmp_path),
        "CITIZENRY_SECRET_KEY": secrets.token_urlsafe(48),
        **{f"CITIZENRY_{name}": value for name, value in values.items()},
    }
