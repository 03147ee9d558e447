"""The sample app's pages: connect a nation, list its people page by page, disconnect."""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import httpx2
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route
from starlette.templating import Jinja2Templates

from citizenry.client import (
    AppCredentials,
    AsyncClient,
    AuthorizationDenied,
    CitizenryError,
    InvalidCallback,
    InvalidGrant,
    MemoryTokenStore,
    NotAuthenticated,
    NotFound,
    RequestTimeout,
    ResponseError,
    TransportError,
    Unauthorized,
)

from . import problems
from .problems import Problem
from .settings import Settings
from .visits import Visit, Visits

logger = logging.getLogger(__name__)

#: The slugs the form accepts. A slug is also one label of a host name, so at most 63 characters.
SLUG = re.compile(r"[A-Za-z0-9_-]{1,63}")
PEOPLE = "/api/v1/people"
PAGE_SIZE = 10
#: Seconds to wait for the nation's server at each step of a request.
TIMEOUT = 10.0
#: Browsers send a cookie of 127.0.0.1 to every port there, so the name differs from Citizenry's.
SESSION_COOKIE = "sample_app_session"
#: The messages the home page shows after a redirect, by the value of its ``notice`` parameter.
NOTICES = {
    "disconnected": "Disconnected. The nation revoked the app's tokens, and the app has forgotten them.",
    "forgotten": "The app has forgotten its tokens, but the nation did not confirm that it revoked them. "
    "To be sure, remove the app from the nation's list of authorized apps.",
}
TEMPLATES = Jinja2Templates(directory=Path(__file__).with_name("templates"))


class Pages:
    """The app's request handlers, with its settings and the visits of every browser."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.credentials = AppCredentials(
            settings.client_id, settings.client_secret, redirect_uri=settings.callback_url
        )
        self.visits = Visits()
        # One connection pool for every nation, opened when the app starts.
        self.http: httpx2.AsyncClient | None = None

    # Pages

    async def home(self, request: Request) -> Response:
        visit = self.visits.find(current_session(request))
        if visit is not None and visit.connected:
            return RedirectResponse("/people", status_code=303)
        notice = NOTICES.get(request.query_params.get("notice", ""))
        return self.home_page(request, notice=notice)

    async def connect(self, request: Request) -> Response:
        """Check the slug and the nation, then send the browser to the nation's consent page."""
        form = await request.form()
        typed = str(form.get("nation", "")).strip()
        if not SLUG.fullmatch(typed):
            return self.home_page(request, slug=typed, problem=problems.invalid_slug(), invalid=True)

        slug = typed.lower()
        client = self.new_client(slug)
        authorization = client.authorization_request()
        problem = await self.check_nation(slug, client.base_url, authorization.url)
        if problem is not None:
            return self.home_page(request, slug=slug, problem=problem)

        self.visits.forget(current_session(request))
        request.session["id"] = self.visits.add(Visit(slug=slug, client=client, pending=authorization))
        logger.info("sending the browser to %s to authorize the app", client.base_url)
        return RedirectResponse(authorization.url, status_code=303)

    async def callback(self, request: Request) -> Response:
        """Check the redirect from the consent page, and exchange its code for tokens."""
        session_id = current_session(request)
        visit = self.visits.find(session_id)
        if session_id is None or visit is None or visit.pending is None:
            problem = problems.authorization_failed(
                "The app has no authorization request waiting for this page: it may have restarted, "
                "or the page was opened twice."
            )
            return self.home_page(request, problem=problem)

        pending, visit.pending = visit.pending, None
        try:
            await visit.client.complete_authorization(str(request.url), pending)
        except CitizenryError as error:
            logger.warning("authorization on %s failed: %s", visit.client.base_url, error)
            self.end_visit(request, session_id)
            return self.home_page(request, slug=visit.slug, problem=self.callback_problem(visit, error))

        # A new session id once connected, so that an id someone saw before is worthless now.
        request.session["id"] = self.visits.renew(session_id)
        logger.info("connected to %s", visit.client.base_url)
        return RedirectResponse("/people", status_code=303)

    async def people(self, request: Request) -> Response:
        """List one page of the nation's people: the first, or the one the ``page`` link names."""
        session_id = current_session(request)
        visit = self.visits.find(session_id)
        if visit is None or not visit.connected:
            return RedirectResponse("/", status_code=303)

        target = page_target(request.query_params.get("page"))
        if target is None:
            return Response("The page parameter is not a link to a page of people.", status_code=400)
        path, params = target
        try:
            body = await visit.client.request("GET", path, params=params)
        except NotFound:
            self.end_visit(request, session_id)
            return self.home_page(
                request, slug=visit.slug, problem=problems.unknown_nation(visit.slug, visit.client.base_url)
            )
        except (Unauthorized, InvalidGrant, NotAuthenticated) as error:
            # The SDK has already tried to refresh the token after the 401, and failed.
            logger.warning("%s no longer accepts the app's tokens: %s", visit.client.base_url, error)
            self.end_visit(request, session_id)
            return self.home_page(request, slug=visit.slug, problem=problems.connection_ended(visit.slug))
        except CitizenryError as error:
            logger.warning("listing people on %s failed: %s", visit.client.base_url, error)
            problem = self.nation_problem(visit, error)
            return self.home_page(request, slug=visit.slug, problem=problem, connected=True)

        if not isinstance(body, dict) or not isinstance(body.get("results"), list):
            problem = problems.nation_error(visit.client.base_url, "the response has no list of results")
            return self.home_page(request, slug=visit.slug, problem=problem, connected=True)
        context = {
            "slug": visit.slug,
            "base_url": visit.client.base_url,
            "people": body["results"],
            "previous_page": page_link(body, "prev"),
            "next_page": page_link(body, "next"),
        }
        return TEMPLATES.TemplateResponse(request, "people.html", context)

    async def disconnect(self, request: Request) -> Response:
        """Revoke the tokens at the nation, and forget them."""
        visit = self.end_visit(request, current_session(request))
        if visit is None:
            return RedirectResponse("/", status_code=303)
        try:
            # Revoking the refresh token revokes the access tokens issued with it too.
            await visit.client.logout()
        except CitizenryError as error:
            logger.warning("revoking the tokens of %s failed: %s", visit.client.base_url, error)
            return RedirectResponse("/?notice=forgotten", status_code=303)
        logger.info("disconnected from %s", visit.client.base_url)
        return RedirectResponse("/?notice=disconnected", status_code=303)

    # Helpers

    def new_client(self, slug: str) -> AsyncClient:
        """Return an SDK client for the nation ``slug``, with an empty in-memory token store."""
        assert self.http is not None, "the app's lifespan has not started"
        return AsyncClient(
            self.settings.base_url(slug),
            app=self.credentials,
            token_store=MemoryTokenStore(),
            http_client=self.http,
            timeout=TIMEOUT,
        )

    async def check_nation(self, slug: str, base_url: str, authorization_url: str) -> Problem | None:
        """Request ``authorization_url`` and return the problem its answer shows, or None.

        Only the nation's server can tell that no nation has the slug, so the app asks it before
        it sends the browser there. A 404 means an unknown nation, and any other response is taken
        to come from a nation that exists.
        """
        assert self.http is not None
        try:
            response = await self.http.get(authorization_url, follow_redirects=False, timeout=TIMEOUT)
        except httpx2.TransportError as error:
            reason = f"no response within {TIMEOUT:g} seconds"
            if not isinstance(error, httpx2.TimeoutException):
                reason = type(error).__name__
            logger.warning("%s did not respond: %s", base_url, reason)
            return problems.unreachable(base_url, reason)
        if response.status_code == 404:
            return problems.unknown_nation(slug, base_url)
        return None

    def callback_problem(self, visit: Visit, error: CitizenryError) -> Problem:
        if isinstance(error, AuthorizationDenied) and error.error == "access_denied":
            return problems.access_denied(visit.slug)
        if isinstance(error, AuthorizationDenied | InvalidCallback):
            return problems.authorization_failed(f"The nation's answer was not accepted: {error}.")
        if isinstance(error, NotFound):
            return problems.unknown_nation(visit.slug, visit.client.base_url)
        if isinstance(error, TransportError):
            return problems.unreachable(visit.client.base_url, describe(error))
        return problems.authorization_failed(f"Exchanging the code for tokens failed: {describe(error)}.")

    def nation_problem(self, visit: Visit, error: CitizenryError) -> Problem:
        if isinstance(error, TransportError):
            return problems.unreachable(visit.client.base_url, describe(error))
        return problems.nation_error(visit.client.base_url, describe(error))

    def end_visit(self, request: Request, session_id: str | None) -> Visit | None:
        """Forget the browser's visit and clear its session. Return the visit, if there was one."""
        request.session.clear()
        return self.visits.forget(session_id)

    def home_page(
        self,
        request: Request,
        *,
        slug: str = "",
        problem: Problem | None = None,
        notice: str | None = None,
        invalid: bool = False,
        connected: bool = False,
    ) -> Response:
        context: dict[str, Any] = {
            "slug": slug,
            "problem": problem,
            "notice": notice,
            "invalid": invalid,
            "connected": connected,
            "example_url": self.settings.base_url("demo"),
        }
        status = problem.status if problem is not None else 200
        return TEMPLATES.TemplateResponse(request, "home.html", context, status_code=status)

    @asynccontextmanager
    async def lifespan(self, app: Starlette) -> AsyncIterator[None]:
        async with httpx2.AsyncClient() as http:
            self.http = http
            logger.info("sample app started; nations at %s", self.settings.nation_url)
            yield
        self.http = None


def page_target(link: str | None) -> tuple[str, dict[str, str]] | None:
    """Return the path and query of the people page ``link`` names, or None if it names none.

    ``link`` is the API's ``next`` or ``prev`` value, such as
    ``/api/v1/people?__nonce=...&__token=...&limit=10``. Anything else is rejected, because the app
    would send its access token with the request.
    """
    if link is None:
        return PEOPLE, {"limit": str(PAGE_SIZE)}
    parts = urlsplit(link)
    if parts.scheme or parts.netloc or parts.path != PEOPLE:
        return None
    params = dict(parse_qsl(parts.query, keep_blank_values=True))
    # NationBuilder's links can lack limit (see citizenry.client.paging), and the server's default
    # page size would apply then.
    params.setdefault("limit", str(PAGE_SIZE))
    return PEOPLE, params


def page_link(body: Any, key: str) -> str | None:
    """Return this app's link to the page the listing's ``next`` or ``prev`` names, if any."""
    link = body.get(key) if isinstance(body, dict) else None
    if not isinstance(link, str) or page_target(link) is None:
        return None
    return "/people?" + urlencode({"page": link})


def current_session(request: Request) -> str | None:
    session_id = request.session.get("id")
    return session_id if isinstance(session_id, str) else None


def describe(error: CitizenryError) -> str:
    """Describe ``error`` in a few words, without its message, which names the request's path."""
    if isinstance(error, RequestTimeout):
        return f"no response within {TIMEOUT:g} seconds"
    if isinstance(error, TransportError):
        return type(error.__cause__).__name__ if error.__cause__ else "the connection failed"
    if isinstance(error, ResponseError):
        return f"status {error.status_code} {error.code or ''}".strip()
    return type(error).__name__


def create_app(settings: Settings) -> Starlette:
    pages = Pages(settings)
    app = Starlette(
        routes=[
            Route("/", pages.home),
            Route("/connect", pages.connect, methods=["POST"]),
            Route(settings.callback_path, pages.callback),
            Route("/people", pages.people),
            Route("/disconnect", pages.disconnect, methods=["POST"]),
        ],
        middleware=[
            # The cookie contains only the signed session id. SameSite=Lax keeps browsers from
            # sending it with another site's form posts to Connect or Disconnect.
            Middleware(
                SessionMiddleware,
                secret_key=settings.secret_key,
                session_cookie=SESSION_COOKIE,
                same_site="lax",
                https_only=settings.https,
            )
        ],
        lifespan=pages.lifespan,
    )
    app.state.visits = pages.visits
    return app


def create_app_from_env() -> Starlette:
    """Build the app from the ``SAMPLE_APP_*`` environment variables, for ``uvicorn --factory``."""
    # uvicorn configures only its own loggers, so this shows the app's lines unless logging is set up.
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    return create_app(Settings.from_env())
