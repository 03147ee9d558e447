"""The page an invitation link opens: create an account and join, or sign in and join.

Who may join depends on the invited address: with no account yet, whoever has the link chooses
a name and a password for it; with an account, its owner signs in first, so a link never hands
over an existing account.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal
from urllib.parse import urlencode

from fastapi import APIRouter
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import Response

from citizenry.context import app_database, app_settings, nation_route
from citizenry.panel.access import signed_in_user
from citizenry.panel.account import render_link_problem
from citizenry.panel.forms import checked_form, form_field
from citizenry.panel.invitations import (
    JOIN_PATH,
    MAX_NAME_LENGTH,
    Invitation,
    accept_as_user,
    accept_with_new_account,
    name_problems,
    read_invitation,
)
from citizenry.panel.notices import redirect_done
from citizenry.panel.pages import path_for, render
from citizenry.panel.session import sign_in, signed_in
from citizenry.panel.signed_links import InvalidLink, password_problems
from citizenry.store.models import Nation, User
from citizenry.tenancy.nations import load_nation
from citizenry.tenancy.users import InvalidUser, find_membership, find_user_by_email

router = APIRouter(include_in_schema=False)

#: The step the invitation page shows, given the invited address and who is signed in.
JoinStep = Literal["new_account", "sign_in", "wrong_account", "confirm", "already_member"]


@dataclass
class JoinPage:
    nation: Nation
    invitation: Invitation
    step: JoinStep
    #: The signed-in user, or the account just created from the invitation.
    user: User | None
    full_name: str = ""
    errors: dict[str, list[str]] = field(default_factory=dict)


def _step(session: Session, nation: Nation, invitation: Invitation, user: User | None) -> JoinStep:
    invited = find_user_by_email(session, invitation.email)
    if invited is None:
        return "new_account"
    if user is None:
        return "sign_in"
    if user.id != invited.id:
        return "wrong_account"
    if find_membership(session, user_id=user.id, nation_id=nation.id) is not None:
        return "already_member"
    return "confirm"


def _load(session: Session, request: Request, token: str) -> JoinPage | tuple[Nation, InvalidLink]:
    nation = load_nation(session, nation_route(request))
    try:
        invitation = read_invitation(session, app_settings(request).secret_key, token, nation)
    except InvalidLink as problem:
        return nation, problem
    user = signed_in_user(session, signed_in(request))
    return JoinPage(
        nation=nation, invitation=invitation, step=_step(session, nation, invitation, user), user=user
    )


def _render(request: Request, page: JoinPage, token: str, status: int = 200) -> Response:
    join_path = path_for(request, JOIN_PATH) + "?" + urlencode({"token": token})
    return render(
        request,
        "join.html",
        status=status,
        nation=page.nation,
        page=page,
        token=token,
        sign_in_url=path_for(request, "/login") + "?" + urlencode({"next": join_path}),
        max_name_length=MAX_NAME_LENGTH,
    )


def _new_account_problems(full_name: str, password_errors: list[str]) -> dict[str, list[str]]:
    errors = {}
    if name_problems(full_name):
        errors["full_name"] = name_problems(full_name)
    if password_errors:
        errors["password"] = password_errors
    return errors


def _create_account(session: Session, page: JoinPage, full_name: str, password: str) -> User | None:
    try:
        with session.begin_nested():
            return accept_with_new_account(
                session, page.invitation, page.nation, full_name=full_name, password=password
            )
    except (InvalidUser, IntegrityError):
        # The checks above passed, so the address got an account since the page was shown.
        page.errors[""] = [
            f"An account with the address {page.invitation.email} was created meanwhile. Open the "
            "invitation link again to sign in with it and join."
        ]
        return None


def _join_as_user(session: Session, page: JoinPage, user: User) -> None:
    try:
        with session.begin_nested():
            accept_as_user(session, page.invitation, page.nation, user)
    except IntegrityError:
        # Another request with the same link added the membership first.
        page.step = "already_member"


@router.get(JOIN_PATH)
async def join_page(request: Request) -> Response:
    token = request.query_params.get("token", "")
    outcome = await app_database(request).run(_load, request, token)
    if isinstance(outcome, tuple):
        nation, problem = outcome
        return render_link_problem(request, nation, problem, kind="invitation")
    return _render(request, outcome, token)


@router.post(JOIN_PATH)
async def join(request: Request) -> Response:
    form = await checked_form(request)
    token = form_field(form, "token")
    full_name = form_field(form, "full_name")
    password = form_field(form, "password")
    problems = password_problems(password, form_field(form, "password_confirmation"))

    def write(session: Session) -> JoinPage | tuple[Nation, InvalidLink]:
        outcome = _load(session, request, token)
        if isinstance(outcome, tuple):
            return outcome
        page = outcome
        if page.step == "confirm" and page.user is not None:
            _join_as_user(session, page, page.user)
        elif page.step == "new_account":
            page.full_name = full_name
            page.errors = _new_account_problems(full_name, problems)
            if not page.errors:
                page.user = _create_account(session, page, full_name, password)
        return page

    outcome = await app_database(request).run(write)
    if isinstance(outcome, tuple):
        nation, problem = outcome
        return render_link_problem(request, nation, problem, kind="invitation")
    page = outcome
    if page.errors:
        return _render(request, page, token, status=400)
    if page.step not in ("confirm", "new_account") or page.user is None:
        # This step has nothing to submit: show the page again, which explains what to do instead.
        return _render(request, page, token, status=409)
    if page.step == "new_account":
        sign_in(request, page.user)
    return redirect_done(request, "/admin", "joined")
