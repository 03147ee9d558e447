"""Which nation a request is for: the host, then the ``/n/{slug}`` prefix, then the default nation."""

from __future__ import annotations

from pathlib import Path

import pytest
from starlette.testclient import TestClient

from citizenry.settings import Settings, SettingsError
from citizenry.tenancy.resolve import NationRoute, host_name, resolve_nation
from tests.factory import Factory


def _settings(default_nation: str | None = None) -> Settings:
    return Settings(
        database_url="sqlite://", secret_key="x" * 40, base_domain="localhost", default_nation=default_nation
    )


# host_name


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("demo.localhost", "demo.localhost"),
        ("demo.localhost:8000", "demo.localhost"),
        ("DEMO.LocalHost:8000", "demo.localhost"),
        ("demo.localhost.", "demo.localhost"),
        ("demo.localhost.:8000", "demo.localhost"),
        ("  demo.localhost  ", "demo.localhost"),
        ("[::1]", "[::1]"),
        ("[::1]:8000", "[::1]"),
        ("[2001:DB8::1]:443", "[2001:db8::1]"),
        ("127.0.0.1:8000", "127.0.0.1"),
        ("", ""),
    ],
)
def test_host_name_normalizes(header: str, expected: str) -> None:
    assert host_name(header) == expected


# resolve_nation


def test_host_gives_slug() -> None:
    route = resolve_nation("demo.localhost:8000", "/api/v1/people", _settings())

    assert route == NationRoute(slug="demo")


def test_upper_case_host() -> None:
    route = resolve_nation("DEMO.LOCALHOST", "/login", _settings())

    assert route == NationRoute(slug="demo")


def test_host_with_trailing_dot() -> None:
    route = resolve_nation("demo.localhost.:8000", "/login", _settings())

    assert route == NationRoute(slug="demo")


def test_host_wins_over_prefix() -> None:
    route = resolve_nation("demo.localhost", "/n/other/login", _settings(default_nation="fallback"))

    assert route == NationRoute(slug="demo")


def test_malformed_host_label_kept() -> None:
    # An invalid label stays the slug, so loading the nation fails with a 404 instead of
    # falling back to the prefix or the default nation.
    route = resolve_nation("de_mo.localhost", "/n/other/login", _settings(default_nation="fallback"))

    assert route == NationRoute(slug="de_mo")


@pytest.mark.parametrize("host", ["[::1]", "[::1]:8000"])
def test_ipv6_host_uses_prefix(host: str) -> None:
    assert resolve_nation(host, "/n/demo/login", _settings()) == NationRoute(slug="demo", prefix="/n/demo")
    assert resolve_nation(host, "/login", _settings(default_nation="fallback")) == NationRoute(
        slug="fallback"
    )


def test_prefix_slug_lower_cased() -> None:
    route = resolve_nation("testserver", "/n/Demo/api/v1/people", _settings())

    assert route.slug == "demo"
    assert route.prefix == "/n/Demo"


def test_prefix_without_rest() -> None:
    route = resolve_nation("testserver", "/n/demo", _settings())

    assert route == NationRoute(slug="demo", prefix="/n/demo")


@pytest.mark.parametrize("path", ["/n/", "/n", "/nation/demo/login", "/x/n/demo/login"])
def test_not_a_prefix(path: str) -> None:
    route = resolve_nation("testserver", path, _settings(default_nation="fallback"))

    assert route == NationRoute(slug="fallback")


@pytest.mark.parametrize(
    "host", ["example.org", "localhost", "localhost:8000", "evillocalhost", "127.0.0.1:8000"]
)
def test_other_host_uses_prefix(host: str) -> None:
    route = resolve_nation(host, "/n/demo/login", _settings(default_nation="fallback"))

    assert route == NationRoute(slug="demo", prefix="/n/demo")


@pytest.mark.parametrize("host", ["example.org", "localhost", "evillocalhost", "127.0.0.1:8000"])
def test_other_host_uses_default(host: str) -> None:
    route = resolve_nation(host, "/login", _settings(default_nation="fallback"))

    assert route == NationRoute(slug="fallback")


def test_no_default_names_nothing() -> None:
    route = resolve_nation("example.org", "/login", _settings())

    assert route == NationRoute(slug=None)


def test_nested_host_not_a_nation() -> None:
    settings = _settings(default_nation="fallback")

    assert resolve_nation("a.b.localhost", "/login", settings) == NationRoute(slug="fallback")
    assert resolve_nation("a.b.localhost", "/n/demo/login", settings) == NationRoute(
        slug="demo", prefix="/n/demo"
    )


def test_other_base_domain() -> None:
    settings = Settings(database_url="sqlite://", secret_key="x" * 40, base_domain="example.org")

    assert resolve_nation("demo.example.org", "/login", settings) == NationRoute(slug="demo")
    assert resolve_nation("demo.localhost", "/login", settings) == NationRoute(slug=None)


def test_default_nation_case_insensitive(tmp_path: Path) -> None:
    settings = Settings.from_env(
        {
            "CITIZENRY_DATA_DIR": str(tmp_path),
            "CITIZENRY_DATABASE_URL": "sqlite://",
            "CITIZENRY_SECRET_KEY": "x" * 40,
            "CITIZENRY_DEFAULT_NATION": "Demo",
        }
    )

    assert resolve_nation("example.org", "/login", settings) == NationRoute(slug="demo")


# Over HTTP


def test_unknown_slug_is_404(client: TestClient) -> None:
    page = client.get("/n/xyz/login")
    api = client.get("/n/xyz/api/v1/people")

    assert page.status_code == 404
    assert page.headers["content-type"].startswith("text/html")
    assert api.status_code == 404
    assert api.headers["content-type"].startswith("application/json")
    body = api.json()
    assert set(body) == {"code", "message"}
    assert body["code"] == "not_found"
    assert isinstance(body["message"], str)


def test_invalid_host_label_is_404(client: TestClient, factory: Factory) -> None:
    nation = factory.nation()
    headers = {"Authorization": f"Bearer {factory.test_token(nation, factory.user(nation))}"}

    api = client.get("http://de_mo.localhost/api/v1/people", headers=headers)
    # The host names the nation, so the prefix of a real nation is only an unknown path here.
    prefixed = client.get(f"http://de_mo.localhost{nation.prefix}/api/v1/people", headers=headers)

    assert api.status_code == 404
    assert api.json()["code"] == "not_found"
    assert prefixed.status_code == 404


def test_invalid_default_nation_rejected(tmp_path: Path) -> None:
    with pytest.raises(SettingsError):
        Settings.from_env(
            {
                "CITIZENRY_DATA_DIR": str(tmp_path),
                "CITIZENRY_DATABASE_URL": "sqlite://",
                "CITIZENRY_SECRET_KEY": "x" * 40,
                "CITIZENRY_DEFAULT_NATION": "not a slug",
            }
        )


def test_slug_tricks_never_cross_nations(client: TestClient, factory: Factory) -> None:
    alpha = factory.nation()
    beta = factory.nation()
    token = factory.test_token(beta, factory.user(beta))
    headers = {"Authorization": f"Bearer {token}"}

    upper = client.get(f"/n/{beta.slug.upper()}/api/v1/people", headers=headers)
    dotted = client.get(f"/n/{beta.slug}%2e/api/v1/people", headers=headers)
    # The path leads to beta, so beta's token must work there and alpha's must not.
    alpha_token = factory.test_token(alpha, factory.user(alpha))
    traversal = client.get(
        f"/n/{alpha.slug}/../{beta.slug}/api/v1/people", headers={"Authorization": f"Bearer {alpha_token}"}
    )

    assert upper.status_code == 200
    assert dotted.status_code == 404
    assert traversal.status_code in {401, 404}
