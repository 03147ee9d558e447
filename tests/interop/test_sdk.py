"""Citizenry's own SDK (citizenry.client) as the app, blocking and async, against a live server.

Each client builds the authorization request (state and an S256 challenge), checks the callback and
exchanges the code, reads people page by page, refreshes, and logs out, which revokes the tokens.
"""

from __future__ import annotations

import time
from urllib.parse import parse_qs, urlsplit

import anyio
import pytest

from citizenry.client import (
    AppCredentials,
    AsyncClient,
    Client,
    InvalidCallback,
    MemoryTokenStore,
    NotAuthenticated,
    TokenSet,
)
from citizenry.store.db import Database
from tests.e2e.test_quickstart import LiveServer
from tests.factory import Factory
from tests.interop.live import (
    ACCESS_TOKEN_TTL,
    HEX64,
    LOOPBACK_CALLBACK,
    Parties,
    approve_in_browser,
    assert_token_rejected,
    assert_token_works,
)

PEOPLE = 5


def _credentials(parties: Parties) -> AppCredentials:
    return AppCredentials(parties.app.client_id, parties.app.client_secret, redirect_uri=LOOPBACK_CALLBACK)


def _check_request(url: str, parties: Parties) -> None:
    query = parse_qs(urlsplit(url).query)
    assert query["client_id"] == [parties.app.client_id]
    assert query["redirect_uri"] == [LOOPBACK_CALLBACK]
    assert query["code_challenge_method"] == ["S256"]


def _check_tokens(tokens: TokenSet, issued_after: float) -> None:
    assert HEX64.match(tokens.access_token)
    assert tokens.refresh_token is not None
    assert HEX64.match(tokens.refresh_token)
    assert tokens.expires_at is not None
    assert issued_after + ACCESS_TOKEN_TTL - 5 <= tokens.expires_at <= time.time() + ACCESS_TOKEN_TTL


def test_blocking_client_flow(live_server: LiveServer, parties: Parties, database: Database) -> None:
    people = sorted(Factory(database).people(parties.nation, PEOPLE))
    saved: list[TokenSet] = []
    store = MemoryTokenStore(on_save=saved.append)

    with Client(
        live_server.nation_url(parties.nation), app=_credentials(parties), token_store=store
    ) as client:
        request = client.authorization_request()
        _check_request(request.url, parties)
        started = time.time()
        first = client.complete_authorization(approve_in_browser(live_server, parties, request.url), request)
        _check_tokens(first, started)
        assert saved == [first]

        assert client.count_people() == PEOPLE
        assert [person["id"] for person in client.list_people(limit=2)] == people
        assert [person["id"] for person in client.search_people({"last_name": "Last3"})] == [people[3]]

        second = client.refresh()
        assert second.access_token != first.access_token
        assert saved == [first, second]
        assert_token_rejected(live_server, parties.nation, first.access_token)
        assert_token_works(live_server, parties.nation, second.access_token, PEOPLE)

        client.logout()
        assert store.load() is None

    assert_token_rejected(live_server, parties.nation, second.access_token)


def test_async_client_flow(live_server: LiveServer, parties: Parties, database: Database) -> None:
    people = sorted(Factory(database).people(parties.nation, PEOPLE))
    store = MemoryTokenStore()

    async def run() -> tuple[TokenSet, TokenSet]:
        base = live_server.nation_url(parties.nation)
        async with AsyncClient(base, app=_credentials(parties), token_store=store) as client:
            request = client.authorization_request()
            _check_request(request.url, parties)
            started = time.time()
            # The browser's part blocks the event loop, which has nothing else to run meanwhile.
            callback = approve_in_browser(live_server, parties, request.url)
            first = await client.complete_authorization(callback, request)
            _check_tokens(first, started)

            assert await client.count_people() == PEOPLE
            assert [person["id"] async for person in client.list_people(limit=2)] == people
            second = await client.refresh()
            await client.logout()
            with pytest.raises(NotAuthenticated):
                await client.count_people()
            return first, second

    first, second = anyio.run(run)

    assert store.load() is None
    assert first.access_token != second.access_token
    assert_token_rejected(live_server, parties.nation, first.access_token)
    assert_token_rejected(live_server, parties.nation, second.access_token)


def test_callback_with_another_state_is_rejected(live_server: LiveServer, parties: Parties) -> None:
    with Client(live_server.nation_url(parties.nation), app=_credentials(parties)) as client:
        request = client.authorization_request()
        other = client.authorization_request()
        callback = approve_in_browser(live_server, parties, request.url)

        with pytest.raises(InvalidCallback):
            client.complete_authorization(callback, other)
        assert client.tokens() is None
