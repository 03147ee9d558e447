"""The consent page, and the pages for an unknown nation, an unknown app or a wrong callback URL."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session
from starlette.testclient import TestClient

from citizenry.store.models import Nation
from citizenry.tenancy.permissions import set_permissions
from tests.factory import CALLBACK, AppInfo, Factory, NationInfo, UserInfo
from tests.flows import consent_page, sign_in
from tests.panel.html_tree import Node, parse


def params(app: AppInfo, **extra: str) -> dict[str, str]:
    return {
        "response_type": "code",
        "client_id": app.client_id,
        "redirect_uri": CALLBACK,
        "state": "s1",
        **extra,
    }


def switch(factory: Factory, nation: NationInfo, level: str, **switches: bool) -> None:
    def change(session: Session) -> None:
        row = session.get(Nation, nation.id)
        assert row is not None
        set_permissions(session, row, level, **switches)

    factory.database.transaction(change)


def heading(page: Node) -> str:
    return page.find_all("h1")[0].text


def access_of(page: Node) -> str:
    return page.one("consent-abilities").attrs["data-access"]


@pytest.fixture
def setup(factory: Factory) -> tuple[NationInfo, UserInfo, AppInfo]:
    nation = factory.nation(name="Springfield Greens")
    return nation, factory.user(nation), factory.app(nation)


# The consent page


def test_consent_names_app_nation_and_owner(client: TestClient, factory: Factory) -> None:
    developer = factory.nation(name="Canvass Tools Inc")
    app = factory.app(developer)
    nation = factory.nation(name="Springfield Greens")
    user = factory.user(nation)
    sign_in(client, nation.prefix, user.email)

    response = consent_page(client, nation.prefix, params(app))

    assert response.status_code == 200
    page = parse(response.text)
    assert page.one("consent-app").text == "Test App (registered by Canvass Tools Inc)"
    assert page.one("consent-nation").text == f"Springfield Greens ({nation.slug})"


def test_admin_consent_covers_people(client: TestClient, setup: tuple[NationInfo, UserInfo, AppInfo]) -> None:
    nation, user, app = setup
    sign_in(client, nation.prefix, user.email)

    page = parse(consent_page(client, nation.prefix, params(app)).text)

    assert access_of(page) == "people"
    assert len(page.one("consent-abilities").find_all("li")) == 3


def test_staffer_consent_covers_own_record(client: TestClient, factory: Factory) -> None:
    nation = factory.nation()
    staffer = factory.user(nation, level="staffer")
    app = factory.app(nation)
    switch(factory, nation, "staffer", sign_into_apps=True)
    sign_in(client, nation.prefix, staffer.email)

    page = parse(consent_page(client, nation.prefix, params(app)).text)

    assert access_of(page) == "own-record"


@pytest.mark.parametrize("level", ["admin", "staffer"])
def test_consent_without_api_covers_nothing(client: TestClient, factory: Factory, level: str) -> None:
    nation = factory.nation()
    user = factory.user(nation, level=level)
    app = factory.app(nation)
    switch(factory, nation, level, api=False, sign_into_apps=True)
    sign_in(client, nation.prefix, user.email)

    page = parse(consent_page(client, nation.prefix, params(app)).text)

    assert access_of(page) == "none"


def test_consent_buttons_unchanged(client: TestClient, setup: tuple[NationInfo, UserInfo, AppInfo]) -> None:
    nation, user, app = setup
    sign_in(client, nation.prefix, user.email)

    page = parse(consent_page(client, nation.prefix, params(app)).text)

    form = page.form(f"{nation.prefix}/oauth/authorize")
    decisions = [button.attrs["value"] for button in form.find_all("button", name="decision")]
    assert decisions == ["authorize", "deny"]
    assert set(form.fields()) == {"csrf_token", "authorization_request"}


# Pages for requests that cannot go on


def test_unknown_app_page(client: TestClient, setup: tuple[NationInfo, UserInfo, AppInfo]) -> None:
    nation, user, app = setup
    sign_in(client, nation.prefix, user.email)

    unknown = consent_page(client, nation.prefix, params(app, client_id="0" * 64))
    mismatched = consent_page(client, nation.prefix, params(app, redirect_uri="https://evil.example/cb"))

    assert unknown.status_code == 400
    assert "location" not in unknown.headers
    assert heading(parse(unknown.text)) != heading(parse(mismatched.text))
    assert "Test App" not in parse(unknown.text).one("error-message").text


@pytest.mark.parametrize("signed_in", [True, False])
def test_mismatched_callback_page(
    client: TestClient, setup: tuple[NationInfo, UserInfo, AppInfo], signed_in: bool
) -> None:
    nation, user, app = setup
    if signed_in:
        sign_in(client, nation.prefix, user.email)
    wrong = "https://app.example/callback/other"

    response = consent_page(client, nation.prefix, params(app, redirect_uri=wrong))

    assert response.status_code == 400
    assert "location" not in response.headers
    message = parse(response.text).one("error-message").text
    assert "Test App" in message
    assert wrong in message
    assert parse(response.text).links().count(wrong) == 0


def test_long_callback_is_shortened(client: TestClient, setup: tuple[NationInfo, UserInfo, AppInfo]) -> None:
    nation, _, app = setup
    wrong = "https://app.example/" + "x" * 3000

    response = consent_page(client, nation.prefix, params(app, redirect_uri=wrong))

    assert response.status_code == 400
    message = parse(response.text).one("error-message").text
    assert wrong[:200] in message
    assert wrong not in message


def test_missing_callback_page(client: TestClient, factory: Factory) -> None:
    nation = factory.nation()
    app = factory.app(nation, redirect_uris=(CALLBACK, "https://app.example/second"))
    request = params(app)
    del request["redirect_uri"]

    missing = consent_page(client, nation.prefix, request)
    mismatched = consent_page(client, nation.prefix, params(app, redirect_uri="https://evil.example/cb"))

    assert missing.status_code == 400
    assert "location" not in missing.headers
    assert "Test App" in parse(missing.text).one("error-message").text
    assert heading(parse(missing.text)) != heading(parse(mismatched.text))


def test_unknown_nation_page(client: TestClient, setup: tuple[NationInfo, UserInfo, AppInfo]) -> None:
    nation, user, app = setup
    sign_in(client, nation.prefix, user.email)

    authorize = client.get("/n/no-such-nation/oauth/authorize", params=params(app))
    panel = client.get("/n/no-such-nation/admin")

    for response in (authorize, panel):
        assert response.status_code == 404
        assert response.headers["content-type"].startswith("text/html")
        page = parse(response.text)
        assert "no-such-nation" in page.one("error-message").text
        assert page.by_test_id("error-links") == []
    assert parse(authorize.text).one("error-message").text != parse(panel.text).one("error-message").text


def test_error_page_links_home_when_signed_in(client: TestClient, factory: Factory) -> None:
    nation, other = factory.nation(), factory.nation()
    user = factory.user(nation)
    sign_in(client, other.prefix, user.email)

    response = client.get(f"{other.prefix}/admin")

    assert response.status_code == 403
    links = parse(response.text).one("error-links").links()
    assert links == [f"{other.prefix}/admin", f"{other.prefix}/admin/account"]
