"""Settings > Developer in chromium: registering an app, and creating and revoking an API token."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.browser.screens import Screenshots
from tests.browser.steps import HEX64, Seed, get_people, open_developer_page, register_app, sign_in
from tests.factory import Factory


def test_register_app_shows_credentials(page: Page, seed: Seed, shots: Screenshots) -> None:
    sign_in(page, seed)

    credentials = register_app(page, seed, "Canvass Planner")
    assert HEX64.match(credentials.client_id)
    assert HEX64.match(credentials.client_secret)
    assert credentials.client_secret != credentials.client_id
    callbacks = page.get_by_role("definition").get_by_role("listitem")
    expect(callbacks).to_have_text([seed.callback])
    shots.main_page(page, "app-registered")

    open_developer_page(page, seed)
    apps = page.get_by_role("table").first.get_by_role("row")
    expect(apps).to_have_count(2)  # The header row and the new app.
    expect(apps.nth(1).get_by_role("cell").nth(1)).to_have_text(credentials.client_id)
    shots.main_page(page, "developer")

    # The secret is shown once: the app's own page shows the Uid but not the secret.
    page.get_by_role("link", name="Canvass Planner").click()
    expect(page.get_by_test_id("client-id")).to_have_text(credentials.client_id)
    expect(page.get_by_test_id("client-secret")).to_have_count(0)
    shots.save(page, "app")


def test_api_token_create_and_revoke(page: Page, seed: Seed, shots: Screenshots, factory: Factory) -> None:
    factory.people(seed.nation, 2)
    sign_in(page, seed)
    open_developer_page(page, seed)
    expect(page.get_by_test_id("api-token-row")).to_have_count(0)

    page.get_by_role("link", name="API token").click()
    expect(page).to_have_url(f"{seed.base}/admin/settings/developer/api_token")
    with page.expect_response(f"{seed.base}/admin/settings/developer/api_token") as created:
        page.get_by_role("button", name="Create API token").click()
    assert created.value.status == 200
    assert created.value.headers["cache-control"] == "no-store"
    token = page.get_by_test_id("api-token").inner_text()
    assert HEX64.match(token)
    shots.main_page(page, "api-token")

    people = get_people(seed, token)
    assert people.status_code == 200
    assert [person["first_name"] for person in people.json()["results"]] == ["First0", "First1"]

    page.get_by_role("link", name="Back to Settings > Developer").click()
    row = page.get_by_test_id("api-token-row")
    expect(row).to_have_count(1)
    token_start = row.get_by_role("cell").first.inner_text().strip()
    assert token_start.endswith("…")
    assert len(token_start) > 4
    assert token.startswith(token_start.removesuffix("…"))
    row.get_by_role("button", name="Revoke").click()
    expect(page).to_have_url(f"{seed.base}/admin/settings/developer")
    expect(row).to_have_count(1)
    expect(row.get_by_role("button", name="Revoke")).to_have_count(0)
    shots.save(page, "developer-token-revoked")

    after_revoke = get_people(seed, token)
    assert after_revoke.status_code == 401
    assert after_revoke.json()["code"] == "unauthorized"
