"""Settings > Custom fields: list, add and delete a nation's custom fields in the panel."""

from __future__ import annotations

import re
from typing import Any

from starlette.testclient import TestClient

from tests.factory import Factory, NationInfo
from tests.flows import hidden_field, sign_in

PAGE = "/admin/settings/custom_fields"
ROW = re.compile(
    r'<tr data-testid="custom-field">\s*<td>([^<]*)</td>\s*<td><code>([^<]*)</code></td>\s*<td>(\w+)</td>'
)
ERROR = re.compile(r'<li data-testid="error">([^<]*)</li>')


def _admin_client(client: TestClient, factory: Factory) -> NationInfo:
    nation = factory.nation()
    user = factory.user(nation)
    assert sign_in(client, nation.prefix, user.email).status_code == 303
    return nation


def _rows(client: TestClient, nation: NationInfo) -> list[tuple[str, str, str]]:
    response = client.get(nation.prefix + PAGE)
    assert response.status_code == 200
    return ROW.findall(response.text)


def _add(client: TestClient, nation: NationInfo, **fields: str) -> Any:
    csrf = hidden_field(client.get(nation.prefix + PAGE).text, "csrf_token")
    return client.post(nation.prefix + PAGE, data={"csrf_token": csrf, **fields}, follow_redirects=False)


def test_added_field_in_page_and_api(client: TestClient, factory: Factory) -> None:
    nation = _admin_client(client, factory)

    response = _add(client, nation, name="Graduation year", slug="graduation_year", type="number")

    assert response.status_code == 303
    assert _rows(client, nation) == [("Graduation year", "graduation_year", "number")]
    token = factory.test_token(nation, factory.user(nation))
    listed = client.get(
        f"{nation.prefix}/api/v1/custom_fields", headers={"Authorization": f"Bearer {token}"}
    ).json()
    assert [(field["slug"], field["type"]) for field in listed["results"]] == [("graduation_year", "number")]


def test_bad_slug_shows_the_problem_and_adds_nothing(client: TestClient, factory: Factory) -> None:
    nation = _admin_client(client, factory)

    response = _add(client, nation, name="Email", slug="email", type="text")

    assert response.status_code == 400
    assert ERROR.findall(response.text) == ["slug: email is a standard person field"]
    assert _rows(client, nation) == []


def test_delete_after_confirmation(client: TestClient, factory: Factory) -> None:
    nation = _admin_client(client, factory)
    _add(client, nation, name="Shirt size", slug="shirt_size", type="text")

    confirm = client.get(f"{nation.prefix}{PAGE}/shirt_size/delete")
    assert confirm.status_code == 200
    response = client.post(
        f"{nation.prefix}{PAGE}/shirt_size/delete",
        data={"csrf_token": hidden_field(confirm.text, "csrf_token")},
        follow_redirects=False,
    )

    assert response.status_code == 303
    assert _rows(client, nation) == []
    assert client.get(f"{nation.prefix}{PAGE}/shirt_size/delete").status_code == 404


def test_delete_without_csrf_is_refused(client: TestClient, factory: Factory) -> None:
    nation = _admin_client(client, factory)
    _add(client, nation, name="Shirt size", slug="shirt_size", type="text")

    response = client.post(f"{nation.prefix}{PAGE}/shirt_size/delete", data={}, follow_redirects=False)

    assert response.status_code == 403
    assert _rows(client, nation) == [("Shirt size", "shirt_size", "text")]


def test_staffer_cannot_open_the_page(client: TestClient, factory: Factory) -> None:
    nation = factory.nation()
    staffer = factory.user(nation, level="staffer")
    sign_in(client, nation.prefix, staffer.email)

    assert client.get(nation.prefix + PAGE).status_code == 403
