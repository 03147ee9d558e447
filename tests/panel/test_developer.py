"""Settings > Developer: registering apps, API tokens, and who may use them."""

from __future__ import annotations

import hashlib
import re
from typing import Any
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session
from starlette.testclient import TestClient

from tests.factory import Factory, NationInfo, UserInfo
from tests.flows import hidden_field, query_of, sign_in

HEX64 = re.compile(r"^[0-9a-f]{64}$")
DEVELOPER = "/admin/settings/developer"
NEW_APP = f"{DEVELOPER}/apps/new"
API_TOKEN = f"{DEVELOPER}/api_token"


def _test_id(html: str, name: str) -> str | None:
    """Return the text of the element with ``data-testid=name``, or None when the page has none."""
    match = re.search(rf'data-testid="{re.escape(name)}">([^<]*)<', html)
    return match.group(1) if match else None


def _signed_in(
    client: TestClient,
    factory: Factory,
    *,
    plan: str = "enterprise",
    level: str = "admin",
    certified: bool = False,
) -> tuple[NationInfo, UserInfo]:
    nation = factory.nation(plan=plan)
    user = factory.user(nation, level=level, certified=certified)
    assert sign_in(client, nation.prefix, user.email).status_code == 303
    return nation, user


def _csrf(client: TestClient, nation: NationInfo) -> str:
    """Return the session's CSRF token, read from the sign-out form on the dashboard."""
    return hidden_field(client.get(f"{nation.prefix}/admin").text, "csrf_token")


def _register(client: TestClient, nation: NationInfo, name: str, redirect_uris: str) -> Any:
    form = client.get(nation.prefix + NEW_APP)
    assert form.status_code == 200
    return client.post(
        nation.prefix + NEW_APP,
        data={
            "csrf_token": hidden_field(form.text, "csrf_token"),
            "name": name,
            "redirect_uris": redirect_uris,
        },
    )


def _apps_of(factory: Factory, nation: NationInfo) -> list[dict[str, Any]]:
    """Return the nation's rows of the apps table, each with its callback URLs under "uris"."""

    def read(session: Session) -> list[dict[str, Any]]:
        # Reflected, so a column added later is part of every row these tests check.
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


def test_register_app_shows_credentials(client: TestClient, factory: Factory) -> None:
    nation, _ = _signed_in(client, factory)

    response = _register(client, nation, "Field App", "https://app.example/cb")

    assert response.status_code == 200
    client_id = _test_id(response.text, "client-id")
    secret = _test_id(response.text, "client-secret")
    assert client_id is not None
    assert HEX64.match(client_id)
    assert secret is not None
    assert HEX64.match(secret)
    assert secret != client_id
    assert response.text.count(secret) == 1


def test_app_page_hides_secret_later(client: TestClient, factory: Factory) -> None:
    nation, _ = _signed_in(client, factory)
    created = _register(client, nation, "Field App", "https://app.example/cb")
    secret = _test_id(created.text, "client-secret")
    [app] = _apps_of(factory, nation)

    response = client.get(f"{nation.prefix}{DEVELOPER}/apps/{app['id']}")

    assert response.status_code == 200
    assert _test_id(response.text, "client-id") == app["client_id"]
    assert _test_id(response.text, "client-secret") is None
    assert secret is not None
    assert secret not in response.text


def test_developer_page_lists_app(client: TestClient, factory: Factory) -> None:
    nation, _ = _signed_in(client, factory)
    created = _register(client, nation, "Listed App", "https://app.example/cb")
    secret = _test_id(created.text, "client-secret")
    [app] = _apps_of(factory, nation)

    response = client.get(nation.prefix + DEVELOPER)

    assert response.status_code == 200
    assert f'href="{nation.prefix}{DEVELOPER}/apps/{app["id"]}"' in response.text
    assert app["client_id"] in response.text
    assert secret is not None
    assert secret not in response.text


def test_app_row_keeps_only_digest(client: TestClient, factory: Factory) -> None:
    nation, _ = _signed_in(client, factory)
    response = _register(client, nation, "Digest App", "https://app.example/cb")
    client_id = _test_id(response.text, "client-id")
    secret = _test_id(response.text, "client-secret")
    assert secret is not None

    [app] = _apps_of(factory, nation)

    assert app["client_id"] == client_id
    assert app["client_secret_digest"] == hashlib.sha256(secret.encode()).digest()
    assert len(app["client_secret_digest"]) == 32
    for column, value in app.items():
        raw = value if isinstance(value, bytes) else str(value).encode()
        assert secret.encode() not in raw, column
        assert bytes.fromhex(secret) not in raw, column


def test_register_app_stores_every_callback(client: TestClient, factory: Factory) -> None:
    nation, _ = _signed_in(client, factory)
    callbacks = ["https://a.example/cb", "https://b.example/oauth/callback?x=1", "http://127.0.0.1:9000/cb"]

    response = _register(client, nation, "Many Callbacks", "\r\n".join(callbacks))

    assert response.status_code == 200
    [app] = _apps_of(factory, nation)
    assert app["uris"] == callbacks
    assert app["name"] == "Many Callbacks"


def test_register_app_accepts_loopback_http(client: TestClient, factory: Factory) -> None:
    nation, _ = _signed_in(client, factory)

    response = _register(client, nation, "Native App", "http://127.0.0.1:9000/cb")

    assert response.status_code == 200
    assert HEX64.match(_test_id(response.text, "client-secret") or "")
    [app] = _apps_of(factory, nation)
    assert app["uris"] == ["http://127.0.0.1:9000/cb"]


@pytest.mark.parametrize(
    "redirect_uris",
    [
        "http://example.com/cb",
        "https://app.example/cb#frag",
        "javascript:alert(1)",
        "/relative/cb",
        "",
        "\n  \n",
        "https://user:pass@app.example/cb",
        "https://app.example/cb\nhttp://example.com/cb",
    ],
)
def test_register_app_rejects_bad_callback(client: TestClient, factory: Factory, redirect_uris: str) -> None:
    nation, _ = _signed_in(client, factory)

    response = _register(client, nation, "Bad Callback", redirect_uris)

    assert response.status_code == 400
    assert _test_id(response.text, "client-secret") is None
    assert len(hidden_field(response.text, "csrf_token")) >= 32
    assert _apps_of(factory, nation) == []


def test_register_app_drops_repeated_callbacks(client: TestClient, factory: Factory) -> None:
    nation, _ = _signed_in(client, factory)

    response = _register(client, nation, "Repeats", "https://a.example/cb\nhttps://a.example/cb\n")

    assert response.status_code == 200
    [app] = _apps_of(factory, nation)
    assert app["uris"] == ["https://a.example/cb"]


def test_register_app_limits_callbacks(client: TestClient, factory: Factory) -> None:
    nation, _ = _signed_in(client, factory)
    callbacks = "\n".join(f"https://a.example/cb{i}" for i in range(11))

    response = _register(client, nation, "Too Many", callbacks)

    assert response.status_code == 400
    assert _apps_of(factory, nation) == []


def test_register_app_needs_a_name(client: TestClient, factory: Factory) -> None:
    nation, _ = _signed_in(client, factory)

    response = _register(client, nation, "   ", "https://app.example/cb")

    assert response.status_code == 400
    assert _apps_of(factory, nation) == []


def test_register_app_without_csrf_is_403(client: TestClient, factory: Factory) -> None:
    nation, _ = _signed_in(client, factory)

    response = client.post(
        nation.prefix + NEW_APP, data={"name": "No CSRF", "redirect_uris": "https://app.example/cb"}
    )

    assert response.status_code == 403
    assert _apps_of(factory, nation) == []


def test_register_app_from_other_origin_is_403(client: TestClient, factory: Factory) -> None:
    nation, _ = _signed_in(client, factory)

    response = client.post(
        nation.prefix + NEW_APP,
        data={
            "csrf_token": _csrf(client, nation),
            "name": "Cross Site",
            "redirect_uris": "https://app.example/cb",
        },
        headers={"Origin": "https://evil.example"},
    )

    assert response.status_code == 403
    assert _apps_of(factory, nation) == []


def test_secret_pages_are_not_cached(client: TestClient, factory: Factory) -> None:
    nation, _ = _signed_in(client, factory)

    app_page = _register(client, nation, "Cached App", "https://app.example/cb")
    token_page = client.post(nation.prefix + API_TOKEN, data={"csrf_token": _csrf(client, nation)})

    assert app_page.status_code == 200
    assert token_page.status_code == 200
    assert "no-store" in app_page.headers.get("cache-control", "")
    assert "no-store" in token_page.headers.get("cache-control", "")


def test_app_name_is_escaped(client: TestClient, factory: Factory) -> None:
    nation, _ = _signed_in(client, factory)
    name = "<script>alert(1)</script>"

    create_page = _register(client, nation, name, "https://app.example/cb")
    [app] = _apps_of(factory, nation)
    show_page = client.get(f"{nation.prefix}{DEVELOPER}/apps/{app['id']}")
    list_page = client.get(nation.prefix + DEVELOPER)

    assert app["name"] == name
    for response in (create_page, show_page, list_page):
        assert response.status_code == 200
        assert "<script>" not in response.text
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in response.text


def test_app_of_other_nation_is_404(client: TestClient, factory: Factory) -> None:
    nation, _ = _signed_in(client, factory)
    other_app = factory.app(factory.nation())

    response = client.get(f"{nation.prefix}{DEVELOPER}/apps/{other_app.id}")

    assert response.status_code == 404
    assert other_app.client_id not in response.text


def test_unknown_app_is_404(client: TestClient, factory: Factory) -> None:
    nation, _ = _signed_in(client, factory)

    response = client.get(f"{nation.prefix}{DEVELOPER}/apps/999999999")

    assert response.status_code == 404
    assert 'data-testid="error-message"' in response.text


def test_api_token_form_has_csrf(client: TestClient, factory: Factory) -> None:
    nation, _ = _signed_in(client, factory)

    response = client.get(nation.prefix + API_TOKEN)

    assert response.status_code == 200
    assert len(hidden_field(response.text, "csrf_token")) >= 32
    assert _test_id(response.text, "api-token") is None


def _token_count(factory: Factory, user: UserInfo) -> int:
    def count(session: Session) -> int:
        tokens = sa.Table("test_tokens", sa.MetaData(), autoload_with=session.connection())
        query = sa.select(sa.func.count()).select_from(tokens).where(tokens.c.user_id == user.id)
        return int(session.scalar(query) or 0)

    return factory.database.transaction(count)


def test_api_token_sent_twice_creates_one(client: TestClient, factory: Factory) -> None:
    nation, user = _signed_in(client, factory)
    page = client.get(nation.prefix + API_TOKEN).text
    data = {"csrf_token": hidden_field(page, "csrf_token"), "form_once": hidden_field(page, "form_once")}

    first = client.post(nation.prefix + API_TOKEN, data=data)
    again = client.post(nation.prefix + API_TOKEN, data=data)

    assert first.status_code == 200
    assert again.status_code == 409
    assert _test_id(again.text, "api-token") is None
    assert _token_count(factory, user) == 1


def test_api_token_calls_people_api(client: TestClient, factory: Factory) -> None:
    nation, _ = _signed_in(client, factory)
    form = client.get(nation.prefix + API_TOKEN)

    created = client.post(
        nation.prefix + API_TOKEN, data={"csrf_token": hidden_field(form.text, "csrf_token")}
    )

    assert created.status_code == 200
    token = _test_id(created.text, "api-token")
    assert token is not None
    assert HEX64.match(token)
    people = client.get(f"{nation.prefix}/api/v1/people", headers={"Authorization": f"Bearer {token}"})
    assert people.status_code == 200
    assert people.json() == {"results": [], "next": None, "prev": None}


def test_api_token_fails_on_other_nation(client: TestClient, factory: Factory) -> None:
    nation, _ = _signed_in(client, factory)
    created = client.post(nation.prefix + API_TOKEN, data={"csrf_token": _csrf(client, nation)})
    token = _test_id(created.text, "api-token")
    other = factory.nation()

    response = client.get(f"{other.prefix}/api/v1/people", headers={"Authorization": f"Bearer {token}"})

    assert response.status_code == 401


def test_developer_page_lists_token_prefix(client: TestClient, factory: Factory) -> None:
    nation, _ = _signed_in(client, factory)
    created = client.post(nation.prefix + API_TOKEN, data={"csrf_token": _csrf(client, nation)})
    token = _test_id(created.text, "api-token")
    assert token is not None

    response = client.get(nation.prefix + DEVELOPER)

    assert response.status_code == 200
    assert f"<code>{token[:6]}&hellip;</code>" in response.text
    assert token not in response.text


def test_api_token_without_csrf_is_403(client: TestClient, factory: Factory) -> None:
    nation, _ = _signed_in(client, factory)

    response = client.post(nation.prefix + API_TOKEN, data={})

    assert response.status_code == 403
    assert _test_id(response.text, "api-token") is None


@pytest.mark.parametrize("path", [DEVELOPER, NEW_APP, API_TOKEN])
def test_staffer_gets_403(client: TestClient, factory: Factory, path: str) -> None:
    nation, _ = _signed_in(client, factory, level="staffer")

    response = client.get(nation.prefix + path)

    assert response.status_code == 403
    assert 'data-testid="error-message"' in response.text


def test_staffer_cannot_register_app(client: TestClient, factory: Factory) -> None:
    nation, _ = _signed_in(client, factory, level="staffer")

    response = client.post(
        nation.prefix + NEW_APP,
        data={
            "csrf_token": _csrf(client, nation),
            "name": "Staff App",
            "redirect_uris": "https://a.example/cb",
        },
    )

    assert response.status_code == 403
    assert _apps_of(factory, nation) == []


def test_staffer_cannot_create_token(client: TestClient, factory: Factory) -> None:
    nation, _ = _signed_in(client, factory, level="staffer")

    response = client.post(nation.prefix + API_TOKEN, data={"csrf_token": _csrf(client, nation)})

    assert response.status_code == 403
    assert _test_id(response.text, "api-token") is None


def test_staffer_sees_dashboard(client: TestClient, factory: Factory) -> None:
    nation, _ = _signed_in(client, factory, level="staffer")

    response = client.get(f"{nation.prefix}/admin")

    assert response.status_code == 200
    assert f'href="{nation.prefix}{DEVELOPER}"' not in response.text


@pytest.mark.parametrize("path", ["/admin", DEVELOPER, NEW_APP, API_TOKEN])
def test_other_nation_user_gets_403(client: TestClient, factory: Factory, path: str) -> None:
    _signed_in(client, factory)
    nation = factory.nation()

    response = client.get(nation.prefix + path)

    assert response.status_code == 403
    assert 'data-testid="error-message"' in response.text


@pytest.mark.parametrize("path", ["/admin", DEVELOPER, NEW_APP, API_TOKEN, f"{DEVELOPER}/apps/1"])
def test_signed_out_redirects_to_login(client: TestClient, factory: Factory, path: str) -> None:
    nation = factory.nation()

    response = client.get(nation.prefix + path)

    assert response.status_code == 303
    assert urlsplit(response.headers["location"]).path == f"{nation.prefix}/login"
    assert query_of(response.headers["location"]) == {"next": nation.prefix + path}


def test_signed_out_keeps_query_in_next(client: TestClient, factory: Factory) -> None:
    nation = factory.nation()

    response = client.get(nation.prefix + DEVELOPER, params={"tab": "apps"})

    assert response.status_code == 303
    assert query_of(response.headers["location"]) == {"next": f"{nation.prefix}{DEVELOPER}?tab=apps"}


@pytest.mark.parametrize(
    ("plan", "status"),
    [("enterprise", 200), ("network", 200), ("starter", 403), ("pathfinder", 403), ("organizer", 403)],
)
def test_plan_gates_developer_tools(client: TestClient, factory: Factory, plan: str, status: int) -> None:
    nation, _ = _signed_in(client, factory, plan=plan)

    for path in (DEVELOPER, NEW_APP, API_TOKEN):
        response = client.get(nation.prefix + path)
        assert response.status_code == status, path


def test_starter_admin_cannot_register_app(client: TestClient, factory: Factory) -> None:
    nation, _ = _signed_in(client, factory, plan="starter")

    response = client.post(
        nation.prefix + NEW_APP,
        data={
            "csrf_token": _csrf(client, nation),
            "name": "Starter App",
            "redirect_uris": "https://a.example/cb",
        },
    )

    assert response.status_code == 403
    assert _apps_of(factory, nation) == []


def test_certified_starter_admin_gets_200(client: TestClient, factory: Factory) -> None:
    nation, _ = _signed_in(client, factory, plan="starter", certified=True)

    for path in (DEVELOPER, NEW_APP, API_TOKEN):
        response = client.get(nation.prefix + path)
        assert response.status_code == 200, path


def test_certified_starter_admin_registers_app(client: TestClient, factory: Factory) -> None:
    nation, _ = _signed_in(client, factory, plan="starter", certified=True)

    response = _register(client, nation, "Certified App", "https://app.example/cb")

    assert response.status_code == 200
    assert HEX64.match(_test_id(response.text, "client-id") or "")
    assert len(_apps_of(factory, nation)) == 1


def test_certified_staffer_gets_403(client: TestClient, factory: Factory) -> None:
    nation, _ = _signed_in(client, factory, level="staffer", certified=True)

    response = client.get(nation.prefix + DEVELOPER)

    assert response.status_code == 403
