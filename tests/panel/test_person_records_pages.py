"""The person page's tags, notes and contacts forms."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from tests.factory import Factory
from tests.panel.admin_browser import AdminBrowser, signed_in_admin
from tests.panel.html_tree import parse

PEOPLE = "/admin/people"


@pytest.fixture
def admin(client: TestClient, factory: Factory) -> AdminBrowser:
    return signed_in_admin(client, factory)


@pytest.fixture
def person_id(admin: AdminBrowser) -> int:
    (person_id,) = admin.factory.people(admin.nation, 1)
    return person_id


def taggings(admin: AdminBrowser, person_id: int) -> list[str]:
    response = admin.api("GET", f"/api/v1/people/{person_id}/taggings")
    assert response.status_code == 200
    return [tagging["tag"] for tagging in response.json()["taggings"]]


# Tags


def test_add_and_remove_tag(admin: AdminBrowser, person_id: int) -> None:
    added = admin.post(f"{PEOPLE}/{person_id}/tags", {"tag": "  new volunteer  "})

    assert added.status_code == 303
    assert added.headers["location"] == admin.url(f"{PEOPLE}/{person_id}?done=tagged")
    assert taggings(admin, person_id) == ["new volunteer"]
    page = admin.follow(added.headers["location"])
    assert [tag.attrs["data-name"] for tag in page.by_test_id("tag")] == ["new volunteer"]
    assert page.one("notice").text

    removed = admin.post(f"{PEOPLE}/{person_id}/tags/remove", {"tag": "new volunteer"})

    assert removed.status_code == 303
    assert removed.headers["location"] == admin.url(f"{PEOPLE}/{person_id}?done=untagged")
    assert taggings(admin, person_id) == []
    kinds = [(event["kind"], event["detail"]["tag"]) for event in admin.audit_events("person.")]
    assert kinds == [("person.tagged", "new volunteer"), ("person.untagged", "new volunteer")]


def test_remove_form_on_page_removes_the_tag(admin: AdminBrowser, person_id: int) -> None:
    admin.post(f"{PEOPLE}/{person_id}/tags", {"tag": "a/b & c"})
    page = admin.page(f"{PEOPLE}/{person_id}")

    form = page.form(admin.url(f"{PEOPLE}/{person_id}/tags/remove")).fields()
    response = admin.client.post(admin.url(f"{PEOPLE}/{person_id}/tags/remove"), data=form)

    assert response.status_code == 303
    assert taggings(admin, person_id) == []


def test_adding_a_tag_twice_changes_nothing(admin: AdminBrowser, person_id: int) -> None:
    admin.post(f"{PEOPLE}/{person_id}/tags", {"tag": "donor"})

    again = admin.post(f"{PEOPLE}/{person_id}/tags", {"tag": "donor"})

    assert again.headers["location"].endswith("?done=already_tagged")
    assert taggings(admin, person_id) == ["donor"]
    assert len(admin.audit_events("person.tagged")) == 1


def test_removing_a_missing_tag_changes_nothing(admin: AdminBrowser, person_id: int) -> None:
    response = admin.post(f"{PEOPLE}/{person_id}/tags/remove", {"tag": "never\x00added"})

    assert response.headers["location"].endswith("?done=not_tagged")
    assert admin.audit_events("person.") == []


def test_blank_tag_is_a_field_error(admin: AdminBrowser, person_id: int) -> None:
    response = admin.post(f"{PEOPLE}/{person_id}/tags", {"tag": "   "})

    assert response.status_code == 400
    page = parse(response.text)
    assert list(page.field_errors()) == ["tag"]
    assert page.one("form-errors")
    assert taggings(admin, person_id) == []


def test_tag_of_another_person_stays(admin: AdminBrowser) -> None:
    first, second = admin.factory.people(admin.nation, 2)
    admin.post(f"{PEOPLE}/{first}/tags", {"tag": "donor"})
    admin.post(f"{PEOPLE}/{second}/tags", {"tag": "donor"})

    admin.post(f"{PEOPLE}/{first}/tags/remove", {"tag": "donor"})

    assert taggings(admin, first) == []
    assert taggings(admin, second) == ["donor"]


# Notes


def test_add_note(admin: AdminBrowser, person_id: int) -> None:
    # The admin's own person record, matched by e-mail address, is the note's author.
    (author_id,) = admin.factory.people(admin.nation, 1)
    admin.api("PUT", f"/api/v1/people/{author_id}", json={"person": {"email": admin.user.email}})

    response = admin.post(f"{PEOPLE}/{person_id}/notes", {"content": "Met at the fair.\nWants a yard sign."})

    assert response.status_code == 303
    (note,) = admin.rows("notes", person_id=person_id)
    assert (note["content"], note["author_id"]) == ("Met at the fair.\nWants a yard sign.", author_id)
    page = admin.page(f"{PEOPLE}/{person_id}")
    note_texts = [node.find_all("p")[0].text for node in page.by_test_id("note")]
    assert note_texts == ["Met at the fair. Wants a yard sign."]
    (event,) = admin.audit_events("person.note_added")
    assert event["detail"] == {"person_id": person_id, "note_id": note["id"]}


def test_notes_newest_first(admin: AdminBrowser, person_id: int) -> None:
    for text in ("first", "second", "third"):
        assert admin.post(f"{PEOPLE}/{person_id}/notes", {"content": text}).status_code == 303

    page = admin.page(f"{PEOPLE}/{person_id}")

    assert [node.find_all("p")[0].text for node in page.by_test_id("note")] == ["third", "second", "first"]


def test_empty_note_is_a_field_error(admin: AdminBrowser, person_id: int) -> None:
    response = admin.post(f"{PEOPLE}/{person_id}/notes", {"content": ""})

    assert response.status_code == 400
    assert list(parse(response.text).field_errors()) == ["content"]
    assert admin.rows("notes", person_id=person_id) == []


def test_note_with_nul_is_refused(admin: AdminBrowser, person_id: int) -> None:
    response = admin.post(f"{PEOPLE}/{person_id}/notes", {"content": "before\x00after"})

    assert response.status_code == 400
    page = parse(response.text)
    assert list(page.field_errors()) == ["content"]
    assert admin.rows("notes", person_id=person_id) == []


# Contacts


def test_add_contact(admin: AdminBrowser, person_id: int) -> None:
    response = admin.post(
        f"{PEOPLE}/{person_id}/contacts",
        {"method": "door_knock", "status": "answered", "note": "Will volunteer."},
    )

    assert response.status_code == 303
    api = admin.api("GET", f"/api/v1/people/{person_id}/contacts").json()["results"]
    assert [(row["method"], row["status"], row["note"]) for row in api] == [
        ("door_knock", "answered", "Will volunteer.")
    ]
    page = admin.page(f"{PEOPLE}/{person_id}")
    (shown,) = page.by_test_id("contact")
    assert (shown.attrs["data-method"], shown.attrs["data-status"]) == ("door_knock", "answered")
    assert [event["kind"] for event in admin.audit_events("person.")] == ["person.contact_added"]


def test_contact_with_bad_choices_is_refused(admin: AdminBrowser, person_id: int) -> None:
    response = admin.post(f"{PEOPLE}/{person_id}/contacts", {"method": "carrier_pigeon", "status": "maybe"})

    assert response.status_code == 400
    page = parse(response.text)
    assert sorted(page.field_errors()) == ["method", "status"]
    assert admin.rows("contacts", person_id=person_id) == []


def test_contact_needs_a_method(admin: AdminBrowser, person_id: int) -> None:
    response = admin.post(f"{PEOPLE}/{person_id}/contacts", {"method": "", "note": "No idea how."})

    assert response.status_code == 400
    page = parse(response.text)
    assert list(page.field_errors()) == ["method"]
    assert page.form(admin.url(f"{PEOPLE}/{person_id}/contacts")).fields()["note"] == "No idea how."


def test_contact_form_offers_the_api_methods(admin: AdminBrowser, person_id: int) -> None:
    page = admin.page(f"{PEOPLE}/{person_id}")

    select = page.form(admin.url(f"{PEOPLE}/{person_id}/contacts")).input("method")
    values = [option.attrs["value"] for option in select.find_all("option")]

    assert values[0] == ""
    assert "door_knock" in values
    assert "phone_call" in values


def test_records_without_csrf_are_refused(admin: AdminBrowser, person_id: int) -> None:
    assert admin.post(f"{PEOPLE}/{person_id}/notes", {"content": "x"}, csrf=False).status_code == 403
    assert admin.post(f"{PEOPLE}/{person_id}/contacts", {"method": "email"}, csrf=False).status_code == 403

    assert admin.rows("notes", person_id=person_id) == []
    assert admin.rows("contacts", person_id=person_id) == []


def test_staffer_cannot_add_records(client: TestClient, factory: Factory) -> None:
    staffer = signed_in_admin(client, factory, level="staffer")
    (person_id,) = factory.people(staffer.nation, 1)

    assert staffer.post(f"{PEOPLE}/{person_id}/tags", {"tag": "donor"}).status_code == 403
    assert staffer.post(f"{PEOPLE}/{person_id}/notes", {"content": "x"}).status_code == 403
    assert staffer.post(f"{PEOPLE}/{person_id}/contacts", {"method": "email"}).status_code == 403

    assert staffer.rows("taggings", person_id=person_id) == []
    assert staffer.rows("notes", person_id=person_id) == []
    assert staffer.rows("contacts", person_id=person_id) == []
