"""Fixtures that run each client test with the blocking client and with the async client.

The clients talk to a Citizenry app of their own in this process: the blocking one through
Starlette's TestClient (an ``httpx2.Client``), the async one through ``httpx2.ASGITransport`` in an
event loop that an anyio blocking portal runs. :class:`Blocking` lets one test body call either.
The browser side of the authorization flow uses the suite's ``client`` fixture, on another app
instance over the same database.
"""

from __future__ import annotations

import inspect
import json
import re
import secrets
import time
from collections.abc import AsyncIterator, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import parse_qs, parse_qsl, urlencode, urlsplit

import anyio
import anyio.from_thread
import httpx2
import pytest
from starlette.testclient import TestClient
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from citizenry.app import create_app
from citizenry.client import AppCredentials, AsyncClient, Client, TokenSet
from citizenry.settings import Settings
from tests.factory import CALLBACK, AppInfo, Factory, NationInfo, UserInfo
from tests.flows import decide, sign_in

SERVER = "http://testserver"


class Blocking:
    """Either client, with every method called as a blocking one.

    Coroutines are awaited in the portal's event loop, and listings (iterators or async
    iterators) are returned as lists.
    """

    def __init__(self, client: Client | AsyncClient, portal: anyio.from_thread.BlockingPortal | None) -> None:
        self.client = client
        self._portal = portal

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self.client, name)
        if not callable(attribute):
            return attribute

        def call(*args: Any, **kwargs: Any) -> Any:
            if self._portal is None:
                result = attribute(*args, **kwargs)
                return list(result) if isinstance(result, Iterator) else result
            return self._portal.call(_settle, attribute, args, kwargs)

        return call

    def concurrently(self, count: int, name: str) -> list[Any]:
        """Call method ``name`` ``count`` times at once: in threads, or in tasks of one event loop."""
        method = getattr(self.client, name)
        if self._portal is None:
            with ThreadPoolExecutor(max_workers=count) as pool:
                return list(pool.map(lambda _: method(), range(count)))
        return self._portal.call(_gather, method, count)


async def _settle(attribute: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    result = attribute(*args, **kwargs)
    if isinstance(result, AsyncIterator):
        return [item async for item in result]
    if inspect.isawaitable(result):
        return await result
    return result


async def _gather(method: Callable[[], Any], count: int) -> list[Any]:
    results: list[Any] = [None] * count

    async def run(index: int) -> None:
        results[index] = await method()

    async with anyio.create_task_group() as group:
        for index in range(count):
            group.start_soon(run, index)
    return results


@dataclass(frozen=True)
class Seen:
    """A request the app received: its path below the nation's prefix, its query and its status."""

    method: str
    path: str
    query: dict[str, list[str]]
    status: int


class Recorder:
    """An ASGI middleware that records the requests reaching ``inner``, and their statuses.

    With ``strip_next``, it also cuts the ``next`` link of listing bodies down to ``__nonce`` and
    ``__token``, as NationBuilder's links have been seen, so that a client must re-add the filters
    and ``limit`` itself.
    """

    def __init__(self, inner: ASGIApp, *, strip_next: bool = False) -> None:
        self.inner = inner
        self.strip_next = strip_next
        self.seen: list[Seen] = []

    def routes(self) -> list[tuple[str, str, int]]:
        return [(seen.method, seen.path, seen.status) for seen in self.seen]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.inner(scope, receive, send)
            return

        status = 0
        start: dict[str, Any] = {}
        chunks: list[bytes] = []

        async def forward(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                if self.strip_next:
                    start.update(message)
                    return
            elif message["type"] == "http.response.body" and self.strip_next:
                chunks.append(message.get("body", b""))
                if message.get("more_body"):
                    return
                body = _cursor_only_next(b"".join(chunks))
                headers = [(name, value) for name, value in start["headers"] if name != b"content-length"]
                await send({**start, "headers": [*headers, (b"content-length", str(len(body)).encode())]})
                message = {"type": "http.response.body", "body": body}
            await send(message)

        await self.inner(scope, receive, forward)
        query = parse_qs(scope["query_string"].decode(), keep_blank_values=True)
        path = re.sub(r"^/n/[^/]+", "", scope["path"])
        self.seen.append(Seen(method=scope["method"], path=path, query=query, status=status))


def _cursor_only_next(body: bytes) -> bytes:
    try:
        data = json.loads(body)
    except ValueError:
        return body
    if not isinstance(data, dict) or not isinstance(data.get("next"), str):
        return body
    link = urlsplit(data["next"])
    cursor = [(name, value) for name, value in parse_qsl(link.query) if name in {"__nonce", "__token"}]
    data["next"] = f"{link.path}?{urlencode(cursor)}"
    return json.dumps(data).encode()


class Connect(Protocol):
    def __call__(
        self,
        base_url: str,
        *,
        asgi: ASGIApp | None = ...,
        network: bool = ...,
        sleeps: list[float] | None = ...,
        really_sleep: bool = ...,
        **options: Any,
    ) -> Blocking: ...


def _recording_sleep(flavour: str, sleeps: list[float], *, really: bool) -> Callable[[float], Any]:
    """Return a sleep function for the client that appends each delay to ``sleeps``, and waits
    only when ``really`` is true."""
    if flavour == "sync":

        def sleep(seconds: float) -> None:
            sleeps.append(seconds)
            if really:
                time.sleep(seconds)

        return sleep

    async def sleep_async(seconds: float) -> None:
        sleeps.append(seconds)
        if really:
            await anyio.sleep(seconds)

    return sleep_async


@pytest.fixture(scope="session")
def sdk_app(settings: Settings):  # type: ignore[no-untyped-def]
    """The app the clients call: another instance than the browser's, over the same database."""
    return create_app(settings)


@pytest.fixture
def recorder(sdk_app: ASGIApp) -> Recorder:
    """The clients' app behind a :class:`Recorder`. A test that uses it calls no other app."""
    return Recorder(sdk_app)


@pytest.fixture(params=["sync", "async"])
def flavour(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def connect(flavour: str, request: pytest.FixtureRequest) -> Iterator[Connect]:
    """Yield a function that opens a client of this test's flavour on ``base_url``.

    The client calls ``asgi`` (the ``sdk_app`` fixture by default) in this process, or, with
    ``network=True``, opens real connections. ``sleeps`` collects the delays the client waits,
    which it waits for real only with ``really_sleep``. Other keyword arguments go to the client.
    """
    with ExitStack() as stack:
        portal = None
        if flavour == "async":
            portal = stack.enter_context(anyio.from_thread.start_blocking_portal())
        http_clients: dict[int, Any] = {}

        def in_process(app: ASGIApp) -> Any:
            """Return the HTTP client that calls ``app``, one per app, starting its lifespan."""
            if id(app) in http_clients:
                return http_clients[id(app)]
            if portal is None:
                http: Any = stack.enter_context(TestClient(app, base_url=SERVER))
            else:
                # TestClient runs the app's lifespan itself; ASGITransport does not.
                target: Any = getattr(app, "inner", app)
                lifespan = target.router.lifespan_context(target)
                stack.enter_context(portal.wrap_async_context_manager(lifespan))
                http = httpx2.AsyncClient(transport=httpx2.ASGITransport(app=app))
                stack.callback(portal.call, http.aclose)
            http_clients[id(app)] = http
            return http

        def open_network_client() -> Any:
            if portal is None:
                return stack.enter_context(httpx2.Client(timeout=None))
            http = httpx2.AsyncClient(timeout=None)
            stack.callback(portal.call, http.aclose)
            return http

        def open_client(
            base_url: str,
            *,
            asgi: ASGIApp | None = None,
            network: bool = False,
            sleeps: list[float] | None = None,
            really_sleep: bool = False,
            **options: Any,
        ) -> Blocking:
            if network:
                # Without a timeout of its own, so that only the client's timeout applies.
                options["http_client"] = open_network_client()
            else:
                # Asked for here, so that tests of network clients alone need no database.
                options["http_client"] = in_process(
                    asgi if asgi is not None else request.getfixturevalue("sdk_app")
                )
            if sleeps is not None:
                options["sleep"] = _recording_sleep(flavour, sleeps, really=really_sleep)
            if portal is None:
                return Blocking(stack.enter_context(Client(base_url, **options)), None)
            client = AsyncClient(base_url, **options)
            stack.callback(portal.call, client.aclose)
            return Blocking(client, portal)

        yield open_client


class Nation:
    """A nation with an admin and a registered app, and the browser that signs the admin in."""

    def __init__(self, factory: Factory, browser: TestClient) -> None:
        self.factory = factory
        self.browser = browser
        self.nation: NationInfo = factory.nation()
        self.admin: UserInfo = factory.user(self.nation)
        self.app: AppInfo = factory.app(self.nation)
        self.credentials = AppCredentials(self.app.client_id, self.app.client_secret, redirect_uri=CALLBACK)

    @property
    def base_url(self) -> str:
        return f"{SERVER}{self.nation.prefix}"

    def api_token(self, user: UserInfo | None = None) -> str:
        return self.factory.test_token(self.nation, user or self.admin)

    def approve(self, authorization_url: str, *, decision: str = "authorize") -> str:
        """Sign the admin in and decide on the consent page; return the redirect to the callback."""
        signed_in = sign_in(self.browser, self.nation.prefix, self.admin.email)
        assert signed_in.status_code == 303
        page = self.browser.get(authorization_url)
        assert page.status_code == 200, page.text
        response = decide(self.browser, self.nation.prefix, page.text, decision)
        assert response.status_code == 302
        location: str = response.headers["location"]
        return location

    def authorize(self, api: Blocking) -> TokenSet:
        """Run the whole authorization code flow with ``api``; return the tokens it stored."""
        authorization = api.authorization_request()
        tokens: TokenSet = api.complete_authorization(self.approve(authorization.url), authorization)
        return tokens


@pytest.fixture
def nation(factory: Factory, client: TestClient) -> Nation:
    return Nation(factory, client)


def random_name() -> str:
    return f"Name{secrets.token_hex(4)}"
