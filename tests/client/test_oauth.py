"""The client's OAuth: authorization request, code exchange, refresh, revocation, against Citizenry."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import logging
import re
import time
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from citizenry.client import (
    AppCredentials,
    AuthorizationDenied,
    Client,
    InvalidCallback,
    InvalidClient,
    InvalidGrant,
    MemoryTokenStore,
    NotAuthenticated,
    TokenSet,
    Unauthorized,
)
from citizenry.oauth.apps import register_app
from citizenry.store.models import Membership
from citizenry.store.models import Nation as NationRow
from tests.client.conftest import Connect, Nation, Recorder
from tests.factory import CALLBACK
from tests.flows import query_of

HEX64 = re.compile(r"[0-9a-f]{64}")
DAY = 86400


def _s256(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()


def test_authorization_request_has_s256_challenge() -> None:
    app = AppCredentials("client-1", "secret-1", redirect_uri=CALLBACK)
    with Client("http://127.0.0.1:8000/n/demo", app=app) as client:
        request = client.authorization_request(scope="default")
        again = client.authorization_request()

    parts = urlsplit(request.url)
    assert (parts.scheme, parts.netloc, parts.path) == ("http", "127.0.0.1:8000", "/n/demo/oauth/authorize")
    assert parse_qs(parts.query) == {
        "response_type": ["code"],
        "client_id": ["client-1"],
        "redirect_uri": [CALLBACK],
        "scope": ["default"],
        "state": [request.state],
        "code_challenge": [_s256(request.code_verifier)],
        "code_challenge_method": ["S256"],
    }
    assert re.fullmatch(r"[A-Za-z0-9._~-]{43,128}", request.code_verifier)
    assert len(request.state) >= 32
    assert again.state != request.state
    assert again.code_verifier != request.code_verifier
    assert request.redirect_uri == CALLBACK


def test_nation_slug_means_nationbuilder() -> None:
    app = AppCredentials("client-1", redirect_uri=CALLBACK)
    with Client(nation="Demo", app=app) as client:
        url = client.authorization_request().url

    assert client.base_url == "https://demo.nationbuilder.com"
    assert url.startswith("https://demo.nationbuilder.com/oauth/authorize?")


def test_code_flow_stores_tokens(connect: Connect, nation: Nation) -> None:
    saved: list[TokenSet] = []
    api = connect(nation.base_url, app=nation.credentials, token_store=MemoryTokenStore(on_save=saved.append))
    authorization = api.authorization_request()
    callback = nation.approve(authorization.url)
    started = time.time()

    tokens = api.complete_authorization(callback, authorization)

    assert query_of(callback)["iss"] == nation.base_url
    assert saved == [tokens]
    assert HEX64.fullmatch(tokens.access_token)
    assert tokens.refresh_token is not None
    assert HEX64.fullmatch(tokens.refresh_token)
    assert tokens.token_type == "bearer"
    assert tokens.scope == ""
    assert tokens.expires_at is not None
    assert started + DAY <= tokens.expires_at <= time.time() + DAY
    assert api.count_people() == 0


def test_public_app_flow_proves_pkce(connect: Connect, nation: Nation) -> None:
    def create(session: Session) -> str:
        row = session.get(NationRow, nation.nation.id)
        assert row is not None
        app, secret = register_app(session, nation=row, name="Public", redirect_uris=[CALLBACK], public=True)
        assert secret is None
        return app.client_id

    client_id = nation.factory.database.transaction(create)
    api = connect(nation.base_url, app=AppCredentials(client_id, None, redirect_uri=CALLBACK))

    tokens = nation.authorize(api)

    assert HEX64.fullmatch(tokens.access_token)
    assert api.count_people() == 0


def test_wrong_verifier_is_invalid_grant(connect: Connect, nation: Nation) -> None:
    api = connect(nation.base_url, app=nation.credentials)
    authorization = api.authorization_request()
    callback = nation.approve(authorization.url)
    tampered = dataclasses.replace(authorization, code_verifier=_s256("another verifier") + "x" * 10)

    with pytest.raises(InvalidGrant) as caught:
        api.complete_authorization(callback, tampered)

    assert caught.value.status_code == 400
    assert caught.value.body == {"error": "invalid_grant", "error_description": caught.value.message}
    assert api.tokens() is None


def test_callback_state_checked(connect: Connect, nation: Nation) -> None:
    api = connect(nation.base_url, app=nation.credentials)
    authorization = api.authorization_request()
    callback = nation.approve(authorization.url)
    query = query_of(callback)
    forged = f"{CALLBACK}?{urlencode({**query, 'state': 'forged'})}"
    other_issuer = f"{CALLBACK}?{urlencode({**query, 'iss': 'https://evil.example'})}"
    no_code = f"{CALLBACK}?{urlencode({'state': authorization.state})}"

    for url in (forged, other_issuer, no_code):
        with pytest.raises(InvalidCallback):
            api.complete_authorization(url, authorization)

    # The code was never sent, so it still works.
    tokens = api.complete_authorization(callback, authorization)
    assert HEX64.fullmatch(tokens.access_token)


def test_denied_authorization(connect: Connect, nation: Nation) -> None:
    api = connect(nation.base_url, app=nation.credentials)
    authorization = api.authorization_request()
    callback = nation.approve(authorization.url, decision="deny")

    with pytest.raises(AuthorizationDenied) as caught:
        api.complete_authorization(callback, authorization)

    assert caught.value.error == "access_denied"


def test_code_reuse_is_invalid_grant(connect: Connect, nation: Nation) -> None:
    api = connect(nation.base_url, app=nation.credentials)
    authorization = api.authorization_request()
    code = query_of(nation.approve(authorization.url))["code"]
    api.exchange_code(code, code_verifier=authorization.code_verifier)

    with pytest.raises(InvalidGrant) as caught:
        api.exchange_code(code, code_verifier=authorization.code_verifier)

    assert caught.value.status_code == 400
    assert caught.value.code == "invalid_grant"
    assert caught.value.body == {"error": "invalid_grant", "error_description": caught.value.message}


def test_wrong_secret_is_invalid_client(connect: Connect, nation: Nation) -> None:
    wrong = dataclasses.replace(nation.credentials, client_secret="0" * 64)
    api = connect(nation.base_url, app=wrong)
    authorization = api.authorization_request()
    callback = nation.approve(authorization.url)

    with pytest.raises(InvalidClient) as caught:
        api.complete_authorization(callback, authorization)

    assert caught.value.status_code == 401
    assert caught.value.body == {"error": "invalid_client", "error_description": caught.value.message}


def test_refresh_before_expiry(connect: Connect, nation: Nation, recorder: Recorder) -> None:
    saved: list[TokenSet] = []
    store = MemoryTokenStore(on_save=saved.append)
    first = nation.authorize(
        connect(nation.base_url, asgi=recorder, app=nation.credentials, token_store=store)
    )
    recorder.seen.clear()
    # 30 seconds before expiry, inside the default 60-second leeway.
    later = connect(
        nation.base_url,
        asgi=recorder,
        app=nation.credentials,
        token_store=store,
        clock=lambda: time.time() + DAY - 30,
    )

    assert later.count_people() == 0

    assert recorder.routes() == [("POST", "/oauth/token", 200), ("GET", "/api/v1/people/count", 200)]
    assert len(saved) == 2
    assert saved[1].access_token != first.access_token
    assert saved[1].refresh_token not in {None, first.refresh_token}
    assert store.load() == saved[1]
    with pytest.raises(Unauthorized):
        connect(nation.base_url, asgi=recorder, access_token=first.access_token).count_people()


def test_no_refresh_long_before_expiry(connect: Connect, nation: Nation) -> None:
    saved: list[TokenSet] = []
    store = MemoryTokenStore(on_save=saved.append)
    nation.authorize(connect(nation.base_url, app=nation.credentials, token_store=store))
    later = connect(
        nation.base_url, app=nation.credentials, token_store=store, clock=lambda: time.time() + DAY - 120
    )

    assert later.count_people() == 0
    assert len(saved) == 1


def test_refresh_after_401(connect: Connect, nation: Nation, recorder: Recorder) -> None:
    saved: list[TokenSet] = []
    store = MemoryTokenStore(on_save=saved.append)
    api = connect(nation.base_url, asgi=recorder, app=nation.credentials, token_store=store)
    first = nation.authorize(api)
    api.revoke(first.access_token, token_type_hint="access_token")
    recorder.seen.clear()

    assert api.count_people() == 0

    assert recorder.routes() == [
        ("GET", "/api/v1/people/count", 401),
        ("POST", "/oauth/token", 200),
        ("GET", "/api/v1/people/count", 200),
    ]
    assert len(saved) == 2
    assert saved[1].refresh_token not in {None, first.refresh_token}
    assert api.tokens() == saved[1]


def test_second_401_is_raised(connect: Connect, nation: Nation, recorder: Recorder) -> None:
    api = connect(nation.base_url, asgi=recorder, app=nation.credentials)
    nation.authorize(api)

    def demote(session: Session) -> None:
        membership = session.scalars(
            select(Membership).where(
                Membership.user_id == nation.admin.id, Membership.nation_id == nation.nation.id
            )
        ).one()
        membership.permission_level = "staffer"

    nation.factory.database.transaction(demote)
    recorder.seen.clear()

    with pytest.raises(Unauthorized) as caught:
        api.count_people()

    assert caught.value.status_code == 401
    assert caught.value.body == {"code": "unauthorized", "message": caught.value.message}
    assert recorder.routes() == [
        ("GET", "/api/v1/people/count", 401),
        ("POST", "/oauth/token", 200),
        ("GET", "/api/v1/people/count", 401),
    ]


def test_concurrent_calls_refresh_once(connect: Connect, nation: Nation, recorder: Recorder) -> None:
    saved: list[TokenSet] = []
    store = MemoryTokenStore(on_save=saved.append)
    nation.authorize(connect(nation.base_url, asgi=recorder, app=nation.credentials, token_store=store))
    recorder.seen.clear()
    later = connect(
        nation.base_url,
        asgi=recorder,
        app=nation.credentials,
        token_store=store,
        clock=lambda: time.time() + DAY,
    )

    assert later.concurrently(4, "count_people") == [0, 0, 0, 0]

    assert len(saved) == 2
    assert [route for route in recorder.routes() if route[1] == "/oauth/token"] == [
        ("POST", "/oauth/token", 200)
    ]


def test_logout_revokes_and_forgets(connect: Connect, nation: Nation) -> None:
    store = MemoryTokenStore()
    api = connect(nation.base_url, app=nation.credentials, token_store=store)
    first = nation.authorize(api)

    api.logout()

    assert store.load() is None
    with pytest.raises(NotAuthenticated):
        api.count_people()
    with pytest.raises(Unauthorized):
        connect(nation.base_url, access_token=first.access_token).count_people()
    stale = connect(nation.base_url, app=nation.credentials, token_store=MemoryTokenStore(first))
    with pytest.raises(InvalidGrant):
        stale.refresh()


def test_no_secret_in_logs_or_errors(
    connect: Connect, nation: Nation, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="citizenry.client")
    store = MemoryTokenStore()
    api = connect(nation.base_url, app=nation.credentials, token_store=store)
    authorization = api.authorization_request()
    callback = nation.approve(authorization.url)
    first = api.complete_authorization(callback, authorization)
    api.revoke(first.access_token, token_type_hint="access_token")
    api.count_people()
    second = api.tokens()
    with pytest.raises(InvalidGrant) as caught:
        api.complete_authorization(callback, authorization)

    assert second is not None
    secrets_used = [
        nation.app.client_secret,
        query_of(callback)["code"],
        authorization.state,
        authorization.code_verifier,
        first.access_token,
        first.refresh_token,
        second.access_token,
        second.refresh_token,
    ]
    records = [record for record in caplog.records if record.name.startswith("citizenry.client")]
    assert {record.levelno for record in records} >= {logging.INFO}
    visible_texts = [record.getMessage() for record in records]
    visible_texts += [str(caught.value), repr(caught.value), repr(first), str(second), repr(authorization)]
    visible_texts += [repr(nation.credentials)]
    for secret in secrets_used:
        assert secret is not None
        assert not [text for text in visible_texts if secret in text]
