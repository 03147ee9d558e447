"""One authorization server per request, bound to the request's nation and transaction."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from authlib.oauth2.rfc6749 import AuthorizationServer
from authlib.oauth2.rfc6749.errors import OAuth2Error
from authlib.oauth2.rfc9207 import IssuerParameter
from sqlalchemy.orm import Session

from citizenry import audit
from citizenry.oauth.apps import OAuthClient, find_client
from citizenry.oauth.client_auth import (
    authenticate_client_secret_basic,
    authenticate_none,
    basic_client_id,
    validate_single_client,
)
from citizenry.oauth.digests import digest, new_hex_token
from citizenry.oauth.endpoints import NationIntrospectionEndpoint, NationRevocationEndpoint
from citizenry.oauth.grants import AuthorizationCodeGrant, RefreshTokenGrant
from citizenry.oauth.profiles import PkcePolicy, is_strict, validate_token_request_encoding
from citizenry.oauth.requests import OAuthResponse, StarletteOAuth2Request
from citizenry.settings import Settings
from citizenry.store.models import AccessToken, Nation, RefreshToken
from citizenry.store.types import utcnow

logger = logging.getLogger(__name__)


#: Descriptions for the errors Authlib raises without one.
DESCRIPTIONS = {
    "invalid_grant": "The code or refresh token is invalid, expired, revoked or was issued to another app.",
    "unsupported_grant_type": "Use grant_type=authorization_code or grant_type=refresh_token.",
    "unsupported_token_type": "token_type_hint must be access_token or refresh_token.",
    "invalid_scope": "The requested scope is wider than the one granted.",
    "invalid_request": "The request is missing a parameter or has an invalid one.",
}


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
        self.register_grant(AuthorizationCodeGrant, [PkcePolicy(required=True)])
        self.register_grant(RefreshTokenGrant)
        self.register_endpoint(NationRevocationEndpoint)
        self.register_endpoint(NationIntrospectionEndpoint)
        self.register_client_auth_method("client_secret_basic", authenticate_client_secret_basic)
        self.register_client_auth_method("none", authenticate_none)
        self.register_token_generator("default", self.generate_bearer_token)
        self.issuer_parameter = NationIssuer(issuer)
        self.register_extension(self.issuer_parameter)
        self._clients: dict[str, OAuthClient | None] = {}

    def query_client(self, client_id: str) -> OAuthClient | None:
        """Find the app by client id, once per request: the profile check and Authlib both ask."""
        if client_id not in self._clients:
            self._clients[client_id] = find_client(self.session, client_id)
        return self._clients[client_id]

    def create_oauth2_request(self, request: StarletteOAuth2Request) -> StarletteOAuth2Request:
        return request

    def requesting_client(self, request: StarletteOAuth2Request) -> OAuthClient | None:
        """Return the client a token endpoint request names, before it is authenticated."""
        client_id = basic_client_id(request) or request.form.get("client_id")
        return self.query_client(client_id) if client_id else None

    def validate_request_form(self, request: StarletteOAuth2Request) -> None:
        """Check the encoding for the profile in force, and that one client is named."""
        validate_token_request_encoding(
            request, strict=is_strict(self.nation, self.requesting_client(request))
        )
        validate_single_client(request)

    def checked_response(self, request: StarletteOAuth2Request, endpoint: str | None = None) -> OAuthResponse:
        """Respond to a token request (``endpoint`` None), a revocation or an introspection."""
        try:
            self.validate_request_form(request)
        except OAuth2Error as error:
            response: OAuthResponse = self.handle_error_response(request, error)
            return response
        if endpoint is None:
            response = self.create_token_response(request)
        else:
            response = self.create_endpoint_response(endpoint, request)
        return response

    def handle_response(self, status: int, body: Any, headers: Any) -> OAuthResponse:
        response = OAuthResponse(status=status, body=body, headers=list(headers))
        if isinstance(body, dict) and body.get("error") == "unsupported_token_type":
            # Authlib 1.9 gives this error the 401 of its ForbiddenError base; RFC 7009 section
            # 2.2.1 and RFC 6749 section 5.2 make it a 400 without a challenge.
            response.status = 400
            response.headers = [(k, v) for k, v in response.headers if k.lower() != "www-authenticate"]
        if isinstance(body, dict) and not body.get("error_description") and body.get("error") in DESCRIPTIONS:
            body["error_description"] = DESCRIPTIONS[body["error"]]
        if isinstance(body, dict) and body.get("error") == "invalid_client":
            body["error_description"] = "Client authentication failed: check the client id and secret."
            # Authlib returns 400 for an unknown client and 401 for a wrong secret. Return
            # both with 401 and a Basic challenge, as RFC 6749 section 5.2 allows for every
            # invalid_client, so one kind of failure has one status.
            response.status = 401
            response.headers = [(k, v) for k, v in response.headers if k.lower() != "www-authenticate"]
            response.headers.append(("WWW-Authenticate", 'Basic realm="oauth", error="invalid_client"'))
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
        }
        if grant_type == "authorization_code" and client.legacy_tokens:
            # A legacy token never expires and has no refresh token, as NationBuilder's older
            # apps had; the response has no expires_in either.
            return token
        token["expires_in"] = expires_in or self.settings.access_token_ttl
        if include_refresh_token:
            token["refresh_token"] = new_hex_token()
        return token

    def save_token(self, token: dict[str, Any], request: StarletteOAuth2Request) -> None:
        credential = request.authorization_code or request.refresh_token
        authorization_id = credential.authorization_id
        created = utcnow()
        expires_in = token.get("expires_in")
        access = AccessToken(
            authorization_id=authorization_id,
            nation_id=self.nation.id,
            app_id=request.client.app_id,
            user_id=request.user.id,
            token_digest=digest(token["access_token"]),
            scope=token["scope"],
            created_at=created,
            expires_at=created + timedelta(seconds=expires_in) if expires_in else None,
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
        if request.refresh_token is None:
            kind = "token.issued"
        elif request.refresh_token.migrated:
            kind = "token.migrated"
        else:
            kind = "token.refreshed"
        audit.record(
            self.session,
            nation_id=self.nation.id,
            kind=kind,
            actor_user_id=request.user.id,
            app_id=request.client.app_id,
            authorization_id=authorization_id,
            access_token_id=access.id,
            legacy=expires_in is None,
        )
