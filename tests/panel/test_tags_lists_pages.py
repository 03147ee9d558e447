"""Tags and Lists in the control panel: browsing, renaming, and people added to and removed from lists."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy.orm import Session
from starlette.testclient import TestClient

from citizenry.store.models import Tag, Tagging
from tests.factory import Factory
from tests.panel.admin_browser import AdminBrowser, signed_in_admin
from tests.panel.html_tree import Node, parse

TAGS = "/admin/tags"
LISTS = "/admin/lists"


@pytest.fixture
def admin(client: TestClient, factory: Factory) -> AdminBrowser:
    return signed_in_admin(client, factory)


def add_tags(admin: AdminBrowser, people: dict[str, list[int]]) -> dict[str, int]:
    """Create tags with the people who have them; return the tags' ids by name."""

    def write(session: Session) -> dict[str, int]:
        ids = {}
        for name, person_ids in people.items():
            tag = Tag(nation_id=admin.nation.id, name=name)
            session.add(tag)
            session.flush()
            session.add_all(Tagging(person_id=person_id, tag_id=tag.id) for person_id in person_ids)
            ids[name] = tag.id
        return ids

    return admin.factory.database.transaction(write)


def tag_rows(page: Node) -> list[tuple[str, int]]:
    return [(row.attrs["data-name"], int(row.attrs["data-count"])) for row in page.by_test_id("tag-row")]


def create_list(admin: AdminBrowser, name: str, slug: str = "") -> int:
    response = admin.post(LISTS, {"name": name, "slug": slug})
    assert response.status_code == 303, response.text
    location = urlsplit(response.headers["location"])
    assert parse_qs(location.query) == {"done": ["created"]}
    return int(location.path.rsplit("/", 1)[1])


def member_ids(page: Node) -> list[int]:
    return [int(row.attrs["data-id"]) for row in page.by_test_id("member-row")]


def api_lists(admin: AdminBrowser) -> list[dict[str, Any]]:
    response = admin.api("GET", "/api/v1/lists")
    assert response.status_code == 200
    results: list[dict[str, Any]] = response.json()["results"]
    return results


def api_list_people(admin: AdminBrowser, list_id: int) -> list[int]:
    response = admin.api("GET", f"/api/v1/lists/{list_id}/people", params={"limit": "100"})
    assert response.status_code == 200
    return [person["id"] for person in response.json()["results"]]


# Tags


def test_tags_page_counts_people(admin: AdminBrowser) -> None:
    ids = admin.factory.people(admin.nation, 3)
    add_tags(admin, {"donor": ids, "volunteer": ids[:1], "unused": []})

    page = admin.page(TAGS)

    assert tag_rows(page) == [("donor", 3), ("volunteer", 1), ("unused", 0)]
    assert admin.url("/admin/people?tag=donor") in page.one("tags-table").links()


def test_tags_search(admin: AdminBrowser) -> None:
    add_tags(admin, {"Donor 2023": [], "donor 2024": [], "volunteer": []})

    assert [name for name, _ in tag_rows(admin.page(TAGS, q="DONOR"))] == ["Donor 2023", "donor 2024"]
    assert tag_rows(admin.page(TAGS, q="nothing")) == []


def test_tags_page_through(admin: AdminBrowser) -> None:
    names = [f"tag {number:03}" for number in range(60)]
    add_tags(admin, {name: [] for name in names})

    first = admin.page(TAGS)
    second = admin.follow(first.one("page-next").attrs["href"])

    assert [name for name, _ in tag_rows(first)] == names[:50]
    assert [name for name, _ in tag_rows(second)] == names[50:]
    assert second.by_test_id("page-next") == []


def test_rename_tag(admin: AdminBrowser) -> None:
    ids = admin.factory.people(admin.nation, 2)
    tag_id = add_tags(admin, {"volunter": ids})["volunter"]
    page = admin.page(f"{TAGS}/{tag_id}")
    assert page.one("tag-count").attrs["data-count"] == "2"

    response = admin.post(f"{TAGS}/{tag_id}", {"name": " volunteer "})

    assert response.status_code == 303
    assert response.headers["location"] == admin.url(f"{TAGS}/{tag_id}?done=renamed")
    for person_id in ids:
        tags = admin.api("GET", f"/api/v1/people/{person_id}/taggings").json()["taggings"]
        assert [tagging["tag"] for tagging in tags] == ["volunteer"]
    (event,) = admin.audit_events("tag.")
    assert event["detail"] == {"tag_id": tag_id, "old_name": "volunter", "new_name": "volunteer"}
    assert admin.follow(response.headers["location"]).one("tag-name").text == "volunteer"


def test_rename_tag_to_a_taken_name(admin: AdminBrowser) -> None:
    tag_ids = add_tags(admin, {"donor": [], "donors": []})

    response = admin.post(f"{TAGS}/{tag_ids['donors']}", {"name": "donor"})

    assert response.status_code == 400
    page = parse(response.text)
    assert list(page.field_errors()) == ["name"]
    assert page.input("name").attrs["value"] == "donor"
    assert sorted(row["name"] for row in admin.rows("tags", nation_id=admin.nation.id)) == ["donor", "donors"]
    assert admin.audit_events("tag.") == []


def test_rename_tag_to_nothing(admin: AdminBrowser) -> None:
    tag_id = add_tags(admin, {"donor": []})["donor"]

    response = admin.post(f"{TAGS}/{tag_id}", {"name": "   "})

    assert response.status_code == 400
    assert list(parse(response.text).field_errors()) == ["name"]
    assert [row["name"] for row in admin.rows("tags", id=tag_id)] == ["donor"]


def test_rename_tag_without_csrf_is_refused(admin: AdminBrowser) -> None:
    tag_id = add_tags(admin, {"donor": []})["donor"]

    assert admin.post(f"{TAGS}/{tag_id}", {"name": "other"}, csrf=False).status_code == 403
    assert [row["name"] for row in admin.rows("tags", id=tag_id)] == ["donor"]


def test_tag_of_another_nation_is_not_found(client: TestClient, factory: Factory) -> None:
    other = signed_in_admin(client, factory)
    tag_id = add_tags(other, {"theirs": []})["theirs"]
    mine = signed_in_admin(client, factory)

    assert mine.get(f"{TAGS}/{tag_id}").status_code == 404
    assert mine.post(f"{TAGS}/{tag_id}", {"name": "mine"}).status_code == 404
    assert [row["name"] for row in mine.rows("tags", id=tag_id)] == ["theirs"]


# Lists


def test_create_list(admin: AdminBrowser) -> None:
    list_id = create_list(admin, "Volunteers 2024")

    assert [(row["id"], row["name"], row["slug"], row["count"]) for row in api_lists(admin)] == [
        (list_id, "Volunteers 2024", "volunteers_2024", 0)
    ]
    page = admin.page(LISTS)
    assert [(row.attrs["data-name"], row.attrs["data-count"]) for row in page.by_test_id("list-row")] == [
        ("Volunteers 2024", "0")
    ]
    assert [event["kind"] for event in admin.audit_events("list.")] == ["list.created"]


def test_create_list_with_a_taken_slug(admin: AdminBrowser) -> None:
    create_list(admin, "Volunteers", "vol")

    response = admin.post(LISTS, {"name": "Other volunteers", "slug": "vol"})

    assert response.status_code == 400
    page = parse(response.text)
    assert list(page.field_errors()) == ["slug"]
    assert page.form(admin.url(LISTS)).fields()["name"] == "Other volunteers"
    assert [row["name"] for row in api_lists(admin)] == ["Volunteers"]


def test_create_list_without_a_name(admin: AdminBrowser) -> None:
    response = admin.post(LISTS, {"name": " ", "slug": ""})

    assert response.status_code == 400
    assert list(parse(response.text).field_errors()) == ["name"]
    assert admin.rows("lists", nation_id=admin.nation.id) == []


def test_add_people_by_id_and_email(admin: AdminBrowser) -> None:
    ids = admin.factory.people(admin.nation, 3)
    list_id = create_list(admin, "Volunteers")

    text = f"{ids[0]}\n\n  P2@EXAMPLE.ORG  \n{ids[0]}\n"
    response = admin.post(f"{LISTS}/{list_id}/people", {"people": text})

    assert response.status_code == 303
    assert response.headers["location"] == admin.url(f"{LISTS}/{list_id}?done=added")
    assert api_list_people(admin, list_id) == [ids[0], ids[2]]
    page = admin.follow(response.headers["location"])
    assert member_ids(page) == [ids[0], ids[2]]
    assert page.one("list-count").attrs["data-count"] == "2"
    (event,) = admin.audit_events("list.people")
    assert event["detail"] == {"list_id": list_id, "person_ids": [ids[0], ids[2]]}


def test_add_people_is_all_or_nothing(admin: AdminBrowser) -> None:
    ids = admin.factory.people(admin.nation, 1)
    list_id = create_list(admin, "Volunteers")
    text = f"{ids[0]}\nnobody@example.org\nnot a person\n999999999"

    response = admin.post(f"{LISTS}/{list_id}/people", {"people": text})

    assert response.status_code == 400
    page = parse(response.text)
    errors = page.field_errors()["people"]
    assert [error.split(":")[0] for error in errors] == ["Line 2", "Line 3", "Line 4"]
    assert page.form(admin.url(f"{LISTS}/{list_id}/people")).fields()["people"] == text
    assert api_list_people(admin, list_id) == []
    assert admin.audit_events("list.people") == []


def test_add_person_of_another_nation_is_refused(admin: AdminBrowser, factory: Factory) -> None:
    (theirs,) = factory.people(factory.nation(), 1)
    list_id = create_list(admin, "Volunteers")

    response = admin.post(f"{LISTS}/{list_id}/people", {"people": str(theirs)})

    assert response.status_code == 400
    assert admin.rows("list_memberships", list_id=list_id) == []


def test_adding_people_already_listed_changes_nothing(admin: AdminBrowser) -> None:
    (person_id,) = admin.factory.people(admin.nation, 1)
    list_id = create_list(admin, "Volunteers")
    admin.post(f"{LISTS}/{list_id}/people", {"people": str(person_id)})

    again = admin.post(f"{LISTS}/{list_id}/people", {"people": str(person_id)})

    assert again.headers["location"].endswith("?done=already_listed")
    assert len(admin.rows("list_memberships", list_id=list_id)) == 1
    assert len(admin.audit_events("list.people_added")) == 1


def test_remove_person_from_list(admin: AdminBrowser) -> None:
    ids = admin.factory.people(admin.nation, 2)
    list_id = create_list(admin, "Volunteers")
    admin.post(f"{LISTS}/{list_id}/people", {"people": "\n".join(str(i) for i in ids)})
    page = admin.page(f"{LISTS}/{list_id}")
    forms = page.find_all("form", action=admin.url(f"{LISTS}/{list_id}/people/remove"))
    first = next(form.fields() for form in forms if form.fields()["person_id"] == str(ids[0]))

    response = admin.client.post(admin.url(f"{LISTS}/{list_id}/people/remove"), data=first)

    assert response.status_code == 303
    assert response.headers["location"] == admin.url(f"{LISTS}/{list_id}?done=removed")
    assert api_list_people(admin, list_id) == [ids[1]]
    assert len(admin.rows("people", nation_id=admin.nation.id)) == 2
    (event,) = admin.audit_events("list.people_removed")
    assert event["detail"] == {"list_id": list_id, "person_ids": [ids[0]]}


def test_remove_person_not_on_list(admin: AdminBrowser) -> None:
    (person_id,) = admin.factory.people(admin.nation, 1)
    list_id = create_list(admin, "Volunteers")

    response = admin.post(f"{LISTS}/{list_id}/people/remove", {"person_id": str(person_id)})

    assert response.headers["location"].endswith("?done=not_listed")
    assert admin.audit_events("list.people") == []


def test_list_members_page_through(admin: AdminBrowser) -> None:
    ids = admin.factory.people(admin.nation, 70)
    list_id = create_list(admin, "Everyone")
    admin.post(f"{LISTS}/{list_id}/people", {"people": "\n".join(str(i) for i in ids[5:])})

    first = admin.page(f"{LISTS}/{list_id}")
    second = admin.follow(first.one("page-next").attrs["href"])
    back = admin.follow(second.one("page-prev").attrs["href"])

    assert member_ids(first) == ids[5:55]
    assert member_ids(second) == ids[55:]
    assert member_ids(back) == ids[5:55]
    assert first.one("list-count").attrs["data-count"] == "65"


def test_rename_list(admin: AdminBrowser) -> None:
    list_id = create_list(admin, "Volunters", "volunters")

    response = admin.post(f"{LISTS}/{list_id}", {"name": "Volunteers", "slug": "volunteers"})

    assert response.status_code == 303
    assert [(row["name"], row["slug"]) for row in api_lists(admin)] == [("Volunteers", "volunteers")]
    (event,) = admin.audit_events("list.renamed")
    assert (event["detail"]["old_name"], event["detail"]["new_name"]) == ("Volunters", "Volunteers")


def test_rename_list_to_a_taken_slug(admin: AdminBrowser) -> None:
    create_list(admin, "Donors", "donors")
    list_id = create_list(admin, "Volunteers", "volunteers")

    response = admin.post(f"{LISTS}/{list_id}", {"name": "Renamed", "slug": "donors"})

    assert response.status_code == 400
    page = parse(response.text)
    assert list(page.field_errors()) == ["slug"]
    assert page.form(admin.url(f"{LISTS}/{list_id}")).fields() == {
        "csrf_token": admin.csrf,
        "name": "Renamed",
        "slug": "donors",
    }
    assert page.one("list-name").text == "Volunteers"
    assert sorted(row["slug"] for row in api_lists(admin)) == ["donors", "volunteers"]
    assert admin.audit_events("list.renamed") == []


def test_list_writes_without_csrf_are_refused(admin: AdminBrowser) -> None:
    (person_id,) = admin.factory.people(admin.nation, 1)
    list_id = create_list(admin, "Volunteers")

    assert admin.post(LISTS, {"name": "Other"}, csrf=False).status_code == 403
    assert admin.post(f"{LISTS}/{list_id}", {"name": "Renamed"}, csrf=False).status_code == 403
    assert admin.post(f"{LISTS}/{list_id}/people", {"people": str(person_id)}, csrf=False).status_code == 403

    assert [row["name"] for row in api_lists(admin)] == ["Volunteers"]
    assert api_list_people(admin, list_id) == []


def test_people_table_filters_by_the_list(admin: AdminBrowser) -> None:
    ids = admin.factory.people(admin.nation, 3)
    list_id = create_list(admin, "Volunteers")
    admin.post(f"{LISTS}/{list_id}/people", {"people": str(ids[1])})

    link = next(link for link in admin.page(f"{LISTS}/{list_id}").links() if "list=" in link)
    people = admin.follow(link)

    assert [int(row.attrs["data-id"]) for row in people.by_test_id("person-row")] == [ids[1]]


# Who may use the pages


def test_staffer_is_refused(client: TestClient, factory: Factory) -> None:
    staffer = signed_in_admin(client, factory, level="staffer")
    (person_id,) = factory.people(staffer.nation, 1)
    tag_id = add_tags(staffer, {"donor": []})["donor"]

    for path in (TAGS, f"{TAGS}/{tag_id}", LISTS):
        assert staffer.get(path).status_code == 403, path
    assert staffer.post(f"{TAGS}/{tag_id}", {"name": "renamed"}).status_code == 403
    assert staffer.post(LISTS, {"name": "Mine"}).status_code == 403

    assert [row["name"] for row in staffer.rows("tags", id=tag_id)] == ["donor"]
    assert staffer.rows("lists", nation_id=staffer.nation.id) == []
    assert staffer.rows("list_memberships", person_id=person_id) == []
