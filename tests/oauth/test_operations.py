"""Expiry, clean-up, malformed input and outages around the authorization server."""

from __future__ import annotations

import re
import secrets
from datetime import timedelta
from urllib.parse import quote

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session
from starlette.testclient import TestClient

from citizenry.app import create_app
from citizenry.oauth.cleanup import delete_expired
from citizenry.settings import Settings
from citizenry.store.models import AccessToken, Authorization, AuthorizationCode, RefreshToken
from citizenry.store.types import utcnow
from tests.factory import CALLBACK, AppInfo, Factory, NationInfo, UserInfo
from tests.flows import authorize, consent_page, exchange_params, sign_in

HEX64 = re.compile(r"^[0-9a-f]{64}$")


def _setup(factory: Factory) -> tuple[NationInfo, UserInfo, AppInfo]:
    nation = factory.nation()
    return nation, factory.user(nation), factory.app(nation)


def _params(app: AppInfo, **extra: str) -> dict[str, str]:
    return {
        "response_type": "code",
        "client_id": app.client_id,
        "redirect_uri": CALLBACK,
        "state": "s",
        **extra,
    }


def _tokens(client: TestClient, nation: NationInfo, user: UserInfo, app: AppInfo) -> dict[str, str]:
    code = authorize(client, nation.prefix, user.email, _params(app))["code"]
    response = client.post(f"{nation.prefix}/oauth/token", data=exchange_params(app, code))
    assert response.status_code == 200, response.text
    body: dict[str, str] = response.json()
    return body


def _refresh(client: TestClient, nation: NationInfo, app: AppInfo, refresh_token: str):  # type: ignore[no-untyped-def]
    return client.post(
        f"{nation.prefix}/oauth/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": refresh_token,
            "client_id": app.client_id,
            "client_secret": app.client_secret,
        },
    )


def test_expired_code_is_invalid_grant(client: TestClient, factory: Factory) -> None:
    nation, user, app = _setup(factory)
    code = authorize(client, nation.prefix, user.email, _params(app))["code"]

    def expire(session: Session) -> None:
        session.execute(
            update(AuthorizationCode)
            .where(AuthorizationCode.nation_id == nation.id)
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )

    factory.database.transaction(expire)
    response = client.post(f"{nation.prefix}/oauth/token", data=exchange_params(app, code))

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"


def test_code_lifetime_at_most_ten_minutes(client: TestClient, factory: Factory) -> None:
    nation, user, app = _setup(factory)
    authorize(client, nation.prefix, user.email, _params(app))

    def lifetime(session: Session) -> timedelta:
        row = session.scalar(select(AuthorizationCode).where(AuthorizationCode.nation_id == nation.id))
        assert row is not None
        return row.expires_at - row.created_at

    assert factory.database.transaction(lifetime) <= timedelta(minutes=10)


def test_credentials_have_enough_entropy(client: TestClient, factory: Factory) -> None:
    nation, user, app = _setup(factory)
    code = authorize(client, nation.prefix, user.email, _params(app))["code"]
    tokens = client.post(f"{nation.prefix}/oauth/token", data=exchange_params(app, code)).json()

    # 256 random bits each: 64 hexadecimal characters, or 43 base64url characters for the code.
    assert HEX64.match(app.client_secret)
    assert HEX64.match(tokens["access_token"])
    assert HEX64.match(tokens["refresh_token"])
    assert re.fullmatch(r"[A-Za-z0-9_-]{43}", code)


def test_refresh_past_family_max_age(client: TestClient, factory: Factory) -> None:
    nation, user, app = _setup(factory)
    tokens = _tokens(client, nation, user, app)

    def age(session: Session) -> None:
        session.execute(
            update(Authorization)
            .where(Authorization.nation_id == nation.id)
            .values(created_at=utcnow() - timedelta(days=366))
        )

    factory.database.transaction(age)
    response = _refresh(client, nation, app, tokens["refresh_token"])

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"


def test_refresh_cannot_widen_scope(client: TestClient, factory: Factory) -> None:
    nation, user, app = _setup(factory)
    tokens = _tokens(client, nation, user, app)

    response = client.post(
        f"{nation.prefix}/oauth/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": tokens["refresh_token"],
            "scope": "default",
            "client_id": app.client_id,
            "client_secret": app.client_secret,
        },
    )

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_scope"


def test_cleanup_keeps_reuse_detection(client: TestClient, factory: Factory, settings: Settings) -> None:
    nation, user, app = _setup(factory)
    first = _tokens(client, nation, user, app)
    second = _refresh(client, nation, app, first["refresh_token"]).json()

    def expire_access_tokens(session: Session) -> None:
        session.execute(
            update(AccessToken)
            .where(AccessToken.nation_id == nation.id)
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )

    factory.database.transaction(expire_access_tokens)
    factory.database.transaction(
        lambda session: delete_expired(session, refresh_token_max_age=settings.refresh_token_max_age)
    )
    replay = _refresh(client, nation, app, first["refresh_token"])
    after_replay = _refresh(client, nation, app, second["refresh_token"])

    assert replay.status_code == 400
    assert replay.json()["error"] == "invalid_grant"
    assert after_replay.status_code == 400


def test_cleanup_removes_dead_families(client: TestClient, factory: Factory, settings: Settings) -> None:
    nation, user, app = _setup(factory)
    tokens = _tokens(client, nation, user, app)
    client.post(
        f"{nation.prefix}/oauth/revoke",
        data={
            "token": tokens["refresh_token"],
            "client_id": app.client_id,
            "client_secret": app.client_secret,
        },
    )

    factory.database.transaction(
        lambda session: delete_expired(session, refresh_token_max_age=settings.refresh_token_max_age)
    )

    def count(session: Session) -> tuple[int, int]:
        refresh = session.scalars(select(RefreshToken).where(RefreshToken.nation_id == nation.id)).all()
        families = session.scalars(select(Authorization).where(Authorization.nation_id == nation.id)).all()
        return len(refresh), len(families)

    assert factory.database.transaction(count) == (0, 0)
    replay = _refresh(client, nation, app, tokens["refresh_token"])
    assert replay.status_code == 400


def test_authorize_answers_no_cors(client: TestClient, factory: Factory) -> None:
    nation, _, app = _setup(factory)

    response = client.options(
        f"{nation.prefix}/oauth/authorize",
        params=_params(app),
        headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "GET"},
    )

    assert "access-control-allow-origin" not in response.headers


@pytest.mark.parametrize(
    "extra",
    [
        {"scope[a]": "b"},
        {"response_type[]": "code"},
        {"redirect_uri": "http://[::::::::::::::::::::::::::::::]/p"},
        {"redirect_uri": 'https://app.example/callback/é"\\'},
        {"response_type": "códe"},
        {"client_id": "x" * 5000},
    ],
)
def test_malformed_authorize_is_400(client: TestClient, factory: Factory, extra: dict[str, str]) -> None:
    nation, user, app = _setup(factory)
    sign_in(client, nation.prefix, user.email)
    params = {**_params(app), **extra}

    response = consent_page(client, nation.prefix, params)

    assert response.status_code in {302, 400}
    if response.status_code == 302:
        # Only an error redirect to the registered URI is acceptable.
        assert response.headers["location"].startswith(CALLBACK + "?error=")
    else:
        assert "location" not in response.headers


def test_invalid_utf8_in_query(client: TestClient, factory: Factory) -> None:
    nation, user, app = _setup(factory)
    sign_in(client, nation.prefix, user.email)

    response = client.get(
        f"{nation.prefix}/oauth/authorize?response_type=code&client_id={app.client_id}"
        f"&redirect_uri={quote(CALLBACK)}&state=%ff%fe"
    )

    assert response.status_code in {200, 302, 400}


def test_error_page_escapes_input(client: TestClient, factory: Factory) -> None:
    nation, user, app = _setup(factory)
    sign_in(client, nation.prefix, user.email)

    response = consent_page(client, nation.prefix, _params(app, client_id="<script>alert(1)</script>"))

    assert response.status_code == 400
    assert "<script>alert(1)</script>" not in response.text


def test_database_outage_is_503() -> None:
    settings = Settings(
        database_url="postgresql+psycopg://nobody@127.0.0.1:1/none",
        secret_key=secrets.token_urlsafe(48),
        insecure_http=True,
        session_cookie_secure=False,
    )
    app = create_app(settings)
    with TestClient(app, base_url="http://testserver", follow_redirects=False) as client:
        revoke = client.post(
            "/n/alpha/oauth/revoke", data={"token": "x", "client_id": "y", "client_secret": "z"}
        )
        people = client.get("/n/alpha/api/v1/people", headers={"Authorization": "Bearer x"})
        page = client.get("/n/alpha/login")

    assert revoke.status_code == 503
    assert revoke.json()["error"] == "temporarily_unavailable"
    assert revoke.headers["retry-after"] == "5"
    assert people.status_code == 503
    assert people.json()["code"] == "service_unavailable"
    assert page.status_code == 503


def test_long_state_echoed_exactly(client: TestClient, factory: Factory) -> None:
    nation, user, app = _setup(factory)
    state = "+/=%&?#é" * 256

    query = authorize(client, nation.prefix, user.email, _params(app, state=state))

    assert query["state"] == state
