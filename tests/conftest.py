"""Fixtures: the suite runs once on SQLite and once on PostgreSQL.

Each test works in nations of its own, with random slugs, so tests share one migrated
database per backend without seeing each other's rows.
"""

from __future__ import annotations

import os
import secrets
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
import sqlalchemy as sa
from starlette.testclient import TestClient

from citizenry.app import create_app
from citizenry.ratelimit import safe_redis_url
from citizenry.settings import Settings
from citizenry.store import migrate
from citizenry.store.db import Database
from tests.factory import Factory

POSTGRESQL_URL = os.environ.get(
    "CITIZENRY_TEST_POSTGRESQL_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
REDIS_URL = os.environ.get("CITIZENRY_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
IN_CI = os.environ.get("CI") == "true"


def _postgresql_database() -> Iterator[str]:
    """Create a throw-away database on the PostgreSQL server, and drop it afterwards."""
    admin = sa.create_engine(POSTGRESQL_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            name = f"citizenry_test_{uuid.uuid4().hex[:12]}"
            connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    except sa.exc.OperationalError as error:
        admin.dispose()
        reason = f"PostgreSQL is not reachable at {POSTGRESQL_URL}: {error.orig}"
        if IN_CI:
            pytest.fail(f"{reason} (under CI=true the PostgreSQL tests must run)")
        pytest.skip(reason)
    url = sa.engine.make_url(POSTGRESQL_URL).set(database=name).render_as_string(hide_password=False)
    try:
        yield url
    finally:
        with admin.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if request.param == "sqlite":
        path: Path = tmp_path_factory.mktemp("sqlite") / "citizenry.sqlite3"
        url = f"sqlite:///{path}"
        migrate.upgrade(url)
        yield url
    else:
        for url in _postgresql_database():
            migrate.upgrade(url)
            yield url


@pytest.fixture(scope="session")
def redis_url() -> str:
    """Return the test Redis server's URL, or skip when it does not respond (fail under CI=true)."""
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2, socket_timeout=2)
    try:
        client.ping()
    except redis.RedisError as error:
        reason = f"Redis is not reachable at {safe_redis_url(REDIS_URL)}: {error}"
        if IN_CI:
            pytest.fail(f"{reason} (under CI=true the Redis tests must run)")
        pytest.skip(reason)
    finally:
        client.close()
    return REDIS_URL


@pytest.fixture
def redis_key_prefix(redis_url: str) -> Iterator[str]:
    """Yield a key prefix of this test's own, and delete the test's keys afterwards."""
    prefix = f"citizenry-test-{uuid.uuid4().hex[:12]}"
    yield prefix
    client = redis.Redis.from_url(redis_url)
    try:
        keys = list(client.scan_iter(match=f"{prefix}:*"))
        if keys:
            client.delete(*keys)
    finally:
        client.close()


@pytest.fixture(scope="session")
def settings(database_url: str) -> Settings:
    return Settings(
        database_url=database_url,
        secret_key=secrets.token_urlsafe(48),
        base_domain="localhost",
        insecure_http=True,
        session_cookie_secure=False,
        # Every test shares one client address; the rate limit tests build apps of their own.
        oauth_rate_limit_per_app="100000/minute",
        oauth_rate_limit_per_ip="100000/minute",
        sign_in_rate_limit_per_ip="100000/minute",
        sign_in_rate_limit_per_email="100000/minute",
        api_rate_limit_per_token="100000/minute",
    )


@pytest.fixture(scope="session")
def database(settings: Settings) -> Iterator[Database]:
    db = Database(settings.database_url)
    yield db
    db.dispose()


@pytest.fixture(scope="session")
def app(settings: Settings):  # type: ignore[no-untyped-def]
    return create_app(settings)


@pytest.fixture
def client(app) -> Iterator[TestClient]:  # type: ignore[no-untyped-def]
    with TestClient(app, base_url="http://testserver", follow_redirects=False) as test_client:
        yield test_client


@pytest.fixture
def factory(database: Database) -> Factory:
    return Factory(database)


@pytest.fixture
def app_fixture_client(app) -> Iterator[TestClient]:  # type: ignore[no-untyped-def]
    """A second browser, with cookies of its own."""
    with TestClient(app, base_url="http://testserver", follow_redirects=False) as test_client:
        yield test_client
