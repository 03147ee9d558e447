"""Editing a person in chromium: People list, the person's page, Edit, Save changes."""

from __future__ import annotations

import requests
from playwright.sync_api import Page, expect

from tests.browser.screens import Screenshots
from tests.browser.steps import Seed, path_of, sign_in
from tests.factory import Factory
from tests.flows import query_of


def test_edit_person_name(page: Page, seed: Seed, shots: Screenshots, factory: Factory) -> None:
    person_id = factory.people(seed.nation, 1)[0]
    person_url = f"{seed.base}/admin/people/{person_id}"
    sign_in(page, seed)

    page.get_by_role("navigation", name="Main").get_by_role("link", name="People").click()
    page.get_by_test_id("person-row").get_by_role("link", name="First0 Last0").click()
    expect(page).to_have_url(person_url)
    expect(page.get_by_role("heading", level=1)).to_have_text("First0 Last0")
    shots.save(page, "person-before")

    page.get_by_role("link", name="Edit", exact=True).click()
    expect(page).to_have_url(f"{person_url}/edit")
    page.get_by_label("First name").fill("Grace")
    page.get_by_label("Last name").fill("Hopper")
    shots.main_page(page, "person-edit")
    with page.expect_response(f"{person_url}/edit") as saved:
        page.get_by_role("button", name="Save changes").click()
    assert saved.value.status == 303

    assert path_of(page.url) == f"{seed.prefix}/admin/people/{person_id}"
    assert query_of(page.url) == {"done": "updated"}
    expect(page.get_by_role("status")).to_be_visible()
    expect(page.get_by_role("heading", level=1)).to_have_text("Grace Hopper")
    expect(page.get_by_test_id("fact-first_name")).to_have_text("Grace")
    expect(page.get_by_test_id("fact-last_name")).to_have_text("Hopper")
    shots.main_page(page, "person")

    response = requests.get(
        f"{seed.base}/api/v1/people/{person_id}",
        headers={
            "Authorization": f"Bearer {factory.test_token(seed.nation, seed.admin)}",
            "Accept": "application/json",
        },
        timeout=10,
    )
    assert response.status_code == 200
    person = response.json()["person"]
    assert (person["first_name"], person["last_name"]) == ("Grace", "Hopper")
