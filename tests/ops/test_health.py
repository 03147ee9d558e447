"""Liveness and readiness: /healthz never touches the database, /readyz checks it within a bound."""

from __future__ import annotations

import logging
import secrets
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from starlette.testclient import TestClient

from citizenry.app import create_app
from citizenry.ops import health
from citizenry.settings import Settings
from citizenry.store import migrate

PASSWORD_IN_URL = "pw-" + secrets.token_hex(8)


def _app(database_url: str) -> FastAPI:
    return create_app(
        Settings(
            database_url=database_url,
            secret_key=secrets.token_urlsafe(48),
            insecure_http=True,
            session_cookie_secure=False,
        )
    )


def _closed_port() -> int:
    """Return a loopback port that nothing listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


@pytest.fixture
def silent_server() -> Iterator[int]:
    """Yield the port of a loopback socket that accepts connections and never responds."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(16)
        port: int = listener.getsockname()[1]
        yield port


def _wait_for_abandoned_checks(app: FastAPI) -> None:
    """Wait until the threads of timed-out checks end, so none outlives the test's event loop."""
    probe: health.ReadinessProbe = app.state.readiness_probe
    deadline = time.monotonic() + 10
    while probe.running_checks and time.monotonic() < deadline:
        time.sleep(0.05)
    assert probe.running_checks == 0


def _readyz(database_url: str) -> tuple[int, object, float]:
    """Return the status, body and duration in seconds of one /readyz on a fresh app."""
    app = _app(database_url)
    with TestClient(app, base_url="http://testserver") as client:
        started = time.monotonic()
        response = client.get("/readyz")
        elapsed = time.monotonic() - started
        _wait_for_abandoned_checks(app)
    assert response.headers["cache-control"] == "no-store"
    return response.status_code, response.json(), elapsed


@pytest.mark.parametrize(
    ("path", "host"),
    [
        ("/healthz", "testserver"),
        ("/healthz", "nosuchnation.localhost"),
        # The prefix is stripped before routing, and /healthz never loads a nation, so an
        # unknown slug gets 200 like any other: the probe responds wherever it is mounted.
        ("/n/nosuchnation/healthz", "testserver"),
        ("/n/Not%20a%20slug/healthz", "testserver"),
    ],
)
def test_healthz_on_any_address(client: TestClient, path: str, host: str) -> None:
    response = client.get(path, headers={"Host": host})

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert response.headers["cache-control"] == "no-store"


def test_healthz_head(client: TestClient) -> None:
    response = client.head("/healthz")

    assert response.status_code == 200


def test_healthz_without_database() -> None:
    app = _app(f"postgresql+psycopg://postgres@127.0.0.1:{_closed_port()}/none")
    with TestClient(app, base_url="http://testserver") as client:
        response = client.get("/healthz")

    assert response.status_code == 200


@pytest.mark.parametrize("path", ["/readyz", "/n/nosuchnation/readyz"])
def test_readyz_ready(client: TestClient, path: str) -> None:
    response = client.get(path)

    assert response.status_code == 200
    assert response.json() == {"status": "ready"}
    assert response.headers["cache-control"] == "no-store"


def test_readyz_database_refuses() -> None:
    url = f"postgresql+psycopg://postgres:{PASSWORD_IN_URL}@127.0.0.1:{_closed_port()}/test"

    status, body, elapsed = _readyz(url)

    assert status == 503
    assert body == {"status": "unavailable", "checks": {"database": "unreachable", "migrations": "unchecked"}}
    assert elapsed < 3


def test_readyz_database_silent(silent_server: int) -> None:
    url = f"postgresql+psycopg://postgres:{PASSWORD_IN_URL}@127.0.0.1:{silent_server}/test"

    status, body, elapsed = _readyz(url)

    assert status == 503
    assert isinstance(body, dict)
    # The connect timeout (2 s) or the check's own bound (2.5 s) ends the wait, whichever is first.
    assert body["checks"]["database"] in {"unreachable", "timeout"}
    assert body["checks"]["migrations"] == "unchecked"
    assert elapsed < 3.5


def test_readyz_bound_stops_waiting(silent_server: int, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(health, "CHECK_TIMEOUT_SECONDS", 0.4)
    app = _app(f"postgresql+psycopg://postgres@127.0.0.1:{silent_server}/test")
    with TestClient(app, base_url="http://testserver") as client:
        timings = []
        bodies = []
        for _ in range(3):
            started = time.monotonic()
            bodies.append(client.get("/readyz").json())
            timings.append(time.monotonic() - started)
        _wait_for_abandoned_checks(app)

    expected = {"status": "unavailable", "checks": {"database": "timeout", "migrations": "unchecked"}}
    assert bodies == [expected] * 3
    assert 0.3 < timings[0] < 1.5
    assert 0.3 < timings[1] < 1.5
    # Two abandoned checks still wait on their threads, so the third does not start another.
    assert timings[2] < 0.3


def test_readyz_migrations_behind(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'behind.sqlite3'}"
    migrate.upgrade(url, "0006")

    status, body, _ = _readyz(url)

    assert status == 503
    assert body == {"status": "unavailable", "checks": {"database": "ok", "migrations": "behind"}}


def test_readyz_empty_database(tmp_path: Path) -> None:
    status, body, _ = _readyz(f"sqlite:///{tmp_path / 'empty.sqlite3'}")

    assert status == 503
    assert body == {"status": "unavailable", "checks": {"database": "ok", "migrations": "behind"}}


def test_readyz_unknown_revision(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'newer.sqlite3'}"
    migrate.upgrade(url)
    engine = sa.create_engine(url)
    with engine.begin() as connection:
        connection.execute(sa.text("UPDATE alembic_version SET version_num = '9999'"))
    engine.dispose()

    status, body, _ = _readyz(url)

    assert status == 503
    assert body == {"status": "unavailable", "checks": {"database": "ok", "migrations": "unknown"}}


def test_readyz_logs_changes_once(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    url = f"sqlite:///{tmp_path / 'later.sqlite3'}"
    migrate.upgrade(url, "0006")
    app = _app(url)
    caplog.set_level(logging.INFO, logger=health.logger.name)
    with TestClient(app, base_url="http://testserver") as client:
        first = client.get("/readyz")
        second = client.get("/readyz")
        migrate.upgrade(url)
        third = client.get("/readyz")
        fourth = client.get("/readyz")

    assert [first.status_code, second.status_code, third.status_code, fourth.status_code] == [
        503,
        503,
        200,
        200,
    ]
    messages = [record.getMessage() for record in caplog.records if record.name == health.logger.name]
    assert messages == [
        "not ready: database ok, migrations behind",
        "ready again: the database responds and its migrations are current",
    ]


def test_readyz_log_hides_password(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    url = f"postgresql+psycopg://postgres:{PASSWORD_IN_URL}@127.0.0.1:{_closed_port()}/test"

    _readyz(url)

    warnings = [record.getMessage() for record in caplog.records if record.name == health.logger.name]
    assert warnings == ["not ready: database unreachable, migrations unchecked (OperationalError)"]
    assert PASSWORD_IN_URL not in caplog.text
