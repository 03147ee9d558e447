"""The engine, and one transaction per request run on a worker thread."""

from __future__ import annotations

import logging
import math
import sqlite3
from collections.abc import Callable
from functools import partial
from typing import Any, ParamSpec, TypeVar

import anyio.to_thread
from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import NullPool

logger = logging.getLogger(__name__)

P = ParamSpec("P")
T = TypeVar("T")

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


def create_database_engine(url: str, *, pooled: bool = True) -> Engine:
    """Create the engine for ``url``, with WAL and foreign keys switched on for SQLite.

    The pool is as large as AnyIO's default worker-thread limit (40), so while that limit
    is unchanged a worker thread does not wait for a connection that another one holds. ``pooled=False``
    opens one connection per use, for short-lived commands such as migrations.
    """
    options: dict[str, Any] = {"pool_size": 40, "max_overflow": 0} if pooled else {"poolclass": NullPool}
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False}, **options)
        event.listen(engine, "connect", _set_sqlite_pragmas)
        return engine
    return create_engine(url, pool_pre_ping=pooled, **options)


class Database:
    """Owns the engine; runs a function inside one transaction, on a worker thread."""

    def __init__(self, url: str) -> None:
        self.engine = create_database_engine(url)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)

    def transaction(self, fn: Callable[..., T], *args: Any) -> T:
        """Call ``fn(session, *args)`` in one transaction: commit on return, roll back on error."""
        with self.sessions.begin() as session:
            return fn(session, *args)

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        """Run :meth:`transaction` on a worker thread, so the event loop does not block on the database."""
        return await anyio.to_thread.run_sync(partial(self.transaction, fn, *args))

    def dispose(self) -> None:
        self.engine.dispose()


__all__ = ["Database", "Session", "create_database_engine"]
