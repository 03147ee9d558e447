"""Control panel pages: sign-in, the dashboard, and Settings > Developer."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter
from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from citizenry.context import app_database, app_rate_limits, app_settings, nation_route
from citizenry.oauth.apps import InvalidApp, find_app, list_apps, register_app
from citizenry.oauth.test_tokens import create_test_token, list_test_tokens
from citizenry.panel.access import Member, load_member, require_developer_tools
from citizenry.panel.forms import checked_form, form_field
from citizenry.panel.pages import PanelError, path_for, redirect, render, render_error
from citizenry.panel.session import safe_next_path, sign_in, sign_out, signed_in_user_id
from citizenry.ratelimit import RateLimited
from citizenry.store.models import App, TestToken
from citizenry.tenancy.nations import load_nation
from citizenry.tenancy.resolve import NationRoute
from citizenry.tenancy.users import authenticate

logger = logging.getLogger(__name__)

router = APIRouter(include_in_schema=False)


@router.get("/")
async def home(request: Request) -> Response:
    return redirect(request, "/admin")


@router.get("/login")
async def login_form(request: Request) -> Response:
    nation = await app_database(request).run(load_nation, nation_route(request))
    next_path = safe_next_path(request.query_params.get("next"), path_for(request, "/admin"))
    return render(request, "login.html", nation=nation, next_path=next_path, email="", failed=False)


@router.post("/login")
async def login(request: Request) -> Response:
    form = await checked_form(request)
    email = form_field(form, "email")
    password = form_field(form, "password")
    next_path = safe_next_path(form_field(form, "next"), path_for(request, "/admin"))
    ip = request.client.host if request.client else "unknown"
    try:
        await app_rate_limits(request).check_sign_in(email, ip)
    except RateLimited as error:
        page = PanelError(
            status=429,
            title="Too many sign-in attempts",
            message=f"Wait {error.retry_after} seconds, then try again.",
        )
        response = render_error(request, page)
        response.headers["Retry-After"] = str(error.retry_after)
        return response

    def check(session: Session) -> tuple[Any, int | None]:
        nation = load_nation(session, nation_route(request))
        user = authenticate(session, email, password)
        return nation, (user.id if user else None)

    nation, user_id = await app_database(request).run(check)
    if user_id is None:
        logger.info("failed sign-in on nation id=%s", nation.id)
        return render(
            request,
            "login.html",
            status=401,
            nation=nation,
            next_path=next_path,
            email=email,
            failed=True,
        )
    sign_in(request, user_id)
    logger.info("user id=%s signed in on nation id=%s", user_id, nation.id)
    return RedirectResponse(next_path, status_code=303)


@router.post("/logout")
async def logout(request: Request) -> Response:
    await checked_form(request)
    sign_out(request)
    return redirect(request, "/login")


@router.get("/admin")
async def dashboard(request: Request) -> Response:
    member = await app_database(request).run(load_member, nation_route(request), signed_in_user_id(request))
    return render(request, "dashboard.html", member=member)


@dataclass(frozen=True)
class DeveloperPage:
    member: Member
    apps: list[App]
    tokens: list[TestToken]


def _load_developer_page(session: Session, route: NationRoute, user_id: int | None) -> DeveloperPage:
    member = _load_developer_member(session, route, user_id)
    return DeveloperPage(
        member=member,
        apps=list_apps(session, member.nation),
        tokens=list_test_tokens(session, member.nation),
    )


def _load_developer_member(session: Session, route: NationRoute, user_id: int | None) -> Member:
    member = load_member(session, route, user_id, admin=True)
    require_developer_tools(member)
    return member


@router.get("/admin/settings/developer")
async def developer(request: Request) -> Response:
    page = await app_database(request).run(
        _load_developer_page, nation_route(request), signed_in_user_id(request)
    )
    return render(request, "developer.html", page=page, member=page.member)


@router.get("/admin/settings/developer/apps/new")
async def new_app_form(request: Request) -> Response:
    member = await app_database(request).run(
        _load_developer_member, nation_route(request), signed_in_user_id(request)
    )
    return render(request, "app_new.html", member=member, name="", callbacks="", error=None)


@router.post("/admin/settings/developer/apps/new")
async def create_app(request: Request) -> Response:
    form = await checked_form(request)
    name = form_field(form, "name")
    callbacks = form_field(form, "redirect_uris")

    def register(session: Session) -> tuple[Member, App | None, str | None, str | None]:
        member = _load_developer_member(session, nation_route(request), signed_in_user_id(request))
        try:
            with session.begin_nested():
                app, secret = register_app(
                    session, nation=member.nation, name=name, redirect_uris=callbacks.splitlines()
                )
        except InvalidApp as error:
            return member, None, None, str(error)
        return member, app, secret, None

    member, app, secret, error = await app_database(request).run(register)
    if app is None:
        return render(
            request,
            "app_new.html",
            status=400,
            member=member,
            name=name,
            callbacks=callbacks,
            error=error,
        )
    return render(request, "app_show.html", member=member, app=app, secret=secret)


@router.get("/admin/settings/developer/apps/{app_id:int}")
async def show_app(request: Request, app_id: int) -> Response:
    def load(session: Session) -> tuple[Member, App]:
        member = _load_developer_member(session, nation_route(request), signed_in_user_id(request))
        app = find_app(session, member.nation, app_id)
        if app is None:
            raise PanelError(
                status=404,
                title="App not found",
                message="This nation has no app with that number. Go back to Settings > Developer.",
            )
        return member, app

    member, app = await app_database(request).run(load)
    return render(request, "app_show.html", member=member, app=app, secret=None)


@router.get("/admin/settings/developer/api_token")
async def api_token_form(request: Request) -> Response:
    member = await app_database(request).run(
        _load_developer_member, nation_route(request), signed_in_user_id(request)
    )
    return render(request, "api_token.html", member=member, token=None, row=None)


@router.post("/admin/settings/developer/api_token")
async def create_api_token(request: Request) -> Response:
    await checked_form(request)
    ttl = app_settings(request).test_token_ttl

    def create(session: Session) -> tuple[Member, TestToken, str]:
        member = _load_developer_member(session, nation_route(request), signed_in_user_id(request))
        row, value = create_test_token(session, nation=member.nation, user=member.user, ttl=ttl)
        return member, row, value

    member, row, value = await app_database(request).run(create)
    return render(request, "api_token.html", member=member, token=value, row=row)
