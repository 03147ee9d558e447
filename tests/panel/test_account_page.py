"""The account page: the nation switcher and changing one's own password."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.testclient import TestClient

from citizenry.store.models import AuditEvent, Membership, User
from tests.factory import PASSWORD, Factory, NationInfo, UserInfo
from tests.flows import hidden_field, sign_in
from tests.panel.html_tree import Node, parse

ACCOUNT = "/admin/account"
NEW_PASSWORD = "a brand new passphrase"


def join(factory: Factory, user: UserInfo, nation: NationInfo, level: str) -> None:
    factory.database.transaction(
        lambda session: session.add(Membership(user_id=user.id, nation_id=nation.id, permission_level=level))
    )


def choices(page: Node) -> dict[str, Node]:
    """Return the switcher's entries by nation slug."""
    return {node.attrs["data-slug"]: node for node in page.by_test_id("nation-choice")}


def password_hash(factory: Factory, user: UserInfo) -> str:
    def read(session: Session) -> str:
        row = session.get(User, user.id)
        assert row is not None
        return row.password_hash

    return factory.database.transaction(read)


def audit_events(factory: Factory, nation: NationInfo) -> list[AuditEvent]:
    query = select(AuditEvent).where(AuditEvent.nation_id == nation.id).order_by(AuditEvent.id)
    return factory.database.transaction(lambda session: list(session.scalars(query)))


def change(client: TestClient, nation: NationInfo, **fields: str) -> Any:
    csrf = hidden_field(client.get(nation.prefix + ACCOUNT).text, "csrf_token")
    data = {
        "csrf_token": csrf,
        "current_password": PASSWORD,
        "password": NEW_PASSWORD,
        "password_confirmation": NEW_PASSWORD,
        **fields,
    }
    return client.post(f"{nation.prefix}{ACCOUNT}/password", data=data)


@pytest.fixture
def two_nations(client: TestClient, factory: Factory) -> tuple[NationInfo, NationInfo, UserInfo]:
    """A user who is admin of one nation and staffer of another, signed in on the first."""
    first, second = factory.nation(name="Alpha Greens"), factory.nation(name="Beta Reds")
    user = factory.user(first, level="admin")
    join(factory, user, second, "staffer")
    assert sign_in(client, first.prefix, user.email).status_code == 303
    return first, second, user


# The nation switcher


def test_switcher_lists_the_user_nations(
    client: TestClient, factory: Factory, two_nations: tuple[NationInfo, NationInfo, UserInfo]
) -> None:
    first, second, _ = two_nations
    factory.nation()

    page = parse(client.get(first.prefix + ACCOUNT).text)

    shown = choices(page)
    assert set(shown) == {first.slug, second.slug}
    assert shown[first.slug].links() == [f"{first.prefix}/admin"]
    assert shown[first.slug].find_all("a", aria_current="page")
    assert shown[second.slug].links() == [f"{second.prefix}/admin"]
    assert not shown[second.slug].find_all("a", aria_current="page")


def test_switching_keeps_the_session(
    client: TestClient, two_nations: tuple[NationInfo, NationInfo, UserInfo]
) -> None:
    first, second, _ = two_nations
    link = choices(parse(client.get(first.prefix + ACCOUNT).text))[second.slug].links()[0]

    response = client.get(link)

    assert response.status_code == 200
    page = parse(response.text)
    assert page.find_all("a", **{"class": "brand"})[0].text == "Beta Reds"
    assert second.prefix + "/admin/settings" not in page.find_all("nav")[0].links()


def test_dashboard_offers_switch(
    client: TestClient, factory: Factory, two_nations: tuple[NationInfo, NationInfo, UserInfo]
) -> None:
    first, _, _ = two_nations
    single = factory.nation()
    loner = factory.user(single)

    several = parse(client.get(first.prefix + "/admin").text)
    sign_in(client, single.prefix, loner.email)
    one = parse(client.get(single.prefix + "/admin").text)

    assert first.prefix + ACCOUNT in several.one("other-nations").links()
    assert one.by_test_id("other-nations") == []


def test_switcher_across_hosts(app: Any, factory: Factory) -> None:
    first, second = factory.nation(), factory.nation()
    user = factory.user(first)
    join(factory, user, second, "admin")
    host = f"http://{first.slug}.localhost"

    with TestClient(app, base_url=host, follow_redirects=False) as browser:
        assert sign_in(browser, host, user.email).status_code == 303
        page = parse(browser.get(host + ACCOUNT).text)

    assert choices(page)[first.slug].links() == ["/admin"]
    assert choices(page)[second.slug].links() == [f"http://{second.slug}.localhost/admin"]


def test_account_needs_sign_in(client: TestClient, factory: Factory) -> None:
    nation = factory.nation()

    response = client.get(nation.prefix + ACCOUNT)

    assert response.status_code == 303
    assert response.headers["location"].startswith(f"{nation.prefix}/login?")


def test_former_member_sees_other_nations(
    client: TestClient, factory: Factory, two_nations: tuple[NationInfo, NationInfo, UserInfo]
) -> None:
    first, second, user = two_nations
    other = factory.nation()

    response = client.get(other.prefix + ACCOUNT)

    assert response.status_code == 200
    page = parse(response.text)
    assert page.one("account-email").text == user.email
    assert set(choices(page)) == {first.slug, second.slug}


def test_staffer_opens_account(client: TestClient, factory: Factory) -> None:
    nation = factory.nation()
    staffer = factory.user(nation, level="staffer")
    sign_in(client, nation.prefix, staffer.email)

    response = client.get(nation.prefix + ACCOUNT)

    assert response.status_code == 200
    assert set(choices(parse(response.text))) == {nation.slug}


# Changing the password


def test_change_password(
    client: TestClient, factory: Factory, two_nations: tuple[NationInfo, NationInfo, UserInfo]
) -> None:
    first, second, user = two_nations
    before = password_hash(factory, user)

    response = change(client, first)

    assert response.status_code == 303
    assert response.headers["location"] == f"{first.prefix}{ACCOUNT}?done=password_changed"
    assert password_hash(factory, user) != before
    assert client.get(first.prefix + "/admin").status_code == 200
    client.cookies.clear()
    assert sign_in(client, second.prefix, user.email, password=NEW_PASSWORD).status_code == 303


def test_change_password_ends_other_sessions(
    app: Any, client: TestClient, factory: Factory, two_nations: tuple[NationInfo, NationInfo, UserInfo]
) -> None:
    first, second, user = two_nations
    with TestClient(app, follow_redirects=False) as elsewhere:
        assert sign_in(elsewhere, second.prefix, user.email).status_code == 303
        assert elsewhere.get(second.prefix + "/admin").status_code == 200

        assert change(client, first).status_code == 303

        signed_out = elsewhere.get(second.prefix + "/admin")
        assert signed_out.status_code == 303
        assert signed_out.headers["location"].startswith(f"{second.prefix}/login?")
        assert client.get(second.prefix + "/admin").status_code == 200


def test_change_password_is_audited(
    client: TestClient, factory: Factory, two_nations: tuple[NationInfo, NationInfo, UserInfo]
) -> None:
    first, second, user = two_nations

    change(client, first)

    for nation in (first, second):
        events = [event for event in audit_events(factory, nation) if event.kind == "user.password_changed"]
        assert [(event.actor_user_id, event.detail) for event in events] == [
            (user.id, {"user_id": user.id, "email": user.email})
        ]


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"current_password": "not my password"}, "current_password"),
        ({"password": "short", "password_confirmation": "short"}, "password"),
        ({"password_confirmation": "a different passphrase"}, "password"),
    ],
)
def test_change_password_checks(
    client: TestClient,
    factory: Factory,
    two_nations: tuple[NationInfo, NationInfo, UserInfo],
    fields: dict[str, str],
    field: str,
) -> None:
    first, _, user = two_nations
    before = password_hash(factory, user)

    response = change(client, first, **fields)

    assert response.status_code == 400
    assert list(parse(response.text).field_errors()) == [field]
    assert password_hash(factory, user) == before


def test_change_password_needs_csrf(
    client: TestClient, factory: Factory, two_nations: tuple[NationInfo, NationInfo, UserInfo]
) -> None:
    first, _, user = two_nations
    before = password_hash(factory, user)

    response = change(client, first, csrf_token="forged")

    assert response.status_code == 403
    assert password_hash(factory, user) == before


def test_account_form_labels_inputs(
    client: TestClient, two_nations: tuple[NationInfo, NationInfo, UserInfo]
) -> None:
    first, _, _ = two_nations
    page = parse(client.get(first.prefix + ACCOUNT).text)

    for name in ("current_password", "password", "password_confirmation"):
        assert page.label_for(page.input(name).attrs["id"]).text, name
