"""Control panel pages: sign-in, sign-out and the dashboard."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import APIRouter
from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from citizenry.context import app_database, app_rate_limits, nation_route
from citizenry.panel.access import Member, load_member
from citizenry.panel.forms import checked_form, form_field
from citizenry.panel.members import nations_of_user
from citizenry.panel.notices import notice_of
from citizenry.panel.pages import PanelError, path_for, redirect, render, render_error
from citizenry.panel.session import safe_next_path, sign_in, sign_out, signed_in
from citizenry.ratelimit import RateLimited
from citizenry.store.models import User
from citizenry.tenancy.nations import load_nation
from citizenry.tenancy.users import authenticate

logger = logging.getLogger(__name__)

router = APIRouter(include_in_schema=False)

LOGIN_NOTICES = {"password_reset": "Your new password is set. Sign in with it."}
DASHBOARD_NOTICES = {"joined": "Welcome: you are now a member of this nation."}


@router.get("/")
async def home(request: Request) -> Response:
    return redirect(request, "/admin")


@router.get("/login")
async def login_form(request: Request) -> Response:
    nation = await app_database(request).run(load_nation, nation_route(request))
    next_path = safe_next_path(request.query_params.get("next"), path_for(request, "/admin"))
    return render(
        request,
        "login.html",
        nation=nation,
        next_path=next_path,
        email="",
        failed=False,
        notice=notice_of(request, LOGIN_NOTICES),
    )


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

    def check(session: Session) -> tuple[Any, User | None]:
        nation = load_nation(session, nation_route(request))
        return nation, authenticate(session, email, password)

    nation, user = await app_database(request).run(check)
    if user is None:
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
    sign_in(request, user)
    logger.info("user id=%s signed in on nation id=%s", user.id, nation.id)
    return RedirectResponse(next_path, status_code=303)


@router.post("/logout")
async def logout(request: Request) -> Response:
    await checked_form(request)
    sign_out(request)
    return redirect(request, "/login")


@router.get("/admin")
async def dashboard(request: Request) -> Response:
    def load(session: Session) -> tuple[Member, int]:
        member = load_member(session, nation_route(request), signed_in(request))
        return member, len(nations_of_user(session, member.user.id))

    member, nation_count = await app_database(request).run(load)
    return render(
        request,
        "dashboard.html",
        member=member,
        nation_count=nation_count,
        notice=notice_of(request, DASHBOARD_NOTICES),
    )
