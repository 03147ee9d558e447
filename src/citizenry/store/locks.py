"""Transaction-scoped locks that serialize writers deciding on the same key."""

from __future__ import annotations

import hashlib

from sqlalchemy import text
from sqlalchemy.orm import Session


def lock_for_write(session: Session, nation_id: int, key: str) -> None:
    """Hold a lock on ``key`` within ``nation_id`` until the transaction ends.

    PostgreSQL takes an advisory lock on a 64-bit hash of the key, so writers of other keys go
    on. SQLite has one writer at a time, so the transaction takes the database's write lock at
    once with a no-op update. A second writer waits for it, up to ``busy_timeout``.
    """
    if session.get_bind().dialect.name == "postgresql":
        digest = hashlib.sha256(f"{nation_id}:{key}".encode()).digest()
        session.execute(
            text("SELECT pg_advisory_xact_lock(:key)"),
            {"key": int.from_bytes(digest[:8], "big", signed=True)},
        )
    else:
        session.execute(text("UPDATE nations SET id = id WHERE id = :id"), {"id": nation_id})
