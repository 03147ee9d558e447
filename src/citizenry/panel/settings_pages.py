"""Settings: the index, Settings > Nation and Settings > Permission sets.

Settings > Nation changes what ``citizenry nation set`` changes (name, plan, strict OAuth
profile), and Settings > Permission sets what ``citizenry nation permissions`` changes, by the
same rules. Only admins open these pages, and each change is written to the audit log.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from fastapi import APIRouter
from sqlalchemy.orm import Session
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response

from citizenry import audit
from citizenry.context import app_database, nation_route
from citizenry.panel.access import Member, load_member
from citizenry.panel.forms import checked_form, form_field
from citizenry.panel.notices import notice_of, redirect_done
from citizenry.panel.pages import render
from citizenry.panel.session import signed_in
from citizenry.store.models import PERMISSION_LEVELS, PLANS
from citizenry.tenancy.nations import DEVELOPER_PLANS
from citizenry.tenancy.permissions import Permissions, permissions_for, set_permissions

router = APIRouter(include_in_schema=False)

NATION = "/admin/settings/nation"
PERMISSION_SETS = "/admin/settings/permission_sets"

#: Maximum length of a nation's name, as the nations table stores it.
MAX_NAME_LENGTH = 255

NOTICES = {
    "saved": "The changes were saved.",
    "unchanged": "Nothing changed: the form had the values already saved.",
}


def _admin(session: Session, request: Request) -> Member:
    return load_member(session, nation_route(request), signed_in(request), admin=True)


@router.get("/admin/settings")
async def settings_index(request: Request) -> Response:
    member = await app_database(request).run(_admin, request)
    return render(request, "settings.html", member=member)


@dataclass
class NationForm:
    name: str
    plan: str
    strict_profile: bool
    #: Problems by field name.
    errors: dict[str, list[str]] = field(default_factory=dict)

    @property
    def plan_options(self) -> list[tuple[str, str]]:
        return [(plan, plan.capitalize()) for plan in PLANS]


def _read_nation_form(form: FormData) -> NationForm:
    values = NationForm(
        name=form_field(form, "name").strip(),
        plan=form_field(form, "plan"),
        strict_profile=form_field(form, "strict_profile") == "on",
    )
    if not values.name:
        values.errors["name"] = ["Enter the nation's name."]
    elif len(values.name) > MAX_NAME_LENGTH:
        values.errors["name"] = [f"The name has more than {MAX_NAME_LENGTH} characters. Shorten it."]
    if values.plan not in PLANS:
        values.errors["plan"] = [f"Choose one of the plans: {', '.join(PLANS)}."]
    return values


def _render_nation(request: Request, member: Member, values: NationForm) -> Response:
    return render(
        request,
        "settings_nation.html",
        status=400 if values.errors else 200,
        member=member,
        values=values,
        developer_plans=sorted(DEVELOPER_PLANS),
        notice=None if values.errors else notice_of(request, NOTICES),
    )


@router.get(NATION)
async def nation_form(request: Request) -> Response:
    member = await app_database(request).run(_admin, request)
    nation = member.nation
    values = NationForm(name=nation.name, plan=nation.plan, strict_profile=nation.strict_profile)
    return _render_nation(request, member, values)


def _save_nation(session: Session, member: Member, values: NationForm) -> bool:
    """Apply the form to the nation and record what changed; returns False when nothing did."""
    nation = member.nation
    changes: dict[str, Any] = {}
    for name, value in (
        ("name", values.name),
        ("plan", values.plan),
        ("strict_profile", values.strict_profile),
    ):
        previous = getattr(nation, name)
        if previous != value:
            changes[name] = value
            changes[f"previous_{name}"] = previous
            setattr(nation, name, value)
    if not changes:
        return False
    session.flush()
    audit.record(session, nation_id=nation.id, kind="nation.updated", actor_user_id=member.user.id, **changes)
    return True


@router.post(NATION)
async def save_nation(request: Request) -> Response:
    values = _read_nation_form(await checked_form(request))

    def save(session: Session) -> tuple[Member, bool]:
        member = _admin(session, request)
        if values.errors:
            return member, False
        return member, _save_nation(session, member, values)

    member, changed = await app_database(request).run(save)
    if values.errors:
        return _render_nation(request, member, values)
    return redirect_done(request, NATION, "saved" if changed else "unchanged")


@dataclass(frozen=True)
class PermissionSetsPage:
    member: Member
    sets: list[Permissions]


def _load_permission_sets(session: Session, request: Request) -> PermissionSetsPage:
    member = _admin(session, request)
    sets = [permissions_for(session, member.nation.id, level) for level in PERMISSION_LEVELS]
    return PermissionSetsPage(member=member, sets=sets)


@router.get(PERMISSION_SETS)
async def permission_sets(request: Request) -> Response:
    page = await app_database(request).run(_load_permission_sets, request)
    return render(
        request,
        "permission_sets.html",
        member=page.member,
        page=page,
        notice=notice_of(request, NOTICES),
    )


def _save_permission_sets(session: Session, member: Member, requested: dict[str, Permissions]) -> bool:
    """Store each level whose switches differ; returns False when none did."""
    changed = False
    for level, switches in requested.items():
        if permissions_for(session, member.nation.id, level) == switches:
            continue
        set_permissions(
            session, member.nation, level, api=switches.api, sign_into_apps=switches.sign_into_apps
        )
        audit.record(
            session,
            nation_id=member.nation.id,
            kind="permission_set.updated",
            actor_user_id=member.user.id,
            level=level,
            api=switches.api,
            sign_into_apps=switches.sign_into_apps,
        )
        changed = True
    return changed


@router.post(PERMISSION_SETS)
async def save_permission_sets(request: Request) -> Response:
    form = await checked_form(request)
    # An unticked checkbox sends nothing, so a missing field is "off", as in every panel form.
    requested = {
        level: Permissions(
            level=level,
            api=form_field(form, f"{level}_api") == "on",
            sign_into_apps=form_field(form, f"{level}_sign_into_apps") == "on",
        )
        for level in PERMISSION_LEVELS
    }

    def save(session: Session) -> bool:
        return _save_permission_sets(session, _admin(session, request), requested)

    changed = await app_database(request).run(save)
    return redirect_done(request, PERMISSION_SETS, "saved" if changed else "unchanged")
