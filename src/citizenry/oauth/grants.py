"""Authlib's grants with Citizenry's storage: every query is limited to the request's nation."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from authlib.oauth2.rfc6749 import AuthorizationCodeMixin, TokenMixin, grants
from authlib.oauth2.rfc6749.errors import InvalidRequestError, InvalidScopeError
from authlib.oauth2.rfc6749.util import scope_to_list
from sqlalchemy import select, update

from citizenry import audit
from citizenry.oauth.digests import digest, new_code
from citizenry.oauth.families import revoke_family
from citizenry.store.models import (
    AccessToken,
    Authorization,
    AuthorizationCode,
    RefreshToken,
    User,
)
from citizenry.store.types import utcnow

if TYPE_CHECKING:
    from citizenry.oauth.server import NationAuthorizationServer

logger = logging.getLogger(__name__)

CLIENT_AUTH_METHODS = ["client_secret_basic", "client_secret_post", "none"]


@dataclass(frozen=True)
class RedeemedCode(AuthorizationCodeMixin):  # type: ignore[misc]
    """An authorization code that this request has just claimed."""

    authorization_id: int
    user_id: int
    redirect_uri: str | None
    scope: str
    code_challenge: str | None
    code_challenge_method: str | None

    def get_redirect_uri(self) -> str | None:
        return self.redirect_uri

    def get_scope(self) -> str:
        return self.scope


@dataclass(frozen=True)
class PresentedRefreshToken(TokenMixin):  # type: ignore[misc]
    """A refresh token that this request has just claimed for rotation."""

    #: None when a legacy access token is being migrated.
    id: int | None
    authorization_id: int
    app_id: int
    access_token_id: int
    user_id: int
    scope: str
    migrated: bool = False

    def check_client(self, client: Any) -> bool:
        return bool(client.app_id == self.app_id)

    def get_scope(self) -> str:
        return self.scope

    def get_expires_in(self) -> int:
        return 0

    def is_expired(self) -> bool:
        return False

    def is_revoked(self) -> bool:
        return False


class AuthorizationCodeGrant(grants.AuthorizationCodeGrant):  # type: ignore[misc]
    TOKEN_ENDPOINT_AUTH_METHODS = CLIENT_AUTH_METHODS
    server: NationAuthorizationServer

    @staticmethod
    def validate_authorization_redirect_uri(request: Any, client: Any) -> str:
        """Check the redirect URI exactly, without echoing it: Authlib's message would quote it,
        and a URI with characters RFC 6749 forbids in an error description would fail there."""
        redirect_uri = request.payload.redirect_uri
        if redirect_uri:
            if not client.check_redirect_uri(redirect_uri):
                raise InvalidRequestError(
                    "The redirect_uri does not match a callback URL registered for this app."
                )
            return str(redirect_uri)
        default = client.get_default_redirect_uri()
        if not default:
            raise InvalidRequestError(
                "Missing 'redirect_uri': this app has several callback URLs, so the request must name one."
            )
        return str(default)

    def generate_authorization_code(self) -> str:
        return new_code()

    def save_authorization_code(self, code: str, request: Any) -> None:
        server = self.server
        session = server.session
        now = utcnow()
        authorization = Authorization(
            nation_id=server.nation.id,
            app_id=request.client.app_id,
            user_id=request.user.id,
            scope=request.scope or "",
        )
        session.add(authorization)
        session.flush()
        data = request.payload.data
        session.add(
            AuthorizationCode(
                authorization_id=authorization.id,
                nation_id=server.nation.id,
                app_id=request.client.app_id,
                code_digest=digest(code),
                redirect_uri=data.get("redirect_uri"),
                scope=authorization.scope,
                code_challenge=data.get("code_challenge"),
                code_challenge_method=data.get("code_challenge_method"),
                expires_at=now + timedelta(seconds=server.settings.authorization_code_ttl),
            )
        )
        session.flush()
        logger.info(
            "issued authorization code for authorization id=%s app id=%s nation id=%s",
            authorization.id,
            request.client.app_id,
            server.nation.id,
        )

    def query_authorization_code(self, code: str, client: Any) -> RedeemedCode | None:
        """Claim the code for this request, so it is redeemed once even under concurrency."""
        server = self.server
        session = server.session
        row = session.scalar(
            select(AuthorizationCode).where(
                AuthorizationCode.code_digest == digest(code),
                AuthorizationCode.nation_id == server.nation.id,
                AuthorizationCode.app_id == client.app_id,
            )
        )
        if row is None:
            return None
        now = utcnow()
        if row.expires_at <= now:
            logger.info("rejected expired authorization code id=%s", row.id)
            return None

        # A conditional update, so of two concurrent redemptions exactly one changes the row.
        claimed = session.execute(
            update(AuthorizationCode)
            .where(AuthorizationCode.id == row.id, AuthorizationCode.used_at.is_(None))
            .values(used_at=now)
        )
        if claimed.rowcount != 1:  # type: ignore[attr-defined]
            # RFC 6749 section 4.1.2: a reused code revokes what the first redemption issued.
            revoke_family(session, row.authorization_id, now, reason="authorization code reused")
            audit.record(
                session,
                nation_id=server.nation.id,
                kind="token.reuse_detected",
                app_id=row.app_id,
                authorization_id=row.authorization_id,
                credential="authorization_code",
            )
            return None

        authorization = session.get(Authorization, row.authorization_id)
        if authorization is None or authorization.revoked_at is not None:
            return None
        return RedeemedCode(
            authorization_id=row.authorization_id,
            user_id=authorization.user_id,
            redirect_uri=row.redirect_uri,
            scope=row.scope,
            code_challenge=row.code_challenge,
            code_challenge_method=row.code_challenge_method,
        )

    def delete_authorization_code(self, authorization_code: RedeemedCode) -> None:
        """Do nothing: the code was marked used when it was claimed, and the row stays for reuse detection."""

    def authenticate_user(self, authorization_code: RedeemedCode) -> User | None:
        return self.server.session.get(User, authorization_code.user_id)


class RefreshTokenGrant(grants.RefreshTokenGrant):  # type: ignore[misc]
    TOKEN_ENDPOINT_AUTH_METHODS = CLIENT_AUTH_METHODS
    INCLUDE_NEW_REFRESH_TOKEN = True
    server: NationAuthorizationServer
    authenticated_client: Any = None

    def authenticate_token_endpoint_client(self) -> Any:
        # Kept so the refresh token is looked up for this client only: another client's
        # token must neither match nor be rotated away from its owner.
        self.authenticated_client = super().authenticate_token_endpoint_client()
        return self.authenticated_client

    def authenticate_refresh_token(self, refresh_token: str) -> PresentedRefreshToken | None:
        """Claim the refresh token for rotation, or a legacy access token for its one migration."""
        server = self.server
        session = server.session
        token_digest = digest(refresh_token)
        app_id = self.authenticated_client.app_id
        row = session.scalar(
            select(RefreshToken).where(
                RefreshToken.token_digest == token_digest,
                RefreshToken.nation_id == server.nation.id,
                RefreshToken.app_id == app_id,
            )
        )
        if row is None:
            return self._claim_legacy_access_token(token_digest, app_id)
        if row.revoked_at is not None:
            return None
        # Every refresh of one family, and every revocation of it, locks the authorization row
        # first. Without one order, PostgreSQL deadlocks: a request that lost the claim below
        # keeps its lock on the token row, while another loser revoking the family holds the
        # authorization row and waits for that token row.
        session.execute(
            select(Authorization.id).where(Authorization.id == row.authorization_id).with_for_update()
        )
        session.refresh(row)

        if row.rotated_at is None:
            # A dead family or a wider scope is rejected before the claim, so a retry is not reuse.
            if self._live_authorization(row.authorization_id) is None:
                return None
            claimed = session.execute(
                update(RefreshToken)
                .where(RefreshToken.id == row.id, RefreshToken.rotated_at.is_(None))
                .values(rotated_at=utcnow())
            )
            if claimed.rowcount == 1:  # type: ignore[attr-defined]
                return self._live_credential(
                    row.id, row.authorization_id, row.access_token_id, migrated=False
                )

        # RFC 9700 section 4.14.2: a rotated refresh token presented again revokes its family.
        revoke_family(session, row.authorization_id, utcnow(), reason="refresh token reused")
        audit.record(
            session,
            nation_id=server.nation.id,
            kind="token.reuse_detected",
            app_id=app_id,
            authorization_id=row.authorization_id,
            credential="refresh_token",
        )
        return None

    def _claim_legacy_access_token(self, token_digest: bytes, app_id: int) -> PresentedRefreshToken | None:
        """Accept a never-expiring access token once as a refresh token, revoking it."""
        session = self.server.session
        access = session.scalar(
            select(AccessToken).where(
                AccessToken.token_digest == token_digest,
                AccessToken.nation_id == self.server.nation.id,
                AccessToken.app_id == app_id,
                AccessToken.expires_at.is_(None),
            )
        )
        if access is None or self._live_authorization(access.authorization_id) is None:
            return None
        claimed = session.execute(
            update(AccessToken)
            .where(AccessToken.id == access.id, AccessToken.revoked_at.is_(None))
            .values(revoked_at=utcnow())
        )
        if claimed.rowcount != 1:  # type: ignore[attr-defined]
            return None
        return self._live_credential(None, access.authorization_id, access.id, migrated=True)

    def _live_authorization(self, authorization_id: int) -> Authorization | None:
        """Return the authorization unless it is revoked or older than the refresh token maximum age.

        A requested scope wider than the authorization's raises ``invalid_scope`` here, before the
        token is claimed, so the app can retry without it (RFC 6749 section 6).
        """
        server = self.server
        authorization = server.session.get(Authorization, authorization_id)
        if authorization is None or authorization.revoked_at is not None:
            return None
        requested = scope_to_list(self.request.payload.scope) or []
        if requested and not set(requested) <= set(scope_to_list(authorization.scope) or []):
            raise InvalidScopeError()
        max_age = timedelta(seconds=server.settings.refresh_token_max_age)
        if authorization.created_at + max_age <= utcnow():
            logger.info("rejected refresh of authorization id=%s past its maximum age", authorization_id)
            return None
        return authorization

    def _live_credential(
        self, refresh_id: int | None, authorization_id: int, access_token_id: int, *, migrated: bool
    ) -> PresentedRefreshToken | None:
        authorization = self._live_authorization(authorization_id)
        if authorization is None:
            return None
        return PresentedRefreshToken(
            id=refresh_id,
            authorization_id=authorization_id,
            app_id=authorization.app_id,
            access_token_id=access_token_id,
            user_id=authorization.user_id,
            scope=authorization.scope,
            migrated=migrated,
        )

    def authenticate_user(self, refresh_token: PresentedRefreshToken) -> User | None:
        return self.server.session.get(User, refresh_token.user_id)

    def revoke_old_credential(self, refresh_token: PresentedRefreshToken) -> None:
        self.server.session.execute(
            update(AccessToken)
            .where(AccessToken.id == refresh_token.access_token_id, AccessToken.revoked_at.is_(None))
            .values(revoked_at=utcnow())
        )
