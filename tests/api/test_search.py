"""GET /people/search and /people/match."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

from sqlalchemy.orm import Session
from starlette.testclient import TestClient

from citizenry.store.models import Person
from tests.factory import Factory, NationInfo


def _setup(factory: Factory, people: list[dict[str, Any]]) -> tuple[NationInfo, dict[str, str], list[int]]:
    nation = factory.nation()
    token = factory.test_token(nation, factory.user(nation))

    def add(session: Session) -> list[int]:
        rows = [Person(nation_id=nation.id, **fields) for fields in people]
        session.add_all(rows)
        session.flush()
        return [row.id for row in rows]

    return nation, {"Authorization": f"Bearer {token}"}, factory.database.transaction(add)


def _ids(body: dict[str, Any]) -> list[int]:
    return [person["id"] for person in body["results"]]


def test_search_by_name_exact(client: TestClient, factory: Factory) -> None:
    nation, headers, ids = _setup(
        factory,
        [{"first_name": "Alex"}, {"first_name": "alex"}, {"first_name": "Alexandra"}, {"first_name": "Sam"}],
    )

    response = client.get(
        f"{nation.prefix}/api/v1/people/search", params={"first_name": "ALEX"}, headers=headers
    )

    assert response.status_code == 200
    assert _ids(response.json()) == ids[:2]


def test_search_by_city_and_state(client: TestClient, factory: Factory) -> None:
    nation, headers, ids = _setup(
        factory,
        [
            {"first_name": "A", "primary_address": {"city": "Springfield", "state": "IL"}},
            {"first_name": "B", "primary_address": {"city": "Springfield", "state": "MA"}},
            {"first_name": "C"},
        ],
    )

    response = client.get(
        f"{nation.prefix}/api/v1/people/search",
        params={"city": "springfield", "state": "IL"},
        headers=headers,
    )

    assert response.status_code == 200
    assert _ids(response.json()) == [ids[0]]


def test_search_pages_keep_filters(client: TestClient, factory: Factory) -> None:
    people = [{"first_name": "Pat" if i % 2 else "Kim", "external_id": f"e{i}"} for i in range(12)]
    nation, headers, ids = _setup(factory, people)
    pats = [person_id for person_id, fields in zip(ids, people, strict=True) if fields["first_name"] == "Pat"]

    first = client.get(
        f"{nation.prefix}/api/v1/people/search", params={"first_name": "Pat", "limit": "4"}, headers=headers
    ).json()
    query = parse_qs(urlsplit(first["next"]).query)
    rebuilt = client.get(
        f"{nation.prefix}/api/v1/people/search",
        params={"__nonce": query["__nonce"][0], "__token": query["__token"][0], "limit": "100"},
        headers=headers,
    ).json()

    assert first["next"].startswith("/api/v1/people/search?")
    assert query["first_name"] == ["Pat"]
    assert _ids(first) + _ids(rebuilt) == pats


def test_search_updated_since(client: TestClient, factory: Factory) -> None:
    nation, headers, ids = _setup(factory, [{"first_name": "A"}])

    past = client.get(
        f"{nation.prefix}/api/v1/people/search", params={"updated_since": "2000-01-01"}, headers=headers
    )
    future = client.get(
        f"{nation.prefix}/api/v1/people/search",
        params={"updated_since": "2999-01-01T00:00:00Z"},
        headers=headers,
    )
    invalid = client.get(
        f"{nation.prefix}/api/v1/people/search", params={"updated_since": "yesterday"}, headers=headers
    )

    assert _ids(past.json()) == ids
    assert _ids(future.json()) == []
    assert invalid.status_code == 400
    assert invalid.json()["code"] == "bad_request"


def test_search_rejects_odd_parameters(client: TestClient, factory: Factory) -> None:
    nation, headers, _ = _setup(factory, [{"first_name": "A"}])

    for query in ("first_name[]=A", "first_name[x]=A", "colour=red", "first_name=A&first_name=B"):
        response = client.get(f"{nation.prefix}/api/v1/people/search?{query}", headers=headers)
        assert response.status_code == 400, query
        assert response.json()["code"] == "bad_request", query


def test_match_one_person(client: TestClient, factory: Factory) -> None:
    nation, headers, ids = _setup(factory, [{"email": "a+b@x.org"}, {"email": "ab@x.org"}])

    response = client.get(
        f"{nation.prefix}/api/v1/people/match", params={"email": "A+B@x.org"}, headers=headers
    )

    assert response.status_code == 200
    assert response.json()["person"]["id"] == ids[0]
    assert response.json()["precinct"] is None


def test_match_none_or_several(client: TestClient, factory: Factory) -> None:
    nation, headers, _ = _setup(factory, [{"first_name": "Jo", "email": "1@x.org"}, {"first_name": "Jo"}])

    none = client.get(f"{nation.prefix}/api/v1/people/match", params={"email": "no@x.org"}, headers=headers)
    several = client.get(f"{nation.prefix}/api/v1/people/match", params={"first_name": "Jo"}, headers=headers)

    assert none.status_code == 400
    assert none.json()["code"] == "no_matches"
    assert several.status_code == 400
    assert several.json()["code"] == "multiple_matches"


def test_legacy_page_numbers(client: TestClient, factory: Factory) -> None:
    nation, headers, ids = _setup(factory, [{"first_name": f"P{i}"} for i in range(7)])

    second = client.get(
        f"{nation.prefix}/api/v1/people", params={"page": "2", "per_page": "3"}, headers=headers
    )
    searched = client.get(
        f"{nation.prefix}/api/v1/people/search", params={"first_name": "P1", "per_page": "5"}, headers=headers
    )
    token_paged = client.get(
        f"{nation.prefix}/api/v1/people", params={"per_page": "3", "token_paginator": "1"}, headers=headers
    )

    assert second.status_code == 200
    body = second.json()
    assert {key: body[key] for key in ("page", "total_pages", "per_page", "total")} == {
        "page": 2,
        "total_pages": 3,
        "per_page": 3,
        "total": 7,
    }
    assert _ids(body) == ids[3:6]
    assert searched.json()["total"] == 1
    assert set(token_paged.json()) == {"results", "next", "prev"}


def test_legacy_bad_page_is_400(client: TestClient, factory: Factory) -> None:
    nation, headers, _ = _setup(factory, [{"first_name": "A"}])

    for params in ({"page": "0"}, {"page": "x"}, {"per_page": "-1"}):
        response = client.get(f"{nation.prefix}/api/v1/people", params=params, headers=headers)
        assert response.status_code == 400, params
        assert response.json()["code"] == "bad_request", params
