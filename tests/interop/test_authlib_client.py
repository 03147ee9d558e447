"""Authlib's OAuth 2 client (httpx) as the app: PKCE (S256) and refresh, with JSON token requests.

Authlib 1.9 form-encodes every token request. The hook it offers for changing that request is a
client authentication method, registered with `register_client_auth_method` and chosen with
`token_endpoint_auth_method`. Such a method receives the method, URL, headers and body of each token
request and returns them changed. The method below puts the credentials in the body and sends it as JSON,
as NationBuilder's own token examples do.
"""

from __future__ import annotations

import json
import time
from typing import Any
from urllib.parse import parse_qsl

import httpx2
import pytest
from authlib.common.security import generate_token
from authlib.integrations.base_client import OAuthError
from authlib.integrations.httpx_client import OAuth2Client

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

JSON_AUTH_METHOD = "client_secret_json"

# Authlib's token object adds `expires_at` (epoch seconds).
CLIENT_KEYS = {"expires_at"}


def encode_client_secret_json(
    client: Any, method: str, uri: str, headers: Any, body: str | bytes
) -> tuple[str, Any, bytes]:
    """Move the form body into a JSON object, with the client credentials added to it."""
    form = body.decode() if isinstance(body, bytes) else body
    fields = dict(parse_qsl(form, keep_blank_values=True))
    fields["client_id"] = client.client_id
    fields["client_secret"] = client.client_secret
    headers["Content-Type"] = "application/json"
    return uri, headers, json.dumps(fields).encode()


def test_pkce_exchange_then_refresh_as_json(live_server: LiveServer, parties: Parties) -> None:
    base = live_server.nation_url(parties.nation)
    token_url = f"{base}/oauth/token"
    token_requests: list[httpx2.Request] = []

    def record(request: httpx2.Request) -> None:
        if request.url == token_url:
            token_requests.append(request)

    client = OAuth2Client(
        parties.app.client_id,
        parties.app.client_secret,
        token_endpoint_auth_method=JSON_AUTH_METHOD,
        redirect_uri=LOOPBACK_CALLBACK,
        code_challenge_method="S256",
        timeout=30,
        event_hooks={"request": [record]},
    )
    client.register_client_auth_method((JSON_AUTH_METHOD, encode_client_secret_json))
    verifier = generate_token(64)

    authorize_url, state = client.create_authorization_url(f"{base}/oauth/authorize", code_verifier=verifier)
    assert query_of(authorize_url)["code_challenge_method"] == "S256"
    redirect = approve_in_browser(live_server, parties, authorize_url)
    assert query_of(redirect)["state"] == state

    started = time.time()
    first = dict(client.fetch_token(token_url, authorization_response=redirect, code_verifier=verifier))
    assert_token_response(first, started, extra_keys=CLIENT_KEYS)
    assert first["scope"] == ""
    assert token_requests[0].headers["Content-Type"] == "application/json"
    assert "Authorization" not in token_requests[0].headers
    assert json.loads(token_requests[0].content) == {
        "grant_type": "authorization_code",
        "code": query_of(redirect)["code"],
        "redirect_uri": LOOPBACK_CALLBACK,
        "code_verifier": verifier,
        "client_id": parties.app.client_id,
        "client_secret": parties.app.client_secret,
    }
    count = client.get(f"{base}/api/v1/people/count")
    assert count.status_code == 200
    assert count.json() == {"people_count": 0}

    started = time.time()
    second = dict(client.refresh_token(token_url))
    assert_token_response(second, started, extra_keys=CLIENT_KEYS)
    assert second["access_token"] != first["access_token"]
    assert second["refresh_token"] != first["refresh_token"]
    assert token_requests[1].headers["Content-Type"] == "application/json"
    assert json.loads(token_requests[1].content) == {
        "grant_type": "refresh_token",
        "refresh_token": first["refresh_token"],
        "client_id": parties.app.client_id,
        "client_secret": parties.app.client_secret,
    }
    assert_token_works(live_server, parties.nation, second["access_token"], 0)
    assert_token_rejected(live_server, parties.nation, first["access_token"])

    # A used refresh token is rejected with invalid_grant, which Authlib raises as OAuthError, and
    # the reuse revokes the pair the refresh issued.
    with pytest.raises(OAuthError) as refused:
        client.refresh_token(token_url, refresh_token=first["refresh_token"])
    assert refused.value.error == "invalid_grant"
    assert_token_rejected(live_server, parties.nation, second["access_token"])
    client.close()
