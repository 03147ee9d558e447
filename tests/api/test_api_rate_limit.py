"""The API's per-token rate limit and its headers."""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator

import pytest
from starlette.testclient import TestClient

from citizenry.app import create_app
from citizenry.settings import Settings
from tests.factory import Factory, NationInfo

HEADERS = (
    "x-ratelimit-limit",
    "x-ratelimit-remaining",
    "x-ratelimit-reset",
    "ratelimit-limit",
    "ratelimit-remaining",
    "ratelimit-reset",
)


@pytest.fixture
def limited_client(database_url: str) -> Iterator[TestClient]:
    settings = Settings(
        database_url=database_url,
        secret_key=secrets.token_urlsafe(48),
        insecure_http=True,
        session_cookie_secure=False,
        api_rate_limit_per_token="3/minute",
    )
    with TestClient(create_app(settings), follow_redirects=False) as client:
        yield client


def _token(factory: Factory) -> tuple[NationInfo, str]:
    nation = factory.nation()
    return nation, factory.test_token(nation, factory.user(nation))


def test_headers_on_every_response(limited_client: TestClient, factory: Factory) -> None:
    nation, token = _token(factory)

    response = limited_client.get(
        f"{nation.prefix}/api/v1/people", headers={"Authorization": f"Bearer {token}"}
    )

    assert response.status_code == 200
    for name in HEADERS:
        assert response.headers[name].isdigit(), name
    assert response.headers["x-ratelimit-limit"] == "3"
    assert response.headers["x-ratelimit-remaining"] == "2"
    assert int(response.headers["x-ratelimit-reset"]) > time.time()
    assert int(response.headers["ratelimit-reset"]) <= 60


def test_fourth_request_is_429(limited_client: TestClient, factory: Factory) -> None:
    nation, token = _token(factory)
    url = f"{nation.prefix}/api/v1/people"

    statuses = [
        limited_client.get(url, headers={"Authorization": f"Bearer {token}"}).status_code for _ in range(3)
    ]
    limited = limited_client.get(url, params={"access_token": token})

    assert statuses == [200, 200, 200]
    assert limited.status_code == 429
    assert limited.json() == {"code": "rate_limited", "message": limited.json()["message"]}
    assert 1 <= int(limited.headers["retry-after"]) <= 60
    assert limited.headers["x-ratelimit-remaining"] == "0"


def test_other_tokens_unaffected(limited_client: TestClient, factory: Factory) -> None:
    nation, token = _token(factory)
    _, other = _token(factory)
    url = f"{nation.prefix}/api/v1/people"
    for _ in range(4):
        limited_client.get(url, headers={"Authorization": f"Bearer {token}"})

    response = limited_client.get(
        f"{nation.prefix}/api/v1/people", headers={"Authorization": f"Bearer {other}"}
    )

    assert response.status_code == 401  # the other nation's token: counted apart, then refused
    assert response.headers["x-ratelimit-remaining"] == "2"


def test_panel_pages_not_limited(limited_client: TestClient, factory: Factory) -> None:
    nation, _ = _token(factory)

    response = limited_client.get(f"{nation.prefix}/login")

    assert "x-ratelimit-limit" not in response.headers
