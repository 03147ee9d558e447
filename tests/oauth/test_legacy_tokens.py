"""Legacy tokens: never-expiring access tokens without a refresh token, and their one-time migration.

An app with ``apps.legacy_tokens`` gets tokens as NationBuilder's older apps did. It moves to
expiring tokens by sending its legacy access token once as a refresh token.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import update
from sqlalchemy.orm import Session
from starlette.testclient import TestClient

from citizenry.settings import Settings
from citizenry.store.models import App, Authorization
from citizenry.store.types import utcnow
from tests.factory import CALLBACK, AppInfo, Factory, NationInfo, UserInfo
from tests.flows import authorize, exchange_params

HEX64 = re.compile(r"^[0-9a-f]{64}$")
LEGACY_FIELDS = {"access_token", "token_type", "scope", "created_at"}
EXPIRING_FIELDS = LEGACY_FIELDS | {"expires_in", "refresh_token"}


@dataclass(frozen=True)
class Setup:
    nation: NationInfo
    user: UserInfo
    app: AppInfo


def _token_url(nation: NationInfo) -> str:
    return f"{nation.prefix}/oauth/token"


def _make_legacy(factory: Factory, app: AppInfo) -> None:
    def update(session: Session) -> None:
        row = session.get(App, app.id)
        assert row is not None
        row.legacy_tokens = True

    factory.database.transaction(update)


def _exchange(client: TestClient, setup: Setup) -> dict[str, Any]:
    params = {"response_type": "code", "client_id": setup.app.client_id, "redirect_uri": CALLBACK}
    code = authorize(client, setup.nation.prefix, setup.user.email, params)["code"]
    response = client.post(_token_url(setup.nation), data=exchange_params(setup.app, code))
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _refresh(client: TestClient, nation: NationInfo, app: AppInfo, refresh_token: object, **extra: str):  # type: ignore[no-untyped-def]
    """Send ``refresh_token`` (a refresh token, or a legacy access token to migrate) to the token endpoint."""
    return client.post(
        _token_url(nation),
        data={
            "grant_type": "refresh_token",
            "refresh_token": str(refresh_token),
            "client_id": app.client_id,
            "client_secret": app.client_secret,
            **extra,
        },
    )


def _api_status(client: TestClient, nation: NationInfo, token: object) -> int:
    response = client.get(f"{nation.prefix}/api/v1/people", headers={"Authorization": f"Bearer {token}"})
    return response.status_code


@pytest.fixture
def legacy(factory: Factory) -> Setup:
    nation = factory.nation()
    app = factory.app(nation)
    _make_legacy(factory, app)
    return Setup(nation=nation, user=factory.user(nation), app=app)


def _assert_invalid_grant(response) -> None:  # type: ignore[no-untyped-def]
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"
    assert "access_token" not in response.json()


def test_legacy_exchange_fields(client: TestClient, legacy: Setup) -> None:
    body = _exchange(client, legacy)

    assert set(body) == LEGACY_FIELDS
    assert HEX64.match(str(body["access_token"]))
    assert body["token_type"] == "bearer"
    assert body["scope"] == ""
    assert isinstance(body["created_at"], int)
    assert abs(body["created_at"] - time.time()) < 60
    assert _api_status(client, legacy.nation, body["access_token"]) == 200


def test_legacy_token_migrates_once(client: TestClient, legacy: Setup) -> None:
    legacy_token = _exchange(client, legacy)["access_token"]

    migrated = _refresh(client, legacy.nation, legacy.app, legacy_token)

    assert migrated.status_code == 200, migrated.text
    body = migrated.json()
    assert set(body) == EXPIRING_FIELDS
    assert body["token_type"] == "bearer"
    assert body["scope"] == ""
    assert body["expires_in"] == 86400
    assert HEX64.match(str(body["refresh_token"]))
    assert body["access_token"] != legacy_token
    assert _api_status(client, legacy.nation, body["access_token"]) == 200
    assert _api_status(client, legacy.nation, legacy_token) == 401

    again = _refresh(client, legacy.nation, legacy.app, legacy_token)

    _assert_invalid_grant(again)


def test_migrated_pair_rotates(client: TestClient, legacy: Setup) -> None:
    legacy_token = _exchange(client, legacy)["access_token"]
    migrated = _refresh(client, legacy.nation, legacy.app, legacy_token).json()

    refreshed = _refresh(client, legacy.nation, legacy.app, migrated["refresh_token"])

    assert refreshed.status_code == 200, refreshed.text
    assert set(refreshed.json()) == EXPIRING_FIELDS
    assert _api_status(client, legacy.nation, refreshed.json()["access_token"]) == 200
    assert _api_status(client, legacy.nation, migrated["access_token"]) == 401


def test_other_app_cannot_migrate(client: TestClient, factory: Factory, legacy: Setup) -> None:
    other_app = factory.app(legacy.nation)
    legacy_token = _exchange(client, legacy)["access_token"]

    stolen = _refresh(client, legacy.nation, other_app, legacy_token)

    _assert_invalid_grant(stolen)
    assert _api_status(client, legacy.nation, legacy_token) == 200
    owner = _refresh(client, legacy.nation, legacy.app, legacy_token)
    assert owner.status_code == 200, owner.text


def test_other_nation_cannot_migrate(client: TestClient, factory: Factory, legacy: Setup) -> None:
    """The app may be authorized on any nation, but a token is migrated only where it was issued."""
    other_nation = factory.nation()
    legacy_token = _exchange(client, legacy)["access_token"]

    elsewhere = _refresh(client, other_nation, legacy.app, legacy_token)

    _assert_invalid_grant(elsewhere)
    assert _api_status(client, legacy.nation, legacy_token) == 200
    owner = _refresh(client, legacy.nation, legacy.app, legacy_token)
    assert owner.status_code == 200, owner.text


def test_expiring_access_token_not_migratable(client: TestClient, factory: Factory) -> None:
    """Only a never-expiring access token counts as a refresh token, and only once."""
    nation = factory.nation()
    setup = Setup(nation=nation, user=factory.user(nation), app=factory.app(nation))
    access_token = _exchange(client, setup)["access_token"]

    response = _refresh(client, nation, setup.app, access_token)

    _assert_invalid_grant(response)
    assert _api_status(client, nation, access_token) == 200


def test_rejected_scope_keeps_legacy_token(client: TestClient, legacy: Setup) -> None:
    legacy_token = _exchange(client, legacy)["access_token"]

    wider = _refresh(client, legacy.nation, legacy.app, legacy_token, scope="people:write")

    assert wider.status_code == 400
    assert wider.json()["error"] == "invalid_scope"
    assert _api_status(client, legacy.nation, legacy_token) == 200
    retry = _refresh(client, legacy.nation, legacy.app, legacy_token)
    assert retry.status_code == 200, retry.text


def test_rejected_old_migration_keeps_token(
    client: TestClient, factory: Factory, settings: Settings, legacy: Setup
) -> None:
    """A legacy token never expires, so it keeps working when its migration is rejected.

    The migration of an authorization older than the refresh token maximum age is rejected.
    """
    legacy_token = _exchange(client, legacy)["access_token"]
    too_old = timedelta(seconds=settings.refresh_token_max_age + 86400)

    def backdate(session: Session) -> None:
        session.execute(
            update(Authorization)
            .where(Authorization.app_id == legacy.app.id)
            .values(created_at=utcnow() - too_old)
        )

    factory.database.transaction(backdate)
    assert _api_status(client, legacy.nation, legacy_token) == 200

    response = _refresh(client, legacy.nation, legacy.app, legacy_token)

    _assert_invalid_grant(response)
    assert _api_status(client, legacy.nation, legacy_token) == 200
