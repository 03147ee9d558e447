"""Password reset links: the forgot page, choosing a new password, and every way a link stops working."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import pytest
from sqlalchemy import delete, select
from sqlalchemy.orm import Session
from starlette.testclient import TestClient

from citizenry.panel import reset_links
from citizenry.settings import Settings
from citizenry.store.models import AuditEvent, Membership, Nation, User
from tests.factory import PASSWORD, Factory, NationInfo, UserInfo
from tests.flows import hidden_field, sign_in
from tests.panel.html_tree import parse

NEW_PASSWORD = "a brand new passphrase"


def make_token(factory: Factory, settings: Settings, user: UserInfo, nation: NationInfo) -> str:
    def create(session: Session) -> str:
        row = session.get(User, user.id)
        where = session.get(Nation, nation.id)
        assert row is not None and where is not None
        return reset_links.create_reset_token(settings.secret_key, user=row, nation=where)

    return factory.database.transaction(create)


def reset_path(nation: NationInfo, token: str) -> str:
    return f"{nation.prefix}/password/reset?{urlencode({'token': token})}"


def password_hash(factory: Factory, user: UserInfo) -> str:
    def read(session: Session) -> str:
        row = session.get(User, user.id)
        assert row is not None
        return row.password_hash

    return factory.database.transaction(read)


def submit(
    client: TestClient,
    nation: NationInfo,
    token: str,
    password: str = NEW_PASSWORD,
    confirmation: str | None = None,
) -> Any:
    csrf = hidden_field(client.get(f"{nation.prefix}/login").text, "csrf_token")
    data = {
        "csrf_token": csrf,
        "token": token,
        "password": password,
        "password_confirmation": password if confirmation is None else confirmation,
    }
    return client.post(f"{nation.prefix}/password/reset", data=data)


def problem(response: Any) -> str:
    return parse(response.text).one("link-problem").attrs["data-reason"]


def audit_events(factory: Factory, nation: NationInfo) -> list[tuple[str, int | None, dict[str, Any]]]:
    """Return the nation's audit events as (kind, actor user id, detail), oldest first."""

    def read(session: Session) -> list[tuple[str, int | None, dict[str, Any]]]:
        query = select(AuditEvent).where(AuditEvent.nation_id == nation.id).order_by(AuditEvent.id)
        return [(row.kind, row.actor_user_id, row.detail) for row in session.scalars(query)]

    return factory.database.transaction(read)


@pytest.fixture
def member(factory: Factory) -> tuple[NationInfo, UserInfo]:
    nation = factory.nation()
    return nation, factory.user(nation, level="staffer")


# Asking for a link


def test_sign_in_page_links_forgot_page(client: TestClient, factory: Factory) -> None:
    nation = factory.nation()

    login = parse(client.get(f"{nation.prefix}/login").text)
    forgot = client.get(f"{nation.prefix}/password/forgot")

    assert f"{nation.prefix}/password/forgot" in login.links()
    assert forgot.status_code == 200
    page = parse(forgot.text)
    assert f"{nation.prefix}/login" in page.links()
    commands = [code.text for code in page.find_all("code")]
    # The command prints a link to the address this page was reached at (TestClient's host).
    expected = f"--nation {nation.slug} --base-url http://testserver{nation.prefix}"
    assert any(command.endswith(expected) for command in commands)


def test_forgot_page_unknown_nation(client: TestClient) -> None:
    response = client.get("/n/no-such-nation-here/password/forgot")

    assert response.status_code == 404


# Choosing a new password


def test_reset_form_names_the_account(
    client: TestClient, factory: Factory, settings: Settings, member: tuple[NationInfo, UserInfo]
) -> None:
    nation, user = member
    token = make_token(factory, settings, user, nation)

    response = client.get(reset_path(nation, token))

    assert response.status_code == 200
    page = parse(response.text)
    assert page.one("reset-email").text == user.email
    fields = page.form(f"{nation.prefix}/password/reset").fields()
    assert fields["token"] == token
    assert page.label_for(page.input("password").attrs["id"]).text
    assert page.label_for(page.input("password_confirmation").attrs["id"]).text


def test_reset_sets_the_password(
    client: TestClient, factory: Factory, settings: Settings, member: tuple[NationInfo, UserInfo]
) -> None:
    nation, user = member
    before = password_hash(factory, user)

    response = submit(client, nation, make_token(factory, settings, user, nation))

    assert response.status_code == 303
    assert response.headers["location"] == f"{nation.prefix}/login?done=password_reset"
    assert password_hash(factory, user) != before
    assert sign_in(client, nation.prefix, user.email, password=PASSWORD).status_code == 401
    assert sign_in(client, nation.prefix, user.email, password=NEW_PASSWORD).status_code == 303


def test_login_page_confirms_reset(client: TestClient, factory: Factory) -> None:
    nation = factory.nation()

    page = parse(client.get(f"{nation.prefix}/login", params={"done": "password_reset"}).text)

    assert page.one("notice")


def test_reset_is_audited_on_every_nation(
    client: TestClient, factory: Factory, settings: Settings, member: tuple[NationInfo, UserInfo]
) -> None:
    nation, user = member
    second = factory.nation()
    factory.database.transaction(
        lambda session: session.add(
            Membership(user_id=user.id, nation_id=second.id, permission_level="admin")
        )
    )

    submit(client, nation, make_token(factory, settings, user, nation))

    expected = [("user.password_reset", None, {"user_id": user.id, "email": user.email})]
    assert audit_events(factory, nation) == expected
    assert audit_events(factory, second) == expected


def test_reset_signs_out_the_browser(
    client: TestClient, factory: Factory, settings: Settings, member: tuple[NationInfo, UserInfo]
) -> None:
    nation, user = member
    other = factory.user(nation)
    sign_in(client, nation.prefix, other.email)

    submit(client, nation, make_token(factory, settings, user, nation))

    assert client.get(f"{nation.prefix}/admin").status_code == 303


def test_reset_ends_the_user_sessions(
    app: Any, factory: Factory, settings: Settings, member: tuple[NationInfo, UserInfo]
) -> None:
    nation, user = member
    with TestClient(app, follow_redirects=False) as theirs, TestClient(app, follow_redirects=False) as other:
        assert sign_in(theirs, nation.prefix, user.email).status_code == 303
        assert theirs.get(f"{nation.prefix}/admin/account").status_code == 200

        assert submit(other, nation, make_token(factory, settings, user, nation)).status_code == 303

        assert theirs.get(f"{nation.prefix}/admin/account").status_code == 303
        assert sign_in(theirs, nation.prefix, user.email, password=NEW_PASSWORD).status_code == 303
        assert theirs.get(f"{nation.prefix}/admin/account").status_code == 200


# When a link stops working


def test_link_works_once(
    client: TestClient, factory: Factory, settings: Settings, member: tuple[NationInfo, UserInfo]
) -> None:
    nation, user = member
    token = make_token(factory, settings, user, nation)
    assert submit(client, nation, token).status_code == 303
    after_first = password_hash(factory, user)

    opened = client.get(reset_path(nation, token))
    posted = submit(client, nation, token, password="yet another passphrase")

    assert opened.status_code == 410
    assert problem(opened) == "used"
    assert posted.status_code == 410
    assert password_hash(factory, user) == after_first


def test_new_password_voids_older_links(
    client: TestClient, factory: Factory, settings: Settings, member: tuple[NationInfo, UserInfo]
) -> None:
    nation, user = member
    older = make_token(factory, settings, user, nation)
    newer = make_token(factory, settings, user, nation)

    assert submit(client, nation, newer).status_code == 303

    assert problem(client.get(reset_path(nation, older))) == "used"


def test_expired_link_rejected(
    client: TestClient,
    factory: Factory,
    settings: Settings,
    member: tuple[NationInfo, UserInfo],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    nation, user = member
    token = make_token(factory, settings, user, nation)
    before = password_hash(factory, user)
    monkeypatch.setattr(reset_links, "RESET_LINK_MAX_AGE", -1)

    opened = client.get(reset_path(nation, token))
    posted = submit(client, nation, token)

    assert opened.status_code == 410
    assert problem(opened) == "expired"
    assert posted.status_code == 410
    assert password_hash(factory, user) == before


@pytest.mark.parametrize("token", ["", "garbage", "eyJ1IjoxfQ.AAAA.BBBB"])
def test_damaged_link_rejected(client: TestClient, factory: Factory, token: str) -> None:
    nation = factory.nation()

    response = client.get(reset_path(nation, token))

    assert response.status_code == 400
    assert problem(response) == "invalid"


def test_link_only_for_its_nation(
    client: TestClient, factory: Factory, settings: Settings, member: tuple[NationInfo, UserInfo]
) -> None:
    nation, user = member
    other = factory.nation()
    factory.database.transaction(
        lambda session: session.add(Membership(user_id=user.id, nation_id=other.id, permission_level="admin"))
    )
    token = make_token(factory, settings, user, nation)
    before = password_hash(factory, user)

    opened = client.get(reset_path(other, token))
    posted = submit(client, other, token)

    assert opened.status_code == 400
    assert problem(opened) == "invalid"
    assert posted.status_code == 400
    assert password_hash(factory, user) == before


def test_removed_member_link_rejected(
    client: TestClient, factory: Factory, settings: Settings, member: tuple[NationInfo, UserInfo]
) -> None:
    nation, user = member
    token = make_token(factory, settings, user, nation)

    def remove(session: Session) -> None:
        session.execute(delete(Membership).where(Membership.user_id == user.id))

    factory.database.transaction(remove)

    response = client.get(reset_path(nation, token))

    assert response.status_code == 400
    assert problem(response) == "invalid"


# The form's checks


@pytest.mark.parametrize(
    ("password", "confirmation"),
    [("short", "short"), (NEW_PASSWORD, "a different passphrase"), ("", "")],
)
def test_password_rules(
    client: TestClient,
    factory: Factory,
    settings: Settings,
    member: tuple[NationInfo, UserInfo],
    password: str,
    confirmation: str,
) -> None:
    nation, user = member
    token = make_token(factory, settings, user, nation)
    before = password_hash(factory, user)

    response = submit(client, nation, token, password=password, confirmation=confirmation)

    assert response.status_code == 400
    assert list(parse(response.text).field_errors()) == ["password"]
    assert password_hash(factory, user) == before
    assert client.get(reset_path(nation, token)).status_code == 200


def test_reset_needs_csrf(
    client: TestClient, factory: Factory, settings: Settings, member: tuple[NationInfo, UserInfo]
) -> None:
    nation, user = member
    token = make_token(factory, settings, user, nation)
    client.get(reset_path(nation, token))
    before = password_hash(factory, user)

    response = client.post(
        f"{nation.prefix}/password/reset",
        data={"token": token, "password": NEW_PASSWORD, "password_confirmation": NEW_PASSWORD},
    )

    assert response.status_code == 403
    assert password_hash(factory, user) == before


def test_link_never_reaches_request_log(
    client: TestClient,
    factory: Factory,
    settings: Settings,
    member: tuple[NationInfo, UserInfo],
    caplog: pytest.LogCaptureFixture,
) -> None:
    nation, user = member
    token = make_token(factory, settings, user, nation)

    with caplog.at_level("DEBUG"):
        client.get(reset_path(nation, token))
        submit(client, nation, token)

    # The test client logs the URLs it requests; only the server's own records count.
    records = [record for record in caplog.records if record.name.startswith("citizenry")]
    assert records
    for record in records:
        assert token not in str(vars(record)), record.name
