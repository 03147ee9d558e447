"""Settings > Authorized apps: the apps that hold live tokens on a nation, and revoking them."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session
from starlette.testclient import TestClient

from citizenry.store.models import AccessToken, App, Authorization, RefreshToken
from tests.factory import CALLBACK, AppInfo, Factory, NationInfo, UserInfo
from tests.flows import authorize, exchange_params, hidden_field, sign_in

AUTHORIZED_APPS = "/admin/settings/authorized_apps"
ROW = re.compile(r'<tr data-testid="authorized-app">(.*?)</tr>', re.DOTALL)


def _listed(client: TestClient, nation: NationInfo) -> list[dict[str, str]]:
    """Return the client id and revoke form action of each row of the nation's authorized apps page."""
    response = client.get(nation.prefix + AUTHORIZED_APPS)
    assert response.status_code == 200, response.text
    rows = []
    for row in ROW.findall(response.text):
        client_id = re.search(r"<code>([^<]*)</code>", row)
        action = re.search(r'action="([^"]*)"', row)
        assert client_id is not None
        assert action is not None
        rows.append({"client_id": client_id.group(1), "action": action.group(1)})
    return rows


def _csrf(client: TestClient, nation: NationInfo) -> str:
    return hidden_field(client.get(f"{nation.prefix}/admin").text, "csrf_token")


def _code(client: TestClient, nation: NationInfo, user: UserInfo, app: AppInfo) -> str:
    params = {"response_type": "code", "client_id": app.client_id, "redirect_uri": CALLBACK, "state": "s1"}
    return authorize(client, nation.prefix, user.email, params)["code"]


def _tokens(client: TestClient, nation: NationInfo, user: UserInfo, app: AppInfo) -> dict[str, Any]:
    """Authorize ``app`` on ``nation`` as ``user`` through the browser flow and exchange the code."""
    code = _code(client, nation, user, app)
    response = client.post(f"{nation.prefix}/oauth/token", data=exchange_params(app, code))
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _refresh(client: TestClient, nation: NationInfo, app: AppInfo, refresh_token: str) -> Any:
    return client.post(
        f"{nation.prefix}/oauth/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": refresh_token,
            "client_id": app.client_id,
            "client_secret": app.client_secret,
        },
    )


def _people(client: TestClient, nation: NationInfo, token: str) -> Any:
    return client.get(f"{nation.prefix}/api/v1/people", headers={"Authorization": f"Bearer {token}"})


def _revoke(client: TestClient, nation: NationInfo, app_id: int, csrf: str | None = "") -> Any:
    data = {} if csrf is None else {"csrf_token": csrf or _csrf(client, nation)}
    return client.post(f"{nation.prefix}{AUTHORIZED_APPS}/{app_id}/revoke", data=data)


def _admin_with_tokens(
    client: TestClient, factory: Factory
) -> tuple[NationInfo, UserInfo, AppInfo, dict[str, Any]]:
    nation = factory.nation()
    admin = factory.user(nation)
    app = factory.app(nation)
    return nation, admin, app, _tokens(client, nation, admin, app)


def _audit_of(factory: Factory, nation: NationInfo) -> list[dict[str, Any]]:
    def read(session: Session) -> list[dict[str, Any]]:
        events = sa.Table("audit_events", sa.MetaData(), autoload_with=session.connection())
        query = sa.select(events).where(events.c.nation_id == nation.id).order_by(events.c.id)
        return [dict(row._mapping) for row in session.execute(query)]

    return factory.database.transaction(read)


def _update(factory: Factory, model: Any, app: AppInfo, **values: Any) -> None:
    """Set columns of every row of ``model`` that belongs to ``app``."""
    factory.database.transaction(
        lambda session: session.execute(sa.update(model).where(model.app_id == app.id).values(**values))
    )


# Listing


def test_lists_app_after_token_exchange(client: TestClient, factory: Factory) -> None:
    nation, _, app, _ = _admin_with_tokens(client, factory)

    rows = _listed(client, nation)

    assert rows == [
        {"client_id": app.client_id, "action": f"{nation.prefix}{AUTHORIZED_APPS}/{app.id}/revoke"}
    ]


def test_lists_app_once_per_app(client: TestClient, factory: Factory) -> None:
    nation, admin, app, _ = _admin_with_tokens(client, factory)
    _tokens(client, nation, admin, app)

    rows = _listed(client, nation)

    assert [row["client_id"] for row in rows] == [app.client_id]


def test_lists_every_authorized_app(client: TestClient, factory: Factory) -> None:
    nation, admin, first, _ = _admin_with_tokens(client, factory)
    second = factory.app(factory.nation())
    _tokens(client, nation, admin, second)
    unused = factory.app(nation)

    rows = _listed(client, nation)

    assert sorted(row["client_id"] for row in rows) == sorted([first.client_id, second.client_id])
    assert unused.client_id not in [row["client_id"] for row in rows]


def test_empty_without_tokens(client: TestClient, factory: Factory) -> None:
    nation = factory.nation()
    admin = factory.user(nation)
    factory.app(nation)
    assert sign_in(client, nation.prefix, admin.email).status_code == 303

    assert _listed(client, nation) == []


def test_code_alone_is_not_listed(client: TestClient, factory: Factory) -> None:
    nation = factory.nation()
    admin = factory.user(nation)
    app = factory.app(nation)
    _code(client, nation, admin, app)

    assert _listed(client, nation) == []


def test_refreshed_app_still_listed(client: TestClient, factory: Factory) -> None:
    nation, _, app, tokens = _admin_with_tokens(client, factory)
    assert _refresh(client, nation, app, tokens["refresh_token"]).status_code == 200

    rows = _listed(client, nation)

    assert [row["client_id"] for row in rows] == [app.client_id]


def test_expired_access_live_refresh_listed(client: TestClient, factory: Factory) -> None:
    nation, _, app, _ = _admin_with_tokens(client, factory)
    _update(factory, AccessToken, app, expires_at=datetime.now(UTC) - timedelta(hours=1))

    rows = _listed(client, nation)

    assert [row["client_id"] for row in rows] == [app.client_id]


def test_revoked_by_app_not_listed(client: TestClient, factory: Factory) -> None:
    nation, _, app, tokens = _admin_with_tokens(client, factory)
    revoked = client.post(
        f"{nation.prefix}/oauth/revoke",
        data={
            "token": tokens["refresh_token"],
            "token_type_hint": "refresh_token",
            "client_id": app.client_id,
            "client_secret": app.client_secret,
        },
    )
    assert revoked.status_code == 200

    assert _listed(client, nation) == []


def test_expired_and_revoked_not_listed(client: TestClient, factory: Factory) -> None:
    nation, _, app, _ = _admin_with_tokens(client, factory)
    now = datetime.now(UTC)
    _update(factory, AccessToken, app, expires_at=now - timedelta(hours=1))
    _update(factory, RefreshToken, app, revoked_at=now - timedelta(hours=1))

    assert _listed(client, nation) == []


def test_expired_and_rotated_not_listed(client: TestClient, factory: Factory) -> None:
    nation, _, app, _ = _admin_with_tokens(client, factory)
    now = datetime.now(UTC)
    _update(factory, AccessToken, app, expires_at=now - timedelta(hours=1))
    _update(factory, RefreshToken, app, rotated_at=now - timedelta(hours=1))

    assert _listed(client, nation) == []


def test_past_max_age_not_listed(client: TestClient, factory: Factory) -> None:
    nation, _, app, tokens = _admin_with_tokens(client, factory)
    long_ago = datetime.now(UTC) - timedelta(days=400)
    _update(factory, AccessToken, app, expires_at=long_ago + timedelta(days=1))
    _update(factory, Authorization, app, created_at=long_ago)

    rows = _listed(client, nation)

    assert rows == []
    refresh = _refresh(client, nation, app, tokens["refresh_token"])
    assert refresh.status_code == 400
    assert refresh.json()["error"] == "invalid_grant"


def test_legacy_token_is_listed(client: TestClient, factory: Factory) -> None:
    nation = factory.nation()
    admin = factory.user(nation)
    app = factory.app(nation)
    _update_app(factory, app, legacy_tokens=True)

    tokens = _tokens(client, nation, admin, app)

    assert "refresh_token" not in tokens
    assert [row["client_id"] for row in _listed(client, nation)] == [app.client_id]


def _update_app(factory: Factory, app: AppInfo, **values: Any) -> None:
    factory.database.transaction(
        lambda session: session.execute(sa.update(App).where(App.id == app.id).values(**values))
    )


def test_page_never_shows_tokens(client: TestClient, factory: Factory) -> None:
    nation, _, app, tokens = _admin_with_tokens(client, factory)

    response = client.get(nation.prefix + AUTHORIZED_APPS)

    assert response.status_code == 200
    assert tokens["access_token"] not in response.text
    assert tokens["refresh_token"] not in response.text
    assert app.client_secret not in response.text
    assert "no-store" in response.headers["cache-control"]


# Revoking


def test_revoke_kills_access_token(client: TestClient, factory: Factory) -> None:
    nation, _, app, tokens = _admin_with_tokens(client, factory)
    assert _people(client, nation, tokens["access_token"]).status_code == 200

    response = _revoke(client, nation, app.id)

    assert response.status_code == 303
    assert response.headers["location"] == nation.prefix + AUTHORIZED_APPS
    people = _people(client, nation, tokens["access_token"])
    assert people.status_code == 401
    assert people.json()["code"] == "unauthorized"
    assert people.headers["www-authenticate"].startswith("Bearer")


def test_revoke_kills_refresh_token(client: TestClient, factory: Factory) -> None:
    nation, _, app, tokens = _admin_with_tokens(client, factory)

    assert _revoke(client, nation, app.id).status_code == 303

    refresh = _refresh(client, nation, app, tokens["refresh_token"])
    assert refresh.status_code == 400
    assert refresh.json()["error"] == "invalid_grant"


def test_revoke_kills_refreshed_tokens(client: TestClient, factory: Factory) -> None:
    nation, _, app, tokens = _admin_with_tokens(client, factory)
    refreshed = _refresh(client, nation, app, tokens["refresh_token"]).json()

    assert _revoke(client, nation, app.id).status_code == 303

    assert _people(client, nation, refreshed["access_token"]).status_code == 401
    refresh = _refresh(client, nation, app, refreshed["refresh_token"])
    assert refresh.status_code == 400
    assert refresh.json()["error"] == "invalid_grant"


def test_revoke_kills_every_authorization(client: TestClient, factory: Factory) -> None:
    nation, admin, app, first = _admin_with_tokens(client, factory)
    second = _tokens(client, nation, admin, app)

    assert _revoke(client, nation, app.id).status_code == 303

    for tokens in (first, second):
        assert _people(client, nation, tokens["access_token"]).status_code == 401
        assert _refresh(client, nation, app, tokens["refresh_token"]).status_code == 400


def test_revoke_kills_pending_code(client: TestClient, factory: Factory) -> None:
    nation, admin, app, _ = _admin_with_tokens(client, factory)
    pending = _code(client, nation, admin, app)

    assert _revoke(client, nation, app.id).status_code == 303

    response = client.post(f"{nation.prefix}/oauth/token", data=exchange_params(app, pending))
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"


def test_revoke_kills_legacy_token(client: TestClient, factory: Factory) -> None:
    nation = factory.nation()
    admin = factory.user(nation)
    app = factory.app(nation)
    _update_app(factory, app, legacy_tokens=True)
    tokens = _tokens(client, nation, admin, app)
    assert _people(client, nation, tokens["access_token"]).status_code == 200

    assert _revoke(client, nation, app.id).status_code == 303

    assert _people(client, nation, tokens["access_token"]).status_code == 401
    migrated = _refresh(client, nation, app, tokens["access_token"])
    assert migrated.status_code == 400
    assert migrated.json()["error"] == "invalid_grant"


def test_revoke_removes_app_from_list(client: TestClient, factory: Factory) -> None:
    nation, _, app, _ = _admin_with_tokens(client, factory)

    assert _revoke(client, nation, app.id).status_code == 303

    assert _listed(client, nation) == []


def test_revoke_introspects_inactive(client: TestClient, factory: Factory) -> None:
    nation, _, app, tokens = _admin_with_tokens(client, factory)

    assert _revoke(client, nation, app.id).status_code == 303

    for token in (tokens["access_token"], tokens["refresh_token"]):
        response = client.post(
            f"{nation.prefix}/oauth/introspect",
            data={"token": token, "client_id": app.client_id, "client_secret": app.client_secret},
        )
        assert response.status_code == 200
        assert response.json() == {"active": False}


def test_app_can_authorize_again(client: TestClient, factory: Factory) -> None:
    nation, admin, app, _ = _admin_with_tokens(client, factory)
    assert _revoke(client, nation, app.id).status_code == 303

    tokens = _tokens(client, nation, admin, app)

    assert _people(client, nation, tokens["access_token"]).status_code == 200
    assert [row["client_id"] for row in _listed(client, nation)] == [app.client_id]


def test_revoke_writes_audit_event(client: TestClient, factory: Factory) -> None:
    nation, admin, app, tokens = _admin_with_tokens(client, factory)

    assert _revoke(client, nation, app.id).status_code == 303

    events = _audit_of(factory, nation)
    assert [event["kind"] for event in events] == [
        "app.registered",
        "authorization.granted",
        "token.issued",
        "authorization.revoked",
    ]
    revoked = events[-1]
    assert revoked["actor_user_id"] == admin.id
    assert revoked["app_id"] == app.id
    assert revoked["detail"] == {"authorizations": 1}
    for event in events:
        for value in event.values():
            assert tokens["access_token"] not in repr(value)
            assert tokens["refresh_token"] not in repr(value)


def test_revoke_without_csrf_is_403(client: TestClient, factory: Factory) -> None:
    nation, _, app, tokens = _admin_with_tokens(client, factory)

    response = _revoke(client, nation, app.id, csrf=None)

    assert response.status_code == 403
    assert 'data-testid="error-message"' in response.text
    assert _people(client, nation, tokens["access_token"]).status_code == 200
    assert [row["client_id"] for row in _listed(client, nation)] == [app.client_id]
    assert "authorization.revoked" not in [event["kind"] for event in _audit_of(factory, nation)]


def test_revoke_from_other_origin_is_403(client: TestClient, factory: Factory) -> None:
    nation, _, app, tokens = _admin_with_tokens(client, factory)

    response = client.post(
        f"{nation.prefix}{AUTHORIZED_APPS}/{app.id}/revoke",
        data={"csrf_token": _csrf(client, nation)},
        headers={"Origin": "https://evil.example"},
    )

    assert response.status_code == 403
    assert _people(client, nation, tokens["access_token"]).status_code == 200


def test_revoke_unknown_app_is_404(client: TestClient, factory: Factory) -> None:
    nation = factory.nation()
    admin = factory.user(nation)
    assert sign_in(client, nation.prefix, admin.email).status_code == 303

    response = _revoke(client, nation, 999999999)

    assert response.status_code == 404
    assert 'data-testid="error-message"' in response.text


# Nation scope and permission level


def test_other_nation_unaffected_by_revoke(
    client: TestClient, app_fixture_client: TestClient, factory: Factory
) -> None:
    nation, _, app, tokens = _admin_with_tokens(client, factory)
    other = factory.nation()
    other_admin = factory.user(other)
    other_tokens = _tokens(app_fixture_client, other, other_admin, app)

    assert _revoke(client, nation, app.id).status_code == 303

    assert _people(client, nation, tokens["access_token"]).status_code == 401
    assert _people(app_fixture_client, other, other_tokens["access_token"]).status_code == 200
    assert _refresh(app_fixture_client, other, app, other_tokens["refresh_token"]).status_code == 200
    assert [row["client_id"] for row in _listed(app_fixture_client, other)] == [app.client_id]
    assert "authorization.revoked" not in [event["kind"] for event in _audit_of(factory, other)]


def test_other_nation_list_is_separate(
    client: TestClient, app_fixture_client: TestClient, factory: Factory
) -> None:
    nation, _, app, _ = _admin_with_tokens(client, factory)
    other = factory.nation()
    other_admin = factory.user(other)
    assert sign_in(app_fixture_client, other.prefix, other_admin.email).status_code == 303

    assert _listed(app_fixture_client, other) == []
    assert [row["client_id"] for row in _listed(client, nation)] == [app.client_id]


def test_revoke_on_other_nation_changes_nothing(
    client: TestClient, app_fixture_client: TestClient, factory: Factory
) -> None:
    nation, _, app, tokens = _admin_with_tokens(client, factory)
    other = factory.nation()
    other_admin = factory.user(other)
    assert sign_in(app_fixture_client, other.prefix, other_admin.email).status_code == 303

    response = _revoke(app_fixture_client, other, app.id)

    assert response.status_code in {303, 404}
    assert _people(client, nation, tokens["access_token"]).status_code == 200
    assert _refresh(client, nation, app, tokens["refresh_token"]).status_code == 200


def test_staffer_cannot_list(client: TestClient, factory: Factory) -> None:
    nation, _, app, _ = _admin_with_tokens(client, factory)
    staffer = factory.user(nation, level="staffer")
    assert sign_in(client, nation.prefix, staffer.email).status_code == 303

    response = client.get(nation.prefix + AUTHORIZED_APPS)

    assert response.status_code == 403
    assert 'data-testid="error-message"' in response.text
    assert app.client_id not in response.text


def test_staffer_cannot_revoke(client: TestClient, factory: Factory) -> None:
    nation, _, app, tokens = _admin_with_tokens(client, factory)
    staffer = factory.user(nation, level="staffer")
    assert sign_in(client, nation.prefix, staffer.email).status_code == 303

    response = _revoke(client, nation, app.id)

    assert response.status_code == 403
    assert _people(client, nation, tokens["access_token"]).status_code == 200
    assert "authorization.revoked" not in [event["kind"] for event in _audit_of(factory, nation)]


def test_other_nation_admin_gets_403(
    client: TestClient, app_fixture_client: TestClient, factory: Factory
) -> None:
    nation, _, app, tokens = _admin_with_tokens(client, factory)
    outsider_nation = factory.nation()
    outsider = factory.user(outsider_nation)
    assert sign_in(app_fixture_client, outsider_nation.prefix, outsider.email).status_code == 303

    page = app_fixture_client.get(nation.prefix + AUTHORIZED_APPS)
    revoke = app_fixture_client.post(
        f"{nation.prefix}{AUTHORIZED_APPS}/{app.id}/revoke",
        data={"csrf_token": _csrf(app_fixture_client, outsider_nation)},
    )

    assert page.status_code == 403
    assert revoke.status_code == 403
    assert _people(client, nation, tokens["access_token"]).status_code == 200
