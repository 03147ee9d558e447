"""``citizenry user reset-link``: the printed link, the nation it opens, errors and the audit event."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.testclient import TestClient

from citizenry.cli.main import main
from citizenry.settings import Settings
from citizenry.store.models import AuditEvent, Membership, User
from tests.factory import Factory, NationInfo, UserInfo
from tests.flows import hidden_field, sign_in
from tests.panel.html_tree import parse

NEW_PASSWORD = "a long enough password"


@pytest.fixture
def cli_env(settings: Settings, tmp_path: Path) -> dict[str, str]:
    """The environment of the server the test client talks to, so the CLI signs with its key."""
    return {
        "CITIZENRY_DATABASE_URL": settings.database_url,
        "CITIZENRY_SECRET_KEY": settings.secret_key,
        "CITIZENRY_DATA_DIR": str(tmp_path / "data"),
    }


def run(env: dict[str, str], *args: str) -> Result:
    return CliRunner().invoke(main, ["user", "reset-link", *args], env=env)


def join(factory: Factory, user: UserInfo, nation: NationInfo, level: str = "staffer") -> None:
    factory.database.transaction(
        lambda session: session.add(Membership(user_id=user.id, nation_id=nation.id, permission_level=level))
    )


def audit_events(factory: Factory, nation: NationInfo) -> list[AuditEvent]:
    query = select(AuditEvent).where(AuditEvent.nation_id == nation.id).order_by(AuditEvent.id)
    return factory.database.transaction(lambda session: list(session.scalars(query)))


def password_hash(factory: Factory, user: UserInfo) -> str:
    def read(session: Session) -> str:
        row = session.get(User, user.id)
        assert row is not None
        return row.password_hash

    return factory.database.transaction(read)


def assert_failed(result: Result, *named: str) -> None:
    assert result.exit_code == 1, result.output
    assert result.stdout == ""
    assert result.stderr.startswith("Error: ")
    for value in named:
        assert value in result.stderr


def printed_link(result: Result) -> str:
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert len(lines) == 1, result.stdout
    return lines[0]


def test_link_resets_the_password(cli_env: dict[str, str], client: TestClient, factory: Factory) -> None:
    nation = factory.nation()
    user = factory.user(nation, level="staffer")
    base = f"http://testserver{nation.prefix}"

    link = printed_link(run(cli_env, user.email.upper(), "--base-url", base + "/"))

    parts = urlsplit(link)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == f"{base}/password/reset"
    page = parse(client.get(link).text)
    assert page.one("reset-email").text == user.email
    token = parse_qs(parts.query)["token"][0]
    form = {
        "csrf_token": hidden_field(client.get(f"{nation.prefix}/login").text, "csrf_token"),
        "token": token,
        "password": NEW_PASSWORD,
        "password_confirmation": NEW_PASSWORD,
    }
    assert client.post(f"{nation.prefix}/password/reset", data=form).status_code == 303
    assert sign_in(client, nation.prefix, user.email, password=NEW_PASSWORD).status_code == 303
    assert client.get(link).status_code == 410


def test_link_is_audited(cli_env: dict[str, str], factory: Factory) -> None:
    nation = factory.nation()
    user = factory.user(nation)

    printed_link(run(cli_env, user.email))

    (event,) = audit_events(factory, nation)
    assert event.kind == "user.password_reset_link_created"
    assert event.actor_user_id is None
    assert event.detail == {"user_id": user.id, "email": user.email, "via": "cli"}


def test_link_leaves_password_alone(cli_env: dict[str, str], factory: Factory) -> None:
    nation = factory.nation()
    user = factory.user(nation)
    before = password_hash(factory, user)

    printed_link(run(cli_env, user.email))

    assert password_hash(factory, user) == before


@pytest.mark.parametrize(
    ("extra", "scheme"),
    [({}, "https"), ({"CITIZENRY_INSECURE_HTTP": "1"}, "http")],
)
def test_default_address_is_nation_host(
    cli_env: dict[str, str], factory: Factory, extra: dict[str, str], scheme: str
) -> None:
    nation = factory.nation()
    user = factory.user(nation)

    link = printed_link(run({**cli_env, "CITIZENRY_BASE_DOMAIN": "citizens.example", **extra}, user.email))

    parts = urlsplit(link)
    assert (parts.scheme, parts.netloc, parts.path) == (
        scheme,
        f"{nation.slug}.citizens.example",
        "/password/reset",
    )


def test_several_nations_need_a_choice(cli_env: dict[str, str], client: TestClient, factory: Factory) -> None:
    first, second = factory.nation(), factory.nation()
    user = factory.user(first)
    join(factory, user, second)

    unchosen = run(cli_env, user.email)
    link = printed_link(run(cli_env, user.email, "--nation", second.slug.upper()))

    assert_failed(unchosen, first.slug, second.slug, "--nation")
    assert urlsplit(link).netloc == f"{second.slug}.localhost"
    path_and_query = urlsplit(link).path + "?" + urlsplit(link).query
    assert client.get(second.prefix + path_and_query).status_code == 200
    assert client.get(first.prefix + path_and_query).status_code == 400
    assert len(audit_events(factory, second)) == 1
    assert audit_events(factory, first) == []


@pytest.mark.parametrize("case", ["unknown user", "unknown nation", "not a member", "no nation"])
def test_invalid_requests_fail(cli_env: dict[str, str], factory: Factory, case: str) -> None:
    nation = factory.nation()
    member = factory.user(nation)
    loner = factory.user(None)
    args: dict[str, tuple[str, ...]] = {
        "unknown user": ("nobody-here@example.org",),
        "unknown nation": (member.email, "--nation", "no-such-nation"),
        "not a member": (loner.email, "--nation", nation.slug),
        "no nation": (loner.email,),
    }
    named: dict[str, tuple[str, ...]] = {
        "unknown user": ("nobody-here@example.org",),
        "unknown nation": ("no-such-nation",),
        "not a member": (loner.email, nation.slug),
        "no nation": (loner.email,),
    }

    result = run(cli_env, *args[case])

    assert_failed(result, *named[case])
    assert audit_events(factory, nation) == []


def test_help_names_the_options(cli_env: dict[str, str]) -> None:
    result = run(cli_env, "--help")

    assert result.exit_code == 0
    for option in ("--nation", "--base-url", "EMAIL"):
        assert option in result.stdout
