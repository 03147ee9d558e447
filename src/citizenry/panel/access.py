"""Loading the nation, the signed-in user and their membership for a control panel page."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from citizenry.panel.pages import PanelError
from citizenry.panel.session import SignedIn
from citizenry.store.models import Membership, Nation, User
from citizenry.tenancy.nations import DEVELOPER_PLANS, load_nation
from citizenry.tenancy.resolve import NationRoute
from citizenry.tenancy.users import find_membership, find_user


class SignInRequired(Exception):
    """The page needs a signed-in user; the handler sends the browser to the sign-in page."""


@dataclass(frozen=True)
class Member:
    """The request's nation, its signed-in user, and the user's membership in it."""

    nation: Nation
    user: User
    membership: Membership

    @property
    def is_admin(self) -> bool:
        return self.membership.permission_level == "admin"

    @property
    def may_use_developer_tools(self) -> bool:
        return self.user.is_certified_developer or self.nation.plan in DEVELOPER_PLANS


def signed_in_user(session: Session, signed_in_as: SignedIn | None) -> User | None:
    """Return the session's user, or None if signed out or if the password changed since sign-in."""
    if signed_in_as is None:
        return None
    user = find_user(session, signed_in_as.user_id)
    return user if user is not None and signed_in_as.matches(user) else None


def load_member(
    session: Session, route: NationRoute, signed_in_as: SignedIn | None, *, admin: bool = False
) -> Member:
    nation = load_nation(session, route)
    user = signed_in_user(session, signed_in_as)
    if user is None:
        raise SignInRequired()
    membership = find_membership(session, user_id=user.id, nation_id=nation.id)
    if membership is None:
        raise PanelError(
            status=403,
            title="Not a member of this nation",
            message=f"You are signed in as {user.email}, who is not a member of {nation.name}. "
            "Sign out and sign in with an account of this nation, or ask one of its admins to add you.",
        )
    member = Member(nation=nation, user=user, membership=membership)
    if admin and not member.is_admin:
        raise PanelError(
            status=403,
            title="Admins only",
            message=f"This page is for the admins of {nation.name}. Your permission level is "
            f"{membership.permission_level}; ask an admin of the nation if you need access.",
        )
    return member


def require_developer_tools(member: Member) -> None:
    if not member.may_use_developer_tools:
        raise PanelError(
            status=403,
            title="Developer tools are not available",
            message=f"{member.nation.name} is on the {member.nation.plan} plan. Developer tools are open "
            "to certified developers and to nations on the Enterprise or Network plan. Become a "
            "certified developer, or upgrade the nation's plan, to register apps and create API tokens.",
        )
