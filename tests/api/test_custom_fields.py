"""Custom fields: /api/v1/custom_fields, their values on people, search and CSV."""

from __future__ import annotations

import csv
import io
import re
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy.orm import Session
from starlette.testclient import TestClient

from citizenry.api.custom_fields import MAX_FIELDS_PER_NATION
from citizenry.api.errors import ValidationFailed
from citizenry.api.people_csv import export_people, import_people
from citizenry.api.person_custom import MAX_TEXT_VALUE
from citizenry.api.person_write import PERSON_FIELDS
from citizenry.store.models import CustomField, Nation
from tests.factory import Factory, NationInfo

NOT_FOUND = {"code": "not_found", "message": "Record not found"}
MISSING_CUSTOM_FIELD = {
    "code": "missing_parameters",
    "message": "Missing Parameters.",
    "parameters": ["custom_field"],
    "inner_error": {"name": "Api::Error::MissingParameters", "message": "Missing parameters: custom_field"},
}
ISO_UTC = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")

#: One field of each type, in the order the tests create them.
FIELDS = [
    {"name": "Favourite colour", "slug": "colour", "type": "text"},
    {"name": "Year joined", "slug": "year_joined", "type": "number"},
    {"name": "Has a car", "slug": "has_car", "type": "checkbox"},
]
SLUGS = [field["slug"] for field in FIELDS]


def _headers(factory: Factory, nation: NationInfo, level: str = "admin") -> dict[str, str]:
    token = factory.test_token(nation, factory.user(nation, level=level))
    return {"Authorization": f"Bearer {token}", "Accept": "application/json"}


def _setup(factory: Factory) -> tuple[NationInfo, dict[str, str]]:
    nation = factory.nation()
    return nation, _headers(factory, nation)


def _fields_url(nation: NationInfo, slug: str = "") -> str:
    return f"{nation.prefix}/api/v1/custom_fields" + (f"/{slug}" if slug else "")


def _people_url(nation: NationInfo, path: str = "") -> str:
    return f"{nation.prefix}/api/v1/people{path}"


def _define(
    client: TestClient, nation: NationInfo, headers: dict[str, str], **definition: Any
) -> dict[str, Any]:
    response = client.post(_fields_url(nation), json={"custom_field": definition}, headers=headers)
    assert response.status_code == 201, response.text
    field: dict[str, Any] = response.json()["custom_field"]
    return field


def _define_all(client: TestClient, nation: NationInfo, headers: dict[str, str]) -> list[dict[str, Any]]:
    return [_define(client, nation, headers, **definition) for definition in FIELDS]


def _create(client: TestClient, nation: NationInfo, headers: dict[str, str], **fields: Any) -> dict[str, Any]:
    response = client.post(_people_url(nation), json={"person": fields}, headers=headers)
    assert response.status_code == 201, response.text
    person: dict[str, Any] = response.json()["person"]
    return person


def _show(client: TestClient, nation: NationInfo, headers: dict[str, str], person_id: int) -> dict[str, Any]:
    response = client.get(_people_url(nation, f"/{person_id}"), headers=headers)
    assert response.status_code == 200, response.text
    person: dict[str, Any] = response.json()["person"]
    return person


def _index(client: TestClient, nation: NationInfo, headers: dict[str, str]) -> dict[int, dict[str, Any]]:
    response = client.get(_people_url(nation), params={"limit": 100}, headers=headers)
    assert response.status_code == 200, response.text
    return {person["id"]: person for person in response.json()["results"]}


def _custom_of(person: dict[str, Any]) -> dict[str, Any]:
    return {slug: person[slug] for slug in SLUGS if slug in person}


def _validation_fields(body: dict[str, Any]) -> list[str]:
    """Return the field each validation error names: the text before its first space or colon."""
    assert body == {
        "code": "validation_failed",
        "message": "Validation Failed.",
        "validation_errors": body["validation_errors"],
    }
    return [message.split(" ", 1)[0].rstrip(":") for message in body["validation_errors"]]


# Defining fields


def test_create_field_returns_201(client: TestClient, factory: Factory) -> None:
    nation, headers = _setup(factory)

    response = client.post(
        _fields_url(nation),
        json={"custom_field": {"name": "  Year joined ", "slug": "year_joined", "type": "number"}},
        headers=headers,
    )

    assert response.status_code == 201, response.text
    body = response.json()
    field = body["custom_field"]
    assert body == {
        "custom_field": {
            "id": field["id"],
            "slug": "year_joined",
            "name": "Year joined",
            "type": "number",
            "created_at": field["created_at"],
        }
    }
    assert isinstance(field["id"], int)
    assert ISO_UTC.match(field["created_at"])


def test_create_field_type_defaults_to_text(client: TestClient, factory: Factory) -> None:
    nation, headers = _setup(factory)

    field = _define(client, nation, headers, name="Colour", slug="colour")

    assert field["type"] == "text"


def test_list_fields_oldest_first(client: TestClient, factory: Factory) -> None:
    nation, headers = _setup(factory)
    created = _define_all(client, nation, headers)

    response = client.get(_fields_url(nation), headers=headers)

    assert response.status_code == 200, response.text
    assert response.json() == {"results": created, "next": None, "prev": None}


def test_list_fields_of_new_nation_is_empty(client: TestClient, factory: Factory) -> None:
    nation, headers = _setup(factory)

    response = client.get(_fields_url(nation), headers=headers)

    assert response.status_code == 200, response.text
    assert response.json() == {"results": [], "next": None, "prev": None}


def test_duplicate_slug_is_400(client: TestClient, factory: Factory) -> None:
    nation, headers = _setup(factory)
    first = _define(client, nation, headers, name="Colour", slug="colour")

    response = client.post(
        _fields_url(nation),
        json={"custom_field": {"name": "Other", "slug": "colour", "type": "number"}},
        headers=headers,
    )

    assert response.status_code == 400
    assert _validation_fields(response.json()) == ["slug"]
    listed = client.get(_fields_url(nation), headers=headers).json()["results"]
    assert listed == [first]


def test_same_slug_in_two_nations(client: TestClient, factory: Factory) -> None:
    nation, headers = _setup(factory)
    other, other_headers = _setup(factory)
    _define(client, nation, headers, name="Colour", slug="colour")

    field = _define(client, other, other_headers, name="Colour", slug="colour", type="checkbox")

    assert field["type"] == "checkbox"


@pytest.mark.parametrize(
    "slug",
    ["", "1abc", "_abc", "Abc", "a-b", "a b", "a.b", "é", "a" * 65, 5, None, ["abc"]],
)
def test_invalid_slug_is_400(client: TestClient, factory: Factory, slug: Any) -> None:
    nation, headers = _setup(factory)

    response = client.post(
        _fields_url(nation),
        json={"custom_field": {"name": "Field", "slug": slug, "type": "text"}},
        headers=headers,
    )

    assert response.status_code == 400
    assert _validation_fields(response.json()) == ["slug"]


def test_longest_slug_is_accepted(client: TestClient, factory: Factory) -> None:
    nation, headers = _setup(factory)

    field = _define(client, nation, headers, name="Long", slug="a" + "_9" * 31 + "z")

    assert len(field["slug"]) == 64


def test_slug_with_final_newline_is_400(client: TestClient, factory: Factory) -> None:
    nation, headers = _setup(factory)

    response = client.post(
        _fields_url(nation), json={"custom_field": {"name": "Colour", "slug": "colour\n"}}, headers=headers
    )

    assert response.status_code == 400
    assert _validation_fields(response.json()) == ["slug"]


def test_standard_field_slugs_are_400(client: TestClient, factory: Factory) -> None:
    nation, headers = _setup(factory)
    (person_id,) = factory.people(nation, 1)
    full_keys = set(_show(client, nation, headers, person_id))
    slugs = sorted(name for name in PERSON_FIELDS | full_keys if re.fullmatch(r"[a-z][a-z0-9_]{0,63}", name))

    accepted = []
    for slug in slugs:
        response = client.post(
            _fields_url(nation), json={"custom_field": {"name": slug, "slug": slug}}, headers=headers
        )
        if response.status_code != 400 or _validation_fields(response.json()) != ["slug"]:
            accepted.append(slug)

    assert len(slugs) > 200
    assert accepted == []


@pytest.mark.parametrize("name", [None, "", "   ", 5, "x" * 256, "a\x00b"])
def test_invalid_name_is_400(client: TestClient, factory: Factory, name: Any) -> None:
    nation, headers = _setup(factory)

    response = client.post(
        _fields_url(nation), json={"custom_field": {"name": name, "slug": "colour"}}, headers=headers
    )

    assert response.status_code == 400
    assert _validation_fields(response.json()) == ["name"]


@pytest.mark.parametrize("kind", ["date", "TEXT", "", None, 1])
def test_invalid_type_is_400(client: TestClient, factory: Factory, kind: Any) -> None:
    nation, headers = _setup(factory)

    response = client.post(
        _fields_url(nation),
        json={"custom_field": {"name": "Colour", "slug": "colour", "type": kind}},
        headers=headers,
    )

    assert response.status_code == 400
    assert _validation_fields(response.json()) == ["type"]


def test_unknown_setting_is_400(client: TestClient, factory: Factory) -> None:
    nation, headers = _setup(factory)

    response = client.post(
        _fields_url(nation),
        json={"custom_field": {"name": "Colour", "slug": "colour", "required": True}},
        headers=headers,
    )

    assert response.status_code == 400
    assert _validation_fields(response.json()) == ["required"]


def test_every_problem_listed(client: TestClient, factory: Factory) -> None:
    nation, headers = _setup(factory)

    response = client.post(
        _fields_url(nation),
        json={"custom_field": {"name": "", "slug": "1x", "type": "date"}},
        headers=headers,
    )

    assert response.status_code == 400
    assert sorted(_validation_fields(response.json())) == ["name", "slug", "type"]


def test_missing_root_is_400(client: TestClient, factory: Factory) -> None:
    nation, headers = _setup(factory)

    response = client.post(_fields_url(nation), json={"name": "Colour", "slug": "colour"}, headers=headers)

    assert response.status_code == 400
    assert response.json() == MISSING_CUSTOM_FIELD


def test_field_limit_per_nation(client: TestClient, factory: Factory) -> None:
    nation, headers = _setup(factory)

    def fill(session: Session) -> None:
        session.add_all(
            CustomField(nation_id=nation.id, slug=f"f{number}", name=f"F{number}", type="text")
            for number in range(MAX_FIELDS_PER_NATION)
        )

    factory.database.transaction(fill)

    response = client.post(
        _fields_url(nation), json={"custom_field": {"name": "One more", "slug": "one_more"}}, headers=headers
    )

    assert response.status_code == 400
    assert response.json()["code"] == "validation_failed"
    assert len(client.get(_fields_url(nation), headers=headers).json()["results"]) == MAX_FIELDS_PER_NATION


def test_delete_field_returns_204(client: TestClient, factory: Factory) -> None:
    nation, headers = _setup(factory)
    colour, _year, car = _define_all(client, nation, headers)

    response = client.delete(_fields_url(nation, "year_joined"), headers=headers)
    again = client.delete(_fields_url(nation, "year_joined"), headers=headers)

    assert response.status_code == 204
    assert response.content == b""
    assert again.status_code == 404
    assert again.json() == NOT_FOUND
    assert client.get(_fields_url(nation), headers=headers).json()["results"] == [colour, car]


@pytest.mark.parametrize("slug", ["unknown", "first_name", "COLOUR", "colour%20"])
def test_delete_unknown_field_is_404(client: TestClient, factory: Factory, slug: str) -> None:
    nation, headers = _setup(factory)
    _define(client, nation, headers, name="Colour", slug="colour")

    response = client.delete(_fields_url(nation, slug), headers=headers)

    assert response.status_code == 404
    assert response.json() == NOT_FOUND


# Values on people


def test_values_null_by_default(client: TestClient, factory: Factory) -> None:
    nation, headers = _setup(factory)
    _define_all(client, nation, headers)

    person = _create(client, nation, headers, first_name="Ann")

    assert _custom_of(person) == {"colour": None, "year_joined": None, "has_car": None}
    assert _custom_of(_index(client, nation, headers)[person["id"]]) == _custom_of(person)


def test_values_written_and_shown(client: TestClient, factory: Factory) -> None:
    nation, headers = _setup(factory)
    _define_all(client, nation, headers)

    created = _create(
        client, nation, headers, first_name="Ann", colour="  Teal ", year_joined=2008, has_car=False
    )
    shown = _show(client, nation, headers, created["id"])
    listed = _index(client, nation, headers)[created["id"]]

    expected = {"colour": "Teal", "year_joined": 2008.0, "has_car": False}
    for person in (created, shown, listed):
        assert _custom_of(person) == expected
        # Numbers are floats, as NationBuilder sends them.
        assert isinstance(person["year_joined"], float)
    assert shown == created


def test_number_from_text_and_fraction(client: TestClient, factory: Factory) -> None:
    nation, headers = _setup(factory)
    _define_all(client, nation, headers)

    from_text = _create(client, nation, headers, first_name="Ann", year_joined=" 1999 ")
    fraction = _create(client, nation, headers, first_name="Bo", year_joined=-0.25)

    assert from_text["year_joined"] == 1999.0
    assert isinstance(from_text["year_joined"], float)
    assert fraction["year_joined"] == -0.25


def test_custom_keys_come_last(client: TestClient, factory: Factory) -> None:
    plain_nation, plain_headers = _setup(factory)
    plain = _create(client, plain_nation, plain_headers, first_name="Ann")
    plain_listed = _index(client, plain_nation, plain_headers)[plain["id"]]
    nation, headers = _setup(factory)
    _define_all(client, nation, headers)

    person = _create(client, nation, headers, first_name="Ann", colour="Teal")
    listed = _index(client, nation, headers)[person["id"]]

    assert list(person) == [*plain, *SLUGS]
    assert list(listed) == [*plain_listed, *SLUGS]


def test_update_push_add_values(client: TestClient, factory: Factory) -> None:
    nation, headers = _setup(factory)
    _define_all(client, nation, headers)
    person = _create(client, nation, headers, first_name="Ann", email="ann@example.org", colour="Teal")

    updated = client.put(
        _people_url(nation, f"/{person['id']}"), json={"person": {"year_joined": 2010}}, headers=headers
    )
    pushed = client.put(
        _people_url(nation, "/push"),
        json={"person": {"email": "ann@example.org", "colour": "Red", "has_car": True}},
        headers=headers,
    )
    added = client.put(
        _people_url(nation, "/add"),
        json={
            "person": {"email": "ann@example.org", "colour": "Blue", "year_joined": 1990, "has_car": False}
        },
        headers=headers,
    )
    cleared = client.put(
        _people_url(nation, f"/{person['id']}"),
        json={"person": {"colour": None, "has_car": None}},
        headers=headers,
    )

    assert [response.status_code for response in (updated, pushed, added, cleared)] == [200, 200, 200, 200]
    assert _custom_of(updated.json()["person"]) == {"colour": "Teal", "year_joined": 2010.0, "has_car": None}
    assert _custom_of(pushed.json()["person"]) == {"colour": "Red", "year_joined": 2010.0, "has_car": True}
    # add fills only empty values, so nothing changes here.
    assert _custom_of(added.json()["person"]) == {"colour": "Red", "year_joined": 2010.0, "has_car": True}
    assert _custom_of(cleared.json()["person"]) == {"colour": None, "year_joined": 2010.0, "has_car": None}


def test_add_fills_empty_values(client: TestClient, factory: Factory) -> None:
    nation, headers = _setup(factory)
    _define_all(client, nation, headers)
    _create(client, nation, headers, first_name="Ann", email="ann@example.org", colour="Teal")

    response = client.put(
        _people_url(nation, "/add"),
        json={"person": {"email": "ann@example.org", "colour": "Blue", "year_joined": 1990}},
        headers=headers,
    )

    assert response.status_code == 200, response.text
    assert _custom_of(response.json()["person"]) == {"colour": "Teal", "year_joined": 1990.0, "has_car": None}


def test_add_keeps_zero_number(client: TestClient, factory: Factory) -> None:
    nation, headers = _setup(factory)
    _define_all(client, nation, headers)
    _create(client, nation, headers, first_name="Ann", email="ann@example.org", year_joined=0)

    response = client.put(
        _people_url(nation, "/add"),
        json={"person": {"email": "ann@example.org", "year_joined": 1990}},
        headers=headers,
    )

    assert response.status_code == 200, response.text
    assert response.json()["person"]["year_joined"] == 0.0


@pytest.mark.parametrize(
    ("slug", "value"),
    [
        ("colour", 5),
        ("colour", True),
        ("colour", ["Teal"]),
        ("colour", {"a": 1}),
        ("colour", "x" * (MAX_TEXT_VALUE + 1)),
        ("colour", "a\x00b"),
        ("year_joined", "nineteen"),
        ("year_joined", True),
        ("year_joined", [1]),
        ("year_joined", "1e400"),
        ("year_joined", "nan"),
        ("has_car", "true"),
        ("has_car", 1),
        ("has_car", "yes"),
    ],
)
def test_wrong_type_is_400(client: TestClient, factory: Factory, slug: str, value: Any) -> None:
    nation, headers = _setup(factory)
    _define_all(client, nation, headers)
    person = _create(client, nation, headers, first_name="Ann")

    created = client.post(
        _people_url(nation), json={"person": {"first_name": "Bo", slug: value}}, headers=headers
    )
    updated = client.put(
        _people_url(nation, f"/{person['id']}"), json={"person": {slug: value}}, headers=headers
    )

    for response in (created, updated):
        assert response.status_code == 400
        assert _validation_fields(response.json()) == [slug]
    assert _show(client, nation, headers, person["id"]) == person


def test_huge_integer_is_400(app: Any, factory: Factory) -> None:
    nation, headers = _setup(factory)
    with TestClient(app, base_url="http://testserver", raise_server_exceptions=False) as client:
        _define_all(client, nation, headers)

        response = client.post(
            _people_url(nation),
            content=b'{"person": {"first_name": "Bo", "year_joined": 1' + b"0" * 400 + b"}}",
            headers={**headers, "Content-Type": "application/json"},
        )

    assert response.status_code == 400
    assert _validation_fields(response.json()) == ["year_joined"]


def test_every_wrong_value_listed(client: TestClient, factory: Factory) -> None:
    nation, headers = _setup(factory)
    _define_all(client, nation, headers)

    response = client.post(
        _people_url(nation),
        json={"person": {"first_name": "Bo", "colour": 1, "year_joined": "x", "has_car": "x"}},
        headers=headers,
    )

    assert response.status_code == 400
    assert sorted(_validation_fields(response.json())) == sorted(SLUGS)


def test_slug_of_other_nation_is_unknown(client: TestClient, factory: Factory) -> None:
    nation, headers = _setup(factory)
    other, other_headers = _setup(factory)
    _define_all(client, other, other_headers)

    response = client.post(
        _people_url(nation), json={"person": {"first_name": "Bo", "colour": "Teal"}}, headers=headers
    )

    assert response.status_code == 400
    assert _validation_fields(response.json()) == ["colour"]


def test_delete_field_removes_values(client: TestClient, factory: Factory) -> None:
    nation, headers = _setup(factory)
    _define_all(client, nation, headers)
    person = _create(client, nation, headers, first_name="Ann", colour="Teal", year_joined=2008)

    deleted = client.delete(_fields_url(nation, "colour"), headers=headers)
    after_delete = _show(client, nation, headers, person["id"])
    listed_after_delete = _index(client, nation, headers)[person["id"]]
    _define(client, nation, headers, name="Colour again", slug="colour")
    recreated = _show(client, nation, headers, person["id"])

    assert deleted.status_code == 204
    assert "colour" not in after_delete
    assert "colour" not in listed_after_delete
    assert list(after_delete)[-2:] == ["year_joined", "has_car"]
    # The new field has a new id, so the old value does not come back.
    assert list(recreated)[-3:] == ["year_joined", "has_car", "colour"]
    assert _custom_of(recreated) == {"colour": None, "year_joined": 2008.0, "has_car": None}


def test_deleted_slug_write_is_400(client: TestClient, factory: Factory) -> None:
    nation, headers = _setup(factory)
    _define_all(client, nation, headers)
    person = _create(client, nation, headers, first_name="Ann")
    assert client.delete(_fields_url(nation, "has_car"), headers=headers).status_code == 204

    response = client.put(
        _people_url(nation, f"/{person['id']}"), json={"person": {"has_car": True}}, headers=headers
    )

    assert response.status_code == 400
    assert _validation_fields(response.json()) == ["has_car"]


def test_read_back_with_custom_values(client: TestClient, factory: Factory) -> None:
    nation, headers = _setup(factory)
    _define_all(client, nation, headers)
    person = _create(client, nation, headers, first_name="Ann", colour="Teal", year_joined=2008, has_car=True)

    response = client.put(_people_url(nation, f"/{person['id']}"), json={"person": person}, headers=headers)

    assert response.status_code == 200, response.text
    assert _custom_of(response.json()["person"]) == _custom_of(person)


# Search


def _search(client: TestClient, nation: NationInfo, headers: dict[str, str], params: Any) -> Any:
    return client.get(_people_url(nation, "/search"), params=params, headers=headers)


def _search_all(
    client: TestClient, nation: NationInfo, headers: dict[str, str], params: dict[str, str]
) -> tuple[list[int], list[dict[str, list[str]]]]:
    """Follow ``next`` links from the first page, and return the ids and each link's query."""
    response = _search(client, nation, headers, params)
    ids: list[int] = []
    queries: list[dict[str, list[str]]] = []
    while True:
        assert response.status_code == 200, response.text
        body = response.json()
        ids.extend(person["id"] for person in body["results"])
        if body["next"] is None:
            return ids, queries
        queries.append(parse_qs(urlsplit(body["next"]).query))
        response = client.get(nation.prefix + body["next"], headers=headers)


@pytest.mark.parametrize(
    ("slug", "stored", "other", "query"),
    [
        ("colour", "Teal Blue", "Teal", "teal blue"),
        ("year_joined", 2008, 2009, "2008"),
        ("year_joined", 2008.5, 2008, "2008.50"),
        ("has_car", True, False, "true"),
        ("has_car", True, False, "1"),
        ("has_car", False, True, "false"),
        ("has_car", False, True, "0"),
    ],
)
def test_search_custom_value_pages(
    client: TestClient, factory: Factory, slug: str, stored: Any, other: Any, query: str
) -> None:
    nation, headers = _setup(factory)
    _define_all(client, nation, headers)
    matching = []
    for number in range(7):
        if number % 3 == 1:
            _create(client, nation, headers, first_name=f"Other{number}", **{slug: other})
        matching.append(_create(client, nation, headers, first_name=f"Match{number}", **{slug: stored})["id"])
    _create(client, nation, headers, first_name="Unset")

    ids, queries = _search_all(client, nation, headers, {f"custom_values[{slug}]": query, "limit": "3"})

    assert ids == matching
    assert len(queries) == 2
    for link_query in queries:
        assert link_query[f"custom_values[{slug}]"] == [query]


def test_search_results_carry_values(client: TestClient, factory: Factory) -> None:
    nation, headers = _setup(factory)
    _define_all(client, nation, headers)
    person = _create(client, nation, headers, first_name="Ann", colour="Teal", year_joined=2008, has_car=True)
    _create(client, nation, headers, first_name="Bo", colour="Red")

    response = _search(client, nation, headers, {"custom_values[colour]": "TEAL", "first_name": "ann"})

    assert response.status_code == 200, response.text
    body = response.json()
    assert body == {"results": [_index(client, nation, headers)[person["id"]]], "next": None, "prev": None}
    assert _custom_of(body["results"][0]) == {"colour": "Teal", "year_joined": 2008.0, "has_car": True}


def test_search_text_is_whole_value(client: TestClient, factory: Factory) -> None:
    nation, headers = _setup(factory)
    _define_all(client, nation, headers)
    _create(client, nation, headers, first_name="Ann", colour="Teal Blue")

    response = _search(client, nation, headers, {"custom_values[colour]": "teal"})

    assert response.status_code == 200, response.text
    assert response.json() == {"results": [], "next": None, "prev": None}


@pytest.mark.parametrize(
    "params",
    [
        {"custom_values[unknown]": "x"},
        {"custom_values[first_name]": "Ann"},
        {"custom_values[year_joined]": "recent"},
        {"custom_values[has_car]": "yes"},
    ],
)
def test_search_bad_custom_filter_is_400(
    client: TestClient, factory: Factory, params: dict[str, str]
) -> None:
    nation, headers = _setup(factory)
    _define_all(client, nation, headers)

    response = _search(client, nation, headers, params)

    assert response.status_code == 400
    body = response.json()
    assert body == {"code": "bad_request", "message": body["message"]}


def test_search_slug_of_other_nation_is_400(client: TestClient, factory: Factory) -> None:
    nation, headers = _setup(factory)
    other, other_headers = _setup(factory)
    _define_all(client, other, other_headers)

    response = _search(client, nation, headers, {"custom_values[colour]": "Teal"})

    assert response.status_code == 400
    assert response.json()["code"] == "bad_request"


def test_search_field_deleted_while_paging(client: TestClient, factory: Factory) -> None:
    nation, headers = _setup(factory)
    _define_all(client, nation, headers)
    for number in range(3):
        _create(client, nation, headers, first_name=f"Ann{number}", colour="Teal")
    first = _search(client, nation, headers, {"custom_values[colour]": "teal", "limit": "2"})
    assert first.status_code == 200, first.text
    assert client.delete(_fields_url(nation, "colour"), headers=headers).status_code == 204

    response = client.get(nation.prefix + first.json()["next"], headers=headers)

    assert response.status_code == 400
    assert response.json()["code"] == "bad_request"


# CSV import and export


def _import(factory: Factory, nation: NationInfo, text: str) -> Any:
    return factory.database.transaction(
        lambda session: import_people(session, session.get(Nation, nation.id), io.StringIO(text))
    )


def _export(factory: Factory, nation: NationInfo) -> list[dict[str, str]]:
    out = io.StringIO()
    factory.database.transaction(
        lambda session: list(export_people(session, session.get(Nation, nation.id), out))
    )
    return list(csv.DictReader(io.StringIO(out.getvalue())))


def test_csv_import_custom_columns(client: TestClient, factory: Factory) -> None:
    nation, headers = _setup(factory)
    _define_all(client, nation, headers)
    text = (
        "first_name,colour,year_joined,has_car\n"
        "Ann,Teal,2008,yes\n"
        "Bo,,,\n"
        "Cy,Red,recent,no\n"
        "Dee,Red,1999.5,maybe\n"
        "Eve,Blue,-3,FALSE\n"
    )

    report = _import(factory, nation, text)

    assert (report.imported, report.rejected) == (3, 2)
    assert report.errors == [(4, ["year_joined must be a number"]), (5, ["has_car must be true or false"])]
    people = sorted(_index(client, nation, headers).values(), key=lambda person: person["id"])
    assert [(person["first_name"], _custom_of(person)) for person in people] == [
        ("Ann", {"colour": "Teal", "year_joined": 2008.0, "has_car": True}),
        ("Bo", {"colour": None, "year_joined": None, "has_car": None}),
        ("Eve", {"colour": "Blue", "year_joined": -3.0, "has_car": False}),
    ]


def test_csv_export_custom_columns(client: TestClient, factory: Factory) -> None:
    nation, headers = _setup(factory)
    _define_all(client, nation, headers)
    _create(client, nation, headers, first_name="Ann", colour="Teal", year_joined=2008, has_car=True)
    _create(client, nation, headers, first_name="Bo", has_car=False)

    rows = _export(factory, nation)

    assert list(rows[0])[-3:] == SLUGS
    assert [{slug: row[slug] for slug in ("first_name", *SLUGS)} for row in rows] == [
        {"first_name": "Ann", "colour": "Teal", "year_joined": "2008.0", "has_car": "true"},
        {"first_name": "Bo", "colour": "", "year_joined": "", "has_car": "false"},
    ]


def test_csv_round_trip_custom_values(client: TestClient, factory: Factory) -> None:
    source, source_headers = _setup(factory)
    _define_all(client, source, source_headers)
    _create(client, source, source_headers, first_name="Ann", colour="Teal", year_joined=2008, has_car=True)
    _create(client, source, source_headers, first_name="Bo", year_joined=0.5, has_car=False)
    out = io.StringIO()
    factory.database.transaction(
        lambda session: list(export_people(session, session.get(Nation, source.id), out))
    )
    target, target_headers = _setup(factory)
    _define_all(client, target, target_headers)

    report = _import(factory, target, out.getvalue())

    assert (report.imported, report.rejected) == (2, 0)
    source_people = sorted(_index(client, source, source_headers).values(), key=lambda person: person["id"])
    target_people = sorted(_index(client, target, target_headers).values(), key=lambda person: person["id"])
    assert [_custom_of(person) for person in target_people] == [
        _custom_of(person) for person in source_people
    ]


def test_csv_import_deleted_field_column_is_refused(client: TestClient, factory: Factory) -> None:
    nation, headers = _setup(factory)
    _define_all(client, nation, headers)
    assert client.delete(_fields_url(nation, "colour"), headers=headers).status_code == 204

    with pytest.raises(ValidationFailed):
        _import(factory, nation, "first_name,colour\nAnn,Teal\n")

    assert _index(client, nation, headers) == {}


# Access


def test_other_nation_token_is_401(client: TestClient, factory: Factory) -> None:
    nation, headers = _setup(factory)
    _define_all(client, nation, headers)
    person = _create(client, nation, headers, first_name="Ann", colour="Teal")
    other = factory.nation()
    other_headers = _headers(factory, other)
    index_response = client.get(_people_url(nation), headers=other_headers)

    responses = [
        client.get(_fields_url(nation), headers=other_headers),
        client.post(
            _fields_url(nation), json={"custom_field": {"name": "X", "slug": "x"}}, headers=other_headers
        ),
        client.delete(_fields_url(nation, "colour"), headers=other_headers),
        client.put(
            _people_url(nation, f"/{person['id']}"), json={"person": {"colour": "Red"}}, headers=other_headers
        ),
    ]

    assert index_response.status_code == 401
    assert index_response.json()["code"] == "unauthorized"
    for response in responses:
        assert response.status_code == 401
        assert response.json() == index_response.json()
    assert [
        field["slug"] for field in client.get(_fields_url(nation), headers=headers).json()["results"]
    ] == SLUGS
    assert _show(client, nation, headers, person["id"])["colour"] == "Teal"


def test_other_nation_sees_own_fields(client: TestClient, factory: Factory) -> None:
    nation, headers = _setup(factory)
    _define_all(client, nation, headers)
    other, other_headers = _setup(factory)
    (other_person,) = factory.people(other, 1)

    listed = client.get(_fields_url(other), headers=other_headers)
    deleted = client.delete(_fields_url(other, "colour"), headers=other_headers)
    shown = _show(client, other, other_headers, other_person)

    assert listed.json() == {"results": [], "next": None, "prev": None}
    assert deleted.status_code == 404
    assert deleted.json() == NOT_FOUND
    assert not set(SLUGS) & set(shown)
    assert [
        field["slug"] for field in client.get(_fields_url(nation), headers=headers).json()["results"]
    ] == SLUGS


def test_staffer_token_is_refused(client: TestClient, factory: Factory) -> None:
    nation, headers = _setup(factory)
    _define_all(client, nation, headers)
    staffer_headers = _headers(factory, nation, level="staffer")
    index_response = client.get(_people_url(nation), headers=staffer_headers)

    responses = [
        client.get(_fields_url(nation), headers=staffer_headers),
        client.post(
            _fields_url(nation), json={"custom_field": {"name": "X", "slug": "x"}}, headers=staffer_headers
        ),
        client.delete(_fields_url(nation, "colour"), headers=staffer_headers),
    ]

    assert index_response.status_code == 401
    for response in responses:
        assert response.status_code == index_response.status_code
        assert response.json() == index_response.json()
    assert [
        field["slug"] for field in client.get(_fields_url(nation), headers=headers).json()["results"]
    ] == SLUGS


def test_missing_token_is_401(client: TestClient, factory: Factory) -> None:
    nation = factory.nation()

    response = client.get(_fields_url(nation))

    assert response.status_code == 401
    assert response.json()["code"] == "unauthorized"
