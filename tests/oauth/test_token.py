"""The token endpoint: the quick start's code exchange in every encoding real clients use."""

from __future__ import annotations

import re
import time

from starlette.testclient import TestClient

from tests.factory import CALLBACK, AppInfo, Factory, NationInfo, UserInfo
from tests.flows import authorize

HEX64 = re.compile(r"^[0-9a-f]{64}$")


def _code(client: TestClient, nation: NationInfo, user: UserInfo, app: AppInfo, **extra: str) -> str:
    params = {
        "response_type": "code",
        "client_id": app.client_id,
        "redirect_uri": CALLBACK,
        "state": "s1",
        **extra,
    }
    return authorize(client, nation.prefix, user.email, params)["code"]


def _setup(factory: Factory) -> tuple[NationInfo, UserInfo, AppInfo]:
    nation = factory.nation()
    return nation, factory.user(nation), factory.app(nation)


def _assert_token_body(body: dict[str, object]) -> None:
    assert set(body) == {"access_token", "token_type", "scope", "created_at", "expires_in", "refresh_token"}
    assert HEX64.match(str(body["access_token"]))
    assert HEX64.match(str(body["refresh_token"]))
    assert body["token_type"] == "bearer"
    assert body["scope"] == ""
    assert body["expires_in"] == 86400
    assert isinstance(body["created_at"], int)
    assert abs(body["created_at"] - time.time()) < 60


def test_exchange_json_body_as_in_quick_start(client: TestClient, factory: Factory) -> None:
    nation, user, app = _setup(factory)
    code = _code(client, nation, user, app)

    response = client.post(
        f"{nation.prefix}/oauth/token",
        json={
            "grant_type": "authorization_code",
            "code": code,
            "client_id": app.client_id,
            "client_secret": app.client_secret,
            "redirect_uri": CALLBACK,
        },
        headers={"Accept": "application/json"},
    )

    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["content-type"].startswith("application/json")
    _assert_token_body(response.json())
