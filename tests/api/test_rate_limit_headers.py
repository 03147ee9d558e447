"""Rate limit headers on every kind of API response, the shared budget of a token, and the window."""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Iterator

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

ClientFor = Callable[[str], TestClient]


@pytest.fixture
def client_for(database_url: str) -> Iterator[ClientFor]:
    """Build clients of apps with a given API rate limit rule."""
    with_clients: list[TestClient] = []

    def build(rule: str) -> TestClient:
        settings = Settings(
            database_url=database_url,
            secret_key=secrets.token_urlsafe(48),
            insecure_http=True,
            session_cookie_secure=False,
            api_rate_limit_per_token=rule,
        )
        test_client = TestClient(create_app(settings), follow_redirects=False)
        test_client.__enter__()
        with_clients.append(test_client)
        return test_client

    yield build
    for test_client in with_clients:
        test_client.__exit__(None, None, None)


def _token(factory: Factory) -> tuple[NationInfo, str, list[int]]:
    nation = factory.nation()
    return nation, factory.test_token(nation, factory.user(nation)), factory.people(nation, 1)


def _check_headers(response: object, remaining: int, limit: int = 5) -> None:
    headers = response.headers  # type: ignore[attr-defined]
    for name in HEADERS:
        assert headers[name].isdigit(), name
    assert headers["x-ratelimit-limit"] == str(limit)
    assert headers["ratelimit-limit"] == str(limit)
    assert headers["x-ratelimit-remaining"] == str(remaining)
    assert headers["ratelimit-remaining"] == str(remaining)
    assert int(headers["x-ratelimit-reset"]) >= int(time.time())
    assert int(headers["ratelimit-reset"]) <= 60


def test_headers_on_success(client_for: ClientFor, factory: Factory) -> None:
    client = client_for("5/minute")
    nation, token, ids = _token(factory)

    response = client.get(
        f"{nation.prefix}/api/v1/people/{ids[0]}", headers={"Authorization": f"Bearer {token}"}
    )

    assert response.status_code == 200
    _check_headers(response, 4)


def test_headers_on_401(client_for: ClientFor, factory: Factory) -> None:
    client = client_for("5/minute")
    nation, _, _ = _token(factory)

    response = client.get(f"{nation.prefix}/api/v1/people", headers={"Authorization": "Bearer unknown-token"})

    assert response.status_code == 401
    assert response.json()["code"] == "unauthorized"
    _check_headers(response, 4)


def test_headers_on_404(client_for: ClientFor, factory: Factory) -> None:
    client = client_for("5/minute")
    nation, token, _ = _token(factory)
    headers = {"Authorization": f"Bearer {token}"}

    person = client.get(f"{nation.prefix}/api/v1/people/0", headers=headers)
    tag = client.get(f"{nation.prefix}/api/v1/tags/nope/people", headers=headers)

    assert person.status_code == 404
    assert person.json() == {"code": "not_found", "message": "Record not found"}
    _check_headers(person, 4)
    assert tag.status_code == 404
    _check_headers(tag, 3)


def test_headers_on_400(client_for: ClientFor, factory: Factory) -> None:
    client = client_for("5/minute")
    nation, token, ids = _token(factory)
    headers = {"Authorization": f"Bearer {token}"}

    bad_limit = client.get(f"{nation.prefix}/api/v1/people", params={"limit": "0"}, headers=headers)
    missing = client.put(f"{nation.prefix}/api/v1/people/{ids[0]}/taggings", json={}, headers=headers)

    assert bad_limit.status_code == 400
    assert bad_limit.json()["code"] == "bad_request"
    _check_headers(bad_limit, 4)
    assert missing.status_code == 400
    assert missing.json()["code"] == "missing_parameters"
    _check_headers(missing, 3)


def test_query_and_header_share_budget(client_for: ClientFor, factory: Factory) -> None:
    client = client_for("5/minute")
    nation, token, _ = _token(factory)
    url = f"{nation.prefix}/api/v1/people"

    answers = [
        client.get(url, headers={"Authorization": f"Bearer {token}"}),
        client.get(url, params={"access_token": token}),
        client.get(url, headers={"authorization": f"bearer {token}"}),
        client.get(url, params={"access_token": token}),
        client.get(url, headers={"Authorization": f"Bearer {token}"}),
        client.get(url, params={"access_token": token}),
    ]

    assert [a.status_code for a in answers] == [200, 200, 200, 200, 200, 429]
    assert [a.headers["x-ratelimit-remaining"] for a in answers] == ["4", "3", "2", "1", "0", "0"]
    assert answers[-1].json()["code"] == "rate_limited"
    assert 1 <= int(answers[-1].headers["retry-after"]) <= 60


def test_429_on_header_after_query(client_for: ClientFor, factory: Factory) -> None:
    client = client_for("5/minute")
    nation, token, _ = _token(factory)
    url = f"{nation.prefix}/api/v1/people"
    for _ in range(5):
        client.get(url, params={"access_token": token})

    limited = client.get(url, headers={"Authorization": f"Bearer {token}"})

    assert limited.status_code == 429
    assert limited.json()["code"] == "rate_limited"
    _check_headers(limited, 0)


def test_repeated_access_token_counted(client_for: ClientFor, factory: Factory) -> None:
    client = client_for("5/minute")
    nation, token, _ = _token(factory)
    url = f"{nation.prefix}/api/v1/people"

    statuses = [client.get(f"{url}?access_token=decoy{i}&access_token={token}").status_code for i in range(6)]

    assert statuses == [200, 200, 200, 200, 200, 429]


def test_quota_comes_back(client_for: ClientFor, factory: Factory) -> None:
    client = client_for("2/2 seconds")
    nation, token, _ = _token(factory)
    url = f"{nation.prefix}/api/v1/people"
    headers = {"Authorization": f"Bearer {token}"}

    first = [client.get(url, headers=headers) for _ in range(3)]
    reset = int(first[-1].headers["x-ratelimit-reset"])
    time.sleep(max(0.0, reset - time.time()) + 0.2)
    after = [client.get(url, headers=headers) for _ in range(3)]

    assert [a.status_code for a in first] == [200, 200, 429]
    assert 1 <= int(first[-1].headers["retry-after"]) <= 2
    assert int(first[-1].headers["ratelimit-reset"]) <= 2
    assert [a.status_code for a in after] == [200, 200, 429]
    assert [a.headers["x-ratelimit-remaining"] for a in after] == ["1", "0", "0"]
    assert int(after[0].headers["x-ratelimit-reset"]) > reset - 1
