"""POST /people, PUT /people/:id, PUT /people/push and /people/add, DELETE /people/:id."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.testclient import TestClient

from citizenry.api.people_write import MATCH_IDS
from tests.factory import Factory, NationInfo

NOT_FOUND = {"code": "not_found", "message": "Record not found"}

ADDRESS = {
    "address1": "1 Main St",
    "address2": "Suite 4",
    "address3": None,
    "city": "Springfield",
    "state": "IL",
    "country_code": "US",
    "zip": "62701",
    "lat": "39.7817",
    "lng": "-89.6501",
}

#: Writable fields of the full representation only, with a value other than their default.
FULL_ONLY_VALUES: dict[str, Any] = {
    "legal_name": "Alexandra Q. Example",
    "prefix": "Dr.",
    "suffix": "Jr.",
    "username": "alex",
    "email2": "alex.work@example.org",
    "email3": "alex.old@example.org",
    "language": "FR",
    "locale": "fr",
    "marital_status": "M",
    "website": "https://alex.example.org",
    "bio": "Volunteer since 2010.",
    "twitter_login": "alex_example",
    "facebook_username": "alex.example",
    "is_deceased": True,
    "is_prospect": True,
    "is_supporter": False,
    "is_profile_private": True,
    "federal_donotcall": True,
    "is_absentee_voter": True,
    "priority_level": 3,
    "home_address": ADDRESS,
    "mailing_address": {**ADDRESS, "address1": "PO Box 12", "address2": None},
    "registered_address": {**ADDRESS, "city": "Chicago"},
}


def _setup(factory: Factory) -> tuple[NationInfo, dict[str, str]]:
    nation = factory.nation()
    user = factory.user(nation)
    token = factory.test_token(nation, user)
    return nation, {"Authorization": f"Bearer {token}", "Accept": "application/json"}


def _url(nation: NationInfo, path: str = "") -> str:
    return f"{nation.prefix}/api/v1/people{path}"


def _create(client: TestClient, nation: NationInfo, headers: dict[str, str], **fields: Any) -> dict[str, Any]:
    response = client.post(_url(nation), json={"person": fields}, headers=headers)
    assert response.status_code == 201, response.text
    person: dict[str, Any] = response.json()["person"]
    return person


def _show(client: TestClient, nation: NationInfo, headers: dict[str, str], person_id: int) -> dict[str, Any]:
    response = client.get(_url(nation, f"/{person_id}"), headers=headers)
    assert response.status_code == 200, response.text
    person: dict[str, Any] = response.json()["person"]
    return person


def _count(client: TestClient, nation: NationInfo, headers: dict[str, str]) -> int:
    response = client.get(_url(nation, "/count"), headers=headers)
    assert response.status_code == 200, response.text
    count: int = response.json()["people_count"]
    return count


def _index_ids(client: TestClient, nation: NationInfo, headers: dict[str, str]) -> list[int]:
    response = client.get(_url(nation, "?limit=100"), headers=headers)
    assert response.status_code == 200, response.text
    return [person["id"] for person in response.json()["results"]]


def _without(person: dict[str, Any], *names: str) -> dict[str, Any]:
    return {key: value for key, value in person.items() if key not in names}


# POST /people


def test_create_returns_201(client: TestClient, factory: Factory) -> None:
    nation, headers = _setup(factory)
    (existing_id,) = factory.people(nation, 1)
    shown_keys = set(_show(client, nation, headers, existing_id))

    response = client.post(
        _url(nation),
        json={"person": {"first_name": "Ada", "last_name": "Lovelace", "email": "ada@example.org"}},
        headers=headers,
    )

    assert response.status_code == 201, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"person", "precinct"}
    assert body["precinct"] is None
    person = body["person"]
    assert set(person) == shown_keys
    assert person["id"] != existing_id
    assert person["first_name"] == "Ada"
    assert person["last_name"] == "Lovelace"
    assert person["full_name"] == "Ada Lovelace"
    assert person["email"] == "ada@example.org"
    assert person["email1"] == "ada@example.org"
    assert person["primary_email_id"] == 1
    assert person["is_supporter"] is True
    assert person["tags"] == []


def test_created_person_is_shown(client: TestClient, factory: Factory) -> None:
    nation, headers = _setup(factory)
    created = client.post(
        _url(nation),
        json={"person": {"first_name": "Ada", "email": "ada@example.org", "tags": ["b", "a"]}},
        headers=headers,
    )
    assert created.status_code == 201, created.text

    response = client.get(_url(nation, f"/{created.json()['person']['id']}"), headers=headers)

    assert response.status_code == 200, response.text
    assert response.json() == created.json()


def test_created_person_is_listed(client: TestClient, factory: Factory) -> None:
    nation, headers = _setup(factory)
    existing = factory.people(nation, 2)
    count_before = _count(client, nation, headers)

    person = _create(client, nation, headers, first_name="Ada", phone="+1 555 0100")

    assert _count(client, nation, headers) == count_before + 1
    assert _index_ids(client, nation, headers) == [*existing, person["id"]]
    listed = client.get(_url(nation, "?limit=100"), headers=headers).json()["results"][-1]
    assert listed == {key: person[key] for key in listed}


def test_create_sorts_tags(client: TestClient, factory: Factory) -> None:
    nation, headers = _setup(factory)

    person = _create(client, nation, headers, first_name="Ada", tags=["zeta", "alpha", " mid ", "alpha"])

    assert person["tags"] == ["alpha", "mid", "zeta"]


def test_create_takes_one_tag_string(client: TestClient, factory: Factory) -> None:
    nation, headers = _setup(factory)

    person = _create(client, nation, headers, first_name="Ada", tags="volunteer")

    assert person["tags"] == ["volunteer"]


def test_full_only_fields_round_trip(client: TestClient, factory: Factory) -> None:
    nation, headers = _setup(factory)

    created = _create(
        client, nation, headers, first_name="Alex", email="alex@example.org", **FULL_ONLY_VALUES
    )
    shown = _show(client, nation, headers, created["id"])

    for name, value in FULL_ONLY_VALUES.items():
        assert created[name] == value, name
        assert shown[name] == value, name
    assert shown == created


def test_abbreviated_fields_round_trip(client: TestClient, factory: Factory) -> None:
    nation, headers = _setup(factory)
    values = {
        "first_name": "Ada",
        "middle_name": "King",
        "last_name": "Lovelace",
        "email": "ada@example.org",
        "phone": "+44 20 7946 0000",
        "mobile": "+44 7700 900000",
        "work_phone_number": "+44 20 7946 0001",
        "employer": "Analytical Engines Ltd",
        "occupation": "Mathematician",
        "note": "Met at the 1843 meeting.",
        "party": "D",
        "sex": "F",
        "birthdate": "1815-12-10",
        "email_opt_in": True,
        "do_not_call": True,
        "is_volunteer": True,
        "support_level": 2,
        "signup_type": 1,
        "primary_address": ADDRESS,
        "external_id": "crm-7",
        "van_id": "v-12",
        "ward": "Ward 3",
        "school_district": "District 9",
    }

    created = _create(client, nation, headers, **values)
    shown = _show(client, nation, headers, created["id"])

    for name, value in values.items():
        assert shown[name] == value, name
    assert shown["full_name"] == "Ada King Lovelace"


def test_coordinates_become_strings(client: TestClient, factory: Factory) -> None:
    nation, headers = _setup(factory)
    address = {"address1": "1 Main St", "city": "Los Angeles", "lat": 34.0497052, "lng": -118}

    created = _create(
        client, nation, headers, first_name="Ada", primary_address=address, home_address=address
    )
    shown = _show(client, nation, headers, created["id"])

    expected = {
        "address1": "1 Main St",
        "address2": None,
        "address3": None,
        "city": "Los Angeles",
        "state": None,
        "country_code": None,
        "zip": None,
        "lat": "34.0497052",
        "lng": "-118",
    }
    assert created["primary_address"] == expected
    assert created["home_address"] == expected
    assert shown["primary_address"] == expected
    assert shown["home_address"] == expected


@pytest.mark.parametrize("code", ["USA", "U", "1A", "ÉU"])
def test_country_code_not_two_letters(client: TestClient, factory: Factory, code: str) -> None:
    nation, headers = _setup(factory)
    person = _create(client, nation, headers, first_name="Ada", primary_address={"country_code": "NZ"})

    response = client.put(
        _url(nation, f"/{person['id']}"),
        json={"person": {"primary_address": {"city": "Paris", "country_code": code}}},
        headers=headers,
    )

    assert response.status_code == 400, response.text
    body = response.json()
    assert body["code"] == "validation_failed"
    assert len(body["validation_errors"]) == 1
    assert body["validation_errors"][0].startswith("primary_address.country_code ")
    assert _show(client, nation, headers, person["id"]) == person


def test_country_code_either_case(client: TestClient, factory: Factory) -> None:
    nation, headers = _setup(factory)

    created = _create(client, nation, headers, first_name="Ada", primary_address={"country_code": "gb"})

    assert created["primary_address"]["country_code"] == "gb"


def test_numeric_external_id_is_string(client: TestClient, factory: Factory) -> None:
    nation, headers = _setup(factory)

    person = _create(client, nation, headers, first_name="Ada", external_id=4711, van_id=12)

    assert person["external_id"] == "4711"
    assert person["van_id"] == "12"


def test_email2_listed_in_emails(client: TestClient, factory: Factory) -> None:
    nation, headers = _setup(factory)

    person = _create(client, nation, headers, email="ada@example.org", email2="ada.work@example.org")

    assert person["emails"] == [
        {"email_address": "ada@example.org", "email_number": 1, "is_bad": False, "is_primary": True},
        {"email_address": "ada.work@example.org", "email_number": 2, "is_bad": False, "is_primary": False},
    ]


# PUT /people/:id


def test_update_returns_200(client: TestClient, factory: Factory) -> None:
    nation, headers = _setup(factory)
    person = _create(client, nation, headers, first_name="Ada", last_name="Byron")

    response = client.put(
        _url(nation, f"/{person['id']}"), json={"person": {"last_name": "Lovelace"}}, headers=headers
    )

    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"person", "precinct"}
    assert body["precinct"] is None
    assert body["person"]["id"] == person["id"]
    assert body["person"]["last_name"] == "Lovelace"
    assert body["person"]["full_name"] == "Ada Lovelace"
    assert body["person"] == _show(client, nation, headers, person["id"])


def test_partial_update_keeps_fields(client: TestClient, factory: Factory) -> None:
    nation, headers = _setup(factory)
    before = _create(
        client,
        nation,
        headers,
        first_name="Ada",
        last_name="Byron",
        email="ada@example.org",
        phone="+44 20 7946 0000",
        birthdate="1815-12-10",
        support_level=1,
        primary_address=ADDRESS,
        tags=["poet"],
        **FULL_ONLY_VALUES,
    )

    response = client.put(
        _url(nation, f"/{before['id']}"),
        json={"person": {"last_name": "Lovelace", "legal_name": "Augusta Ada King"}},
        headers=headers,
    )

    assert response.status_code == 200, response.text
    after = response.json()["person"]
    assert after["last_name"] == "Lovelace"
    assert after["legal_name"] == "Augusta Ada King"
    assert after["full_name"] == "Ada Lovelace"
    changed = ("last_name", "legal_name", "full_name", "updated_at")
    assert _without(after, *changed) == _without(before, *changed)


def test_update_clears_with_null(client: TestClient, factory: Factory) -> None:
    nation, headers = _setup(factory)
    person = _create(client, nation, headers, first_name="Ada", phone="+1 555 0100", legal_name="A. King")

    response = client.put(
        _url(nation, f"/{person['id']}"),
        json={"person": {"phone": None, "legal_name": None}},
        headers=headers,
    )

    assert response.status_code == 200, response.text
    assert response.json()["person"]["phone"] is None
    assert response.json()["person"]["legal_name"] is None


def test_read_body_sent_back(client: TestClient, factory: Factory) -> None:
    nation, headers = _setup(factory)
    created = _create(
        client,
        nation,
        headers,
        first_name="Ada",
        last_name="Lovelace",
        email="ada@example.org",
        sex="F",
        birthdate="1815-12-10",
        support_level=2,
        primary_address=ADDRESS,
        tags=["poet", "math"],
        external_id="crm-1",
        **FULL_ONLY_VALUES,
    )
    read = client.get(_url(nation, f"/{created['id']}"), headers=headers).json()

    response = client.put(_url(nation, f"/{created['id']}"), json={"person": read["person"]}, headers=headers)

    assert response.status_code == 200, response.text
    assert _without(response.json()["person"], "updated_at") == _without(read["person"], "updated_at")
    shown = _show(client, nation, headers, created["id"])
    assert _without(shown, "updated_at") == _without(read["person"], "updated_at")


def test_read_body_of_bare_person(client: TestClient, factory: Factory) -> None:
    nation, headers = _setup(factory)
    (person_id,) = factory.people(nation, 1)
    read = _show(client, nation, headers, person_id)

    response = client.put(_url(nation, f"/{person_id}"), json={"person": read}, headers=headers)

    assert response.status_code == 200, response.text
    assert _without(response.json()["person"], "updated_at") == _without(read, "updated_at")


def test_update_adds_tags(client: TestClient, factory: Factory) -> None:
    nation, headers = _setup(factory)
    person = _create(client, nation, headers, first_name="Ada", tags=["poet"])
    url = _url(nation, f"/{person['id']}")

    added = client.put(url, json={"person": {"tags": ["math", "poet"]}}, headers=headers)
    emptied = client.put(url, json={"person": {"tags": []}}, headers=headers)

    assert added.status_code == 200, added.text
    assert added.json()["person"]["tags"] == ["math", "poet"]
    assert emptied.status_code == 200, emptied.text
    assert emptied.json()["person"]["tags"] == ["math", "poet"]


def test_update_empty_person_changes_nothing(client: TestClient, factory: Factory) -> None:
    nation, headers = _setup(factory)
    person = _create(client, nation, headers, first_name="Ada")

    response = client.put(_url(nation, f"/{person['id']}"), json={"person": {}}, headers=headers)

    assert response.status_code == 200, response.text
    assert _without(response.json()["person"], "updated_at") == _without(person, "updated_at")


def test_update_other_nation_404(client: TestClient, factory: Factory) -> None:
    nation, headers = _setup(factory)
    other, other_headers = _setup(factory)
    person = _create(client, other, other_headers, first_name="Ada")

    response = client.put(
        _url(nation, f"/{person['id']}"), json={"person": {"first_name": "X"}}, headers=headers
    )

    assert response.status_code == 404, response.text
    assert response.json() == NOT_FOUND
    assert _show(client, other, other_headers, person["id"]) == person


def test_failed_update_changes_nothing(client: TestClient, factory: Factory) -> None:
    nation, headers = _setup(factory)
    person = _create(client, nation, headers, email="ada@example.org")

    # Removing the only e-mail leaves no identity, so the tag and legal name must not be kept either.
    response = client.put(
        _url(nation, f"/{person['id']}"),
        json={"person": {"email": None, "tags": ["new"], "legal_name": "X"}},
        headers=headers,
    )

    assert response.status_code == 400, response.text
    assert response.json()["code"] == "validation_failed"
    assert _show(client, nation, headers, person["id"]) == person


# PUT /people/push


def _push(
    client: TestClient,
    nation: NationInfo,
    headers: dict[str, str],
    fields: dict[str, Any],
    path: str = "/push",
) -> tuple[int, dict[str, Any]]:
    response = client.put(_url(nation, path), json={"person": fields}, headers=headers)
    body: dict[str, Any] = response.json()
    return response.status_code, body


def test_push_creates_with_201(client: TestClient, factory: Factory) -> None:
    nation, headers = _setup(factory)

    status, body = _push(client, nation, headers, {"email": "new@example.org", "first_name": "Ada"})

    assert status == 201
    assert set(body) == {"person", "precinct"}
    assert body["precinct"] is None
    assert body["person"]["email"] == "new@example.org"
    assert body["person"]["first_name"] == "Ada"
    assert body["person"] == _show(client, nation, headers, body["person"]["id"])
    assert _count(client, nation, headers) == 1


def test_push_matches_email_200(client: TestClient, factory: Factory) -> None:
    nation, headers = _setup(factory)
    person = _create(client, nation, headers, email="ada@example.org", first_name="Ada", phone="+1 555 0100")

    status, body = _push(client, nation, headers, {"email": "ada@example.org", "first_name": "Augusta"})

    assert status == 200
    assert set(body) == {"person", "precinct"}
    assert body["person"]["id"] == person["id"]
    assert body["person"]["first_name"] == "Augusta"
    assert body["person"]["phone"] == "+1 555 0100"
    assert _count(client, nation, headers) == 1


@pytest.mark.parametrize(
    ("stored", "pushed"),
    [
        ("ada@example.org", "ADA@EXAMPLE.ORG"),
        ("Ada.Lovelace@Example.Org", "ada.lovelace@example.org"),
        ("a+b@example.org", "A+B@Example.org"),
    ],
)
def test_push_email_ignores_case(client: TestClient, factory: Factory, stored: str, pushed: str) -> None:
    nation, headers = _setup(factory)
    person = _create(client, nation, headers, email=stored)

    status, body = _push(client, nation, headers, {"email": pushed, "first_name": "Ada"})

    assert status == 200
    assert body["person"]["id"] == person["id"]
    assert _count(client, nation, headers) == 1


@pytest.mark.parametrize(
    ("stored", "pushed"),
    [
        ("ab@example.org", "a+b@example.org"),
        ("a@example.org", "a+b@example.org"),
        ("a+b@example.org", "ab@example.org"),
        ("a+b@example.org", "a@example.org"),
        ("a_b@example.org", "a%b@example.org"),
    ],
)
def test_push_email_is_literal(client: TestClient, factory: Factory, stored: str, pushed: str) -> None:
    nation, headers = _setup(factory)
    person = _create(client, nation, headers, email=stored, first_name="Stored")

    status, body = _push(client, nation, headers, {"email": pushed, "first_name": "Pushed"})

    assert status == 201
    assert body["person"]["id"] != person["id"]
    assert body["person"]["email"] == pushed
    assert _show(client, nation, headers, person["id"]) == person
    assert _count(client, nation, headers) == 2


def test_push_non_ascii_email_twice(client: TestClient, factory: Factory) -> None:
    nation, headers = _setup(factory)
    first_status, first = _push(client, nation, headers, {"email": "Éva@example.org"})

    second_status, second = _push(client, nation, headers, {"email": "Éva@example.org"})

    assert first_status == 201
    assert second_status == 200
    assert second["person"]["id"] == first["person"]["id"]
    assert _count(client, nation, headers) == 1


@pytest.mark.parametrize("name", MATCH_IDS)
def test_push_matches_external_ids(client: TestClient, factory: Factory, name: str) -> None:
    nation, headers = _setup(factory)
    person = _create(client, nation, headers, first_name="Ada", **{name: "id-42"})
    _create(client, nation, headers, first_name="Other", **{name: "id-43"})

    status, body = _push(client, nation, headers, {name: "id-42", "first_name": "Augusta"})

    assert status == 200
    assert body["person"]["id"] == person["id"]
    assert body["person"]["first_name"] == "Augusta"
    assert body["person"][name] == "id-42"
    assert _count(client, nation, headers) == 2


def test_push_two_people_matched(client: TestClient, factory: Factory) -> None:
    nation, headers = _setup(factory)
    by_email = _create(client, nation, headers, email="ada@example.org")
    by_id = _create(client, nation, headers, first_name="Other", external_id="crm-9")

    status, body = _push(client, nation, headers, {"email": "ada@example.org", "external_id": "crm-9"})

    assert status == 400
    assert set(body) == {"code", "message"}
    assert body["code"] == "multiple_matches"
    assert _show(client, nation, headers, by_email["id"]) == by_email
    assert _show(client, nation, headers, by_id["id"]) == by_id


def test_push_duplicate_emails_400(client: TestClient, factory: Factory) -> None:
    nation, headers = _setup(factory)
    _create(client, nation, headers, email="twin@example.org", first_name="One")
    _create(client, nation, headers, email="TWIN@example.org", first_name="Two")

    status, body = _push(client, nation, headers, {"email": "twin@example.org"})

    assert status == 400
    assert set(body) == {"code", "message"}
    assert body["code"] == "multiple_matches"
    assert _count(client, nation, headers) == 2


def test_push_one_person_both_keys(client: TestClient, factory: Factory) -> None:
    nation, headers = _setup(factory)
    person = _create(client, nation, headers, email="ada@example.org", external_id="crm-1")

    status, body = _push(client, nation, headers, {"email": "ada@example.org", "external_id": "crm-1"})

    assert status == 200
    assert body["person"]["id"] == person["id"]


def test_push_ignores_other_nations(client: TestClient, factory: Factory) -> None:
    nation, headers = _setup(factory)
    other, other_headers = _setup(factory)
    theirs = _create(client, other, other_headers, email="ada@example.org", external_id="crm-1")

    status, body = _push(
        client, nation, headers, {"email": "ada@example.org", "external_id": "crm-1", "first_name": "X"}
    )

    assert status == 201
    assert body["person"]["id"] != theirs["id"]
    assert _show(client, other, other_headers, theirs["id"]) == theirs


def test_push_adds_tags(client: TestClient, factory: Factory) -> None:
    nation, headers = _setup(factory)
    _create(client, nation, headers, email="ada@example.org", tags=["poet"])

    status, body = _push(client, nation, headers, {"email": "ada@example.org", "tags": ["math"]})

    assert status == 200
    assert body["person"]["tags"] == ["math", "poet"]


def test_push_overwrites_values(client: TestClient, factory: Factory) -> None:
    nation, headers = _setup(factory)
    person = _create(
        client,
        nation,
        headers,
        email="ada@example.org",
        first_name="Ada",
        legal_name="Old",
        home_address=ADDRESS,
    )
    new_address = {**ADDRESS, "city": "Chicago"}

    status, body = _push(
        client,
        nation,
        headers,
        {
            "email": "ada@example.org",
            "first_name": "Augusta",
            "legal_name": "New",
            "home_address": new_address,
        },
    )

    assert status == 200
    assert body["person"]["first_name"] == "Augusta"
    assert body["person"]["legal_name"] == "New"
    assert body["person"]["home_address"] == new_address
    changed = ("first_name", "full_name", "legal_name", "home_address", "updated_at")
    assert _without(body["person"], *changed) == _without(person, *changed)


# PUT /people/add


def test_add_creates_with_201(client: TestClient, factory: Factory) -> None:
    nation, headers = _setup(factory)

    status, body = _push(client, nation, headers, {"email": "new@example.org", "first_name": "Ada"}, "/add")

    assert status == 201
    assert set(body) == {"person", "precinct"}
    assert body["person"]["first_name"] == "Ada"
    assert body["person"] == _show(client, nation, headers, body["person"]["id"])


def test_add_keeps_existing_values(client: TestClient, factory: Factory) -> None:
    nation, headers = _setup(factory)
    person = _create(
        client,
        nation,
        headers,
        email="ada@example.org",
        first_name="Ada",
        phone="+1 555 0100",
        legal_name="Augusta Ada King",
        home_address=ADDRESS,
        support_level=1,
    )

    status, body = _push(
        client,
        nation,
        headers,
        {
            "email": "ADA@example.org",
            "first_name": "Changed",
            "phone": "+1 555 0199",
            "legal_name": "Changed",
            "home_address": {**ADDRESS, "city": "Changed"},
            "support_level": 5,
        },
        "/add",
    )

    assert status == 200
    assert body["person"]["id"] == person["id"]
    assert _without(body["person"], "updated_at") == _without(person, "updated_at")


def test_add_fills_empty_values(client: TestClient, factory: Factory) -> None:
    nation, headers = _setup(factory)
    person = _create(client, nation, headers, email="ada@example.org", first_name="Ada")

    status, body = _push(
        client,
        nation,
        headers,
        {
            "email": "ada@example.org",
            "first_name": "Changed",
            "last_name": "Lovelace",
            "phone": "+1 555 0100",
            "legal_name": "Augusta Ada King",
            "home_address": ADDRESS,
            "tags": ["poet"],
        },
        "/add",
    )

    assert status == 200
    added = body["person"]
    assert added["id"] == person["id"]
    assert added["first_name"] == "Ada"
    assert added["last_name"] == "Lovelace"
    assert added["phone"] == "+1 555 0100"
    assert added["legal_name"] == "Augusta Ada King"
    assert added["home_address"] == ADDRESS
    assert added["tags"] == ["poet"]
    assert _show(client, nation, headers, person["id"]) == added


def test_add_two_people_matched(client: TestClient, factory: Factory) -> None:
    nation, headers = _setup(factory)
    _create(client, nation, headers, email="ada@example.org")
    _create(client, nation, headers, first_name="Other", van_id="v-1")

    status, body = _push(client, nation, headers, {"email": "ada@example.org", "van_id": "v-1"}, "/add")

    assert status == 400
    assert set(body) == {"code", "message"}
    assert body["code"] == "multiple_matches"


# DELETE /people/:id


def test_delete_returns_204(client: TestClient, factory: Factory) -> None:
    nation, headers = _setup(factory)
    person = _create(client, nation, headers, first_name="Ada", tags=["poet"])

    response = client.delete(_url(nation, f"/{person['id']}"), headers=headers)

    assert response.status_code == 204
    assert response.content == b""


def test_deleted_person_is_gone(client: TestClient, factory: Factory) -> None:
    nation, headers = _setup(factory)
    remaining = _create(client, nation, headers, first_name="Remaining")
    person = _create(client, nation, headers, first_name="Ada")
    assert client.delete(_url(nation, f"/{person['id']}"), headers=headers).status_code == 204

    shown = client.get(_url(nation, f"/{person['id']}"), headers=headers)
    again = client.delete(_url(nation, f"/{person['id']}"), headers=headers)

    assert shown.status_code == 404
    assert shown.json() == NOT_FOUND
    assert again.status_code == 404
    assert again.json() == NOT_FOUND
    assert _index_ids(client, nation, headers) == [remaining["id"]]
    assert _count(client, nation, headers) == 1


def test_delete_with_empty_object(client: TestClient, factory: Factory) -> None:
    nation, headers = _setup(factory)
    person = _create(client, nation, headers, first_name="Ada")

    # The Ruby client sends DELETE with a body of {}.
    response = client.request(
        "DELETE",
        _url(nation, f"/{person['id']}"),
        content=b"{}",
        headers={**headers, "Content-Type": "application/json"},
    )

    assert response.status_code == 204
    assert response.content == b""
    assert client.get(_url(nation, f"/{person['id']}"), headers=headers).status_code == 404


def test_delete_other_nation_404(client: TestClient, factory: Factory) -> None:
    nation, headers = _setup(factory)
    other, other_headers = _setup(factory)
    theirs = _create(client, other, other_headers, first_name="Ada")

    response = client.delete(_url(nation, f"/{theirs['id']}"), headers=headers)

    assert response.status_code == 404
    assert response.json() == NOT_FOUND
    assert _show(client, other, other_headers, theirs["id"]) == theirs


def test_push_after_delete_creates(client: TestClient, factory: Factory) -> None:
    nation, headers = _setup(factory)
    person = _create(client, nation, headers, email="ada@example.org", tags=["poet"])
    assert client.delete(_url(nation, f"/{person['id']}"), headers=headers).status_code == 204

    status, body = _push(client, nation, headers, {"email": "ada@example.org"})

    assert status == 201
    assert body["person"]["tags"] == []
    assert _count(client, nation, headers) == 1


def test_deleted_id_not_reused(client: TestClient, factory: Factory) -> None:
    nation, headers = _setup(factory)
    _create(client, nation, headers, first_name="Kept")
    deleted = _create(client, nation, headers, first_name="Deleted")
    assert client.delete(_url(nation, f"/{deleted['id']}"), headers=headers).status_code == 204

    created = _create(client, nation, headers, first_name="New")
    shown = client.get(_url(nation, f"/{deleted['id']}"), headers=headers)

    assert created["id"] != deleted["id"]
    assert shown.status_code == 404
