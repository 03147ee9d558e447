"""One authorization server per request, bound to the request's nation and transaction."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from authlib.oauth2.rfc6749 import AuthorizationServer
from authlib.oauth2.rfc7636 import CodeChallenge
from authlib.oauth2.rfc9207 import IssuerParameter
from sqlalchemy.orm import Session

from citizenry.oauth.apps import OAuthClient, find_client
from citizenry.oauth.digests import digest, new_hex_token
from citizenry.oauth.grants import AuthorizationCodeGrant, RefreshTokenGrant
from citizenry.oauth.requests import OAuthResponse, StarletteOAuth2Request
from citizenry.settings import Settings
from citizenry.store.models import AccessToken, Nation, RefreshToken
from citizenry.store.types import utcnow

logger = logging.getLogger(__name__)


class NationIssuer(IssuerParameter):  # type: ignore[misc]
    """Adds ``iss`` to authorization responses (RFC 9207): each nation is its own issuer."""

    def __init__(self, issuer: str) -> None:
        self.issuer = issuer

    def get_issuer(self) -> str:
        return self.issuer


class NationAuthorizationServer(AuthorizationServer):  # type: ignore[misc]
    """Authlib's server with storage hooks that see only ``nation``, inside one transaction.

    It is cheap to build (a few list appends), so each request builds its own and nothing
    about one nation can leak into another request.
    """

    def __init__(self, session: Session, nation: Nation, settings: Settings, issuer: str) -> None:
        super().__init__()
        self.session = session
        self.nation = nation
        self.settings = settings
        self.issuer = issuer
        self.register_grant(AuthorizationCodeGrant, [CodeChallenge(required=True)])
        self.register_grant(RefreshTokenGrant)
        self.register_token_generator("default", self.generate_bearer_token)
        self.issuer_parameter = NationIssuer(issuer)
        self.register_extension(self.issuer_parameter)

    def query_client(self, client_id: str) -> OAuthClient | None:
        return find_client(self.session, client_id)

    def create_oauth2_request(self, request: StarletteOAuth2Request) -> StarletteOAuth2Request:
        return request

    def handle_response(self, status: int, body: Any, headers: Any) -> OAuthResponse:
        response = OAuthResponse(status=status, body=body, headers=list(headers))
        if isinstance(body, dict) and body.get("error") == "invalid_client":
            # Authlib returns 400 for an unknown client and 401 for a wrong secret. Return
            # both with 401 and a Basic challenge, as RFC 6749 section 5.2 allows for every
            # invalid_client, so one kind of failure has one status.
            response.status = 401
            if not any(name.lower() == "www-authenticate" for name, _ in response.headers):
                response.headers.append(("WWW-Authenticate", 'Basic realm="oauth"'))
        return response

    def send_signal(self, name: str, *args: Any, **kwargs: Any) -> None:
        """Authlib's signals carry clients and tokens; nothing subscribes to them here."""

    def generate_bearer_token(
        self,
        grant_type: str,
        client: OAuthClient,
        user: Any = None,
        scope: str | None = None,
        expires_in: int | None = None,
        include_refresh_token: bool = True,
    ) -> dict[str, Any]:
        """Build the token response NationBuilder's clients read, field for field.

        Authlib's default generator writes ``"Bearer"`` and leaves out ``created_at``. Clients
        compute the expiry as ``created_at + expires_in``, and NationBuilder sends ``"bearer"``.
        """
        token: dict[str, Any] = {
            "access_token": new_hex_token(),
            "token_type": "bearer",
            "scope": scope or "",
            "created_at": int(utcnow().timestamp()),
            "expires_in": expires_in or self.settings.access_token_ttl,
        }
        if include_refresh_token:
            token["refresh_token"] = new_hex_token()
        return token

    def save_token(self, token: dict[str, Any], request: StarletteOAuth2Request) -> None:
        credential = request.authorization_code or request.refresh_token
        authorization_id = credential.authorization_id
        created = utcnow()
        access = AccessToken(
            authorization_id=authorization_id,
            nation_id=self.nation.id,
            app_id=request.client.app_id,
            user_id=request.user.id,
            token_digest=digest(token["access_token"]),
            scope=token["scope"],
            created_at=created,
            expires_at=created + timedelta(seconds=token["expires_in"]),
        )
        self.session.add(access)
        self.session.flush()
        if "refresh_token" in token:
            self.session.add(
                RefreshToken(
                    authorization_id=authorization_id,
                    nation_id=self.nation.id,
                    app_id=request.client.app_id,
                    access_token_id=access.id,
                    token_digest=digest(token["refresh_token"]),
                    created_at=created,
                )
            )
            self.session.flush()
        logger.info(
            "issued access token id=%s for authorization id=%s app id=%s nation id=%s",
            access.id,
            authorization_id,
            request.client.app_id,
            self.nation.id,
        )
