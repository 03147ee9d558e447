"""Tokens and app credentials, with a ``repr`` that never shows a secret."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TypeGuard

from citizenry.client.errors import TokenStoreError, UnexpectedResponse

REDACTED = "<redacted>"


def _shown(secret: str | None) -> str:
    return "None" if secret is None else REDACTED


@dataclass(frozen=True, repr=False)
class TokenSet:
    """An access token, with the refresh token and expiry that came with it.

    ``expires_at`` is in seconds since the epoch, by the client's clock when the token response
    arrived, or None for a token that does not expire (a legacy token, or one given without its
    lifetime, such as ``CITIZENRY_TOKEN``).
    """

    access_token: str
    token_type: str = "bearer"  # noqa: S105 (a wire value)
    refresh_token: str | None = None
    expires_at: float | None = None
    scope: str = ""

    def __repr__(self) -> str:
        return (
            f"TokenSet(access_token={REDACTED}, token_type={self.token_type!r}, "
            f"refresh_token={_shown(self.refresh_token)}, expires_at={self.expires_at!r}, "
            f"scope={self.scope!r})"
        )

    __str__ = __repr__

    def expires_within(self, seconds: float, *, now: float) -> bool:
        """Return True when the access token expires less than ``seconds`` after ``now``."""
        return self.expires_at is not None and self.expires_at - seconds <= now

    @classmethod
    def from_token_response(cls, body: Any, *, now: float) -> TokenSet:
        """Read a token endpoint's success body (RFC 6749 section 5.1)."""
        if not isinstance(body, Mapping) or not isinstance(body.get("access_token"), str):
            raise UnexpectedResponse("the token response has no access_token")
        expires_in = body.get("expires_in")
        return cls._from_fields(body, expires_at=now + expires_in if _is_number(expires_in) else None)

    def to_json(self) -> dict[str, Any]:
        """Return the fields as a JSON object, for a token store."""
        return {
            "access_token": self.access_token,
            "token_type": self.token_type,
            "refresh_token": self.refresh_token,
            "expires_at": self.expires_at,
            "scope": self.scope,
        }

    @classmethod
    def from_json(cls, data: Any) -> TokenSet:
        """Read what :meth:`to_json` wrote; raise :class:`TokenStoreError` on anything else."""
        if not isinstance(data, Mapping) or not isinstance(data.get("access_token"), str):
            raise TokenStoreError("the stored tokens are not a JSON object with an access_token")
        expires_at = data.get("expires_at")
        return cls._from_fields(data, expires_at=float(expires_at) if _is_number(expires_at) else None)

    @classmethod
    def _from_fields(cls, data: Mapping[str, Any], *, expires_at: float | None) -> TokenSet:
        refresh_token = data.get("refresh_token")
        return cls(
            access_token=data["access_token"],
            token_type=str(data.get("token_type") or "bearer"),
            refresh_token=refresh_token if isinstance(refresh_token, str) and refresh_token else None,
            expires_at=expires_at,
            scope=str(data.get("scope") or ""),
        )


def _is_number(value: object) -> TypeGuard[int | float]:
    return isinstance(value, int | float) and not isinstance(value, bool)


@dataclass(frozen=True, repr=False)
class AppCredentials:
    """An app registered on the server: its Client ID, its secret (None for a public app) and
    the callback URL it registered."""

    client_id: str
    client_secret: str | None = None
    redirect_uri: str | None = None

    def __repr__(self) -> str:
        return (
            f"AppCredentials(client_id={self.client_id!r}, client_secret={_shown(self.client_secret)}, "
            f"redirect_uri={self.redirect_uri!r})"
        )

    def form_fields(self) -> dict[str, str]:
        """Return the client authentication fields of a token or revocation request body.

        The credentials go in the body rather than in HTTP Basic because NationBuilder's own
        examples send them there; Citizenry accepts both (RFC 6749 section 2.3.1).
        """
        fields = {"client_id": self.client_id}
        if self.client_secret is not None:
            fields["client_secret"] = self.client_secret
        return fields
