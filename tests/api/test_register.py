"""GET /people/:id/register, which starts a person's account activation."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.testclient import TestClient

from tests.factory import Factory, NationInfo

NOT_FOUND = {"code": "not_found", "message": "Record not found"}


def _setup(factory: Factory) -> tuple[NationInfo, dict[str, str], int]:
    nation = factory.nation()
    token = factory.test_token(nation, factory.user(nation))
    (person_id,) = factory.people(nation, 1)
    return nation, {"Authorization": f"Bearer {token}", "Accept": "application/json"}, person_id


def _register(client: TestClient, nation: NationInfo, headers: dict[str, str], person_id: Any) -> Any:
    return client.get(f"{nation.prefix}/api/v1/people/{person_id}/register", headers=headers)


def test_register_returns_success(client: TestClient, factory: Factory) -> None:
    nation, headers, person_id = _setup(factory)
    before = client.get(f"{nation.prefix}/api/v1/people/{person_id}", headers=headers)

    response = _register(client, nation, headers, person_id)
    after = client.get(f"{nation.prefix}/api/v1/people/{person_id}", headers=headers)

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    assert response.json() == {"status": "success"}
    # Without a mail server nothing is sent, and the person's record stays as it was.
    assert after.json() == before.json()


@pytest.mark.parametrize("person_id", ["999999999", "0", "abc", "1.5", "-1", "9" * 19])
def test_register_unknown_person_is_404(client: TestClient, factory: Factory, person_id: str) -> None:
    nation, headers, _ = _setup(factory)

    response = _register(client, nation, headers, person_id)

    assert response.status_code == 404
    assert response.json() == NOT_FOUND


def test_register_deleted_person_is_404(client: TestClient, factory: Factory) -> None:
    nation, headers, person_id = _setup(factory)
    assert client.delete(f"{nation.prefix}/api/v1/people/{person_id}", headers=headers).status_code == 204

    response = _register(client, nation, headers, person_id)

    assert response.status_code == 404
    assert response.json() == NOT_FOUND


def test_register_other_nation_person_is_404(client: TestClient, factory: Factory) -> None:
    nation, headers, _ = _setup(factory)
    _, _, other_person_id = _setup(factory)

    response = _register(client, nation, headers, other_person_id)

    assert response.status_code == 404
    assert response.json() == NOT_FOUND


def test_register_other_nation_token_is_401(client: TestClient, factory: Factory) -> None:
    nation, _, person_id = _setup(factory)
    _, other_headers, _ = _setup(factory)

    response = _register(client, nation, other_headers, person_id)

    assert response.status_code == 401
    assert response.json()["code"] == "unauthorized"


def test_register_staffer_token_is_refused(client: TestClient, factory: Factory) -> None:
    nation, _, person_id = _setup(factory)
    token = factory.test_token(nation, factory.user(nation, level="staffer"))
    staffer_headers = {"Authorization": f"Bearer {token}"}
    show_response = client.get(f"{nation.prefix}/api/v1/people/{person_id}", headers=staffer_headers)

    response = _register(client, nation, staffer_headers, person_id)

    assert show_response.status_code == 401
    assert response.status_code == show_response.status_code
    assert response.json() == show_response.json()
