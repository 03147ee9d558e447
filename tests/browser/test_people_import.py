"""People > Import in chromium: uploading a CSV file, the import's report, and the people it added."""

from __future__ import annotations

from playwright.sync_api import FilePayload, Page, expect

from tests.browser.screens import Screenshots
from tests.browser.steps import Seed, get_people, path_of, sign_in
from tests.factory import Factory

# Line 4 has neither a name, an e-mail address nor a phone number, so it is rejected.
PEOPLE_CSV = (
    "first_name,last_name,email,city\n"
    "Ada,Okafor,ada@example.org,Harbour City\n"
    "Ben,Moreau,ben@example.org,Harbour City\n"
    ",,,Harbour City\n"
    "Chloe,Tan,,Eastport\n"
)


def test_import_csv_adds_people(page: Page, seed: Seed, shots: Screenshots, factory: Factory) -> None:
    sign_in(page, seed)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="People").click()
    expect(page).to_have_url(f"{seed.base}/admin/people")
    expect(page.get_by_test_id("people-count")).to_have_attribute("data-count", "0")

    page.get_by_role("link", name="Import from CSV").click()
    expect(page).to_have_url(f"{seed.base}/admin/people/import")
    upload: FilePayload = {"name": "members.csv", "mimeType": "text/csv", "buffer": PEOPLE_CSV.encode()}
    page.get_by_label("CSV file").set_input_files(files=upload)
    shots.main_page(page, "people-import")
    with page.expect_response(f"{seed.base}/admin/people/import") as uploaded:
        page.get_by_role("button", name="Import").click()
    assert uploaded.value.status == 303

    # The report page reloads itself while the import runs.
    assert path_of(page.url).startswith(f"{seed.prefix}/admin/people/imports/")
    expect(page.get_by_test_id("import-state")).to_have_attribute("data-state", "finished", timeout=30_000)
    expect(page.get_by_test_id("imported")).to_have_attribute("data-count", "3")
    expect(page.get_by_test_id("rejected")).to_have_attribute("data-count", "1")
    rejected = page.get_by_test_id("rejected-row")
    expect(rejected).to_have_count(1)
    expect(rejected).to_have_attribute("data-line", "4")
    shots.main_page(page, "import-result")

    page.get_by_role("link", name="Back to People").click()
    expect(page).to_have_url(f"{seed.base}/admin/people")
    expect(page.get_by_test_id("people-count")).to_have_attribute("data-count", "3")
    listed = page.get_by_test_id("person-row").get_by_role("link")
    expect(listed).to_have_count(3)
    assert sorted(listed.all_inner_texts()) == ["Ada Okafor", "Ben Moreau", "Chloe Tan"]
    job = page.get_by_test_id("import-job")
    expect(job).to_have_count(1)
    expect(job).to_have_attribute("data-state", "finished")
    expect(job.get_by_role("link", name="members.csv")).to_be_visible()
    shots.main_page(page, "people")

    people = get_people(seed, factory.test_token(seed.nation, seed.admin))
    assert people.status_code == 200
    found = {
        (person["first_name"], person["last_name"], person["email"]) for person in people.json()["results"]
    }
    assert found == {
        ("Ada", "Okafor", "ada@example.org"),
        ("Ben", "Moreau", "ben@example.org"),
        ("Chloe", "Tan", None),
    }
