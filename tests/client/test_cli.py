"""The developer commands (login, whoami, people, logout) against a real ``citizenry serve`` process.

See :mod:`tests.client.developer` for how each command runs and how the browser's part is played.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime
import json
import os
import re
import secrets
import stat
import subprocess
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

import pytest
import requests
import sqlalchemy as sa
from sqlalchemy.orm import Session

from citizenry.api.person_emails import one_address
from citizenry.client.commands.exits import ExitCode
from citizenry.oauth.apps import register_app
from citizenry.oauth.digests import digest
from citizenry.store.db import Database
from citizenry.store.models import AccessToken, AuthorizationCode, Person
from citizenry.store.models import Nation as NationRow
from tests.client.developer import LOOPBACK_CALLBACK, Developer, LoginRun, Seeded, closed_port, run_login
from tests.e2e import test_quickstart
from tests.e2e.test_quickstart import LiveServer
from tests.factory import AppInfo, Factory
from tests.flows import query_of
from tests.live import citizenry_server

# One `citizenry serve` process on 127.0.0.1 per database, with CITIZENRY_INSECURE_HTTP on.
live_server = test_quickstart.live_server

HEX64 = re.compile(r"^[0-9a-f]{64}$")
TOKEN_FILE_KEYS = {"access_token", "token_type", "refresh_token", "expires_at", "scope"}
ACCESS_TOKEN_TTL = 86400


@pytest.fixture
def seeded(database: Database) -> Seeded:
    factory = Factory(database)
    nation = factory.nation()
    admin = factory.user(nation)
    app = factory.app(nation, redirect_uris=(LOOPBACK_CALLBACK,))

    def add_admin_record(session: Session) -> int:
        person = Person(nation_id=nation.id, first_name="Ada", last_name="Admin", **one_address(admin.email))
        session.add(person)
        session.flush()
        return person.id

    me = database.transaction(add_admin_record)
    others = factory.people(nation, 5)
    return Seeded(nation=nation, admin=admin, app=app, me=me, people=sorted([me, *others]))


@pytest.fixture
def developer(tmp_path: Path, live_server: LiveServer, seeded: Seeded) -> Developer:
    return Developer(home=tmp_path / "home", base_url=live_server.nation_url(seeded.nation))


@pytest.fixture
def logged_in(developer: Developer, live_server: LiveServer, seeded: Seeded) -> LoginRun:
    run = run_login(developer, live_server, seeded)
    assert run.returncode == ExitCode.OK, run.stderr
    return run


def _api(
    developer: Developer, access_token: str, method: str, path: str, body: Any = None
) -> requests.Response:
    """Call the API with ``access_token``, outside the command under test."""
    headers = {"Authorization": f"Bearer {access_token}", "Accept": "application/json"}
    return requests.request(method, f"{developer.base_url}{path}", headers=headers, json=body, timeout=30)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_commands_load_no_server_code() -> None:
    script = (
        "import json, sys, citizenry.client.commands\n"
        "print(json.dumps(sorted(name for name in sys.modules if name.split('.')[0] in "
        "{'citizenry', 'fastapi', 'starlette', 'sqlalchemy', 'authlib'})))"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)

    loaded = json.loads(result.stdout)
    assert [name for name in loaded if not name.startswith("citizenry.client")] == ["citizenry"]


def test_citizenry_lists_developer_commands(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "citizenry", "--help"], capture_output=True, text=True, check=True
    )

    listed = re.findall(r"^  ([a-z]+) ", result.stdout, flags=re.MULTILINE)
    assert {"login", "whoami", "people", "logout"} <= set(listed)


# Login


def test_login_stores_tokens_privately(developer: Developer, live_server: LiveServer, seeded: Seeded) -> None:
    logged_in = run_login(developer, live_server, seeded, program="citizenry")

    assert logged_in.returncode == ExitCode.OK, logged_in.stderr
    assert logged_in.page_status == 200
    assert logged_in.stdout == ""

    # The authorization request: S256 PKCE, a state, and the loopback callback with the chosen port.
    request = parse_qs(urlsplit(logged_in.authorize_url).query)
    assert request["client_id"] == [seeded.app.client_id]
    assert request["code_challenge_method"] == ["S256"]
    assert len(request["state"][0]) >= 32
    callback = urlsplit(request["redirect_uri"][0])
    assert (callback.scheme, callback.hostname, callback.path) == ("http", "127.0.0.1", "/callback")
    assert callback.port is not None
    assert logged_in.location.startswith(f"{request['redirect_uri'][0]}?")

    tokens = developer.tokens()
    assert set(tokens) == TOKEN_FILE_KEYS
    assert HEX64.match(tokens["access_token"])
    assert HEX64.match(tokens["refresh_token"])
    assert abs(tokens["expires_at"] - (time.time() + ACCESS_TOKEN_TTL)) < 120
    assert _mode(developer.token_file()) == 0o600
    assert _api(developer, tokens["access_token"], "GET", "/api/v1/people/count").json() == {
        "people_count": len(seeded.people)
    }

    assert developer.logins() == [
        {
            "base_url": developer.base_url,
            "nation": seeded.nation.slug,
            "client_id": seeded.app.client_id,
            "redirect_uri": LOOPBACK_CALLBACK,
            "public": False,
        }
    ]
    assert _mode(developer.config / "logins.json") == 0o600
    # The client secret, which refreshes need, has a 0600 file of its own.
    (secret_file,) = developer.files("client-secrets")
    assert _mode(secret_file) == 0o600
    assert seeded.app.client_secret in secret_file.read_text()
    assert seeded.app.client_secret not in developer.token_file().read_text()
    assert seeded.app.client_secret not in (developer.config / "logins.json").read_text()

    printed = "".join(developer.outputs)
    for value in (
        seeded.app.client_secret,
        query_of(logged_in.location)["code"],
        tokens["access_token"],
        tokens["refresh_token"],
    ):
        assert value not in printed


def test_public_app_login(
    developer: Developer, live_server: LiveServer, seeded: Seeded, database: Database
) -> None:
    def register_public(session: Session) -> AppInfo:
        nation = session.get(NationRow, seeded.nation.id)
        assert nation is not None
        app, secret = register_app(
            session, nation=nation, name="Public CLI", redirect_uris=[LOOPBACK_CALLBACK], public=True
        )
        assert secret is None
        return AppInfo(
            id=app.id, client_id=app.client_id, client_secret="", redirect_uris=(LOOPBACK_CALLBACK,)
        )

    public = dataclasses.replace(seeded, app=database.transaction(register_public))

    run = run_login(developer, live_server, public, args=("--public",), env={"CITIZENRY_CLIENT_SECRET": ""})
    whoami = developer.run("whoami", "--format", "json")

    assert run.returncode == ExitCode.OK, run.stderr
    assert developer.files("client-secrets") == []
    assert developer.logins()[0]["public"] is True
    assert whoami.returncode == ExitCode.OK, whoami.stderr
    assert whoami.json()["person"]["id"] == seeded.me


def test_denied_consent(developer: Developer, live_server: LiveServer, seeded: Seeded) -> None:
    run = run_login(developer, live_server, seeded, decision="deny")

    assert query_of(run.location)["error"] == "access_denied"
    assert run.returncode == ExitCode.ACCESS_DENIED
    assert run.page_status == 400
    assert developer.files("tokens") == []
    assert developer.logins() == []


def _with_other_state(location: str) -> str:
    parts = urlsplit(location)
    query = {**query_of(location), "state": secrets.token_urlsafe(32)}
    return urlunsplit(parts._replace(query=urlencode(query)))


def test_state_mismatch(
    developer: Developer, live_server: LiveServer, seeded: Seeded, database: Database
) -> None:
    run = run_login(developer, live_server, seeded, change_location=_with_other_state)

    assert run.returncode == ExitCode.INVALID_CALLBACK
    assert run.page_status == 400
    assert developer.files("tokens") == []
    assert developer.logins() == []
    # The command never redeemed the code.
    used = database.transaction(
        lambda session: session.scalars(
            sa.select(AuthorizationCode.used_at).where(AuthorizationCode.app_id == seeded.app.id)
        ).all()
    )
    assert used == [None]


def test_login_timeout(tmp_path: Path) -> None:
    developer = Developer(home=tmp_path / "home", base_url=f"http://127.0.0.1:{closed_port()}/n/nowhere")

    result = developer.run(
        "login",
        "--nation",
        "nowhere",
        "--base-url",
        developer.base_url,
        "--client-id",
        "an-app",
        "--public",
        "--no-browser",
        "--timeout",
        "1",
    )

    assert result.returncode == ExitCode.LOGIN_TIMEOUT
    assert developer.files("tokens") == []


# Commands after a login


def test_whoami(developer: Developer, logged_in: LoginRun, seeded: Seeded) -> None:
    by_login = developer.run("whoami", "--format", "json")
    by_nation = developer.run("whoami", "--nation", seeded.nation.slug, "--format", "json")
    as_table = developer.run("whoami")

    assert by_login.returncode == ExitCode.OK, by_login.stderr
    body = by_login.json()
    assert body["base_url"] == developer.base_url
    assert body["nation"] == seeded.nation.slug
    assert body["person"]["id"] == seeded.me
    assert body["person"]["email"] == seeded.admin.email
    assert by_nation.returncode == ExitCode.OK, by_nation.stderr
    assert by_nation.json() == body
    assert as_table.returncode == ExitCode.OK
    assert seeded.admin.email in as_table.stdout


def test_people_list_pages(developer: Developer, logged_in: LoginRun, seeded: Seeded) -> None:
    every = developer.run("people", "list", "--all", "--page-size", "2", "--format", "json")
    first_three = developer.run("people", "list", "--max", "3", "--format", "json")
    as_table = developer.run("people", "list")

    assert every.returncode == ExitCode.OK, every.stderr
    assert [person["id"] for person in every.json_lines()] == seeded.people
    assert first_three.returncode == ExitCode.OK
    assert [person["id"] for person in first_three.json_lines()] == seeded.people[:3]
    assert as_table.returncode == ExitCode.OK
    assert seeded.admin.email in as_table.stdout


def test_people_get_and_search(developer: Developer, logged_in: LoginRun, seeded: Seeded) -> None:
    one = developer.run("people", "get", str(seeded.me), "--format", "json")
    found = developer.run("people", "search", "--filter", "last_name=Last1", "--format", "json")
    two_filters = developer.run(
        "people", "search", "--filter", "first_name=Ada", "--filter", "last_name=Admin", "--format", "json"
    )
    none = developer.run("people", "search", "--filter", "last_name=Nobody", "--format", "json")

    assert one.returncode == ExitCode.OK, one.stderr
    person = one.json()
    assert (person["id"], person["first_name"], person["email"]) == (seeded.me, "Ada", seeded.admin.email)
    assert "emails" in person  # the full representation
    assert found.returncode == ExitCode.OK, found.stderr
    assert [(p["first_name"], p["email"]) for p in found.json_lines()] == [("First1", "p1@example.org")]
    assert [p["id"] for p in two_filters.json_lines()] == [seeded.me]
    assert none.returncode == ExitCode.OK
    assert none.json_lines() == []


def test_people_errors(developer: Developer, logged_in: LoginRun) -> None:
    missing = developer.run("people", "get", "999999999")
    bad_filter = developer.run("people", "search", "--filter", "no_such_filter=1")
    malformed = developer.run("people", "search", "--filter", "last_name")

    assert missing.returncode == ExitCode.NOT_FOUND
    assert bad_filter.returncode == ExitCode.INVALID_INPUT
    assert malformed.returncode == ExitCode.USAGE


def test_people_export_matches_db_export(
    developer: Developer, logged_in: LoginRun, seeded: Seeded, database_url: str, tmp_path: Path
) -> None:
    # A custom field and tags, so that every kind of column has a value to compare.
    token = developer.tokens()["access_token"]
    field = {"custom_field": {"name": "Graduation year", "slug": "graduation_year", "type": "number"}}
    assert _api(developer, token, "POST", "/api/v1/custom_fields", field).status_code == 201
    person = {"person": {"graduation_year": 2008, "is_volunteer": True, "primary_address": {"city": "Paris"}}}
    assert _api(developer, token, "PUT", f"/api/v1/people/{seeded.me}", person).status_code == 200
    tagging = {"tagging": {"tag": ["volunteer", "donor"]}}
    assert _api(developer, token, "PUT", f"/api/v1/people/{seeded.me}/taggings", tagging).status_code == 200

    exported = tmp_path / "people.csv"
    result = developer.run("people", "export", str(exported))
    server_copy = tmp_path / "server.csv"
    subprocess.run(
        [sys.executable, "-m", "citizenry", "db", "export", str(server_copy), "--nation", seeded.nation.slug],
        env={
            **os.environ,
            "CITIZENRY_DATABASE_URL": database_url,
            "CITIZENRY_DATA_DIR": str(tmp_path / "data"),
        },
        capture_output=True,
        check=True,
    )

    assert result.returncode == ExitCode.OK, result.stderr
    with exported.open(newline="", encoding="utf-8") as file:
        rows = list(csv.DictReader(file))
    assert [int(row["id"]) for row in rows] == seeded.people
    mine = rows[seeded.people.index(seeded.me)]
    assert (mine["first_name"], mine["email"], mine["city"]) == ("Ada", seeded.admin.email, "Paris")
    assert (mine["is_volunteer"], mine["tags"], mine["graduation_year"]) == (
        "true",
        '["donor", "volunteer"]',
        "2008.0",
    )
    assert exported.read_bytes() == server_copy.read_bytes()


# Refresh, revocation and logout


def _expire_on_server(database: Database, access_token: str) -> None:
    past = datetime.datetime.now(datetime.UTC) - datetime.timedelta(minutes=1)
    database.transaction(
        lambda session: session.execute(
            sa.update(AccessToken)
            .where(AccessToken.token_digest == digest(access_token))
            .values(expires_at=past)
        )
    )


def test_expired_token_is_refreshed(developer: Developer, logged_in: LoginRun, database: Database) -> None:
    before = developer.tokens()
    _expire_on_server(database, before["access_token"])
    assert _api(developer, before["access_token"], "GET", "/api/v1/people/count").status_code == 401

    result = developer.run("whoami", "--format", "json")

    assert result.returncode == ExitCode.OK, result.stderr
    after = developer.tokens()
    assert after["access_token"] != before["access_token"]
    assert after["refresh_token"] != before["refresh_token"]
    assert _mode(developer.token_file()) == 0o600
    assert _api(developer, after["access_token"], "GET", "/api/v1/people/count").status_code == 200


def test_revoked_tokens_ask_for_login(
    developer: Developer, logged_in: LoginRun, seeded: Seeded, database: Database
) -> None:
    tokens = developer.tokens()
    revoked = requests.post(
        f"{developer.base_url}/oauth/revoke",
        data={
            "token": tokens["refresh_token"],
            "token_type_hint": "refresh_token",
            "client_id": seeded.app.client_id,
            "client_secret": seeded.app.client_secret,
        },
        timeout=30,
    )
    assert revoked.status_code == 200
    _expire_on_server(database, tokens["access_token"])

    result = developer.run("people", "list", "--format", "json")

    assert result.returncode == ExitCode.LOGIN_REQUIRED
    assert "citizenry login" in result.stderr


def test_logout_revokes_tokens(developer: Developer, logged_in: LoginRun, seeded: Seeded) -> None:
    tokens = developer.tokens()

    result = developer.run("logout")
    after = developer.run("whoami")

    assert result.returncode == ExitCode.OK, result.stderr
    assert developer.files("tokens") == []
    assert developer.files("client-secrets") == []
    assert developer.logins() == []
    rejected = _api(developer, tokens["access_token"], "GET", "/api/v1/people/count")
    assert rejected.status_code == 401
    assert rejected.json()["code"] == "unauthorized"
    refresh = requests.post(
        f"{developer.base_url}/oauth/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": tokens["refresh_token"],
            "client_id": seeded.app.client_id,
            "client_secret": seeded.app.client_secret,
        },
        timeout=30,
    )
    assert refresh.status_code == 400
    assert refresh.json()["error"] == "invalid_grant"
    assert after.returncode == ExitCode.LOGIN_REQUIRED
    printed = "".join(developer.outputs)
    assert tokens["access_token"] not in printed
    assert tokens["refresh_token"] not in printed


# Without a login: an API token in CITIZENRY_TOKEN


def test_unreachable_server(tmp_path: Path) -> None:
    developer = Developer(home=tmp_path / "home", base_url=f"http://127.0.0.1:{closed_port()}/n/nowhere")
    env = {"CITIZENRY_TOKEN": "an-api-token"}

    whoami = developer.run("whoami", "--base-url", developer.base_url, env=env)
    listing = developer.run("people", "list", "--base-url", developer.base_url, env=env)

    assert whoami.returncode == ExitCode.UNREACHABLE
    assert listing.returncode == ExitCode.UNREACHABLE
    assert developer.base_url in whoami.stderr


def test_no_login_and_no_token(tmp_path: Path) -> None:
    developer = Developer(home=tmp_path / "home", base_url="http://127.0.0.1:1/n/nowhere")

    result = developer.run("people", "list")

    assert result.returncode == ExitCode.LOGIN_REQUIRED


def test_rate_limit_says_when_to_retry(database: Database, database_url: str, tmp_path: Path) -> None:
    factory = Factory(database)
    nation = factory.nation()
    token = factory.test_token(nation, factory.user(nation))

    with citizenry_server(
        database_url, tmp_path / "server.log", CITIZENRY_API_RATE_LIMIT_PER_TOKEN="1/hour"
    ) as base:
        developer = Developer(home=tmp_path / "home", base_url=f"{base}{nation.prefix}")
        env = {"CITIZENRY_TOKEN": token}
        first = developer.run("people", "list", "--base-url", developer.base_url, env=env)
        second = developer.run("people", "list", "--base-url", developer.base_url, env=env)

    assert first.returncode == ExitCode.OK, first.stderr
    assert second.returncode == ExitCode.RATE_LIMITED
    # The server's Retry-After exceeds the SDK's 60 s maximum wait, so the command stops at once and
    # prints when to retry: within the hour's window.
    wait = re.search(r"Retry in (\d+) s", second.stderr)
    assert wait is not None, second.stderr
    assert 1 <= int(wait.group(1)) <= 3600
    assert token not in first.stderr + second.stderr
