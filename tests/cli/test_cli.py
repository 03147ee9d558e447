"""The ``citizenry`` command: nations, users, apps, test tokens, migrations and the demo nation."""

from __future__ import annotations

import hashlib
import re
import secrets
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from click.testing import CliRunner, Result
from sqlalchemy.orm import Session
from starlette.testclient import TestClient

from citizenry.app import create_app
from citizenry.cli.demo import DEMO_ADMIN_EMAIL, DEMO_PASSWORD, DEMO_SLUG, DEMO_STAFFER_EMAIL
from citizenry.cli.main import main
from citizenry.settings import Settings
from citizenry.store import migrate
from citizenry.store.db import Database
from citizenry.store.models import App, Membership, Nation, Person, TestToken, User
from tests.factory import Factory, NationInfo
from tests.flows import sign_in

HEX64 = re.compile(r"^[0-9a-f]{64}$")
NEW_PASSWORD = "a long enough password"


@pytest.fixture
def cli_env(database_url: str, tmp_path: Path) -> dict[str, str]:
    return {
        "CITIZENRY_DATABASE_URL": database_url,
        "CITIZENRY_SECRET_KEY": secrets.token_urlsafe(48),
        # Without it, the CLI creates its default data directory, "var", in the working directory.
        "CITIZENRY_DATA_DIR": str(tmp_path / "data"),
    }


def _run(env: dict[str, str], *args: str, input: str | None = None) -> Result:
    return CliRunner().invoke(main, list(args), env=env, input=input)


def _slug() -> str:
    return f"c{secrets.token_hex(5)}"


def _email() -> str:
    return f"cli-{secrets.token_hex(5)}@example.org"


def _nation(database: Database, slug: str) -> Nation | None:
    return database.transaction(lambda session: session.scalar(sa.select(Nation).where(Nation.slug == slug)))


def _user(database: Database, email: str) -> User | None:
    return database.transaction(lambda session: session.scalar(sa.select(User).where(User.email == email)))


def _count(database: Database, model: Any, *where: Any) -> int:
    def count(session: Session) -> int:
        return session.scalar(sa.select(sa.func.count()).select_from(model).where(*where)) or 0

    return database.transaction(count)


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


def test_nation_create(cli_env: dict[str, str], database: Database) -> None:
    slug = _slug()

    result = _run(cli_env, "nation", "create", slug, "--name", "CLI Nation", "--plan", "enterprise")

    assert result.exit_code == 0, result.output
    nation = _nation(database, slug)
    assert nation is not None
    assert nation.name == "CLI Nation"
    assert nation.plan == "enterprise"


def test_nation_create_defaults_to_starter(cli_env: dict[str, str], database: Database) -> None:
    slug = _slug()

    result = _run(cli_env, "nation", "create", slug, "--name", "Starter Nation")

    assert result.exit_code == 0, result.output
    nation = _nation(database, slug)
    assert nation is not None
    assert nation.plan == "starter"


def test_nation_create_lowercases_slug(cli_env: dict[str, str], database: Database) -> None:
    slug = _slug()

    result = _run(cli_env, "nation", "create", slug.upper(), "--name", "Upper")

    assert result.exit_code == 0, result.output
    assert _nation(database, slug) is not None


def test_nation_create_duplicate_slug(cli_env: dict[str, str], database: Database) -> None:
    slug = _slug()
    assert _run(cli_env, "nation", "create", slug, "--name", "First").exit_code == 0

    result = _run(cli_env, "nation", "create", slug, "--name", "Second")

    _assert_failed(result, slug)
    assert _count(database, Nation, Nation.slug == slug) == 1
    nation = _nation(database, slug)
    assert nation is not None
    assert nation.name == "First"


@pytest.mark.parametrize("slug", ["-{}", "{}-", "{}_x", "{}.x", "{}/x", "x" * 64, ""])
def test_nation_create_invalid_slug(cli_env: dict[str, str], database: Database, slug: str) -> None:
    slug = slug.format(_slug())

    result = _run(cli_env, "nation", "create", "--name", "Invalid", "--", slug)

    _assert_failed(result)
    assert _count(database, Nation, Nation.slug == slug) == 0


def test_nation_create_unknown_plan(cli_env: dict[str, str], database: Database) -> None:
    slug = _slug()

    result = _run(cli_env, "nation", "create", slug, "--name", "Plan", "--plan", "platinum")

    assert result.exit_code == 2
    assert _nation(database, slug) is None


def test_user_create_signs_in(
    cli_env: dict[str, str], database: Database, factory: Factory, client: TestClient
) -> None:
    nation = factory.nation()
    email = _email()

    result = _run(
        cli_env,
        "user",
        "create",
        email,
        "--nation",
        nation.slug,
        "--level",
        "admin",
        "--password-stdin",
        input=NEW_PASSWORD + "\n",
    )

    assert result.exit_code == 0, result.output
    assert sign_in(client, nation.prefix, email, password=NEW_PASSWORD).status_code == 303
    assert client.get(f"{nation.prefix}/admin/settings/developer").status_code == 200


def test_user_create_stores_membership(cli_env: dict[str, str], database: Database, factory: Factory) -> None:
    nation = factory.nation()
    email = _email()

    result = _run(
        cli_env,
        "user",
        "create",
        email.upper(),
        "--nation",
        nation.slug,
        "--level",
        "staffer",
        "--certified",
        "--password-stdin",
        input=NEW_PASSWORD + "\n",
    )

    assert result.exit_code == 0, result.output
    user = _user(database, email)
    assert user is not None
    assert user.is_certified_developer is True
    assert user.password_hash != NEW_PASSWORD
    levels = database.transaction(
        lambda session: list(
            session.scalars(sa.select(Membership.permission_level).where(Membership.user_id == user.id))
        )
    )
    assert levels == ["staffer"]
    assert _count(database, Membership, Membership.user_id == user.id, Membership.nation_id == nation.id) == 1


def test_user_create_prompts_for_password(
    cli_env: dict[str, str], database: Database, factory: Factory, client: TestClient
) -> None:
    nation = factory.nation()
    email = _email()

    result = _run(
        cli_env, "user", "create", email, "--nation", nation.slug, input=f"{NEW_PASSWORD}\n{NEW_PASSWORD}\n"
    )

    assert result.exit_code == 0, result.output
    assert sign_in(client, nation.prefix, email, password=NEW_PASSWORD).status_code == 303


def test_user_create_unknown_nation(cli_env: dict[str, str], database: Database) -> None:
    email = _email()

    slug = _slug()

    result = _run(
        cli_env, "user", "create", email, "--nation", slug, "--password-stdin", input=NEW_PASSWORD + "\n"
    )

    _assert_failed(result, slug)
    assert _user(database, email) is None


def test_user_create_short_password(cli_env: dict[str, str], database: Database, factory: Factory) -> None:
    nation = factory.nation()
    email = _email()

    result = _run(
        cli_env, "user", "create", email, "--nation", nation.slug, "--password-stdin", input="short\n"
    )

    _assert_failed(result)
    assert _user(database, email) is None


def test_user_create_duplicate_email(cli_env: dict[str, str], database: Database, factory: Factory) -> None:
    nation = factory.nation()
    other = factory.nation()
    email = _email()
    args = ("user", "create", email, "--password-stdin")
    assert _run(cli_env, *args, "--nation", nation.slug, input=NEW_PASSWORD + "\n").exit_code == 0

    result = _run(cli_env, *args, "--nation", other.slug, input=NEW_PASSWORD + "\n")

    _assert_failed(result, email)
    assert _count(database, User, User.email == email) == 1
    assert _count(database, Membership, Membership.nation_id == other.id) == 0


def test_user_create_invalid_email(cli_env: dict[str, str], database: Database, factory: Factory) -> None:
    nation = factory.nation()

    result = _run(
        cli_env,
        "user",
        "create",
        "not-an-address",
        "--nation",
        nation.slug,
        "--password-stdin",
        input=NEW_PASSWORD + "\n",
    )

    _assert_failed(result)
    assert _count(database, Membership, Membership.nation_id == nation.id) == 0


def _app_rows(database: Database, nation: NationInfo) -> list[App]:
    return database.transaction(
        lambda session: list(session.scalars(sa.select(App).where(App.nation_id == nation.id)))
    )


def test_app_create_prints_credentials(cli_env: dict[str, str], database: Database, factory: Factory) -> None:
    nation = factory.nation()

    result = _run(
        cli_env,
        "app",
        "create",
        "--nation",
        nation.slug,
        "--name",
        "CLI App",
        "--redirect-uri",
        "https://a.example/cb",
    )

    assert result.exit_code == 0, result.output
    printed = _lines(result.stdout)
    assert set(printed) == {"client_id", "client_secret"}
    assert HEX64.match(printed["client_id"])
    assert HEX64.match(printed["client_secret"])
    [app] = _app_rows(database, nation)
    assert app.client_id == printed["client_id"]
    assert app.client_secret_digest == hashlib.sha256(printed["client_secret"].encode()).digest()
    assert app.name == "CLI App"
    assert [uri.uri for uri in app.redirect_uris] == ["https://a.example/cb"]


def test_app_create_several_callbacks(cli_env: dict[str, str], database: Database, factory: Factory) -> None:
    nation = factory.nation()
    callbacks = ["https://a.example/cb", "http://127.0.0.1:9000/cb"]

    result = _run(
        cli_env,
        "app",
        "create",
        "--nation",
        nation.slug,
        "--name",
        "Two Callbacks",
        "--redirect-uri",
        callbacks[0],
        "--redirect-uri",
        callbacks[1],
    )

    assert result.exit_code == 0, result.output
    [app] = _app_rows(database, nation)
    assert [uri.uri for uri in app.redirect_uris] == callbacks


@pytest.mark.parametrize(
    "redirect_uri",
    ["http://a.example/cb", "https://a.example/cb#frag", "javascript:alert(1)", "/cb"],
)
def test_app_create_bad_redirect_uri(
    cli_env: dict[str, str], database: Database, factory: Factory, redirect_uri: str
) -> None:
    nation = factory.nation()

    result = _run(
        cli_env, "app", "create", "--nation", nation.slug, "--name", "Bad", "--redirect-uri", redirect_uri
    )

    _assert_failed(result, redirect_uri)
    assert _app_rows(database, nation) == []


def test_app_create_unknown_nation(cli_env: dict[str, str], database: Database) -> None:
    slug = _slug()

    result = _run(
        cli_env, "app", "create", "--nation", slug, "--name", "Lost", "--redirect-uri", "https://a.example/cb"
    )

    _assert_failed(result, slug)
    assert _nation(database, slug) is None


def test_token_create_calls_api(
    cli_env: dict[str, str], database: Database, factory: Factory, client: TestClient
) -> None:
    nation = factory.nation()
    user = factory.user(nation)
    factory.people(nation, 2)

    result = _run(cli_env, "token", "create", "--nation", nation.slug, "--user", user.email)

    assert result.exit_code == 0, result.output
    token = result.stdout.strip()
    assert HEX64.match(token)
    assert _count(database, TestToken, TestToken.nation_id == nation.id) == 1
    response = client.get(f"{nation.prefix}/api/v1/people", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200
    assert len(response.json()["results"]) == 2


def test_token_create_unknown_nation(cli_env: dict[str, str], factory: Factory) -> None:
    user = factory.user(None)

    slug = _slug()

    result = _run(cli_env, "token", "create", "--nation", slug, "--user", user.email)

    _assert_failed(result, slug)


def test_token_create_unknown_user(cli_env: dict[str, str], database: Database, factory: Factory) -> None:
    nation = factory.nation()

    email = _email()

    result = _run(cli_env, "token", "create", "--nation", nation.slug, "--user", email)

    _assert_failed(result, email)
    assert _count(database, TestToken, TestToken.nation_id == nation.id) == 0


def test_token_create_needs_membership(cli_env: dict[str, str], database: Database, factory: Factory) -> None:
    nation = factory.nation()
    outsider = factory.user(factory.nation())

    result = _run(cli_env, "token", "create", "--nation", nation.slug, "--user", outsider.email)

    assert _count(database, TestToken, TestToken.nation_id == nation.id) == 0
    _assert_failed(result, outsider.email)


def test_short_secret_key_fails(cli_env: dict[str, str], database: Database) -> None:
    slug = _slug()
    env = {**cli_env, "CITIZENRY_SECRET_KEY": "too short"}

    result = _run(env, "nation", "create", slug, "--name", "Keyless")

    _assert_failed(result)
    assert _nation(database, slug) is None


def test_db_upgrade_is_idempotent(cli_env: dict[str, str], database: Database, database_url: str) -> None:
    first = _run(cli_env, "db", "upgrade")
    second = _run(cli_env, "db", "upgrade")

    assert first.exit_code == 0, first.output
    assert second.exit_code == 0, second.output
    assert migrate.is_current(database.engine, database_url)


def _sqlite_env(tmp_path: Path) -> dict[str, str]:
    return {
        "CITIZENRY_DATABASE_URL": f"sqlite:///{tmp_path / 'fresh.sqlite3'}",
        "CITIZENRY_SECRET_KEY": secrets.token_urlsafe(48),
        "CITIZENRY_DATA_DIR": str(tmp_path / "data"),
    }


def test_db_upgrade_creates_schema(tmp_path: Path) -> None:
    env = _sqlite_env(tmp_path)

    first = _run(env, "db", "upgrade")
    second = _run(env, "db", "upgrade")

    assert first.exit_code == 0, first.output
    assert second.exit_code == 0, second.output
    database = Database(env["CITIZENRY_DATABASE_URL"])
    try:
        assert migrate.is_current(database.engine, env["CITIZENRY_DATABASE_URL"])
        assert "nations" in sa.inspect(database.engine).get_table_names()
    finally:
        database.dispose()


def test_serve_refuses_unmigrated_database(tmp_path: Path) -> None:
    env = _sqlite_env(tmp_path)

    result = _run(env, "serve", "--port", "8765")

    _assert_failed(result)


def _demo_counts(database: Database) -> dict[str, Any]:
    def read(session: Session) -> dict[str, Any]:
        nation = session.scalar(sa.select(Nation).where(Nation.slug == DEMO_SLUG))
        assert nation is not None
        memberships = session.execute(
            sa.select(User.email, Membership.permission_level)
            .join(Membership, Membership.user_id == User.id)
            .where(Membership.nation_id == nation.id)
        )
        return {
            "nations": session.scalar(sa.select(sa.func.count()).select_from(Nation)),
            "people": session.scalar(
                sa.select(sa.func.count()).select_from(Person).where(Person.nation_id == nation.id)
            ),
            "users": session.scalar(sa.select(sa.func.count()).select_from(User)),
            "plan": nation.plan,
            "memberships": {email: level for email, level in memberships},
        }

    return database.transaction(read)


def test_demo_seed_is_idempotent(tmp_path: Path) -> None:
    env = _sqlite_env(tmp_path)

    first = _run(env, "demo", "seed")
    database = Database(env["CITIZENRY_DATABASE_URL"])
    try:
        after_first = _demo_counts(database)
        second = _run(env, "demo", "seed")
        after_second = _demo_counts(database)
    finally:
        database.dispose()

    assert first.exit_code == 0, first.output
    assert second.exit_code == 0, second.output
    expected = {
        "nations": 1,
        "people": 302,  # 300 fake people and the records of the two demo members
        "users": 2,
        "plan": "enterprise",
        "memberships": {DEMO_ADMIN_EMAIL: "admin", DEMO_STAFFER_EMAIL: "staffer"},
    }
    assert after_first == expected
    assert after_second == expected


def test_demo_accounts_sign_in(tmp_path: Path) -> None:
    env = _sqlite_env(tmp_path)
    assert _run(env, "demo", "seed", "--people", "0").exit_code == 0
    settings = Settings(
        database_url=env["CITIZENRY_DATABASE_URL"],
        secret_key=env["CITIZENRY_SECRET_KEY"],
        insecure_http=True,
        session_cookie_secure=False,
    )

    with TestClient(create_app(settings), follow_redirects=False) as client:
        admin = sign_in(client, f"/n/{DEMO_SLUG}", DEMO_ADMIN_EMAIL, password=DEMO_PASSWORD)
        developer = client.get(f"/n/{DEMO_SLUG}/admin/settings/developer")

    assert admin.status_code == 303
    assert developer.status_code == 200
