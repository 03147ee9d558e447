"""Build the ASGI application from :class:`~citizenry.settings.Settings`."""

from __future__ import annotations

import logging
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from urllib.parse import urlencode

from authlib.oauth2.rfc6749.errors import OAuth2Error
from fastapi import FastAPI
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from citizenry import __version__
from citizenry.api import (
    custom_fields,
    lists,
    openapi,
    people,
    people_write,
    person_records,
    search,
    tags,
)
from citizenry.api.errors import ApiError, NotFound
from citizenry.api.ratelimit import ApiRateLimitMiddleware
from citizenry.errors import NationNotFound
from citizenry.json_codec import JSONResponse
from citizenry.logs import quiet_authlib
from citizenry.oauth import authorize as authorize_routes
from citizenry.oauth import token_routes
from citizenry.ops import health
from citizenry.ops import metrics as ops_metrics
from citizenry.panel import account as account_routes
from citizenry.panel import audit_page as audit_routes
from citizenry.panel import custom_fields as custom_fields_routes
from citizenry.panel import developer as developer_routes
from citizenry.panel import join_pages as join_routes
from citizenry.panel import lists_pages, person_pages, person_records_pages, tags_pages
from citizenry.panel import nation_settings as nation_settings_routes
from citizenry.panel import people_io as people_io_routes
from citizenry.panel import routes as panel_routes
from citizenry.panel import settings_pages as settings_routes
from citizenry.panel import users_pages as users_routes
from citizenry.panel.access import SignInRequired
from citizenry.panel.pages import PanelError, path_for, render_error
from citizenry.ratelimit import RateLimits
from citizenry.requestlog import RequestLogMiddleware
from citizenry.settings import Settings
from citizenry.store.db import Database
from citizenry.tenancy.resolve import TenancyMiddleware

logger = logging.getLogger(__name__)

SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    # same-origin, not no-referrer: with no-referrer Chromium sends "Origin: null" on the panel's
    # own form posts, and the CSRF check rightly refuses them. Other sites still get no Referer.
    (b"referrer-policy", b"same-origin"),
    (
        b"content-security-policy",
        b"default-src 'none'; style-src 'self'; img-src 'self'; frame-ancestors 'none'; base-uri 'none'",
    ),
]


class SecurityHeadersMiddleware:
    """Add the same security headers to every response: no framing, no referrer, no sniffing."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                names = {name for name, _ in message.get("headers", [])}
                extra = [(name, value) for name, value in SECURITY_HEADERS if name not in names]
                message["headers"] = list(message.get("headers", [])) + extra
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _route_path(request: Request) -> str:
    root = request.scope.get("root_path", "")
    path = request.url.path
    return path[len(root) :] if root and path.startswith(root) else path


#: Paths whose errors use RFC 6749's JSON error format.
OAUTH_JSON_PATHS = frozenset(token_routes.ENDPOINTS)


def _is_json_surface(request: Request) -> bool:
    path = _route_path(request)
    return path.startswith(("/api/", "/.well-known/")) or path in OAUTH_JSON_PATHS


def _nation_not_found_page(request: Request, error: Exception) -> PanelError:
    """Describe an unknown nation to a person, in the words of the page they tried to open."""
    assert isinstance(error, NationNotFound)
    where = f"at the address '{error.slug}'" if error.slug else "at this address"
    if _route_path(request) == "/oauth/authorize":
        message = (
            f"An app sent you here to authorize it on a nation, but no nation exists {where} on this "
            "server. Nothing was shared. Go back to the app and check which nation it connects to, or "
            "tell its developer."
        )
    else:
        message = (
            f"No nation exists {where} on this server. Check the address for typing mistakes. If a "
            "link brought you here, ask whoever sent it for the nation's current address."
        )
    return PanelError(status=404, title="Nation not found", message=message)


def _install_error_handlers(app: FastAPI) -> None:
    async def api_error(request: Request, error: Exception) -> Response:
        assert isinstance(error, ApiError)
        logger.info("API request rejected: %s %s on %s", error.status, error.code, request.url.path)
        return JSONResponse(error.body(), status_code=error.status, headers=error.headers)

    async def nation_not_found(request: Request, error: Exception) -> Response:
        message = "No nation was found at this address. Check the nation's slug in the URL."
        if _route_path(request) in OAUTH_JSON_PATHS:
            body = {"error": "invalid_request", "error_description": message}
            return JSONResponse(body, status_code=404, headers={"Cache-Control": "no-store"})
        if _is_json_surface(request):
            return JSONResponse(NotFound(message).body(), status_code=404)
        return render_error(request, _nation_not_found_page(request, error), links=False)

    async def panel_error(request: Request, error: Exception) -> Response:
        assert isinstance(error, PanelError)
        logger.info("page request rejected: %s %r on %s", error.status, error.title, request.url.path)
        return render_error(request, error)

    async def sign_in_required(request: Request, error: Exception) -> Response:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(
            path_for(request, "/login") + "?" + urlencode({"next": target}), status_code=303
        )

    async def oauth_error(request: Request, error: Exception) -> Response:
        assert isinstance(error, OAuth2Error)
        status, body, headers = error()
        return JSONResponse(body, status_code=status, headers=dict(headers))

    async def http_error(request: Request, error: Exception) -> Response:
        assert isinstance(error, HTTPException)
        if _route_path(request) in OAUTH_JSON_PATHS:
            # RFC 6749 error body; a GET gets 405 with "Allow: POST" from the router.
            body = {"error": "invalid_request", "error_description": "Use POST for this endpoint."}
            headers = {**(error.headers or {}), "Cache-Control": "no-store"}
            return JSONResponse(body, status_code=error.status_code, headers=headers)
        if _is_json_surface(request):
            code = "not_found" if error.status_code == 404 else "bad_request"
            body = {"code": code, "message": str(error.detail)}
            return JSONResponse(body, status_code=error.status_code, headers=error.headers)
        page = PanelError(
            status=error.status_code,
            title="Page not found" if error.status_code == 404 else str(error.detail),
            message="Check the address, or go back to the dashboard.",
        )
        response = render_error(request, page)
        for name, value in (error.headers or {}).items():
            response.headers[name] = value
        return response

    async def database_unavailable(request: Request, error: Exception) -> Response:
        # The statement and its parameters stay out of the log; the driver's class names the failure.
        cause = type(getattr(error, "orig", None) or error).__name__
        logger.error("database unavailable on %s %s: %s", request.method, request.url.path, cause)
        message = "The database is unavailable. Retry in a few seconds."
        headers = {"Retry-After": "5"}
        if _route_path(request) in OAUTH_JSON_PATHS:
            body = {"error": "temporarily_unavailable", "error_description": message}
            return JSONResponse(body, status_code=503, headers={**headers, "Cache-Control": "no-store"})
        if _is_json_surface(request):
            body = {"code": "service_unavailable", "message": message}
            return JSONResponse(body, status_code=503, headers=headers)
        page = PanelError(status=503, title="Temporarily unavailable", message=message)
        response = render_error(request, page, signed_in=False)
        response.headers.update(headers)
        return response

    app.add_exception_handler(OperationalError, database_unavailable)
    app.add_exception_handler(InterfaceError, database_unavailable)
    app.add_exception_handler(PoolTimeout, database_unavailable)
    app.add_exception_handler(ApiError, api_error)
    app.add_exception_handler(NationNotFound, nation_not_found)
    app.add_exception_handler(PanelError, panel_error)
    app.add_exception_handler(SignInRequired, sign_in_required)
    app.add_exception_handler(OAuth2Error, oauth_error)
    app.add_exception_handler(HTTPException, http_error)


def create_app(settings: Settings) -> FastAPI:
    """Build the app. The caller migrates the database first (``citizenry db upgrade``)."""
    quiet_authlib()
    if settings.insecure_http:
        # Authlib refuses OAuth requests over plain http unless this is set. Local use only.
        os.environ["AUTHLIB_INSECURE_TRANSPORT"] = "1"
        logger.warning(
            "CITIZENRY_INSECURE_HTTP is on: OAuth works over plain http; never use this in production"
        )

    database = Database.from_settings(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Made here, inside the server's event loop, because the in-memory counters' asyncio locks
        # and the Redis connections are bound to the loop that first uses them.
        rate_limits = RateLimits(
            oauth_per_app=settings.oauth_rate_limit_per_app,
            oauth_per_ip=settings.oauth_rate_limit_per_ip,
            sign_in_per_ip=settings.sign_in_rate_limit_per_ip,
            sign_in_per_email=settings.sign_in_rate_limit_per_email,
            api_per_token=settings.api_rate_limit_per_token,
            redis_url=settings.redis_url,
            redis_key_prefix=settings.redis_key_prefix,
        )
        await rate_limits.start()
        app.state.rate_limits = rate_limits
        logger.info("citizenry %s started; base domain %s", __version__, settings.base_domain)
        yield
        await rate_limits.close()
        database.dispose()
        logger.info("citizenry stopped")

    app = FastAPI(
        title="Citizenry",
        version=__version__,
        # The API's own description is /api/v1/openapi.json (citizenry.api.openapi); FastAPI's
        # generated one would describe handlers that read their requests themselves, wrongly.
        openapi_url=None,
        docs_url=None,
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.database = database

    app.include_router(health.router)
    if settings.metrics_enabled:
        app.include_router(ops_metrics.router)
    # The write routes come first: "/people/push" and "/people/add" must win over "/people/{id}".
    app.include_router(people_write.router)
    app.include_router(tags.router)
    app.include_router(search.router)
    app.include_router(lists.router)
    app.include_router(person_records.router)
    app.include_router(people.router)
    app.include_router(custom_fields.router)
    app.include_router(openapi.router)
    app.include_router(authorize_routes.router)
    app.include_router(token_routes.router)
    app.include_router(panel_routes.router)
    app.include_router(developer_routes.router)
    app.include_router(nation_settings_routes.router)
    app.include_router(audit_routes.router)
    app.include_router(settings_routes.router)
    app.include_router(users_routes.router)
    app.include_router(account_routes.router)
    app.include_router(join_routes.router)
    app.include_router(custom_fields_routes.router)
    app.include_router(people_io_routes.router)
    app.include_router(person_pages.router)
    app.include_router(person_records_pages.router)
    app.include_router(tags_pages.router)
    app.include_router(lists_pages.router)
    app.mount(
        "/static",
        StaticFiles(directory=str(Path(__file__).parent / "panel" / "static")),
        name="static",
    )
    _install_error_handlers(app)

    # Added last runs first: the request log, metrics, headers, the nation, then the session cookie.
    app.add_middleware(
        SessionMiddleware,
        secret_key=settings.secret_key,
        session_cookie="citizenry_session",
        same_site="lax",
        https_only=settings.session_cookie_secure,
        max_age=14 * 24 * 3600,
    )
    app.add_middleware(ApiRateLimitMiddleware)
    app.add_middleware(TenancyMiddleware, settings=settings)
    app.add_middleware(SecurityHeadersMiddleware)
    if settings.metrics_enabled:
        app.add_middleware(ops_metrics.MetricsMiddleware)
    app.add_middleware(RequestLogMiddleware)
    return app


def create_app_from_env() -> FastAPI:
    """Build the app from environment settings; ``citizenry serve`` loads it in every worker.

    Forwarded headers change the scheme and client address the app reads, so they are trusted
    only from ``CITIZENRY_TRUSTED_PROXIES`` (none by default), whichever server runs the app.
    """
    settings = Settings.from_env()
    app = create_app(settings)
    if settings.trusted_proxies:
        from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

        # Added last, so it runs first and the request log records the client's own address.
        app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=list(settings.trusted_proxies))
    return app
