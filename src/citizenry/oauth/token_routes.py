"""The token, revocation and introspection endpoints, and the authorization server metadata."""

from __future__ import annotations

import logging
from typing import Any

from authlib.oauth2.rfc6749.errors import InvalidRequestError, OAuth2Error
from authlib.oauth2.rfc8414 import AuthorizationServerMetadata
from fastapi import APIRouter
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import Response

from citizenry.context import app_database, app_rate_limits, app_settings, nation_issuer, nation_route
from citizenry.errors import NationNotFound
from citizenry.json_codec import JSONResponse
from citizenry.oauth.client_auth import basic_client_id
from citizenry.oauth.requests import OAuthResponse, token_request
from citizenry.oauth.server import NationAuthorizationServer
from citizenry.ops.metrics import record_token_response
from citizenry.ratelimit import RateLimited
from citizenry.tenancy.nations import load_nation
from citizenry.tenancy.resolve import NationRoute, host_name

logger = logging.getLogger(__name__)

router = APIRouter(include_in_schema=False)

#: Headers on every response of these endpoints (RFC 6749 section 5.1).
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}

#: The endpoint names Authlib registers, by URL path.
ENDPOINTS = {"/oauth/token": None, "/oauth/revoke": "revocation", "/oauth/introspect": "introspection"}


def _json(status: int, body: Any, headers: Any = ()) -> JSONResponse:
    return JSONResponse(body, status_code=status, headers={**dict(headers), **NO_STORE})


def rate_limited_response(error: RateLimited) -> JSONResponse:
    body = {"error": "rate_limited", "error_description": "Too many requests. Retry after the delay given."}
    return _json(429, body, {"Retry-After": str(error.retry_after)})


def _count_token_response(path: str, grant_type: str | None, body: dict[str, Any]) -> None:
    if path == "/oauth/token":
        record_token_response(grant_type, body.get("error"))


async def _answer(request: Request, path: str) -> Response:
    """Read, rate-limit and respond to one request to a token-like endpoint."""
    try:
        oauth_request = await token_request(request)
        if path == "/oauth/token" and not oauth_request.payload.grant_type:
            raise InvalidRequestError("Missing 'grant_type' in request.")
    except OAuth2Error as error:
        status, body, headers = error()
        logger.info("%s request rejected: %s %s", path, status, body.get("error"))
        _count_token_response(path, None, body)
        return _json(status, body, headers)

    client_id = basic_client_id(oauth_request) or oauth_request.form.get("client_id")
    ip = request.client.host if request.client else "unknown"
    try:
        await app_rate_limits(request).check_oauth(path, client_id, ip)
    except RateLimited as error:
        _count_token_response(path, None, {"error": "rate_limited"})
        return rate_limited_response(error)

    settings = app_settings(request)
    issuer = nation_issuer(request)
    route = nation_route(request)

    def respond(session: Session) -> OAuthResponse:
        server = NationAuthorizationServer(session, load_nation(session, route), settings, issuer)
        return server.checked_response(oauth_request, ENDPOINTS[path])

    try:
        result = await app_database(request).run(respond)
    except (OperationalError, InterfaceError):
        # The app's handler for these errors returns 503 temporarily_unavailable.
        _count_token_response(path, None, {"error": "temporarily_unavailable"})
        raise
    if result.status >= 400:
        logger.info(
            "%s request rejected: %s %s client_id=%r",
            path,
            result.status,
            result.body.get("error"),
            client_id,
        )
    _count_token_response(path, oauth_request.payload.grant_type, result.body)
    return _json(result.status, result.body, result.headers)


@router.post("/oauth/token")
async def token(request: Request) -> Response:
    return await _answer(request, "/oauth/token")


@router.post("/oauth/revoke")
async def revoke(request: Request) -> Response:
    return await _answer(request, "/oauth/revoke")


@router.post("/oauth/introspect")
async def introspect(request: Request) -> Response:
    return await _answer(request, "/oauth/introspect")


def server_metadata(issuer: str) -> dict[str, Any]:
    """Describe the nation's authorization server (RFC 8414), advertising only what is enforced."""
    auth_methods = ["client_secret_basic", "client_secret_post", "none"]
    return {
        "issuer": issuer,
        "authorization_endpoint": f"{issuer}/oauth/authorize",
        "token_endpoint": f"{issuer}/oauth/token",
        "revocation_endpoint": f"{issuer}/oauth/revoke",
        "introspection_endpoint": f"{issuer}/oauth/introspect",
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code", "refresh_token"],
        "scopes_supported": ["default"],
        "token_endpoint_auth_methods_supported": auth_methods,
        "revocation_endpoint_auth_methods_supported": auth_methods,
        "introspection_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "code_challenge_methods_supported": ["S256"],
        "authorization_response_iss_parameter_supported": True,
    }


async def _metadata_response(request: Request, route: NationRoute, issuer: str) -> Response:
    await app_database(request).run(load_nation, route)
    metadata = server_metadata(issuer)
    if issuer.startswith("https://"):
        AuthorizationServerMetadata(metadata).validate()
    return JSONResponse(metadata, headers={"Cache-Control": "max-age=300"})


@router.get("/.well-known/oauth-authorization-server")
async def metadata(request: Request) -> Response:
    return await _metadata_response(request, nation_route(request), nation_issuer(request))


@router.get("/.well-known/oauth-authorization-server/n/{slug}")
async def path_metadata(request: Request, slug: str) -> Response:
    """Serve the metadata of an issuer with a path, at RFC 8414 section 3.1's path-aware address."""
    if host_name(request.headers.get("host", "")).endswith("." + app_settings(request).base_domain):
        # On a nation's own host the host names the nation, so no "/n/{slug}" issuer exists there.
        raise NationNotFound(slug=slug)
    route = NationRoute(slug=slug.lower(), prefix=f"/n/{slug}")
    issuer = f"{request.url.scheme}://{request.url.netloc}/n/{slug}"
    return await _metadata_response(request, route, issuer)
