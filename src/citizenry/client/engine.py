"""The client's logic, written once for both clients as sans-IO operations.

:class:`Engine` contains a client's settings and tokens. Its methods return operations (see
:mod:`citizenry.client.sansio`) that send requests with a timeout, wait out 429 responses, refresh the
access token before it expires and once after a 401, save every new token pair to the store, map
error responses to exceptions and follow ``next`` links.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, TypedDict, Unpack
from urllib.parse import urlsplit

import httpx2

from citizenry.client import oauth
from citizenry.client.errors import (
    NotAuthenticated,
    RequestTimeout,
    TransportError,
    UnexpectedResponse,
    error_from_response,
    retry_after_seconds,
)
from citizenry.client.paging import next_page_target, page_contents
from citizenry.client.sansio import Operation, emit, exclusive, send, sleep
from citizenry.client.stores import TokenStore
from citizenry.client.tokens import AppCredentials, TokenSet

logger = logging.getLogger(__name__)

USER_AGENT = "citizenry-client"
NATION_SLUG = re.compile(r"[a-z0-9][a-z0-9_-]*")

Query = Sequence[tuple[str, str]]


class RequestParts(TypedDict, total=False):
    """The optional parts of an API request: the query, the JSON body and extra headers."""

    params: Query
    json: Any
    headers: Mapping[str, str]


@dataclass(frozen=True)
class Options:
    """The timeout, retry limits and refresh margin of a client, in seconds."""

    #: Limit of each phase of a request: connecting, writing, each read, waiting for a pooled connection.
    timeout: float | httpx2.Timeout = 30.0
    #: Maximum retries after 429 responses; the next 429 raises :class:`~citizenry.client.errors.RateLimited`.
    max_retries: int = 3
    #: Maximum wait before a retry. A longer ``Retry-After`` raises ``RateLimited`` at once.
    max_retry_delay: float = 60.0
    #: How long before its expiry an access token is refreshed.
    refresh_leeway: float = 60.0


def resolve_base_url(base_url: str | None, nation: str | None) -> str:
    """Return ``base_url`` without a trailing slash, or NationBuilder's base URL for ``nation``."""
    if (base_url is None) == (nation is None):
        raise ValueError("give either base_url or nation (a NationBuilder nation slug), not both")
    if nation is not None:
        slug = nation.lower()
        if not NATION_SLUG.fullmatch(slug):
            raise ValueError(f"invalid nation slug {nation!r}: use letters, digits, '-' and '_'")
        return f"https://{slug}.nationbuilder.com"

    assert base_url is not None
    parts = urlsplit(base_url)
    if parts.username is not None or parts.password is not None:
        raise ValueError("invalid base URL: remove the user name and password from it")
    if parts.scheme not in {"http", "https"} or not parts.netloc or parts.query or parts.fragment:
        raise ValueError(
            f"invalid base URL {base_url!r}: give http(s)://host[:port][/path], without a query or fragment"
        )
    return base_url.rstrip("/")


class Engine:
    """A client's state and logic for one nation, shared by :class:`Client` and :class:`AsyncClient`."""

    def __init__(
        self,
        *,
        base_url: str,
        app: AppCredentials | None,
        store: TokenStore,
        options: Options,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.base_url = base_url
        self.app = app
        self.store = store
        self.options = options
        self.clock = clock
        self._timeout = httpx2.Timeout(options.timeout).as_dict()
        self._tokens: TokenSet | None = None
        self._loaded = False

    # Tokens

    def current_tokens(self) -> TokenSet | None:
        """Return the tokens in use, loading them from the store the first time."""
        if not self._loaded:
            self._tokens = self.store.load()
            self._loaded = True
        return self._tokens

    def _keep(self, tokens: TokenSet) -> TokenSet:
        self._tokens, self._loaded = tokens, True
        self.store.save(tokens)
        return tokens

    def _forget(self) -> None:
        self._tokens, self._loaded = None, True
        self.store.delete()

    def _require_app(self) -> AppCredentials:
        if self.app is None:
            raise ValueError("this client has no app credentials: pass app=AppCredentials(client_id, ...)")
        return self.app

    def _can_refresh(self, tokens: TokenSet) -> bool:
        return tokens.refresh_token is not None and self.app is not None

    # Requests

    def url(self, path: str) -> str:
        if not path.startswith("/"):
            raise ValueError(f"the path {path!r} must start with '/', as in '/api/v1/people'")
        return self.base_url + path

    def build_request(
        self,
        method: str,
        path: str,
        *,
        params: Query | None = None,
        json: Any = None,
        data: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> httpx2.Request:
        all_headers = httpx2.Headers({"Accept": "application/json", "User-Agent": USER_AGENT})
        all_headers.update(headers or {})
        return httpx2.Request(
            method,
            self.url(path),
            params=list(params or []),
            json=json,
            data=data,
            headers=all_headers,
            extensions={"timeout": self._timeout},
        )

    def _transmit(self, request: httpx2.Request) -> Operation[httpx2.Response]:
        """Send ``request`` once, raising the client's own errors for transport failures."""
        try:
            return (yield from send(request))
        except httpx2.TimeoutException as error:
            raise RequestTimeout(f"{request.method} {request.url.path} timed out") from error
        except httpx2.TransportError as error:
            detail = f"{type(error).__name__}: {error}"
            raise TransportError(f"{request.method} {request.url.path} failed: {detail}") from error

    def send(self, request: httpx2.Request) -> Operation[httpx2.Response]:
        """Send ``request``; after a 429, wait the ``Retry-After`` delay and retry, ``max_retries`` times."""
        retries = 0
        while True:
            response = yield from self._transmit(request)
            if response.status_code != 429:
                return response

            # An HTTP-date Retry-After is compared with the real time, never with the injected clock.
            delay = retry_after_seconds(response)
            if delay is None:
                # Without Retry-After, back off exponentially: 1, 2, 4, ... seconds.
                delay = min(2.0**retries, self.options.max_retry_delay)
            if retries >= self.options.max_retries or delay > self.options.max_retry_delay:
                logger.warning(
                    "%s %s rate limited; giving up after %d retries (next delay would be %.1f s)",
                    request.method,
                    request.url.path,
                    retries,
                    delay,
                )
                raise error_from_response(response)

            retries += 1
            logger.warning(
                "%s %s rate limited; retry %d of %d in %.1f s",
                request.method,
                request.url.path,
                retries,
                self.options.max_retries,
                delay,
            )
            yield from sleep(delay)

    def call(self, method: str, path: str, **parts: Unpack[RequestParts]) -> Operation[httpx2.Response]:
        """Send an API request with the access token and return the success response.

        The token is refreshed first when it expires within ``refresh_leeway``, or after a 401 when
        it was not refreshed already, and the request is then sent again once.
        """
        tokens = self.current_tokens()
        if tokens is None:
            raise NotAuthenticated("no access token: authorize the app first, or set CITIZENRY_TOKEN")

        refreshed = False
        if self._can_refresh(tokens) and tokens.expires_within(self.options.refresh_leeway, now=self.clock()):
            logger.info("access token expires soon; refreshing it before %s %s", method, path)
            tokens = yield from self._refresh_exclusively(tokens)
            refreshed = True

        while True:
            headers = {"Authorization": f"Bearer {tokens.access_token}", **parts.get("headers", {})}
            request = self.build_request(
                method, path, params=parts.get("params"), json=parts.get("json"), headers=headers
            )
            response = yield from self.send(request)
            if response.status_code == 401 and not refreshed and self._can_refresh(tokens):
                logger.info("%s %s returned 401; refreshing the access token and retrying once", method, path)
                tokens = yield from self._refresh_exclusively(tokens)
                refreshed = True
                continue
            if response.is_error:
                raise error_from_response(response)
            return response

    def call_json(self, method: str, path: str, **parts: Unpack[RequestParts]) -> Operation[Any]:
        """Like :meth:`call`, and return the parsed JSON body, or None for an empty one (204)."""
        response = yield from self.call(method, path, **parts)
        if not response.content:
            return None
        try:
            return response.json()
        except ValueError as error:
            raise UnexpectedResponse(
                f"{method} {path} returned {response.status_code} without a JSON body"
            ) from error

    def paginate(self, path: str, params: Query | None = None) -> Operation[None]:
        """Emit every result of a token-paginated listing, page after page."""
        original = list(params or [])
        query: list[tuple[str, str]] = original
        previous_link = None
        while True:
            body = yield from self.call_json("GET", path, params=query)
            results, next_link = page_contents(body)
            for item in results:
                yield from emit(item)
            if next_link is None:
                return
            if next_link == previous_link:
                raise UnexpectedResponse(f"GET {path} returned the same next link twice; stopping")
            previous_link = next_link
            path, query = next_page_target(next_link, original, self.base_url)

    # OAuth

    def authorization_request(
        self, *, redirect_uri: str | None = None, scope: str | None = None, state: str | None = None
    ) -> oauth.AuthorizationRequest:
        app = self._require_app()
        return oauth.build_authorization_request(
            self.base_url, app, redirect_uri=redirect_uri, scope=scope, state=state
        )

    def _token_request(self, form: Mapping[str, str]) -> Operation[TokenSet]:
        response = yield from self.send(self.build_request("POST", "/oauth/token", data=form))
        if response.is_error:
            raise error_from_response(response)
        try:
            body = response.json()
        except ValueError as error:
            raise UnexpectedResponse("the token endpoint returned a response without a JSON body") from error
        return TokenSet.from_token_response(body, now=self.clock())

    def exchange_code(
        self, code: str, *, code_verifier: str | None = None, redirect_uri: str | None = None
    ) -> Operation[TokenSet]:
        """Exchange an authorization code for tokens, and save them to the store."""
        app = self._require_app()
        form = oauth.authorization_code_form(
            app, code, code_verifier=code_verifier, redirect_uri=redirect_uri or app.redirect_uri
        )
        tokens = yield from self._token_request(form)
        logger.info("authorization code exchanged for tokens (client_id %s)", app.client_id)
        return self._keep(tokens)

    def complete_authorization(
        self, callback_url: str, request: oauth.AuthorizationRequest
    ) -> Operation[TokenSet]:
        """Check the redirect to the callback against ``request``, then exchange its code."""
        code = oauth.code_from_callback(callback_url, request, issuer=self.base_url)
        return (
            yield from self.exchange_code(
                code, code_verifier=request.code_verifier, redirect_uri=request.redirect_uri
            )
        )

    def _refresh_exclusively(self, stale: TokenSet) -> Operation[TokenSet]:
        return exclusive(self._refresh_unless_done(stale))

    def _refresh_unless_done(self, stale: TokenSet) -> Operation[TokenSet]:
        """Refresh ``stale``, unless the store already contains newer tokens.

        Runs under the client's lock. A refresh token works once and presenting it again revokes
        its whole family, so a task or process that waited for another one's refresh must use the
        result instead of refreshing again.
        """
        # NOTE: the lock is per client object. Two processes sharing a store can still refresh the
        # same token at the same moment, and the second one then revokes the family.
        stored = self.store.load()
        if stored is not None and stored.access_token != stale.access_token:
            logger.info("tokens were refreshed elsewhere; using the stored ones")
            self._tokens, self._loaded = stored, True
            return stored
        return (yield from self._refresh_now(stale))

    def _refresh_now(self, tokens: TokenSet) -> Operation[TokenSet]:
        app = self._require_app()
        if tokens.refresh_token is None:
            raise NotAuthenticated("the stored tokens have no refresh token: authorize the app again")
        fresh = yield from self._token_request(oauth.refresh_form(app, tokens.refresh_token))
        if fresh.refresh_token is None:
            # A server that does not rotate refresh tokens keeps the old one working.
            fresh = replace(fresh, refresh_token=tokens.refresh_token)
        logger.info("access token refreshed (client_id %s)", app.client_id)
        return self._keep(fresh)

    def refresh(self) -> Operation[TokenSet]:
        """Refresh the stored tokens now, whatever their expiry, and save the new pair."""

        def refresh_current() -> Operation[TokenSet]:
            tokens = self.store.load()
            if tokens is None:
                raise NotAuthenticated("no tokens to refresh: authorize the app first")
            return (yield from self._refresh_now(tokens))

        return exclusive(refresh_current())

    def revoke(self, token: str, *, token_type_hint: str | None = None) -> Operation[None]:
        """Revoke an access or refresh token of this app (RFC 7009)."""
        app = self._require_app()
        form = oauth.revocation_form(app, token, token_type_hint=token_type_hint)
        response = yield from self.send(self.build_request("POST", "/oauth/revoke", data=form))
        if response.is_error:
            raise error_from_response(response)
        logger.info("token revoked (client_id %s, hint %s)", app.client_id, token_type_hint or "none")

    def logout(self) -> Operation[None]:
        """Revoke the stored tokens, when the client has app credentials, and delete them from the store.

        Revoking the refresh token revokes the access tokens issued with it too.
        """
        tokens = self.current_tokens()
        if tokens is not None and self.app is not None:
            if tokens.refresh_token is not None:
                yield from self.revoke(tokens.refresh_token, token_type_hint="refresh_token")  # noqa: S106 (a wire value)
            else:
                yield from self.revoke(tokens.access_token, token_type_hint="access_token")  # noqa: S106 (a wire value)
        elif tokens is not None:
            logger.info("no app credentials to revoke the tokens with; deleting them only")
        self._forget()
