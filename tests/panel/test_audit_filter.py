"""Settings > Audit log: the filter by group or exact kind, and keyset pages of events."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session
from starlette.testclient import TestClient

from citizenry import audit
from citizenry.store.models import AuditEvent
from tests.factory import Factory
from tests.panel.admin_browser import AdminBrowser, signed_in_admin
from tests.panel.html_tree import Node

AUDIT = "/admin/settings/audit"


@pytest.fixture
def admin(client: TestClient, factory: Factory) -> AdminBrowser:
    return signed_in_admin(client, factory)


def write_events(admin: AdminBrowser, kinds: list[str]) -> list[int]:
    """Add events of ``kinds``, oldest first, each with its index in ``detail``; returns their ids."""

    def create(session: Session) -> list[int]:
        rows = [
            AuditEvent(nation_id=admin.nation.id, kind=kind, detail={"n": index})
            for index, kind in enumerate(kinds)
        ]
        session.add_all(rows)
        session.flush()
        return [row.id for row in rows]

    return admin.factory.database.transaction(create)


def shown(page: Node) -> list[str]:
    return [row.attrs["data-kind"] for row in page.by_test_id("audit-event")]


def shown_numbers(page: Node) -> list[int]:
    """Return the ``n`` detail of each listed event, from its Details cell."""
    numbers = []
    for row in page.by_test_id("audit-event"):
        details = row.find_all("td")[-1].text
        numbers.append(int(details.removeprefix("n=")))
    return numbers


def test_select_offers_groups_and_kinds(admin: AdminBrowser) -> None:
    select = admin.page(AUDIT).input("event")

    values = [option.attrs["value"] for option in select.find_all("option")]
    assert values[0] == ""
    for kind in audit.KINDS:
        assert kind in values
    for group in ("app", "member", "nation", "permission_set", "user", "token", "test_token"):
        assert group in values
    assert select.attrs["id"] == "event"


def test_filter_by_exact_kind(admin: AdminBrowser) -> None:
    write_events(admin, ["member.invited", "member.joined", "member.invited", "nation.updated"])

    page = admin.page(AUDIT, event="member.invited")

    assert shown(page) == ["member.invited", "member.invited"]
    selected = [option for option in page.input("event").find_all("option") if "selected" in option.attrs]
    assert [option.attrs["value"] for option in selected] == ["member.invited"]


def test_filter_by_group(admin: AdminBrowser) -> None:
    write_events(admin, ["member.invited", "token.issued", "member.removed", "test_token.created"])

    assert shown(admin.page(AUDIT, event="member")) == ["member.removed", "member.invited"]
    assert shown(admin.page(AUDIT, event="token")) == ["token.issued"]


@pytest.mark.parametrize("value", ["member.", "nope", "member.unknown", "%", "MEMBER"])
def test_unknown_filter_shows_every_event(admin: AdminBrowser, value: str) -> None:
    write_events(admin, ["member.invited", "nation.updated"])

    assert shown(admin.page(AUDIT, event=value)) == ["nation.updated", "member.invited"]


def test_filter_without_matches(admin: AdminBrowser) -> None:
    write_events(admin, ["nation.updated"])

    page = admin.page(AUDIT, event="member.removed")

    assert shown(page) == []
    assert page.one("no-events")


def test_pages_through_events(admin: AdminBrowser) -> None:
    write_events(admin, ["nation.updated"] * 120)

    first = admin.page(AUDIT)
    assert shown_numbers(first) == list(range(119, 69, -1))
    assert first.by_test_id("page-newer") == []
    second = admin.follow(first.one("page-older").attrs["href"])
    assert shown_numbers(second) == list(range(69, 19, -1))
    third = admin.follow(second.one("page-older").attrs["href"])
    assert shown_numbers(third) == list(range(19, -1, -1))
    assert third.by_test_id("page-older") == []

    back = admin.follow(third.one("page-newer").attrs["href"])
    assert shown_numbers(back) == list(range(69, 19, -1))
    top = admin.follow(back.one("page-newer").attrs["href"])
    assert shown_numbers(top) == list(range(119, 69, -1))
    assert top.by_test_id("page-newer") == []


def test_pages_keep_the_filter(admin: AdminBrowser) -> None:
    write_events(admin, ["member.invited", "nation.updated"] * 60)

    first = admin.page(AUDIT, event="member.invited")
    second = admin.follow(first.one("page-older").attrs["href"])

    assert len(shown(first)) == 50
    assert shown(second) == ["member.invited"] * 10
    assert second.by_test_id("page-older") == []


def test_page_link_of_other_nation_rejected(
    admin: AdminBrowser, client: TestClient, factory: Factory
) -> None:
    write_events(admin, ["nation.updated"] * 51)
    link = admin.page(AUDIT).one("page-older").attrs["href"]
    other = signed_in_admin(client, factory)

    response = client.get(link.replace(admin.nation.prefix, other.nation.prefix))

    assert response.status_code == 400


def test_staffer_cannot_read_audit(client: TestClient, factory: Factory) -> None:
    staffer = signed_in_admin(client, factory, level="staffer")

    assert staffer.get(AUDIT).status_code == 403
