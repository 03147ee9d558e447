"""Migrations against the models, the SQLite connection settings, and the UTC timestamp type."""

from __future__ import annotations

import secrets
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from citizenry.store import migrate
from citizenry.store.db import SQLITE_BUSY_TIMEOUT_MS, Database
from citizenry.store.models import Base, Membership, Nation
from citizenry.store.types import UTCDateTime
from tests.conftest import _postgresql_database
from tests.factory import Factory

MODEL_TABLES = set(Base.metadata.tables)


def _duplicate_index_names() -> set[str]:
    names = Counter(index.name for table in Base.metadata.tables.values() for index in table.indexes)
    return {str(name) for name, count in names.items() if count > 1}


def _table_names(url: str) -> set[str]:
    engine = sa.create_engine(url, poolclass=sa.NullPool)
    try:
        return set(sa.inspect(engine).get_table_names())
    finally:
        engine.dispose()


def _is_current(url: str) -> bool:
    database = Database(url)
    try:
        return migrate.is_current(database.engine, url)
    finally:
        database.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database of its own with no tables, on each backend."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.sqlite3'}"
    else:
        yield from _postgresql_database()


def test_index_names_are_unique() -> None:
    assert _duplicate_index_names() == set()


def test_people_email_index_exists(database: Database) -> None:
    indexed = [index["column_names"] for index in sa.inspect(database.engine).get_indexes("people")]

    assert ["nation_id", "email"] in indexed


def test_schema_matches_models(database: Database) -> None:
    with database.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        diffs = compare_metadata(context, Base.metadata)

    assert diffs == []


def test_migrated_database_is_current(database: Database, database_url: str) -> None:
    assert migrate.is_current(database.engine, database_url)
    assert set(sa.inspect(database.engine).get_table_names()) == MODEL_TABLES | {"alembic_version"}


def test_migrated_columns_match_models(database: Database) -> None:
    inspector = sa.inspect(database.engine)

    for name, table in Base.metadata.tables.items():
        columns = {column["name"]: column["nullable"] for column in inspector.get_columns(name)}
        assert columns == {column.name: column.nullable for column in table.columns}, name


def test_downgrade_and_upgrade_again(empty_database_url: str) -> None:
    url = empty_database_url

    migrate.upgrade(url)
    after_upgrade = _table_names(url)
    migrate.downgrade(url, "base")
    after_downgrade = _table_names(url)
    migrate.upgrade(url)

    assert after_upgrade == MODEL_TABLES | {"alembic_version"}
    assert after_downgrade == {"alembic_version"}
    assert _table_names(url) == MODEL_TABLES | {"alembic_version"}
    assert _is_current(url)


def test_upgrade_twice_is_harmless(empty_database_url: str) -> None:
    url = empty_database_url

    migrate.upgrade(url)
    migrate.upgrade(url)

    assert _is_current(url)


def test_empty_database_is_not_current(empty_database_url: str) -> None:
    assert not _is_current(empty_database_url)


def test_sqlite_connection_pragmas(tmp_path: Path) -> None:
    database = Database(f"sqlite:///{tmp_path / 'pragmas.sqlite3'}")
    try:
        with database.engine.connect() as connection:
            foreign_keys = connection.exec_driver_sql("PRAGMA foreign_keys").scalar()
            journal_mode = connection.exec_driver_sql("PRAGMA journal_mode").scalar()
            busy_timeout = connection.exec_driver_sql("PRAGMA busy_timeout").scalar()
    finally:
        database.dispose()

    assert foreign_keys == 1
    assert journal_mode == "wal"
    assert busy_timeout == SQLITE_BUSY_TIMEOUT_MS


def test_foreign_keys_are_enforced(database: Database, factory: Factory) -> None:
    user = factory.user(None)

    def add_orphan(session: Session) -> None:
        session.add(Membership(user_id=user.id, nation_id=2**31 - 1, permission_level="admin"))
        session.flush()

    with pytest.raises(sa.exc.IntegrityError):
        database.transaction(add_orphan)


def test_deleting_nation_cascades(database: Database, factory: Factory) -> None:
    nation = factory.nation()
    user = factory.user(nation)

    database.transaction(lambda session: session.execute(sa.delete(Nation).where(Nation.id == nation.id)))

    memberships = database.transaction(
        lambda session: session.scalar(
            sa.select(sa.func.count()).select_from(Membership).where(Membership.user_id == user.id)
        )
    )
    assert memberships == 0


@pytest.mark.parametrize("dialect", [sqlite.dialect(), postgresql.dialect()], ids=["sqlite", "postgresql"])
def test_utc_datetime_rejects_naive(dialect: sa.engine.Dialect) -> None:
    with pytest.raises(ValueError):
        UTCDateTime().process_bind_param(datetime(2026, 1, 1, 12, 0), dialect)


def test_utc_datetime_converts_to_utc() -> None:
    plus_two = datetime(2026, 3, 1, 12, 0, tzinfo=timezone(timedelta(hours=2)))

    stored = UTCDateTime().process_bind_param(plus_two, sqlite.dialect())

    assert stored == datetime(2026, 3, 1, 10, 0, tzinfo=UTC)
    assert stored is not None
    assert stored.tzinfo is UTC


def test_utc_datetime_marks_naive_results() -> None:
    loaded = UTCDateTime().process_result_value(datetime(2026, 3, 1, 10, 0), sqlite.dialect())

    assert loaded == datetime(2026, 3, 1, 10, 0, tzinfo=UTC)
    assert loaded is not None
    assert loaded.tzinfo is UTC


def test_utc_datetime_keeps_none() -> None:
    assert UTCDateTime().process_bind_param(None, sqlite.dialect()) is None
    assert UTCDateTime().process_result_value(None, sqlite.dialect()) is None


def test_utc_datetime_round_trip(database: Database, factory: Factory) -> None:
    nation = factory.nation()
    plus_two = datetime(2026, 3, 1, 12, 30, 15, 123456, tzinfo=timezone(timedelta(hours=2)))

    def update(session: Session) -> None:
        session.execute(sa.update(Nation).where(Nation.id == nation.id).values(created_at=plus_two))

    database.transaction(update)
    loaded = database.transaction(
        lambda session: session.scalar(sa.select(Nation.created_at).where(Nation.id == nation.id))
    )

    assert loaded == plus_two
    assert loaded.tzinfo is not None
    assert loaded.utcoffset() == timedelta(0)
    assert loaded.replace(tzinfo=None) == datetime(2026, 3, 1, 10, 30, 15, 123456)


def test_naive_datetime_write_fails(database: Database) -> None:
    slug = f"n{secrets.token_hex(5)}"

    def insert(session: Session) -> None:
        session.add(Nation(slug=slug, name="Naive", created_at=datetime(2026, 1, 1, 12, 0)))
        session.flush()

    with pytest.raises(sa.exc.StatementError) as error:
        database.transaction(insert)

    assert isinstance(error.value.orig, ValueError)
    found = database.transaction(
        lambda session: session.scalar(sa.select(Nation.id).where(Nation.slug == slug))
    )
    assert found is None
