"""Admin pages beside Settings > Developer: authorized apps and sandbox nations.

The audit log is in :mod:`citizenry.panel.audit_page`.
"""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import APIRouter
from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from citizenry.context import app_database, app_settings, nation_route
from citizenry.oauth.families import AuthorizedApp, list_authorized_apps, revoke_app_on_nation
from citizenry.panel.access import Member, SignInRequired, load_member, signed_in_user
from citizenry.panel.forms import checked_form, form_field
from citizenry.panel.pages import PanelError, redirect, render
from citizenry.panel.session import signed_in
from citizenry.store.models import App, User
from citizenry.tenancy.nations import InvalidNation, create_nation
from citizenry.tenancy.users import add_membership

router = APIRouter(include_in_schema=False)


def _admin(session: Session, request: Request) -> Member:
    return load_member(session, nation_route(request), signed_in(request), admin=True)


@dataclass(frozen=True)
class AuthorizedAppsPage:
    member: Member
    apps: list[AuthorizedApp]


@router.get("/admin/settings/authorized_apps")
async def authorized_apps(request: Request) -> Response:
    max_age = app_settings(request).refresh_token_max_age

    def load(session: Session) -> AuthorizedAppsPage:
        member = _admin(session, request)
        apps = list_authorized_apps(session, member.nation.id, refresh_token_max_age=max_age)
        return AuthorizedAppsPage(member=member, apps=apps)

    page = await app_database(request).run(load)
    return render(request, "authorized_apps.html", member=page.member, page=page)


@router.post("/admin/settings/authorized_apps/{app_id:int}/revoke")
async def revoke_authorized_app(request: Request, app_id: int) -> Response:
    await checked_form(request)

    def revoke(session: Session) -> None:
        member = _admin(session, request)
        if session.get(App, app_id) is None:
            raise PanelError(
                status=404,
                title="App not found",
                message="No app has that number. Go back to Authorized apps.",
            )
        revoke_app_on_nation(session, nation_id=member.nation.id, app_id=app_id, actor_user_id=member.user.id)

    await app_database(request).run(revoke)
    return redirect(request, "/admin/settings/authorized_apps")


def _certified_developer(session: Session, request: Request) -> User:
    user = signed_in_user(session, signed_in(request))
    if user is None:
        raise SignInRequired()
    if not user.is_certified_developer:
        raise PanelError(
            status=403,
            title="For certified developers",
            message="Only certified developers can create sandbox nations. Become a certified "
            "developer to test your apps on a nation of your own.",
        )
    return user


@router.get("/admin/sandbox/new")
async def new_sandbox_form(request: Request) -> Response:
    await app_database(request).run(_certified_developer, request)
    return render(request, "sandbox_new.html", slug="", name="", error=None)


@router.post("/admin/sandbox/new")
async def create_sandbox(request: Request) -> Response:
    form = await checked_form(request)
    slug = form_field(form, "slug").strip().lower()
    name = form_field(form, "name")

    def create(session: Session) -> str | None:
        user = _certified_developer(session, request)
        try:
            with session.begin_nested():
                nation = create_nation(session, slug=slug, name=name, is_sandbox=True)
                add_membership(session, user=user, nation=nation, level="admin")
        except InvalidNation as error:
            return str(error)
        return None

    error = await app_database(request).run(create)
    if error:
        return render(request, "sandbox_new.html", status=400, slug=slug, name=name, error=error)
    return RedirectResponse(admin_url_of(request, slug), status_code=303)


def admin_url_of(request: Request, slug: str) -> str:
    """Return the control panel address of another nation, in the form this request used."""
    base_domain = app_settings(request).base_domain
    host = request.url.hostname or ""
    if host.endswith("." + base_domain) and not nation_route(request).prefix:
        port = f":{request.url.port}" if request.url.port else ""
        return f"{request.url.scheme}://{slug}.{base_domain}{port}/admin"
    return f"/n/{slug}/admin"
