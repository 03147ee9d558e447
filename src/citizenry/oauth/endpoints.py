"""Token revocation (RFC 7009) and introspection (RFC 7662), limited to the request's nation."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, cast

from authlib.oauth2.rfc6749.errors import InvalidGrantError
from authlib.oauth2.rfc7009 import RevocationEndpoint
from authlib.oauth2.rfc7662 import IntrospectionEndpoint
from sqlalchemy import select, update

from citizenry import audit
from citizenry.oauth.digests import digest
from citizenry.oauth.families import revoke_family
from citizenry.oauth.token_state import StoredTokenState
from citizenry.store.models import AccessToken, App, Authorization, RefreshToken
from citizenry.store.types import utcnow

if TYPE_CHECKING:
    from citizenry.oauth.server import NationAuthorizationServer

ENDPOINT_AUTH_METHODS = ("client_secret_basic", "client_secret_post", "none")


@dataclass(frozen=True)
class StoredToken(StoredTokenState):
    """An access or refresh token found by its digest on the request's nation."""

    kind: str
    id: int
    authorization_id: int
    app_id: int
    client_id: str
    user_id: int
    scope: str
    created_at: datetime
    expires_at: datetime | None
    revoked: bool


def _find_token(server: NationAuthorizationServer, token_string: str, hint: str | None) -> StoredToken | None:
    """Look a token up as an access token and as a refresh token; a wrong hint does not hide it."""
    if not token_string or len(token_string) > 512:
        return None
    token_digest = digest(token_string)
    order = (
        ["refresh_token", "access_token"] if hint == "refresh_token" else ["access_token", "refresh_token"]
    )
    for kind in order:
        model: type[AccessToken] | type[RefreshToken] = (
            AccessToken if kind == "access_token" else RefreshToken
        )
        row = server.session.execute(
            select(model, Authorization, App.client_id)
            .join(Authorization, Authorization.id == model.authorization_id)
            .join(App, App.id == model.app_id)
            .where(model.token_digest == token_digest, model.nation_id == server.nation.id)
        ).first()
        if row is None:
            continue
        token = cast(AccessToken | RefreshToken, row[0])
        authorization: Authorization = row[1]
        client_id: str = row[2]
        rotated = getattr(token, "rotated_at", None) is not None
        return StoredToken(
            kind=kind,
            id=token.id,
            authorization_id=token.authorization_id,
            app_id=token.app_id,
            client_id=client_id,
            user_id=authorization.user_id,
            scope=authorization.scope,
            created_at=token.created_at,
            expires_at=getattr(token, "expires_at", None),
            revoked=token.revoked_at is not None or authorization.revoked_at is not None or rotated,
        )
    return None


class NationRevocationEndpoint(RevocationEndpoint):  # type: ignore[misc]
    CLIENT_AUTH_METHODS = ENDPOINT_AUTH_METHODS
    server: NationAuthorizationServer

    def authenticate_token(self, request: Any, client: Any) -> StoredToken | None:
        try:
            token: StoredToken | None = super().authenticate_token(request, client)
        except InvalidGrantError:
            # Another app's token: return 200 and change nothing, so revocation cannot be used
            # to probe for tokens (RFC 7009 section 2.2).
            return None
        return token

    def query_token(self, token_string: str, token_type_hint: str | None) -> StoredToken | None:
        return _find_token(self.server, token_string, token_type_hint)

    def revoke_token(self, token: StoredToken, request: Any) -> None:
        """Revoke an access token alone, or a refresh token with its whole family (RFC 7009 section 2.1)."""
        session = self.server.session
        now = utcnow()
        if token.kind == "refresh_token":
            revoke_family(session, token.authorization_id, now, reason="refresh token revoked by its app")
        else:
            session.execute(
                update(AccessToken)
                .where(AccessToken.id == token.id, AccessToken.revoked_at.is_(None))
                .values(revoked_at=now)
            )
        audit.record(
            session,
            nation_id=self.server.nation.id,
            kind="token.revoked",
            app_id=token.app_id,
            authorization_id=token.authorization_id,
            token_type=token.kind,
        )


class NationIntrospectionEndpoint(IntrospectionEndpoint):  # type: ignore[misc]
    # Introspection needs an authenticated client (RFC 7662 section 2.1), so public apps cannot use it.
    CLIENT_AUTH_METHODS = ("client_secret_basic", "client_secret_post")
    server: NationAuthorizationServer

    def query_token(self, token_string: str, token_type_hint: str | None) -> StoredToken | None:
        return _find_token(self.server, token_string, token_type_hint)

    def check_permission(self, token: StoredToken, client: Any, request: Any) -> bool:
        # An app may introspect only its own tokens; any other token is reported as {"active": false}.
        return token.check_client(client)

    def introspect_token(self, token: StoredToken) -> dict[str, Any]:
        body: dict[str, Any] = {
            "active": True,
            "scope": token.scope,
            "client_id": token.client_id,
            "token_type": "bearer" if token.kind == "access_token" else "refresh_token",
            "iat": int(token.created_at.timestamp()),
            "sub": str(token.user_id),
            "iss": self.server.issuer,
        }
        if token.expires_at is not None:
            body["exp"] = int(token.expires_at.timestamp())
        return body
