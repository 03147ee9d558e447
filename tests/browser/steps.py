"""Steps that several browser tests take: signing in, registering an app, authorizing it, calling the API.

The browser steps click and type as a person would. The app's side (the code exchange and the API
calls) goes over HTTP with requests, as an app's server would.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urlsplit

import requests
from playwright.sync_api import Page, expect

from tests.factory import PASSWORD, NationInfo, UserInfo
from tests.flows import query_of

HEX64 = re.compile(r"^[0-9a-f]{64}$")


@dataclass(frozen=True)
class Seed:
    """A nation of the test's own on the live server, with an admin who can use developer tools."""

    server_url: str
    nation: NationInfo
    admin: UserInfo
    callback: str

    @property
    def prefix(self) -> str:
        return self.nation.prefix

    @property
    def base(self) -> str:
        """The nation's base URL, as an app would be configured with it."""
        return f"{self.server_url}{self.nation.prefix}"


@dataclass(frozen=True)
class Credentials:
    """An app's Client ID and Client Secret, as read from the control panel."""

    client_id: str
    client_secret: str


def fill_sign_in(page: Page, email: str, password: str = PASSWORD) -> None:
    page.get_by_label("E-mail address").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


def sign_in(page: Page, seed: Seed) -> None:
    """Sign in as the seed's admin from the sign-in page, and wait for the dashboard."""
    page.goto(f"{seed.base}/login")
    fill_sign_in(page, seed.admin.email)
    expect(page).to_have_url(f"{seed.base}/admin")


def open_developer_page(page: Page, seed: Seed) -> None:
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Settings > Developer").click()
    expect(page).to_have_url(f"{seed.base}/admin/settings/developer")


def register_app(page: Page, seed: Seed, name: str) -> Credentials:
    """Register an app under Settings > Developer and read its Uid and Secret from the page."""
    open_developer_page(page, seed)
    page.get_by_role("link", name="Register app").click()
    page.get_by_label("Name").fill(name)
    page.get_by_label("OAuth callback URL").fill(seed.callback)
    page.get_by_role("button", name="Register app").click()

    expect(page.get_by_role("heading", level=1)).to_have_text(name)
    return Credentials(
        client_id=page.get_by_test_id("client-id").inner_text(),
        client_secret=page.get_by_test_id("client-secret").inner_text(),
    )


def authorize_url(seed: Seed, client_id: str, state: str) -> str:
    query = urlencode(
        {"response_type": "code", "client_id": client_id, "redirect_uri": seed.callback, "state": state}
    )
    return f"{seed.base}/oauth/authorize?{query}"


def decide_on_consent(page: Page, seed: Seed, decision: str) -> dict[str, str]:
    """Press Authorize or Deny on the consent page, and return the query the app's callback receives."""
    page.get_by_role("button", name=decision, exact=True).click()
    page.wait_for_url(f"{seed.callback}?*")
    expect(page.get_by_role("heading", name="App callback")).to_be_visible()
    return query_of(page.url)


def approve(page: Page, seed: Seed, client_id: str) -> str:
    """Open the consent page as the signed-in admin, press Authorize, and return the code."""
    state = secrets.token_urlsafe(8)
    page.goto(authorize_url(seed, client_id, state))
    expect(page.get_by_role("button", name="Authorize", exact=True)).to_be_visible()
    query = decide_on_consent(page, seed, "Authorize")
    assert query["state"] == state
    return query["code"]


def exchange_code(seed: Seed, credentials: Credentials, code: str) -> dict[str, Any]:
    """Redeem an authorization code at the token endpoint and return the parsed token response."""
    response = requests.post(
        f"{seed.base}/oauth/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "client_id": credentials.client_id,
            "client_secret": credentials.client_secret,
            "redirect_uri": seed.callback,
        },
        headers={"Accept": "application/json"},
        timeout=10,
    )
    assert response.status_code == 200, response.text
    token: dict[str, Any] = response.json()
    assert HEX64.match(token["access_token"])
    assert token["token_type"] == "bearer"
    return token


def get_people(seed: Seed, access_token: str, **params: str) -> requests.Response:
    return requests.get(
        f"{seed.base}/api/v1/people",
        params=params,
        headers={"Authorization": f"Bearer {access_token}", "Accept": "application/json"},
        timeout=10,
    )


def path_of(url: str) -> str:
    return urlsplit(url).path
