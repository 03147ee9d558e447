"""Settings > Users: permission sets, removal, the last admin, reset links, and invitations by link."""

from __future__ import annotations

import secrets
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from starlette.testclient import TestClient

from citizenry.panel import invitations
from citizenry.store.models import Membership
from tests.factory import Factory, NationInfo, UserInfo
from tests.flows import hidden_field, sign_in
from tests.panel.admin_browser import AdminBrowser, signed_in_admin
from tests.panel.html_tree import Node, parse

USERS = "/admin/settings/users"


@pytest.fixture
def admin(client: TestClient, factory: Factory) -> AdminBrowser:
    return signed_in_admin(client, factory)


def levels_on_page(admin: AdminBrowser) -> dict[int, str]:
    page = admin.page(USERS)
    return {int(row.attrs["data-user-id"]): row.attrs["data-level"] for row in page.by_test_id("member-row")}


def levels_stored(admin: AdminBrowser, nation: NationInfo | None = None) -> dict[int, str]:
    rows = admin.rows("memberships", nation_id=(nation or admin.nation).id)
    return {row["user_id"]: row["permission_level"] for row in rows}


def add_membership(factory: Factory, user: UserInfo, nation: NationInfo, level: str) -> None:
    factory.database.transaction(
        lambda session: session.add(Membership(user_id=user.id, nation_id=nation.id, permission_level=level))
    )


def new_email() -> str:
    return f"new-{secrets.token_hex(5)}@example.org"


def invite(admin: AdminBrowser, email: str, level: str = "staffer") -> str:
    """Make an invitation on Settings > Users and return the link the page shows."""
    response = admin.post(f"{USERS}/invite", {"email": email, "level": level})
    assert response.status_code == 200, response.text
    link = parse(response.text).one("link").attrs["value"]
    assert link.startswith(f"http://testserver{admin.nation.prefix}/join?token=")
    return link


def join_step(page: Node) -> str:
    return page.one("join").attrs["data-step"]


def join_form(client: TestClient, link: str, **fields: str) -> Any:
    """Open an invitation link and submit its form with ``fields``."""
    page = client.get(link)
    assert page.status_code == 200, page.text
    path = urlsplit(link).path
    # Some steps show no form; every page of the session shares one CSRF token.
    csrf = hidden_field(client.get(path.removesuffix("/join") + "/login").text, "csrf_token")
    token = parse_qs(urlsplit(link).query)["token"][0]
    return client.post(path, data={"csrf_token": csrf, "token": token, **fields})


def link_problem(response: Any) -> str:
    return parse(response.text).one("link-problem").attrs["data-reason"]


NEW_ACCOUNT = {
    "full_name": "Rosa Parks",
    "password": "a long new password",
    "password_confirmation": "a long new password",
}


# The list of members and their permission sets


def test_page_lists_members(admin: AdminBrowser, factory: Factory) -> None:
    staffer = factory.user(admin.nation, level="staffer")
    factory.user(factory.nation())

    assert levels_on_page(admin) == {admin.user.id: "admin", staffer.id: "staffer"}


def test_level_select_is_labelled(admin: AdminBrowser, factory: Factory) -> None:
    staffer = factory.user(admin.nation, level="staffer")
    page = admin.page(USERS)

    select = page.input("level")
    assert select.tag == "select"
    assert page.label_for(f"level-{admin.user.id}").text
    assert page.label_for(f"level-{staffer.id}").text


def test_change_level(admin: AdminBrowser, factory: Factory) -> None:
    staffer = factory.user(admin.nation, level="staffer")

    response = admin.post(f"{USERS}/{staffer.id}/level", {"level": "admin"})

    assert response.status_code == 303
    assert response.headers["location"] == admin.url(USERS) + "?done=level_changed"
    assert levels_stored(admin)[staffer.id] == "admin"
    (event,) = admin.audit_events("member.")
    assert event["kind"] == "member.level_changed"
    assert event["actor_user_id"] == admin.user.id
    assert event["detail"] == {
        "user_id": staffer.id,
        "email": staffer.email,
        "level": "admin",
        "previous_level": "staffer",
    }


def test_same_level_changes_nothing(admin: AdminBrowser, factory: Factory) -> None:
    staffer = factory.user(admin.nation, level="staffer")

    response = admin.post(f"{USERS}/{staffer.id}/level", {"level": "staffer"})

    assert response.headers["location"].endswith("?done=level_unchanged")
    assert admin.audit_events("member.") == []


def test_last_admin_cannot_demote_self(admin: AdminBrowser, factory: Factory) -> None:
    factory.user(admin.nation, level="staffer")

    response = admin.post(f"{USERS}/{admin.user.id}/level", {"level": "staffer"})

    assert response.status_code == 409
    assert parse(response.text).one("problem")
    assert levels_stored(admin)[admin.user.id] == "admin"
    assert admin.audit_events("member.") == []


def test_admin_may_demote_self_beside_another(admin: AdminBrowser, factory: Factory) -> None:
    other = factory.user(admin.nation, level="admin")

    response = admin.post(f"{USERS}/{admin.user.id}/level", {"level": "staffer"})

    assert response.status_code == 303
    assert levels_stored(admin) == {admin.user.id: "staffer", other.id: "admin"}
    assert admin.get(USERS).status_code == 403


def test_unknown_level_rejected(admin: AdminBrowser, factory: Factory) -> None:
    staffer = factory.user(admin.nation, level="staffer")

    response = admin.post(f"{USERS}/{staffer.id}/level", {"level": "owner"})

    assert response.status_code == 400
    assert levels_stored(admin)[staffer.id] == "staffer"


def test_member_of_other_nation_not_found(admin: AdminBrowser, factory: Factory) -> None:
    other_nation = factory.nation()
    outsider = factory.user(other_nation, level="staffer")

    assert admin.post(f"{USERS}/{outsider.id}/level", {"level": "admin"}).status_code == 404
    assert admin.get(f"{USERS}/{outsider.id}/remove").status_code == 404
    assert admin.post(f"{USERS}/{outsider.id}/remove").status_code == 404
    assert levels_stored(admin, other_nation) == {outsider.id: "staffer"}


# Removing a member


def test_remove_asks_for_confirmation(admin: AdminBrowser, factory: Factory) -> None:
    staffer = factory.user(admin.nation, level="staffer")
    remove = admin.url(f"{USERS}/{staffer.id}/remove")

    assert remove in admin.page(USERS).links()
    page = admin.page(f"{USERS}/{staffer.id}/remove")

    assert page.form(remove).find_all("button", type="submit")
    assert staffer.id in levels_stored(admin)


def test_remove_member(admin: AdminBrowser, factory: Factory) -> None:
    staffer = factory.user(admin.nation, level="staffer")

    response = admin.post(f"{USERS}/{staffer.id}/remove")

    assert response.status_code == 303
    assert response.headers["location"] == admin.url(USERS) + "?done=removed"
    assert levels_stored(admin) == {admin.user.id: "admin"}
    assert len(admin.rows("users", id=staffer.id)) == 1
    (event,) = admin.audit_events("member.")
    assert event["kind"] == "member.removed"
    assert event["detail"] == {"user_id": staffer.id, "email": staffer.email, "level": "staffer"}


def test_removed_member_loses_api(admin: AdminBrowser, factory: Factory) -> None:
    other = factory.user(admin.nation, level="admin")
    token = factory.test_token(admin.nation, other)
    headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
    assert admin.client.get(admin.url("/api/v1/people"), headers=headers).status_code == 200

    admin.post(f"{USERS}/{other.id}/remove")

    assert admin.client.get(admin.url("/api/v1/people"), headers=headers).status_code == 401


def test_last_admin_cannot_remove_self(admin: AdminBrowser) -> None:
    response = admin.post(f"{USERS}/{admin.user.id}/remove")

    assert response.status_code == 409
    assert parse(response.text).one("problem")
    assert levels_stored(admin) == {admin.user.id: "admin"}


def test_removing_self_opens_account_page(admin: AdminBrowser, factory: Factory) -> None:
    factory.user(admin.nation, level="admin")

    response = admin.post(f"{USERS}/{admin.user.id}/remove")

    assert response.status_code == 303
    assert response.headers["location"] == admin.url("/admin/account?done=left")
    assert admin.page("/admin/account", done="left").by_test_id("notice")
    assert admin.get("/admin").status_code == 403


# Who may use the page


def test_staffer_cannot_manage_users(client: TestClient, factory: Factory) -> None:
    staffer = signed_in_admin(client, factory, level="staffer")
    admin_user = factory.user(staffer.nation, level="admin")

    assert staffer.get(USERS).status_code == 403
    assert staffer.post(f"{USERS}/{staffer.user.id}/level", {"level": "admin"}).status_code == 403
    assert staffer.post(f"{USERS}/{admin_user.id}/remove").status_code == 403
    assert staffer.post(f"{USERS}/{admin_user.id}/reset_link").status_code == 403
    assert staffer.post(f"{USERS}/invite", {"email": new_email(), "level": "admin"}).status_code == 403
    assert levels_stored(staffer) == {staffer.user.id: "staffer", admin_user.id: "admin"}
    assert staffer.audit_events() == []


def test_writes_need_csrf(admin: AdminBrowser, factory: Factory) -> None:
    staffer = factory.user(admin.nation, level="staffer")
    link = invite(admin, new_email())
    invitation_id = admin.audit_events("member.invited")[0]["detail"]["invitation"]

    assert admin.post(f"{USERS}/{staffer.id}/level", {"level": "admin"}, csrf=False).status_code == 403
    assert admin.post(f"{USERS}/{staffer.id}/remove", csrf=False).status_code == 403
    assert admin.post(f"{USERS}/{staffer.id}/reset_link", csrf=False).status_code == 403
    assert (
        admin.post(f"{USERS}/invite", {"email": new_email(), "level": "staffer"}, csrf=False).status_code
        == 403
    )
    cancel = admin.post(f"{USERS}/invitations/cancel", {"invitation": invitation_id}, csrf=False)
    assert cancel.status_code == 403
    assert levels_stored(admin)[staffer.id] == "staffer"
    assert [event["kind"] for event in admin.audit_events()] == ["member.invited"]
    assert admin.client.get(link).status_code == 200


# Password reset links made on the page


def test_reset_link_for_member(admin: AdminBrowser, factory: Factory, app_fixture_client: TestClient) -> None:
    staffer = factory.user(admin.nation, level="staffer")

    response = admin.post(f"{USERS}/{staffer.id}/reset_link")

    assert response.status_code == 200
    link = parse(response.text).one("link").attrs["value"]
    assert link.startswith(f"http://testserver{admin.nation.prefix}/password/reset?token=")
    reset_page = parse(app_fixture_client.get(link).text)
    assert reset_page.one("reset-email").text == staffer.email
    (event,) = admin.audit_events("user.")
    assert event["kind"] == "user.password_reset_link_created"
    assert event["detail"] == {"user_id": staffer.id, "email": staffer.email, "via": "panel"}


def test_reset_link_rejected_across_nations(admin: AdminBrowser, factory: Factory) -> None:
    """An admin of one nation cannot take over an account that also opens a nation they do not run."""
    shared = factory.user(admin.nation, level="staffer")
    add_membership(factory, shared, factory.nation(), "admin")

    buttons = admin.page(USERS).find_all("form", action=admin.url(f"{USERS}/{shared.id}/reset_link"))
    response = admin.post(f"{USERS}/{shared.id}/reset_link")

    assert buttons == []
    assert response.status_code == 403
    assert admin.audit_events("user.") == []


# Invitations


def test_invitation_creates_account(admin: AdminBrowser, app_fixture_client: TestClient) -> None:
    email = new_email()
    link = invite(admin, email.upper(), level="admin")
    newcomer = app_fixture_client

    page = parse(newcomer.get(link).text)
    assert join_step(page) == "new_account"
    assert page.one("invited-email").text == email
    response = join_form(newcomer, link, **NEW_ACCOUNT)

    assert response.status_code == 303
    assert response.headers["location"] == admin.url("/admin?done=joined")
    (user,) = admin.rows("users", email=email)
    assert user["full_name"] == "Rosa Parks"
    assert levels_stored(admin)[user["id"]] == "admin"
    assert newcomer.get(admin.url("/admin")).status_code == 200
    kinds = [event["kind"] for event in admin.audit_events("member.")]
    assert kinds == ["member.invited", "member.joined"]
    joined = admin.audit_events("member.joined")[0]
    assert joined["actor_user_id"] == user["id"]
    assert joined["detail"]["new_account"] is True


def test_new_account_signs_in_with_password(
    admin: AdminBrowser, app_fixture_client: TestClient, factory: Factory
) -> None:
    email = new_email()
    join_form(app_fixture_client, invite(admin, email), **NEW_ACCOUNT)
    app_fixture_client.cookies.clear()

    signed_in = sign_in(app_fixture_client, admin.nation.prefix, email, password=NEW_ACCOUNT["password"])

    assert signed_in.status_code == 303


def test_invitation_works_once(admin: AdminBrowser, app_fixture_client: TestClient) -> None:
    link = invite(admin, new_email())
    assert join_form(app_fixture_client, link, **NEW_ACCOUNT).status_code == 303

    again = app_fixture_client.get(link)

    assert again.status_code == 410
    assert link_problem(again) == "used"


def test_invitation_stays_used_after_removal(admin: AdminBrowser, app_fixture_client: TestClient) -> None:
    email = new_email()
    link = invite(admin, email)
    join_form(app_fixture_client, link, **NEW_ACCOUNT)
    (user,) = admin.rows("users", email=email)
    admin.post(f"{USERS}/{user['id']}/remove")

    response = app_fixture_client.get(link)

    assert response.status_code == 410
    assert link_problem(response) == "used"
    assert user["id"] not in levels_stored(admin)


def test_expired_invitation_rejected(
    admin: AdminBrowser, app_fixture_client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    email = new_email()
    link = invite(admin, email)
    csrf = hidden_field(app_fixture_client.get(admin.url("/login")).text, "csrf_token")
    monkeypatch.setattr(invitations, "INVITATION_MAX_AGE", -1)

    page = app_fixture_client.get(link)
    token = parse_qs(urlsplit(link).query)["token"][0]
    posted = app_fixture_client.post(
        admin.url("/join"), data={"csrf_token": csrf, "token": token, **NEW_ACCOUNT}
    )

    assert page.status_code == 410
    assert link_problem(page) == "expired"
    assert posted.status_code == 410
    assert admin.rows("users", email=email) == []


@pytest.mark.parametrize("damage", ["truncate", "flip", "empty"])
def test_damaged_invitation_rejected(
    admin: AdminBrowser, app_fixture_client: TestClient, damage: str
) -> None:
    link = invite(admin, new_email())
    token = parse_qs(urlsplit(link).query)["token"][0]
    # The signature's last base64 character carries padding bits that decoding ignores, so the
    # flip changes a character that carries six bits of the signature.
    flipped = token[:-5] + ("A" if token[-5] != "A" else "B") + token[-4:]
    damaged = {"truncate": token[:-4], "flip": flipped, "empty": ""}[damage]

    response = app_fixture_client.get(admin.url("/join"), params={"token": damaged})

    assert response.status_code == 400
    assert link_problem(response) == "invalid"


def test_invitation_only_for_its_nation(
    admin: AdminBrowser, factory: Factory, app_fixture_client: TestClient
) -> None:
    link = invite(admin, new_email())
    other = factory.nation()

    response = app_fixture_client.get(link.replace(admin.nation.prefix, other.prefix))

    assert response.status_code == 400
    assert link_problem(response) == "invalid"


def test_existing_account_signs_in_to_join(
    admin: AdminBrowser, factory: Factory, app_fixture_client: TestClient
) -> None:
    existing = factory.user(factory.nation(), level="admin")
    link = invite(admin, existing.email)

    first = parse(app_fixture_client.get(link).text)
    assert join_step(first) == "sign_in"
    sign_in_url = first.one("sign-in-to-join").attrs["href"]
    assert urlsplit(sign_in_url).path == admin.url("/login")
    next_path = parse_qs(urlsplit(sign_in_url).query)["next"][0]
    signed_in = sign_in(app_fixture_client, admin.nation.prefix, existing.email, next_path=next_path)
    assert signed_in.headers["location"] == next_path

    confirm = parse(app_fixture_client.get(next_path).text)
    assert join_step(confirm) == "confirm"
    response = join_form(app_fixture_client, link)

    assert response.status_code == 303
    assert levels_stored(admin)[existing.id] == "staffer"
    assert len(admin.rows("users", email=existing.email)) == 1
    assert admin.audit_events("member.joined")[0]["detail"]["new_account"] is False


def test_existing_account_never_takes_new_password(
    admin: AdminBrowser, factory: Factory, app_fixture_client: TestClient
) -> None:
    existing = factory.user(factory.nation())
    link = invite(admin, existing.email)
    (before,) = admin.rows("users", id=existing.id)

    response = join_form(app_fixture_client, link, **NEW_ACCOUNT)

    assert response.status_code == 409
    assert join_step(parse(response.text)) == "sign_in"
    assert admin.rows("users", id=existing.id) == [before]
    assert existing.id not in levels_stored(admin)


def test_wrong_account_cannot_join(
    admin: AdminBrowser, factory: Factory, app_fixture_client: TestClient
) -> None:
    invited = factory.user(factory.nation())
    stranger = factory.user(factory.nation())
    link = invite(admin, invited.email)
    sign_in(app_fixture_client, admin.nation.prefix, stranger.email)

    page = parse(app_fixture_client.get(link).text)
    response = join_form(app_fixture_client, link)

    assert join_step(page) == "wrong_account"
    assert response.status_code == 409
    assert invited.id not in levels_stored(admin)
    assert stranger.id not in levels_stored(admin)


def test_member_sees_already_member(
    admin: AdminBrowser, factory: Factory, app_fixture_client: TestClient
) -> None:
    invited = factory.user(factory.nation())
    link = invite(admin, invited.email)
    add_membership(factory, invited, admin.nation, "staffer")
    sign_in(app_fixture_client, admin.nation.prefix, invited.email)

    page = parse(app_fixture_client.get(link).text)

    assert join_step(page) == "already_member"
    assert page.one("already-member")


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({**NEW_ACCOUNT, "password": "short", "password_confirmation": "short"}, "password"),
        ({**NEW_ACCOUNT, "password_confirmation": "another long password"}, "password"),
        ({**NEW_ACCOUNT, "full_name": "   "}, "full_name"),
        ({**NEW_ACCOUNT, "full_name": "x" * 256}, "full_name"),
    ],
)
def test_new_account_rules(
    admin: AdminBrowser, app_fixture_client: TestClient, fields: dict[str, str], field: str
) -> None:
    email = new_email()
    link = invite(admin, email)

    response = join_form(app_fixture_client, link, **fields)

    assert response.status_code == 400
    assert list(parse(response.text).field_errors()) == [field]
    assert admin.rows("users", email=email) == []
    assert app_fixture_client.get(link).status_code == 200


def test_join_needs_csrf(admin: AdminBrowser, app_fixture_client: TestClient) -> None:
    email = new_email()
    link = invite(admin, email)
    token = parse_qs(urlsplit(link).query)["token"][0]
    app_fixture_client.get(link)

    response = app_fixture_client.post(admin.url("/join"), data={"token": token, **NEW_ACCOUNT})

    assert response.status_code == 403
    assert admin.rows("users", email=email) == []


@pytest.mark.parametrize(
    ("email", "level", "field"),
    [("not-an-address", "staffer", "email"), ("", "staffer", "email"), ("a@example.org", "owner", "level")],
)
def test_invite_invalid_values(admin: AdminBrowser, email: str, level: str, field: str) -> None:
    response = admin.post(f"{USERS}/invite", {"email": email, "level": level})

    assert response.status_code == 400
    page = parse(response.text)
    assert list(page.field_errors()) == [field]
    assert page.by_test_id("link") == []
    assert admin.audit_events("member.") == []


def test_invite_existing_member_rejected(admin: AdminBrowser, factory: Factory) -> None:
    staffer = factory.user(admin.nation, level="staffer")

    response = admin.post(f"{USERS}/invite", {"email": staffer.email, "level": "admin"})

    assert response.status_code == 400
    assert list(parse(response.text).field_errors()) == ["email"]


def test_open_invitations_listed(admin: AdminBrowser, app_fixture_client: TestClient) -> None:
    waiting, joining = new_email(), new_email()
    invite(admin, waiting)
    join_form(app_fixture_client, invite(admin, joining), **NEW_ACCOUNT)

    rows = admin.page(USERS).by_test_id("invitation-row")

    assert [row.attrs["data-email"] for row in rows] == [waiting]


def test_cancel_invitation(admin: AdminBrowser, app_fixture_client: TestClient) -> None:
    email = new_email()
    link = invite(admin, email)
    page = admin.page(USERS)
    (row,) = page.by_test_id("invitation-row")
    fields = row.form(admin.url(f"{USERS}/invitations/cancel")).fields()

    response = admin.post(f"{USERS}/invitations/cancel", {"invitation": fields["invitation"]})

    assert response.status_code == 303
    assert response.headers["location"].endswith("?done=invitation_cancelled")
    assert admin.page(USERS).by_test_id("invitation-row") == []
    opened = app_fixture_client.get(link)
    assert opened.status_code == 410
    assert link_problem(opened) == "used"
    assert [event["kind"] for event in admin.audit_events("member.")] == [
        "member.invited",
        "member.invitation_cancelled",
    ]


def test_cancel_unknown_invitation(admin: AdminBrowser) -> None:
    response = admin.post(f"{USERS}/invitations/cancel", {"invitation": "no-such-invitation"})

    assert response.status_code == 404
    assert admin.audit_events("member.") == []
