"""The OAuth authorization flow in chromium: the consent page's buttons, and revoking an authorized app."""

from __future__ import annotations

import secrets

import requests
from playwright.sync_api import Page, expect

from tests.browser.screens import Screenshots
from tests.browser.steps import (
    Credentials,
    Seed,
    approve,
    authorize_url,
    decide_on_consent,
    exchange_code,
    fill_sign_in,
    get_people,
    path_of,
    register_app,
    sign_in,
)
from tests.factory import Factory
from tests.flows import query_of


def _factory_app(factory: Factory, seed: Seed) -> Credentials:
    app = factory.app(seed.nation, redirect_uris=(seed.callback,))
    return Credentials(client_id=app.client_id, client_secret=app.client_secret)


def test_approve_signed_out_then_call_api(
    page: Page, seed: Seed, shots: Screenshots, factory: Factory
) -> None:
    factory.people(seed.nation, 3)
    sign_in(page, seed)
    credentials = register_app(page, seed, "Canvass Planner")
    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(f"{seed.base}/login")

    # A signed-out visitor signs in first and is brought back to the consent page.
    state = secrets.token_urlsafe(8)
    page.goto(authorize_url(seed, credentials.client_id, state))
    assert path_of(page.url) == f"{seed.prefix}/login"
    assert path_of(query_of(page.url)["next"]) == f"{seed.prefix}/oauth/authorize"
    fill_sign_in(page, seed.admin.email)
    assert path_of(page.url) == f"{seed.prefix}/oauth/authorize"
    assert query_of(page.url)["client_id"] == credentials.client_id
    expect(page.get_by_role("heading", level=1)).to_contain_text("Canvass Planner")
    expect(page.get_by_role("button", name="Deny", exact=True)).to_be_visible()
    shots.main_page(page, "consent")

    callback = decide_on_consent(page, seed, "Authorize")
    assert set(callback) == {"code", "state", "iss"}
    assert callback["state"] == state
    assert callback["iss"] == seed.base
    shots.save(page, "callback")

    token = exchange_code(seed, credentials, callback["code"])
    people = get_people(seed, token["access_token"])
    assert people.status_code == 200
    body = people.json()
    assert [(person["first_name"], person["last_name"]) for person in body["results"]] == [
        ("First0", "Last0"),
        ("First1", "Last1"),
        ("First2", "Last2"),
    ]
    assert body["next"] is None


def test_deny_returns_access_denied(page: Page, seed: Seed, shots: Screenshots, factory: Factory) -> None:
    credentials = _factory_app(factory, seed)
    sign_in(page, seed)
    state = secrets.token_urlsafe(8)
    page.goto(authorize_url(seed, credentials.client_id, state))

    callback = decide_on_consent(page, seed, "Deny")
    assert callback["error"] == "access_denied"
    assert callback["state"] == state
    assert callback["iss"] == seed.base
    assert "code" not in callback
    shots.save(page, "callback-denied")

    # Denying grants nothing: the app has no authorization to revoke.
    page.goto(f"{seed.base}/admin/settings/authorized_apps")
    expect(page.get_by_test_id("authorized-app")).to_have_count(0)


def test_revoked_app_token_rejected(page: Page, seed: Seed, shots: Screenshots) -> None:
    sign_in(page, seed)
    credentials = register_app(page, seed, "Door Knock Tracker")
    token = exchange_code(seed, credentials, approve(page, seed, credentials.client_id))
    assert get_people(seed, token["access_token"]).status_code == 200

    page.goto(f"{seed.base}/admin")
    page.get_by_role("link", name="Authorized apps").click()
    expect(page).to_have_url(f"{seed.base}/admin/settings/authorized_apps")
    row = page.get_by_test_id("authorized-app")
    expect(row).to_have_count(1)
    expect(row.get_by_role("cell").first).to_have_text("Door Knock Tracker")
    expect(row.get_by_role("cell").nth(1)).to_have_text(credentials.client_id)
    expect(row.get_by_role("cell").nth(2)).to_have_text("1")
    shots.main_page(page, "authorized-apps")

    with page.expect_response(lambda response: response.request.method == "POST") as revoked:
        row.get_by_role("button", name="Revoke").click()
    assert revoked.value.status == 303
    expect(page).to_have_url(f"{seed.base}/admin/settings/authorized_apps")
    expect(row).to_have_count(0)
    shots.save(page, "authorized-apps-revoked")

    after_revoke = get_people(seed, token["access_token"])
    assert after_revoke.status_code == 401
    assert after_revoke.json()["code"] == "unauthorized"
    refresh = requests.post(
        f"{seed.base}/oauth/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": token["refresh_token"],
            "client_id": credentials.client_id,
            "client_secret": credentials.client_secret,
        },
        timeout=10,
    )
    assert refresh.status_code == 400
    assert refresh.json()["error"] == "invalid_grant"
