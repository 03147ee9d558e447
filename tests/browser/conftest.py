"""Fixtures for the browser tests: a real server, Debian's chromium driven by Playwright, and screenshots.

Chromium is launched from /usr/bin/chromium, never from a ``playwright install`` download.
``make test`` installs it when it is missing (scripts/ensure-services). Without it the tests skip,
except under CI=true, where they fail.
"""

from __future__ import annotations

import os
import re
import socket
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Browser, Page, Playwright, Route, ViewportSize, sync_playwright

from citizenry.store.db import Database
from tests.browser.screens import Screenshots
from tests.browser.servers import callback_server
from tests.browser.steps import Seed
from tests.factory import Factory
from tests.live import HOST, citizenry_server

CHROMIUM = Path("/usr/bin/chromium")
IN_CI = os.environ.get("CI") == "true"
REPO = Path(__file__).resolve().parents[2]

# Playwright already turns off chromium's background networking, component updates, crash reports,
# field trials and extensions, and these switches add what it leaves on. Chromium 156 still requests
# an on-demand component from update.googleapis.com and connects to accounts.google.com at start.
# So every request that is not for a loopback address goes to a proxy port that rejects connections,
# and host names other than 127.0.0.1 do not resolve.
CHROMIUM_ARGS = [
    "--no-sandbox",  # The tests run as root, and chromium's sandbox does not start as root.
    "--disable-gpu",
    "--disable-sync",
    "--disable-domain-reliability",
    "--disable-client-side-phishing-detection",
    "--no-pings",
    f"--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE {HOST}",
]

#: The viewport of every test, and the width of the screenshots in docs/screenshots.
WIDE: ViewportSize = {"width": 1280, "height": 800}


# Playwright's sync API keeps an asyncio loop running in the main thread while it is open, and
# asyncio.run or anyio.run there then fails. Module scope closes it before the other tests run,
# which pytest interleaves with these because the database parameter is session-scoped.
@pytest.fixture(scope="module")
def playwright_driver() -> Iterator[Playwright]:
    if not CHROMIUM.exists():
        reason = f"chromium is not installed at {CHROMIUM}: install it with `apt-get install chromium`"
        if IN_CI:
            pytest.fail(f"{reason} (under CI=true the browser tests must run)")
        pytest.skip(reason)
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="module")
def browser(playwright_driver: Playwright) -> Iterator[Browser]:
    # A socket that is bound but never listens: connections to its port are refused, and no other
    # process can take the port while the browser runs.
    with socket.socket() as refusing:
        refusing.bind((HOST, 0))
        proxy = f"--proxy-server=http://{HOST}:{refusing.getsockname()[1]}"
        chromium = playwright_driver.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=[*CHROMIUM_ARGS, proxy], timeout=30_000
        )
        yield chromium
        chromium.close()


@pytest.fixture(scope="session")
def live_server(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    log_path = tmp_path_factory.mktemp("browser-server") / "server.log"
    # Every test signs in from 127.0.0.1, so the sign-in limit per client address is raised.
    settings = {"CITIZENRY_SIGN_IN_RATE_LIMIT_PER_IP": "1000/minute", "CITIZENRY_METRICS": "0"}
    with citizenry_server(database_url, log_path, **settings) as base_url:
        yield base_url


@pytest.fixture(scope="session")
def callback_url() -> Iterator[str]:
    with callback_server() as url:
        yield url


@pytest.fixture
def seed(database: Database, live_server: str, callback_url: str) -> Seed:
    factory = Factory(database)
    nation = factory.nation(name="Harbour City Tenants")
    return Seed(server_url=live_server, nation=nation, admin=factory.user(nation), callback=callback_url)


@pytest.fixture
def page(browser: Browser, live_server: str, callback_url: str) -> Iterator[Page]:
    """Yield a page in a fresh browser context whose requests may reach only the two test servers."""
    allowed = {urlsplit(live_server).netloc, urlsplit(callback_url).netloc}
    blocked: list[str] = []

    def is_elsewhere(url: str) -> bool:
        parts = urlsplit(url)
        return parts.scheme in {"http", "https", "ws", "wss"} and parts.netloc not in allowed

    def block(route: Route) -> None:
        blocked.append(route.request.url)
        route.abort("blockedbyclient")

    context = browser.new_context(viewport=WIDE, locale="en-GB", timezone_id="UTC")
    context.set_default_timeout(15_000)
    context.route(is_elsewhere, block)
    try:
        yield context.new_page()
    finally:
        context.close()
    assert blocked == [], f"the pages requested addresses other than {HOST}'s test servers"


@pytest.fixture
def shots(request: pytest.FixtureRequest, database_url: str) -> Screenshots:
    """Save screenshots under var/screenshots, and into docs/screenshots too with CITIZENRY_SCREENSHOTS=docs.

    Only the SQLite run writes to docs/screenshots.
    """
    test_folder = re.sub(r"[^A-Za-z0-9_.-]+", "-", request.node.name).strip("-")
    to_docs = os.environ.get("CITIZENRY_SCREENSHOTS") == "docs" and database_url.startswith("sqlite")
    return Screenshots(
        folder=REPO / "var" / "screenshots" / test_folder,
        docs_folder=REPO / "docs" / "screenshots" if to_docs else None,
        wide=WIDE,
    )
