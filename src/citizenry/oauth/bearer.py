"""Bearer token validation for the API, with Authlib's ``ResourceProtector`` (RFC 6750).

NationBuilder's v1 clients send the token in ``Authorization: Bearer`` (scheme in any case) or
as the ``access_token`` query parameter; both are accepted.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from authlib.oauth2.rfc6749 import ResourceProtector
from authlib.oauth2.rfc6750 import BearerTokenValidator
from sqlalchemy import select
from sqlalchemy.orm import Session

from citizenry.oauth.digests import digest
from citizenry.oauth.token_state import StoredTokenState
from citizenry.store.models import AccessToken, App, Authorization, Nation, TestToken

#: Maximum length of a token string that is looked up; real tokens have 64 characters.
MAX_TOKEN_LENGTH = 512


@dataclass(frozen=True)
class Grant(StoredTokenState):
    """A live credential for the API: who it acts for, and on which app's behalf (None for a test token)."""

    nation_id: int
    user_id: int
    app_id: int | None
    scope: str
    expires_at: datetime | None
    revoked: bool
    #: The token's app has the strict OAuth profile switched on.
    app_strict: bool = False


class NationBearerTokenValidator(BearerTokenValidator):  # type: ignore[misc]
    """Looks tokens up by digest within one nation: access tokens of apps, then test tokens."""

    def __init__(self, session: Session, nation: Nation) -> None:
        super().__init__(realm="api")
        self.session = session
        self.nation = nation

    def authenticate_token(self, token_string: str) -> Grant | None:
        if not token_string or len(token_string) > MAX_TOKEN_LENGTH:
            return None
        token_digest = digest(token_string)
        row = self.session.execute(
            select(AccessToken, Authorization.revoked_at, App.strict_profile)
            .join(Authorization, Authorization.id == AccessToken.authorization_id)
            .join(App, App.id == AccessToken.app_id)
            .where(AccessToken.token_digest == token_digest, AccessToken.nation_id == self.nation.id)
        ).first()
        if row is not None:
            access, authorization_revoked_at, app_strict = row
            return Grant(
                nation_id=access.nation_id,
                user_id=access.user_id,
                app_id=access.app_id,
                scope=access.scope,
                expires_at=access.expires_at,
                revoked=access.revoked_at is not None or authorization_revoked_at is not None,
                app_strict=app_strict,
            )
        test = self.session.scalar(
            select(TestToken).where(
                TestToken.token_digest == token_digest, TestToken.nation_id == self.nation.id
            )
        )
        if test is not None:
            return Grant(
                nation_id=test.nation_id,
                user_id=test.user_id,
                app_id=None,
                scope="",
                expires_at=test.expires_at,
                revoked=test.revoked_at is not None,
            )
        return None


@dataclass(frozen=True)
class TokenCarrier:
    """The parts of a request that ``ResourceProtector`` reads, and where the token was."""

    headers: dict[str, str]
    from_query: bool = False


def carrier_for(authorization: str | None, access_token_param: str | None) -> TokenCarrier:
    """Present a query-string token as an ``Authorization`` header, which takes precedence."""
    if authorization:
        return TokenCarrier(headers={"Authorization": authorization})
    if access_token_param:
        return TokenCarrier(headers={"Authorization": f"Bearer {access_token_param}"}, from_query=True)
    return TokenCarrier(headers={})


def validate_bearer(session: Session, nation: Nation, carrier: TokenCarrier) -> Grant:
    """Return the live grant the request carries, or raise Authlib's OAuth2Error."""
    protector = ResourceProtector()
    protector.register_token_validator(NationBearerTokenValidator(session, nation))
    grant: Grant = protector.validate_request(scopes=None, request=carrier)
    return grant
