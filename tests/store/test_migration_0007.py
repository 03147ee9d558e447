"""Migration 0007: people rows written at revision 0006 get their e-mail slots and coordinates."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from starlette.testclient import TestClient

from citizenry.app import create_app
from citizenry.settings import Settings
from citizenry.store import migrate
from citizenry.store.db import Database
from citizenry.store.models import Person
from citizenry.store.types import UTCDateTime, utcnow
from tests.conftest import _postgresql_database
from tests.factory import Factory, NationInfo

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
BOOLEAN_COLUMNS = (
    "email_opt_in",
    "mobile_opt_in",
    "do_not_call",
    "do_not_contact",
    "has_facebook",
    "is_twitter_follower",
    "is_volunteer",
)
#: The columns of ``people`` at revision 0006 that these rows fill.
PEOPLE_0006 = sa.table(
    "people",
    sa.column("id", sa.Integer()),
    sa.column("nation_id", sa.Integer()),
    sa.column("first_name", sa.String()),
    sa.column("email", sa.String()),
    sa.column("extra", JSON),
    sa.column("primary_address", JSON),
    sa.column("signup_type", sa.Integer()),
    sa.column("created_at", UTCDateTime()),
    sa.column("updated_at", UTCDateTime()),
    *(sa.column(name, sa.Boolean()) for name in BOOLEAN_COLUMNS),
)
NATIONS_0006 = sa.table(
    "nations",
    sa.column("id", sa.Integer()),
    sa.column("slug", sa.String()),
    sa.column("name", sa.String()),
    sa.column("plan", sa.String()),
    sa.column("created_at", UTCDateTime()),
)
#: The columns migration 0007 adds to ``people`` or derives, as a read of the row after it.
CHECKED_COLUMNS = (
    "email",
    "email1",
    "email2",
    "email3",
    "email4",
    "email1_is_bad",
    "email2_is_bad",
    "email3_is_bad",
    "email4_is_bad",
    "primary_email_id",
    "latitude",
    "longitude",
    "extra",
    "custom_values",
)
NO_EMAILS = {
    "email": None,
    "email1": None,
    "email2": None,
    "email3": None,
    "email4": None,
    "email1_is_bad": False,
    "email2_is_bad": False,
    "email3_is_bad": False,
    "email4_is_bad": False,
    "primary_email_id": None,
}


@dataclass(frozen=True)
class OldDatabase:
    """A database migrated to revision 0006, with one nation in it."""

    url: str
    nation: NationInfo


@pytest.fixture(params=["sqlite", "postgresql"])
def old_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[OldDatabase]:
    if request.param == "sqlite":
        urls: Iterator[str] = iter([f"sqlite:///{tmp_path / 'at-0006.sqlite3'}"])
    else:
        urls = _postgresql_database()
    for url in urls:
        migrate.upgrade(url, "0006")
        slug = f"n{secrets.token_hex(5)}"
        engine = sa.create_engine(url, poolclass=sa.NullPool)
        try:
            with engine.begin() as connection:
                nation_id = connection.execute(
                    NATIONS_0006.insert()
                    .values(slug=slug, name="Old nation", plan="enterprise", created_at=utcnow())
                    .returning(NATIONS_0006.c.id)
                ).scalar_one()
        finally:
            engine.dispose()
        yield OldDatabase(url=url, nation=NationInfo(id=nation_id, slug=slug, name="Old nation"))


def _insert_people(old: OldDatabase, rows: list[dict[str, Any]]) -> list[int]:
    """Insert people through the 0006 schema; return their ids in order."""
    now = utcnow()
    defaults: dict[str, Any] = {
        "nation_id": old.nation.id,
        "first_name": "Old",
        "email": None,
        "extra": {},
        "primary_address": None,
        "signup_type": 0,
        "created_at": now,
        "updated_at": now,
        **dict.fromkeys(BOOLEAN_COLUMNS, False),
    }
    engine = sa.create_engine(old.url, poolclass=sa.NullPool)
    try:
        with engine.begin() as connection:
            return [
                connection.execute(
                    PEOPLE_0006.insert().values(**{**defaults, **row}).returning(PEOPLE_0006.c.id)
                ).scalar_one()
                for row in rows
            ]
    finally:
        engine.dispose()


def _upgrade_and_read(old: OldDatabase, ids: list[int]) -> list[dict[str, Any]]:
    """Upgrade to the newest revision; return the checked columns of each person, in order."""
    migrate.upgrade(old.url)
    database = Database(old.url)
    try:

        def read(session: Any) -> list[dict[str, Any]]:
            rows = []
            for person_id in ids:
                person = session.get(Person, person_id)
                assert person is not None
                rows.append({name: getattr(person, name) for name in CHECKED_COLUMNS})
            return rows

        return database.transaction(read)
    finally:
        database.dispose()


def test_upgrade_fills_slots_and_coordinates(old_database: OldDatabase) -> None:
    ids = _insert_people(
        old_database,
        [
            {
                "email": "Ann+News@Example.org",
                "extra": {"email2": "ann.work@example.org", "email3": "ann.old@example.org", "bio": "Hi"},
                "primary_address": {"city": "Springfield", "lat": "39.7817", "lng": "-89.6501"},
            },
            {
                "email": "bo@example.org",
                "extra": {"email4": "bo.four@example.org"},
                "primary_address": {"city": "Nowhere", "lat": "north", "lng": "-89.6501"},
            },
            {"first_name": "Cy", "primary_address": {"lat": "91", "lng": "0"}},
            {"email": "dee@example.org", "primary_address": {"lat": "-33.8688"}},
            {
                "email": "eve@example.org",
                "extra": {"language": "FR"},
                "primary_address": {"lat": "0", "lng": "-180"},
            },
        ],
    )

    ann, bo, cy, dee, eve = _upgrade_and_read(old_database, ids)

    assert ann == {
        **NO_EMAILS,
        "email": "Ann+News@Example.org",
        "email1": "Ann+News@Example.org",
        "email2": "ann.work@example.org",
        "email3": "ann.old@example.org",
        "primary_email_id": 1,
        "latitude": 39.7817,
        "longitude": -89.6501,
        "extra": {"bio": "Hi"},
        "custom_values": {},
    }
    assert bo == {
        **NO_EMAILS,
        "email": "bo@example.org",
        "email1": "bo@example.org",
        "email4": "bo.four@example.org",
        "primary_email_id": 1,
        "latitude": None,
        "longitude": None,
        "extra": {},
        "custom_values": {},
    }
    assert cy == {**NO_EMAILS, "latitude": None, "longitude": None, "extra": {}, "custom_values": {}}
    assert dee == {
        **NO_EMAILS,
        "email": "dee@example.org",
        "email1": "dee@example.org",
        "primary_email_id": 1,
        "latitude": None,
        "longitude": None,
        "extra": {},
        "custom_values": {},
    }
    assert eve == {
        **NO_EMAILS,
        "email": "eve@example.org",
        "email1": "eve@example.org",
        "primary_email_id": 1,
        "latitude": 0.0,
        "longitude": -180.0,
        "extra": {"language": "FR"},
        "custom_values": {},
    }


def test_upgrade_creates_custom_fields_table(old_database: OldDatabase) -> None:
    ids = _insert_people(old_database, [{"email": "ann@example.org"}])

    _upgrade_and_read(old_database, ids)

    engine = sa.create_engine(old_database.url, poolclass=sa.NullPool)
    try:
        with engine.connect() as connection:
            count = connection.execute(sa.text("SELECT count(*) FROM custom_fields")).scalar_one()
    finally:
        engine.dispose()
    assert count == 0


def test_upgrade_derives_email_from_slots(old_database: OldDatabase) -> None:
    ids = _insert_people(old_database, [{"first_name": "Cy", "extra": {"email2": "cy@example.org"}}])

    (cy,) = _upgrade_and_read(old_database, ids)

    assert cy == {
        **NO_EMAILS,
        "email": "cy@example.org",
        "email2": "cy@example.org",
        "primary_email_id": 2,
        "latitude": None,
        "longitude": None,
        "extra": {},
        "custom_values": {},
    }


def test_upgrade_drops_null_slots_from_extra(old_database: OldDatabase) -> None:
    ids = _insert_people(
        old_database,
        [{"email": "dee@example.org", "extra": {"email2": None, "email3": "dee.old@example.org"}}],
    )

    (dee,) = _upgrade_and_read(old_database, ids)

    assert dee["email3"] == "dee.old@example.org"
    assert dee["extra"] == {}


def test_migrated_email2_write_reads_back(old_database: OldDatabase) -> None:
    (person_id,) = _insert_people(
        old_database,
        [{"email": "dee@example.org", "extra": {"email2": None, "email3": "dee.old@example.org"}}],
    )
    migrate.upgrade(old_database.url)
    settings = Settings(
        database_url=old_database.url,
        secret_key=secrets.token_urlsafe(48),
        base_domain="localhost",
        insecure_http=True,
        session_cookie_secure=False,
    )
    database = Database(old_database.url)
    try:
        factory = Factory(database)
        token = factory.test_token(old_database.nation, factory.user(old_database.nation))
    finally:
        database.dispose()
    headers = {"Authorization": f"Bearer {token}"}
    url = f"{old_database.nation.prefix}/api/v1/people/{person_id}"

    with TestClient(create_app(settings), base_url="http://testserver", follow_redirects=False) as client:
        updated = client.put(url, json={"person": {"email2": "dee.new@example.org"}}, headers=headers)
        read_back = client.get(url, headers=headers)

    assert updated.status_code == 200, updated.text
    assert read_back.status_code == 200, read_back.text
    person = read_back.json()["person"]
    assert [person[name] for name in ("email1", "email2", "email3")] == [
        "dee@example.org",
        "dee.new@example.org",
        "dee.old@example.org",
    ]
