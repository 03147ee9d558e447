"""Back-off on 429: the clients wait the ``Retry-After`` delay before each retry, up to a limit."""

from __future__ import annotations

import secrets

import pytest
from fastapi import FastAPI

from citizenry.app import create_app
from citizenry.client import RateLimited
from citizenry.settings import Settings
from tests.client.conftest import Connect, Nation


def _app(database_url: str, *, api_limit: str = "250/10 seconds", oauth_limit: str = "120/minute") -> FastAPI:
    settings = Settings(
        database_url=database_url,
        secret_key=secrets.token_urlsafe(48),
        insecure_http=True,
        session_cookie_secure=False,
        api_rate_limit_per_token=api_limit,
        oauth_rate_limit_per_app=oauth_limit,
    )
    return create_app(settings)


@pytest.fixture(scope="module")
def three_per_minute(database_url: str) -> FastAPI:
    return _app(database_url, api_limit="3/minute")


@pytest.fixture(scope="module")
def two_per_second(database_url: str) -> FastAPI:
    return _app(database_url, api_limit="2/second")


@pytest.fixture(scope="module")
def one_revocation_per_minute(database_url: str) -> FastAPI:
    return _app(database_url, oauth_limit="1/minute")


def test_retries_honour_retry_after(connect: Connect, nation: Nation, three_per_minute: FastAPI) -> None:
    delays: list[float] = []
    api = connect(nation.base_url, asgi=three_per_minute, access_token=nation.api_token(), sleeps=delays)
    counts = [api.count_people() for _ in range(3)]

    with pytest.raises(RateLimited) as caught:
        api.count_people()

    error = caught.value
    assert counts == [0, 0, 0]
    assert error.status_code == 429
    assert error.body == {"code": "rate_limited", "message": error.message}
    assert error.retry_after is not None
    assert 1 <= error.retry_after <= 60
    # Three retries, each after the delay its 429 asked for: whole seconds, about a minute at first.
    assert len(delays) == 3
    assert all(delay == int(delay) for delay in delays)
    assert max(delays) - min(delays) <= 1
    assert abs(delays[-1] - error.retry_after) <= 1
    assert delays[0] >= 50


def test_long_retry_after_raises_at_once(connect: Connect, nation: Nation, three_per_minute: FastAPI) -> None:
    delays: list[float] = []
    api = connect(
        nation.base_url,
        asgi=three_per_minute,
        access_token=nation.api_token(),
        sleeps=delays,
        max_retry_delay=5,
    )
    for _ in range(3):
        api.count_people()

    with pytest.raises(RateLimited) as caught:
        api.count_people()

    assert delays == []
    assert caught.value.retry_after is not None
    assert caught.value.retry_after > 5


def test_succeeds_after_waiting(connect: Connect, nation: Nation, two_per_second: FastAPI) -> None:
    delays: list[float] = []
    api = connect(
        nation.base_url,
        asgi=two_per_second,
        access_token=nation.api_token(),
        sleeps=delays,
        really_sleep=True,
    )

    counts = [api.count_people() for _ in range(3)]

    assert counts == [0, 0, 0]
    assert delays == [1.0]


def test_oauth_endpoint_rate_limited(
    connect: Connect, nation: Nation, one_revocation_per_minute: FastAPI
) -> None:
    api = connect(nation.base_url, asgi=one_revocation_per_minute, app=nation.credentials, max_retries=0)
    api.revoke("f" * 64)

    with pytest.raises(RateLimited) as caught:
        api.revoke("f" * 64)

    error = caught.value
    assert error.status_code == 429
    assert error.body == {"error": "rate_limited", "error_description": error.message}
    assert error.retry_after is not None
    assert 1 <= error.retry_after <= 60
