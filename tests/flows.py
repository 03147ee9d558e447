"""The browser side of the authorization flow, driven over HTTP as a browser would drive it."""

from __future__ import annotations

import re
from html import unescape
from typing import Any
from urllib.parse import parse_qs, urlsplit

import requests
from starlette.testclient import TestClient

from tests.factory import CALLBACK, PASSWORD, AppInfo


def hidden_field(html: str, name: str) -> str:
    match = re.search(rf'name="{re.escape(name)}" value="([^"]*)"', html)
    assert match is not None, f"no hidden field {name!r} in the page"
    return unescape(match.group(1))


def sign_in(
    client: TestClient, prefix: str, email: str, password: str = PASSWORD, next_path: str = ""
) -> Any:
    page = client.get(f"{prefix}/login")
    assert page.status_code == 200
    return client.post(
        f"{prefix}/login",
        data={
            "csrf_token": hidden_field(page.text, "csrf_token"),
            "email": email,
            "password": password,
            "next": next_path,
        },
    )


def consent_page(client: TestClient, prefix: str, params: dict[str, str]) -> Any:
    return client.get(f"{prefix}/oauth/authorize", params=params)


def decide(client: TestClient, prefix: str, consent_html: str, decision: str) -> Any:
    return client.post(
        f"{prefix}/oauth/authorize",
        data={
            "csrf_token": hidden_field(consent_html, "csrf_token"),
            "authorization_request": hidden_field(consent_html, "authorization_request"),
            "decision": decision,
        },
    )


def query_of(location: str) -> dict[str, str]:
    return {key: values[0] for key, values in parse_qs(urlsplit(location).query).items()}


def authorize(client: TestClient, prefix: str, email: str, params: dict[str, str]) -> dict[str, str]:
    """Sign in, approve the consent page, and return the query of the redirect to the app."""
    signed_in = sign_in(client, prefix, email)
    assert signed_in.status_code == 303
    page = consent_page(client, prefix, params)
    assert page.status_code == 200, page.text
    response = decide(client, prefix, page.text, "authorize")
    assert response.status_code == 302
    return query_of(response.headers["location"])


def exchange_params(app: AppInfo, code: str, **overrides: str) -> dict[str, str]:
    """Return the quick start's code exchange parameters for ``app``, with ``overrides`` applied."""
    return {
        "grant_type": "authorization_code",
        "code": code,
        "client_id": app.client_id,
        "client_secret": app.client_secret,
        "redirect_uri": CALLBACK,
        **overrides,
    }


def decide_signed_out(nation_url: str, authorize_url: str, email: str, decision: str) -> str:
    """Open ``authorize_url`` in a new signed-out session against a live server, sign in with
    ``email``, press ``decision`` on the consent page, and return the redirect's Location."""
    browser = requests.Session()
    login = browser.get(authorize_url, timeout=30)
    assert login.status_code == 200
    assert login.url.startswith(f"{nation_url}/login")

    # Signing in redirects back to the authorization request, which shows the consent page.
    consent = browser.post(
        f"{nation_url}/login",
        data={
            "csrf_token": hidden_field(login.text, "csrf_token"),
            "next": hidden_field(login.text, "next"),
            "email": email,
            "password": PASSWORD,
        },
        timeout=30,
    )
    assert consent.status_code == 200
    assert consent.url == authorize_url

    decided = browser.post(
        f"{nation_url}/oauth/authorize",
        data={
            "csrf_token": hidden_field(consent.text, "csrf_token"),
            "authorization_request": hidden_field(consent.text, "authorization_request"),
            "decision": decision,
        },
        allow_redirects=False,
        timeout=30,
    )
    assert decided.status_code == 302
    location: str = decided.headers["Location"]
    return location
