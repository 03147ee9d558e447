"""People in the control panel: the searchable table, the person page, adding, editing and deleting."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session
from starlette.testclient import TestClient

from citizenry.api.person_emails import one_address
from citizenry.store.models import CustomField, ListMembership, PeopleList, Person, Tag, Tagging
from tests.factory import Factory
from tests.panel.admin_browser import AdminBrowser, signed_in_admin
from tests.panel.html_tree import Node, parse

PEOPLE = "/admin/people"
NEW = f"{PEOPLE}/new"


@pytest.fixture
def admin(client: TestClient, factory: Factory) -> AdminBrowser:
    return signed_in_admin(client, factory)


def add_person(admin: AdminBrowser, **columns: Any) -> int:
    """Write a person of the admin's nation straight to the database; ``email`` fills slot 1."""
    email = columns.pop("email", None)

    def create(session: Session) -> int:
        person = Person(nation_id=admin.nation.id, **one_address(email), **columns)
        session.add(person)
        session.flush()
        return person.id

    return admin.factory.database.transaction(create)


def tag_people(admin: AdminBrowser, name: str, person_ids: list[int]) -> None:
    def write(session: Session) -> None:
        tag = Tag(nation_id=admin.nation.id, name=name)
        session.add(tag)
        session.flush()
        session.add_all(Tagging(person_id=person_id, tag_id=tag.id) for person_id in person_ids)

    admin.factory.database.transaction(write)


def list_people(admin: AdminBrowser, name: str, person_ids: list[int]) -> int:
    def write(session: Session) -> int:
        row = PeopleList(nation_id=admin.nation.id, name=name, slug=name.lower())
        session.add(row)
        session.flush()
        session.add_all(ListMembership(list_id=row.id, person_id=person_id) for person_id in person_ids)
        return row.id

    return admin.factory.database.transaction(write)


def add_custom_field(admin: AdminBrowser, slug: str, kind: str) -> int:
    def write(session: Session) -> int:
        name = slug.replace("_", " ").title()
        row = CustomField(nation_id=admin.nation.id, slug=slug, name=name, type=kind)
        session.add(row)
        session.flush()
        return row.id

    return admin.factory.database.transaction(write)


def listed_ids(page: Node) -> list[int]:
    return [int(row.attrs["data-id"]) for row in page.by_test_id("person-row")]


def person_row(admin: AdminBrowser, person_id: int) -> dict[str, Any]:
    rows = admin.rows("people", id=person_id)
    assert len(rows) == 1
    return rows[0]


def api_person(admin: AdminBrowser, person_id: int) -> dict[str, Any]:
    response = admin.api("GET", f"/api/v1/people/{person_id}")
    assert response.status_code == 200
    person: dict[str, Any] = response.json()["person"]
    return person


def edit_form(admin: AdminBrowser, person_id: int) -> dict[str, str]:
    """Return what the edit form sends when submitted unchanged."""
    page = admin.page(f"{PEOPLE}/{person_id}/edit")
    fields = page.form(f"{admin.nation.prefix}{PEOPLE}/{person_id}/edit").fields()
    del fields["csrf_token"]
    return fields


# The table of people


def test_table_pages_through_everyone(admin: AdminBrowser) -> None:
    ids = admin.factory.people(admin.nation, 120)

    first = admin.page(PEOPLE)
    assert listed_ids(first) == ids[:50]
    assert first.by_test_id("page-prev") == []
    second = admin.follow(first.one("page-next").attrs["href"])
    assert listed_ids(second) == ids[50:100]
    third = admin.follow(second.one("page-next").attrs["href"])
    assert listed_ids(third) == ids[100:]
    assert third.by_test_id("page-next") == []

    back = admin.follow(third.one("page-prev").attrs["href"])
    assert listed_ids(back) == ids[50:100]


def test_page_links_stay_under_the_nation(admin: AdminBrowser) -> None:
    admin.factory.people(admin.nation, 51)

    link = admin.page(PEOPLE).one("page-next").attrs["href"]

    assert urlsplit(link).path == admin.url(PEOPLE)
    assert parse_qs(urlsplit(link).query)["limit"] == ["50"]


def test_search_matches_every_word(admin: AdminBrowser) -> None:
    ann = add_person(admin, first_name="Ann", last_name="Lee", email="ann@example.org")
    joanne = add_person(admin, first_name="Joanne", last_name="Smith", email="jo@example.org")
    bob = add_person(admin, first_name="Bob", last_name="Lee", email="bob@annex.example")

    assert listed_ids(admin.page(PEOPLE, q="ANN")) == [ann, joanne, bob]
    assert listed_ids(admin.page(PEOPLE, q="ann lee")) == [ann, bob]
    assert listed_ids(admin.page(PEOPLE, q="jo@example")) == [joanne]
    assert listed_ids(admin.page(PEOPLE, q="100%")) == []


def test_search_finds_nobody_of_another_nation(admin: AdminBrowser, factory: Factory) -> None:
    other = factory.nation()
    factory.people(other, 3)
    mine = admin.factory.people(admin.nation, 2)

    assert listed_ids(admin.page(PEOPLE, q="First")) == mine


def test_filter_by_tag(admin: AdminBrowser) -> None:
    ids = admin.factory.people(admin.nation, 4)
    tag_people(admin, "donor", [ids[1], ids[3]])

    page = admin.page(PEOPLE, tag="donor")

    assert listed_ids(page) == [ids[1], ids[3]]
    assert page.input("tag").attrs["value"] == "donor"


def test_unknown_tag_is_a_field_error(admin: AdminBrowser) -> None:
    admin.factory.people(admin.nation, 2)

    response = admin.get(PEOPLE, tag="nobody-has-this")

    assert response.status_code == 400
    page = parse(response.text)
    assert list(page.field_errors()) == ["tag"]
    assert page.input("tag").attrs["aria-invalid"] == "true"
    assert listed_ids(page) == []


def test_filter_by_list(admin: AdminBrowser) -> None:
    ids = admin.factory.people(admin.nation, 3)
    list_id = list_people(admin, "Volunteers", [ids[0], ids[2]])

    page = admin.page(PEOPLE, list=str(list_id))

    assert listed_ids(page) == [ids[0], ids[2]]
    assert page.form(admin.url(PEOPLE)).fields()["list"] == str(list_id)


def test_list_of_another_nation_is_a_field_error(admin: AdminBrowser, factory: Factory) -> None:
    other = factory.nation()

    def write(session: Session) -> int:
        row = PeopleList(nation_id=other.id, name="Theirs", slug="theirs")
        session.add(row)
        session.flush()
        return row.id

    list_id = factory.database.transaction(write)

    response = admin.get(PEOPLE, list=str(list_id))

    assert response.status_code == 400
    assert list(parse(response.text).field_errors()) == ["list"]


def test_filter_updated_since(admin: AdminBrowser) -> None:
    old, recent = admin.factory.people(admin.nation, 2)

    def backdate(session: Session) -> None:
        session.execute(
            sa.update(Person).where(Person.id == old).values(updated_at=datetime(2020, 1, 1, tzinfo=UTC))
        )

    admin.factory.database.transaction(backdate)

    assert listed_ids(admin.page(PEOPLE, updated_since="2021-06-01")) == [recent]
    assert listed_ids(admin.page(PEOPLE, updated_since="2019-12-31")) == [old, recent]


def test_bad_updated_since_is_a_field_error(admin: AdminBrowser) -> None:
    response = admin.get(PEOPLE, updated_since="last week")

    assert response.status_code == 400
    page = parse(response.text)
    assert list(page.field_errors()) == ["updated_since"]
    assert page.input("updated_since").attrs["value"] == "last week"


def test_later_pages_keep_the_filters(admin: AdminBrowser) -> None:
    ids = admin.factory.people(admin.nation, 130)
    tagged = ids[::2]
    tag_people(admin, "member", tagged)

    first = admin.page(PEOPLE, tag="member")
    second = admin.follow(first.one("page-next").attrs["href"])

    assert listed_ids(first) + listed_ids(second) == tagged
    assert second.input("tag").attrs["value"] == "member"
    assert second.by_test_id("page-next") == []


def test_forged_page_token_is_rejected(admin: AdminBrowser) -> None:
    response = admin.get(PEOPLE, __nonce="abc", __token="forged")

    assert response.status_code == 400
    assert response.headers["content-type"].startswith("text/html")


def test_search_form_is_labelled(admin: AdminBrowser) -> None:
    form = admin.page(PEOPLE).form(admin.url(PEOPLE))

    assert form.attrs["method"] == "get"
    for name in ("q", "tag", "list", "updated_since"):
        assert form.label_for(f"f-{name}").text


# The person page


def test_person_page_shows_the_record(admin: AdminBrowser) -> None:
    add_custom_field(admin, "shirt_size", "text")
    person_id = add_person(
        admin,
        first_name="Ann",
        last_name="Lee",
        email="ann@example.org",
        phone="555-0100",
        primary_address={"address1": "1 Main St", "city": "Springfield"},
        custom_values={},
    )
    tag_people(admin, "donor", [person_id])
    list_id = list_people(admin, "Volunteers", [person_id])

    page = admin.page(f"{PEOPLE}/{person_id}")

    assert page.one("person-name").text == "Ann Lee"
    assert page.one("fact-phone").text == "555-0100"
    assert page.one("fact-address").text == "1 Main St Springfield"
    emails = page.by_test_id("email")
    assert [(email.attrs["data-slot"], email.attrs["data-primary"]) for email in emails] == [("1", "true")]
    assert [tag.attrs["data-name"] for tag in page.by_test_id("tag")] == ["donor"]
    assert admin.url(f"/admin/lists/{list_id}") in page.one("person-lists").links()
    assert page.one("custom-shirt_size").text == "Not set"


def test_person_of_another_nation_is_not_found(admin: AdminBrowser, factory: Factory) -> None:
    other = factory.nation()
    (theirs,) = factory.people(other, 1)

    assert admin.get(f"{PEOPLE}/{theirs}").status_code == 404
    assert admin.post(f"{PEOPLE}/{theirs}/delete").status_code == 404
    assert len(admin.rows("people", id=theirs)) == 1


# Adding a person


def test_create_person(admin: AdminBrowser) -> None:
    form = admin.page(NEW).form(admin.url(NEW)).fields()
    form.update(
        {
            "first_name": "Ann",
            "last_name": "Lee",
            "email": "ann@example.org",
            "mobile": "555-0101",
            "address.city": "Springfield",
            "tags": "donor\nvolunteer, 2024\n",
        }
    )
    del form["csrf_token"]

    response = admin.post(NEW, form)

    assert response.status_code == 303
    location = urlsplit(response.headers["location"])
    person_id = int(location.path.rsplit("/", 1)[1])
    assert parse_qs(location.query) == {"done": ["created"]}
    person = api_person(admin, person_id)
    assert (person["first_name"], person["last_name"], person["email"]) == ("Ann", "Lee", "ann@example.org")
    assert person["mobile"] == "555-0101"
    assert person["primary_address"]["city"] == "Springfield"
    assert person["tags"] == ["donor", "volunteer, 2024"]
    (event,) = admin.audit_events("person.")
    assert (event["kind"], event["detail"]["person_id"]) == ("person.created", person_id)
    page = admin.follow(response.headers["location"])
    assert page.one("notice").text


def test_create_without_identity_keeps_the_input(admin: AdminBrowser) -> None:
    response = admin.post(NEW, {"address.city": "Springfield", "tags": "donor"})

    assert response.status_code == 400
    page = parse(response.text)
    assert list(page.field_errors()) == [""]
    assert page.one("form-errors")
    fields = page.form(admin.url(NEW)).fields()
    assert fields["address.city"] == "Springfield"
    assert fields["tags"] == "donor"
    assert admin.rows("people", nation_id=admin.nation.id) == []
    assert admin.audit_events("person.") == []


def test_create_with_bad_email_marks_the_field(admin: AdminBrowser) -> None:
    response = admin.post(NEW, {"first_name": "Ann", "email": "not an address"})

    assert response.status_code == 400
    page = parse(response.text)
    assert list(page.field_errors()) == ["email"]
    assert page.input("email").attrs["aria-invalid"] == "true"
    assert page.input("email").attrs["value"] == "not an address"
    assert page.input("first_name").attrs["value"] == "Ann"
    assert admin.rows("people", nation_id=admin.nation.id) == []


def test_form_fields_have_labels(admin: AdminBrowser) -> None:
    add_custom_field(admin, "graduation_year", "number")
    form = admin.page(NEW).form(admin.url(NEW))

    for name in ("first_name", "last_name", "email", "phone", "mobile", "address.city", "tags"):
        input_id = form.input(name).attrs["id"]
        assert form.label_for(input_id).text
    assert form.label_for("f-custom-graduation_year").text == "Graduation Year"


# Editing a person


def test_edit_person(admin: AdminBrowser) -> None:
    add_custom_field(admin, "graduation_year", "number")
    person_id = add_person(admin, first_name="Ann", last_name="Lee", email="ann@example.org")
    form = edit_form(admin, person_id)
    form.update({"first_name": "Anne", "phone": "555-0102", "address.zip": "12345"})
    form["custom.graduation_year"] = "2008"

    response = admin.post(f"{PEOPLE}/{person_id}/edit", form)

    assert response.status_code == 303
    assert response.headers["location"] == admin.url(f"{PEOPLE}/{person_id}?done=updated")
    person = api_person(admin, person_id)
    assert (person["first_name"], person["last_name"], person["phone"]) == ("Anne", "Lee", "555-0102")
    assert person["primary_address"]["zip"] == "12345"
    assert person["graduation_year"] == 2008.0
    assert person["email"] == "ann@example.org"
    (event,) = admin.audit_events("person.")
    assert event["kind"] == "person.updated"
    assert sorted(event["detail"]["fields"]) == ["custom_values", "first_name", "phone", "primary_address"]


def test_edit_with_bad_values_changes_nothing(admin: AdminBrowser) -> None:
    add_custom_field(admin, "graduation_year", "number")
    person_id = add_person(admin, first_name="Ann", email="ann@example.org")
    before = person_row(admin, person_id)
    form = edit_form(admin, person_id)
    form.update({"first_name": "Anne", "email2": "not-an-address", "custom.graduation_year": "soon"})

    response = admin.post(f"{PEOPLE}/{person_id}/edit", form)

    assert response.status_code == 400
    page = parse(response.text)
    errors = page.field_errors()
    assert sorted(errors) == ["custom.graduation_year", "email2"]
    assert all(message.endswith(".") for messages in errors.values() for message in messages)
    fields = page.form(admin.url(f"{PEOPLE}/{person_id}/edit")).fields()
    assert (fields["first_name"], fields["email2"]) == ("Anne", "not-an-address")
    assert person_row(admin, person_id) == before
    assert admin.audit_events("person.") == []


def test_edit_that_removes_every_identity_is_refused(admin: AdminBrowser) -> None:
    person_id = add_person(admin, first_name="Ann")
    form = edit_form(admin, person_id)
    form["first_name"] = ""

    response = admin.post(f"{PEOPLE}/{person_id}/edit", form)

    assert response.status_code == 400
    assert list(parse(response.text).field_errors()) == [""]
    assert person_row(admin, person_id)["first_name"] == "Ann"


def test_edit_keeps_address_coordinates(admin: AdminBrowser) -> None:
    address = {"address1": "1 Main St", "city": "Springfield", "lat": "40.1", "lng": "-74.2"}
    person_id = add_person(admin, first_name="Ann", primary_address=address, latitude=40.1, longitude=-74.2)
    form = edit_form(admin, person_id)
    form["address.city"] = "Shelbyville"

    assert admin.post(f"{PEOPLE}/{person_id}/edit", form).status_code == 303

    row = person_row(admin, person_id)
    assert row["primary_address"]["city"] == "Shelbyville"
    assert (row["primary_address"]["lat"], row["primary_address"]["lng"]) == ("40.1", "-74.2")
    assert (row["latitude"], row["longitude"]) == (40.1, -74.2)


def test_edit_email_slots(admin: AdminBrowser) -> None:
    person_id = add_person(admin, first_name="Ann", email="old@example.org")
    form = edit_form(admin, person_id)
    form.update({"email2": "new@example.org", "primary_email_id": "2", "email1_is_bad": "on"})

    assert admin.post(f"{PEOPLE}/{person_id}/edit", form).status_code == 303

    person = api_person(admin, person_id)
    assert person["email"] == "new@example.org"
    assert [(email["email_address"], email["is_bad"]) for email in person["emails"]] == [
        ("old@example.org", True),
        ("new@example.org", False),
    ]
    page = admin.page(f"{PEOPLE}/{person_id}")
    slots = {email.attrs["data-slot"]: email.attrs for email in page.by_test_id("email")}
    assert slots["1"]["data-bad"] == "true"
    assert slots["2"]["data-primary"] == "true"


def test_primary_slot_must_hold_an_address(admin: AdminBrowser) -> None:
    person_id = add_person(admin, first_name="Ann", email="ann@example.org")
    form = edit_form(admin, person_id)
    form["primary_email_id"] = "3"

    response = admin.post(f"{PEOPLE}/{person_id}/edit", form)

    assert response.status_code == 400
    assert list(parse(response.text).field_errors()) == ["primary_email_id"]
    assert person_row(admin, person_id)["primary_email_id"] == 1


def test_unticked_checkbox_field_stays_unset(admin: AdminBrowser) -> None:
    field_id = add_custom_field(admin, "is_member", "checkbox")
    person_id = add_person(admin, first_name="Ann")

    assert admin.post(f"{PEOPLE}/{person_id}/edit", edit_form(admin, person_id)).status_code == 303
    assert str(field_id) not in person_row(admin, person_id)["custom_values"]

    form = edit_form(admin, person_id)
    form["custom.is_member"] = "on"
    assert admin.post(f"{PEOPLE}/{person_id}/edit", form).status_code == 303
    assert api_person(admin, person_id)["is_member"] is True


def test_unchanged_edit_writes_no_audit_event(admin: AdminBrowser) -> None:
    person_id = add_person(admin, first_name="Ann", email="ann@example.org", phone="555-0100")

    assert admin.post(f"{PEOPLE}/{person_id}/edit", edit_form(admin, person_id)).status_code == 303

    assert admin.audit_events("person.") == []


# Deleting a person


def test_delete_after_confirmation(admin: AdminBrowser) -> None:
    person_id = add_person(admin, first_name="Ann")
    tag_people(admin, "donor", [person_id])

    confirm = admin.page(f"{PEOPLE}/{person_id}/delete")
    assert confirm.one("tag-count").attrs["data-count"] == "1"
    assert confirm.form(admin.url(f"{PEOPLE}/{person_id}/delete")).attrs["method"] == "post"
    assert len(admin.rows("people", id=person_id)) == 1

    response = admin.post(f"{PEOPLE}/{person_id}/delete")

    assert response.status_code == 303
    assert response.headers["location"] == admin.url(f"{PEOPLE}?done=deleted")
    assert admin.rows("people", id=person_id) == []
    assert admin.rows("taggings", person_id=person_id) == []
    assert admin.api("GET", f"/api/v1/people/{person_id}").status_code == 404
    (event,) = admin.audit_events("person.")
    assert (event["kind"], event["detail"]["person_id"]) == ("person.deleted", person_id)
    assert admin.get(f"{PEOPLE}/{person_id}").status_code == 404


def test_delete_without_csrf_is_refused(admin: AdminBrowser) -> None:
    person_id = add_person(admin, first_name="Ann")

    response = admin.post(f"{PEOPLE}/{person_id}/delete", csrf=False)

    assert response.status_code == 403
    assert len(admin.rows("people", id=person_id)) == 1


def test_writes_without_csrf_are_refused(admin: AdminBrowser) -> None:
    person_id = add_person(admin, first_name="Ann")
    form = edit_form(admin, person_id)
    form["first_name"] = "Anne"

    assert admin.post(f"{PEOPLE}/{person_id}/edit", form, csrf=False).status_code == 403
    assert admin.post(NEW, {"first_name": "Bob"}, csrf=False).status_code == 403
    assert admin.post(f"{PEOPLE}/{person_id}/tags", {"tag": "donor"}, csrf=False).status_code == 403
    assert admin.post(f"{PEOPLE}/{person_id}/edit", {**form, "csrf_token": "wrong"}).status_code == 403

    assert person_row(admin, person_id)["first_name"] == "Ann"
    assert len(admin.rows("people", nation_id=admin.nation.id)) == 1
    assert admin.rows("taggings", person_id=person_id) == []


# Who may use the pages


def test_staffer_is_refused(client: TestClient, factory: Factory) -> None:
    staffer = signed_in_admin(client, factory, level="staffer")
    (person_id,) = factory.people(staffer.nation, 1)

    person = f"{PEOPLE}/{person_id}"
    for path in (PEOPLE, NEW, person, f"{person}/edit", f"{person}/delete"):
        assert staffer.get(path).status_code == 403, path
    assert staffer.post(f"{PEOPLE}/{person_id}/delete").status_code == 403
    assert staffer.post(f"{PEOPLE}/{person_id}/edit", {"first_name": "Changed"}).status_code == 403
    assert staffer.post(NEW, {"first_name": "New"}).status_code == 403

    assert [row["first_name"] for row in staffer.rows("people", nation_id=staffer.nation.id)] == ["First0"]
    staff_nav = parse(staffer.client.get(staffer.url("/admin")).text)
    assert staffer.url("/admin/tags") not in staff_nav.links()


def test_signed_out_visitor_is_sent_to_sign_in(client: TestClient, factory: Factory) -> None:
    nation = factory.nation()
    (person_id,) = factory.people(nation, 1)

    response = client.get(f"{nation.prefix}{PEOPLE}/{person_id}")

    assert response.status_code == 303
    assert urlsplit(response.headers["location"]).path == f"{nation.prefix}/login"


def test_navigation_links(admin: AdminBrowser) -> None:
    links = admin.page("/admin").find_all("nav")[0].links()

    for path in ("/admin", PEOPLE, "/admin/tags", "/admin/lists", "/admin/settings/developer"):
        assert admin.url(path) in links, path
