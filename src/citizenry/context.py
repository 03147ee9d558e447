"""Accessors for the settings, the database and the nation route that handlers read from a request."""

from __future__ import annotations

from starlette.requests import Request

from citizenry.ratelimit import RateLimits
from citizenry.settings import Settings
from citizenry.store.db import Database
from citizenry.tenancy.resolve import NationRoute


def app_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def app_database(request: Request) -> Database:
    database: Database = request.app.state.database
    return database


def nation_route(request: Request) -> NationRoute:
    route: NationRoute = request.state.nation_route
    return route


def nation_issuer(request: Request) -> str:
    """Return the nation's issuer identifier: its base URL, with any ``/n/{slug}`` prefix."""
    root: str = request.scope.get("root_path", "")
    return f"{request.url.scheme}://{request.url.netloc}{root}"


def app_rate_limits(request: Request) -> RateLimits:
    limits: RateLimits = request.app.state.rate_limits
    return limits
