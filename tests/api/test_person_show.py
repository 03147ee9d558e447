"""GET /people/:id, /people/count and /people/me."""

from __future__ import annotations

from sqlalchemy import update
from sqlalchemy.orm import Session
from starlette.testclient import TestClient

from citizenry.api.person_emails import one_address
from citizenry.api.person_full import (
    EMPTY_LISTS,
    FALSE_BOOLEANS,
    NULL_OBJECTS,
    TRUE_BOOLEANS,
    ZERO_INTEGERS,
)
from citizenry.api.person_json import PLAIN_FIELDS
from citizenry.store.models import Person
from tests.factory import Factory, NationInfo


def _setup(factory: Factory) -> tuple[NationInfo, dict[str, str], list[int]]:
    nation = factory.nation()
    user = factory.user(nation)
    token = factory.test_token(nation, user)
    ids = factory.people(nation, 3)
    return nation, {"Authorization": f"Bearer {token}", "Accept": "application/json"}, ids


def test_count_people(client: TestClient, factory: Factory) -> None:
    nation, headers, _ = _setup(factory)
    factory.people(factory.nation(), 5)

    response = client.get(f"{nation.prefix}/api/v1/people/count", headers=headers)

    assert response.status_code == 200
    assert response.json() == {"people_count": 3}


def test_show_full_person(client: TestClient, factory: Factory) -> None:
    nation, headers, ids = _setup(factory)

    response = client.get(f"{nation.prefix}/api/v1/people/{ids[1]}", headers=headers)

    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"person", "precinct"}
    assert body["precinct"] is None
    person = body["person"]
    assert person["id"] == ids[1]
    assert person["first_name"] == "First1"
    assert person["full_name"] == "First1 Last1"
    assert person["email1"] == "p1@example.org"
    assert person["primary_email_id"] == 1
    assert person["emails"] == [
        {"email_address": "p1@example.org", "email_number": 1, "is_bad": False, "is_primary": True}
    ]
    assert person["first_supporter_at"] == person["created_at"]
    for name in PLAIN_FIELDS:
        assert name in person
    for name in NULL_OBJECTS:
        assert person[name] is None
    for name in ZERO_INTEGERS:
        assert person[name] == 0
    for name in FALSE_BOOLEANS:
        assert person[name] is False
    for name in TRUE_BOOLEANS:
        assert person[name] is True
    for name in EMPTY_LISTS:
        assert person[name] == []
    assert "code" not in body


def test_show_by_external_id(client: TestClient, factory: Factory) -> None:
    nation, headers, ids = _setup(factory)

    def tag(session: Session) -> None:
        session.execute(update(Person).where(Person.id == ids[2]).values(external_id="crm-42 x"))

    factory.database.transaction(tag)

    response = client.get(
        f"{nation.prefix}/api/v1/people/crm-42%20x", params={"id_type": "external"}, headers=headers
    )

    assert response.status_code == 200
    assert response.json()["person"]["id"] == ids[2]


def test_show_unknown_person(client: TestClient, factory: Factory) -> None:
    nation, headers, _ = _setup(factory)
    other_nation_ids = factory.people(factory.nation(), 1)

    for path in ("999999999", "abc", "1.5", str(other_nation_ids[0]), "9" * 40):
        response = client.get(f"{nation.prefix}/api/v1/people/{path}", headers=headers)
        assert response.status_code == 404, path
        assert response.json() == {"code": "not_found", "message": "Record not found"}, path


def test_fixed_segments_route_first(client: TestClient, factory: Factory) -> None:
    nation, headers, _ = _setup(factory)

    count = client.get(f"{nation.prefix}/api/v1/people/count", headers=headers)
    me = client.get(f"{nation.prefix}/api/v1/people/me", headers=headers)

    assert set(count.json()) == {"people_count"}
    assert me.status_code == 404
    assert me.json()["code"] == "not_found"


def test_me_is_token_owner(client: TestClient, factory: Factory) -> None:
    nation = factory.nation()
    user = factory.user(nation)
    token = factory.test_token(nation, user)

    def add_record(session: Session) -> int:
        person = Person(nation_id=nation.id, first_name="Owner", **one_address(user.email.upper()))
        session.add(person)
        session.flush()
        return person.id

    person_id = factory.database.transaction(add_record)

    response = client.get(f"{nation.prefix}/api/v1/people/me", headers={"Authorization": f"Bearer {token}"})

    assert response.status_code == 200
    assert response.json()["person"]["id"] == person_id


def test_show_needs_token(client: TestClient, factory: Factory) -> None:
    nation, _, ids = _setup(factory)

    response = client.get(f"{nation.prefix}/api/v1/people/{ids[0]}")

    assert response.status_code == 401
    assert response.json()["code"] == "unauthorized"
