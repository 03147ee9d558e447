"""Permission sets: which permission levels may authorize apps and use the API."""

from __future__ import annotations

import base64
import hashlib
import secrets
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session
from starlette.testclient import TestClient

from citizenry.store.models import Nation
from citizenry.tenancy.permissions import set_permissions
from tests.factory import CALLBACK, AppInfo, Factory, NationInfo, UserInfo
from tests.flows import authorize, consent_page, decide, exchange_params, sign_in


def _params(app: AppInfo, **extra: str) -> dict[str, str]:
    return {
        "response_type": "code",
        "client_id": app.client_id,
        "redirect_uri": CALLBACK,
        "state": "s1",
        **extra,
    }


def _set(factory: Factory, nation: NationInfo, level: str, **switches: bool) -> None:
    def change(session: Session) -> None:
        row = session.get(Nation, nation.id)
        assert row is not None
        set_permissions(session, row, level, **switches)

    factory.database.transaction(change)


def _set_strict(factory: Factory, nation: NationInfo) -> None:
    factory.database.transaction(
        lambda session: session.execute(
            sa.update(Nation).where(Nation.id == nation.id).values(strict_profile=True)
        )
    )


def _codes_of(factory: Factory, nation: NationInfo) -> int:
    def count(session: Session) -> int:
        codes = sa.Table("authorization_codes", sa.MetaData(), autoload_with=session.connection())
        query = sa.select(sa.func.count()).select_from(codes).where(codes.c.nation_id == nation.id)
        return session.scalar(query) or 0

    return factory.database.transaction(count)


def _people(client: TestClient, nation: NationInfo, token: str) -> Any:
    return client.get(f"{nation.prefix}/api/v1/people", headers={"Authorization": f"Bearer {token}"})


def _assert_unauthorized(response: Any) -> None:
    assert response.status_code == 401, response.text
    body = response.json()
    assert set(body) == {"code", "message"}
    assert body["code"] == "unauthorized"
    assert response.headers["www-authenticate"].startswith("Bearer")


def _assert_rejected_page(response: Any) -> None:
    assert response.status_code == 403
    assert 'data-testid="error-message"' in response.text
    assert "location" not in response.headers


def _setup(factory: Factory, level: str) -> tuple[NationInfo, UserInfo, AppInfo]:
    nation = factory.nation()
    return nation, factory.user(nation, level=level), factory.app(nation)


def _exchange(client: TestClient, nation: NationInfo, app: AppInfo, code: str, **extra: str) -> Any:
    return client.post(f"{nation.prefix}/oauth/token", data=exchange_params(app, code, **extra))


# Staffers


def test_staffer_rejected_by_default(client: TestClient, factory: Factory) -> None:
    nation, staffer, app = _setup(factory, "staffer")
    assert sign_in(client, nation.prefix, staffer.email).status_code == 303

    response = consent_page(client, nation.prefix, _params(app))

    _assert_rejected_page(response)
    assert _codes_of(factory, nation) == 0


def test_staffer_may_sign_into_apps(client: TestClient, factory: Factory) -> None:
    nation, staffer, app = _setup(factory, "staffer")
    _set(factory, nation, "staffer", sign_into_apps=True)

    query = authorize(client, nation.prefix, staffer.email, _params(app))
    response = _exchange(client, nation, app, query["code"])

    assert query["state"] == "s1"
    assert response.status_code == 200, response.text
    assert response.json()["token_type"] == "bearer"


def test_staffer_token_rejected_by_people(client: TestClient, factory: Factory) -> None:
    nation, staffer, app = _setup(factory, "staffer")
    _set(factory, nation, "staffer", sign_into_apps=True)
    code = authorize(client, nation.prefix, staffer.email, _params(app))["code"]
    token = _exchange(client, nation, app, code).json()["access_token"]

    response = _people(client, nation, token)

    _assert_unauthorized(response)


def test_staffer_token_strict_is_403(client: TestClient, factory: Factory) -> None:
    nation, staffer, app = _setup(factory, "staffer")
    _set(factory, nation, "staffer", sign_into_apps=True)
    _set_strict(factory, nation)
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    pkce = {"code_challenge": challenge, "code_challenge_method": "S256"}
    code = authorize(client, nation.prefix, staffer.email, _params(app, **pkce))["code"]
    exchanged = _exchange(client, nation, app, code, code_verifier=verifier)
    assert exchanged.status_code == 200, exchanged.text

    response = _people(client, nation, exchanged.json()["access_token"])

    assert response.status_code == 403
    assert response.json()["code"] == "insufficient_scope"
    assert 'error="insufficient_scope"' in response.headers["www-authenticate"]


def test_staffer_switch_is_per_nation(client: TestClient, factory: Factory) -> None:
    nation, staffer, app = _setup(factory, "staffer")
    other = factory.nation()
    _set(factory, other, "staffer", sign_into_apps=True)
    assert sign_in(client, nation.prefix, staffer.email).status_code == 303

    response = consent_page(client, nation.prefix, _params(app))

    _assert_rejected_page(response)


def test_staffer_switch_off_again(client: TestClient, factory: Factory) -> None:
    nation, staffer, app = _setup(factory, "staffer")
    _set(factory, nation, "staffer", sign_into_apps=True)
    _set(factory, nation, "staffer", sign_into_apps=False)
    assert sign_in(client, nation.prefix, staffer.email).status_code == 303

    response = consent_page(client, nation.prefix, _params(app))

    _assert_rejected_page(response)


# Admins


def test_admin_without_api_test_token(client: TestClient, factory: Factory) -> None:
    nation = factory.nation()
    admin = factory.user(nation)
    token = factory.test_token(nation, admin)
    assert _people(client, nation, token).status_code == 200

    _set(factory, nation, "admin", api=False)

    _assert_unauthorized(_people(client, nation, token))


def test_admin_without_api_app_token(client: TestClient, factory: Factory) -> None:
    nation, admin, app = _setup(factory, "admin")
    code = authorize(client, nation.prefix, admin.email, _params(app))["code"]
    token = _exchange(client, nation, app, code).json()["access_token"]
    assert _people(client, nation, token).status_code == 200

    _set(factory, nation, "admin", api=False)

    _assert_unauthorized(_people(client, nation, token))


def test_admin_api_switch_keeps_signing_in(client: TestClient, factory: Factory) -> None:
    nation, admin, app = _setup(factory, "admin")
    _set(factory, nation, "admin", api=False)

    query = authorize(client, nation.prefix, admin.email, _params(app))

    assert query["state"] == "s1"
    assert "code" in query


def test_admin_api_back_on(client: TestClient, factory: Factory) -> None:
    nation = factory.nation()
    admin = factory.user(nation)
    token = factory.test_token(nation, admin)
    _set(factory, nation, "admin", api=False)
    _set(factory, nation, "admin", api=True)

    response = _people(client, nation, token)

    assert response.status_code == 200


def test_admin_without_sign_into_apps(client: TestClient, factory: Factory) -> None:
    nation, admin, app = _setup(factory, "admin")
    _set(factory, nation, "admin", sign_into_apps=False)
    assert sign_in(client, nation.prefix, admin.email).status_code == 303

    response = consent_page(client, nation.prefix, _params(app))

    _assert_rejected_page(response)
    assert _codes_of(factory, nation) == 0


def test_switch_off_between_page_and_decision(client: TestClient, factory: Factory) -> None:
    nation, admin, app = _setup(factory, "admin")
    assert sign_in(client, nation.prefix, admin.email).status_code == 303
    page = consent_page(client, nation.prefix, _params(app))
    assert page.status_code == 200

    _set(factory, nation, "admin", sign_into_apps=False)
    response = decide(client, nation.prefix, page.text, "authorize")

    _assert_rejected_page(response)
    assert _codes_of(factory, nation) == 0


def test_admin_sign_into_apps_keeps_api(client: TestClient, factory: Factory) -> None:
    nation = factory.nation()
    admin = factory.user(nation)
    token = factory.test_token(nation, admin)
    _set(factory, nation, "admin", sign_into_apps=False)

    response = _people(client, nation, token)

    assert response.status_code == 200
