"""Connection pool options: a request that cannot get a connection in time gets a 503."""

from __future__ import annotations

import dataclasses

import pytest
from sqlalchemy import text
from starlette.testclient import TestClient

from citizenry.app import create_app
from citizenry.settings import Settings
from citizenry.store.db import Database, PoolOptions
from tests.factory import Factory


def test_pool_timeout_is_503_in_the_api_format(settings: Settings, factory: Factory) -> None:
    nation = factory.nation()
    token = factory.test_token(nation, factory.user(nation))
    small = dataclasses.replace(
        settings, database_pool_size=1, database_max_overflow=0, database_pool_timeout=1
    )
    app = create_app(small)
    with TestClient(app) as client:
        database: Database = app.state.database
        busy_connection = database.engine.connect()  # the pool's only connection
        try:
            response = client.get(
                f"{nation.prefix}/api/v1/people", headers={"Authorization": f"Bearer {token}"}
            )
        finally:
            busy_connection.close()
        recovered = client.get(f"{nation.prefix}/api/v1/people", headers={"Authorization": f"Bearer {token}"})

    assert response.status_code == 503
    assert response.headers["retry-after"] == "5"
    assert response.json() == {
        "code": "service_unavailable",
        "message": "The database is unavailable. Retry in a few seconds.",
    }
    assert recovered.status_code == 200


def test_settings_reach_the_engine(settings: Settings) -> None:
    options = dataclasses.replace(
        settings, database_pool_size=3, database_max_overflow=2, database_pool_timeout=7
    )
    database = Database.from_settings(options)
    try:
        pool = database.engine.pool
        assert (pool.size(), pool._max_overflow, pool._timeout) == (3, 2, 7)  # type: ignore[attr-defined]
    finally:
        database.dispose()


def test_pgbouncer_mode_never_prepares_statements(settings: Settings) -> None:
    if not settings.database_url.startswith("postgresql"):
        pytest.skip("prepared statements exist only on PostgreSQL")
    database = Database(settings.database_url, PoolOptions(size=1, max_overflow=0, pgbouncer=True))
    try:
        with database.engine.connect() as connection:
            for _ in range(10):
                connection.execute(text("SELECT 1"))
            prepared = connection.execute(text("SELECT count(*) FROM pg_prepared_statements")).scalar()
    finally:
        database.dispose()

    assert prepared == 0
