"""Private notes, political capital and contacts of a person."""

from __future__ import annotations

from sqlalchemy.orm import Session
from starlette.testclient import TestClient

from citizenry.api.person_emails import one_address
from citizenry.store.models import Person
from tests.factory import Factory, NationInfo


def _setup(factory: Factory) -> tuple[NationInfo, dict[str, str], int, int]:
    nation = factory.nation()
    user = factory.user(nation)
    token = factory.test_token(nation, user)

    def add(session: Session) -> tuple[int, int]:
        owner = Person(nation_id=nation.id, first_name="Owner", **one_address(user.email))
        subject = Person(nation_id=nation.id, first_name="Subject")
        session.add_all([owner, subject])
        session.flush()
        return owner.id, subject.id

    owner_id, subject_id = factory.database.transaction(add)
    return nation, {"Authorization": f"Bearer {token}"}, owner_id, subject_id


def test_note_create(client: TestClient, factory: Factory) -> None:
    nation, headers, owner_id, subject_id = _setup(factory)

    response = client.post(
        f"{nation.prefix}/api/v1/people/{subject_id}/notes",
        json={"note": {"content": "Met at the rally"}},
        headers=headers,
    )
    empty = client.post(
        f"{nation.prefix}/api/v1/people/{subject_id}/notes", json={"note": {}}, headers=headers
    )

    assert response.status_code == 200
    assert response.json() == {
        "note": {"person_id": subject_id, "author_id": owner_id, "content": "Met at the rally"}
    }
    assert empty.status_code == 400
    assert empty.json()["code"] == "validation_failed"


def test_capitals_create_list_destroy(client: TestClient, factory: Factory) -> None:
    nation, headers, owner_id, subject_id = _setup(factory)
    url = f"{nation.prefix}/api/v1/people/{subject_id}/capitals"

    created = client.post(
        url, json={"capital": {"amount_in_cents": 500, "content": "thanks"}}, headers=headers
    )
    listed = client.get(url, headers=headers)
    capital_id = created.json()["capital"]["id"]
    deleted = client.delete(f"{url}/{capital_id}", headers=headers)
    again = client.delete(f"{url}/{capital_id}", headers=headers)
    bad = client.post(url, json={"capital": {"amount_in_cents": "5"}}, headers=headers)

    assert created.status_code == 200
    capital = created.json()["capital"]
    assert capital == {
        "id": capital_id,
        "person_id": subject_id,
        "author_id": owner_id,
        "type": "adjustment",
        "amount_in_cents": 500,
        "created_at": capital["created_at"],
        "content": "thanks",
    }
    assert listed.json() == {"results": [capital], "next": None, "prev": None}
    assert deleted.status_code == 204
    assert again.status_code == 404
    assert bad.status_code == 400
    assert bad.json()["code"] == "validation_failed"


def test_contacts_create_and_list(client: TestClient, factory: Factory) -> None:
    nation, headers, owner_id, subject_id = _setup(factory)
    url = f"{nation.prefix}/api/v1/people/{subject_id}/contacts"

    created = client.post(
        url,
        json={"contact": {"method": "phone_call", "status": "answered", "note": "Will volunteer"}},
        headers=headers,
    )
    listed = client.get(url, headers=headers)
    bad = client.post(url, json={"contact": {"method": "carrier pigeon"}}, headers=headers)

    assert created.status_code == 200
    contact = created.json()["contact"]
    assert contact == {
        "type_id": None,
        "method": "phone_call",
        "sender_id": owner_id,
        "recipient_id": subject_id,
        "status": "answered",
        "broadcaster_id": None,
        "note": "Will volunteer",
        "created_at": contact["created_at"],
    }
    assert listed.json()["results"] == [contact]
    assert bad.status_code == 400
    assert bad.json()["code"] == "validation_failed"


def test_records_of_unknown_person(client: TestClient, factory: Factory) -> None:
    nation, headers, _, _ = _setup(factory)
    other_person = factory.people(factory.nation(), 1)[0]

    for path in ("notes", "capitals", "contacts"):
        response = client.get(f"{nation.prefix}/api/v1/people/{other_person}/{path}", headers=headers)
        assert response.status_code in {404, 405}, path
