"""Settings > Users: members and their permission sets, invitations, removal and reset links.

Only admins open these pages. Invitations and password reset links are shown once, for the
admin to copy and pass on, because Citizenry sends no e-mail.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import timedelta

from fastapi import APIRouter
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import Response

from citizenry.context import app_database, app_settings, nation_issuer, nation_route
from citizenry.panel.access import Member, load_member
from citizenry.panel.forms import checked_form, form_field
from citizenry.panel.invitations import (
    INVITATION_MAX_AGE,
    InvalidInvitation,
    Invitation,
    PendingInvitation,
    cancel_invitation,
    create_invitation,
    join_link,
    pending_invitations,
)
from citizenry.panel.members import (
    LastAdmin,
    MemberNotFound,
    MemberRow,
    change_level,
    list_members,
    load_member_row,
    remove_member,
)
from citizenry.panel.notices import notice_of, redirect_done
from citizenry.panel.pages import PanelError, describe_duration, render
from citizenry.panel.reset_links import (
    RESET_LINK_MAX_AGE,
    create_reset_token,
    record_link_created,
    reset_link,
)
from citizenry.panel.session import signed_in
from citizenry.store.models import PERMISSION_LEVELS, Membership
from citizenry.store.types import utcnow

logger = logging.getLogger(__name__)

router = APIRouter(include_in_schema=False)

USERS = "/admin/settings/users"

NOTICES = {
    "level_changed": "The permission set was changed. It applies from the member's next page or API call.",
    "level_unchanged": "The member already had that permission set; nothing changed.",
    "removed": "The member was removed. Their account stays, for the other nations they belong to.",
    "invitation_cancelled": "The invitation was cancelled. Its link no longer works.",
}

LEVEL_OPTIONS = [(level, level.capitalize()) for level in PERMISSION_LEVELS]


def _describe_lifetime(seconds: int) -> str:
    """Describe a link's lifetime in days when it is a whole number of days, such as "7 days"."""
    days, rest = divmod(seconds, 86400)
    if days and not rest:
        return f"{days} day{'s' if days != 1 else ''}"
    return describe_duration(seconds)


def _admin(session: Session, request: Request) -> Member:
    return load_member(session, nation_route(request), signed_in(request), admin=True)


def _member_of(session: Session, member: Member, user_id: int) -> MemberRow:
    try:
        return load_member_row(session, member.nation.id, user_id)
    except MemberNotFound:
        raise PanelError(
            status=404,
            title="Member not found",
            message=f"{member.nation.name} has no member with the number {user_id}. They may have been "
            "removed already. Go back to Settings > Users.",
        ) from None


def _last_admin_message(member: Member) -> str:
    logger.info("kept the last admin of nation id=%s", member.nation.id)
    return (
        f"You are the only admin of {member.nation.name}, and a nation needs at least one. "
        "Make another member an admin first, then try again."
    )


@dataclass
class UsersPage:
    member: Member
    rows: list[MemberRow]
    #: Ids of the members the signed-in admin may make a password reset link for.
    resettable: set[int]
    invitations: list[PendingInvitation]
    invite_email: str = ""
    invite_level: str = "staffer"
    #: Problems with the invitation form, by field name.
    errors: dict[str, list[str]] = field(default_factory=dict)
    #: Why the last change was rejected, and what to do instead.
    problem: str = ""


def _resettable(session: Session, member: Member, rows: list[MemberRow]) -> set[int]:
    """Return the members all of whose nations the signed-in user administers.

    A reset link hands over the account, and the account opens all of the member's nations, so
    an admin must not get one for a member of a nation they do not administer.
    """
    ids = [row.user.id for row in rows]
    nations: dict[int, set[int]] = {user_id: set() for user_id in ids}
    for user_id, nation_id in session.execute(
        select(Membership.user_id, Membership.nation_id).where(Membership.user_id.in_(ids))
    ):
        nations[user_id].add(nation_id)
    administered = set(
        session.scalars(
            select(Membership.nation_id).where(
                Membership.user_id == member.user.id, Membership.permission_level == "admin"
            )
        )
    )
    return {user_id for user_id, member_nations in nations.items() if member_nations <= administered}


def _load_page(session: Session, member: Member) -> UsersPage:
    rows = list_members(session, member.nation.id)
    return UsersPage(
        member=member,
        rows=rows,
        resettable=_resettable(session, member, rows),
        invitations=pending_invitations(session, member.nation.id),
    )


def _render_users(request: Request, page: UsersPage, status: int = 200) -> Response:
    return render(
        request,
        "users.html",
        status=status,
        member=page.member,
        page=page,
        level_options=LEVEL_OPTIONS,
        invitation_lifetime=_describe_lifetime(INVITATION_MAX_AGE),
        notice=notice_of(request, NOTICES) if status == 200 else None,
    )


@router.get(USERS)
async def users(request: Request) -> Response:
    def load(session: Session) -> UsersPage:
        return _load_page(session, _admin(session, request))

    return _render_users(request, await app_database(request).run(load))


@router.post(f"{USERS}/invite")
async def invite(request: Request) -> Response:
    form = await checked_form(request)
    email = form_field(form, "email").strip()
    level = form_field(form, "level")
    secret_key = app_settings(request).secret_key

    def create(session: Session) -> tuple[Member, UsersPage | tuple[str, Invitation]]:
        member = _admin(session, request)
        try:
            token, invitation = create_invitation(
                session,
                secret_key,
                nation=member.nation,
                email=email,
                level=level,
                actor_user_id=member.user.id,
            )
        except InvalidInvitation as error:
            logger.info("rejected an invitation to nation id=%s: %s", member.nation.id, error.field)
            page = _load_page(session, member)
            page.invite_email, page.invite_level = email, level
            page.errors[error.field] = [str(error)]
            return member, page
        return member, (token, invitation)

    member, outcome = await app_database(request).run(create)
    if isinstance(outcome, UsersPage):
        return _render_users(request, outcome, status=400)
    token, invitation = outcome
    return render(
        request,
        "user_link.html",
        member=member,
        kind="invitation",
        link=join_link(nation_issuer(request), token),
        email=invitation.email,
        level=invitation.level,
        expires_at=invitation.expires_at,
        lifetime=_describe_lifetime(INVITATION_MAX_AGE),
    )


@router.post(f"{USERS}/invitations/cancel")
async def cancel(request: Request) -> Response:
    form = await checked_form(request)
    invitation_id = form_field(form, "invitation")

    def write(session: Session) -> bool:
        member = _admin(session, request)
        return cancel_invitation(session, member.nation, invitation_id, actor_user_id=member.user.id)

    if not await app_database(request).run(write):
        raise PanelError(
            status=404,
            title="Invitation not found",
            message="This invitation was already used, cancelled, or has expired, so there is nothing "
            "to cancel. Go back to Settings > Users to see the open invitations.",
        )
    return redirect_done(request, USERS, "invitation_cancelled")


@router.post(f"{USERS}/{{user_id:int}}/level")
async def set_level(request: Request, user_id: int) -> Response:
    form = await checked_form(request)
    level = form_field(form, "level")
    if level not in PERMISSION_LEVELS:
        raise PanelError(
            status=400,
            title="Unknown permission set",
            message="Choose admin or staffer from the list on Settings > Users, then save again.",
        )

    def write(session: Session) -> tuple[UsersPage | None, bool]:
        member = _admin(session, request)
        _member_of(session, member, user_id)
        try:
            changed = change_level(
                session, member.nation, user_id=user_id, level=level, actor_user_id=member.user.id
            )
        except LastAdmin:
            page = _load_page(session, member)
            page.problem = _last_admin_message(member)
            return page, False
        return None, changed

    page, changed = await app_database(request).run(write)
    if page is not None:
        return _render_users(request, page, status=409)
    return redirect_done(request, USERS, "level_changed" if changed else "level_unchanged")


@router.get(f"{USERS}/{{user_id:int}}/remove")
async def confirm_remove(request: Request, user_id: int) -> Response:
    def load(session: Session) -> tuple[Member, MemberRow]:
        member = _admin(session, request)
        return member, _member_of(session, member, user_id)

    member, row = await app_database(request).run(load)
    return render(request, "user_remove.html", member=member, row=row)


@router.post(f"{USERS}/{{user_id:int}}/remove")
async def remove(request: Request, user_id: int) -> Response:
    await checked_form(request)

    def write(session: Session) -> tuple[UsersPage | None, bool]:
        member = _admin(session, request)
        _member_of(session, member, user_id)
        try:
            remove_member(session, member.nation, user_id=user_id, actor_user_id=member.user.id)
        except LastAdmin:
            page = _load_page(session, member)
            page.problem = _last_admin_message(member)
            return page, False
        return None, user_id == member.user.id

    page, removed_self = await app_database(request).run(write)
    if page is not None:
        return _render_users(request, page, status=409)
    if removed_self:
        # The panel of this nation is closed to them now; their account page lists the rest.
        return redirect_done(request, "/admin/account", "left")
    return redirect_done(request, USERS, "removed")


@router.post(f"{USERS}/{{user_id:int}}/reset_link")
async def make_reset_link(request: Request, user_id: int) -> Response:
    await checked_form(request)
    secret_key = app_settings(request).secret_key

    def create(session: Session) -> tuple[Member, MemberRow, str]:
        member = _admin(session, request)
        row = _member_of(session, member, user_id)
        if user_id not in _resettable(session, member, [row]):
            raise PanelError(
                status=403,
                title="Ask the server's operator",
                message=f"{row.user.email} is also a member of a nation you are not an admin of, so you "
                "cannot make a password reset link for them. Ask whoever runs this Citizenry server to run "
                f"'citizenry user reset-link {row.user.email} --nation {member.nation.slug}'.",
            )
        token = create_reset_token(secret_key, user=row.user, nation=member.nation)
        record_link_created(
            session, user=row.user, nation=member.nation, actor_user_id=member.user.id, via="panel"
        )
        return member, row, token

    member, row, token = await app_database(request).run(create)
    return render(
        request,
        "user_link.html",
        member=member,
        kind="password_reset",
        link=reset_link(nation_issuer(request), token),
        email=row.user.email,
        level=row.membership.permission_level,
        expires_at=utcnow() + timedelta(seconds=RESET_LINK_MAX_AGE),
        lifetime=describe_duration(RESET_LINK_MAX_AGE),
    )
