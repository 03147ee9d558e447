"""The authorization endpoint and its consent page."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from authlib.oauth2.rfc6749.errors import OAuth2Error
from fastapi import APIRouter
from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import Response

from citizenry import audit
from citizenry.context import app_database, app_settings, nation_issuer, nation_route
from citizenry.json_codec import JSONResponse
from citizenry.oauth.apps import OAuthClient
from citizenry.oauth.requests import (
    OAuthResponse,
    StarletteOAuth2Request,
    authorization_request,
)
from citizenry.oauth.server import NationAuthorizationServer
from citizenry.panel.access import Member, load_member
from citizenry.panel.forms import checked_form, form_field
from citizenry.panel.pages import PanelError, render
from citizenry.panel.session import csrf_token, signed_in
from citizenry.settings import Settings
from citizenry.store.models import App, Nation
from citizenry.tenancy.nations import load_nation
from citizenry.tenancy.permissions import Permissions, permissions_for
from citizenry.tenancy.resolve import NationRoute

logger = logging.getLogger(__name__)

router = APIRouter(include_in_schema=False)

#: Seconds a consent page stays valid: as long as the authorization code it would issue.
CONSENT_MAX_AGE = 600


def _handle_serializer(request: Request) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(app_settings(request).secret_key, salt="citizenry.authorization-request")


def _to_response(result: OAuthResponse) -> Response:
    if result.location:
        return Response(status_code=result.status, headers=dict(result.headers))
    return JSONResponse(result.body, status_code=result.status, headers=dict(result.headers))


def _error_page(
    error: OAuth2Error, *, client: OAuthClient | None = None, redirect_uri: str | None = None
) -> PanelError:
    """Describe an authorization request error that must not be sent to the redirect URI.

    ``client`` is the registered app the request names, if any, and ``redirect_uri`` is the
    callback URL it requested. Together they tell a wrong or missing callback URL from other errors.
    """
    if error.error == "invalid_client":
        return PanelError(
            status=400,
            title="Unknown app",
            message="The website or program that sent you here asked for access with an app that is "
            "not registered on this Citizenry server: its Client ID is missing or wrong. Nothing was "
            "shared. Go back to it and tell its developer to check the Client ID in its settings.",
        )
    if client is not None and redirect_uri and not client.check_redirect_uri(redirect_uri):
        shown = redirect_uri if len(redirect_uri) <= 200 else redirect_uri[:200] + "..."
        return PanelError(
            status=400,
            title="The app's return address is not registered",
            message=f"{client.name} asked to send you back to {shown}, which is not one of the "
            "OAuth callback URLs registered for it. To protect your nation, Citizenry stopped here and "
            "shared nothing. Tell the app's developer to register that exact address under "
            "Settings > Developer, or to correct the app's settings.",
        )
    if client is not None and not redirect_uri and client.get_default_redirect_uri() is None:
        return PanelError(
            status=400,
            title="The app did not say where to return",
            message=f"{client.name} has several OAuth callback URLs, and the request named none of "
            "them, so Citizenry cannot tell where to send you back. Nothing was shared. Tell the app's "
            "developer to add redirect_uri to its authorization request.",
        )
    return PanelError(
        status=400,
        title="This authorization request cannot be used",
        message=f"{error.description} Nothing was authorized. Go back to the app and tell its "
        "developer about this error.",
    )


@dataclass(frozen=True)
class Consent:
    member: Member
    app_name: str
    redirect_uri: str
    #: The name of the nation that registered the app.
    app_owner: str
    #: The switches of the member's permission set, which decide what an app may do with the API.
    permissions: Permissions


def _require_sign_into_apps(session: Session, member: Member) -> None:
    level = member.membership.permission_level
    if not permissions_for(session, member.nation.id, level).sign_into_apps:
        raise PanelError(
            status=403,
            title="You cannot authorize apps",
            message=f"Your permission level in {member.nation.name} is {level}, and that level may not "
            "sign into apps, so you cannot give an app access to the nation. Ask an admin of the "
            "nation to authorize the app, or to turn on 'Sign into apps' for your permission level.",
        )


def _validated_grant(
    session: Session,
    route: NationRoute,
    request: StarletteOAuth2Request,
    settings: Settings,
    issuer: str,
) -> tuple[NationAuthorizationServer, Any] | OAuthResponse:
    """Validate an authorization request: the grant, an error redirect, or a :class:`PanelError`."""
    nation = load_nation(session, route)
    server = NationAuthorizationServer(session, nation, settings, issuer)
    try:
        grant = server.get_consent_grant(request, end_user=None)
    except OAuth2Error as error:
        if not error.redirect_uri:
            # RFC 6749 section 4.1.2.1: an unknown client or an unregistered redirect URI is
            # shown to the person, never sent to the URI.
            client = server.query_client(request.payload.client_id or "")
            raise _error_page(error, client=client, redirect_uri=request.payload.redirect_uri) from None
        response: OAuthResponse = server.handle_error_response(request, error)
        # Authlib adds "iss" only to responses made after consent; errors before it need it too.
        server.issuer_parameter.add_issuer_parameter(server, response)
        return response
    return server, grant


def _parsed_authorization_request(
    request: Request, query: list[tuple[str, str]] | None = None
) -> StarletteOAuth2Request:
    try:
        return authorization_request(request, query)
    except OAuth2Error as error:
        raise _error_page(error) from None


@router.get("/oauth/authorize")
async def authorize(request: Request) -> Response:
    oauth_request = _parsed_authorization_request(request)
    settings = app_settings(request)
    signed_in_as = signed_in(request)
    issuer = nation_issuer(request)

    def prepare(session: Session) -> Consent | OAuthResponse:
        outcome = _validated_grant(session, nation_route(request), oauth_request, settings, issuer)
        if isinstance(outcome, OAuthResponse):
            return outcome
        _, grant = outcome
        member = load_member(session, nation_route(request), signed_in_as)
        _require_sign_into_apps(session, member)
        app = session.get(App, grant.client.app_id)
        owner = session.get(Nation, app.nation_id) if app else None
        return Consent(
            member=member,
            app_name=grant.client.name,
            redirect_uri=grant.redirect_uri,
            app_owner=owner.name if owner else "",
            permissions=permissions_for(session, member.nation.id, member.membership.permission_level),
        )

    outcome = await app_database(request).run(prepare)
    if isinstance(outcome, OAuthResponse):
        return _to_response(outcome)

    handle = _handle_serializer(request).dumps(
        {"query": list(request.query_params.multi_items()), "csrf": csrf_token(request)}
    )
    return render(
        request,
        "consent.html",
        member=outcome.member,
        nation=outcome.member.nation,
        app_name=outcome.app_name,
        user_email=outcome.member.user.email,
        is_admin=outcome.member.is_admin,
        level=outcome.member.membership.permission_level,
        redirect_host=urlsplit(outcome.redirect_uri).netloc,
        app_owner=outcome.app_owner,
        may_use_api=outcome.permissions.api,
        handle=handle,
    )


def _load_handle(request: Request, handle: str) -> list[tuple[str, str]]:
    """Return the authorization request the consent page was rendered for, if this session saw it."""
    try:
        data = _handle_serializer(request).loads(handle, max_age=CONSENT_MAX_AGE)
    except BadSignature:
        data = None
    if not isinstance(data, dict) or data.get("csrf") != request.session.get("csrf"):
        raise PanelError(
            status=400,
            title="This consent page has expired",
            message="Nothing was authorized. Go back to the app and start the connection again.",
        )
    return [(str(key), str(value)) for key, value in data["query"]]


@router.post("/oauth/authorize")
async def decide(request: Request) -> Response:
    form = await checked_form(request)
    decision = form_field(form, "decision")
    if decision not in {"authorize", "deny"}:
        raise PanelError(status=400, title="No decision", message="Choose Authorize or Deny.")
    oauth_request = authorization_request(
        request, _load_handle(request, form_field(form, "authorization_request"))
    )
    settings = app_settings(request)
    signed_in_as = signed_in(request)
    issuer = nation_issuer(request)

    def respond(session: Session) -> OAuthResponse:
        outcome = _validated_grant(session, nation_route(request), oauth_request, settings, issuer)
        if isinstance(outcome, OAuthResponse):
            return outcome
        server, grant = outcome
        member = load_member(session, nation_route(request), signed_in_as)
        _require_sign_into_apps(session, member)
        grant_user = member.user if decision == "authorize" else None
        response: OAuthResponse = server.create_authorization_response(
            oauth_request, grant_user=grant_user, grant=grant
        )
        audit.record(
            session,
            nation_id=member.nation.id,
            kind="authorization.granted" if grant_user else "authorization.denied",
            actor_user_id=member.user.id,
            app_id=grant.client.app_id,
            app_name=grant.client.name,
        )
        return response

    return _to_response(await app_database(request).run(respond))
