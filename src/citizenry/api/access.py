"""Authentication of API requests: the nation, the bearer token, and the token owner's membership."""

from __future__ import annotations

from dataclasses import dataclass

from authlib.oauth2.rfc6749.errors import OAuth2Error
from sqlalchemy.orm import Session
from starlette.requests import Request

from citizenry.api.errors import NotAcceptable, Unauthorized
from citizenry.api.negotiation import accepts_json
from citizenry.oauth.bearer import Grant, TokenCarrier, carrier_for, validate_bearer
from citizenry.store.models import Membership, Nation
from citizenry.tenancy.nations import load_nation
from citizenry.tenancy.resolve import NationRoute
from citizenry.tenancy.users import find_membership


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


def authenticate_caller(session: Session, api_request: ApiRequest) -> Caller:
    """Load the nation and the token's grant; a bad token or a former member is a 401."""
    nation = load_nation(session, api_request.route)
    challenge = 'Bearer realm="api"'
    if api_request.carrier.headers:
        challenge += ', error="invalid_token"'
    try:
        grant = validate_bearer(session, nation, api_request.carrier)
    except OAuth2Error:
        raise Unauthorized(headers={"WWW-Authenticate": challenge}) from None
    membership = find_membership(session, user_id=grant.user_id, nation_id=nation.id)
    if membership is None:
        raise Unauthorized(headers={"WWW-Authenticate": challenge})
    return Caller(nation=nation, grant=grant, membership=membership)
