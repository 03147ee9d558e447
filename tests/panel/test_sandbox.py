"""Sandbox nations: certified developers create a nation of their own to test apps on."""

from __future__ import annotations

import secrets
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session
from starlette.testclient import TestClient

from tests.factory import Factory, NationInfo, UserInfo
from tests.flows import hidden_field, sign_in

SANDBOX = "/admin/sandbox/new"


def _slug() -> str:
    return f"s{secrets.token_hex(5)}"


def _developer(
    client: TestClient, factory: Factory, *, certified: bool = True, level: str = "admin"
) -> tuple[NationInfo, UserInfo]:
    nation = factory.nation()
    user = factory.user(nation, level=level, certified=certified)
    assert sign_in(client, nation.prefix, user.email).status_code == 303
    return nation, user


def _csrf(client: TestClient, nation: NationInfo) -> str:
    return hidden_field(client.get(f"{nation.prefix}/admin").text, "csrf_token")


def _create(client: TestClient, nation: NationInfo, slug: str, name: str = "My Sandbox") -> Any:
    return client.post(
        nation.prefix + SANDBOX, data={"slug": slug, "name": name, "csrf_token": _csrf(client, nation)}
    )


def _nation_row(factory: Factory, slug: str) -> dict[str, Any] | None:
    def read(session: Session) -> dict[str, Any] | None:
        nations = sa.Table("nations", sa.MetaData(), autoload_with=session.connection())
        row = session.execute(sa.select(nations).where(nations.c.slug == slug)).first()
        return dict(row._mapping) if row else None

    return factory.database.transaction(read)


def _memberships(factory: Factory, nation_id: int) -> list[tuple[int, str]]:
    def read(session: Session) -> list[tuple[int, str]]:
        table = sa.Table("memberships", sa.MetaData(), autoload_with=session.connection())
        query = (
            sa.select(table.c.user_id, table.c.permission_level)
            .where(table.c.nation_id == nation_id)
            .order_by(table.c.id)
        )
        return [(user_id, level) for user_id, level in session.execute(query)]

    return factory.database.transaction(read)


def test_form_for_certified_developer(client: TestClient, factory: Factory) -> None:
    nation, _ = _developer(client, factory)

    response = client.get(nation.prefix + SANDBOX)

    assert response.status_code == 200
    assert len(hidden_field(response.text, "csrf_token")) >= 32
    assert 'name="slug"' in response.text
    assert 'name="name"' in response.text


def test_create_redirects_to_admin(client: TestClient, factory: Factory) -> None:
    nation, _ = _developer(client, factory)
    slug = _slug()

    response = _create(client, nation, slug)

    assert response.status_code == 303
    assert response.headers["location"] == f"/n/{slug}/admin"


def test_create_stores_sandbox_nation(client: TestClient, factory: Factory) -> None:
    nation, _ = _developer(client, factory)
    slug = _slug()

    assert _create(client, nation, slug, name="  My Sandbox ").status_code == 303

    row = _nation_row(factory, slug)
    assert row is not None
    assert row["is_sandbox"] is True
    assert row["name"] == "My Sandbox"
    assert row["strict_profile"] is False
    assert row["plan"] == "starter"
    origin = _nation_row(factory, nation.slug)
    assert origin is not None
    assert origin["is_sandbox"] is False


def test_developer_is_sandbox_admin(client: TestClient, factory: Factory) -> None:
    nation, user = _developer(client, factory)
    slug = _slug()

    response = _create(client, nation, slug)

    row = _nation_row(factory, slug)
    assert row is not None
    assert _memberships(factory, row["id"]) == [(user.id, "admin")]
    admin_page = client.get(response.headers["location"])
    assert admin_page.status_code == 200
    developer_page = client.get(f"/n/{slug}/admin/settings/developer")
    assert developer_page.status_code == 200


def test_create_lowercases_slug(client: TestClient, factory: Factory) -> None:
    nation, _ = _developer(client, factory)
    slug = _slug()

    response = _create(client, nation, f"  {slug.upper()} ")

    assert response.status_code == 303
    assert response.headers["location"] == f"/n/{slug}/admin"
    assert _nation_row(factory, slug) is not None


def test_certified_staffer_can_create(client: TestClient, factory: Factory) -> None:
    nation, user = _developer(client, factory, level="staffer")
    slug = _slug()

    response = _create(client, nation, slug)

    assert response.status_code == 303
    row = _nation_row(factory, slug)
    assert row is not None
    assert _memberships(factory, row["id"]) == [(user.id, "admin")]


def test_create_on_host_keeps_host(client: TestClient, factory: Factory) -> None:
    nation = factory.nation()
    user = factory.user(nation, certified=True)
    origin = f"http://{nation.slug}.localhost"
    assert sign_in(client, origin, user.email).status_code == 303
    slug = _slug()

    response = client.post(
        origin + SANDBOX, data={"slug": slug, "name": "Host Sandbox", "csrf_token": _csrf_at(client, origin)}
    )

    assert response.status_code == 303
    assert response.headers["location"] == f"http://{slug}.localhost/admin"
    # The session cookie belongs to one host, so the developer signs in again on the sandbox's host.
    assert sign_in(client, f"http://{slug}.localhost", user.email).status_code == 303
    assert client.get(response.headers["location"]).status_code == 200


def _csrf_at(client: TestClient, origin: str) -> str:
    return hidden_field(client.get(f"{origin}/admin").text, "csrf_token")


def test_uncertified_user_gets_403(client: TestClient, factory: Factory) -> None:
    nation, _ = _developer(client, factory, certified=False)
    slug = _slug()

    form = client.get(nation.prefix + SANDBOX)
    created = _create(client, nation, slug)

    assert form.status_code == 403
    assert 'data-testid="error-message"' in form.text
    assert created.status_code == 403
    assert 'data-testid="error-message"' in created.text
    assert _nation_row(factory, slug) is None


def test_enterprise_plan_is_not_enough(client: TestClient, factory: Factory) -> None:
    nation, _ = _developer(client, factory, certified=False)
    assert client.get(f"{nation.prefix}/admin/settings/developer").status_code == 200
    slug = _slug()

    response = _create(client, nation, slug)

    assert response.status_code == 403
    assert _nation_row(factory, slug) is None


@pytest.mark.parametrize(
    "slug",
    ["-{}", "{}-", "{}_x", "{}.x", "{}/x", "x" * 64, "", "   ", "{} x", "{}\u00e9"],
)
def test_invalid_slug_is_400(client: TestClient, factory: Factory, slug: str) -> None:
    nation, _ = _developer(client, factory)
    slug = slug.format(_slug())

    response = _create(client, nation, slug)

    assert response.status_code == 400
    assert len(hidden_field(response.text, "csrf_token")) >= 32
    assert _nation_row(factory, slug.strip().lower()) is None


def test_taken_slug_is_400(client: TestClient, factory: Factory) -> None:
    nation, _ = _developer(client, factory)
    existing = factory.nation(name="Existing Nation")

    response = _create(client, nation, existing.slug, name="Takeover")

    assert response.status_code == 400
    row = _nation_row(factory, existing.slug)
    assert row is not None
    assert row["name"] == "Existing Nation"
    assert row["is_sandbox"] is False
    assert _memberships(factory, existing.id) == []


def test_taken_sandbox_slug_is_400(client: TestClient, factory: Factory) -> None:
    nation, _ = _developer(client, factory)
    slug = _slug()
    assert _create(client, nation, slug, name="First").status_code == 303

    response = _create(client, nation, slug, name="Second")

    assert response.status_code == 400
    row = _nation_row(factory, slug)
    assert row is not None
    assert row["name"] == "First"


def test_blank_name_is_400(client: TestClient, factory: Factory) -> None:
    nation, _ = _developer(client, factory)
    slug = _slug()

    response = _create(client, nation, slug, name="   ")

    assert response.status_code == 400
    assert _nation_row(factory, slug) is None


def test_create_without_csrf_is_403(client: TestClient, factory: Factory) -> None:
    nation, _ = _developer(client, factory)
    slug = _slug()

    response = client.post(nation.prefix + SANDBOX, data={"slug": slug, "name": "No CSRF"})

    assert response.status_code == 403
    assert _nation_row(factory, slug) is None


def test_create_from_other_origin_is_403(client: TestClient, factory: Factory) -> None:
    nation, _ = _developer(client, factory)
    slug = _slug()

    response = client.post(
        nation.prefix + SANDBOX,
        data={"slug": slug, "name": "Cross Site", "csrf_token": _csrf(client, nation)},
        headers={"Origin": "https://evil.example"},
    )

    assert response.status_code == 403
    assert _nation_row(factory, slug) is None


def test_signed_out_goes_to_login(client: TestClient, factory: Factory) -> None:
    nation = factory.nation()

    response = client.get(nation.prefix + SANDBOX)

    assert response.status_code == 303
    assert response.headers["location"].startswith(f"{nation.prefix}/login")
