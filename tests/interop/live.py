"""What the interop tests share: the parties to an authorization, the consent step and token checks.

Each test runs a third-party client, unchanged except for the URL it is given, against a real
`citizenry serve` process on a free 127.0.0.1 port. The browser's part of the authorization code
flow (sign in, press Authorize) is driven over HTTP with requests, and the client under test does
everything else: it builds the authorization URL, exchanges the code, refreshes and revokes.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from typing import Any

import requests

from citizenry.store.db import Database
from tests.e2e.test_quickstart import LiveServer
from tests.factory import AppInfo, Factory, NationInfo, UserInfo
from tests.flows import decide_signed_out, query_of

# A loopback redirect URI, as a native app registers (RFC 8252 section 7.3). Nothing listens on it:
# the tests read the code from the Location header of the consent form's response.
LOOPBACK_CALLBACK = "http://127.0.0.1:9000/callback"

HEX64 = re.compile(r"^[0-9a-f]{64}$")

# The keys of every token response of an app with expiring tokens.
TOKEN_KEYS = {"access_token", "token_type", "scope", "created_at", "expires_in", "refresh_token"}
ACCESS_TOKEN_TTL = 86400


@dataclass(frozen=True)
class Parties:
    """A nation, one of its admins and an app of the nation with a loopback redirect URI."""

    nation: NationInfo
    admin: UserInfo
    app: AppInfo


def create_parties(database: Database) -> Parties:
    factory = Factory(database)
    nation = factory.nation()
    admin = factory.user(nation)
    app = factory.app(nation, redirect_uris=(LOOPBACK_CALLBACK,))
    return Parties(nation=nation, admin=admin, app=app)


def approve_in_browser(server: LiveServer, parties: Parties, authorize_url: str) -> str:
    """Open ``authorize_url`` signed out, sign in as the admin, press Authorize; return the redirect."""
    base = server.nation_url(parties.nation)
    location = decide_signed_out(base, authorize_url, parties.admin.email, "authorize")
    assert location.startswith(f"{LOOPBACK_CALLBACK}?")
    assert query_of(location)["iss"] == base
    return location


def assert_token_response(token: dict[str, Any], issued_after: float, *, extra_keys: set[str]) -> None:
    """Check a token response as a client returned it: the server's six keys plus the client's own."""
    assert set(token) == TOKEN_KEYS | extra_keys
    assert HEX64.match(token["access_token"])
    assert HEX64.match(token["refresh_token"])
    assert token["access_token"] != token["refresh_token"]
    assert token["token_type"] == "bearer"
    assert token["expires_in"] == ACCESS_TOKEN_TTL
    assert isinstance(token["created_at"], int)
    assert int(issued_after) <= token["created_at"] <= time.time()


def people_count(server: LiveServer, nation: NationInfo, access_token: str) -> requests.Response:
    """Call GET /api/v1/people/count with ``access_token``, outside the client under test."""
    return requests.get(
        f"{server.nation_url(nation)}/api/v1/people/count",
        headers={"Authorization": f"Bearer {access_token}", "Accept": "application/json"},
        timeout=30,
    )


def assert_token_works(server: LiveServer, nation: NationInfo, access_token: str, count: int) -> None:
    response = people_count(server, nation, access_token)
    assert response.status_code == 200, response.text
    assert response.json() == {"people_count": count}


def assert_token_rejected(server: LiveServer, nation: NationInfo, access_token: str) -> None:
    response = people_count(server, nation, access_token)
    assert response.status_code == 401
    assert response.json()["code"] == "unauthorized"
    assert set(response.json()) == {"code", "message"}
