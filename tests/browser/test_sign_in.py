"""Signing in to the control panel and out of it, in chromium."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.browser.screens import Screenshots
from tests.browser.steps import Seed, fill_sign_in, path_of
from tests.flows import query_of


def test_sign_in_and_out(page: Page, seed: Seed, shots: Screenshots) -> None:
    dashboard = f"{seed.base}/admin"
    main_nav = page.get_by_role("navigation", name="Main")

    page.goto(dashboard)
    assert path_of(page.url) == f"{seed.prefix}/login"
    assert query_of(page.url)["next"] == f"{seed.prefix}/admin"
    expect(page.get_by_role("heading", level=1)).to_contain_text(seed.nation.name)
    expect(main_nav).to_have_count(0)
    shots.main_page(page, "sign-in")

    with page.expect_response(f"{seed.base}/login") as wrong:
        fill_sign_in(page, seed.admin.email, "not the password")
    assert wrong.value.status == 401
    expect(page.get_by_role("alert")).to_be_visible()
    expect(page.get_by_label("E-mail address")).to_have_value(seed.admin.email)
    shots.save(page, "sign-in-failed")

    with page.expect_response(f"{seed.base}/login") as right:
        fill_sign_in(page, seed.admin.email)
    assert right.value.status == 303
    assert right.value.headers["location"] == f"{seed.prefix}/admin"
    expect(page).to_have_url(dashboard)
    expect(page.get_by_role("heading", level=1)).to_have_text(seed.nation.name)
    expect(main_nav.get_by_role("link", name="People")).to_be_visible()
    shots.main_page(page, "dashboard")

    main_nav.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(f"{seed.base}/login")
    expect(main_nav).to_have_count(0)
    shots.save(page, "signed-out")

    # The session is gone: the dashboard sends the browser back to the sign-in page.
    page.goto(dashboard)
    assert path_of(page.url) == f"{seed.prefix}/login"
    expect(page.get_by_role("button", name="Sign in")).to_be_visible()
