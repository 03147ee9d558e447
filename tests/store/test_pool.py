"""Connection pool and thread options: a request that cannot get a connection in time gets a 503,
and a process runs no more transactions at once than its threads setting allows."""

from __future__ import annotations

import dataclasses
import threading
import time
from pathlib import Path
from typing import Any

import anyio
import anyio.to_thread
import pytest
from sqlalchemy import text
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.orm import Session
from starlette.testclient import TestClient

from citizenry.app import create_app
from citizenry.settings import Settings, SettingsError
from citizenry.store.db import Database, PoolOptions
from tests.factory import Factory, settings_env


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


class Overlap:
    """Counter of the transactions running at once, and of the peak."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.running = 0
        self.peak = 0

    def transaction(self, session: Session, number: int) -> int:
        with self.lock:
            self.running += 1
            self.peak = max(self.peak, self.running)
        try:
            session.execute(text("SELECT 1"))
            time.sleep(0.05)
        finally:
            with self.lock:
                self.running -= 1
        return number


@pytest.mark.parametrize("threads", [1, 3])
def test_run_caps_concurrent_transactions(settings: Settings, threads: int) -> None:
    database = Database.from_settings(dataclasses.replace(settings, database_threads=threads))
    overlap = Overlap()
    results: list[int] = []

    async def one(number: int) -> None:
        results.append(await database.run(overlap.transaction, number))

    async def many() -> None:
        async with anyio.create_task_group() as group:
            for number in range(8):
                group.start_soon(one, number)

    try:
        anyio.run(many)
        anyio.run(many)  # a second event loop gets a limiter of its own
    finally:
        database.dispose()

    assert overlap.peak == threads
    assert sorted(results) == sorted([*range(8), *range(8)])


def test_wait_for_thread_times_out(settings: Settings) -> None:
    database = Database(settings.database_url, PoolOptions(timeout=1), threads=1)
    started = threading.Event()
    outcomes: dict[str, Any] = {}

    def slow(session: Session) -> str:
        started.set()
        time.sleep(2)
        return "done"

    async def waiting() -> None:
        await anyio.to_thread.run_sync(started.wait)
        began = time.monotonic()
        try:
            await database.run(lambda session: "ran")
        except PoolTimeout as error:
            outcomes["waiting"] = error
        outcomes["waited"] = time.monotonic() - began

    async def both() -> None:
        async with anyio.create_task_group() as group:
            group.start_soon(waiting)
            outcomes["slow"] = await database.run(slow)

    try:
        anyio.run(both)
    finally:
        database.dispose()

    assert outcomes["slow"] == "done"
    assert isinstance(outcomes["waiting"], PoolTimeout)
    assert 0.9 <= outcomes["waited"] < 1.9


def test_threads_setting(tmp_path: Path) -> None:
    assert Settings.from_env(settings_env(tmp_path)).database_threads == 2
    assert Settings.from_env(settings_env(tmp_path, DATABASE_THREADS="6")).database_threads == 6


@pytest.mark.parametrize("raw", ["0", "-1", "two", "41"])
def test_threads_setting_rejects(tmp_path: Path, raw: Any) -> None:
    with pytest.raises(SettingsError):
        Settings.from_env(settings_env(tmp_path, DATABASE_THREADS=raw))
