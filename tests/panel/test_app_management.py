"""Settings > Developer > an app: editing it, a new secret, deleting it, and the audit events."""

from __future__ import annotations

import hashlib
import re
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session
from starlette.testclient import TestClient

from tests.factory import CALLBACK, AppInfo, Factory, NationInfo, UserInfo
from tests.flows import authorize, exchange_params, hidden_field, sign_in

HEX64 = re.compile(r"^[0-9a-f]{64}$")
DEVELOPER = "/admin/settings/developer"
NEW_APP = f"{DEVELOPER}/apps/new"
OPTIONS = ("legacy_tokens", "allow_plain_pkce", "strict_profile")


def _test_id(html: str, name: str) -> str | None:
    """Return the text of the element with ``data-testid=name``, or None when the page has none."""
    match = re.search(rf'data-testid="{re.escape(name)}">([^<]*)<', html)
    return match.group(1) if match else None


def _signed_in(client: TestClient, factory: Factory) -> tuple[NationInfo, UserInfo]:
    nation = factory.nation()
    user = factory.user(nation)
    assert sign_in(client, nation.prefix, user.email).status_code == 303
    return nation, user


def _csrf(client: TestClient, nation: NationInfo) -> str:
    """Return the session's CSRF token, read from the sign-out form on the dashboard."""
    return hidden_field(client.get(f"{nation.prefix}/admin").text, "csrf_token")


def _app_path(nation: NationInfo, app_id: int, action: str = "") -> str:
    return f"{nation.prefix}{DEVELOPER}/apps/{app_id}{action}"


def _register(client: TestClient, nation: NationInfo, *, public: bool = False) -> Any:
    form = client.get(nation.prefix + NEW_APP)
    assert form.status_code == 200
    data = {
        "csrf_token": hidden_field(form.text, "csrf_token"),
        "name": "Field App",
        "redirect_uris": CALLBACK,
    }
    if public:
        data["public"] = "on"
    return client.post(nation.prefix + NEW_APP, data=data)


def _edit(client: TestClient, nation: NationInfo, app_id: int, fields: dict[str, str]) -> Any:
    return client.post(_app_path(nation, app_id), data={"csrf_token": _csrf(client, nation), **fields})


def _apps_of(factory: Factory, nation: NationInfo) -> list[dict[str, Any]]:
    """Return the nation's rows of the apps table, each with its callback URLs under "uris"."""

    def read(session: Session) -> list[dict[str, Any]]:
        metadata = sa.MetaData()
        apps = sa.Table("apps", metadata, autoload_with=session.connection())
        uris = sa.Table("redirect_uris", metadata, autoload_with=session.connection())
        query = sa.select(apps).where(apps.c.nation_id == nation.id).order_by(apps.c.id)
        rows = [dict(row._mapping) for row in session.execute(query)]
        for row in rows:
            uri_query = sa.select(uris.c.uri).where(uris.c.app_id == row["id"]).order_by(uris.c.id)
            row["uris"] = list(session.scalars(uri_query))
        return rows

    return factory.database.transaction(read)


def _rows(factory: Factory, table: str, **where: Any) -> list[dict[str, Any]]:
    """Return the rows of ``table`` whose columns equal ``where``, oldest first."""

    def read(session: Session) -> list[dict[str, Any]]:
        reflected = sa.Table(table, sa.MetaData(), autoload_with=session.connection())
        query = sa.select(reflected).order_by(reflected.c.id)
        for column, value in where.items():
            query = query.where(reflected.c[column] == value)
        return [dict(row._mapping) for row in session.execute(query)]

    return factory.database.transaction(read)


def _audit_of(factory: Factory, nation: NationInfo) -> list[dict[str, Any]]:
    return _rows(factory, "audit_events", nation_id=nation.id)


def _code(client: TestClient, nation: NationInfo, user: UserInfo, app: AppInfo) -> str:
    params = {"response_type": "code", "client_id": app.client_id, "redirect_uri": CALLBACK, "state": "s1"}
    return authorize(client, nation.prefix, user.email, params)["code"]


def _exchange(client: TestClient, nation: NationInfo, app: AppInfo, code: str, secret: str) -> Any:
    return client.post(f"{nation.prefix}/oauth/token", data=exchange_params(app, code, client_secret=secret))


def _people(client: TestClient, nation: NationInfo, token: str) -> Any:
    return client.get(f"{nation.prefix}/api/v1/people", headers={"Authorization": f"Bearer {token}"})


# Editing


def test_edit_saves_name_and_callbacks(client: TestClient, factory: Factory) -> None:
    nation, _ = _signed_in(client, factory)
    app = factory.app(nation)
    callbacks = ["https://a.example/cb", "https://b.example/cb?x=1", "http://127.0.0.1:9000/cb"]

    response = _edit(client, nation, app.id, {"name": "Renamed App", "redirect_uris": "\r\n".join(callbacks)})

    assert response.status_code == 200
    [row] = _apps_of(factory, nation)
    assert row["name"] == "Renamed App"
    assert row["uris"] == callbacks
    assert row["client_id"] == app.client_id
    assert row["client_secret_digest"] == hashlib.sha256(app.client_secret.encode()).digest()


def test_edit_sets_every_option(client: TestClient, factory: Factory) -> None:
    nation, _ = _signed_in(client, factory)
    app = factory.app(nation)

    response = _edit(
        client,
        nation,
        app.id,
        {"name": "Test App", "redirect_uris": CALLBACK, **dict.fromkeys(OPTIONS, "on")},
    )

    assert response.status_code == 200
    [row] = _apps_of(factory, nation)
    for option in OPTIONS:
        assert row[option] is True, option
        assert re.search(rf'name="{option}" checked', response.text), option


@pytest.mark.parametrize("option", OPTIONS)
def test_edit_sets_one_option(client: TestClient, factory: Factory, option: str) -> None:
    nation, _ = _signed_in(client, factory)
    app = factory.app(nation)

    response = _edit(client, nation, app.id, {"name": "Test App", "redirect_uris": CALLBACK, option: "on"})

    assert response.status_code == 200
    [row] = _apps_of(factory, nation)
    assert row[option] is True
    for other in OPTIONS:
        if other != option:
            assert row[other] is False, other


def test_edit_clears_unchecked_options(client: TestClient, factory: Factory) -> None:
    nation, _ = _signed_in(client, factory)
    app = factory.app(nation)
    checked = {"name": "Test App", "redirect_uris": CALLBACK, **dict.fromkeys(OPTIONS, "on")}
    assert _edit(client, nation, app.id, checked).status_code == 200

    response = _edit(client, nation, app.id, {"name": "Test App", "redirect_uris": CALLBACK})

    assert response.status_code == 200
    [row] = _apps_of(factory, nation)
    for option in OPTIONS:
        assert row[option] is False, option


def test_edit_shows_saved_callbacks(client: TestClient, factory: Factory) -> None:
    nation, _ = _signed_in(client, factory)
    app = factory.app(nation)
    callbacks = ["https://a.example/cb", "https://b.example/cb"]
    assert (
        _edit(client, nation, app.id, {"name": "X", "redirect_uris": "\n".join(callbacks)}).status_code == 200
    )

    page = client.get(_app_path(nation, app.id))

    assert page.status_code == 200
    for uri in callbacks:
        assert f"<code>{uri}</code>" in page.text
    assert f"<code>{CALLBACK}</code>" not in page.text


@pytest.mark.parametrize(
    "redirect_uris",
    [
        "http://example.com/cb",
        "https://app.example/cb#frag",
        "javascript:alert(1)",
        "",
        "https://a.example/cb\n/relative",
        "\n".join(f"https://a.example/cb{i}" for i in range(11)),
    ],
)
def test_edit_bad_callback_is_400(client: TestClient, factory: Factory, redirect_uris: str) -> None:
    nation, _ = _signed_in(client, factory)
    app = factory.app(nation)
    before = _apps_of(factory, nation)

    response = _edit(
        client,
        nation,
        app.id,
        {"name": "Renamed App", "redirect_uris": redirect_uris, **dict.fromkeys(OPTIONS, "on")},
    )

    assert response.status_code == 400
    assert _test_id(response.text, "client-secret") is None
    assert len(hidden_field(response.text, "csrf_token")) >= 32
    assert _apps_of(factory, nation) == before
    assert [event["kind"] for event in _audit_of(factory, nation)] == ["app.registered"]


def test_edit_blank_name_is_400(client: TestClient, factory: Factory) -> None:
    nation, _ = _signed_in(client, factory)
    app = factory.app(nation)
    before = _apps_of(factory, nation)

    response = _edit(client, nation, app.id, {"name": "  ", "redirect_uris": "https://new.example/cb"})

    assert response.status_code == 400
    assert _apps_of(factory, nation) == before


# Regenerating the secret


def test_regenerate_shows_new_secret(client: TestClient, factory: Factory) -> None:
    nation, _ = _signed_in(client, factory)
    app = factory.app(nation)

    response = client.post(_app_path(nation, app.id, "/secret"), data={"csrf_token": _csrf(client, nation)})

    assert response.status_code == 200
    assert "no-store" in response.headers["cache-control"]
    secret = _test_id(response.text, "client-secret")
    assert secret is not None
    assert HEX64.match(secret)
    assert secret != app.client_secret
    assert response.text.count(secret) == 1
    assert _test_id(response.text, "client-id") == app.client_id
    [row] = _apps_of(factory, nation)
    assert row["client_secret_digest"] == hashlib.sha256(secret.encode()).digest()


def test_regenerated_secret_shown_once(client: TestClient, factory: Factory) -> None:
    nation, _ = _signed_in(client, factory)
    app = factory.app(nation)
    created = client.post(_app_path(nation, app.id, "/secret"), data={"csrf_token": _csrf(client, nation)})
    secret = _test_id(created.text, "client-secret")
    assert secret is not None

    show_page = client.get(_app_path(nation, app.id))
    list_page = client.get(nation.prefix + DEVELOPER)

    for page in (show_page, list_page):
        assert page.status_code == 200
        assert _test_id(page.text, "client-secret") is None
        assert secret not in page.text


def test_old_secret_stops_working(client: TestClient, factory: Factory) -> None:
    nation, user = _signed_in(client, factory)
    app = factory.app(nation)
    code = _code(client, nation, user, app)
    regenerated = client.post(
        _app_path(nation, app.id, "/secret"), data={"csrf_token": _csrf(client, nation)}
    )
    new_secret = _test_id(regenerated.text, "client-secret")
    assert new_secret is not None

    old = _exchange(client, nation, app, code, app.client_secret)
    new = _exchange(client, nation, app, code, new_secret)

    assert old.status_code == 401
    assert old.json()["error"] == "invalid_client"
    assert new.status_code == 200, new.text
    assert HEX64.match(new.json()["access_token"])


def test_old_secret_cannot_refresh(client: TestClient, factory: Factory) -> None:
    nation, user = _signed_in(client, factory)
    app = factory.app(nation)
    tokens = _exchange(client, nation, app, _code(client, nation, user, app), app.client_secret).json()
    regenerated = client.post(
        _app_path(nation, app.id, "/secret"), data={"csrf_token": _csrf(client, nation)}
    )
    new_secret = _test_id(regenerated.text, "client-secret")
    assert new_secret is not None
    refresh = {
        "grant_type": "refresh_token",
        "refresh_token": tokens["refresh_token"],
        "client_id": app.client_id,
    }

    old = client.post(f"{nation.prefix}/oauth/token", data={**refresh, "client_secret": app.client_secret})
    new = client.post(f"{nation.prefix}/oauth/token", data={**refresh, "client_secret": new_secret})

    assert old.status_code == 401
    assert old.json()["error"] == "invalid_client"
    assert new.status_code == 200, new.text


def test_regenerate_without_csrf_is_403(client: TestClient, factory: Factory) -> None:
    nation, _ = _signed_in(client, factory)
    app = factory.app(nation)
    before = _apps_of(factory, nation)

    response = client.post(_app_path(nation, app.id, "/secret"), data={})

    assert response.status_code == 403
    assert _test_id(response.text, "client-secret") is None
    assert _apps_of(factory, nation) == before


# Public apps


def test_public_app_has_no_secret(client: TestClient, factory: Factory) -> None:
    nation, _ = _signed_in(client, factory)

    response = _register(client, nation, public=True)

    assert response.status_code == 200
    assert HEX64.match(_test_id(response.text, "client-id") or "")
    assert _test_id(response.text, "client-secret") is None
    [row] = _apps_of(factory, nation)
    assert row["client_secret_digest"] is None
    assert row["client_id"] == _test_id(response.text, "client-id")


def test_public_app_shows_public(client: TestClient, factory: Factory) -> None:
    nation, _ = _signed_in(client, factory)
    assert _register(client, nation, public=True).status_code == 200
    [row] = _apps_of(factory, nation)

    show_page = client.get(_app_path(nation, row["id"]))
    list_page = client.get(nation.prefix + DEVELOPER)

    assert show_page.status_code == 200
    assert "<dd>Public" in show_page.text
    assert f'action="{_app_path(nation, row["id"], "/secret")}"' not in show_page.text
    assert list_page.status_code == 200
    assert "<td>Public</td>" in list_page.text


def test_confidential_app_shows_regenerate(client: TestClient, factory: Factory) -> None:
    nation, _ = _signed_in(client, factory)
    app = factory.app(nation)

    page = client.get(_app_path(nation, app.id))

    assert page.status_code == 200
    assert f'action="{_app_path(nation, app.id, "/secret")}"' in page.text
    assert "<dd>Public" not in page.text


def test_public_app_regenerate_is_400(client: TestClient, factory: Factory) -> None:
    nation, _ = _signed_in(client, factory)
    assert _register(client, nation, public=True).status_code == 200
    [row] = _apps_of(factory, nation)

    response = client.post(
        _app_path(nation, row["id"], "/secret"), data={"csrf_token": _csrf(client, nation)}
    )

    assert response.status_code == 400
    assert 'data-testid="error-message"' in response.text
    assert _test_id(response.text, "client-secret") is None
    assert _apps_of(factory, nation) == [row]
    assert [event["kind"] for event in _audit_of(factory, nation)] == ["app.registered"]


def test_public_register_event_says_public(client: TestClient, factory: Factory) -> None:
    nation, user = _signed_in(client, factory)

    assert _register(client, nation, public=True).status_code == 200

    [row] = _apps_of(factory, nation)
    [event] = _audit_of(factory, nation)
    assert event["kind"] == "app.registered"
    assert event["actor_user_id"] == user.id
    assert event["app_id"] == row["id"]
    assert event["detail"] == {"name": "Field App", "client_id": row["client_id"], "public": True}


# Deleting


def test_delete_shows_confirmation_form(client: TestClient, factory: Factory) -> None:
    nation, _ = _signed_in(client, factory)
    app = factory.app(nation)

    response = client.get(_app_path(nation, app.id, "/delete"))

    assert response.status_code == 200
    assert f'<form method="post" action="{_app_path(nation, app.id, "/delete")}"' in response.text
    assert len(hidden_field(response.text, "csrf_token")) >= 32
    assert len(_apps_of(factory, nation)) == 1


def test_delete_removes_app(client: TestClient, factory: Factory) -> None:
    nation, _ = _signed_in(client, factory)
    app = factory.app(nation)
    confirmation = client.get(_app_path(nation, app.id, "/delete"))

    response = client.post(
        _app_path(nation, app.id, "/delete"),
        data={"csrf_token": hidden_field(confirmation.text, "csrf_token")},
    )

    assert response.status_code == 303
    assert response.headers["location"] == nation.prefix + DEVELOPER
    assert _apps_of(factory, nation) == []
    assert _rows(factory, "redirect_uris", app_id=app.id) == []
    assert client.get(_app_path(nation, app.id)).status_code == 404


def test_delete_removes_codes_and_tokens(client: TestClient, factory: Factory) -> None:
    nation, user = _signed_in(client, factory)
    app = factory.app(nation)
    tokens = _exchange(client, nation, app, _code(client, nation, user, app), app.client_secret).json()
    unused_code = _code(client, nation, user, app)

    response = client.post(_app_path(nation, app.id, "/delete"), data={"csrf_token": _csrf(client, nation)})

    assert response.status_code == 303
    for table in ("authorizations", "authorization_codes", "access_tokens", "refresh_tokens"):
        assert _rows(factory, table, app_id=app.id) == [], table
    assert _people(client, nation, tokens["access_token"]).status_code == 401
    exchange = _exchange(client, nation, app, unused_code, app.client_secret)
    assert exchange.status_code == 401
    assert exchange.json()["error"] == "invalid_client"


def test_delete_kills_token_on_other_nation(
    client: TestClient, app_fixture_client: TestClient, factory: Factory
) -> None:
    owner, _ = _signed_in(client, factory)
    app = factory.app(owner)
    other = factory.nation()
    other_admin = factory.user(other)
    code = _code(app_fixture_client, other, other_admin, app)
    tokens = _exchange(app_fixture_client, other, app, code, app.client_secret).json()
    assert _people(app_fixture_client, other, tokens["access_token"]).status_code == 200

    response = client.post(_app_path(owner, app.id, "/delete"), data={"csrf_token": _csrf(client, owner)})

    assert response.status_code == 303
    people = _people(app_fixture_client, other, tokens["access_token"])
    assert people.status_code == 401
    assert people.json()["code"] == "unauthorized"
    refresh = app_fixture_client.post(
        f"{other.prefix}/oauth/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": tokens["refresh_token"],
            "client_id": app.client_id,
            "client_secret": app.client_secret,
        },
    )
    assert refresh.status_code == 401
    assert refresh.json()["error"] == "invalid_client"


def test_cancelled_delete_keeps_app(client: TestClient, factory: Factory) -> None:
    nation, _ = _signed_in(client, factory)
    app = factory.app(nation)
    before = _apps_of(factory, nation)

    confirmation = client.get(_app_path(nation, app.id, "/delete"))

    assert confirmation.status_code == 200
    assert _apps_of(factory, nation) == before
    assert [event["kind"] for event in _audit_of(factory, nation)] == ["app.registered"]


# CSRF, nation scope and permission level


@pytest.mark.parametrize("action", ["", "/secret", "/delete"])
def test_post_without_csrf_is_403(client: TestClient, factory: Factory, action: str) -> None:
    nation, _ = _signed_in(client, factory)
    app = factory.app(nation)
    before = _apps_of(factory, nation)

    response = client.post(
        _app_path(nation, app.id, action), data={"name": "Changed", "redirect_uris": "https://new.example/cb"}
    )

    assert response.status_code == 403
    assert 'data-testid="error-message"' in response.text
    assert _apps_of(factory, nation) == before
    assert [event["kind"] for event in _audit_of(factory, nation)] == ["app.registered"]


@pytest.mark.parametrize("action", ["", "/secret", "/delete"])
def test_post_from_other_origin_is_403(client: TestClient, factory: Factory, action: str) -> None:
    nation, _ = _signed_in(client, factory)
    app = factory.app(nation)
    before = _apps_of(factory, nation)

    response = client.post(
        _app_path(nation, app.id, action),
        data={"csrf_token": _csrf(client, nation), "name": "Changed", "redirect_uris": CALLBACK},
        headers={"Origin": "https://evil.example"},
    )

    assert response.status_code == 403
    assert _apps_of(factory, nation) == before


@pytest.mark.parametrize(("method", "action"), [("GET", ""), ("GET", "/delete")])
def test_other_nation_app_page_is_404(client: TestClient, factory: Factory, method: str, action: str) -> None:
    nation, _ = _signed_in(client, factory)
    other_app = factory.app(factory.nation())

    response = client.request(method, _app_path(nation, other_app.id, action))

    assert response.status_code == 404
    assert 'data-testid="error-message"' in response.text
    assert other_app.client_id not in response.text


@pytest.mark.parametrize("action", ["", "/secret", "/delete"])
def test_other_nation_app_post_is_404(client: TestClient, factory: Factory, action: str) -> None:
    nation, _ = _signed_in(client, factory)
    other = factory.nation()
    other_app = factory.app(other)
    before = _apps_of(factory, other)

    response = client.post(
        _app_path(nation, other_app.id, action),
        data={
            "csrf_token": _csrf(client, nation),
            "name": "Hijacked",
            "redirect_uris": "https://evil.example/cb",
        },
    )

    assert response.status_code == 404
    assert _test_id(response.text, "client-secret") is None
    assert _apps_of(factory, other) == before
    assert [event["kind"] for event in _audit_of(factory, other)] == ["app.registered"]
    assert _audit_of(factory, nation) == []


@pytest.mark.parametrize(
    ("method", "action"), [("GET", ""), ("GET", "/delete"), ("POST", ""), ("POST", "/secret")]
)
def test_staffer_cannot_manage_app(client: TestClient, factory: Factory, method: str, action: str) -> None:
    nation = factory.nation()
    staffer = factory.user(nation, level="staffer")
    app = factory.app(nation)
    assert sign_in(client, nation.prefix, staffer.email).status_code == 303
    before = _apps_of(factory, nation)
    data = {"csrf_token": _csrf(client, nation), "name": "Staff", "redirect_uris": CALLBACK}

    response = client.request(
        method, _app_path(nation, app.id, action), data=data if method == "POST" else None
    )

    assert response.status_code == 403
    assert _apps_of(factory, nation) == before


def test_staffer_cannot_delete_app(client: TestClient, factory: Factory) -> None:
    nation = factory.nation()
    staffer = factory.user(nation, level="staffer")
    app = factory.app(nation)
    assert sign_in(client, nation.prefix, staffer.email).status_code == 303

    response = client.post(_app_path(nation, app.id, "/delete"), data={"csrf_token": _csrf(client, nation)})

    assert response.status_code == 403
    assert len(_apps_of(factory, nation)) == 1


# Audit events


def test_every_action_is_audited(client: TestClient, factory: Factory) -> None:
    nation, user = _signed_in(client, factory)
    created = _register(client, nation)
    first_secret = _test_id(created.text, "client-secret")
    [row] = _apps_of(factory, nation)
    app_id = row["id"]
    assert _edit(client, nation, app_id, {"name": "Renamed", "redirect_uris": CALLBACK}).status_code == 200
    regenerated = client.post(
        _app_path(nation, app_id, "/secret"), data={"csrf_token": _csrf(client, nation)}
    )
    second_secret = _test_id(regenerated.text, "client-secret")
    deleted = client.post(_app_path(nation, app_id, "/delete"), data={"csrf_token": _csrf(client, nation)})
    assert deleted.status_code == 303

    events = _audit_of(factory, nation)

    assert [event["kind"] for event in events] == [
        "app.registered",
        "app.updated",
        "app.secret_regenerated",
        "app.deleted",
    ]
    for event in events:
        assert event["actor_user_id"] == user.id, event["kind"]
    # audit_events.app_id is ON DELETE SET NULL, so deleting the app empties it in every event.
    for event in events:
        assert event["app_id"] is None, event["kind"]
    assert events[0]["detail"] == {"name": "Field App", "client_id": row["client_id"], "public": False}
    assert events[3]["detail"] == {"name": "Renamed", "client_id": row["client_id"]}
    for secret in (first_secret, second_secret):
        assert secret is not None
        assert secret not in repr(events)


def test_audit_events_name_the_app(client: TestClient, factory: Factory) -> None:
    nation, user = _signed_in(client, factory)
    app = factory.app(nation)
    assert _edit(client, nation, app.id, {"name": "Renamed", "redirect_uris": CALLBACK}).status_code == 200
    regenerated = client.post(
        _app_path(nation, app.id, "/secret"), data={"csrf_token": _csrf(client, nation)}
    )
    assert regenerated.status_code == 200

    events = _audit_of(factory, nation)

    assert [(event["kind"], event["app_id"]) for event in events] == [
        ("app.registered", app.id),
        ("app.updated", app.id),
        ("app.secret_regenerated", app.id),
    ]
    assert events[1]["actor_user_id"] == user.id
    assert events[2]["actor_user_id"] == user.id


def test_audit_never_contains_secret(client: TestClient, factory: Factory) -> None:
    nation, _ = _signed_in(client, factory)
    created = _register(client, nation)
    [row] = _apps_of(factory, nation)
    regenerated = client.post(
        _app_path(nation, row["id"], "/secret"), data={"csrf_token": _csrf(client, nation)}
    )
    secrets = [_test_id(created.text, "client-secret"), _test_id(regenerated.text, "client-secret")]
    assert (
        client.post(
            _app_path(nation, row["id"], "/delete"), data={"csrf_token": _csrf(client, nation)}
        ).status_code
        == 303
    )

    events = _audit_of(factory, nation)
    audit_page = client.get(f"{nation.prefix}/admin/settings/audit")

    assert len(events) == 3
    assert audit_page.status_code == 200
    for secret in secrets:
        assert secret is not None
        assert secret not in audit_page.text
        for event in events:
            for column, value in event.items():
                assert secret not in repr(value), (event["kind"], column)
                assert hashlib.sha256(secret.encode()).hexdigest() not in repr(value), (event["kind"], column)


# A form sent again, as when a result page is reloaded


def _new_app_form(client: TestClient, nation: NationInfo, redirect_uris: str = CALLBACK) -> dict[str, str]:
    page = client.get(nation.prefix + NEW_APP).text
    return {
        "csrf_token": hidden_field(page, "csrf_token"),
        "form_once": hidden_field(page, "form_once"),
        "name": "Field App",
        "redirect_uris": redirect_uris,
    }


def test_register_sent_twice_creates_one_app(client: TestClient, factory: Factory) -> None:
    nation, _ = _signed_in(client, factory)
    data = _new_app_form(client, nation)

    first = client.post(nation.prefix + NEW_APP, data=data)
    again = client.post(nation.prefix + NEW_APP, data=data)

    assert first.status_code == 200
    assert again.status_code == 409
    assert _test_id(again.text, "client-secret") is None
    assert len(_apps_of(factory, nation)) == 1


def test_register_from_two_forms_creates_two(client: TestClient, factory: Factory) -> None:
    nation, _ = _signed_in(client, factory)
    forms = [_new_app_form(client, nation), _new_app_form(client, nation)]

    responses = [client.post(nation.prefix + NEW_APP, data=data) for data in forms]

    assert [response.status_code for response in responses] == [200, 200]
    assert len(_apps_of(factory, nation)) == 2


def test_rejected_register_can_be_sent_again(client: TestClient, factory: Factory) -> None:
    nation, _ = _signed_in(client, factory)
    data = _new_app_form(client, nation, redirect_uris="not a url")

    rejected = client.post(nation.prefix + NEW_APP, data=data)
    fixed = client.post(nation.prefix + NEW_APP, data={**data, "redirect_uris": CALLBACK})

    assert rejected.status_code == 400
    assert fixed.status_code == 200
    assert len(_apps_of(factory, nation)) == 1


def test_regenerate_sent_twice_keeps_first_secret(client: TestClient, factory: Factory) -> None:
    nation, _ = _signed_in(client, factory)
    app = factory.app(nation)
    page = client.get(_app_path(nation, app.id)).text
    data = {"csrf_token": hidden_field(page, "csrf_token"), "form_once": hidden_field(page, "form_once")}

    first = client.post(_app_path(nation, app.id, "/secret"), data=data)
    again = client.post(_app_path(nation, app.id, "/secret"), data=data)

    assert first.status_code == 200
    assert again.status_code == 409
    secret = _test_id(first.text, "client-secret")
    assert secret is not None
    [row] = _apps_of(factory, nation)
    assert row["client_secret_digest"] == hashlib.sha256(secret.encode()).digest()
