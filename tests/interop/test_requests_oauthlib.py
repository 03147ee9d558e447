"""requests-oauthlib as the app: authorization code with PKCE (S256), then refresh."""

from __future__ import annotations

import time

import pytest
from oauthlib.oauth2 import InvalidGrantError
from requests.auth import HTTPBasicAuth
from requests_oauthlib import OAuth2Session

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

# requests-oauthlib adds `expires_at` (epoch seconds) to the token it returns.
CLIENT_KEYS = {"expires_at"}


def test_pkce_exchange_then_refresh(
    live_server: LiveServer, parties: Parties, monkeypatch: pytest.MonkeyPatch
) -> None:
    # oauthlib rejects http URLs unless OAUTHLIB_INSECURE_TRANSPORT is set. The server is on loopback.
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")
    base = live_server.nation_url(parties.nation)
    token_url = f"{base}/oauth/token"
    credentials = HTTPBasicAuth(parties.app.client_id, parties.app.client_secret)
    oauth = OAuth2Session(parties.app.client_id, redirect_uri=LOOPBACK_CALLBACK, pkce="S256")

    authorize_url, state = oauth.authorization_url(f"{base}/oauth/authorize")
    assert query_of(authorize_url)["code_challenge_method"] == "S256"
    redirect = approve_in_browser(live_server, parties, authorize_url)
    assert query_of(redirect)["state"] == state

    # The code exchange sends the verifier oauthlib kept, and the credentials in HTTP Basic.
    started = time.time()
    first = oauth.fetch_token(token_url, authorization_response=redirect, auth=credentials)
    assert_token_response(first, started, extra_keys=CLIENT_KEYS)
    # The server sends NationBuilder's empty scope, "", which oauthlib splits into a list.
    assert first["scope"] == [""]
    count = oauth.get(f"{base}/api/v1/people/count", headers={"Accept": "application/json"}, timeout=30)
    assert count.status_code == 200
    assert count.json() == {"people_count": 0}

    started = time.time()
    second = oauth.refresh_token(token_url, auth=credentials, timeout=30)
    assert_token_response(second, started, extra_keys=CLIENT_KEYS)
    assert second["access_token"] != first["access_token"]
    assert second["refresh_token"] != first["refresh_token"]
    assert oauth.token["access_token"] == second["access_token"]
    assert_token_works(live_server, parties.nation, second["access_token"], 0)
    assert_token_rejected(live_server, parties.nation, first["access_token"])

    # A used refresh token is rejected with invalid_grant, which oauthlib raises as its own error,
    # and the reuse revokes the pair the refresh issued.
    with pytest.raises(InvalidGrantError) as refused:
        oauth.refresh_token(token_url, refresh_token=first["refresh_token"], auth=credentials, timeout=30)
    assert refused.value.error == "invalid_grant"
    assert refused.value.status_code == 400
    assert_token_rejected(live_server, parties.nation, second["access_token"])
