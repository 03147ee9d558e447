"""The signed-in user's own account, and resetting a forgotten password with a link.

Citizenry sends no e-mail, so a person who forgot their password asks an admin for a reset
link (Settings > Users) or the server's operator (``citizenry user reset-link``).
The account page lists the nations the user belongs to, with links to switch between them,
and changes the password.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from fastapi import APIRouter
from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import Response

from citizenry.context import app_database, app_rate_limits, app_settings, nation_issuer, nation_route
from citizenry.panel.access import Member, SignInRequired, signed_in_user
from citizenry.panel.forms import checked_form, form_field
from citizenry.panel.members import NationOfUser, nations_of_user
from citizenry.panel.nation_settings import admin_url_of
from citizenry.panel.notices import notice_of, redirect_done
from citizenry.panel.pages import PanelError, describe_duration, path_for, render, render_error
from citizenry.panel.reset_links import RESET_LINK_MAX_AGE, load_reset_target, set_password
from citizenry.panel.session import sign_in, sign_out, signed_in
from citizenry.panel.signed_links import InvalidLink, LinkProblem, password_problems
from citizenry.ratelimit import RateLimited
from citizenry.store.models import Nation, User
from citizenry.tenancy.nations import load_nation
from citizenry.tenancy.passwords import verify_password
from citizenry.tenancy.users import find_membership

logger = logging.getLogger(__name__)

router = APIRouter(include_in_schema=False)

ACCOUNT = "/admin/account"

NOTICES = {
    "password_changed": "Your password was changed. Use the new one the next time you sign in.",
    "left": "You are no longer a member of this nation. Your other nations are listed below.",
}

#: Status of a link page by problem: a damaged link is a bad request, a spent one is gone.
LINK_STATUS: dict[LinkProblem, int] = {"invalid": 400, "expired": 410, "used": 410}


def render_link_problem(request: Request, nation: Nation, problem: InvalidLink, *, kind: str) -> Response:
    """Render why a reset or invitation link cannot be used, and what to do instead."""
    logger.info("rejected a %s link on nation id=%s: %s", kind, nation.id, problem.reason)
    return render(
        request,
        "link_problem.html",
        status=LINK_STATUS[problem.reason],
        nation=nation,
        kind=kind,
        reason=problem.reason,
    )


@router.get("/password/forgot")
async def forgot_password(request: Request) -> Response:
    nation = await app_database(request).run(load_nation, nation_route(request))
    return render(
        request,
        "password_forgot.html",
        nation=nation,
        # The command cannot know the address this server is reached at, so the page gives it.
        base_url=nation_issuer(request),
        lifetime=describe_duration(RESET_LINK_MAX_AGE),
    )


@dataclass
class ResetForm:
    nation: Nation
    email: str
    token: str
    errors: dict[str, list[str]] = field(default_factory=dict)


def _render_reset(request: Request, form: ResetForm) -> Response:
    return render(
        request,
        "password_reset.html",
        status=400 if form.errors else 200,
        nation=form.nation,
        form=form,
    )


@router.get("/password/reset")
async def reset_form(request: Request) -> Response:
    token = request.query_params.get("token", "")
    secret_key = app_settings(request).secret_key

    def load(session: Session) -> tuple[Nation, str | InvalidLink]:
        nation = load_nation(session, nation_route(request))
        try:
            return nation, load_reset_target(session, secret_key, token, nation).user.email
        except InvalidLink as problem:
            return nation, problem

    nation, outcome = await app_database(request).run(load)
    if isinstance(outcome, InvalidLink):
        return render_link_problem(request, nation, outcome, kind="password_reset")
    return _render_reset(request, ResetForm(nation=nation, email=outcome, token=token))


@router.post("/password/reset")
async def reset_password(request: Request) -> Response:
    form = await checked_form(request)
    token = form_field(form, "token")
    password = form_field(form, "password")
    problems = password_problems(password, form_field(form, "password_confirmation"))
    secret_key = app_settings(request).secret_key

    def write(session: Session) -> tuple[Nation, str | InvalidLink]:
        nation = load_nation(session, nation_route(request))
        try:
            target = load_reset_target(session, secret_key, token, nation, for_update=True)
        except InvalidLink as problem:
            return nation, problem
        if not problems:
            set_password(session, target.user, password, kind="user.password_reset", actor_user_id=None)
        return nation, target.user.email

    nation, outcome = await app_database(request).run(write)
    if isinstance(outcome, InvalidLink):
        return render_link_problem(request, nation, outcome, kind="password_reset")
    if problems:
        return _render_reset(
            request, ResetForm(nation=nation, email=outcome, token=token, errors={"password": problems})
        )
    # Whoever was signed in in this browser signs in again, with the new password.
    sign_out(request)
    return redirect_done(request, "/login", "password_reset")


@dataclass
class AccountPage:
    user: User
    nation: Nation
    #: The signed-in user's membership of this nation, None when they are not a member.
    member: Member | None
    nations: list[NationOfUser]
    errors: dict[str, list[str]] = field(default_factory=dict)


def _load_account(session: Session, request: Request) -> AccountPage:
    nation = load_nation(session, nation_route(request))
    user = signed_in_user(session, signed_in(request))
    if user is None:
        raise SignInRequired()
    membership = find_membership(session, user_id=user.id, nation_id=nation.id)
    member = Member(nation=nation, user=user, membership=membership) if membership else None
    return AccountPage(user=user, nation=nation, member=member, nations=nations_of_user(session, user.id))


@dataclass(frozen=True)
class NationLink:
    """One nation of the account page's switcher."""

    name: str
    slug: str
    level: str
    url: str
    is_current: bool


def _nation_links(request: Request, page: AccountPage) -> list[NationLink]:
    return [
        NationLink(
            name=row.nation.name,
            slug=row.nation.slug,
            level=row.level,
            url=path_for(request, "/admin")
            if row.nation.id == page.nation.id
            else admin_url_of(request, row.nation.slug),
            is_current=row.nation.id == page.nation.id,
        )
        for row in page.nations
    ]


def _render_account(request: Request, page: AccountPage) -> Response:
    links = _nation_links(request, page)
    return render(
        request,
        "account.html",
        status=400 if page.errors else 200,
        nation=page.nation,
        member=page.member,
        page=page,
        nation_links=links,
        # Another host has cookies of its own, so the browser is signed out there.
        other_hosts=any(link.url.startswith(("http://", "https://")) for link in links),
        notice=None if page.errors else notice_of(request, NOTICES),
    )


@router.get(ACCOUNT)
async def account(request: Request) -> Response:
    return _render_account(request, await app_database(request).run(_load_account, request))


@router.post(f"{ACCOUNT}/password")
async def change_password(request: Request) -> Response:
    form = await checked_form(request)
    current = form_field(form, "current_password")
    password = form_field(form, "password")
    problems = password_problems(password, form_field(form, "password_confirmation"))

    page = await app_database(request).run(_load_account, request)
    ip = request.client.host if request.client else "unknown"
    try:
        # Checking the current password is a sign-in attempt, and counts as one.
        await app_rate_limits(request).check_sign_in(page.user.email, ip)
    except RateLimited as error:
        response = render_error(
            request,
            PanelError(
                status=429,
                title="Too many attempts",
                message=f"Your password was not changed. Wait {error.retry_after} seconds, then try again.",
            ),
        )
        response.headers["Retry-After"] = str(error.retry_after)
        return response

    def write(session: Session) -> AccountPage:
        page = _load_account(session, request)
        if not verify_password(page.user.password_hash, current):
            logger.info("rejected a password change of user id=%s: wrong current password", page.user.id)
            page.errors["current_password"] = ["This is not your current password. Type it again."]
        if problems:
            page.errors["password"] = problems
        if not page.errors:
            set_password(
                session, page.user, password, kind="user.password_changed", actor_user_id=page.user.id
            )
        return page

    page = await app_database(request).run(write)
    if page.errors:
        return _render_account(request, page)
    # The new password signs out every other session of the user; this one signs in again.
    sign_in(request, page.user)
    return redirect_done(request, ACCOUNT, "password_changed")
