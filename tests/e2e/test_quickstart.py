"""The quick start, end to end, against a real server process, with requests-oauthlib as the app."""

from __future__ import annotations

import re
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
import sqlalchemy as sa
from requests_oauthlib import OAuth2Session

from citizenry.store.db import Database
from tests.factory import CALLBACK, PASSWORD, AppInfo, Factory, NationInfo, UserInfo
from tests.flows import hidden_field, query_of
from tests.live import citizenry_server

HEX64 = re.compile(r"^[0-9a-f]{64}$")


@dataclass(frozen=True)
class LiveServer:
    base_url: str
    log_path: Path

    def nation_url(self, nation: NationInfo) -> str:
        return f"{self.base_url}{nation.prefix}"


@pytest.fixture(scope="module")
def live_server(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    log_path = tmp_path_factory.mktemp("server") / "server.log"
    with citizenry_server(database_url, log_path, CITIZENRY_LOG_LEVEL="DEBUG") as base_url:
        yield LiveServer(base_url=base_url, log_path=log_path)


@pytest.fixture
def quickstart(database: Database) -> tuple[NationInfo, UserInfo, AppInfo]:
    factory = Factory(database)
    nation = factory.nation()
    return nation, factory.user(nation), factory.app(nation)


def _approve_in_browser(server: LiveServer, nation: NationInfo, user: UserInfo, authorize_url: str) -> str:
    """Sign in and press Authorize as a browser would; return the redirect to the app."""
    browser = requests.Session()
    login = browser.get(authorize_url)
    assert login.status_code == 200
    assert "/login" in login.url
    consent = browser.post(
        f"{server.nation_url(nation)}/login",
        data={
            "csrf_token": hidden_field(login.text, "csrf_token"),
            "next": hidden_field(login.text, "next"),
            "email": user.email,
            "password": PASSWORD,
        },
    )
    assert consent.status_code == 200
    decision = browser.post(
        f"{server.nation_url(nation)}/oauth/authorize",
        data={
            "csrf_token": hidden_field(consent.text, "csrf_token"),
            "authorization_request": hidden_field(consent.text, "authorization_request"),
            "decision": "authorize",
        },
        allow_redirects=False,
    )
    assert decision.status_code == 302
    location: str = decision.headers["Location"]
    assert location.startswith(CALLBACK)
    return location


def test_requests_oauthlib_flow(
    live_server: LiveServer,
    quickstart: tuple[NationInfo, UserInfo, AppInfo],
    monkeypatch: pytest.MonkeyPatch,
    database_url: str,
) -> None:
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")
    nation, user, app = quickstart
    base = live_server.nation_url(nation)
    oauth = OAuth2Session(app.client_id, redirect_uri=CALLBACK)
    authorize_url, _ = oauth.authorization_url(f"{base}/oauth/authorize")

    redirect = _approve_in_browser(live_server, nation, user, authorize_url)
    # requests-oauthlib checks the state and sends the credentials with HTTP Basic.
    token = oauth.fetch_token(
        f"{base}/oauth/token", authorization_response=redirect, client_secret=app.client_secret
    )
    people = oauth.get(f"{base}/api/v1/people", headers={"Accept": "application/json"})

    assert HEX64.match(token["access_token"])
    assert token["token_type"] == "bearer"
    assert token["expires_in"] == 86400
    assert people.status_code == 200
    body = people.json()
    assert set(body) == {"results", "next", "prev"}
    assert body["results"] == []
    assert body["next"] is None

    secrets_seen = [
        app.client_secret,
        query_of(redirect)["code"],
        token["access_token"],
        token["refresh_token"],
    ]
    log_text = live_server.log_path.read_text()
    for value in secrets_seen:
        assert value not in log_text
    stored = _every_stored_text(database_url)
    for value in secrets_seen:
        assert value not in stored


def test_json_exchange_as_in_guide(
    live_server: LiveServer, quickstart: tuple[NationInfo, UserInfo, AppInfo], database: Database
) -> None:
    nation, user, app = quickstart
    Factory(database).people(nation, 12)
    base = live_server.nation_url(nation)
    authorize_url = (
        requests.Request(
            "GET",
            f"{base}/oauth/authorize",
            params={
                "response_type": "code",
                "client_id": app.client_id,
                "redirect_uri": CALLBACK,
                "state": "abc",
            },
        )
        .prepare()
        .url
    )
    assert authorize_url is not None
    redirect = _approve_in_browser(live_server, nation, user, authorize_url)
    assert query_of(redirect)["state"] == "abc"

    response = requests.post(
        f"{base}/oauth/token",
        json={
            "grant_type": "authorization_code",
            "code": query_of(redirect)["code"],
            "client_id": app.client_id,
            "client_secret": app.client_secret,
            "redirect_uri": CALLBACK,
        },
        headers={"Accept": "application/json"},
        timeout=10,
    )
    assert response.status_code == 200, response.text
    access_token = response.json()["access_token"]
    page = requests.get(
        f"{base}/api/v1/people",
        params={"access_token": access_token},
        headers={"Accept": "application/json"},
        timeout=10,
    )

    assert page.status_code == 200
    assert len(page.json()["results"]) == 10
    assert page.json()["next"].startswith("/api/v1/people?")


def _every_stored_text(database_url: str) -> str:
    """Return every value of every table, as text, to search for secrets stored in clear."""
    engine = sa.create_engine(database_url)
    metadata = sa.MetaData()
    metadata.reflect(engine)
    parts: list[str] = []
    with engine.connect() as connection:
        for table in metadata.sorted_tables:
            for row in connection.execute(sa.select(table)):
                for value in row:
                    parts.append(value.hex() if isinstance(value, bytes) else str(value))
    engine.dispose()
    return "\n".join(parts)


def test_parallel_redemptions_issue_one_token(
    live_server: LiveServer, quickstart: tuple[NationInfo, UserInfo, AppInfo]
) -> None:
    nation, user, app = quickstart
    base = live_server.nation_url(nation)
    authorize_url = (
        requests.Request(
            "GET",
            f"{base}/oauth/authorize",
            params={"response_type": "code", "client_id": app.client_id, "redirect_uri": CALLBACK},
        )
        .prepare()
        .url
    )
    assert authorize_url is not None
    code = query_of(_approve_in_browser(live_server, nation, user, authorize_url))["code"]
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "client_id": app.client_id,
        "client_secret": app.client_secret,
        "redirect_uri": CALLBACK,
    }

    def redeem(_: int) -> tuple[int, str]:
        response = requests.post(f"{base}/oauth/token", data=form, timeout=30)
        return response.status_code, response.json().get("error", "")

    with ThreadPoolExecutor(max_workers=20) as pool:
        results = list(pool.map(redeem, range(20)))

    assert sorted(status for status, _ in results) == [200] + [400] * 19
    assert {error for status, error in results if status == 400} == {"invalid_grant"}


def test_spoofed_forwarded_headers_ignored(
    live_server: LiveServer, quickstart: tuple[NationInfo, UserInfo, AppInfo]
) -> None:
    nation, _, _ = quickstart
    base = live_server.nation_url(nation)

    response = requests.get(
        f"{base}/.well-known/oauth-authorization-server",
        headers={
            "X-Forwarded-Proto": "https",
            "X-Forwarded-Host": "evil.example",
            "Forwarded": "proto=https",
        },
        timeout=10,
    )

    assert response.status_code == 200
    assert response.json()["issuer"] == base


def test_no_secret_in_logs_or_database(
    live_server: LiveServer, quickstart: tuple[NationInfo, UserInfo, AppInfo], database_url: str
) -> None:
    nation, user, app = quickstart
    base = live_server.nation_url(nation)
    authorize_url = (
        requests.Request(
            "GET",
            f"{base}/oauth/authorize",
            params={"response_type": "code", "client_id": app.client_id, "redirect_uri": CALLBACK},
        )
        .prepare()
        .url
    )
    assert authorize_url is not None
    code = query_of(_approve_in_browser(live_server, nation, user, authorize_url))["code"]
    credentials = {"client_id": app.client_id, "client_secret": app.client_secret}
    first = requests.post(
        f"{base}/oauth/token",
        data={"grant_type": "authorization_code", "code": code, "redirect_uri": CALLBACK, **credentials},
        timeout=10,
    ).json()
    second = requests.post(
        f"{base}/oauth/token",
        data={"grant_type": "refresh_token", "refresh_token": first["refresh_token"], **credentials},
        timeout=10,
    ).json()
    # Failures log too: a wrong secret, a replayed refresh token and a bad bearer token.
    requests.post(
        f"{base}/oauth/token",
        data={"grant_type": "refresh_token", "refresh_token": first["refresh_token"], **credentials},
        timeout=10,
    )
    requests.post(
        f"{base}/oauth/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "client_id": app.client_id,
            "client_secret": "x" * 64,
        },
        timeout=10,
    )
    requests.post(
        f"{base}/oauth/introspect", data={"token": second["access_token"], **credentials}, timeout=10
    )
    requests.post(f"{base}/oauth/revoke", data={"token": second["refresh_token"], **credentials}, timeout=10)
    requests.get(f"{base}/api/v1/people", params={"access_token": second["access_token"]}, timeout=10)

    values = [
        app.client_secret,
        code,
        first["access_token"],
        first["refresh_token"],
        second["access_token"],
        second["refresh_token"],
    ]
    log_text = live_server.log_path.read_text()
    stored = _every_stored_text(database_url)
    for value in values:
        assert value not in log_text
        assert value not in stored
