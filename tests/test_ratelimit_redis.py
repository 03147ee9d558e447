"""Rate limits shared through a real Redis by two app instances, and what happens when Redis fails.

Two ``create_app`` instances with the same Redis URL and key prefix stand in for two worker
processes. Each test has a key prefix of its own, so no test reads another's counts.
"""

from __future__ import annotations

import logging
import os
import secrets
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import redis
from starlette.testclient import TestClient

from citizenry import ratelimit
from citizenry.app import create_app
from citizenry.ratelimit import safe_redis_url
from citizenry.settings import Settings, SettingsError
from tests.factory import AppInfo, Factory, NationInfo, settings_env
from tests.flows import sign_in

#: The limit under test.
LOW = "3/minute"
#: The limit of every other rule, which these tests never reach.
HIGH = "1000/minute"

HEADERS = (
    "x-ratelimit-limit",
    "x-ratelimit-remaining",
    "x-ratelimit-reset",
    "ratelimit-limit",
    "ratelimit-remaining",
    "ratelimit-reset",
)

IN_CI = os.environ.get("CI") == "true"


@contextmanager
def _client(
    database_url: str,
    redis_url: str | None,
    key_prefix: str = "citizenry",
    *,
    secret_key: str = "",
    address: str = "127.0.0.1",
    api_per_token: str = HIGH,
    oauth_per_app: str = HIGH,
    oauth_per_ip: str = HIGH,
    sign_in_per_email: str = HIGH,
) -> Iterator[TestClient]:
    """Run one app instance, as one worker process would, and yield a client sending from ``address``."""
    settings = Settings(
        database_url=database_url,
        secret_key=secret_key or secrets.token_urlsafe(48),
        insecure_http=True,
        session_cookie_secure=False,
        api_rate_limit_per_token=api_per_token,
        oauth_rate_limit_per_app=oauth_per_app,
        oauth_rate_limit_per_ip=oauth_per_ip,
        sign_in_rate_limit_per_ip=HIGH,
        sign_in_rate_limit_per_email=sign_in_per_email,
        redis_url=redis_url,
        redis_key_prefix=key_prefix,
    )
    with TestClient(create_app(settings), follow_redirects=False, client=(address, 50000)) as client:
        yield client


@contextmanager
def _two_workers(database_url: str, redis_url: str, key_prefix: str, **limits: Any) -> Iterator[Any]:
    """Yield clients of two app instances that share one Redis, key prefix and secret key."""
    secret_key = secrets.token_urlsafe(48)
    with (
        _client(database_url, redis_url, key_prefix, secret_key=secret_key, **limits) as first,
        _client(database_url, redis_url, key_prefix, secret_key=secret_key, **limits) as second,
    ):
        yield first, second


def _token(factory: Factory, nation: NationInfo | None = None) -> tuple[NationInfo, str]:
    nation = nation or factory.nation()
    return nation, factory.test_token(nation, factory.user(nation))


def _people(client: TestClient, nation: NationInfo, token: str) -> Any:
    return client.get(f"{nation.prefix}/api/v1/people", headers={"Authorization": f"Bearer {token}"})


def _token_request(client: TestClient, nation: NationInfo, app: AppInfo) -> Any:
    data = {
        "grant_type": "authorization_code",
        "code": "no-such-code",
        "client_id": app.client_id,
        "client_secret": app.client_secret,
    }
    return client.post(f"{nation.prefix}/oauth/token", data=data)


def _assert_oauth_rate_limited(response: Any) -> None:
    assert response.status_code == 429
    assert response.json()["error"] == "rate_limited"
    assert response.headers["retry-after"].isdigit()
    assert 1 <= int(response.headers["retry-after"]) <= 60


def _redis_keys(redis_url: str, key_prefix: str) -> list[str]:
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    try:
        return sorted(client.scan_iter(match=f"{key_prefix}:*"))
    finally:
        client.close()


def _closed_port() -> int:
    """Return a loopback port that nothing listens on (bound, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


# Sharing between two app instances.


def test_api_count_shared_by_workers(
    database_url: str, redis_url: str, redis_key_prefix: str, factory: Factory
) -> None:
    nation, token = _token(factory)

    with _two_workers(database_url, redis_url, redis_key_prefix, api_per_token="5/minute") as (first, second):
        allowed = [_people(client, nation, token) for client in (first, first, first, second, second)]
        over_on_second = _people(second, nation, token)
        over_on_first = _people(first, nation, token)

    assert [response.status_code for response in allowed] == [200] * 5
    assert [response.headers["x-ratelimit-remaining"] for response in allowed] == ["4", "3", "2", "1", "0"]
    assert over_on_second.status_code == 429
    assert over_on_second.json()["code"] == "rate_limited"
    assert over_on_second.headers["retry-after"].isdigit()
    assert 1 <= int(over_on_second.headers["retry-after"]) <= 60
    for name in HEADERS:
        assert over_on_second.headers[name].isdigit(), name
    assert over_on_second.headers["x-ratelimit-limit"] == "5"
    assert over_on_second.headers["ratelimit-limit"] == "5"
    assert over_on_second.headers["x-ratelimit-remaining"] == "0"
    assert over_on_second.headers["ratelimit-remaining"] == "0"
    assert int(over_on_second.headers["x-ratelimit-reset"]) >= int(time.time())
    assert int(over_on_second.headers["ratelimit-reset"]) <= 60
    assert over_on_first.status_code == 429


def test_api_other_token_unaffected(
    database_url: str, redis_url: str, redis_key_prefix: str, factory: Factory
) -> None:
    nation, token = _token(factory)
    _, other = _token(factory, nation)

    with _two_workers(database_url, redis_url, redis_key_prefix, api_per_token=LOW) as (first, second):
        for client in (first, second, first, second):
            _people(client, nation, token)
        limited = _people(second, nation, token)
        other_on_second = _people(second, nation, other)
        other_on_first = _people(first, nation, other)

    assert limited.status_code == 429
    assert other_on_second.status_code == 200
    assert other_on_second.headers["x-ratelimit-remaining"] == "2"
    assert other_on_first.status_code == 200
    assert other_on_first.headers["x-ratelimit-remaining"] == "1"


def test_counts_stored_under_prefix(
    database_url: str, redis_url: str, redis_key_prefix: str, factory: Factory
) -> None:
    nation, token = _token(factory)

    with _client(database_url, redis_url, redis_key_prefix, api_per_token=LOW) as client:
        response = _people(client, nation, token)

    keys = _redis_keys(redis_url, redis_key_prefix)
    assert response.status_code == 200
    assert len(keys) == 1
    assert keys[0].startswith(f"{redis_key_prefix}:")
    assert token not in keys[0]  # the key contains the token's SHA-256 digest


def test_other_prefix_counts_apart(
    database_url: str, redis_url: str, redis_key_prefix: str, factory: Factory
) -> None:
    nation, token = _token(factory)
    # Under the test's own prefix, so the fixture deletes its keys too.
    other_prefix = f"{redis_key_prefix}:other-deployment"

    with (
        _client(database_url, redis_url, redis_key_prefix, api_per_token=LOW) as first,
        _client(database_url, redis_url, other_prefix, api_per_token=LOW) as other_deployment,
    ):
        statuses = [_people(first, nation, token).status_code for _ in range(4)]
        other = _people(other_deployment, nation, token)

    assert statuses == [200, 200, 200, 429]
    assert other.status_code == 200
    assert other.headers["x-ratelimit-remaining"] == "2"


def test_oauth_ip_limit_shared(
    database_url: str, redis_url: str, redis_key_prefix: str, factory: Factory
) -> None:
    nation = factory.nation()
    apps = [factory.app(nation) for _ in range(5)]
    secret_key = secrets.token_urlsafe(48)
    shared: dict[str, Any] = {"secret_key": secret_key, "address": "127.0.0.2", "oauth_per_ip": LOW}

    with (
        _client(database_url, redis_url, redis_key_prefix, **shared) as first,
        _client(database_url, redis_url, redis_key_prefix, **shared) as second,
        _client(
            database_url,
            redis_url,
            redis_key_prefix,
            secret_key=secret_key,
            address="127.0.0.3",
            oauth_per_ip=LOW,
        ) as other_address,
    ):
        allowed = [
            _token_request(first, nation, apps[0]),
            _token_request(second, nation, apps[1]),
            _token_request(first, nation, apps[2]),
        ]
        over_on_second = _token_request(second, nation, apps[3])
        over_on_first = _token_request(first, nation, apps[3])
        from_other_address = _token_request(other_address, nation, apps[4])

    for response in allowed:
        assert response.status_code == 400
        assert response.json()["error"] == "invalid_grant"
    _assert_oauth_rate_limited(over_on_second)
    _assert_oauth_rate_limited(over_on_first)
    assert from_other_address.status_code == 400
    assert from_other_address.json()["error"] == "invalid_grant"


def test_oauth_app_limit_shared(
    database_url: str, redis_url: str, redis_key_prefix: str, factory: Factory
) -> None:
    nation = factory.nation()
    app, other = factory.app(nation), factory.app(nation)

    with _two_workers(database_url, redis_url, redis_key_prefix, oauth_per_app=LOW) as (first, second):
        allowed = [_token_request(client, nation, app) for client in (first, second, second)]
        limited = _token_request(first, nation, app)
        other_app = _token_request(second, nation, other)

    assert [response.status_code for response in allowed] == [400, 400, 400]
    _assert_oauth_rate_limited(limited)
    assert other_app.status_code == 400


def test_sign_in_limit_shared(
    database_url: str, redis_url: str, redis_key_prefix: str, factory: Factory
) -> None:
    nation = factory.nation()
    user, other_user = factory.user(nation), factory.user(nation)

    with _two_workers(database_url, redis_url, redis_key_prefix, sign_in_per_email=LOW) as (first, second):
        failed = [
            sign_in(client, nation.prefix, user.email, password="wrong password")
            for client in (first, second, first)
        ]
        # The right password does not get past the limit either.
        limited = sign_in(second, nation.prefix, user.email)
        other = sign_in(first, nation.prefix, other_user.email)

    assert [response.status_code for response in failed] == [401, 401, 401]
    assert limited.status_code == 429
    assert limited.headers["retry-after"].isdigit()
    assert other.status_code == 303


# Redis unreachable, unresponsive, or restarted.


def test_unreachable_redis_fails_open(
    database_url: str, factory: Factory, caplog: pytest.LogCaptureFixture
) -> None:
    nation, token = _token(factory)
    app = factory.app(nation)
    password = "s3cret-redis-password"
    url = f"redis://:{password}@127.0.0.1:{_closed_port()}/0"
    caplog.set_level(logging.INFO, logger="citizenry.ratelimit")

    with _client(database_url, url, api_per_token=LOW, oauth_per_app=LOW) as client:
        api = [_people(client, nation, token) for _ in range(4)]
        oauth = [_token_request(client, nation, app) for _ in range(4)]
        signed_in = sign_in(client, nation.prefix, factory.user(nation).email)

    # Each process still counts in its own memory, so the limits hold there.
    assert [response.status_code for response in api] == [200, 200, 200, 429]
    assert [response.headers["x-ratelimit-remaining"] for response in api] == ["2", "1", "0", "0"]
    assert api[-1].headers["retry-after"].isdigit()
    assert [response.status_code for response in oauth[:3]] == [400, 400, 400]
    _assert_oauth_rate_limited(oauth[3])
    assert signed_in.status_code == 303

    errors = [
        record
        for record in caplog.records
        if record.name == "citizenry.ratelimit" and record.levelno == logging.ERROR
    ]
    assert len(errors) == 1  # one line per outage, not one per request
    assert "ConnectionError" in errors[0].getMessage()
    assert "memory" in errors[0].getMessage()
    assert "still fails" not in caplog.text  # no second try within REDIS_RETRY_SECONDS
    assert "did not respond to PING at start-up" in caplog.text
    assert password not in caplog.text


def test_failing_redis_retried(
    database_url: str, factory: Factory, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    nation, token = _token(factory)
    monkeypatch.setattr(ratelimit, "REDIS_RETRY_SECONDS", 0.0)
    caplog.set_level(logging.WARNING, logger="citizenry.ratelimit")

    with _client(database_url, f"redis://127.0.0.1:{_closed_port()}/0", api_per_token=LOW) as client:
        statuses = [_people(client, nation, token).status_code for _ in range(3)]

    errors = [record for record in caplog.records if record.levelno == logging.ERROR]
    retries = [record for record in caplog.records if "still fails" in record.getMessage()]
    assert statuses == [200, 200, 200]
    assert len(errors) == 1
    assert len(retries) >= 2
    assert all(record.levelno == logging.WARNING for record in retries)


def test_unresponsive_redis_times_out(
    database_url: str, factory: Factory, caplog: pytest.LogCaptureFixture
) -> None:
    nation, token = _token(factory)
    caplog.set_level(logging.ERROR, logger="citizenry.ratelimit")

    # The kernel completes the TCP handshake from the backlog, but nothing ever responds.
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(16)
        port = silent.getsockname()[1]
        url = f"redis://127.0.0.1:{port}/0?socket_timeout=0.3&socket_connect_timeout=0.3"
        with _client(database_url, url, api_per_token=LOW) as client:
            started = time.monotonic()
            first = _people(client, nation, token)
            elapsed = time.monotonic() - started
            second = _people(client, nation, token)

    assert first.status_code == 200
    assert elapsed < 5
    assert second.status_code == 200
    assert second.headers["x-ratelimit-remaining"] == "1"
    assert "TimeoutError" in caplog.text


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[Any]:
    """Yield a Redis server of this test's own on a free loopback port, with stop and start functions."""
    binary = shutil.which("redis-server")
    if binary is None:
        reason = "redis-server is not installed"
        if IN_CI:
            pytest.fail(f"{reason} (under CI=true the Redis tests must run)")
        pytest.skip(reason)
    port = _closed_port()
    url = f"redis://127.0.0.1:{port}/0"
    processes: list[subprocess.Popen[bytes]] = []

    def start() -> None:
        command = [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
        processes.append(
            subprocess.Popen(command, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        )
        client = redis.Redis.from_url(url, socket_connect_timeout=0.5)
        try:
            for _ in range(100):
                try:
                    client.ping()
                    return
                except redis.ConnectionError:
                    time.sleep(0.05)
            pytest.fail(f"redis-server did not answer on port {port} within 5 seconds")
        finally:
            client.close()

    def stop() -> None:
        process = processes[-1]
        process.terminate()
        process.wait(timeout=10)

    start()
    try:
        yield url, start, stop
    finally:
        for process in processes:
            if process.poll() is None:
                process.terminate()
                process.wait(timeout=10)


def test_redis_restart_recovers(
    database_url: str,
    factory: Factory,
    own_redis: Any,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    url, start, stop = own_redis
    nation, token = _token(factory)
    monkeypatch.setattr(ratelimit, "REDIS_RETRY_SECONDS", 0.2)
    caplog.set_level(logging.INFO, logger="citizenry.ratelimit")

    with _client(database_url, url, "restart", api_per_token="10/minute") as client:
        before = _people(client, nation, token)
        keys_before = _redis_keys(url, "restart")
        stop()
        during = _people(client, nation, token)
        start()  # the new server starts empty, because it saves nothing to disk
        time.sleep(0.3)
        after = _people(client, nation, token)
        keys_after = _redis_keys(url, "restart")

    assert before.status_code == 200
    assert len(keys_before) == 1
    assert during.status_code == 200
    assert after.status_code == 200
    assert after.headers["x-ratelimit-remaining"] == "9"  # counted afresh in the new server
    assert keys_after == keys_before
    assert "failed (ConnectionError" in caplog.text
    assert "responds again" in caplog.text


# Settings.


@pytest.mark.parametrize(
    "url",
    [
        "http://:hunter2@127.0.0.1:6379/0",
        "127.0.0.1:6379",
        "redis:hunter2@127.0.0.1",
        "redis://:hunter2@:6379/0",
        "redis://:hunter2@127.0.0.1:port/0",
        "redis://:hunter2@127.0.0.1:0/0",
        "redis://:hunter2@127.0.0.1:6379/zero",
        "redis://:hunter2@127.0.0.1:6379/0?socket_timeout=soon",
        "unix://",
    ],
)
def test_invalid_redis_url_rejected(url: str, tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="CITIZENRY_REDIS_URL") as raised:
        Settings.from_env(settings_env(tmp_path, REDIS_URL=url))

    assert "hunter2" not in str(raised.value)
    assert "redis://127.0.0.1:6379/0" in str(raised.value) or "socket_timeout" in str(raised.value)


@pytest.mark.parametrize(
    "url",
    [
        "redis://127.0.0.1:6379/0",
        "redis://127.0.0.1",
        "rediss://citizenry:hunter2@cache.example.org:6380/1",
        "unix:///run/redis/redis-server.sock?db=2",
        "redis://127.0.0.1:6379/0?socket_timeout=0.5",
    ],
)
def test_valid_redis_url_accepted(url: str, tmp_path: Path) -> None:
    settings = Settings.from_env(settings_env(tmp_path, REDIS_URL=url))

    assert settings.redis_url == url
    assert "hunter2" not in repr(settings)


def test_redis_defaults(tmp_path: Path) -> None:
    settings = Settings.from_env(settings_env(tmp_path, REDIS_URL="  "))

    assert settings.redis_url is None
    assert settings.redis_key_prefix == "citizenry"


@pytest.mark.parametrize("prefix", ["two words", "-leading-hyphen", "x" * 65, "é"])
def test_invalid_key_prefix_rejected(prefix: str, tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="CITIZENRY_REDIS_KEY_PREFIX"):
        Settings.from_env(settings_env(tmp_path, REDIS_KEY_PREFIX=prefix))


def test_key_prefix_accepted(tmp_path: Path) -> None:
    settings = Settings.from_env(settings_env(tmp_path, REDIS_KEY_PREFIX="citizenry:staging"))

    assert settings.redis_key_prefix == "citizenry:staging"


def test_safe_url_hides_credentials() -> None:
    assert safe_redis_url("redis://citizenry:hunter2@cache:6379/0?password=x") == "redis://***@cache:6379/0"
    assert safe_redis_url("redis://:hunter2@cache:6379") == "redis://***@cache:6379"
    assert safe_redis_url("redis://cache:6379/1") == "redis://cache:6379/1"
    assert safe_redis_url("unix:///run/redis.sock") == "unix:///run/redis.sock"
