"""GET /people/search beyond tests/api/test_search.py: every filter, paging, tokens and nations."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy.orm import Session
from starlette.testclient import TestClient

from citizenry.api.search import ADDRESS_FILTERS, ID_FILTERS, TEXT_FILTERS
from citizenry.store.models import Person
from tests.factory import Factory, NationInfo


def _setup(factory: Factory, people: list[dict[str, Any]]) -> tuple[NationInfo, dict[str, str], list[int]]:
    nation = factory.nation()
    token = factory.test_token(nation, factory.user(nation))
    return nation, {"Authorization": f"Bearer {token}"}, _add(factory, nation, people)


def _add(factory: Factory, nation: NationInfo, people: list[dict[str, Any]]) -> list[int]:
    def add(session: Session) -> list[int]:
        rows = [Person(nation_id=nation.id, **fields) for fields in people]
        session.add_all(rows)
        session.flush()
        return [row.id for row in rows]

    return factory.database.transaction(add)


def _search(client: TestClient, nation: NationInfo, headers: dict[str, str], params: Any) -> Any:
    return client.get(f"{nation.prefix}/api/v1/people/search", params=params, headers=headers)


def _ids(body: dict[str, Any]) -> list[int]:
    return [person["id"] for person in body["results"]]


@pytest.mark.parametrize("name", TEXT_FILTERS)
def test_text_filter_ignores_case(client: TestClient, factory: Factory, name: str) -> None:
    # sex is one letter and the names are longer, so a prefix must not match.
    values = ["F", "f", "M", "X"] if name == "sex" else ["Élodie", "ÉLODIE", "Élodies", "Élo"]
    nation, headers, ids = _setup(factory, [*({name: value} for value in values), {}])

    response = _search(client, nation, headers, {name: values[1].lower()})

    assert response.status_code == 200
    assert response.json() == {**response.json(), "next": None, "prev": None}
    assert _ids(response.json()) == ids[:2]


@pytest.mark.parametrize("name", ID_FILTERS)
def test_id_filter_is_exact(client: TestClient, factory: Factory, name: str) -> None:
    nation, headers, ids = _setup(factory, [{name: "Ab-12"}, {name: "ab-12"}, {name: "Ab-123"}, {}])

    response = _search(client, nation, headers, {name: "Ab-12"})

    assert response.status_code == 200
    assert _ids(response.json()) == [ids[0]]


@pytest.mark.parametrize("name", ADDRESS_FILTERS)
def test_address_filter_ignores_case(client: TestClient, factory: Factory, name: str) -> None:
    nation, headers, ids = _setup(
        factory,
        [
            {"primary_address": {name: "São Paulo"}},
            {"primary_address": {name: "SÃO PAULO".lower().title()}},
            {"primary_address": {name: "Paulo"}},
            {"primary_address": {}},
            {},
        ],
    )

    response = _search(client, nation, headers, {name: "são paulo"})

    assert response.status_code == 200
    assert _ids(response.json()) == ids[:2]


def test_birthdate_filter(client: TestClient, factory: Factory) -> None:
    nation, headers, ids = _setup(
        factory, [{"birthdate": date(1990, 2, 28)}, {"birthdate": date(1990, 3, 1)}, {}]
    )

    found = _search(client, nation, headers, {"birthdate": "1990-02-28"})
    bad = [
        _search(client, nation, headers, {"birthdate": value}) for value in ("1990-02-30", "28/02/1990", "x")
    ]

    assert found.status_code == 200
    assert _ids(found.json()) == [ids[0]]
    for response in bad:
        assert response.status_code == 400
        assert response.json()["code"] == "bad_request"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2024-05-01T10:00:00Z", [1, 2]),
        ("2024-05-01T10:00:00+00:00", [1, 2]),
        ("2024-05-01T12:00:00+02:00", [1, 2]),
        ("2024-05-01T05:00:00-05:00", [1, 2]),
        ("2024-05-01T10:00:00.000001Z", [2]),
        ("2024-05-01T10:00:00", [1, 2]),
        ("2024-05-01", [0, 1, 2]),
        ("2024-05-02", []),
        ("20240501T100000Z", [1, 2]),
    ],
)
def test_updated_since_forms(client: TestClient, factory: Factory, value: str, expected: list[int]) -> None:
    times = [
        datetime(2024, 5, 1, 9, 59, 59, tzinfo=UTC),
        datetime(2024, 5, 1, 10, 0, 0, tzinfo=UTC),
        datetime(2024, 5, 1, 23, 0, 0, tzinfo=UTC),
    ]
    nation, headers, ids = _setup(factory, [{"first_name": "U", "updated_at": moment} for moment in times])

    response = _search(client, nation, headers, {"updated_since": value})

    assert response.status_code == 200, value
    assert _ids(response.json()) == [ids[i] for i in expected]


def test_with_mobile_filter(client: TestClient, factory: Factory) -> None:
    nation, headers, ids = _setup(factory, [{"mobile": "+15555550100"}, {"phone": "+15555550101"}, {}])

    for value in ("true", "1", "TRUE"):
        response = _search(client, nation, headers, {"with_mobile": value})
        assert response.status_code == 200, value
        assert _ids(response.json()) == [ids[0]], value
    for value in ("false", "0"):
        response = _search(client, nation, headers, {"with_mobile": value})
        assert _ids(response.json()) == ids, value


def test_filters_combined(client: TestClient, factory: Factory) -> None:
    base = {
        "first_name": "Alex",
        "last_name": "Kim",
        "sex": "F",
        "van_id": "V1",
        "birthdate": date(1980, 1, 1),
        "mobile": "+15555550100",
        "primary_address": {"city": "Lyon", "state": "ARA"},
    }
    variants = [
        {},
        {"first_name": "Sam"},
        {"last_name": "Lee"},
        {"sex": "M"},
        {"van_id": "V2"},
        {"birthdate": date(1980, 1, 2)},
        {"mobile": None},
        {"primary_address": {"city": "Paris", "state": "ARA"}},
        {"primary_address": {"city": "Lyon", "state": "IDF"}},
        {"updated_at": datetime(2000, 1, 1, tzinfo=UTC)},
    ]
    nation, headers, ids = _setup(factory, [{**base, **variant} for variant in variants])
    params = {
        "first_name": "alex",
        "last_name": "KIM",
        "sex": "f",
        "van_id": "V1",
        "birthdate": "1980-01-01",
        "with_mobile": "true",
        "city": "lyon",
        "state": "ara",
        "updated_since": "2020-01-01T00:00:00+02:00",
    }

    response = _search(client, nation, headers, params)

    assert response.status_code == 200
    assert _ids(response.json()) == [ids[0]]


def test_no_filters_lists_everyone(client: TestClient, factory: Factory) -> None:
    nation, headers, ids = _setup(factory, [{"first_name": f"P{i}"} for i in range(3)])

    response = _search(client, nation, headers, {})

    assert response.status_code == 200
    assert _ids(response.json()) == ids


def test_pages_keep_filters(client: TestClient, factory: Factory) -> None:
    people = [
        {"first_name": "Pat" if i % 3 else "Kim", "primary_address": {"city": "Oslo"}} for i in range(30)
    ]
    nation, headers, ids = _setup(factory, people)
    pats = [i for i, fields in zip(ids, people, strict=True) if fields["first_name"] == "Pat"]

    seen: list[int] = []
    body = _search(client, nation, headers, {"first_name": "pat", "city": "OSLO", "limit": "3"}).json()
    seen += _ids(body)
    query = parse_qs(urlsplit(body["next"]).query)
    second = client.get(f"{nation.prefix}{body['next']}", headers=headers).json()
    seen += _ids(second)
    # A client rebuilding the URL from the token alone, with a larger page.
    nxt = parse_qs(urlsplit(second["next"]).query)
    rest = _search(
        client, nation, headers, {"__nonce": nxt["__nonce"][0], "__token": nxt["__token"][0], "limit": "7"}
    ).json()
    seen += _ids(rest)
    last = client.get(f"{nation.prefix}{rest['next']}", headers=headers).json()
    seen += _ids(last)

    assert query["first_name"] == ["pat"]
    assert query["city"] == ["OSLO"]
    assert query["limit"] == ["3"]
    assert len(_ids(second)) == 3
    assert len(_ids(rest)) == 7
    assert parse_qs(urlsplit(rest["next"]).query)["limit"] == ["7"]
    assert len(_ids(last)) == 7
    assert last["next"] is None
    assert seen == pats


def test_prev_link_keeps_filters(client: TestClient, factory: Factory) -> None:
    nation, headers, ids = _setup(factory, [{"sex": "F" if i % 2 else "M"} for i in range(10)])
    women = ids[1::2]

    first = _search(client, nation, headers, {"sex": "F", "limit": "2"}).json()
    second = client.get(f"{nation.prefix}{first['next']}", headers=headers).json()
    back = client.get(f"{nation.prefix}{second['prev']}", headers=headers).json()

    assert _ids(first) == women[:2]
    assert _ids(second) == women[2:4]
    assert _ids(back) == women[:2]
    assert back["prev"] is None


def test_duplicate_limit_last_counts(client: TestClient, factory: Factory) -> None:
    nation, headers, ids = _setup(factory, [{"first_name": "D"} for _ in range(8)])

    first = client.get(f"{nation.prefix}/api/v1/people/search?first_name=D&limit=2&limit=5", headers=headers)
    followed = client.get(f"{nation.prefix}{first.json()['next']}&limit=3", headers=headers)

    assert first.status_code == 200
    assert _ids(first.json()) == ids[:5]
    assert followed.status_code == 200
    assert _ids(followed.json()) == ids[5:8]


def test_limit_above_maximum_lowered(client: TestClient, factory: Factory) -> None:
    nation, headers, ids = _setup(factory, [{"first_name": "M"} for _ in range(101)])

    response = _search(client, nation, headers, {"first_name": "M", "limit": "500"})

    assert response.status_code == 200
    assert _ids(response.json()) == ids[:100]
    assert parse_qs(urlsplit(response.json()["next"]).query)["limit"] == ["100"]


def test_bad_limit_400(client: TestClient, factory: Factory) -> None:
    nation, headers, _ = _setup(factory, [{"first_name": "A"}])

    for value in ("0", "-1", "x", "1.5", "²", ""):
        response = _search(client, nation, headers, {"limit": value})
        assert response.status_code == 400, value
        assert response.json()["code"] == "bad_request", value


def test_forged_token_400(client: TestClient, factory: Factory) -> None:
    nation, headers, _ = _setup(factory, [{"first_name": "F"} for _ in range(3)])
    other, other_headers, _ = _setup(factory, [{"first_name": "F"} for _ in range(3)])
    body = _search(client, nation, headers, {"first_name": "F", "limit": "1"}).json()
    query = parse_qs(urlsplit(body["next"]).query)
    nonce, token = query["__nonce"][0], query["__token"][0]
    people_page = client.get(f"{nation.prefix}/api/v1/people", params={"limit": "1"}, headers=headers).json()
    people_query = parse_qs(urlsplit(people_page["next"]).query)
    forged = [
        {"__nonce": nonce, "__token": token[:-2] + ("AA" if token[-2:] != "AA" else "BB")},
        {"__nonce": "x" + nonce, "__token": token},
        {"__nonce": nonce},
        {"__token": token},
        {"__nonce": "", "__token": ""},
        {"__nonce": people_query["__nonce"][0], "__token": people_query["__token"][0]},
    ]

    for params in forged:
        response = _search(client, nation, headers, params)
        assert response.status_code == 400, params
        assert response.json()["code"] == "bad_request", params
    elsewhere = _search(client, other, other_headers, {"__nonce": nonce, "__token": token})
    assert elsewhere.status_code == 400
    assert elsewhere.json()["code"] == "bad_request"


def test_legacy_paging_on_search(client: TestClient, factory: Factory) -> None:
    people = [{"last_name": "Lee" if i % 2 else "Ng"} for i in range(11)]
    nation, headers, ids = _setup(factory, people)
    lees = ids[1::2]

    second = _search(client, nation, headers, {"last_name": "lee", "page": "2", "per_page": "2"})
    beyond = _search(client, nation, headers, {"last_name": "lee", "page": "9", "per_page": "2"})

    assert second.status_code == 200
    assert {key: value for key, value in second.json().items() if key != "results"} == {
        "page": 2,
        "total_pages": 3,
        "per_page": 2,
        "total": 5,
    }
    assert _ids(second.json()) == lees[2:4]
    assert beyond.json() == {"page": 9, "total_pages": 3, "per_page": 2, "total": 5, "results": []}


def test_legacy_paging_checks_filters(client: TestClient, factory: Factory) -> None:
    nation, headers, _ = _setup(factory, [{"first_name": "A"}])

    unknown = _search(client, nation, headers, {"colour": "red", "page": "1"})
    bad_page = _search(client, nation, headers, {"first_name": "A", "page": "0"})

    assert unknown.status_code == 400
    assert unknown.json()["code"] == "bad_request"
    assert bad_page.status_code == 400
    assert bad_page.json()["code"] == "bad_request"


def test_other_nation_never_appears(client: TestClient, factory: Factory) -> None:
    fields = {"first_name": "Same", "external_id": "X1", "primary_address": {"city": "Rome"}}
    nation, headers, ids = _setup(factory, [fields for _ in range(3)])
    other = factory.nation()
    _add(factory, other, [fields for _ in range(3)])

    token_pages: list[int] = []
    body = _search(client, nation, headers, {"first_name": "same", "limit": "1"}).json()
    while True:
        token_pages += _ids(body)
        if not body["next"]:
            break
        body = client.get(f"{nation.prefix}{body['next']}", headers=headers).json()
    by_id = _search(client, nation, headers, {"external_id": "X1", "city": "rome"})
    legacy = _search(client, nation, headers, {"first_name": "Same", "per_page": "100"})

    assert token_pages == ids
    assert _ids(by_id.json()) == ids
    assert _ids(legacy.json()) == ids
    assert legacy.json()["total"] == 3
