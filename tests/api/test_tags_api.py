"""Taggings, /tags and /tags/:tag/people of API v1: awkward names, nations, paging and errors."""

from __future__ import annotations

import asyncio
import re
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import httpx2
import pytest
import uvicorn
from starlette.testclient import TestClient

from citizenry.app import create_app
from citizenry.settings import Settings
from tests.factory import Factory, NationInfo

TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")
NOT_FOUND = {"code": "not_found", "message": "Record not found"}

#: Tags that a path must carry percent-encoded, or that httpx would encode anyway.
ENCODED_ONLY_TAGS = (
    "phone bank",
    "50%",
    "a%2Fb",
    "why?",
    "#hashtag",
    "vote & win",
    "🗳️ voters",
    "избиратели",
    "選挙ボランティア",
    "مؤيدون",
    "café",
)
#: Tags whose characters are all legal unencoded in a path.
PLAIN_TAGS = ("a,b", "team:north", "2026/spring", "c++", "x/y:z,w+v", "it's(ok)*;=~!$@")


@pytest.fixture(scope="module")
def live(settings: Settings) -> Iterator[httpx2.Client]:
    """A client of a real server on 127.0.0.1, which decodes the path once, as servers do.

    Starlette's TestClient decodes the path twice, so it cannot tell ``a%252Fb`` from ``a/b``.
    """
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(settings), log_level="warning"))
    thread = threading.Thread(target=lambda: asyncio.run(server.serve(sockets=[sock])), daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "the server did not start"
        time.sleep(0.05)
    with httpx2.Client(base_url=f"http://127.0.0.1:{port}", follow_redirects=False) as http:
        yield http
    server.should_exit = True
    thread.join(timeout=10)
    sock.close()


def _setup(factory: Factory, people: int = 3) -> tuple[NationInfo, dict[str, str], list[int]]:
    nation = factory.nation()
    token = factory.test_token(nation, factory.user(nation))
    return nation, {"Authorization": f"Bearer {token}"}, factory.people(nation, people)


def _tag(
    client: httpx2.Client, nation: NationInfo, headers: dict[str, str], person_id: int, tag: object
) -> Any:
    return client.put(
        f"{nation.prefix}/api/v1/people/{person_id}/taggings", json={"tagging": {"tag": tag}}, headers=headers
    )


def _taggings(
    client: httpx2.Client, nation: NationInfo, headers: dict[str, str], person_id: int
) -> list[str]:
    response = client.get(f"{nation.prefix}/api/v1/people/{person_id}/taggings", headers=headers)
    assert response.status_code == 200
    return [tagging["tag"] for tagging in response.json()["taggings"]]


def _all_tags(client: httpx2.Client, nation: NationInfo, headers: dict[str, str]) -> list[dict[str, Any]]:
    response = client.get(f"{nation.prefix}/api/v1/tags", params={"limit": "100"}, headers=headers)
    assert response.status_code == 200
    results: list[dict[str, Any]] = response.json()["results"]
    return results


def _ids(body: dict[str, Any]) -> list[int]:
    return [person["id"] for person in body["results"]]


def _follow_all(client: httpx2.Client, nation: NationInfo, headers: dict[str, str], url: str) -> list[Any]:
    """Read every page of a listing, following ``next`` appended to the nation prefix."""
    pages: list[Any] = []
    while url:
        response = client.get(url, headers=headers)
        assert response.status_code == 200, response.text
        body = response.json()
        pages.append(body)
        url = f"{nation.prefix}{body['next']}" if body["next"] else ""
    return pages


# Taggings of a person.


def test_taggings_empty_list(client: TestClient, factory: Factory) -> None:
    nation, headers, ids = _setup(factory)

    response = client.get(f"{nation.prefix}/api/v1/people/{ids[0]}/taggings", headers=headers)

    assert response.status_code == 200
    assert response.json() == {"taggings": []}


def test_add_one_tagging(client: TestClient, factory: Factory) -> None:
    nation, headers, ids = _setup(factory)

    response = _tag(client, nation, headers, ids[0], "volunteer")
    listed = client.get(f"{nation.prefix}/api/v1/people/{ids[0]}/taggings", headers=headers)

    assert response.status_code == 200
    tagging = response.json()["tagging"]
    assert response.json() == {
        "tagging": {"person_id": ids[0], "tag": "volunteer", "created_at": tagging["created_at"]}
    }
    assert TIMESTAMP.match(tagging["created_at"])
    assert listed.json() == {"taggings": [tagging]}


def test_add_one_twice_keeps_one(client: TestClient, factory: Factory) -> None:
    nation, headers, ids = _setup(factory)

    first = _tag(client, nation, headers, ids[0], "donor")
    second = _tag(client, nation, headers, ids[0], "donor")

    assert first.status_code == 200
    assert second.status_code == 200
    assert second.json() == first.json()
    assert _taggings(client, nation, headers, ids[0]) == ["donor"]


def test_add_several_taggings(client: TestClient, factory: Factory) -> None:
    nation, headers, ids = _setup(factory)

    response = _tag(client, nation, headers, ids[0], ["a", "b", "a", "c"])

    assert response.status_code == 200
    body = response.json()
    assert list(body) == ["taggings"]
    assert [t["tag"] for t in body["taggings"]] == ["a", "b", "c"]
    assert {t["person_id"] for t in body["taggings"]} == {ids[0]}
    assert all(TIMESTAMP.match(t["created_at"]) for t in body["taggings"])
    assert _taggings(client, nation, headers, ids[0]) == ["a", "b", "c"]


def test_add_several_keeps_existing(client: TestClient, factory: Factory) -> None:
    nation, headers, ids = _setup(factory)
    _tag(client, nation, headers, ids[0], "old")

    response = _tag(client, nation, headers, ids[0], ["new"])

    assert response.status_code == 200
    assert [t["tag"] for t in response.json()["taggings"]] == ["new"]
    assert _taggings(client, nation, headers, ids[0]) == ["old", "new"]


def test_tagging_trims_spaces(client: TestClient, factory: Factory) -> None:
    nation, headers, ids = _setup(factory)

    response = _tag(client, nation, headers, ids[0], "  padded  ")

    assert response.status_code == 200
    assert response.json()["tagging"]["tag"] == "padded"


def test_remove_one_tagging(client: TestClient, factory: Factory) -> None:
    nation, headers, ids = _setup(factory)
    _tag(client, nation, headers, ids[0], ["keep", "drop"])

    removed = client.delete(f"{nation.prefix}/api/v1/people/{ids[0]}/taggings/drop", headers=headers)
    again = client.delete(f"{nation.prefix}/api/v1/people/{ids[0]}/taggings/drop", headers=headers)
    never = client.delete(f"{nation.prefix}/api/v1/people/{ids[0]}/taggings/never-had", headers=headers)

    assert removed.status_code == 204
    assert removed.content == b""
    assert again.status_code == 204
    assert never.status_code == 204
    assert _taggings(client, nation, headers, ids[0]) == ["keep"]


def test_remove_several_taggings(client: TestClient, factory: Factory) -> None:
    nation, headers, ids = _setup(factory)
    _tag(client, nation, headers, ids[0], ["a", "b", "c", "d"])
    url = f"{nation.prefix}/api/v1/people/{ids[0]}/taggings"

    several = client.request("DELETE", url, json={"tagging": {"tag": ["a", "c", "unknown"]}}, headers=headers)
    one = client.request("DELETE", url, json={"tagging": {"tag": "d"}}, headers=headers)

    assert several.status_code == 204
    assert several.content == b""
    assert one.status_code == 204
    assert _taggings(client, nation, headers, ids[0]) == ["b"]


def test_remove_only_that_person(client: TestClient, factory: Factory) -> None:
    nation, headers, ids = _setup(factory)
    for person_id in ids[:2]:
        _tag(client, nation, headers, person_id, "shared")

    client.delete(f"{nation.prefix}/api/v1/people/{ids[0]}/taggings/shared", headers=headers)

    assert _taggings(client, nation, headers, ids[0]) == []
    assert _taggings(client, nation, headers, ids[1]) == ["shared"]


# Awkward tag names.


def _round_trip(
    client: httpx2.Client,
    nation: NationInfo,
    headers: dict[str, str],
    person_id: int,
    tag: str,
    path_tag: str,
) -> None:
    put = _tag(client, nation, headers, person_id, tag)
    people = client.get(f"{nation.prefix}/api/v1/tags/{path_tag}/people", headers=headers)

    assert put.status_code == 200, tag
    assert put.json()["tagging"]["tag"] == tag
    assert _taggings(client, nation, headers, person_id) == [tag]
    assert {"name": tag, "taggings_count": 1} in _all_tags(client, nation, headers)
    assert people.status_code == 200, tag
    assert _ids(people.json()) == [person_id]
    assert people.json()["results"][0]["tags"] == [tag]


@pytest.mark.parametrize("tag", ENCODED_ONLY_TAGS + PLAIN_TAGS)
def test_awkward_tag_encoded_path(live: httpx2.Client, factory: Factory, tag: str) -> None:
    nation, headers, ids = _setup(factory, 1)

    _round_trip(live, nation, headers, ids[0], tag, quote(tag, safe=""))


@pytest.mark.parametrize("tag", PLAIN_TAGS)
def test_awkward_tag_plain_path(live: httpx2.Client, factory: Factory, tag: str) -> None:
    nation, headers, ids = _setup(factory, 1)

    _round_trip(live, nation, headers, ids[0], tag, tag)


@pytest.mark.parametrize("tag", ENCODED_ONLY_TAGS + PLAIN_TAGS)
def test_awkward_tag_delete_encoded(live: httpx2.Client, factory: Factory, tag: str) -> None:
    nation, headers, ids = _setup(factory, 1)
    _tag(live, nation, headers, ids[0], [tag, "other"])

    response = live.delete(
        f"{nation.prefix}/api/v1/people/{ids[0]}/taggings/{quote(tag, safe='')}", headers=headers
    )

    assert response.status_code == 204
    assert _taggings(live, nation, headers, ids[0]) == ["other"]


@pytest.mark.parametrize("tag", PLAIN_TAGS)
def test_awkward_tag_delete_plain(live: httpx2.Client, factory: Factory, tag: str) -> None:
    nation, headers, ids = _setup(factory, 1)
    _tag(live, nation, headers, ids[0], [tag, "other"])

    response = live.delete(f"{nation.prefix}/api/v1/people/{ids[0]}/taggings/{tag}", headers=headers)

    assert response.status_code == 204
    assert _taggings(live, nation, headers, ids[0]) == ["other"]


def test_awkward_tags_at_once(client: TestClient, factory: Factory) -> None:
    nation, headers, ids = _setup(factory, 1)
    tags = list(ENCODED_ONLY_TAGS + PLAIN_TAGS)

    response = _tag(client, nation, headers, ids[0], tags)
    person = client.get(f"{nation.prefix}/api/v1/people/{ids[0]}", headers=headers)

    assert response.status_code == 200
    assert [t["tag"] for t in response.json()["taggings"]] == tags
    assert _taggings(client, nation, headers, ids[0]) == tags
    assert sorted(person.json()["person"]["tags"]) == sorted(tags)
    assert sorted(t["name"] for t in _all_tags(client, nation, headers)) == sorted(tags)


def test_similar_tags_stay_apart(live: httpx2.Client, factory: Factory) -> None:
    nation, headers, ids = _setup(factory, 1)
    tags = ["a/b", "a%2Fb", "a b", "a+b", "a%20b"]
    _tag(live, nation, headers, ids[0], tags)

    for tag in tags:
        response = live.get(f"{nation.prefix}/api/v1/tags/{quote(tag, safe='')}/people", headers=headers)
        assert response.status_code == 200, tag
        assert _ids(response.json()) == ids, tag
    assert sorted(t["name"] for t in _all_tags(live, nation, headers)) == sorted(tags)


def test_tag_ending_in_people(live: httpx2.Client, factory: Factory) -> None:
    nation, headers, ids = _setup(factory, 1)
    _tag(live, nation, headers, ids[0], ["people", "x/people"])

    plain = live.get(f"{nation.prefix}/api/v1/tags/people/people", headers=headers)
    nested = live.get(f"{nation.prefix}/api/v1/tags/x/people/people", headers=headers)

    assert plain.status_code == 200
    assert _ids(plain.json()) == ids
    assert nested.status_code == 200
    assert _ids(nested.json()) == ids


# Nations.


def test_tags_are_per_nation(client: TestClient, factory: Factory) -> None:
    nation, headers, ids = _setup(factory, 2)
    other, other_headers, other_ids = _setup(factory, 1)
    _tag(client, nation, headers, ids[0], "shared name")
    _tag(client, other, other_headers, other_ids[0], ["shared name", "theirs only"])

    people = client.get(f"{nation.prefix}/api/v1/tags/shared%20name/people", headers=headers)
    theirs = client.get(f"{nation.prefix}/api/v1/tags/theirs%20only/people", headers=headers)

    assert _all_tags(client, nation, headers) == [{"name": "shared name", "taggings_count": 1}]
    assert _ids(people.json()) == [ids[0]]
    assert theirs.status_code == 404
    assert theirs.json() == NOT_FOUND


def test_removal_stays_in_nation(client: TestClient, factory: Factory) -> None:
    nation, headers, ids = _setup(factory, 1)
    other, other_headers, other_ids = _setup(factory, 1)
    _tag(client, nation, headers, ids[0], "t")
    _tag(client, other, other_headers, other_ids[0], "t")

    client.delete(f"{nation.prefix}/api/v1/people/{ids[0]}/taggings/t", headers=headers)

    assert _taggings(client, other, other_headers, other_ids[0]) == ["t"]
    assert _all_tags(client, other, other_headers) == [{"name": "t", "taggings_count": 1}]


def test_other_nation_person_404(client: TestClient, factory: Factory) -> None:
    nation, headers, _ = _setup(factory, 1)
    other, other_headers, other_ids = _setup(factory, 1)
    _tag(client, other, other_headers, other_ids[0], "t")
    url = f"{nation.prefix}/api/v1/people/{other_ids[0]}/taggings"

    responses = [
        client.get(url, headers=headers),
        client.put(url, json={"tagging": {"tag": "x"}}, headers=headers),
        client.delete(f"{url}/t", headers=headers),
        client.request("DELETE", url, json={"tagging": {"tag": ["t"]}}, headers=headers),
    ]

    for response in responses:
        assert response.status_code == 404, response.request.method
        assert response.json() == NOT_FOUND, response.request.method
    assert _taggings(client, other, other_headers, other_ids[0]) == ["t"]


# /tags.


def test_tags_taggings_count(client: TestClient, factory: Factory) -> None:
    nation, headers, ids = _setup(factory, 3)
    for person_id in ids:
        _tag(client, nation, headers, person_id, "all")
    _tag(client, nation, headers, ids[0], ["one", "gone"])
    client.delete(f"{nation.prefix}/api/v1/people/{ids[0]}/taggings/gone", headers=headers)

    response = client.get(f"{nation.prefix}/api/v1/tags", headers=headers)

    assert response.status_code == 200
    assert response.json() == {
        "results": [
            {"name": "all", "taggings_count": 3},
            {"name": "one", "taggings_count": 1},
            {"name": "gone", "taggings_count": 0},
        ],
        "next": None,
        "prev": None,
    }


def test_tags_empty_nation(client: TestClient, factory: Factory) -> None:
    nation, headers, _ = _setup(factory, 0)

    response = client.get(f"{nation.prefix}/api/v1/tags", headers=headers)

    assert response.status_code == 200
    assert response.json() == {"results": [], "next": None, "prev": None}


def test_tags_paging_every_tag_once(client: TestClient, factory: Factory) -> None:
    nation, headers, ids = _setup(factory, 1)
    names = [f"tag {i:02d}/é" for i in range(23)]
    _tag(client, nation, headers, ids[0], names)

    pages = _follow_all(client, nation, headers, f"{nation.prefix}/api/v1/tags?limit=5")

    assert [len(page["results"]) for page in pages] == [5, 5, 5, 5, 3]
    assert [t["name"] for page in pages for t in page["results"]] == names
    assert all(page["next"].startswith("/api/v1/tags?") for page in pages[:-1])
    assert pages[0]["prev"] is None
    assert pages[-1]["next"] is None


def test_tags_prev_link_works(client: TestClient, factory: Factory) -> None:
    nation, headers, ids = _setup(factory, 1)
    names = [f"t{i}" for i in range(6)]
    _tag(client, nation, headers, ids[0], names)

    first = client.get(f"{nation.prefix}/api/v1/tags", params={"limit": "2"}, headers=headers).json()
    second = client.get(f"{nation.prefix}{first['next']}", headers=headers).json()
    back = client.get(f"{nation.prefix}{second['prev']}", headers=headers).json()

    assert [t["name"] for t in second["results"]] == names[2:4]
    assert back == {**back, "results": first["results"], "prev": None}


def test_tag_people_paging(live: httpx2.Client, factory: Factory) -> None:
    nation, headers, ids = _setup(factory, 13)
    tag = "door knock/2026 ✓"
    for person_id in ids:
        _tag(live, nation, headers, person_id, tag)
    other, other_headers, other_ids = _setup(factory, 2)
    for person_id in other_ids:
        _tag(live, other, other_headers, person_id, tag)

    pages = _follow_all(
        live, nation, headers, f"{nation.prefix}/api/v1/tags/{quote(tag, safe='')}/people?limit=4"
    )

    assert [len(page["results"]) for page in pages] == [4, 4, 4, 1]
    assert [i for page in pages for i in _ids(page)] == ids
    assert all(page["next"].startswith(f"/api/v1/tags/{quote(tag, safe='')}/people?") for page in pages[:-1])


def test_tag_people_untags_mid_paging(client: TestClient, factory: Factory) -> None:
    nation, headers, ids = _setup(factory, 6)
    for person_id in ids:
        _tag(client, nation, headers, person_id, "t")

    first = client.get(f"{nation.prefix}/api/v1/tags/t/people", params={"limit": "3"}, headers=headers).json()
    client.delete(f"{nation.prefix}/api/v1/people/{ids[3]}/taggings/t", headers=headers)
    rest = client.get(f"{nation.prefix}{first['next']}", headers=headers).json()

    assert _ids(first) == ids[:3]
    assert _ids(rest) == ids[4:]
    assert rest["next"] is None


# Errors.


def test_unknown_person_404(client: TestClient, factory: Factory) -> None:
    nation, headers, ids = _setup(factory, 1)
    client.delete(f"{nation.prefix}/api/v1/people/{ids[0]}", headers=headers)

    for person_id in (str(ids[0]), "0", "abc", "-1", "1.5", "9" * 30):
        url = f"{nation.prefix}/api/v1/people/{person_id}/taggings"
        responses = [
            client.get(url, headers=headers),
            client.put(url, json={"tagging": {"tag": "x"}}, headers=headers),
            client.delete(f"{url}/x", headers=headers),
            client.request("DELETE", url, json={"tagging": {"tag": ["x"]}}, headers=headers),
        ]
        for response in responses:
            assert response.status_code == 404, (person_id, response.request.method)
            assert response.json() == NOT_FOUND, (person_id, response.request.method)


def test_unknown_tag_404(client: TestClient, factory: Factory) -> None:
    nation, headers, _ = _setup(factory, 1)

    for path_tag in ("never-used", "a%2Fb", "a/b", "%F0%9F%97%B3"):
        response = client.get(f"{nation.prefix}/api/v1/tags/{path_tag}/people", headers=headers)
        assert response.status_code == 404, path_tag
        assert response.json() == NOT_FOUND, path_tag


def test_missing_root_is_missing_parameters(client: TestClient, factory: Factory) -> None:
    nation, headers, ids = _setup(factory, 1)
    url = f"{nation.prefix}/api/v1/people/{ids[0]}/taggings"

    for method in ("PUT", "DELETE"):
        for body in ({}, {"tag": "x"}, {"tagging": None}):
            response = client.request(method, url, json=body, headers=headers)
            assert response.status_code == 400, (method, body)
            assert response.json()["code"] == "missing_parameters", (method, body)
            assert response.json()["parameters"] == ["tagging"], (method, body)
            assert response.json()["inner_error"]["name"] == "Api::Error::MissingParameters", (method, body)


def test_bad_tag_values_fail_validation(client: TestClient, factory: Factory) -> None:
    nation, headers, ids = _setup(factory, 1)
    url = f"{nation.prefix}/api/v1/people/{ids[0]}/taggings"
    bad_values: list[object] = [
        None,
        5,
        True,
        [],
        "",
        "   ",
        ["a", 1],
        ["a", ["b"]],
        {"name": "a"},
        "x" * 256,
        [f"t{i}" for i in range(101)],
    ]

    for method in ("PUT", "DELETE"):
        for value in bad_values:
            response = client.request(method, url, json={"tagging": {"tag": value}}, headers=headers)
            assert response.status_code == 400, (method, value)
            assert response.json()["code"] == "validation_failed", (method, value)
            assert isinstance(response.json()["validation_errors"], list), (method, value)
    assert _taggings(client, nation, headers, ids[0]) == []


def test_longest_tag_accepted(client: TestClient, factory: Factory) -> None:
    nation, headers, ids = _setup(factory, 1)

    longest = _tag(client, nation, headers, ids[0], "é" * 255)
    most = _tag(client, nation, headers, ids[0], [f"t{i}" for i in range(100)])

    assert longest.status_code == 200
    assert longest.json()["tagging"]["tag"] == "é" * 255
    assert most.status_code == 200
    assert len(most.json()["taggings"]) == 100


def test_malformed_bodies_rejected(client: TestClient, factory: Factory) -> None:
    nation, headers, ids = _setup(factory, 1)
    url = f"{nation.prefix}/api/v1/people/{ids[0]}/taggings"
    json_headers = {**headers, "Content-Type": "application/json"}

    not_json = client.put(url, content=b"{tagging", headers=json_headers)
    not_object = client.put(url, json=["tagging"], headers=headers)
    root_not_object = client.put(url, json={"tagging": "x"}, headers=headers)
    form = client.put(url, data={"tagging": "x"}, headers=headers)

    assert not_json.status_code == 400
    assert not_json.json()["code"] == "bad_request"
    assert not_object.status_code == 400
    assert not_object.json()["code"] == "bad_request"
    assert root_not_object.status_code == 400
    assert root_not_object.json()["code"] == "bad_request"
    assert form.status_code == 415
    assert form.json()["code"] == "unsupported_media_type"


def test_nul_in_body_tag_400(client: TestClient, factory: Factory) -> None:
    nation, headers, ids = _setup(factory, 1)
    url = f"{nation.prefix}/api/v1/people/{ids[0]}/taggings"

    one = client.put(url, json={"tagging": {"tag": "a\x00b"}}, headers=headers)
    several = client.put(url, json={"tagging": {"tag": ["ok", "a\x00b"]}}, headers=headers)
    remove = client.request("DELETE", url, json={"tagging": {"tag": ["a\x00b"]}}, headers=headers)

    assert one.status_code == 400
    assert one.json()["code"] == "validation_failed"
    assert several.status_code == 400
    assert several.json()["code"] == "validation_failed"
    assert remove.status_code == 400
    assert remove.json()["code"] == "validation_failed"
    assert _taggings(client, nation, headers, ids[0]) == []


def test_nul_in_path_tag_400(client: TestClient, factory: Factory) -> None:
    nation, headers, ids = _setup(factory, 1)

    people = client.get(f"{nation.prefix}/api/v1/tags/a%00b/people", headers=headers)
    remove = client.delete(f"{nation.prefix}/api/v1/people/{ids[0]}/taggings/a%00b", headers=headers)

    assert people.status_code == 400
    assert people.json()["code"] in {"bad_request", "validation_failed"}
    assert remove.status_code == 400
    assert remove.json()["code"] in {"bad_request", "validation_failed"}


def test_tags_need_token(client: TestClient, factory: Factory) -> None:
    nation, _, ids = _setup(factory, 1)
    bad = {"Authorization": "Bearer not-a-token"}

    responses = [
        client.get(f"{nation.prefix}/api/v1/tags", headers=bad),
        client.get(f"{nation.prefix}/api/v1/tags/x/people", headers=bad),
        client.get(f"{nation.prefix}/api/v1/people/{ids[0]}/taggings", headers=bad),
        client.put(f"{nation.prefix}/api/v1/people/{ids[0]}/taggings", json={}, headers=bad),
    ]

    for response in responses:
        assert response.status_code == 401, response.request.url
        assert response.json()["code"] == "unauthorized", response.request.url
