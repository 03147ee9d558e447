"""Authlib's token interface over a token's scope, expiry and revocation."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from authlib.oauth2.rfc6749 import TokenMixin

from citizenry.store.types import utcnow


class StoredTokenState(TokenMixin):  # type: ignore[misc]
    """Mixin for frozen dataclasses with ``app_id``, ``scope``, ``expires_at`` and ``revoked`` fields."""

    app_id: int | None
    scope: str
    #: None for a token that never expires.
    expires_at: datetime | None
    revoked: bool

    def get_scope(self) -> str:
        return self.scope

    def get_expires_in(self) -> int:
        if self.expires_at is None:
            return 0
        return max(0, int((self.expires_at - utcnow()).total_seconds()))

    def is_expired(self) -> bool:
        return self.expires_at is not None and self.expires_at <= utcnow()

    def is_revoked(self) -> bool:
        return self.revoked

    def check_client(self, client: Any) -> bool:
        return self.app_id is not None and self.app_id == getattr(client, "app_id", None)
