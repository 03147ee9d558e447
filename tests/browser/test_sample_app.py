"""The quick start from the app's side, in chromium: the sample app of examples/sample_app.

The sample app is registered on a developer's nation of its own and serves on 127.0.0.1 in this
process. Each test's admin connects the test's nation to it, as a nation's admin would connect a
third-party app.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import uvicorn
from examples.sample_app import Settings, create_app
from playwright.sync_api import Page, expect
from starlette.types import ASGIApp

from citizenry.store.db import Database
from tests.browser.screens import Screenshots
from tests.browser.steps import Seed, fill_sign_in, path_of
from tests.factory import Factory
from tests.live import HOST, free_port

FIRST_PAGE = [f"First{i} Last{i}" for i in range(10)]
SECOND_PAGE = ["First10 Last10", "First11 Last11"]


@contextmanager
def serve_in_thread(app: ASGIApp, port: int) -> Iterator[str]:
    """Serve ``app`` with uvicorn on 127.0.0.1:``port`` in a thread, and yield its URL."""
    server = uvicorn.Server(uvicorn.Config(app, host=HOST, port=port, log_level="warning", access_log=False))
    thread = threading.Thread(target=server.run, name="sample-app", daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError(f"the sample app did not start on port {port}")
        time.sleep(0.05)
    try:
        yield f"http://{HOST}:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture(scope="module")
def sample_port() -> int:
    return free_port()


@pytest.fixture(scope="module")
def callback_url(sample_port: int) -> str:
    """The sample app's callback, in place of the suite's: the ``page`` fixture lets the browser
    reach the server of the callback URL and the live server only."""
    return f"http://{HOST}:{sample_port}/callback"


@pytest.fixture(scope="module")
def sample_app(database: Database, live_server: str, callback_url: str, sample_port: int) -> Iterator[str]:
    """Register the sample app on a nation of its developer's, serve it, and yield its URL."""
    factory = Factory(database)
    developer = factory.nation(name="Sample App Developers")
    registered = factory.app(developer, redirect_uris=(callback_url,))
    settings = Settings(
        client_id=registered.client_id,
        client_secret=registered.client_secret,
        callback_url=callback_url,
        nation_url=f"{live_server}/n/{{slug}}",
    )
    with serve_in_thread(create_app(settings), sample_port) as url:
        yield url


def connect(page: Page, sample_app: str, seed: Seed) -> None:
    """Type the nation's slug into the sample app, press Connect, and sign in as the admin."""
    page.goto(sample_app)
    page.get_by_label("Nation slug").fill(seed.nation.slug)
    page.get_by_role("button", name="Connect").click()
    page.wait_for_url(f"{seed.base}/login?*")
    fill_sign_in(page, seed.admin.email)
    assert path_of(page.url) == f"{seed.prefix}/oauth/authorize"


def test_sample_app_tour(
    page: Page, seed: Seed, sample_app: str, shots: Screenshots, factory: Factory
) -> None:
    factory.people(seed.nation, 12)
    page.goto(sample_app)
    expect(page.get_by_role("heading", level=1)).to_have_text("Connect your nation")
    shots.main_page(page, "sample-app-connect")

    connect(page, sample_app, seed)
    page.get_by_role("button", name="Authorize", exact=True).click()
    expect(page).to_have_url(f"{sample_app}/people")
    names = page.get_by_test_id("person-name")
    expect(names).to_have_text(FIRST_PAGE)
    expect(page.get_by_role("link", name="Previous page")).to_have_count(0)
    shots.main_page(page, "sample-app-people")

    page.get_by_role("link", name="Next page").click()
    expect(names).to_have_text(SECOND_PAGE)
    expect(page.get_by_role("link", name="Next page")).to_have_count(0)
    page.get_by_role("link", name="Previous page").click()
    expect(names).to_have_text(FIRST_PAGE)

    page.get_by_role("button", name="Disconnect").click()
    expect(page).to_have_url(f"{sample_app}/?notice=disconnected")
    expect(page.get_by_role("status")).to_have_attribute("data-testid", "notice")
    page.goto(f"{sample_app}/people")
    expect(page).to_have_url(f"{sample_app}/")


def test_sample_app_deny(page: Page, seed: Seed, sample_app: str, shots: Screenshots) -> None:
    connect(page, sample_app, seed)
    page.get_by_role("button", name="Deny", exact=True).click()

    page.wait_for_url(f"{sample_app}/callback?*")
    expect(page.get_by_role("alert")).to_have_attribute("data-testid", "access-denied")
    expect(page.get_by_label("Nation slug")).to_have_value(seed.nation.slug)
    expect(page.get_by_role("button", name="Connect")).to_be_visible()
    shots.main_page(page, "sample-app-denied")


def test_sample_app_invalid_slug(page: Page, sample_app: str, seed: Seed) -> None:
    page.goto(sample_app)
    page.get_by_label("Nation slug").fill(f"{seed.nation.slug}.nationbuilder.com")
    page.get_by_role("button", name="Connect").click()

    expect(page.get_by_role("alert")).to_have_attribute("data-testid", "invalid-slug")
    expect(page.get_by_label("Nation slug")).to_have_attribute("aria-invalid", "true")
    assert path_of(page.url) == "/connect"
