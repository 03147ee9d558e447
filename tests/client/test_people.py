"""The People methods of both clients, against Citizenry's API."""

from __future__ import annotations

import secrets

import pytest

from citizenry.client import NotFound, PushResult
from tests.client.conftest import Connect, Nation, Recorder


def _email() -> str:
    return f"person-{secrets.token_hex(5)}@example.org"


def test_list_follows_next_links(connect: Connect, nation: Nation, recorder: Recorder) -> None:
    ids = nation.factory.people(nation.nation, 7)
    api = connect(nation.base_url, asgi=recorder, access_token=nation.api_token())

    people = api.list_people(limit=3)

    assert [person["id"] for person in people] == ids
    assert [(person["first_name"], person["email"]) for person in people] == [
        (f"First{i}", f"p{i}@example.org") for i in range(7)
    ]
    pages = [seen for seen in recorder.seen if seen.path == "/api/v1/people"]
    assert [seen.status for seen in pages] == [200, 200, 200]
    assert pages[0].query == {"limit": ["3"]}
    for later in pages[1:]:
        assert set(later.query) == {"__nonce", "__token", "limit"}
        assert later.query["limit"] == ["3"]


@pytest.mark.parametrize("strip_next", [False, True], ids=["citizenry-next", "cursor-only-next"])
def test_search_keeps_filters(connect: Connect, nation: Nation, recorder: Recorder, strip_next: bool) -> None:
    recorder.strip_next = strip_next
    api = connect(nation.base_url, asgi=recorder, access_token=nation.api_token())
    lovelace_ids = [
        api.create_person({"first_name": f"Ada{i}", "last_name": "Lovelace"})["id"] for i in range(5)
    ]
    for i in range(3):
        api.create_person({"first_name": f"Grace{i}", "last_name": "Hopper"})
    recorder.seen.clear()

    found = api.search_people({"last_name": "Lovelace"}, limit=2)

    assert [person["id"] for person in found] == lovelace_ids
    assert {person["last_name"] for person in found} == {"Lovelace"}
    pages = [seen for seen in recorder.seen if seen.path == "/api/v1/people/search"]
    assert len(pages) == 3
    assert pages[0].query == {"last_name": ["Lovelace"], "limit": ["2"]}
    for later in pages[1:]:
        # Each filter once: taken from the link, or re-added when the link lacks it.
        assert later.query["last_name"] == ["Lovelace"]
        assert later.query["limit"] == ["2"]
        assert set(later.query) == {"__nonce", "__token", "last_name", "limit"}


def test_nearby_lists_people_within_distance(connect: Connect, nation: Nation) -> None:
    api = connect(nation.base_url, access_token=nation.api_token())
    near = api.create_person({"first_name": "Near", "primary_address": {"lat": "51.5007", "lng": "-0.1246"}})
    api.create_person({"first_name": "Far", "primary_address": {"lat": "40.7128", "lng": "-74.0060"}})

    found = api.nearby_people(51.5014, -0.1419, distance=5)

    assert [person["id"] for person in found] == [near["id"]]


def test_person_lifecycle(connect: Connect, nation: Nation) -> None:
    api = connect(nation.base_url, access_token=nation.api_token())

    created = api.create_person({"first_name": "Ada", "last_name": "Lovelace", "external_id": "ext-1"})
    fetched = api.get_person(created["id"])
    by_external_id = api.get_person("ext-1", id_type="external")
    updated = api.update_person(created["id"], {"first_name": "Augusta"})
    count = api.count_people()
    assert api.delete_person(created["id"]) is None

    assert (created["first_name"], created["last_name"]) == ("Ada", "Lovelace")
    assert fetched["id"] == created["id"]
    assert by_external_id["id"] == created["id"]
    assert (updated["id"], updated["first_name"], updated["last_name"]) == (
        created["id"],
        "Augusta",
        "Lovelace",
    )
    assert count == 1
    assert api.count_people() == 0
    with pytest.raises(NotFound) as caught:
        api.get_person(created["id"])
    assert caught.value.status_code == 404
    assert caught.value.body == {"code": "not_found", "message": caught.value.message}


def test_push_and_add(connect: Connect, nation: Nation) -> None:
    api = connect(nation.base_url, access_token=nation.api_token())
    email = _email()

    pushed = api.push_person({"email": email, "first_name": "Ada"})
    pushed_again = api.push_person({"email": email.upper(), "first_name": "Augusta", "last_name": "King"})
    added = api.add_person({"email": email, "first_name": "Grace", "employer": "Analytical Engines"})

    assert isinstance(pushed, PushResult)
    assert pushed.created is True
    assert pushed_again.created is False
    assert pushed_again.person["id"] == pushed.person["id"]
    assert (pushed_again.person["first_name"], pushed_again.person["last_name"]) == ("Augusta", "King")
    assert added.created is False
    assert added.person["id"] == pushed.person["id"]
    assert (added.person["first_name"], added.person["employer"]) == ("Augusta", "Analytical Engines")
    assert api.count_people() == 1


def test_me_and_match(connect: Connect, nation: Nation) -> None:
    api = connect(nation.base_url, access_token=nation.api_token())
    own = api.create_person({"email": nation.admin.email, "first_name": "Admin"})
    other = api.create_person({"email": _email(), "first_name": "Other"})

    assert api.me()["id"] == own["id"]
    assert api.match_person(email=other["email"])["id"] == other["id"]


def test_tags(connect: Connect, nation: Nation) -> None:
    api = connect(nation.base_url, access_token=nation.api_token())
    person_id = api.create_person({"first_name": "Ada"})["id"]

    single = api.add_tags(person_id, "volunteer")
    several = api.add_tags(person_id, ["donor", "a/b", "x y"])
    before = api.get_taggings(person_id)
    api.remove_tags(person_id, "a/b")
    api.remove_tags(person_id, ["donor", "x y"])
    after = api.get_taggings(person_id)

    assert [(tagging["person_id"], tagging["tag"]) for tagging in single] == [(person_id, "volunteer")]
    assert sorted(tagging["tag"] for tagging in several) == ["a/b", "donor", "x y"]
    assert sorted(tagging["tag"] for tagging in before) == ["a/b", "donor", "volunteer", "x y"]
    assert [tagging["tag"] for tagging in after] == ["volunteer"]
    assert api.get_person(person_id)["tags"] == ["volunteer"]


def test_request_and_paginate_any_endpoint(connect: Connect, nation: Nation) -> None:
    api = connect(nation.base_url, access_token=nation.api_token())
    for i in range(3):
        person_id = api.create_person({"first_name": f"P{i}"})["id"]
        api.add_tags(person_id, f"tag-{i}")

    tags = api.paginate("/api/v1/tags", {"limit": 2})
    count = api.request("GET", "/api/v1/people/count")

    assert sorted(tag["name"] for tag in tags) == ["tag-0", "tag-1", "tag-2"]
    assert count == {"people_count": 3}


def test_host_form_base_url(connect: Connect, nation: Nation) -> None:
    api = connect(f"http://{nation.nation.slug}.localhost", access_token=nation.api_token())
    nation.factory.people(nation.nation, 2)

    assert api.count_people() == 2
