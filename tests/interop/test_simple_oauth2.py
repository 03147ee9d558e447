"""simple-oauth2 (npm) on Node.js as the app: code exchange, refresh and revocation.

Each step runs tests/interop/node/oauth-client.mjs in a `node` process of its own, which prints the
step's result and the requests simple-oauth2 sent as JSON. `make test` installs simple-oauth2 there
with `npm ci`. Without node or that install the tests skip, except under CI=true, where they fail.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote_plus, urlsplit

import pytest

from tests.conftest import IN_CI
from tests.e2e.test_quickstart import LiveServer
from tests.flows import query_of
from tests.interop.live import (
    LOOPBACK_CALLBACK,
    Parties,
    approve_in_browser,
    assert_token_rejected,
    assert_token_response,
    assert_token_works,
)

NODE_DIR = Path(__file__).parent / "node"
SCRIPT = NODE_DIR / "oauth-client.mjs"

# simple-oauth2 adds `expires_at`, a Date that JSON shows as an ISO 8601 string.
CLIENT_KEYS = {"expires_at"}


@dataclass(frozen=True)
class Mode:
    """simple-oauth2's `authorizationMethod` and `bodyFormat` options."""

    authorization_method: str
    body_format: str


MODES = {
    "header": Mode(authorization_method="header", body_format="form"),
    "json-body": Mode(authorization_method="body", body_format="json"),
}


@pytest.fixture(scope="session")
def node() -> str:
    """Return the path of `node`, or skip when it or simple-oauth2 is missing (fail under CI=true)."""
    executable = shutil.which("node")
    if executable is None:
        reason = "node is not on PATH: the simple-oauth2 tests need Node.js"
    elif not (NODE_DIR / "node_modules" / "simple-oauth2").is_dir():
        reason = f"simple-oauth2 is not installed in {NODE_DIR}: run `make test` or `npm ci` there"
    else:
        return executable
    if IN_CI:
        pytest.fail(f"{reason} (under CI=true the Node.js interop tests must run)")
    pytest.skip(reason)


@dataclass(frozen=True)
class NodeClient:
    """simple-oauth2 configured for one app of one nation, run one step at a time."""

    node: str
    base_url: str
    client_id: str
    client_secret: str
    mode: Mode

    def run(self, *args: str) -> dict[str, Any]:
        env = {
            **os.environ,
            "CITIZENRY_BASE_URL": self.base_url,
            "CITIZENRY_CLIENT_ID": self.client_id,
            "CITIZENRY_CLIENT_SECRET": self.client_secret,
            "OAUTH_AUTHORIZATION_METHOD": self.mode.authorization_method,
            "OAUTH_BODY_FORMAT": self.mode.body_format,
        }
        process = subprocess.run(
            [self.node, str(SCRIPT), *args],
            cwd=NODE_DIR,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert process.returncode == 0, process.stderr
        output: dict[str, Any] = json.loads(process.stdout)
        return output

    def token(self, *args: str) -> dict[str, Any]:
        """Run a step that returns a token, and return the token."""
        output = self.run(*args)
        assert "error" not in output, output["error"]
        token: dict[str, Any] = output["token"]
        return token


def _assert_request(client: NodeClient, sent: dict[str, Any], path: str, params: dict[str, str]) -> None:
    """Check a request simple-oauth2 sent: its path, encoding, client credentials and whole body."""
    assert sent["method"] == "POST"
    assert sent["path"] == f"{urlsplit(client.base_url).path}{path}"
    if client.mode.body_format == "json":
        assert sent["content_type"] == "application/json"
        body: dict[str, str] = json.loads(sent["body"])
    else:
        assert sent["content_type"] == "application/x-www-form-urlencoded"
        body = {key: values[0] for key, values in parse_qs(sent["body"], strict_parsing=True).items()}

    if client.mode.authorization_method == "header":
        # HTTP Basic of the form-encoded id and secret (RFC 6749 section 2.3.1).
        credentials = f"{quote_plus(client.client_id)}:{quote_plus(client.client_secret)}"
        assert sent["authorization"] == f"Basic {base64.b64encode(credentials.encode()).decode()}"
        assert body == params
    else:
        assert sent["authorization"] is None
        assert body == {**params, "client_id": client.client_id, "client_secret": client.client_secret}


@pytest.mark.parametrize("mode", MODES.values(), ids=MODES.keys())
def test_exchange_refresh_revoke(node: str, live_server: LiveServer, parties: Parties, mode: Mode) -> None:
    base = live_server.nation_url(parties.nation)
    client = NodeClient(node, base, parties.app.client_id, parties.app.client_secret, mode)

    authorize_url = client.run("authorize-url", LOOPBACK_CALLBACK, "xyz")["url"]
    assert authorize_url.startswith(f"{base}/oauth/authorize?")
    assert query_of(authorize_url) == {
        "response_type": "code",
        "client_id": parties.app.client_id,
        "redirect_uri": LOOPBACK_CALLBACK,
        "state": "xyz",
    }
    redirect = approve_in_browser(live_server, parties, authorize_url)
    code = query_of(redirect)["code"]
    assert query_of(redirect)["state"] == "xyz"

    # The code exchange.
    started = time.time()
    output = client.run("exchange", code, LOOPBACK_CALLBACK)
    first = output["token"]
    assert_token_response(first, started, extra_keys=CLIENT_KEYS)
    assert first["scope"] == ""
    [sent] = output["requests"]
    params = {"grant_type": "authorization_code", "code": code, "redirect_uri": LOOPBACK_CALLBACK}
    _assert_request(client, sent, "/oauth/token", params)
    assert_token_works(live_server, parties.nation, first["access_token"], 0)

    # A refresh returns a new pair and revokes the previous access token.
    started = time.time()
    output = client.run("refresh", json.dumps(first))
    second = output["token"]
    assert_token_response(second, started, extra_keys=CLIENT_KEYS)
    [sent] = output["requests"]
    params = {"grant_type": "refresh_token", "refresh_token": first["refresh_token"]}
    _assert_request(client, sent, "/oauth/token", params)
    assert second["access_token"] != first["access_token"]
    assert second["refresh_token"] != first["refresh_token"]
    assert_token_rejected(live_server, parties.nation, first["access_token"])
    assert_token_works(live_server, parties.nation, second["access_token"], 0)

    # Revoking the access token leaves its refresh token working.
    output = client.run("revoke", json.dumps(second), "access_token")
    assert output["response"] == {}
    [sent] = output["requests"]
    params = {"token": second["access_token"], "token_type_hint": "access_token"}
    _assert_request(client, sent, "/oauth/revoke", params)
    assert_token_rejected(live_server, parties.nation, second["access_token"])
    third = client.token("refresh", json.dumps(second))
    assert_token_works(live_server, parties.nation, third["access_token"], 0)

    # Revoking the refresh token revokes its whole family, so the next refresh is invalid_grant.
    output = client.run("revoke", json.dumps(third), "refresh_token")
    assert output["response"] == {}
    [sent] = output["requests"]
    params = {"token": third["refresh_token"], "token_type_hint": "refresh_token"}
    _assert_request(client, sent, "/oauth/revoke", params)
    assert_token_rejected(live_server, parties.nation, third["access_token"])
    refused = client.run("refresh", json.dumps(third))
    assert "token" not in refused
    assert refused["error"]["status"] == 400
    assert set(refused["error"]["body"]) == {"error", "error_description"}
    assert refused["error"]["body"]["error"] == "invalid_grant"
