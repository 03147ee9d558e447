"""Authentication of API requests: the nation, the bearer token, and the token owner's membership."""

from __future__ import annotations

from dataclasses import dataclass

from authlib.oauth2.rfc6749.errors import OAuth2Error
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from starlette.requests import Request

from citizenry.api.errors import InsufficientScope, NotAcceptable, Unauthorized
from citizenry.api.negotiation import accepts_json
from citizenry.oauth.bearer import Grant, TokenCarrier, carrier_for, validate_bearer
from citizenry.store.models import Membership, Nation, Person, User
from citizenry.tenancy.nations import load_nation
from citizenry.tenancy.permissions import member_permissions
from citizenry.tenancy.resolve import NationRoute


@dataclass(frozen=True)
class Caller:
    nation: Nation
    grant: Grant
    membership: Membership


@dataclass(frozen=True)
class ApiRequest:
    """The parts of an API request that a handler reads before its database work."""

    route: NationRoute
    carrier: TokenCarrier


def read_api_request(request: Request) -> ApiRequest:
    """Check content negotiation and collect the token; raises :class:`NotAcceptable`."""
    if not accepts_json(request.headers.get("accept")):
        raise NotAcceptable()
    carrier = carrier_for(request.headers.get("authorization"), request.query_params.get("access_token"))
    return ApiRequest(route=request.state.nation_route, carrier=carrier)


def authenticate_caller(session: Session, api_request: ApiRequest, *, admin_only: bool = True) -> Caller:
    """Load the nation and the token's grant, and check the owner's permissions.

    A bad token, a former member, or an owner whose permission level may not use the API is a
    401. So is a staffer's token on an admin-level endpoint, except in the strict profile, where
    a token that is valid but lacks the permission is a 403 ``insufficient_scope`` (RFC 6750
    section 3.1).
    """
    nation = load_nation(session, api_request.route)
    challenge = 'Bearer realm="api"'
    if api_request.carrier.headers:
        challenge += ', error="invalid_token"'
    try:
        grant = validate_bearer(session, nation, api_request.carrier)
    except OAuth2Error:
        raise Unauthorized(headers={"WWW-Authenticate": challenge}) from None
    strict = nation.strict_profile or grant.app_strict
    if strict and api_request.carrier.from_query:
        # The strict profile takes bearer tokens in the Authorization header only (RFC 9700 section 4.3.2).
        raise Unauthorized(headers={"WWW-Authenticate": 'Bearer realm="api"'})
    found = member_permissions(session, user_id=grant.user_id, nation_id=nation.id)
    if found is None:
        raise Unauthorized(headers={"WWW-Authenticate": challenge})

    membership, permissions = found
    if not permissions.api or (admin_only and membership.permission_level != "admin"):
        if strict:
            raise InsufficientScope(
                headers={"WWW-Authenticate": 'Bearer realm="api", error="insufficient_scope"'}
            )
        raise Unauthorized(headers={"WWW-Authenticate": 'Bearer realm="api"'})
    return Caller(nation=nation, grant=grant, membership=membership)


def owner_person(session: Session, caller: Caller) -> Person | None:
    """Return the token owner's person record on the caller's nation, or None.

    NOTE: users are not linked to person records yet, so the record is the person of the nation
    with the user's e-mail address (the first one when several have it).
    """
    user = session.get(User, caller.grant.user_id)
    if user is None:
        return None
    return session.scalar(
        select(Person)
        .where(Person.nation_id == caller.nation.id, func.lower(Person.email) == user.email)
        .order_by(Person.id)
        .limit(1)
    )
