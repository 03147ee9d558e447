"""The ``citizenry`` commands that change nations, permission sets and app types, and ``--help``."""

from __future__ import annotations

import re
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from click.testing import CliRunner, Result
from sqlalchemy.orm import Session
from starlette.testclient import TestClient

from citizenry.cli.main import main
from citizenry.store.db import Database
from citizenry.store.models import App, Nation, PermissionSet
from tests.factory import CALLBACK, Factory, NationInfo
from tests.flows import consent_page, sign_in

HEX64 = re.compile(r"^[0-9a-f]{64}$")
OPTION_COLUMNS = {
    "--legacy-tokens": "legacy_tokens",
    "--allow-plain-pkce": "allow_plain_pkce",
    "--strict": "strict_profile",
}


@pytest.fixture
def cli_env(database_url: str, tmp_path: Path) -> dict[str, str]:
    return {
        "CITIZENRY_DATABASE_URL": database_url,
        "CITIZENRY_SECRET_KEY": secrets.token_urlsafe(48),
        "CITIZENRY_DATA_DIR": str(tmp_path / "data"),
    }


def _run(env: Mapping[str, str | None], *args: str) -> Result:
    return CliRunner().invoke(main, list(args), env=env)


def _slug() -> str:
    return f"c{secrets.token_hex(5)}"


def _lines(output: str) -> dict[str, str]:
    """Parse ``key=value`` lines of the command's output."""
    return dict(line.split("=", 1) for line in output.splitlines() if "=" in line)


def _assert_failed(result: Result, *named: str) -> None:
    """Check that the command failed with a click error on stderr naming each of ``named``."""
    assert result.exit_code == 1, result.output
    assert result.stdout == ""
    assert result.stderr.startswith("Error: ")
    for value in named:
        assert value in result.stderr


def _nation_row(database: Database, nation: NationInfo) -> dict[str, Any]:
    def read(session: Session) -> dict[str, Any]:
        row = session.get(Nation, nation.id)
        assert row is not None
        return {"name": row.name, "plan": row.plan, "strict_profile": row.strict_profile}

    return database.transaction(read)


def _permission_rows(database: Database, nation: NationInfo) -> dict[str, tuple[bool, bool]]:
    """Return each stored permission set of the nation as ``level: (api, sign_into_apps)``."""

    def read(session: Session) -> dict[str, tuple[bool, bool]]:
        rows = session.scalars(sa.select(PermissionSet).where(PermissionSet.nation_id == nation.id))
        return {row.level: (row.api, row.sign_into_apps) for row in rows}

    return database.transaction(read)


def _app_rows(database: Database, nation: NationInfo) -> list[dict[str, Any]]:
    def read(session: Session) -> list[dict[str, Any]]:
        apps = session.scalars(sa.select(App).where(App.nation_id == nation.id).order_by(App.id))
        return [
            {
                "client_id": app.client_id,
                "client_secret_digest": app.client_secret_digest,
                "legacy_tokens": app.legacy_tokens,
                "allow_plain_pkce": app.allow_plain_pkce,
                "strict_profile": app.strict_profile,
            }
            for app in apps
        ]

    return database.transaction(read)


def _app_create(env: Mapping[str, str | None], nation: NationInfo, *options: str) -> Result:
    return _run(
        env,
        "app",
        "create",
        "--nation",
        nation.slug,
        "--name",
        "CLI App",
        "--redirect-uri",
        CALLBACK,
        *options,
    )


# nation set


def test_nation_set_strict(cli_env: dict[str, str], database: Database, factory: Factory) -> None:
    nation = factory.nation()

    result = _run(cli_env, "nation", "set", nation.slug, "--strict")

    assert result.exit_code == 0, result.output
    assert _nation_row(database, nation) == {
        "name": nation.name,
        "plan": "enterprise",
        "strict_profile": True,
    }


def test_nation_set_compatible(cli_env: dict[str, str], database: Database, factory: Factory) -> None:
    nation = factory.nation()
    assert _run(cli_env, "nation", "set", nation.slug, "--strict").exit_code == 0

    result = _run(cli_env, "nation", "set", nation.slug, "--compatible")

    assert result.exit_code == 0, result.output
    assert _nation_row(database, nation)["strict_profile"] is False


def test_nation_set_plan(cli_env: dict[str, str], database: Database, factory: Factory) -> None:
    nation = factory.nation(plan="starter")

    result = _run(cli_env, "nation", "set", nation.slug, "--plan", "network")

    assert result.exit_code == 0, result.output
    assert _nation_row(database, nation) == {"name": nation.name, "plan": "network", "strict_profile": False}


def test_nation_set_name(cli_env: dict[str, str], database: Database, factory: Factory) -> None:
    nation = factory.nation()

    result = _run(cli_env, "nation", "set", nation.slug, "--name", "  Renamed Nation ")

    assert result.exit_code == 0, result.output
    assert _nation_row(database, nation) == {
        "name": "Renamed Nation",
        "plan": "enterprise",
        "strict_profile": False,
    }


def test_nation_set_everything(cli_env: dict[str, str], database: Database, factory: Factory) -> None:
    nation = factory.nation()

    result = _run(cli_env, "nation", "set", nation.slug, "--name", "All", "--plan", "pathfinder", "--strict")

    assert result.exit_code == 0, result.output
    assert _nation_row(database, nation) == {"name": "All", "plan": "pathfinder", "strict_profile": True}


def test_nation_set_uppercase_slug(cli_env: dict[str, str], database: Database, factory: Factory) -> None:
    nation = factory.nation()

    result = _run(cli_env, "nation", "set", nation.slug.upper(), "--strict")

    assert result.exit_code == 0, result.output
    assert _nation_row(database, nation)["strict_profile"] is True


def test_nation_set_nothing_keeps_row(cli_env: dict[str, str], database: Database, factory: Factory) -> None:
    nation = factory.nation()
    before = _nation_row(database, nation)

    result = _run(cli_env, "nation", "set", nation.slug)

    assert result.exit_code == 0, result.output
    assert _nation_row(database, nation) == before


def test_nation_set_blank_name(cli_env: dict[str, str], database: Database, factory: Factory) -> None:
    nation = factory.nation()
    before = _nation_row(database, nation)

    result = _run(cli_env, "nation", "set", nation.slug, "--name", "   ", "--strict")

    _assert_failed(result)
    assert _nation_row(database, nation) == before


def test_nation_set_unknown_nation(cli_env: dict[str, str]) -> None:
    slug = _slug()

    result = _run(cli_env, "nation", "set", slug, "--strict")

    _assert_failed(result, slug)


def test_nation_set_unknown_plan(cli_env: dict[str, str], database: Database, factory: Factory) -> None:
    nation = factory.nation()
    before = _nation_row(database, nation)

    result = _run(cli_env, "nation", "set", nation.slug, "--plan", "platinum")

    assert result.exit_code == 2
    assert _nation_row(database, nation) == before


def test_strict_nation_rejects_json_exchange(
    cli_env: dict[str, str], factory: Factory, client: TestClient
) -> None:
    nation = factory.nation()
    app = factory.app(nation)
    assert _run(cli_env, "nation", "set", nation.slug, "--strict").exit_code == 0

    response = client.post(
        f"{nation.prefix}/oauth/token",
        json={
            "grant_type": "authorization_code",
            "code": "0" * 43,
            "client_id": app.client_id,
            "client_secret": app.client_secret,
            "redirect_uri": CALLBACK,
        },
    )

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"


# nation permissions


def test_permissions_shows_defaults(cli_env: dict[str, str], database: Database, factory: Factory) -> None:
    nation = factory.nation()

    staffer = _run(cli_env, "nation", "permissions", nation.slug, "--level", "staffer")
    admin = _run(cli_env, "nation", "permissions", nation.slug, "--level", "admin")

    assert staffer.exit_code == 0, staffer.output
    assert staffer.stdout == f"{nation.slug} staffer: api=on sign_into_apps=off\n"
    assert admin.exit_code == 0, admin.output
    assert admin.stdout == f"{nation.slug} admin: api=on sign_into_apps=on\n"
    assert _permission_rows(database, nation) == {}


def test_permissions_sign_into_apps(cli_env: dict[str, str], database: Database, factory: Factory) -> None:
    nation = factory.nation()

    result = _run(cli_env, "nation", "permissions", nation.slug, "--level", "staffer", "--sign-into-apps")

    assert result.exit_code == 0, result.output
    assert result.stdout == f"{nation.slug} staffer: api=on sign_into_apps=on\n"
    assert _permission_rows(database, nation) == {"staffer": (True, True)}


def test_permissions_no_api(cli_env: dict[str, str], database: Database, factory: Factory) -> None:
    nation = factory.nation()

    result = _run(cli_env, "nation", "permissions", nation.slug, "--level", "staffer", "--no-api")

    assert result.exit_code == 0, result.output
    assert result.stdout == f"{nation.slug} staffer: api=off sign_into_apps=off\n"
    assert _permission_rows(database, nation) == {"staffer": (False, False)}


def test_permissions_both_switches(cli_env: dict[str, str], database: Database, factory: Factory) -> None:
    nation = factory.nation()

    result = _run(
        cli_env, "nation", "permissions", nation.slug, "--level", "admin", "--no-api", "--no-sign-into-apps"
    )

    assert result.exit_code == 0, result.output
    assert result.stdout == f"{nation.slug} admin: api=off sign_into_apps=off\n"
    assert _permission_rows(database, nation) == {"admin": (False, False)}


def test_permissions_keep_other_switch(cli_env: dict[str, str], database: Database, factory: Factory) -> None:
    nation = factory.nation()
    args = ("nation", "permissions", nation.slug, "--level", "staffer")
    assert _run(cli_env, *args, "--sign-into-apps").exit_code == 0

    result = _run(cli_env, *args, "--no-api")

    assert result.exit_code == 0, result.output
    assert result.stdout == f"{nation.slug} staffer: api=off sign_into_apps=on\n"
    assert _permission_rows(database, nation) == {"staffer": (False, True)}


def test_permissions_show_after_change(cli_env: dict[str, str], database: Database, factory: Factory) -> None:
    nation = factory.nation()
    args = ("nation", "permissions", nation.slug, "--level", "staffer")
    assert _run(cli_env, *args, "--sign-into-apps", "--no-api").exit_code == 0

    result = _run(cli_env, *args)

    assert result.exit_code == 0, result.output
    assert result.stdout == f"{nation.slug} staffer: api=off sign_into_apps=on\n"
    assert _permission_rows(database, nation) == {"staffer": (False, True)}


def test_permissions_are_per_nation(cli_env: dict[str, str], database: Database, factory: Factory) -> None:
    nation = factory.nation()
    other = factory.nation()

    result = _run(cli_env, "nation", "permissions", nation.slug, "--level", "staffer", "--sign-into-apps")

    assert result.exit_code == 0, result.output
    assert _permission_rows(database, other) == {}
    show_result = _run(cli_env, "nation", "permissions", other.slug, "--level", "staffer")
    assert show_result.stdout == f"{other.slug} staffer: api=on sign_into_apps=off\n"


def test_permissions_let_staffer_authorize(
    cli_env: dict[str, str], factory: Factory, client: TestClient
) -> None:
    nation = factory.nation()
    staffer = factory.user(nation, level="staffer")
    app = factory.app(nation)
    params = {"response_type": "code", "client_id": app.client_id, "redirect_uri": CALLBACK}
    assert sign_in(client, nation.prefix, staffer.email).status_code == 303
    assert consent_page(client, nation.prefix, params).status_code == 403

    result = _run(cli_env, "nation", "permissions", nation.slug, "--level", "staffer", "--sign-into-apps")

    assert result.exit_code == 0, result.output
    assert consent_page(client, nation.prefix, params).status_code == 200


def test_permissions_need_level(cli_env: dict[str, str], database: Database, factory: Factory) -> None:
    nation = factory.nation()

    result = _run(cli_env, "nation", "permissions", nation.slug, "--api")

    assert result.exit_code == 2
    assert _permission_rows(database, nation) == {}


def test_permissions_unknown_level(cli_env: dict[str, str], database: Database, factory: Factory) -> None:
    nation = factory.nation()

    result = _run(cli_env, "nation", "permissions", nation.slug, "--level", "volunteer", "--api")

    assert result.exit_code == 2
    assert _permission_rows(database, nation) == {}


def test_permissions_unknown_nation(cli_env: dict[str, str]) -> None:
    slug = _slug()

    show_result = _run(cli_env, "nation", "permissions", slug, "--level", "staffer")
    change_result = _run(cli_env, "nation", "permissions", slug, "--level", "staffer", "--api")

    _assert_failed(show_result, slug)
    _assert_failed(change_result, slug)


# app create


def test_app_create_public(cli_env: dict[str, str], database: Database, factory: Factory) -> None:
    nation = factory.nation()

    result = _app_create(cli_env, nation, "--public")

    assert result.exit_code == 0, result.output
    printed = _lines(result.stdout)
    assert set(printed) == {"client_id"}
    assert HEX64.match(printed["client_id"])
    assert "client_secret" not in result.stdout
    [app] = _app_rows(database, nation)
    assert app["client_id"] == printed["client_id"]
    assert app["client_secret_digest"] is None


def test_app_create_every_option(cli_env: dict[str, str], database: Database, factory: Factory) -> None:
    nation = factory.nation()

    result = _app_create(cli_env, nation, *OPTION_COLUMNS)

    assert result.exit_code == 0, result.output
    assert set(_lines(result.stdout)) == {"client_id", "client_secret"}
    [app] = _app_rows(database, nation)
    for column in OPTION_COLUMNS.values():
        assert app[column] is True, column


@pytest.mark.parametrize("option", list(OPTION_COLUMNS))
def test_app_create_one_option(
    cli_env: dict[str, str], database: Database, factory: Factory, option: str
) -> None:
    nation = factory.nation()

    result = _app_create(cli_env, nation, option)

    assert result.exit_code == 0, result.output
    [app] = _app_rows(database, nation)
    for flag, column in OPTION_COLUMNS.items():
        assert app[column] is (flag == option), column


def test_app_create_defaults_off(cli_env: dict[str, str], database: Database, factory: Factory) -> None:
    nation = factory.nation()

    result = _app_create(cli_env, nation)

    assert result.exit_code == 0, result.output
    assert set(_lines(result.stdout)) == {"client_id", "client_secret"}
    [app] = _app_rows(database, nation)
    assert app["client_secret_digest"] is not None
    for column in OPTION_COLUMNS.values():
        assert app[column] is False, column


def test_app_create_public_unknown_nation(cli_env: dict[str, str]) -> None:
    slug = _slug()

    result = _run(
        cli_env, "app", "create", "--nation", slug, "--name", "Lost", "--redirect-uri", CALLBACK, "--public"
    )

    _assert_failed(result, slug)


def test_app_create_public_bad_callback(
    cli_env: dict[str, str], database: Database, factory: Factory
) -> None:
    nation = factory.nation()

    result = _run(
        cli_env,
        "app",
        "create",
        "--nation",
        nation.slug,
        "--name",
        "Bad",
        "--redirect-uri",
        "http://a.example/cb",
        "--public",
    )

    _assert_failed(result, "http://a.example/cb")
    assert _app_rows(database, nation) == []


def test_app_create_blank_name(cli_env: dict[str, str], database: Database, factory: Factory) -> None:
    nation = factory.nation()

    result = _run(
        cli_env, "app", "create", "--nation", nation.slug, "--name", "  ", "--redirect-uri", CALLBACK
    )

    _assert_failed(result)
    assert _app_rows(database, nation) == []


# --help


def _bare_env(data_dir: Path) -> dict[str, str | None]:
    """Return an environment that sets CITIZENRY_DATA_DIR and unsets the database URL and secret key.

    Loading the settings in that environment would create the SQLite file and the secret key file there.
    """
    return {
        "CITIZENRY_DATA_DIR": str(data_dir),
        "CITIZENRY_DATABASE_URL": None,
        "CITIZENRY_SECRET_KEY": None,
    }


@pytest.mark.parametrize(
    "args",
    [
        ["--help"],
        ["serve", "--help"],
        ["app", "--help"],
        ["app", "create", "--help"],
        ["nation", "set", "--help"],
        ["nation", "permissions", "--help"],
        ["--version"],
    ],
)
def test_help_creates_no_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, args: list[str]) -> None:
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    monkeypatch.chdir(tmp_path)

    result = _run(_bare_env(data_dir), *args)

    assert result.exit_code == 0, result.output
    assert result.stdout
    assert list(data_dir.iterdir()) == []
    assert sorted(path.name for path in tmp_path.iterdir()) == ["data"]


def test_serve_help_lists_options(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    data_dir.mkdir()

    result = _run(_bare_env(data_dir), "serve", "--help")

    assert result.exit_code == 0, result.output
    for option in ("--host", "--port", "--reload"):
        assert option in result.stdout
    assert list(data_dir.iterdir()) == []


def test_bare_env_command_writes_files(tmp_path: Path) -> None:
    # A command that loads the settings writes to the data folder, so the --help tests above can fail.
    data_dir = tmp_path / "data"
    data_dir.mkdir()

    result = _run(_bare_env(data_dir), "nation", "permissions", _slug(), "--level", "admin")

    _assert_failed(result)
    names = {path.name for path in data_dir.iterdir()}
    assert "secret_key" in names
    assert "citizenry.sqlite3" in names
