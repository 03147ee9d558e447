"""Accessors for the settings, the database and the nation route that handlers read from a request."""

from __future__ import annotations

from starlette.requests import Request

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
