"""Token revocation (RFC 7009): an app revokes its own tokens, and nothing else."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from starlette.testclient import TestClient

from citizenry.oauth.apps import register_app
from citizenry.oauth.digests import digest
from citizenry.store.db import Database
from citizenry.store.models import AccessToken, AuditEvent, Nation
from tests.factory import CALLBACK, AppInfo, Factory, NationInfo, UserInfo
from tests.flows import authorize, exchange_params


def _setup(factory: Factory) -> tuple[NationInfo, UserInfo, AppInfo]:
    nation = factory.nation()
    return nation, factory.user(nation), factory.app(nation)


def _tokens(client: TestClient, nation: NationInfo, user: UserInfo, app: AppInfo) -> dict[str, Any]:
    """Run the authorization code flow for ``app`` and return the token response body."""
    params = {"response_type": "code", "client_id": app.client_id, "redirect_uri": CALLBACK, "state": "s"}
    code = authorize(client, nation.prefix, user.email, params)["code"]
    response = client.post(f"{nation.prefix}/oauth/token", data=exchange_params(app, code))
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _revoke(client: TestClient, nation: NationInfo, app: AppInfo, token: str, **extra: str) -> Any:
    data = {"token": token, "client_id": app.client_id, "client_secret": app.client_secret, **extra}
    return client.post(f"{nation.prefix}/oauth/revoke", data=data)


def _refresh(client: TestClient, nation: NationInfo, app: AppInfo, refresh_token: str) -> Any:
    data = {
        "grant_type": "refresh_token",
        "refresh_token": refresh_token,
        "client_id": app.client_id,
        "client_secret": app.client_secret,
    }
    return client.post(f"{nation.prefix}/oauth/token", data=data)


def _api_status(client: TestClient, nation: NationInfo, access_token: str) -> int:
    response = client.get(
        f"{nation.prefix}/api/v1/people", headers={"Authorization": f"Bearer {access_token}"}
    )
    return response.status_code


def _introspect(client: TestClient, nation: NationInfo, app: AppInfo, token: str) -> dict[str, Any]:
    data = {"token": token, "client_id": app.client_id, "client_secret": app.client_secret}
    response = client.post(f"{nation.prefix}/oauth/introspect", data=data)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _public_app(database: Database, nation: NationInfo) -> str:
    """Register a public app (no client secret) on ``nation`` and return its client_id."""

    def create(session: Any) -> str:
        row, secret = register_app(
            session,
            nation=session.get(Nation, nation.id),
            name="Public App",
            redirect_uris=[CALLBACK],
            public=True,
        )
        assert secret is None
        return row.client_id

    return database.transaction(create)


def _revocation_events(database: Database, nation: NationInfo) -> list[AuditEvent]:
    def read(session: Any) -> list[AuditEvent]:
        query = (
            select(AuditEvent)
            .where(AuditEvent.nation_id == nation.id, AuditEvent.kind == "token.revoked")
            .order_by(AuditEvent.id)
        )
        return list(session.scalars(query))

    return database.transaction(read)


def _authorization_id(database: Database, access_token: str) -> int:
    def read(session: Any) -> int:
        row = session.scalar(select(AccessToken).where(AccessToken.token_digest == digest(access_token)))
        assert row is not None
        return int(row.authorization_id)

    return database.transaction(read)


def test_revoke_access_token(client: TestClient, factory: Factory) -> None:
    nation, user, app = _setup(factory)
    tokens = _tokens(client, nation, user, app)
    assert _api_status(client, nation, tokens["access_token"]) == 200

    response = _revoke(client, nation, app, tokens["access_token"])

    assert response.status_code == 200
    assert response.json() == {}
    assert response.headers["cache-control"] == "no-store"
    assert _api_status(client, nation, tokens["access_token"]) == 401
    assert _introspect(client, nation, app, tokens["access_token"]) == {"active": False}


def test_other_app_cannot_revoke(client: TestClient, factory: Factory) -> None:
    nation, user, app = _setup(factory)
    other = factory.app(nation)
    tokens = _tokens(client, nation, user, app)

    for token in (tokens["access_token"], tokens["refresh_token"]):
        response = _revoke(client, nation, other, token)
        assert response.status_code == 200
        assert response.json() == {}

    assert _api_status(client, nation, tokens["access_token"]) == 200
    assert _introspect(client, nation, app, tokens["access_token"])["active"] is True
    assert _refresh(client, nation, app, tokens["refresh_token"]).status_code == 200


def test_foreign_revoke_not_audited(client: TestClient, factory: Factory, database: Database) -> None:
    nation, user, app = _setup(factory)
    other = factory.app(nation)
    tokens = _tokens(client, nation, user, app)

    response = _revoke(client, nation, other, tokens["access_token"])

    assert response.status_code == 200
    assert _revocation_events(database, nation) == []


def test_public_app_cannot_revoke(client: TestClient, factory: Factory, database: Database) -> None:
    nation, user, app = _setup(factory)
    public_client_id = _public_app(database, nation)
    tokens = _tokens(client, nation, user, app)

    response = client.post(
        f"{nation.prefix}/oauth/revoke",
        data={"token": tokens["access_token"], "client_id": public_client_id},
    )

    assert response.status_code == 200
    assert response.json() == {}
    assert _api_status(client, nation, tokens["access_token"]) == 200


def test_revoke_unknown_token(client: TestClient, factory: Factory) -> None:
    nation, _, app = _setup(factory)

    for token in ("0" * 64, "not-a-token", "x" * 600):
        response = _revoke(client, nation, app, token)
        assert response.status_code == 200, token
        assert response.json() == {}, token


def test_revoke_token_of_other_nation(client: TestClient, factory: Factory) -> None:
    nation, user, app = _setup(factory)
    other_nation = factory.nation()
    tokens = _tokens(client, nation, user, app)

    response = _revoke(client, other_nation, app, tokens["access_token"])

    assert response.status_code == 200
    assert response.json() == {}
    assert _api_status(client, nation, tokens["access_token"]) == 200


def test_revoke_refresh_kills_access(client: TestClient, factory: Factory) -> None:
    nation, user, app = _setup(factory)
    tokens = _tokens(client, nation, user, app)

    response = _revoke(client, nation, app, tokens["refresh_token"])

    assert response.status_code == 200
    assert response.json() == {}
    assert _api_status(client, nation, tokens["access_token"]) == 401
    assert _introspect(client, nation, app, tokens["access_token"]) == {"active": False}
    assert _introspect(client, nation, app, tokens["refresh_token"]) == {"active": False}


def test_revoke_rotated_family(client: TestClient, factory: Factory) -> None:
    nation, user, app = _setup(factory)
    first = _tokens(client, nation, user, app)
    second = _refresh(client, nation, app, first["refresh_token"]).json()

    response = _revoke(client, nation, app, second["refresh_token"])

    assert response.status_code == 200
    assert _api_status(client, nation, second["access_token"]) == 401
    assert _introspect(client, nation, app, second["access_token"]) == {"active": False}


def test_wrong_hint_still_revokes(client: TestClient, factory: Factory) -> None:
    nation, user, app = _setup(factory)
    tokens = _tokens(client, nation, user, app)

    response = _revoke(client, nation, app, tokens["access_token"], token_type_hint="refresh_token")

    assert response.status_code == 200
    assert response.json() == {}
    assert _api_status(client, nation, tokens["access_token"]) == 401


def test_wrong_hint_revokes_refresh(client: TestClient, factory: Factory) -> None:
    nation, user, app = _setup(factory)
    tokens = _tokens(client, nation, user, app)

    response = _revoke(client, nation, app, tokens["refresh_token"], token_type_hint="access_token")

    assert response.status_code == 200
    refresh = _refresh(client, nation, app, tokens["refresh_token"])
    assert refresh.status_code == 400
    assert refresh.json()["error"] == "invalid_grant"


def test_unsupported_hint_leaves_token(client: TestClient, factory: Factory) -> None:
    nation, user, app = _setup(factory)
    tokens = _tokens(client, nation, user, app)

    response = _revoke(client, nation, app, tokens["access_token"], token_type_hint="id_token")

    assert response.json()["error"] == "unsupported_token_type"
    assert response.headers["cache-control"] == "no-store"
    assert _api_status(client, nation, tokens["access_token"]) == 200


def test_unsupported_hint_is_400(client: TestClient, factory: Factory) -> None:
    nation, user, app = _setup(factory)
    tokens = _tokens(client, nation, user, app)

    response = _revoke(client, nation, app, tokens["access_token"], token_type_hint="id_token")

    assert response.status_code == 400


def test_revoked_refresh_cannot_refresh(client: TestClient, factory: Factory) -> None:
    nation, user, app = _setup(factory)
    first = _tokens(client, nation, user, app)
    second = _refresh(client, nation, app, first["refresh_token"])
    assert second.status_code == 200
    assert _revoke(client, nation, app, second.json()["refresh_token"]).status_code == 200

    response = _refresh(client, nation, app, second.json()["refresh_token"])

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"
    assert response.headers["cache-control"] == "no-store"


def test_unauthenticated_revoke_rejected(client: TestClient, factory: Factory) -> None:
    nation, user, app = _setup(factory)
    tokens = _tokens(client, nation, user, app)
    attempts = {
        "no client": {"token": tokens["access_token"]},
        "no secret": {"token": tokens["access_token"], "client_id": app.client_id},
        "empty secret": {"token": tokens["access_token"], "client_id": app.client_id, "client_secret": ""},
        "wrong secret": {
            "token": tokens["access_token"],
            "client_id": app.client_id,
            "client_secret": "0" * 64,
        },
        "unknown client": {"token": tokens["access_token"], "client_id": "f" * 64, "client_secret": "0" * 64},
    }

    for case, data in attempts.items():
        response = client.post(f"{nation.prefix}/oauth/revoke", data=data)
        assert response.status_code == 401, case
        assert response.json()["error"] == "invalid_client", case
        assert response.headers["www-authenticate"].startswith("Basic"), case
        assert response.headers["cache-control"] == "no-store", case

    assert _api_status(client, nation, tokens["access_token"]) == 200


def test_revoke_missing_token(client: TestClient, factory: Factory) -> None:
    nation, _, app = _setup(factory)

    response = client.post(
        f"{nation.prefix}/oauth/revoke",
        data={"client_id": app.client_id, "client_secret": app.client_secret},
    )

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"


def test_revoke_is_audited(client: TestClient, factory: Factory, database: Database) -> None:
    nation, user, app = _setup(factory)
    tokens = _tokens(client, nation, user, app)
    authorization_id = _authorization_id(database, tokens["access_token"])

    assert _revoke(client, nation, app, tokens["access_token"]).status_code == 200
    assert _revoke(client, nation, app, tokens["refresh_token"]).status_code == 200

    events = _revocation_events(database, nation)
    assert len(events) == 2
    assert [event.app_id for event in events] == [app.id, app.id]
    assert [event.actor_user_id for event in events] == [None, None]
    assert events[0].detail == {"authorization_id": authorization_id, "token_type": "access_token"}
    assert events[1].detail == {"authorization_id": authorization_id, "token_type": "refresh_token"}
