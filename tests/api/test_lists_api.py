"""Lists of API v1, beyond tests/api/test_lists.py: paging, bad people_ids, deletions and nations."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from starlette.testclient import TestClient

from tests.factory import Factory, NationInfo

NOT_FOUND = {"code": "not_found", "message": "Record not found"}


def _setup(factory: Factory, people: int = 5) -> tuple[NationInfo, dict[str, str], list[int]]:
    nation = factory.nation()
    token = factory.test_token(nation, factory.user(nation))
    return nation, {"Authorization": f"Bearer {token}"}, factory.people(nation, people)


def _create(
    client: TestClient, nation: NationInfo, headers: dict[str, str], **fields: object
) -> dict[str, Any]:
    response = client.post(f"{nation.prefix}/api/v1/lists", json={"list": fields}, headers=headers)
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()["list"]
    return body


def _members(client: TestClient, nation: NationInfo, headers: dict[str, str], list_id: object) -> list[int]:
    response = client.get(
        f"{nation.prefix}/api/v1/lists/{list_id}/people", params={"limit": "100"}, headers=headers
    )
    assert response.status_code == 200, response.text
    return [person["id"] for person in response.json()["results"]]


def _follow_all(client: TestClient, nation: NationInfo, headers: dict[str, str], url: str) -> list[Any]:
    pages: list[Any] = []
    while url:
        response = client.get(url, headers=headers)
        assert response.status_code == 200, response.text
        pages.append(response.json())
        url = f"{nation.prefix}{pages[-1]['next']}" if pages[-1]["next"] else ""
    return pages


def test_lists_paging_keeps_limit(client: TestClient, factory: Factory) -> None:
    nation, headers, _ = _setup(factory, 0)
    created = [_create(client, nation, headers, name=f"List {i}") for i in range(7)]

    pages = _follow_all(client, nation, headers, f"{nation.prefix}/api/v1/lists?limit=3")

    assert [len(page["results"]) for page in pages] == [3, 3, 1]
    assert [row for page in pages for row in page["results"]] == created
    assert all(parse_qs(urlsplit(page["next"]).query)["limit"] == ["3"] for page in pages[:-1])
    assert all(page["next"].startswith("/api/v1/lists?") for page in pages[:-1])


def test_lists_default_page_size(client: TestClient, factory: Factory) -> None:
    nation, headers, _ = _setup(factory, 0)
    for i in range(11):
        _create(client, nation, headers, name=f"L{i}")

    first = client.get(f"{nation.prefix}/api/v1/lists", headers=headers).json()

    assert len(first["results"]) == 10
    assert first["next"] is not None
    assert first["prev"] is None


def test_list_people_paging(client: TestClient, factory: Factory) -> None:
    nation, headers, ids = _setup(factory, 12)
    created = _create(client, nation, headers, name="Big")
    url = f"{nation.prefix}/api/v1/lists/{created['id']}/people"
    client.post(url, json={"people_ids": ids[1:]}, headers=headers)

    pages = _follow_all(client, nation, headers, f"{url}?limit=4")
    back = client.get(f"{nation.prefix}{pages[1]['prev']}", headers=headers).json()

    assert [len(page["results"]) for page in pages] == [4, 4, 3]
    assert [p["id"] for page in pages for p in page["results"]] == ids[1:]
    assert all(page["next"].startswith(f"/api/v1/lists/{created['id']}/people?") for page in pages[:-1])
    assert back["results"] == pages[0]["results"]


def test_list_token_other_list_400(client: TestClient, factory: Factory) -> None:
    nation, headers, ids = _setup(factory, 4)
    first = _create(client, nation, headers, name="First")
    second = _create(client, nation, headers, name="Second")
    client.post(
        f"{nation.prefix}/api/v1/lists/{first['id']}/people", json={"people_ids": ids}, headers=headers
    )
    page = client.get(
        f"{nation.prefix}/api/v1/lists/{first['id']}/people", params={"limit": "2"}, headers=headers
    ).json()
    query = urlsplit(page["next"]).query

    response = client.get(f"{nation.prefix}/api/v1/lists/{second['id']}/people?{query}", headers=headers)

    assert response.status_code == 400
    assert response.json()["code"] == "bad_request"


@pytest.mark.parametrize(
    "people_ids",
    [
        "1",
        ["1"],
        [True],
        [False],
        [[1]],
        [1.5],
        [None],
        {"id": 1},
        42,
    ],
    ids=["string", "string-ids", "true", "false", "nested", "float", "null-item", "object", "number"],
)
def test_bad_people_ids_400(client: TestClient, factory: Factory, people_ids: object) -> None:
    nation, headers, ids = _setup(factory, 3)
    created = _create(client, nation, headers, name="Typed")
    url = f"{nation.prefix}/api/v1/lists/{created['id']}/people"
    client.post(url, json={"people_ids": [ids[0]]}, headers=headers)

    added = client.post(url, json={"people_ids": people_ids}, headers=headers)
    removed = client.request("DELETE", url, json={"people_ids": people_ids}, headers=headers)

    assert added.status_code == 400
    assert added.json()["code"] == "validation_failed"
    assert removed.status_code == 400
    assert removed.json()["code"] == "validation_failed"
    assert _members(client, nation, headers, created["id"]) == [ids[0]]


def test_mixed_people_ids_change_nothing(client: TestClient, factory: Factory) -> None:
    nation, headers, ids = _setup(factory, 3)
    created = _create(client, nation, headers, name="Mixed")
    url = f"{nation.prefix}/api/v1/lists/{created['id']}/people"

    response = client.post(url, json={"people_ids": [ids[0], "2", ids[1]]}, headers=headers)

    assert response.status_code == 400
    assert response.json()["code"] == "validation_failed"
    assert _members(client, nation, headers, created["id"]) == []


def test_too_many_people_ids(client: TestClient, factory: Factory) -> None:
    nation, headers, ids = _setup(factory, 2)
    created = _create(client, nation, headers, name="Many")
    url = f"{nation.prefix}/api/v1/lists/{created['id']}/people"

    too_many = client.post(url, json={"people_ids": ids + list(range(10**9, 10**9 + 999))}, headers=headers)
    repeated = client.post(url, json={"people_ids": [ids[0]] * 1000}, headers=headers)

    assert too_many.status_code == 400
    assert too_many.json()["code"] == "validation_failed"
    assert repeated.status_code == 204
    assert _members(client, nation, headers, created["id"]) == [ids[0]]


def test_missing_people_ids(client: TestClient, factory: Factory) -> None:
    nation, headers, _ = _setup(factory, 1)
    created = _create(client, nation, headers, name="Empty")
    url = f"{nation.prefix}/api/v1/lists/{created['id']}/people"

    for body in ({}, {"people_ids": None}, {"ids": [1]}):
        response = client.post(url, json=body, headers=headers)
        assert response.status_code == 400, body
        assert response.json()["code"] == "missing_parameters", body
        assert response.json()["parameters"] == ["people_ids"], body


def test_empty_people_ids_ok(client: TestClient, factory: Factory) -> None:
    nation, headers, _ = _setup(factory, 1)
    created = _create(client, nation, headers, name="Empty")

    response = client.post(
        f"{nation.prefix}/api/v1/lists/{created['id']}/people", json={"people_ids": []}, headers=headers
    )

    assert response.status_code == 204


def test_remove_people_not_on_list(client: TestClient, factory: Factory) -> None:
    nation, headers, ids = _setup(factory, 4)
    created = _create(client, nation, headers, name="Partial")
    url = f"{nation.prefix}/api/v1/lists/{created['id']}/people"
    client.post(url, json={"people_ids": ids[:2]}, headers=headers)

    response = client.request("DELETE", url, json={"people_ids": [ids[1], ids[2], ids[3]]}, headers=headers)

    assert response.status_code == 204
    assert response.content == b""
    assert _members(client, nation, headers, created["id"]) == [ids[0]]


def test_deleting_person_leaves_lists(client: TestClient, factory: Factory) -> None:
    nation, headers, ids = _setup(factory, 3)
    created = _create(client, nation, headers, name="Mortal", author_id=ids[0])
    client.post(
        f"{nation.prefix}/api/v1/lists/{created['id']}/people", json={"people_ids": ids}, headers=headers
    )

    deleted = client.delete(f"{nation.prefix}/api/v1/people/{ids[0]}", headers=headers)
    index = client.get(f"{nation.prefix}/api/v1/lists", headers=headers)

    assert deleted.status_code == 204
    assert _members(client, nation, headers, created["id"]) == ids[1:]
    assert index.json()["results"] == [{**created, "author_id": None, "count": 2}]


def test_deleting_list_keeps_people(client: TestClient, factory: Factory) -> None:
    nation, headers, ids = _setup(factory, 2)
    created = _create(client, nation, headers, name="Doomed")
    client.post(
        f"{nation.prefix}/api/v1/lists/{created['id']}/people", json={"people_ids": ids}, headers=headers
    )

    deleted = client.delete(f"{nation.prefix}/api/v1/lists/{created['id']}", headers=headers)
    people = client.get(f"{nation.prefix}/api/v1/people", headers=headers)
    index = client.get(f"{nation.prefix}/api/v1/lists", headers=headers)

    assert deleted.status_code == 204
    assert [p["id"] for p in people.json()["results"]] == ids
    assert index.json() == {"results": [], "next": None, "prev": None}


def test_other_nation_list_404(client: TestClient, factory: Factory) -> None:
    nation, headers, ids = _setup(factory, 1)
    other, other_headers, other_ids = _setup(factory, 1)
    foreign = _create(client, other, other_headers, name="Theirs", slug="theirs")
    base = f"{nation.prefix}/api/v1/lists/{foreign['id']}"
    client.post(
        f"{other.prefix}/api/v1/lists/{foreign['id']}/people",
        json={"people_ids": other_ids},
        headers=other_headers,
    )
    calls = [
        ("GET", f"{base}/people", None),
        ("POST", f"{base}/people", {"people_ids": ids}),
        ("DELETE", f"{base}/people", {"people_ids": ids}),
        ("PUT", base, {"list": {"name": "Mine"}}),
        ("DELETE", base, None),
        ("POST", f"{base}/listings", {"listing": {"person_id": ids[0]}}),
        ("DELETE", f"{base}/listings/{ids[0]}", None),
        ("DELETE", f"{base}/listings/{other_ids[0]}", None),
        ("POST", f"{base}/tag/x", None),
        ("DELETE", f"{base}/tag/x", None),
    ]

    for method, url, body in calls:
        response = client.request(method, url, json=body, headers=headers)
        assert response.status_code == 404, (method, url)
        assert response.json() == NOT_FOUND, (method, url)
    theirs = client.get(f"{other.prefix}/api/v1/lists", headers=other_headers).json()
    assert theirs["results"] == [{**foreign, "count": 1}]
    assert _members(client, other, other_headers, foreign["id"]) == other_ids


def test_odd_list_ids_404(client: TestClient, factory: Factory) -> None:
    nation, headers, _ = _setup(factory, 1)

    for list_id in ("0", "abc", "-1", "1.0", "9" * 30, "%C2%B2"):
        response = client.get(f"{nation.prefix}/api/v1/lists/{list_id}/people", headers=headers)
        assert response.status_code == 404, list_id
        assert response.json() == NOT_FOUND, list_id


def test_foreign_author_id_400(client: TestClient, factory: Factory) -> None:
    nation, headers, ids = _setup(factory, 1)
    other_ids = factory.people(factory.nation(), 1)
    created = _create(client, nation, headers, name="Mine", author_id=ids[0])

    for author_id in (other_ids[0], 0, True, "1", 1.5):
        on_create = client.post(
            f"{nation.prefix}/api/v1/lists",
            json={"list": {"name": "X", "author_id": author_id}},
            headers=headers,
        )
        on_update = client.put(
            f"{nation.prefix}/api/v1/lists/{created['id']}",
            json={"list": {"author_id": author_id}},
            headers=headers,
        )
        assert on_create.status_code == 400, author_id
        assert on_create.json()["code"] == "validation_failed", author_id
        assert on_update.status_code == 400, author_id
        assert on_update.json()["code"] == "validation_failed", author_id
    index = client.get(f"{nation.prefix}/api/v1/lists", headers=headers).json()
    assert index["results"] == [created]


def test_foreign_people_ids_400(client: TestClient, factory: Factory) -> None:
    nation, headers, ids = _setup(factory, 1)
    other_ids = factory.people(factory.nation(), 1)
    created = _create(client, nation, headers, name="Mine")
    url = f"{nation.prefix}/api/v1/lists/{created['id']}/people"
    client.post(url, json={"people_ids": ids}, headers=headers)

    response = client.request("DELETE", url, json={"people_ids": [ids[0], other_ids[0]]}, headers=headers)

    assert response.status_code == 400
    assert response.json()["code"] == "validation_failed"
    assert _members(client, nation, headers, created["id"]) == ids


def test_listing_unknown_person_400(client: TestClient, factory: Factory) -> None:
    nation, headers, _ = _setup(factory, 1)
    other_ids = factory.people(factory.nation(), 1)
    created = _create(client, nation, headers, name="Mine")

    response = client.post(
        f"{nation.prefix}/api/v1/lists/{created['id']}/listings",
        json={"listing": {"person_id": other_ids[0]}},
        headers=headers,
    )

    assert response.status_code == 400
    assert response.json()["code"] == "validation_failed"


def test_list_tag_nul_400(client: TestClient, factory: Factory) -> None:
    nation, headers, _ = _setup(factory, 1)
    created = _create(client, nation, headers, name="Mine")

    response = client.post(f"{nation.prefix}/api/v1/lists/{created['id']}/tag/a%00b", headers=headers)

    assert response.status_code == 400
    assert response.json()["code"] == "validation_failed"
