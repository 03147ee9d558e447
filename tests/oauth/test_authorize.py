"""The authorization endpoint: sign-in, the consent page, and where the browser is sent."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest
from starlette.testclient import TestClient

from tests.factory import CALLBACK, AppInfo, Factory, NationInfo, UserInfo
from tests.flows import authorize, consent_page, decide, exchange_params, hidden_field, query_of, sign_in


def _params(app: AppInfo, **extra: str) -> dict[str, str]:
    return {
        "response_type": "code",
        "client_id": app.client_id,
        "redirect_uri": CALLBACK,
        "state": "st+/=%ate",
        **extra,
    }


@pytest.fixture
def setup(factory: Factory) -> tuple[NationInfo, UserInfo, AppInfo]:
    nation = factory.nation(name="Springfield Greens")
    return nation, factory.user(nation), factory.app(nation)


def test_signed_out_visitor_signs_in_first(
    client: TestClient, setup: tuple[NationInfo, UserInfo, AppInfo]
) -> None:
    nation, user, app = setup
    params = _params(app)
    authorize_path = f"{nation.prefix}/oauth/authorize?{urlencode(params)}"

    first = client.get(authorize_path)
    assert first.status_code == 303
    assert first.headers["location"] == f"{nation.prefix}/login?{urlencode({'next': authorize_path})}"

    login_page = client.get(first.headers["location"])
    assert hidden_field(login_page.text, "next") == authorize_path
    signed_in = sign_in(client, nation.prefix, user.email, next_path=authorize_path)
    assert signed_in.status_code == 303
    assert signed_in.headers["location"] == authorize_path

    consent = client.get(signed_in.headers["location"])
    assert consent.status_code == 200
    assert 'value="authorize"' in consent.text
    assert 'value="deny"' in consent.text


def test_consent_page_names_app_and_nation(
    client: TestClient, setup: tuple[NationInfo, UserInfo, AppInfo]
) -> None:
    nation, user, app = setup
    sign_in(client, nation.prefix, user.email)

    page = consent_page(client, nation.prefix, _params(app))

    assert page.status_code == 200
    assert "Test App" in page.text
    assert "Springfield Greens" in page.text
    assert page.headers["x-frame-options"] == "DENY"
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    assert page.headers["referrer-policy"] == "same-origin"


def test_authorize_redirects_with_code(
    client: TestClient, setup: tuple[NationInfo, UserInfo, AppInfo]
) -> None:
    nation, user, app = setup
    sign_in(client, nation.prefix, user.email)
    page = consent_page(client, nation.prefix, _params(app))

    response = decide(client, nation.prefix, page.text, "authorize")

    assert response.status_code in {302, 303}
    location = response.headers["location"]
    assert location.startswith(CALLBACK + "?")
    query = query_of(location)
    assert set(query) == {"code", "state", "iss"}
    assert query["state"] == "st+/=%ate"
    assert query["iss"] == f"http://testserver{nation.prefix}"
    assert len(query["code"]) >= 43


def test_deny_redirects_access_denied(
    client: TestClient, setup: tuple[NationInfo, UserInfo, AppInfo]
) -> None:
    nation, user, app = setup
    sign_in(client, nation.prefix, user.email)
    page = consent_page(client, nation.prefix, _params(app))

    response = decide(client, nation.prefix, page.text, "deny")

    assert response.status_code in {302, 303}
    query = query_of(response.headers["location"])
    assert query["error"] == "access_denied"
    assert query["state"] == "st+/=%ate"
    assert "code" not in query


def test_unknown_client_shows_error_page(
    client: TestClient, setup: tuple[NationInfo, UserInfo, AppInfo]
) -> None:
    nation, user, app = setup
    sign_in(client, nation.prefix, user.email)

    response = consent_page(client, nation.prefix, _params(app, client_id="0" * 64))

    assert response.status_code == 400
    assert "location" not in response.headers
    assert response.headers["content-type"].startswith("text/html")


MISMATCHED_REDIRECTS = [
    "https://app.example/callback/",
    "https://APP.example/callback",
    "https://app.example/CALLBACK",
    "https://app.example/callback?x=1",
    "https://app.example/callback;x=1",
    "https://app.example/callback#f",
    "https://app.example/callback/../evil",
    "https://app.example/callback%2F..%2Fevil",
    "https://user@app.example/callback",
    "https://app.example.evil.com/callback",
    "https://app.example@evil.com/callback",
    "http://app.example/callback",
]


@pytest.mark.parametrize("redirect_uri", MISMATCHED_REDIRECTS)
def test_mismatched_redirect_never_redirects(
    client: TestClient, setup: tuple[NationInfo, UserInfo, AppInfo], redirect_uri: str
) -> None:
    nation, user, app = setup

    signed_out = consent_page(client, nation.prefix, _params(app, redirect_uri=redirect_uri))
    sign_in(client, nation.prefix, user.email)
    signed_in = consent_page(client, nation.prefix, _params(app, redirect_uri=redirect_uri))

    assert signed_out.status_code == 400
    assert "location" not in signed_out.headers
    assert signed_in.status_code == 400
    assert "location" not in signed_in.headers


def test_loopback_redirect_may_change_port(client: TestClient, factory: Factory) -> None:
    nation = factory.nation()
    user = factory.user(nation)
    app = factory.app(nation, redirect_uris=("http://127.0.0.1/cb",))
    sign_in(client, nation.prefix, user.email)

    ported = consent_page(client, nation.prefix, _params(app, redirect_uri="http://127.0.0.1:53211/cb"))
    other_host = consent_page(client, nation.prefix, _params(app, redirect_uri="http://localhost:53211/cb"))
    with_query = consent_page(client, nation.prefix, _params(app, redirect_uri="http://127.0.0.1:5/cb?x=1"))

    assert ported.status_code == 200
    assert other_host.status_code == 400
    assert with_query.status_code == 400


def test_several_uris_need_one_named(client: TestClient, factory: Factory) -> None:
    nation = factory.nation()
    user = factory.user(nation)
    app = factory.app(nation, redirect_uris=(CALLBACK, "https://app.example/second"))
    sign_in(client, nation.prefix, user.email)
    params = _params(app)
    del params["redirect_uri"]

    missing = consent_page(client, nation.prefix, params)
    second = consent_page(client, nation.prefix, _params(app, redirect_uri="https://app.example/second"))

    assert missing.status_code == 400
    assert "location" not in missing.headers
    assert second.status_code == 200


def test_unsupported_response_type_redirects(
    client: TestClient, setup: tuple[NationInfo, UserInfo, AppInfo]
) -> None:
    nation, _, app = setup

    response = consent_page(client, nation.prefix, _params(app, response_type="token"))

    assert response.status_code == 302
    query = query_of(response.headers["location"])
    assert query["error"] == "unsupported_response_type"
    assert query["state"] == "st+/=%ate"
    assert query["iss"] == f"http://testserver{nation.prefix}"


def test_repeated_parameter_is_refused(
    client: TestClient, setup: tuple[NationInfo, UserInfo, AppInfo]
) -> None:
    nation, user, app = setup
    sign_in(client, nation.prefix, user.email)
    query = urlencode([*list(_params(app).items()), ("state", "second")])

    response = client.get(f"{nation.prefix}/oauth/authorize?{query}")

    assert response.status_code == 400
    assert "location" not in response.headers


def test_staffer_cannot_authorize(client: TestClient, factory: Factory) -> None:
    nation = factory.nation()
    staffer = factory.user(nation, level="staffer")
    app = factory.app(nation)
    sign_in(client, nation.prefix, staffer.email)

    response = consent_page(client, nation.prefix, _params(app))

    assert response.status_code == 403
    assert "location" not in response.headers


def test_admin_of_other_nation_refused(client: TestClient, factory: Factory) -> None:
    nation = factory.nation()
    other = factory.nation()
    outsider = factory.user(other)
    app = factory.app(nation)
    sign_in(client, nation.prefix, outsider.email)

    response = consent_page(client, nation.prefix, _params(app))

    assert response.status_code == 403
    assert "location" not in response.headers


def test_app_authorized_on_other_nation(client: TestClient, factory: Factory) -> None:
    """An app registered by one nation can ask any nation's admin for access."""
    owner = factory.nation()
    app = factory.app(owner)
    nation = factory.nation()
    user = factory.user(nation)
    sign_in(client, nation.prefix, user.email)
    page = consent_page(client, nation.prefix, _params(app))

    response = decide(client, nation.prefix, page.text, "authorize")

    assert response.status_code == 302
    assert "code" in query_of(response.headers["location"])


def test_decision_without_csrf_is_refused(
    client: TestClient, setup: tuple[NationInfo, UserInfo, AppInfo]
) -> None:
    nation, user, app = setup
    sign_in(client, nation.prefix, user.email)
    page = consent_page(client, nation.prefix, _params(app))

    response = client.post(
        f"{nation.prefix}/oauth/authorize",
        data={
            "authorization_request": hidden_field(page.text, "authorization_request"),
            "decision": "authorize",
        },
    )

    assert response.status_code == 403
    assert "location" not in response.headers


def test_decision_from_other_origin_is_refused(
    client: TestClient, setup: tuple[NationInfo, UserInfo, AppInfo]
) -> None:
    nation, user, app = setup
    sign_in(client, nation.prefix, user.email)
    page = consent_page(client, nation.prefix, _params(app))

    response = client.post(
        f"{nation.prefix}/oauth/authorize",
        data={
            "csrf_token": hidden_field(page.text, "csrf_token"),
            "authorization_request": hidden_field(page.text, "authorization_request"),
            "decision": "authorize",
        },
        headers={"Origin": "https://evil.example"},
    )

    assert response.status_code == 403


def test_tampered_request_is_refused(client: TestClient, setup: tuple[NationInfo, UserInfo, AppInfo]) -> None:
    nation, user, app = setup
    sign_in(client, nation.prefix, user.email)
    page = consent_page(client, nation.prefix, _params(app))
    handle = hidden_field(page.text, "authorization_request")

    response = client.post(
        f"{nation.prefix}/oauth/authorize",
        data={
            "csrf_token": hidden_field(page.text, "csrf_token"),
            "authorization_request": handle[:-4] + "AAAA",
            "decision": "authorize",
        },
    )

    assert response.status_code == 400
    assert "location" not in response.headers


def test_consent_bound_to_session(
    client: TestClient, factory: Factory, app_fixture_client: TestClient
) -> None:
    """A consent form rendered for one session cannot be submitted from another."""
    nation = factory.nation()
    user = factory.user(nation)
    app = factory.app(nation)
    sign_in(client, nation.prefix, user.email)
    page = consent_page(client, nation.prefix, _params(app))
    sign_in(app_fixture_client, nation.prefix, user.email)
    own_page = consent_page(app_fixture_client, nation.prefix, _params(app))

    response = app_fixture_client.post(
        f"{nation.prefix}/oauth/authorize",
        data={
            "csrf_token": hidden_field(own_page.text, "csrf_token"),
            "authorization_request": hidden_field(page.text, "authorization_request"),
            "decision": "authorize",
        },
    )

    assert response.status_code == 400
    assert "location" not in response.headers


def test_get_decision_not_allowed(client: TestClient, setup: tuple[NationInfo, UserInfo, AppInfo]) -> None:
    nation, _, _ = setup

    response = client.get(f"{nation.prefix}/oauth/authorize", params={"decision": "authorize"})

    assert response.status_code == 400
    assert "location" not in response.headers


def test_app_name_is_escaped(client: TestClient, factory: Factory) -> None:
    nation = factory.nation()
    user = factory.user(nation)
    app = factory.app(nation)

    def rename(session):  # type: ignore[no-untyped-def]
        from citizenry.store.models import App

        session.get(App, app.id).name = "<img src=x onerror=alert(1)>{{7*7}}"

    factory.database.transaction(rename)
    sign_in(client, nation.prefix, user.email)

    page = consent_page(client, nation.prefix, _params(app))

    assert page.status_code == 200
    assert "<img src=x" not in page.text
    assert "&lt;img src=x onerror=alert(1)&gt;{{7*7}}" in page.text


def test_registered_query_must_match(client: TestClient, factory: Factory) -> None:
    nation = factory.nation()
    user = factory.user(nation)
    app = factory.app(nation, redirect_uris=("https://app.example/cb?v=1",))
    sign_in(client, nation.prefix, user.email)

    same = consent_page(client, nation.prefix, _params(app, redirect_uri="https://app.example/cb?v=1"))
    added = consent_page(client, nation.prefix, _params(app, redirect_uri="https://app.example/cb?v=1&x=2"))
    reordered = consent_page(
        client, nation.prefix, _params(app, redirect_uri="https://app.example/cb?x=2&v=1")
    )

    assert same.status_code == 200
    assert added.status_code == 400
    assert "location" not in added.headers
    assert reordered.status_code == 400
    assert "location" not in reordered.headers


def test_loopback_userinfo_refused(client: TestClient, factory: Factory) -> None:
    nation = factory.nation()
    user = factory.user(nation)
    app = factory.app(nation, redirect_uris=("http://127.0.0.1/cb",))
    sign_in(client, nation.prefix, user.email)

    response = consent_page(client, nation.prefix, _params(app, redirect_uri="http://attacker@127.0.0.1/cb"))

    assert response.status_code == 400
    assert "location" not in response.headers


def test_unknown_and_empty_parameters(
    client: TestClient, setup: tuple[NationInfo, UserInfo, AppInfo]
) -> None:
    nation, user, app = setup
    sign_in(client, nation.prefix, user.email)
    page = consent_page(client, nation.prefix, _params(app, extra="foobar", scope=""))

    response = decide(client, nation.prefix, page.text, "authorize")

    assert page.status_code == 200
    assert response.status_code == 302
    assert "code" in query_of(response.headers["location"])


def test_consent_asked_every_time(client: TestClient, setup: tuple[NationInfo, UserInfo, AppInfo]) -> None:
    nation, user, app = setup
    sign_in(client, nation.prefix, user.email)
    first = consent_page(client, nation.prefix, _params(app))
    decide(client, nation.prefix, first.text, "authorize")

    second = consent_page(client, nation.prefix, _params(app))

    assert second.status_code == 200
    assert 'value="authorize"' in second.text


def test_refresh_token_is_not_a_code(client: TestClient, setup: tuple[NationInfo, UserInfo, AppInfo]) -> None:
    nation, user, app = setup
    code = authorize(client, nation.prefix, user.email, _params(app))["code"]
    tokens = client.post(f"{nation.prefix}/oauth/token", data=exchange_params(app, code)).json()

    for value in (tokens["refresh_token"], tokens["access_token"]):
        response = client.post(f"{nation.prefix}/oauth/token", data=exchange_params(app, value))
        assert response.status_code == 400
        assert response.json()["error"] == "invalid_grant"
