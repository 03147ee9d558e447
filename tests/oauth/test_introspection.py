"""Token introspection (RFC 7662): an app learns the state of its own tokens on one nation."""

from __future__ import annotations

import base64
from datetime import timedelta
from typing import Any

from sqlalchemy import update
from starlette.testclient import TestClient

from citizenry.oauth.apps import register_app
from citizenry.oauth.digests import digest
from citizenry.store.db import Database
from citizenry.store.models import AccessToken, Nation
from citizenry.store.types import utcnow
from tests.factory import CALLBACK, AppInfo, Factory, NationInfo, UserInfo
from tests.flows import authorize, exchange_params

INACTIVE = {"active": False}


def _setup(factory: Factory) -> tuple[NationInfo, UserInfo, AppInfo]:
    nation = factory.nation()
    return nation, factory.user(nation), factory.app(nation)


def _code(client: TestClient, nation: NationInfo, user: UserInfo, app: AppInfo) -> str:
    params = {"response_type": "code", "client_id": app.client_id, "redirect_uri": CALLBACK, "state": "s"}
    return authorize(client, nation.prefix, user.email, params)["code"]


def _exchange(client: TestClient, nation: NationInfo, app: AppInfo, code: str) -> Any:
    return client.post(f"{nation.prefix}/oauth/token", data=exchange_params(app, code))


def _tokens(client: TestClient, nation: NationInfo, user: UserInfo, app: AppInfo) -> dict[str, Any]:
    response = _exchange(client, nation, app, _code(client, nation, user, app))
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _refresh(client: TestClient, nation: NationInfo, app: AppInfo, refresh_token: str) -> Any:
    data = {
        "grant_type": "refresh_token",
        "refresh_token": refresh_token,
        "client_id": app.client_id,
        "client_secret": app.client_secret,
    }
    return client.post(f"{nation.prefix}/oauth/token", data=data)


def _introspect_response(client: TestClient, nation: NationInfo, app: AppInfo, token: str) -> Any:
    data = {"token": token, "client_id": app.client_id, "client_secret": app.client_secret}
    return client.post(f"{nation.prefix}/oauth/introspect", data=data)


def _introspect(client: TestClient, nation: NationInfo, app: AppInfo, token: str) -> dict[str, Any]:
    response = _introspect_response(client, nation, app, token)
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    body: dict[str, Any] = response.json()
    return body


def test_live_token_is_active(client: TestClient, factory: Factory) -> None:
    nation, user, app = _setup(factory)
    tokens = _tokens(client, nation, user, app)

    body = _introspect(client, nation, app, tokens["access_token"])

    assert set(body) == {"active", "scope", "client_id", "token_type", "exp", "iat", "sub", "iss"}
    assert isinstance(body["iat"], int)
    assert isinstance(body["exp"], int)
    assert abs(body["iat"] - tokens["created_at"]) <= 1
    assert body["exp"] - body["iat"] == tokens["expires_in"]
    assert body == {
        "active": True,
        "scope": "",
        "client_id": app.client_id,
        "token_type": "bearer",
        "exp": body["exp"],
        "iat": body["iat"],
        "sub": str(user.id),
        "iss": f"http://testserver{nation.prefix}",
    }


def test_introspect_with_http_basic(client: TestClient, factory: Factory) -> None:
    nation, user, app = _setup(factory)
    tokens = _tokens(client, nation, user, app)
    credentials = base64.b64encode(f"{app.client_id}:{app.client_secret}".encode()).decode()

    response = client.post(
        f"{nation.prefix}/oauth/introspect",
        data={"token": tokens["access_token"]},
        headers={"Authorization": f"Basic {credentials}"},
    )

    assert response.status_code == 200
    assert response.json()["active"] is True
    assert response.json()["client_id"] == app.client_id


def test_no_client_auth_rejected(client: TestClient, factory: Factory) -> None:
    nation, user, app = _setup(factory)
    tokens = _tokens(client, nation, user, app)
    attempts = {
        "no client": {"token": tokens["access_token"]},
        "no secret": {"token": tokens["access_token"], "client_id": app.client_id},
        "wrong secret": {
            "token": tokens["access_token"],
            "client_id": app.client_id,
            "client_secret": "0" * 64,
        },
    }

    for case, data in attempts.items():
        response = client.post(f"{nation.prefix}/oauth/introspect", data=data)
        assert response.status_code == 401, case
        assert response.json()["error"] == "invalid_client", case
        assert "active" not in response.json(), case
        assert response.headers["cache-control"] == "no-store", case


def test_public_app_cannot_introspect(client: TestClient, factory: Factory, database: Database) -> None:
    nation, user, app = _setup(factory)
    tokens = _tokens(client, nation, user, app)

    def create(session: Any) -> str:
        row, _ = register_app(
            session,
            nation=session.get(Nation, nation.id),
            name="Public",
            redirect_uris=[CALLBACK],
            public=True,
        )
        return row.client_id

    public_client_id = database.transaction(create)

    response = client.post(
        f"{nation.prefix}/oauth/introspect",
        data={"token": tokens["access_token"], "client_id": public_client_id},
    )

    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"


def test_junk_token_inactive(client: TestClient, factory: Factory) -> None:
    nation, _, app = _setup(factory)

    for token in ("junk", "0" * 64, "x" * 600):
        assert _introspect(client, nation, app, token) == INACTIVE, token


def test_expired_token_inactive(client: TestClient, factory: Factory, database: Database) -> None:
    nation, user, app = _setup(factory)
    tokens = _tokens(client, nation, user, app)

    def expire(session: Any) -> None:
        session.execute(
            update(AccessToken)
            .where(AccessToken.token_digest == digest(tokens["access_token"]))
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )

    database.transaction(expire)

    assert _introspect(client, nation, app, tokens["access_token"]) == INACTIVE


def test_revoked_token_inactive(client: TestClient, factory: Factory) -> None:
    nation, user, app = _setup(factory)
    tokens = _tokens(client, nation, user, app)
    revoke = client.post(
        f"{nation.prefix}/oauth/revoke",
        data={
            "token": tokens["access_token"],
            "client_id": app.client_id,
            "client_secret": app.client_secret,
        },
    )
    assert revoke.status_code == 200

    assert _introspect(client, nation, app, tokens["access_token"]) == INACTIVE


def test_other_app_token_inactive(client: TestClient, factory: Factory) -> None:
    nation, user, app = _setup(factory)
    other = factory.app(nation)
    tokens = _tokens(client, nation, user, app)

    assert _introspect(client, nation, other, tokens["access_token"]) == INACTIVE
    assert _introspect(client, nation, other, tokens["refresh_token"]) == INACTIVE
    assert _introspect(client, nation, app, tokens["access_token"])["active"] is True


def test_other_nation_token_inactive(client: TestClient, factory: Factory) -> None:
    nation, user, app = _setup(factory)
    other_nation = factory.nation()
    other_nation_app = factory.app(other_nation)
    tokens = _tokens(client, nation, user, app)

    # Neither the same app on another nation's endpoint nor that nation's own app can introspect the token.
    assert _introspect(client, other_nation, app, tokens["access_token"]) == INACTIVE
    assert _introspect(client, other_nation, other_nation_app, tokens["access_token"]) == INACTIVE
    assert _introspect(client, nation, app, tokens["access_token"])["active"] is True


def test_rotated_tokens_inactive(client: TestClient, factory: Factory) -> None:
    nation, user, app = _setup(factory)
    first = _tokens(client, nation, user, app)
    second = _refresh(client, nation, app, first["refresh_token"])
    assert second.status_code == 200

    assert _introspect(client, nation, app, first["access_token"]) == INACTIVE
    assert _introspect(client, nation, app, first["refresh_token"]) == INACTIVE
    assert _introspect(client, nation, app, second.json()["access_token"])["active"] is True


def test_reused_code_deactivates_tokens(client: TestClient, factory: Factory) -> None:
    nation, user, app = _setup(factory)
    code = _code(client, nation, user, app)
    first = _exchange(client, nation, app, code)
    assert first.status_code == 200
    access_token = first.json()["access_token"]
    assert _introspect(client, nation, app, access_token)["active"] is True

    second = _exchange(client, nation, app, code)

    assert second.status_code == 400
    assert second.json()["error"] == "invalid_grant"
    assert _introspect(client, nation, app, access_token) == INACTIVE
    assert _introspect(client, nation, app, first.json()["refresh_token"]) == INACTIVE


def test_refresh_reuse_deactivates_family(client: TestClient, factory: Factory) -> None:
    nation, user, app = _setup(factory)
    first = _tokens(client, nation, user, app)
    second = _refresh(client, nation, app, first["refresh_token"])
    assert second.status_code == 200
    third = _refresh(client, nation, app, second.json()["refresh_token"])
    assert third.status_code == 200
    assert _introspect(client, nation, app, third.json()["access_token"])["active"] is True

    replay = _refresh(client, nation, app, first["refresh_token"])

    assert replay.status_code == 400
    assert replay.json()["error"] == "invalid_grant"
    assert _introspect(client, nation, app, first["access_token"]) == INACTIVE
    assert _introspect(client, nation, app, second.json()["access_token"]) == INACTIVE
    assert _introspect(client, nation, app, third.json()["access_token"]) == INACTIVE
    assert _introspect(client, nation, app, third.json()["refresh_token"]) == INACTIVE
    newest = _refresh(client, nation, app, third.json()["refresh_token"])
    assert newest.status_code == 400
    assert newest.json()["error"] == "invalid_grant"
