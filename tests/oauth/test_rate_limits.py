"""Rate limits on the OAuth endpoints and on sign-in, in app instances with low limits of their own."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from citizenry.app import create_app
from citizenry.settings import Settings, SettingsError
from tests.factory import AppInfo, Factory, NationInfo
from tests.flows import sign_in

#: The limit under test in each app instance.
LOW = "3/minute"
#: The limit of every other rule, which these tests never reach.
HIGH = "100/minute"


@contextmanager
def _limited_client(
    database_url: str,
    *,
    address: str = "127.0.0.1",
    oauth_per_app: str = HIGH,
    oauth_per_ip: str = HIGH,
    sign_in_per_ip: str = HIGH,
    sign_in_per_email: str = HIGH,
) -> Iterator[tuple[TestClient, Any]]:
    """Build an app with these limits and yield it with a client that sends from ``address``."""
    settings = Settings(
        database_url=database_url,
        secret_key=secrets.token_urlsafe(48),
        base_domain="localhost",
        insecure_http=True,
        session_cookie_secure=False,
        oauth_rate_limit_per_app=oauth_per_app,
        oauth_rate_limit_per_ip=oauth_per_ip,
        sign_in_rate_limit_per_ip=sign_in_per_ip,
        sign_in_rate_limit_per_email=sign_in_per_email,
    )
    app = create_app(settings)
    with TestClient(app, follow_redirects=False, client=(address, 50000)) as test_client:
        yield test_client, app


def _client_from(app: Any, address: str) -> TestClient:
    return TestClient(app, follow_redirects=False, client=(address, 50000))


def _token_request(client: TestClient, nation: NationInfo, app: AppInfo) -> Any:
    data = {
        "grant_type": "authorization_code",
        "code": "no-such-code",
        "client_id": app.client_id,
        "client_secret": app.client_secret,
    }
    return client.post(f"{nation.prefix}/oauth/token", data=data)


def _assert_rate_limited(response: Any) -> None:
    assert response.status_code == 429
    body = response.json()
    assert set(body) == {"error", "error_description"}
    assert body["error"] == "rate_limited"
    assert response.headers["cache-control"] == "no-store"
    retry_after = response.headers["retry-after"]
    assert retry_after.isdigit()
    assert 1 <= int(retry_after) <= 60


def test_token_limit_per_app(database_url: str, factory: Factory) -> None:
    nation = factory.nation()
    app, other = factory.app(nation), factory.app(nation)

    with _limited_client(database_url, oauth_per_app=LOW) as (client, _):
        for attempt in range(3):
            response = _token_request(client, nation, app)
            assert response.status_code == 400, attempt
            assert response.json()["error"] == "invalid_grant", attempt

        _assert_rate_limited(_token_request(client, nation, app))
        other_app = _token_request(client, nation, other)

    assert other_app.status_code == 400
    assert other_app.json()["error"] == "invalid_grant"


def test_token_limit_per_ip(database_url: str, factory: Factory) -> None:
    nation = factory.nation()
    apps = [factory.app(nation) for _ in range(5)]

    with _limited_client(database_url, address="127.0.0.2", oauth_per_ip=LOW) as (client, asgi):
        for app in apps[:3]:
            assert _token_request(client, nation, app).status_code == 400, app.client_id

        # A fourth app from the same address is over the address's limit.
        _assert_rate_limited(_token_request(client, nation, apps[3]))
        with _client_from(asgi, "127.0.0.3") as other_address:
            response = _token_request(other_address, nation, apps[4])

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"


def test_revoke_is_limited(database_url: str, factory: Factory) -> None:
    nation = factory.nation()
    app, other = factory.app(nation), factory.app(nation)

    def revoke(client: TestClient, revoking: AppInfo) -> Any:
        data = {"token": "0" * 64, "client_id": revoking.client_id, "client_secret": revoking.client_secret}
        return client.post(f"{nation.prefix}/oauth/revoke", data=data)

    with _limited_client(database_url, oauth_per_app=LOW) as (client, _):
        for attempt in range(3):
            response = revoke(client, app)
            assert response.status_code == 200, attempt
            assert response.json() == {}, attempt

        _assert_rate_limited(revoke(client, app))
        other_app = revoke(client, other)

    assert other_app.status_code == 200


def test_introspect_is_limited(database_url: str, factory: Factory) -> None:
    nation = factory.nation()
    app, other = factory.app(nation), factory.app(nation)

    def introspect(client: TestClient, asking: AppInfo) -> Any:
        data = {"token": "0" * 64, "client_id": asking.client_id, "client_secret": asking.client_secret}
        return client.post(f"{nation.prefix}/oauth/introspect", data=data)

    with _limited_client(database_url, oauth_per_app=LOW) as (client, _):
        for attempt in range(3):
            response = introspect(client, app)
            assert response.status_code == 200, attempt
            assert response.json() == {"active": False}, attempt

        _assert_rate_limited(introspect(client, app))
        other_app = introspect(client, other)

    assert other_app.status_code == 200
    assert other_app.json() == {"active": False}


def test_limit_counts_basic_client(database_url: str, factory: Factory) -> None:
    nation = factory.nation()
    app = factory.app(nation)

    with _limited_client(database_url, oauth_per_app=LOW) as (client, _):
        for attempt in range(3):
            response = client.post(
                f"{nation.prefix}/oauth/token",
                data={"grant_type": "authorization_code", "code": "no-such-code"},
                auth=(app.client_id, app.client_secret),
            )
            assert response.status_code == 400, attempt

        # The same app sending its credentials in the body shares the count.
        _assert_rate_limited(_token_request(client, nation, app))


def test_sign_in_limit_per_email(database_url: str, factory: Factory) -> None:
    nation = factory.nation()
    user, other_user = factory.user(nation), factory.user(nation)

    with _limited_client(database_url, sign_in_per_email=LOW) as (client, asgi):
        for attempt in range(3):
            failed = sign_in(client, nation.prefix, user.email, password="wrong password")
            assert failed.status_code == 401, attempt

        # The right password does not get past the limit either.
        limited = sign_in(client, nation.prefix, user.email)
        dashboard = client.get(f"{nation.prefix}/admin")
        with _client_from(asgi, "127.0.0.1") as other_browser:
            other = sign_in(other_browser, nation.prefix, other_user.email)

    assert limited.status_code == 429
    assert limited.headers["content-type"].startswith("text/html")
    assert limited.headers["retry-after"].isdigit()
    assert 1 <= int(limited.headers["retry-after"]) <= 60
    assert dashboard.status_code == 303
    assert other.status_code == 303


def test_sign_in_email_case_folded(database_url: str, factory: Factory) -> None:
    nation = factory.nation()
    user = factory.user(nation)

    with _limited_client(database_url, sign_in_per_email=LOW) as (client, _):
        for variant in (user.email, user.email.upper(), f" {user.email} "):
            assert sign_in(client, nation.prefix, variant, password="wrong").status_code == 401, variant

        limited = sign_in(client, nation.prefix, user.email.title())

    assert limited.status_code == 429


def test_sign_in_limit_per_ip(database_url: str, factory: Factory) -> None:
    nation = factory.nation()
    users = [factory.user(nation) for _ in range(5)]

    with _limited_client(database_url, address="127.0.0.2", sign_in_per_ip=LOW) as (client, asgi):
        for user in users[:3]:
            assert sign_in(client, nation.prefix, user.email, password="wrong").status_code == 401

        limited = sign_in(client, nation.prefix, users[3].email)
        with _client_from(asgi, "127.0.0.3") as other_address:
            other = sign_in(other_address, nation.prefix, users[4].email)

    assert limited.status_code == 429
    assert limited.headers["retry-after"].isdigit()
    assert other.status_code == 303


@pytest.mark.parametrize(
    "variable",
    [
        "CITIZENRY_OAUTH_RATE_LIMIT_PER_APP",
        "CITIZENRY_OAUTH_RATE_LIMIT_PER_IP",
        "CITIZENRY_SIGN_IN_RATE_LIMIT_PER_IP",
        "CITIZENRY_SIGN_IN_RATE_LIMIT_PER_EMAIL",
    ],
)
def test_invalid_rule_rejected(variable: str, tmp_path: Path) -> None:
    env = {
        "CITIZENRY_DATA_DIR": str(tmp_path),
        "CITIZENRY_SECRET_KEY": secrets.token_urlsafe(48),
        variable: "lots/min",
    }

    with pytest.raises(SettingsError, match=variable):
        Settings.from_env(env)


def test_valid_rule_accepted(tmp_path: Path) -> None:
    env = {
        "CITIZENRY_DATA_DIR": str(tmp_path),
        "CITIZENRY_SECRET_KEY": secrets.token_urlsafe(48),
        "CITIZENRY_OAUTH_RATE_LIMIT_PER_APP": "5/second",
    }

    settings = Settings.from_env(env)

    assert settings.oauth_rate_limit_per_app == "5/second"
    assert settings.oauth_rate_limit_per_ip == "300/minute"
