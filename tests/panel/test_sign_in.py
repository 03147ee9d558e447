"""Signing in and out of the control panel, the redirect after sign-in, CSRF, and security headers."""

from __future__ import annotations

import base64
import json
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urlsplit

import pytest
from itsdangerous import TimestampSigner
from starlette.testclient import TestClient

from citizenry.settings import Settings
from citizenry.store.models import User
from citizenry.tenancy.passwords import password_fingerprint
from tests.factory import PASSWORD, Factory, NationInfo, UserInfo
from tests.flows import hidden_field, query_of, sign_in


class _UrlAttributes(HTMLParser):
    """HTML parser that collects the value of every src, href and action attribute of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.urls.extend(value or "" for name, value in attrs if name in {"src", "href", "action"})


def _urls_of(html: str) -> list[str]:
    parser = _UrlAttributes()
    parser.feed(html)
    return parser.urls


def _member(factory: Factory) -> tuple[NationInfo, UserInfo]:
    nation = factory.nation()
    return nation, factory.user(nation)


def _csp_directives(response: Any) -> set[str]:
    header: str = response.headers["content-security-policy"]
    return {directive.strip() for directive in header.split(";")}


def _is_signed_in(client: TestClient, nation: NationInfo) -> bool:
    return client.get(f"{nation.prefix}/admin").status_code == 200


def test_login_form_has_fields(client: TestClient, factory: Factory) -> None:
    nation = factory.nation()

    response = client.get(f"{nation.prefix}/login")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert len(hidden_field(response.text, "csrf_token")) >= 32
    assert hidden_field(response.text, "next") == f"{nation.prefix}/admin"
    assert 'name="email"' in response.text
    assert 'name="password"' in response.text


def test_login_form_keeps_safe_next(client: TestClient, factory: Factory) -> None:
    nation = factory.nation()
    target = f"{nation.prefix}/admin/settings/developer"

    response = client.get(f"{nation.prefix}/login", params={"next": target})

    assert response.status_code == 200
    assert hidden_field(response.text, "next") == target


def test_sign_in_redirects_to_admin(client: TestClient, factory: Factory) -> None:
    nation, user = _member(factory)

    response = sign_in(client, nation.prefix, user.email)

    assert response.status_code == 303
    assert response.headers["location"] == f"{nation.prefix}/admin"
    assert _is_signed_in(client, nation)


def test_sign_in_redirects_to_next(client: TestClient, factory: Factory) -> None:
    nation, user = _member(factory)
    target = f"{nation.prefix}/admin/settings/developer?tab=apps"

    response = sign_in(client, nation.prefix, user.email, next_path=target)

    assert response.status_code == 303
    assert response.headers["location"] == target


def test_sign_in_ignores_email_case(client: TestClient, factory: Factory) -> None:
    nation, user = _member(factory)

    response = sign_in(client, nation.prefix, user.email.upper())

    assert response.status_code == 303
    assert _is_signed_in(client, nation)


@pytest.mark.parametrize(
    "next_path",
    [
        "//evil.example/x",
        "https://evil.example/",
        "/\\evil",
        "\\\\evil.example/x",
        "evil.example/x",
        "/\tevil",
        "javascript:alert(1)",
    ],
)
def test_sign_in_rejects_offsite_next(client: TestClient, factory: Factory, next_path: str) -> None:
    nation, user = _member(factory)

    response = sign_in(client, nation.prefix, user.email, next_path=next_path)

    assert response.status_code == 303
    assert response.headers["location"] == f"{nation.prefix}/admin"


@pytest.mark.parametrize("next_path", ["//evil.example/x", "https://evil.example/", "/\\evil"])
def test_login_form_drops_offsite_next(client: TestClient, factory: Factory, next_path: str) -> None:
    nation = factory.nation()

    response = client.get(f"{nation.prefix}/login", params={"next": next_path})

    assert response.status_code == 200
    assert hidden_field(response.text, "next") == f"{nation.prefix}/admin"


def test_session_cookie_flags(client: TestClient, factory: Factory) -> None:
    nation, user = _member(factory)

    response = sign_in(client, nation.prefix, user.email)

    attributes = {part.strip().lower() for part in response.headers["set-cookie"].split(";")}
    assert response.headers["set-cookie"].startswith("citizenry_session=")
    assert "httponly" in attributes
    assert "samesite=lax" in attributes
    assert "path=/" in attributes


def test_nation_root_redirects_to_admin(client: TestClient, factory: Factory) -> None:
    nation = factory.nation()

    response = client.get(f"{nation.prefix}/")

    assert response.status_code == 303
    assert response.headers["location"] == f"{nation.prefix}/admin"


def test_wrong_password_is_401(client: TestClient, factory: Factory) -> None:
    nation, user = _member(factory)

    response = sign_in(client, nation.prefix, user.email, password=PASSWORD + "x")

    assert response.status_code == 401
    assert "location" not in response.headers
    assert not _is_signed_in(client, nation)


def test_unknown_email_is_401(client: TestClient, factory: Factory) -> None:
    nation = factory.nation()

    response = sign_in(client, nation.prefix, "nobody@example.org")

    assert response.status_code == 401
    assert not _is_signed_in(client, nation)


def test_sign_in_without_csrf_is_403(client: TestClient, factory: Factory) -> None:
    nation, user = _member(factory)
    client.get(f"{nation.prefix}/login")

    response = client.post(
        f"{nation.prefix}/login", data={"email": user.email, "password": PASSWORD, "next": ""}
    )

    assert response.status_code == 403
    assert 'data-testid="error-message"' in response.text
    assert not _is_signed_in(client, nation)


def test_sign_in_with_wrong_csrf_is_403(client: TestClient, factory: Factory) -> None:
    nation, user = _member(factory)
    client.get(f"{nation.prefix}/login")

    response = client.post(
        f"{nation.prefix}/login",
        data={"csrf_token": "x" * 43, "email": user.email, "password": PASSWORD, "next": ""},
    )

    assert response.status_code == 403
    assert not _is_signed_in(client, nation)


def test_sign_in_from_other_origin_is_403(client: TestClient, factory: Factory) -> None:
    nation, user = _member(factory)
    page = client.get(f"{nation.prefix}/login")

    response = client.post(
        f"{nation.prefix}/login",
        data={
            "csrf_token": hidden_field(page.text, "csrf_token"),
            "email": user.email,
            "password": PASSWORD,
            "next": "",
        },
        headers={"Origin": "https://evil.example"},
    )

    assert response.status_code == 403
    assert not _is_signed_in(client, nation)


def test_sign_in_from_same_origin_works(client: TestClient, factory: Factory) -> None:
    nation, user = _member(factory)
    page = client.get(f"{nation.prefix}/login")

    response = client.post(
        f"{nation.prefix}/login",
        data={
            "csrf_token": hidden_field(page.text, "csrf_token"),
            "email": user.email,
            "password": PASSWORD,
            "next": "",
        },
        headers={"Origin": "http://testserver"},
    )

    assert response.status_code == 303
    assert _is_signed_in(client, nation)


def test_sign_in_renews_csrf_token(client: TestClient, factory: Factory) -> None:
    nation, user = _member(factory)
    before = hidden_field(client.get(f"{nation.prefix}/login").text, "csrf_token")

    sign_in(client, nation.prefix, user.email)
    after = hidden_field(client.get(f"{nation.prefix}/admin").text, "csrf_token")

    assert after != before


def test_sign_out_ends_session(client: TestClient, factory: Factory) -> None:
    nation, user = _member(factory)
    sign_in(client, nation.prefix, user.email)
    dashboard = client.get(f"{nation.prefix}/admin")

    response = client.post(
        f"{nation.prefix}/logout", data={"csrf_token": hidden_field(dashboard.text, "csrf_token")}
    )

    assert response.status_code == 303
    assert response.headers["location"] == f"{nation.prefix}/login"
    after = client.get(f"{nation.prefix}/admin")
    assert after.status_code == 303
    assert urlsplit(after.headers["location"]).path == f"{nation.prefix}/login"
    assert query_of(after.headers["location"]) == {"next": f"{nation.prefix}/admin"}


def test_sign_out_without_csrf_is_403(client: TestClient, factory: Factory) -> None:
    nation, user = _member(factory)
    sign_in(client, nation.prefix, user.email)

    response = client.post(f"{nation.prefix}/logout", data={})

    assert response.status_code == 403
    assert _is_signed_in(client, nation)


def test_sign_out_from_other_origin_is_403(client: TestClient, factory: Factory) -> None:
    nation, user = _member(factory)
    sign_in(client, nation.prefix, user.email)
    dashboard = client.get(f"{nation.prefix}/admin")

    response = client.post(
        f"{nation.prefix}/logout",
        data={"csrf_token": hidden_field(dashboard.text, "csrf_token")},
        headers={"Origin": "https://evil.example"},
    )

    assert response.status_code == 403
    assert _is_signed_in(client, nation)


def test_sign_out_by_get_is_405(client: TestClient, factory: Factory) -> None:
    nation, user = _member(factory)
    sign_in(client, nation.prefix, user.email)

    response = client.get(f"{nation.prefix}/logout")

    assert response.status_code == 405
    assert _is_signed_in(client, nation)


def test_signed_out_admin_redirects_to_login(client: TestClient, factory: Factory) -> None:
    nation = factory.nation()

    response = client.get(f"{nation.prefix}/admin")

    assert response.status_code == 303
    assert urlsplit(response.headers["location"]).path == f"{nation.prefix}/login"
    assert query_of(response.headers["location"]) == {"next": f"{nation.prefix}/admin"}


def _session_cookie(settings: Settings, session: dict[str, Any]) -> str:
    """Sign ``session`` as Starlette's session middleware does, with the app's secret key."""
    data = base64.b64encode(json.dumps(session).encode("utf-8"))
    return TimestampSigner(settings.secret_key).sign(data).decode("utf-8")


def test_session_with_current_fingerprint_is_signed_in(
    client: TestClient, factory: Factory, settings: Settings
) -> None:
    nation, user = _member(factory)
    row = factory.database.transaction(lambda session: session.get(User, user.id))
    fingerprint = password_fingerprint(row.password_hash)
    session = {"user_id": user.id, "fingerprint": fingerprint, "csrf": "x" * 43}
    client.cookies.set("citizenry_session", _session_cookie(settings, session))

    assert client.get(f"{nation.prefix}/admin").status_code == 200


def test_session_without_fingerprint_signs_in_again(
    client: TestClient, factory: Factory, settings: Settings
) -> None:
    nation, user = _member(factory)
    # The shape of a session cookie from before sessions kept a fingerprint of the password hash.
    client.cookies.set("citizenry_session", _session_cookie(settings, {"user_id": user.id, "csrf": "x" * 43}))

    response = client.get(f"{nation.prefix}/admin")

    assert response.status_code == 303
    assert urlsplit(response.headers["location"]).path == f"{nation.prefix}/login"


def test_session_with_other_fingerprint_signs_in_again(
    client: TestClient, factory: Factory, settings: Settings
) -> None:
    nation, user = _member(factory)
    session = {"user_id": user.id, "fingerprint": "0" * 32, "csrf": "x" * 43}
    client.cookies.set("citizenry_session", _session_cookie(settings, session))

    response = client.get(f"{nation.prefix}/admin")

    assert response.status_code == 303
    assert urlsplit(response.headers["location"]).path == f"{nation.prefix}/login"


def test_unknown_nation_login_is_404(client: TestClient) -> None:
    response = client.get("/n/no-such-nation-here/login")

    assert response.status_code == 404
    assert 'data-testid="error-message"' in response.text


def _page_responses(client: TestClient, factory: Factory) -> dict[str, Any]:
    nation, user = _member(factory)
    pages: dict[str, Any] = {"login": client.get(f"{nation.prefix}/login")}
    pages["failed login"] = sign_in(client, nation.prefix, user.email, password="wrong password")
    pages["sign-in redirect"] = sign_in(client, nation.prefix, user.email)
    pages["dashboard"] = client.get(f"{nation.prefix}/admin")
    pages["developer"] = client.get(f"{nation.prefix}/admin/settings/developer")
    pages["new app"] = client.get(f"{nation.prefix}/admin/settings/developer/apps/new")
    pages["api token"] = client.get(f"{nation.prefix}/admin/settings/developer/api_token")
    pages["not found"] = client.get(f"{nation.prefix}/admin/no-such-page")
    return pages


def test_pages_send_security_headers(client: TestClient, factory: Factory) -> None:
    for name, response in _page_responses(client, factory).items():
        headers = response.headers
        assert headers["x-frame-options"] == "DENY", name
        assert "frame-ancestors 'none'" in _csp_directives(response), name
        assert headers["referrer-policy"] == "same-origin", name
        assert headers["x-content-type-options"] == "nosniff", name


def test_pages_link_only_this_site(client: TestClient, factory: Factory) -> None:
    nation, user = _member(factory)
    app = factory.app(nation)
    sign_in(client, nation.prefix, user.email)
    paths = [
        "/login",
        "/admin",
        "/admin/settings/developer",
        "/admin/settings/developer/apps/new",
        f"/admin/settings/developer/apps/{app.id}",
        "/admin/settings/developer/api_token",
    ]

    for path in paths:
        response = client.get(nation.prefix + path)
        assert response.status_code == 200, path
        urls = _urls_of(response.text)
        assert urls, path
        for url in urls:
            assert url.startswith(f"{nation.prefix}/"), (path, url)
            assert "http" not in url, (path, url)
