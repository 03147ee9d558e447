"""Lists of API v1."""

from __future__ import annotations

from starlette.testclient import TestClient

from tests.factory import Factory, NationInfo


def _setup(factory: Factory, people: int = 5) -> tuple[NationInfo, dict[str, str], list[int]]:
    nation = factory.nation()
    token = factory.test_token(nation, factory.user(nation))
    return nation, {"Authorization": f"Bearer {token}"}, factory.people(nation, people)


def _create(
    client: TestClient, nation: NationInfo, headers: dict[str, str], **fields: object
) -> dict[str, object]:
    response = client.post(f"{nation.prefix}/api/v1/lists", json={"list": fields}, headers=headers)
    assert response.status_code == 201, response.text
    body: dict[str, object] = response.json()["list"]
    return body


def test_create_and_index(client: TestClient, factory: Factory) -> None:
    nation, headers, ids = _setup(factory)

    created = _create(client, nation, headers, name="Volunteers 2026", author_id=ids[0])
    index = client.get(f"{nation.prefix}/api/v1/lists", headers=headers)

    assert created == {
        "id": created["id"],
        "name": "Volunteers 2026",
        "slug": "volunteers_2026",
        "author_id": ids[0],
        "count": 0,
    }
    assert index.status_code == 200
    assert index.json() == {"results": [created], "next": None, "prev": None}


def test_add_list_and_remove_people(client: TestClient, factory: Factory) -> None:
    nation, headers, ids = _setup(factory)
    created = _create(client, nation, headers, name="Callers", slug="callers")
    url = f"{nation.prefix}/api/v1/lists/{created['id']}/people"

    added = client.post(url, json={"people_ids": ids[:3]}, headers=headers)
    again = client.post(url, json={"people_ids": ids[:2]}, headers=headers)
    listed = client.get(url, headers=headers)
    removed = client.request("DELETE", url, json={"people_ids": [ids[0]]}, headers=headers)
    after = client.get(url, headers=headers)

    assert added.status_code == 204
    assert again.status_code == 204
    assert [p["id"] for p in listed.json()["results"]] == ids[:3]
    assert removed.status_code == 204
    assert [p["id"] for p in after.json()["results"]] == ids[1:3]


def test_unknown_people_ids_change_nothing(client: TestClient, factory: Factory) -> None:
    nation, headers, ids = _setup(factory)
    other_ids = factory.people(factory.nation(), 1)
    created = _create(client, nation, headers, name="Callers")
    url = f"{nation.prefix}/api/v1/lists/{created['id']}/people"

    response = client.post(url, json={"people_ids": [ids[0], other_ids[0]]}, headers=headers)
    listed = client.get(url, headers=headers)

    assert response.status_code == 400
    assert response.json()["code"] == "validation_failed"
    assert listed.json()["results"] == []


def test_listing_create_and_delete(client: TestClient, factory: Factory) -> None:
    nation, headers, ids = _setup(factory)
    created = _create(client, nation, headers, name="Old style")

    listing = client.post(
        f"{nation.prefix}/api/v1/lists/{created['id']}/listings",
        json={"listing": {"person_id": ids[1]}},
        headers=headers,
    )
    deleted = client.delete(
        f"{nation.prefix}/api/v1/lists/{created['id']}/listings/{ids[1]}", headers=headers
    )
    count = client.get(f"{nation.prefix}/api/v1/lists", headers=headers).json()["results"][0]["count"]

    assert listing.status_code == 201
    assert listing.json()["listing"]["person_id"] == ids[1]
    assert listing.json()["listing"]["list_id"] == created["id"]
    assert deleted.status_code == 204
    assert count == 0


def test_tag_everyone_on_list(client: TestClient, factory: Factory) -> None:
    nation, headers, ids = _setup(factory)
    created = _create(client, nation, headers, name="Tag me")
    client.post(
        f"{nation.prefix}/api/v1/lists/{created['id']}/people", json={"people_ids": ids[:2]}, headers=headers
    )

    tagged = client.post(
        f"{nation.prefix}/api/v1/lists/{created['id']}/tag/phone%20bank%2F2026", headers=headers
    )
    people = client.get(f"{nation.prefix}/api/v1/tags/phone%20bank%2F2026/people", headers=headers).json()
    untagged = client.delete(
        f"{nation.prefix}/api/v1/lists/{created['id']}/tag/phone bank/2026", headers=headers
    )
    after = client.get(f"{nation.prefix}/api/v1/people/{ids[0]}/taggings", headers=headers).json()

    assert tagged.status_code == 204
    assert [p["id"] for p in people["results"]] == ids[:2]
    assert untagged.status_code == 204
    assert after == {"taggings": []}


def test_update_and_destroy(client: TestClient, factory: Factory) -> None:
    nation, headers, _ = _setup(factory)
    first = _create(client, nation, headers, name="A", slug="a")
    second = _create(client, nation, headers, name="B", slug="b")

    renamed = client.put(
        f"{nation.prefix}/api/v1/lists/{first['id']}", json={"list": {"name": "A2"}}, headers=headers
    )
    clash = client.put(
        f"{nation.prefix}/api/v1/lists/{first['id']}", json={"list": {"slug": "b"}}, headers=headers
    )
    destroyed = client.delete(f"{nation.prefix}/api/v1/lists/{second['id']}", headers=headers)
    gone = client.get(f"{nation.prefix}/api/v1/lists/{second['id']}/people", headers=headers)

    assert renamed.status_code == 200
    assert renamed.json()["list"]["name"] == "A2"
    assert clash.status_code == 400
    assert clash.json()["code"] == "validation_failed"
    assert destroyed.status_code == 204
    assert gone.status_code == 404
    assert gone.json() == {"code": "not_found", "message": "Record not found"}


def test_list_errors(client: TestClient, factory: Factory) -> None:
    nation, headers, _ = _setup(factory)
    other = factory.nation()
    foreign = _create(
        client, other, {"Authorization": f"Bearer {factory.test_token(other, factory.user(other))}"}, name="X"
    )

    missing_root = client.post(f"{nation.prefix}/api/v1/lists", json={"name": "x"}, headers=headers)
    no_name = client.post(f"{nation.prefix}/api/v1/lists", json={"list": {"slug": "s"}}, headers=headers)
    foreign_list = client.get(f"{nation.prefix}/api/v1/lists/{foreign['id']}/people", headers=headers)
    no_ids = client.post(f"{nation.prefix}/api/v1/lists/{foreign['id']}/people", json={}, headers=headers)

    assert missing_root.status_code == 400
    assert missing_root.json()["code"] == "missing_parameters"
    assert no_name.status_code == 400
    assert no_name.json()["code"] == "validation_failed"
    assert foreign_list.status_code == 404
    assert no_ids.status_code == 404
