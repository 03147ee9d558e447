"""The engine, and one transaction per request run on a worker thread."""

from __future__ import annotations

import logging
import math
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar

import anyio.to_thread
from anyio.lowlevel import RunVar
from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import NullPool

from citizenry import json_codec

if TYPE_CHECKING:
    from citizenry.settings import Settings

logger = logging.getLogger(__name__)

P = ParamSpec("P")
T = TypeVar("T")

#: Transactions a process runs at once by default; further requests wait for one to end. With 32
#: connections on one worker, 2 threads served a page of 100 people at 134 pages/s on SQLite and
#: 108 on PostgreSQL, against 72 and about 92 with 40 threads (docs/benchmarks.md).
DEFAULT_THREADS = 2

#: Milliseconds a SQLite writer waits for the lock before failing with "database is locked".
SQLITE_BUSY_TIMEOUT_MS = 5000


def _set_sqlite_pragmas(dbapi_connection: Any, connection_record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()
    # SQLite's own lower() folds only ASCII; PostgreSQL's folds every letter. Replace it, so
    # case-insensitive matches such as e-mail addresses behave the same on both.
    dbapi_connection.create_function("lower", 1, _unicode_lower, deterministic=True)
    # /people/nearby uses sin(), cos() and radians(); builds of SQLite without its math
    # functions get Python's.
    try:
        dbapi_connection.execute("SELECT sin(0), cos(0), radians(0)")
    except sqlite3.OperationalError:
        for name, function in (("sin", math.sin), ("cos", math.cos), ("radians", math.radians)):
            dbapi_connection.create_function(name, 1, _nullable(function), deterministic=True)


def _nullable(function: Callable[[float], float]) -> Callable[[Any], float | None]:
    return lambda value: None if value is None else function(value)


def _unicode_lower(value: Any) -> Any:
    return value.lower() if isinstance(value, str) else value


@dataclass(frozen=True)
class PoolOptions:
    """How many connections a process keeps, may add under load, and waits for (seconds)."""

    size: int = 20
    max_overflow: int = 20
    timeout: int = 30
    #: PostgreSQL sits behind PgBouncer in transaction mode, which cannot keep prepared statements.
    pgbouncer: bool = False


def create_database_engine(url: str, *, pool: PoolOptions | None = PoolOptions()) -> Engine:
    """Create the engine for ``url``, with WAL and foreign keys switched on for SQLite.

    ``pool=None`` opens one connection per use, for short-lived commands such as migrations.
    A request that waits longer than the pool's timeout for a connection fails with a 503.
    """
    options: dict[str, Any] = (
        {"poolclass": NullPool}
        if pool is None
        else {"pool_size": pool.size, "max_overflow": pool.max_overflow, "pool_timeout": pool.timeout}
    )
    # A page of 100 people decodes 200 JSON values: about 1.3 ms with json.loads, 0.1 ms with orjson.
    options["json_deserializer"] = json_codec.loads
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False}, **options)
        event.listen(engine, "connect", _set_sqlite_pragmas)
        return engine
    # psycopg prepares a statement on the server after it has run five times; PgBouncer in
    # transaction mode may send the next use to another server connection, which lacks it.
    connect_args = {"prepare_threshold": None} if pool is not None and pool.pgbouncer else {}
    return create_engine(url, pool_pre_ping=pool is not None, connect_args=connect_args, **options)


class Database:
    """Owns the engine; runs a function inside one transaction, on a worker thread."""

    def __init__(
        self, url: str, pool: PoolOptions | None = PoolOptions(), threads: int = DEFAULT_THREADS
    ) -> None:
        self.engine = create_database_engine(url, pool=pool)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)
        self.threads = threads
        #: Seconds a transaction waits for a free thread, as long as it would wait for a connection.
        self.wait_timeout = float((pool or PoolOptions()).timeout)
        # One limiter per event loop, as anyio keeps its own default one: a limiter belongs to the
        # loop that made it, and tests run several loops in one process.
        self._limiter: RunVar[anyio.CapacityLimiter] = RunVar(f"citizenry-database-{id(self)}")

    @classmethod
    def from_settings(cls, settings: Settings) -> Database:
        """Open the database of ``settings`` with its connection pool options."""
        pool = PoolOptions(
            size=settings.database_pool_size,
            max_overflow=settings.database_max_overflow,
            timeout=settings.database_pool_timeout,
            pgbouncer=settings.database_pgbouncer,
        )
        return cls(settings.database_url, pool, threads=settings.database_threads)

    def transaction(self, fn: Callable[..., T], *args: Any) -> T:
        """Call ``fn(session, *args)`` in one transaction: commit on return, roll back on error."""
        with self.sessions.begin() as session:
            return fn(session, *args)

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        """Run :meth:`transaction` on a worker thread, so the event loop does not block on the database.

        At most ``threads`` transactions of this process run at once. Many threads that contend for
        the GIL cost more CPU per request than they save by waiting on the database together. A
        transaction that finds no free thread within ``wait_timeout`` seconds raises SQLAlchemy's
        ``TimeoutError``, as a full connection pool does, and the app returns 503.
        """
        try:
            limiter = self._limiter.get()
        except LookupError:
            limiter = anyio.CapacityLimiter(self.threads)
            self._limiter.set(limiter)
        acquired = False
        with anyio.move_on_after(self.wait_timeout):
            await limiter.acquire()
            acquired = True
        if not acquired:
            raise PoolTimeout(f"no database thread was free within {self.wait_timeout:g} s")
        try:
            # Only the wait for the limiter may time out: a transaction that has started runs to
            # its end, so a committed write is never reported as failed.
            return await anyio.to_thread.run_sync(partial(self.transaction, fn, *args))
        finally:
            limiter.release()

    def dispose(self) -> None:
        self.engine.dispose()


__all__ = ["Database", "PoolOptions", "Session", "create_database_engine"]
