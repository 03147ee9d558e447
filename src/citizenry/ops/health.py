"""Liveness at ``GET /healthz`` and readiness at ``GET /readyz``, for load balancers and orchestrators.

Both respond on every host and under every ``/n/{slug}`` prefix, known nation or not, because
they never load a nation. They have no authentication and no rate limit.

``/readyz`` runs ``SELECT 1`` and compares the database's Alembic revision with this release's
head, on an engine of its own whose connections time out after :data:`CONNECT_TIMEOUT_SECONDS`.
The whole check is also bounded by :data:`CHECK_TIMEOUT_SECONDS`, so a database that does not
respond gives 503 within that time. A failed check reports fixed words, never the error text,
which may name the database's user or host.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from functools import cache

import anyio
import anyio.to_thread
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from fastapi import APIRouter
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.pool import NullPool
from starlette.requests import Request
from starlette.responses import Response

from citizenry.json_codec import JSONResponse
from citizenry.store.migrate import alembic_config

logger = logging.getLogger(__name__)

router = APIRouter(include_in_schema=False)

NO_STORE = {"Cache-Control": "no-store"}

#: Seconds to connect to the database, and on PostgreSQL the longest a statement of the check
#: may run. libpq accepts no connect timeout below 2 seconds.
CONNECT_TIMEOUT_SECONDS = 2
#: Seconds after which /readyz returns 503 even if the check's thread is still waiting.
CHECK_TIMEOUT_SECONDS = 2.5
#: The number of running checks, abandoned ones included, at which no new check starts.
MAX_RUNNING_CHECKS = 2


@dataclass(frozen=True)
class Readiness:
    """The outcome of one readiness check, in the fixed words /readyz reports."""

    #: ``ok``, ``unreachable`` (connecting or querying failed) or ``timeout``.
    database: str
    #: ``ok``, ``behind`` (migrations to apply), ``unknown`` (a revision this release does not
    #: have, as after a downgrade of the code) or ``unchecked`` (the database failed first).
    migrations: str
    #: The exception class of a failed check, for the log only.
    cause: str = ""

    @property
    def ready(self) -> bool:
        return self.database == "ok" and self.migrations == "ok"


@cache
def _script_revisions(database_url: str) -> tuple[frozenset[str], frozenset[str]]:
    """Return this release's head revisions and all of its revisions."""
    script = ScriptDirectory.from_config(alembic_config(database_url))
    known = frozenset(revision.revision for revision in script.walk_revisions())
    return frozenset(script.get_heads()), known


def _migration_state(database_url: str, current: set[str]) -> str:
    heads, known = _script_revisions(database_url)
    if current == heads:
        return "ok"
    return "behind" if current <= known else "unknown"


def _probe_engine(database_url: str) -> Engine:
    """Create an engine that opens a new connection for each check, with a connect timeout."""
    if make_url(database_url).get_backend_name() == "sqlite":
        connect_args: dict[str, object] = {"timeout": CONNECT_TIMEOUT_SECONDS, "check_same_thread": False}
    else:
        connect_args = {"connect_timeout": CONNECT_TIMEOUT_SECONDS}
    return create_engine(database_url, poolclass=NullPool, connect_args=connect_args)


class ReadinessProbe:
    """A readiness check of the database and its migrations, run on a worker thread and bounded in time."""

    def __init__(self, database_url: str) -> None:
        self.database_url = database_url
        self.engine = _probe_engine(database_url)
        self._running = 0
        self._running_lock = threading.Lock()
        self._last_ready: bool | None = None

    @property
    def running_checks(self) -> int:
        """The number of checks whose threads have not finished, abandoned ones included."""
        with self._running_lock:
            return self._running

    async def check(self) -> Readiness:
        """Run one check, and log when readiness changes, with the cause of a failure."""
        result = await self._bounded_check()
        if result.ready != self._last_ready:
            if result.ready:
                if self._last_ready is not None:
                    logger.info("ready again: the database responds and its migrations are current")
            else:
                logger.warning(
                    "not ready: database %s, migrations %s%s",
                    result.database,
                    result.migrations,
                    f" ({result.cause})" if result.cause else "",
                )
            self._last_ready = result.ready
        return result

    async def _bounded_check(self) -> Readiness:
        with self._running_lock:
            if self._running >= MAX_RUNNING_CHECKS:
                # Earlier checks still wait for the database on their threads.
                return Readiness(database="timeout", migrations="unchecked")
            self._running += 1
        with anyio.move_on_after(CHECK_TIMEOUT_SECONDS):
            # A thread cannot be stopped: after the timeout it is left to finish on its own, and
            # its own limiter keeps it from holding one of the threads that requests use.
            return await anyio.to_thread.run_sync(
                self._check_and_release, abandon_on_cancel=True, limiter=anyio.CapacityLimiter(1)
            )
        return Readiness(database="timeout", migrations="unchecked")

    def _check_and_release(self) -> Readiness:
        try:
            return self._check()
        finally:
            with self._running_lock:
                self._running -= 1

    def _check(self) -> Readiness:
        try:
            with self.engine.connect() as connection:
                if connection.dialect.name == "postgresql":
                    # SET LOCAL lasts until the end of the check's transaction, so a pooler such as
                    # PgBouncer never hands the setting on to another client.
                    timeout_ms = CONNECT_TIMEOUT_SECONDS * 1000
                    connection.execute(text(f"SET LOCAL statement_timeout = {timeout_ms}"))
                connection.execute(text("SELECT 1"))
                current = set(MigrationContext.configure(connection).get_current_heads())
        except SQLAlchemyError as error:
            cause = type(getattr(error, "orig", None) or error).__name__
            return Readiness(database="unreachable", migrations="unchecked", cause=cause)
        return Readiness(database="ok", migrations=_migration_state(self.database_url, current))


def _probe(request: Request) -> ReadinessProbe:
    """Return the app's probe, made on the first /readyz request."""
    state = request.app.state
    probe: ReadinessProbe | None = getattr(state, "readiness_probe", None)
    if probe is None:
        probe = ReadinessProbe(state.settings.database_url)
        state.readiness_probe = probe
    return probe


@router.api_route("/healthz", methods=["GET", "HEAD"])
async def healthz() -> Response:
    """Return 200 while the process serves requests, without touching the database."""
    return JSONResponse({"status": "ok"}, headers=NO_STORE)


@router.api_route("/readyz", methods=["GET", "HEAD"])
async def readyz(request: Request) -> Response:
    """Return 200 when the database responds and its migrations are current, else 503."""
    result = await _probe(request).check()
    if result.ready:
        return JSONResponse({"status": "ready"}, headers=NO_STORE)
    body = {
        "status": "unavailable",
        "checks": {"database": result.database, "migrations": result.migrations},
    }
    return JSONResponse(body, status_code=503, headers=NO_STORE)
