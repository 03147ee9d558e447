"""The base of both clients: construction, the authorization request, and the token store."""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Generic, TypeVar

import httpx2

from citizenry.client.engine import Engine, Options, resolve_base_url
from citizenry.client.oauth import AuthorizationRequest
from citizenry.client.stores import MemoryTokenStore, TokenStore
from citizenry.client.surface import Endpoints
from citizenry.client.tokens import AppCredentials, TokenSet

HttpClient = TypeVar("HttpClient")
SleepFunction = TypeVar("SleepFunction")
Lock = TypeVar("Lock")
Wrapper = TypeVar("Wrapper", bound=Callable[..., object])


def named_like(wrapper: Wrapper, operation: Callable[..., object]) -> Wrapper:
    """Give a bound method the name and documentation of the operation it runs."""
    wrapper.__name__ = operation.__name__
    wrapper.__qualname__ = operation.__qualname__
    wrapper.__doc__ = operation.__doc__
    return wrapper


class ClientBase(Endpoints, ABC, Generic[HttpClient, SleepFunction, Lock]):
    """A client for one nation: NationBuilder's or any Citizenry server.

    Give ``base_url`` (``https://demo.example.org``, or ``http://127.0.0.1:8000/n/demo`` for a
    Citizenry nation reached by its path prefix) or ``nation``, a NationBuilder slug that means
    ``https://{nation}.nationbuilder.com``.

    ``app`` is needed for the OAuth methods and for refreshing. Tokens come from ``token_store``
    (see :func:`~citizenry.client.default_token_store`), or from ``access_token`` alone, else the
    client starts with an empty in-memory store. ``timeout``, ``max_retries``, ``max_retry_delay``
    and ``refresh_leeway`` are described in :class:`~citizenry.client.engine.Options`.
    ``http_client`` replaces the HTTP client the client would open, and this client does not close
    it. ``sleep`` is the function that waits before a retry. ``clock`` returns the time in seconds
    since the epoch, which token expiry is compared with.
    """

    def __init__(
        self,
        base_url: str | None = None,
        *,
        nation: str | None = None,
        app: AppCredentials | None = None,
        access_token: str | None = None,
        token_store: TokenStore | None = None,
        timeout: float | httpx2.Timeout = Options.timeout,
        max_retries: int = Options.max_retries,
        max_retry_delay: float = Options.max_retry_delay,
        refresh_leeway: float = Options.refresh_leeway,
        http_client: HttpClient | None = None,
        sleep: SleepFunction | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if access_token is not None and token_store is not None:
            raise ValueError("give access_token or token_store, not both")
        if token_store is None:
            token_store = MemoryTokenStore(TokenSet(access_token=access_token) if access_token else None)
        options = Options(
            timeout=timeout,
            max_retries=max_retries,
            max_retry_delay=max_retry_delay,
            refresh_leeway=refresh_leeway,
        )
        self._engine = Engine(
            base_url=resolve_base_url(base_url, nation),
            app=app,
            store=token_store,
            options=options,
            clock=clock,
        )
        self._owns_http = http_client is None
        self._http: HttpClient = http_client if http_client is not None else self._open_http()
        self._sleep: SleepFunction = sleep if sleep is not None else self._default_sleep()
        # Held while refreshing, so that one refresh token is never presented twice.
        self._refresh_lock: Lock = self._new_lock()

    @abstractmethod
    def _open_http(self) -> HttpClient: ...

    @abstractmethod
    def _default_sleep(self) -> SleepFunction: ...

    @abstractmethod
    def _new_lock(self) -> Lock: ...

    @property
    def base_url(self) -> str:
        """The nation's base URL, without a trailing slash."""
        return self._engine.base_url

    @property
    def app(self) -> AppCredentials | None:
        return self._engine.app

    @property
    def token_store(self) -> TokenStore:
        return self._engine.store

    def tokens(self) -> TokenSet | None:
        """Return the tokens the client sends, loading them from the store the first time."""
        return self._engine.current_tokens()

    def authorization_request(
        self, *, redirect_uri: str | None = None, scope: str | None = None, state: str | None = None
    ) -> AuthorizationRequest:
        """Build the URL to open in a browser, with a new ``state`` and an S256 PKCE challenge.

        ``redirect_uri`` defaults to the app's. Keep the returned request for
        :meth:`complete_authorization`, which checks the callback against it.
        """
        return self._engine.authorization_request(redirect_uri=redirect_uri, scope=scope, state=state)
