"""Settings > Audit log: the events the panel and the OAuth endpoints write, and the page that lists them."""

from __future__ import annotations

import re
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session
from starlette.testclient import TestClient

from tests.factory import CALLBACK, AppInfo, Factory, NationInfo, UserInfo
from tests.flows import authorize, consent_page, decide, exchange_params, hidden_field, sign_in

AUDIT = "/admin/settings/audit"
API_TOKEN = "/admin/settings/developer/api_token"
EVENT = re.compile(r'<tr data-testid="audit-event" data-kind="([^"]*)">')


def _kinds_on_page(client: TestClient, nation: NationInfo, **params: str) -> list[str]:
    response = client.get(nation.prefix + AUDIT, params=params)
    assert response.status_code == 200, response.text
    return EVENT.findall(response.text)


def _audit_of(factory: Factory, nation: NationInfo) -> list[dict[str, Any]]:
    """Return the nation's audit events, oldest first."""

    def read(session: Session) -> list[dict[str, Any]]:
        events = sa.Table("audit_events", sa.MetaData(), autoload_with=session.connection())
        query = sa.select(events).where(events.c.nation_id == nation.id).order_by(events.c.id)
        return [dict(row._mapping) for row in session.execute(query)]

    return factory.database.transaction(read)


def _kinds(factory: Factory, nation: NationInfo) -> list[str]:
    return [event["kind"] for event in _audit_of(factory, nation)]


def _csrf(client: TestClient, nation: NationInfo) -> str:
    return hidden_field(client.get(f"{nation.prefix}/admin").text, "csrf_token")


def _params(app: AppInfo) -> dict[str, str]:
    return {"response_type": "code", "client_id": app.client_id, "redirect_uri": CALLBACK, "state": "s1"}


def _code(client: TestClient, nation: NationInfo, user: UserInfo, app: AppInfo) -> str:
    return authorize(client, nation.prefix, user.email, _params(app))["code"]


def _exchange(client: TestClient, nation: NationInfo, app: AppInfo, code: str) -> Any:
    return client.post(f"{nation.prefix}/oauth/token", data=exchange_params(app, code))


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


def _admin(client: TestClient, factory: Factory) -> tuple[NationInfo, UserInfo]:
    nation = factory.nation()
    admin = factory.user(nation)
    assert sign_in(client, nation.prefix, admin.email).status_code == 303
    return nation, admin


def _every_group(client: TestClient, factory: Factory) -> tuple[NationInfo, UserInfo, AppInfo]:
    """Write events of each group (app, authorization, token and test token) on a new nation."""
    nation = factory.nation()
    admin = factory.user(nation)
    app = factory.app(nation)
    factory.test_token(nation, admin)
    code = _code(client, nation, admin, app)
    assert _exchange(client, nation, app, code).status_code == 200
    return nation, admin, app


# The page


def test_page_lists_newest_first(client: TestClient, factory: Factory) -> None:
    nation, admin = _admin(client, factory)
    factory.app(nation)
    factory.test_token(nation, admin)
    factory.app(nation)

    kinds = _kinds_on_page(client, nation)

    assert kinds == ["app.registered", "test_token.created", "app.registered"]


def test_page_matches_database_order(client: TestClient, factory: Factory) -> None:
    nation, _, _ = _every_group(client, factory)

    kinds = _kinds_on_page(client, nation)

    assert kinds == list(reversed(_kinds(factory, nation)))
    assert kinds == ["token.issued", "authorization.granted", "test_token.created", "app.registered"]


def test_page_without_events(client: TestClient, factory: Factory) -> None:
    nation, _ = _admin(client, factory)

    assert _kinds_on_page(client, nation) == []


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        ("app", ["app.registered"]),
        ("authorization", ["authorization.granted"]),
        ("token", ["token.issued"]),
        ("test_token", ["test_token.created"]),
    ],
)
def test_filter_keeps_one_group(client: TestClient, factory: Factory, kind: str, expected: list[str]) -> None:
    nation, _, _ = _every_group(client, factory)

    kinds = _kinds_on_page(client, nation, kind=kind)

    assert kinds == expected


def test_filter_marks_selected_option(client: TestClient, factory: Factory) -> None:
    nation, _ = _admin(client, factory)

    response = client.get(nation.prefix + AUDIT, params={"kind": "test_token"})

    assert response.status_code == 200
    assert '<option value="test_token" selected>' in response.text
    assert '<option value="token" selected>' not in response.text


@pytest.mark.parametrize("kind", ["secret", "tok", "app.", "token.issued", "%", "_", "", "APP"])
def test_unknown_filter_shows_all(client: TestClient, factory: Factory, kind: str) -> None:
    nation, _, _ = _every_group(client, factory)

    kinds = _kinds_on_page(client, nation, kind=kind)

    assert kinds == ["token.issued", "authorization.granted", "test_token.created", "app.registered"]


def test_page_shows_actor_and_app(client: TestClient, factory: Factory) -> None:
    nation, admin = _admin(client, factory)
    app = factory.app(nation)
    form = client.get(f"{nation.prefix}/admin/settings/developer/apps/{app.id}")
    edited = client.post(
        f"{nation.prefix}/admin/settings/developer/apps/{app.id}",
        data={
            "csrf_token": hidden_field(form.text, "csrf_token"),
            "name": "Renamed",
            "redirect_uris": CALLBACK,
        },
    )
    assert edited.status_code == 200

    response = client.get(nation.prefix + AUDIT)

    assert response.status_code == 200
    row = re.search(r'data-kind="app\.updated">(.*?)</tr>', response.text, re.DOTALL)
    assert row is not None
    cells = re.findall(r"<td>(.*?)</td>", row.group(1), re.DOTALL)
    assert cells[1] == "<code>app.updated</code>"
    assert cells[2] == admin.email
    assert cells[3] == "Renamed"


def test_page_escapes_app_name(client: TestClient, factory: Factory) -> None:
    nation, _ = _admin(client, factory)
    form = client.get(f"{nation.prefix}/admin/settings/developer/apps/new")
    registered = client.post(
        f"{nation.prefix}/admin/settings/developer/apps/new",
        data={
            "csrf_token": hidden_field(form.text, "csrf_token"),
            "name": "<script>alert(1)</script>",
            "redirect_uris": CALLBACK,
        },
    )
    assert registered.status_code == 200

    response = client.get(nation.prefix + AUDIT)

    assert response.status_code == 200
    assert EVENT.findall(response.text) == ["app.registered"]
    assert "<script>" not in response.text
    assert "name=&lt;script&gt;alert(1)&lt;/script&gt;" in response.text


def test_staffer_gets_403(client: TestClient, factory: Factory) -> None:
    nation = factory.nation()
    factory.app(nation)
    staffer = factory.user(nation, level="staffer")
    assert sign_in(client, nation.prefix, staffer.email).status_code == 303

    response = client.get(nation.prefix + AUDIT)

    assert response.status_code == 403
    assert 'data-testid="error-message"' in response.text
    assert EVENT.findall(response.text) == []


def test_other_nation_admin_gets_403(client: TestClient, factory: Factory) -> None:
    _admin(client, factory)
    other = factory.nation()
    factory.app(other)

    response = client.get(other.prefix + AUDIT)

    assert response.status_code == 403
    assert EVENT.findall(response.text) == []


def test_other_nation_events_never_show(client: TestClient, factory: Factory) -> None:
    other, _, other_app = _every_group(client, factory)
    nation, admin = _admin(client, factory)
    factory.test_token(nation, admin)

    response = client.get(nation.prefix + AUDIT)

    assert response.status_code == 200
    assert EVENT.findall(response.text) == ["test_token.created"]
    assert other_app.client_id not in response.text
    for kind in ("app", "authorization", "token"):
        assert _kinds_on_page(client, nation, kind=kind) == [], kind
    assert _kinds_on_page(client, nation, kind="test_token") == ["test_token.created"]
    assert len(_audit_of(factory, other)) == 4


def test_foreign_app_events_go_to_granting_nation(
    client: TestClient, app_fixture_client: TestClient, factory: Factory
) -> None:
    owner, _ = _admin(client, factory)
    app = factory.app(owner)
    other = factory.nation()
    other_admin = factory.user(other)
    code = _code(app_fixture_client, other, other_admin, app)
    assert _exchange(app_fixture_client, other, app, code).status_code == 200

    assert _kinds_on_page(client, owner) == ["app.registered"]
    assert _kinds_on_page(app_fixture_client, other) == ["token.issued", "authorization.granted"]


# Events of the authorization flow


def test_approval_writes_granted(client: TestClient, factory: Factory) -> None:
    nation = factory.nation()
    admin = factory.user(nation)
    app = factory.app(nation)

    _code(client, nation, admin, app)

    [_, granted] = _audit_of(factory, nation)
    assert granted["kind"] == "authorization.granted"
    assert granted["actor_user_id"] == admin.id
    assert granted["app_id"] == app.id


def test_denial_writes_denied(client: TestClient, factory: Factory) -> None:
    nation = factory.nation()
    admin = factory.user(nation)
    app = factory.app(nation)
    assert sign_in(client, nation.prefix, admin.email).status_code == 303
    page = consent_page(client, nation.prefix, _params(app))
    assert page.status_code == 200

    response = decide(client, nation.prefix, page.text, "deny")

    assert response.status_code in {302, 303}
    assert _kinds(factory, nation) == ["app.registered", "authorization.denied"]
    denied = _audit_of(factory, nation)[-1]
    assert denied["actor_user_id"] == admin.id
    assert denied["app_id"] == app.id


def test_consent_page_writes_nothing(client: TestClient, factory: Factory) -> None:
    nation = factory.nation()
    admin = factory.user(nation)
    app = factory.app(nation)
    assert sign_in(client, nation.prefix, admin.email).status_code == 303

    assert consent_page(client, nation.prefix, _params(app)).status_code == 200

    assert _kinds(factory, nation) == ["app.registered"]


def test_code_exchange_writes_issued(client: TestClient, factory: Factory) -> None:
    nation = factory.nation()
    admin = factory.user(nation)
    app = factory.app(nation)

    tokens = _exchange(client, nation, app, _code(client, nation, admin, app)).json()

    events = _audit_of(factory, nation)
    assert [event["kind"] for event in events] == ["app.registered", "authorization.granted", "token.issued"]
    issued = events[-1]
    assert issued["actor_user_id"] == admin.id
    assert issued["app_id"] == app.id
    assert issued["detail"]["legacy"] is False
    assert tokens["access_token"] not in repr(issued)
    assert tokens["refresh_token"] not in repr(issued)


def test_failed_exchange_writes_nothing(client: TestClient, factory: Factory) -> None:
    nation = factory.nation()
    admin = factory.user(nation)
    app = factory.app(nation)
    code = _code(client, nation, admin, app)

    response = client.post(
        f"{nation.prefix}/oauth/token", data=exchange_params(app, code, client_secret="0" * 64)
    )

    assert response.status_code == 401
    assert _kinds(factory, nation) == ["app.registered", "authorization.granted"]


def test_refresh_writes_refreshed(client: TestClient, factory: Factory) -> None:
    nation = factory.nation()
    admin = factory.user(nation)
    app = factory.app(nation)
    tokens = _exchange(client, nation, app, _code(client, nation, admin, app)).json()

    refreshed = _refresh(client, nation, app, tokens["refresh_token"])

    assert refreshed.status_code == 200
    events = _audit_of(factory, nation)
    assert [event["kind"] for event in events] == [
        "app.registered",
        "authorization.granted",
        "token.issued",
        "token.refreshed",
    ]
    assert events[-1]["actor_user_id"] == admin.id
    assert events[-1]["app_id"] == app.id
    assert events[-1]["detail"]["authorization_id"] == events[-2]["detail"]["authorization_id"]
    for value in events[-1].values():
        assert tokens["refresh_token"] not in repr(value)
        assert refreshed.json()["refresh_token"] not in repr(value)


def test_reused_code_writes_reuse_detected(client: TestClient, factory: Factory) -> None:
    nation = factory.nation()
    admin = factory.user(nation)
    app = factory.app(nation)
    code = _code(client, nation, admin, app)
    first = _exchange(client, nation, app, code)
    assert first.status_code == 200

    second = _exchange(client, nation, app, code)

    assert second.status_code == 400
    assert second.json()["error"] == "invalid_grant"
    events = _audit_of(factory, nation)
    assert [event["kind"] for event in events] == [
        "app.registered",
        "authorization.granted",
        "token.issued",
        "token.reuse_detected",
    ]
    reuse = events[-1]
    assert reuse["app_id"] == app.id
    assert reuse["detail"] == {
        "authorization_id": events[-2]["detail"]["authorization_id"],
        "credential": "authorization_code",
    }
    assert code not in repr(reuse)
    assert _people(client, nation, first.json()["access_token"]).status_code == 401


def test_reused_refresh_writes_reuse_detected(client: TestClient, factory: Factory) -> None:
    nation = factory.nation()
    admin = factory.user(nation)
    app = factory.app(nation)
    tokens = _exchange(client, nation, app, _code(client, nation, admin, app)).json()
    assert _refresh(client, nation, app, tokens["refresh_token"]).status_code == 200

    replay = _refresh(client, nation, app, tokens["refresh_token"])

    assert replay.status_code == 400
    assert replay.json()["error"] == "invalid_grant"
    reuse = _audit_of(factory, nation)[-1]
    assert reuse["kind"] == "token.reuse_detected"
    assert reuse["app_id"] == app.id
    assert reuse["detail"]["credential"] == "refresh_token"
    assert tokens["refresh_token"] not in repr(reuse)


def test_token_filter_keeps_flow_events(client: TestClient, factory: Factory) -> None:
    nation = factory.nation()
    admin = factory.user(nation)
    app = factory.app(nation)
    code = _code(client, nation, admin, app)
    tokens = _exchange(client, nation, app, code).json()
    assert _refresh(client, nation, app, tokens["refresh_token"]).status_code == 200
    assert _exchange(client, nation, app, code).status_code == 400

    kinds = _kinds_on_page(client, nation, kind="token")

    assert kinds == ["token.reuse_detected", "token.refreshed", "token.issued"]


# API tokens


def _create_api_token(client: TestClient, nation: NationInfo) -> tuple[int, str]:
    """Create an API token on the panel and return its row id and its value."""
    created = client.post(nation.prefix + API_TOKEN, data={"csrf_token": _csrf(client, nation)})
    assert created.status_code == 200
    value = re.search(r'data-testid="api-token">([^<]*)<', created.text)
    assert value is not None
    listing = client.get(f"{nation.prefix}/admin/settings/developer")
    token_id = re.search(rf'action="{re.escape(nation.prefix + API_TOKEN)}/(\d+)/revoke"', listing.text)
    assert token_id is not None
    return int(token_id.group(1)), value.group(1)


def test_api_token_create_is_audited(client: TestClient, factory: Factory) -> None:
    nation, admin = _admin(client, factory)

    token_id, value = _create_api_token(client, nation)

    [event] = _audit_of(factory, nation)
    assert event["kind"] == "test_token.created"
    assert event["actor_user_id"] == admin.id
    assert event["app_id"] is None
    assert event["detail"] == {"test_token_id": token_id}
    assert value not in repr(event)


def test_api_token_revoke_is_audited(client: TestClient, factory: Factory) -> None:
    nation, admin = _admin(client, factory)
    token_id, value = _create_api_token(client, nation)
    assert _people(client, nation, value).status_code == 200

    response = client.post(
        f"{nation.prefix}{API_TOKEN}/{token_id}/revoke", data={"csrf_token": _csrf(client, nation)}
    )

    assert response.status_code == 303
    assert response.headers["location"] == f"{nation.prefix}/admin/settings/developer"
    events = _audit_of(factory, nation)
    assert [event["kind"] for event in events] == ["test_token.created", "test_token.revoked"]
    assert events[-1]["actor_user_id"] == admin.id
    assert events[-1]["detail"] == {"test_token_id": token_id}
    people = _people(client, nation, value)
    assert people.status_code == 401
    assert people.json()["code"] == "unauthorized"


def test_api_token_revoke_twice_audits_once(client: TestClient, factory: Factory) -> None:
    nation, _ = _admin(client, factory)
    token_id, _ = _create_api_token(client, nation)
    path = f"{nation.prefix}{API_TOKEN}/{token_id}/revoke"

    first = client.post(path, data={"csrf_token": _csrf(client, nation)})
    second = client.post(path, data={"csrf_token": _csrf(client, nation)})

    assert first.status_code == 303
    assert second.status_code == 303
    assert _kinds(factory, nation) == ["test_token.created", "test_token.revoked"]


def test_api_token_revoke_needs_csrf(client: TestClient, factory: Factory) -> None:
    nation, _ = _admin(client, factory)
    token_id, value = _create_api_token(client, nation)

    response = client.post(f"{nation.prefix}{API_TOKEN}/{token_id}/revoke", data={})

    assert response.status_code == 403
    assert _people(client, nation, value).status_code == 200
    assert _kinds(factory, nation) == ["test_token.created"]


def test_other_nation_api_token_is_404(
    client: TestClient, app_fixture_client: TestClient, factory: Factory
) -> None:
    other, _ = _admin(app_fixture_client, factory)
    token_id, value = _create_api_token(app_fixture_client, other)
    nation, _ = _admin(client, factory)

    response = client.post(
        f"{nation.prefix}{API_TOKEN}/{token_id}/revoke", data={"csrf_token": _csrf(client, nation)}
    )

    assert response.status_code == 404
    assert 'data-testid="error-message"' in response.text
    assert _people(app_fixture_client, other, value).status_code == 200
    assert _kinds(factory, other) == ["test_token.created"]
    assert _kinds(factory, nation) == []


def test_api_token_filter_shows_both(client: TestClient, factory: Factory) -> None:
    nation, _ = _admin(client, factory)
    factory.app(nation)
    token_id, _ = _create_api_token(client, nation)
    revoke = client.post(
        f"{nation.prefix}{API_TOKEN}/{token_id}/revoke", data={"csrf_token": _csrf(client, nation)}
    )
    assert revoke.status_code == 303

    kinds = _kinds_on_page(client, nation, kind="test_token")

    assert kinds == ["test_token.revoked", "test_token.created"]
