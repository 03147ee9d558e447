"""Settings, Settings > Nation and Settings > Permission sets: what they show, save, reject and audit."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.testclient import TestClient

from tests.factory import Factory
from tests.panel.admin_browser import AdminBrowser, signed_in_admin
from tests.panel.html_tree import Node, parse

SETTINGS = "/admin/settings"
NATION = "/admin/settings/nation"
PERMISSION_SETS = "/admin/settings/permission_sets"


@pytest.fixture
def admin(client: TestClient, factory: Factory) -> AdminBrowser:
    return signed_in_admin(client, factory)


def nation_row(admin: AdminBrowser) -> dict[str, Any]:
    (row,) = admin.rows("nations", id=admin.nation.id)
    return row


def stored_sets(admin: AdminBrowser) -> dict[str, tuple[bool, bool]]:
    rows = admin.rows("permission_sets", nation_id=admin.nation.id)
    return {row["level"]: (row["api"], row["sign_into_apps"]) for row in rows}


def nation_form(admin: AdminBrowser) -> dict[str, str]:
    page = admin.page(NATION)
    fields = page.form(admin.url(NATION)).fields()
    del fields["csrf_token"]
    return fields


def switches(page: Node) -> dict[str, dict[str, bool]]:
    """Return the ticked state of each permission set's checkboxes, by level."""
    shown: dict[str, dict[str, bool]] = {}
    for fieldset in page.by_test_id("permission-set"):
        level = fieldset.attrs["data-level"]
        boxes = fieldset.find_all("input", type="checkbox")
        shown[level] = {box.attrs["name"].removeprefix(level + "_"): "checked" in box.attrs for box in boxes}
    return shown


# The index


def test_index_links_every_settings_page(admin: AdminBrowser) -> None:
    links = admin.page(SETTINGS).one("settings-index").links()

    for path in (
        NATION,
        "/admin/settings/users",
        PERMISSION_SETS,
        "/admin/settings/developer",
        "/admin/settings/audit",
        "/admin/settings/authorized_apps",
        "/admin/settings/custom_fields",
    ):
        assert admin.url(path) in links, path


def test_navigation_links_settings(admin: AdminBrowser) -> None:
    links = admin.page("/admin").find_all("nav")[0].links()

    assert admin.url(SETTINGS) in links
    assert admin.url("/admin/account") in links
    assert admin.url("/admin/settings/developer") in links


# Settings > Nation


def test_nation_form_shows_saved_values(admin: AdminBrowser) -> None:
    fields = nation_form(admin)

    assert fields == {"name": admin.nation.name, "plan": "enterprise"}


def test_nation_form_labels_its_inputs(admin: AdminBrowser) -> None:
    page = admin.page(NATION)

    for name in ("name", "plan"):
        node = page.input(name)
        assert page.label_for(node.attrs["id"]).text


def test_nation_save_changes_every_field(admin: AdminBrowser) -> None:
    response = admin.post(
        NATION, {"name": "  Riverside Greens ", "plan": "organizer", "strict_profile": "on"}
    )

    assert response.status_code == 303
    assert response.headers["location"] == admin.url(NATION) + "?done=saved"
    row = nation_row(admin)
    assert (row["name"], row["plan"], row["strict_profile"]) == ("Riverside Greens", "organizer", True)
    assert admin.page(NATION, done="saved").by_test_id("notice")


def test_nation_save_is_audited(admin: AdminBrowser) -> None:
    admin.post(NATION, {"name": admin.nation.name, "plan": "starter"})

    (event,) = admin.audit_events("nation.")
    assert event["kind"] == "nation.updated"
    assert event["actor_user_id"] == admin.user.id
    assert event["detail"] == {"plan": "starter", "previous_plan": "enterprise"}


def test_nation_unchanged_form_writes_nothing(admin: AdminBrowser) -> None:
    response = admin.post(NATION, nation_form(admin))

    assert response.status_code == 303
    assert response.headers["location"].endswith("?done=unchanged")
    assert admin.audit_events("nation.") == []


def test_strict_profile_switches_off(admin: AdminBrowser) -> None:
    admin.post(NATION, {"name": admin.nation.name, "plan": "enterprise", "strict_profile": "on"})

    admin.post(NATION, {"name": admin.nation.name, "plan": "enterprise"})

    assert nation_row(admin)["strict_profile"] is False
    page = admin.page(NATION)
    assert "checked" not in page.input("strict_profile").attrs


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"name": "   ", "plan": "starter"}, "name"),
        ({"name": "x" * 256, "plan": "starter"}, "name"),
        ({"name": "Fine", "plan": "platinum"}, "plan"),
        ({"name": "Fine"}, "plan"),
    ],
)
def test_nation_invalid_values_rejected(admin: AdminBrowser, data: dict[str, str], field: str) -> None:
    before = nation_row(admin)

    response = admin.post(NATION, data)

    assert response.status_code == 400
    assert list(parse(response.text).field_errors()) == [field]
    assert nation_row(admin) == before
    assert admin.audit_events("nation.") == []


def test_nation_save_needs_csrf(admin: AdminBrowser) -> None:
    response = admin.post(NATION, {"name": "Changed", "plan": "starter"}, csrf=False)

    assert response.status_code == 403
    assert nation_row(admin)["name"] == admin.nation.name


def test_staffer_cannot_open_or_save_settings(client: TestClient, factory: Factory) -> None:
    staffer = signed_in_admin(client, factory, level="staffer")

    assert staffer.get(SETTINGS).status_code == 403
    assert staffer.get(NATION).status_code == 403
    assert staffer.get(PERMISSION_SETS).status_code == 403
    assert staffer.post(NATION, {"name": "Taken", "plan": "starter"}).status_code == 403
    assert staffer.post(PERMISSION_SETS, {"staffer_sign_into_apps": "on"}).status_code == 403
    assert nation_row(staffer)["name"] == staffer.nation.name
    assert stored_sets(staffer) == {}


def test_signed_out_visitor_goes_to_sign_in(client: TestClient, factory: Factory) -> None:
    nation = factory.nation()

    for path in (SETTINGS, NATION, PERMISSION_SETS):
        response = client.get(nation.prefix + path)
        assert response.status_code == 303
        assert response.headers["location"].startswith(f"{nation.prefix}/login?")


# Settings > Permission sets


def test_permission_sets_show_defaults(admin: AdminBrowser) -> None:
    shown = switches(admin.page(PERMISSION_SETS))

    assert shown == {
        "admin": {"api": True, "sign_into_apps": True},
        "staffer": {"api": True, "sign_into_apps": False},
    }


def test_permission_sets_save(admin: AdminBrowser) -> None:
    response = admin.post(
        PERMISSION_SETS, {"admin_api": "on", "admin_sign_into_apps": "on", "staffer_sign_into_apps": "on"}
    )

    assert response.status_code == 303
    assert response.headers["location"] == admin.url(PERMISSION_SETS) + "?done=saved"
    assert stored_sets(admin) == {"staffer": (False, True)}
    assert switches(admin.page(PERMISSION_SETS))["staffer"] == {"api": False, "sign_into_apps": True}


def test_permission_sets_audit_each_level(admin: AdminBrowser) -> None:
    admin.post(
        PERMISSION_SETS, {"admin_sign_into_apps": "on", "staffer_api": "on", "staffer_sign_into_apps": "on"}
    )

    events = admin.audit_events("permission_set.")
    assert [event["detail"] for event in events] == [
        {"level": "admin", "api": False, "sign_into_apps": True},
        {"level": "staffer", "api": True, "sign_into_apps": True},
    ]
    assert {event["actor_user_id"] for event in events} == {admin.user.id}


def test_permission_sets_unchanged_writes_nothing(admin: AdminBrowser) -> None:
    response = admin.post(
        PERMISSION_SETS, {"admin_api": "on", "admin_sign_into_apps": "on", "staffer_api": "on"}
    )

    assert response.headers["location"].endswith("?done=unchanged")
    assert stored_sets(admin) == {}
    assert admin.audit_events("permission_set.") == []


def test_permission_sets_need_csrf(admin: AdminBrowser) -> None:
    response = admin.post(PERMISSION_SETS, {"staffer_sign_into_apps": "on"}, csrf=False)

    assert response.status_code == 403
    assert stored_sets(admin) == {}


def test_api_switch_off_closes_api(admin: AdminBrowser, client: TestClient, factory: Factory) -> None:
    """Switching the API off for admins closes the API to admin tokens, as the CLI's switch does."""
    token = factory.test_token(admin.nation, admin.user)
    headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
    assert client.get(admin.url("/api/v1/people"), headers=headers).status_code == 200

    admin.post(PERMISSION_SETS, {"admin_sign_into_apps": "on", "staffer_api": "on"})

    assert client.get(admin.url("/api/v1/people"), headers=headers).status_code == 401
