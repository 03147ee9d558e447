"""The server-side state of each browser: its nation, its SDK client with the tokens, and the
authorization request waiting for its callback. The browser has only a random session id."""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass

from citizenry.client import AsyncClient, AuthorizationRequest

logger = logging.getLogger(__name__)

#: Maximum number of visits kept at once. Adding one more drops the oldest.
MAX_VISITS = 10_000


@dataclass
class Visit:
    """One browser's connection to one nation. The tokens live in ``client``'s token store."""

    slug: str
    client: AsyncClient
    #: The authorization request the browser was sent to make, until its callback arrives.
    pending: AuthorizationRequest | None = None

    @property
    def connected(self) -> bool:
        return self.client.tokens() is not None


class Visits:
    """Every browser's visit, by session id, in this process's memory.

    NOTE: the visits, and so the tokens, are lost when the app restarts, and several processes do
    not share them. An app in production keeps them in a database, with the tokens encrypted.
    """

    def __init__(self) -> None:
        self._by_session: dict[str, Visit] = {}

    def find(self, session_id: str | None) -> Visit | None:
        return self._by_session.get(session_id) if session_id is not None else None

    def add(self, visit: Visit) -> str:
        """Keep ``visit`` under a new random session id, and return the id."""
        if len(self._by_session) >= MAX_VISITS:
            dropped = self._by_session.pop(next(iter(self._by_session)))
            logger.warning("%d visits kept; dropping the oldest, of nation %s", MAX_VISITS, dropped.slug)
        session_id = secrets.token_urlsafe(32)
        self._by_session[session_id] = visit
        return session_id

    def forget(self, session_id: str | None) -> Visit | None:
        """Drop the visit of ``session_id`` and return it, if there is one."""
        return self._by_session.pop(session_id, None) if session_id is not None else None

    def renew(self, session_id: str) -> str:
        """Move a visit to a new session id, so that the id from before the sign-in stops working."""
        visit = self._by_session.pop(session_id)
        return self.add(visit)
