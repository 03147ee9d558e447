"""Settings > Developer: apps (register, edit, new secret, delete) and API tokens."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter
from sqlalchemy.orm import Session
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response

from citizenry.context import app_database, app_settings, nation_route
from citizenry.oauth.apps import (
    AppOptions,
    InvalidApp,
    delete_app,
    find_app,
    list_apps,
    regenerate_secret,
    register_app,
    update_app,
)
from citizenry.oauth.test_tokens import create_test_token, list_test_tokens, revoke_test_token
from citizenry.panel.access import Member, load_member, require_developer_tools
from citizenry.panel.forms import checked_form, form_field, record_submission, require_first_submission
from citizenry.panel.pages import PanelError, describe_duration, redirect, render
from citizenry.panel.session import signed_in
from citizenry.store.models import App, TestToken

router = APIRouter(include_in_schema=False)

BASE = "/admin/settings/developer"


def _developer(session: Session, request: Request) -> Member:
    member = load_member(session, nation_route(request), signed_in(request), admin=True)
    require_developer_tools(member)
    return member


def _app_of(session: Session, member: Member, app_id: int) -> App:
    app = find_app(session, member.nation, app_id)
    if app is None:
        raise PanelError(
            status=404,
            title="App not found",
            message="This nation has no app with that number. Go back to Settings > Developer.",
        )
    return app


def _options(form: FormData) -> AppOptions:
    return AppOptions(
        legacy_tokens=form_field(form, "legacy_tokens") == "on",
        allow_plain_pkce=form_field(form, "allow_plain_pkce") == "on",
        strict_profile=form_field(form, "strict_profile") == "on",
    )


@dataclass(frozen=True)
class DeveloperPage:
    member: Member
    apps: list[App]
    tokens: list[TestToken]


@router.get(BASE)
async def developer(request: Request) -> Response:
    def load(session: Session) -> DeveloperPage:
        member = _developer(session, request)
        return DeveloperPage(
            member=member,
            apps=list_apps(session, member.nation),
            tokens=list_test_tokens(session, member.nation),
        )

    page = await app_database(request).run(load)
    return render(request, "developer.html", page=page, member=page.member)


@router.get(f"{BASE}/apps/new")
async def new_app_form(request: Request) -> Response:
    member = await app_database(request).run(_developer, request)
    return render(
        request,
        "app_new.html",
        member=member,
        name="",
        callbacks="",
        public=False,
        options=AppOptions(),
        error=None,
    )


@router.post(f"{BASE}/apps/new")
async def create_app(request: Request) -> Response:
    form = await checked_form(request)
    once = require_first_submission(request, form)
    name = form_field(form, "name")
    callbacks = form_field(form, "redirect_uris")
    public = form_field(form, "public") == "on"
    options = _options(form)

    def register(session: Session) -> tuple[Member, App | None, str | None, str | None]:
        member = _developer(session, request)
        try:
            with session.begin_nested():
                app, secret = register_app(
                    session,
                    nation=member.nation,
                    name=name,
                    redirect_uris=callbacks.splitlines(),
                    public=public,
                    options=options,
                    actor_user_id=member.user.id,
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
            public=public,
            options=options,
            error=error,
        )
    record_submission(request, once)
    return render(request, "app_show.html", member=member, app=app, secret=secret, error=None, saved=False)


@router.get(f"{BASE}/apps/{{app_id:int}}")
async def show_app(request: Request, app_id: int) -> Response:
    def load(session: Session) -> tuple[Member, App]:
        member = _developer(session, request)
        return member, _app_of(session, member, app_id)

    member, app = await app_database(request).run(load)
    return render(request, "app_show.html", member=member, app=app, secret=None, error=None, saved=False)


@router.post(f"{BASE}/apps/{{app_id:int}}")
async def edit_app(request: Request, app_id: int) -> Response:
    form = await checked_form(request)
    name = form_field(form, "name")
    callbacks = form_field(form, "redirect_uris")
    options = _options(form)

    def save(session: Session) -> tuple[Member, App, str | None]:
        member = _developer(session, request)
        app = _app_of(session, member, app_id)
        try:
            with session.begin_nested():
                update_app(
                    session,
                    app,
                    name=name,
                    redirect_uris=callbacks.splitlines(),
                    options=options,
                    actor_user_id=member.user.id,
                )
        except InvalidApp as error:
            session.refresh(app)
            return member, app, str(error)
        return member, app, None

    member, app, error = await app_database(request).run(save)
    return render(
        request,
        "app_show.html",
        status=400 if error else 200,
        member=member,
        app=app,
        secret=None,
        error=error,
        saved=error is None,
    )


@router.post(f"{BASE}/apps/{{app_id:int}}/secret")
async def new_secret(request: Request, app_id: int) -> Response:
    once = require_first_submission(request, await checked_form(request))

    def regenerate(session: Session) -> tuple[Member, App, str]:
        member = _developer(session, request)
        app = _app_of(session, member, app_id)
        try:
            secret = regenerate_secret(session, app, actor_user_id=member.user.id)
        except InvalidApp as error:
            raise PanelError(status=400, title="No secret to regenerate", message=f"{error}.") from None
        return member, app, secret

    member, app, secret = await app_database(request).run(regenerate)
    record_submission(request, once)
    return render(request, "app_show.html", member=member, app=app, secret=secret, error=None, saved=False)


@router.get(f"{BASE}/apps/{{app_id:int}}/delete")
async def confirm_delete(request: Request, app_id: int) -> Response:
    def load(session: Session) -> tuple[Member, App]:
        member = _developer(session, request)
        return member, _app_of(session, member, app_id)

    member, app = await app_database(request).run(load)
    return render(request, "app_delete.html", member=member, app=app)


@router.post(f"{BASE}/apps/{{app_id:int}}/delete")
async def remove_app(request: Request, app_id: int) -> Response:
    await checked_form(request)

    def remove(session: Session) -> None:
        member = _developer(session, request)
        delete_app(session, _app_of(session, member, app_id), actor_user_id=member.user.id)

    await app_database(request).run(remove)
    return redirect(request, BASE)


@router.get(f"{BASE}/api_token")
async def api_token_form(request: Request) -> Response:
    member = await app_database(request).run(_developer, request)
    return render(request, "api_token.html", member=member, token=None, row=None, **_lifetime(request))


def _lifetime(request: Request) -> dict[str, Any]:
    return {"lifetime": describe_duration(app_settings(request).test_token_ttl)}


@router.post(f"{BASE}/api_token")
async def create_api_token(request: Request) -> Response:
    once = require_first_submission(request, await checked_form(request))
    ttl = app_settings(request).test_token_ttl

    def create(session: Session) -> tuple[Member, TestToken, str]:
        member = _developer(session, request)
        row, value = create_test_token(session, nation=member.nation, user=member.user, ttl=ttl)
        return member, row, value

    member, row, value = await app_database(request).run(create)
    record_submission(request, once)
    return render(request, "api_token.html", member=member, token=value, row=row, **_lifetime(request))


@router.post(f"{BASE}/api_token/{{token_id:int}}/revoke")
async def revoke_api_token(request: Request, token_id: int) -> Response:
    await checked_form(request)

    def revoke(session: Session) -> None:
        member = _developer(session, request)
        if not revoke_test_token(
            session, nation=member.nation, token_id=token_id, actor_user_id=member.user.id
        ):
            raise PanelError(
                status=404,
                title="API token not found",
                message="This nation has no API token with that number. Go back to Settings > Developer.",
            )

    await app_database(request).run(revoke)
    return redirect(request, BASE)
