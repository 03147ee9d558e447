"""The five behaviours that differ between the compatible profile (the default) and the strict one.

The strict profile is switched on for a whole nation (``nations.strict_profile``) or for one app
(``apps.strict_profile``). The tests of the strict profile run once for each switch.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy.orm import Session
from starlette.testclient import TestClient

from citizenry.oauth.apps import register_app
from citizenry.store.models import App, Nation
from citizenry.tenancy.permissions import set_permissions
from tests.factory import CALLBACK, AppInfo, Factory, NationInfo, UserInfo
from tests.flows import authorize, consent_page, exchange_params, query_of, sign_in

STATE = "st+/=%ate"


@dataclass(frozen=True)
class Setup:
    nation: NationInfo
    user: UserInfo
    app: AppInfo

    @property
    def token_url(self) -> str:
        return f"{self.nation.prefix}/oauth/token"

    @property
    def people_url(self) -> str:
        return f"{self.nation.prefix}/api/v1/people"


def _challenge(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()


def _params(app: AppInfo, **extra: str) -> dict[str, str]:
    return {
        "response_type": "code",
        "client_id": app.client_id,
        "redirect_uri": CALLBACK,
        "state": STATE,
        **extra,
    }


def _code_with_pkce(client: TestClient, setup: Setup, user: UserInfo | None = None) -> tuple[str, str]:
    """Authorize ``setup.app`` with an S256 challenge, and return the code and its verifier."""
    verifier = secrets.token_urlsafe(48)
    params = _params(setup.app, code_challenge=_challenge(verifier), code_challenge_method="S256")
    query = authorize(client, setup.nation.prefix, (user or setup.user).email, params)
    return query["code"], verifier


def _tokens(client: TestClient, setup: Setup, user: UserInfo | None = None) -> dict[str, Any]:
    """Run the flow with PKCE and a form body, which every profile accepts, and return the token body."""
    code, verifier = _code_with_pkce(client, setup, user)
    response = client.post(setup.token_url, data=exchange_params(setup.app, code, code_verifier=verifier))
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _make_nation_strict(factory: Factory, nation: NationInfo) -> None:
    def update(session: Session) -> None:
        row = session.get(Nation, nation.id)
        assert row is not None
        row.strict_profile = True

    factory.database.transaction(update)


def _make_app_strict(factory: Factory, app: AppInfo) -> None:
    def update(session: Session) -> None:
        row = session.get(App, app.id)
        assert row is not None
        row.strict_profile = True

    factory.database.transaction(update)


def _allow_plain_pkce(factory: Factory, app: AppInfo) -> None:
    def update(session: Session) -> None:
        row = session.get(App, app.id)
        assert row is not None
        row.allow_plain_pkce = True

    factory.database.transaction(update)


def _let_staffers_sign_into_apps(factory: Factory, nation: NationInfo) -> None:
    def update(session: Session) -> None:
        row = session.get(Nation, nation.id)
        assert row is not None
        set_permissions(session, row, "staffer", sign_into_apps=True)

    factory.database.transaction(update)


def _public_app(factory: Factory, owner: NationInfo) -> AppInfo:
    def create(session: Session) -> AppInfo:
        nation = session.get(Nation, owner.id)
        assert nation is not None
        row, _ = register_app(
            session, nation=nation, name="Public App", redirect_uris=[CALLBACK], public=True
        )
        return AppInfo(id=row.id, client_id=row.client_id, client_secret="", redirect_uris=(CALLBACK,))

    return factory.database.transaction(create)


@pytest.fixture
def compatible(factory: Factory) -> Setup:
    nation = factory.nation()
    return Setup(nation=nation, user=factory.user(nation), app=factory.app(nation))


@pytest.fixture(params=["nation", "app"])
def strict(request: pytest.FixtureRequest, factory: Factory) -> Setup:
    """A nation and app with the strict profile switched on for the nation, or for the app only."""
    nation = factory.nation()
    setup = Setup(nation=nation, user=factory.user(nation), app=factory.app(nation))
    if request.param == "nation":
        _make_nation_strict(factory, nation)
    else:
        _make_app_strict(factory, setup.app)
    return setup


def _assert_error_redirect(response, setup: Setup, error: str) -> None:  # type: ignore[no-untyped-def]
    assert response.status_code == 302
    location = response.headers["location"]
    assert location.startswith(CALLBACK + "?")
    query = query_of(location)
    assert query["error"] == error
    assert query["state"] == STATE
    assert query["iss"] == f"http://testserver{setup.nation.prefix}"
    assert "code" not in query


def _assert_api_error(response, status: int, code: str) -> None:  # type: ignore[no-untyped-def]
    assert response.status_code == status
    body = response.json()
    assert set(body) == {"code", "message"}
    assert body["code"] == code


# PKCE: the strict profile requires it of every app, with S256 only. The compatible profile
# requires it of public apps only, and accepts plain only where the app allows it.


def test_strict_requires_code_challenge(client: TestClient, strict: Setup) -> None:
    sign_in(client, strict.nation.prefix, strict.user.email)

    response = consent_page(client, strict.nation.prefix, _params(strict.app))

    _assert_error_redirect(response, strict, "invalid_request")


def test_strict_rejects_plain_method(client: TestClient, factory: Factory, strict: Setup) -> None:
    _allow_plain_pkce(factory, strict.app)
    sign_in(client, strict.nation.prefix, strict.user.email)
    verifier = secrets.token_urlsafe(48)

    response = consent_page(
        client,
        strict.nation.prefix,
        _params(strict.app, code_challenge=verifier, code_challenge_method="plain"),
    )

    _assert_error_redirect(response, strict, "invalid_request")


def test_strict_rejects_missing_method(client: TestClient, factory: Factory, strict: Setup) -> None:
    """A challenge without a method means plain (RFC 7636 section 4.3), which the strict profile rejects."""
    _allow_plain_pkce(factory, strict.app)
    sign_in(client, strict.nation.prefix, strict.user.email)

    response = consent_page(
        client, strict.nation.prefix, _params(strict.app, code_challenge=secrets.token_urlsafe(48))
    )

    _assert_error_redirect(response, strict, "invalid_request")


def test_strict_accepts_s256_flow(client: TestClient, strict: Setup) -> None:
    code, verifier = _code_with_pkce(client, strict)

    response = client.post(strict.token_url, data=exchange_params(strict.app, code, code_verifier=verifier))

    assert response.status_code == 200, response.text
    assert response.json()["token_type"] == "bearer"


def test_strict_app_leaves_others_compatible(client: TestClient, factory: Factory) -> None:
    nation = factory.nation()
    user = factory.user(nation)
    strict_app = factory.app(nation)
    other_app = factory.app(nation)
    _make_app_strict(factory, strict_app)
    sign_in(client, nation.prefix, user.email)

    rejected = consent_page(client, nation.prefix, _params(strict_app))
    allowed = consent_page(client, nation.prefix, _params(other_app))

    assert rejected.status_code == 302
    assert query_of(rejected.headers["location"])["error"] == "invalid_request"
    assert allowed.status_code == 200


def test_compatible_confidential_pkce_optional(client: TestClient, compatible: Setup) -> None:
    query = authorize(client, compatible.nation.prefix, compatible.user.email, _params(compatible.app))

    response = client.post(compatible.token_url, data=exchange_params(compatible.app, query["code"]))

    assert response.status_code == 200, response.text


def test_compatible_public_requires_challenge(client: TestClient, factory: Factory) -> None:
    nation = factory.nation()
    user = factory.user(nation)
    setup = Setup(nation=nation, user=user, app=_public_app(factory, nation))
    sign_in(client, nation.prefix, user.email)

    response = consent_page(client, nation.prefix, _params(setup.app))

    _assert_error_redirect(response, setup, "invalid_request")


def test_compatible_plain_needs_app_setting(client: TestClient, factory: Factory, compatible: Setup) -> None:
    """Plain is rejected until the app allows it, and then accepted."""
    sign_in(client, compatible.nation.prefix, compatible.user.email)
    verifier = secrets.token_urlsafe(48)
    params = _params(compatible.app, code_challenge=verifier, code_challenge_method="plain")

    rejected = consent_page(client, compatible.nation.prefix, params)
    _allow_plain_pkce(factory, compatible.app)
    allowed = consent_page(client, compatible.nation.prefix, params)

    _assert_error_redirect(rejected, compatible, "invalid_request")
    assert allowed.status_code == 200


# Token request encoding: JSON and form bodies in the compatible profile, form bodies only in
# the strict one.


def test_strict_rejects_json_body(client: TestClient, strict: Setup) -> None:
    code, verifier = _code_with_pkce(client, strict)
    params = exchange_params(strict.app, code, code_verifier=verifier)

    json_body = client.post(strict.token_url, json=params)
    form_body = client.post(strict.token_url, data=params)

    assert json_body.status_code == 400
    assert json_body.json()["error"] == "invalid_request"
    assert json_body.headers["cache-control"] == "no-store"
    # The rejection happens before the code is looked at, so the app can still redeem it.
    assert form_body.status_code == 200, form_body.text


def test_compatible_accepts_json_body(client: TestClient, compatible: Setup) -> None:
    code, verifier = _code_with_pkce(client, compatible)

    response = client.post(
        compatible.token_url, json=exchange_params(compatible.app, code, code_verifier=verifier)
    )

    assert response.status_code == 200, response.text
    assert response.json()["token_type"] == "bearer"


@pytest.mark.parametrize(
    "content_type, body",
    [
        ("text/plain", b"grant_type=authorization_code"),
        ("application/xml", b"<grant_type>authorization_code</grant_type>"),
        (
            "multipart/form-data; boundary=b",
            b'--b\r\nContent-Disposition: form-data; name="grant_type"\r\n\r\n'
            b"authorization_code\r\n--b--\r\n",
        ),
    ],
)
def test_compatible_rejects_other_content_types(
    client: TestClient, compatible: Setup, content_type: str, body: bytes
) -> None:
    response = client.post(compatible.token_url, content=body, headers={"Content-Type": content_type})

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"


# Parameters in the query string of a token request.


def test_strict_rejects_query_parameters(client: TestClient, strict: Setup) -> None:
    code, verifier = _code_with_pkce(client, strict)
    params = exchange_params(strict.app, code, code_verifier=verifier)

    query_only = client.post(f"https://testserver{strict.token_url}", params=params)
    retry = client.post(strict.token_url, data=params)

    assert query_only.status_code == 400
    assert query_only.json()["error"] == "invalid_request"
    assert retry.status_code == 200, retry.text


def test_strict_rejects_query_beside_form(client: TestClient, strict: Setup) -> None:
    code, verifier = _code_with_pkce(client, strict)
    params = exchange_params(strict.app, code, code_verifier=verifier)

    response = client.post(
        f"https://testserver{strict.token_url}",
        params={"client_secret": strict.app.client_secret},
        data=params,
    )

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"


def test_compatible_accepts_query_over_https(client: TestClient, compatible: Setup) -> None:
    code, verifier = _code_with_pkce(client, compatible)

    response = client.post(
        f"https://testserver{compatible.token_url}",
        params=exchange_params(compatible.app, code, code_verifier=verifier),
    )

    assert response.status_code == 200, response.text
    assert response.json()["token_type"] == "bearer"


def test_compatible_query_secret_needs_https(client: TestClient, compatible: Setup) -> None:
    code, verifier = _code_with_pkce(client, compatible)
    params = exchange_params(compatible.app, code, code_verifier=verifier)

    plain_http = client.post(f"http://testserver{compatible.token_url}", params=params)
    retry = client.post(f"https://testserver{compatible.token_url}", params=params)

    assert plain_http.status_code == 400
    assert plain_http.json()["error"] == "invalid_request"
    assert retry.status_code == 200, retry.text


def test_compatible_query_secret_on_loopback(client: TestClient, compatible: Setup) -> None:
    code, verifier = _code_with_pkce(client, compatible)

    response = client.post(
        f"http://127.0.0.1{compatible.token_url}",
        params=exchange_params(compatible.app, code, code_verifier=verifier),
    )

    assert response.status_code == 200, response.text


def test_compatible_query_without_secret_over_http(client: TestClient, compatible: Setup) -> None:
    """Only the secret is protected: the other parameters may travel in the query over http."""
    code, verifier = _code_with_pkce(client, compatible)
    params = exchange_params(compatible.app, code, code_verifier=verifier)
    del params["client_id"], params["client_secret"]
    basic = base64.b64encode(f"{compatible.app.client_id}:{compatible.app.client_secret}".encode()).decode()

    response = client.post(
        f"http://testserver{compatible.token_url}", params=params, headers={"Authorization": f"Basic {basic}"}
    )

    assert response.status_code == 200, response.text


def test_compatible_query_secret_beside_form(client: TestClient, compatible: Setup) -> None:
    code, verifier = _code_with_pkce(client, compatible)

    response = client.post(
        f"http://testserver{compatible.token_url}",
        params={"client_secret": compatible.app.client_secret},
        data=exchange_params(compatible.app, code, code_verifier=verifier),
    )

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"


# Bearer tokens in the query string of API requests.


def test_strict_rejects_query_access_token(client: TestClient, strict: Setup) -> None:
    token = _tokens(client, strict)["access_token"]

    in_query = client.get(strict.people_url, params={"access_token": token})
    in_header = client.get(strict.people_url, headers={"Authorization": f"Bearer {token}"})

    _assert_api_error(in_query, 401, "unauthorized")
    assert in_query.headers["www-authenticate"].startswith("Bearer")
    assert in_header.status_code == 200


def test_compatible_accepts_query_access_token(client: TestClient, compatible: Setup) -> None:
    token = _tokens(client, compatible)["access_token"]

    response = client.get(compatible.people_url, params={"access_token": token})

    assert response.status_code == 200
    assert set(response.json()) == {"results", "next", "prev"}


# A valid token whose owner lacks the permission: a staffer's token on the admin-only people API.


def test_compatible_staffer_token_unauthorized(client: TestClient, factory: Factory) -> None:
    nation = factory.nation()
    staffer = factory.user(nation, level="staffer")
    token = factory.test_token(nation, staffer)

    response = client.get(f"{nation.prefix}/api/v1/people", headers={"Authorization": f"Bearer {token}"})

    _assert_api_error(response, 401, "unauthorized")
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert "insufficient_scope" not in response.headers["www-authenticate"]


def test_compatible_staffer_app_token_unauthorized(
    client: TestClient, factory: Factory, compatible: Setup
) -> None:
    _let_staffers_sign_into_apps(factory, compatible.nation)
    staffer = factory.user(compatible.nation, level="staffer")
    token = _tokens(client, compatible, staffer)["access_token"]

    response = client.get(compatible.people_url, headers={"Authorization": f"Bearer {token}"})

    _assert_api_error(response, 401, "unauthorized")


def test_strict_staffer_app_token_forbidden(client: TestClient, factory: Factory, strict: Setup) -> None:
    _let_staffers_sign_into_apps(factory, strict.nation)
    staffer = factory.user(strict.nation, level="staffer")
    token = _tokens(client, strict, staffer)["access_token"]

    response = client.get(strict.people_url, headers={"Authorization": f"Bearer {token}"})

    _assert_api_error(response, 403, "insufficient_scope")
    challenge = response.headers["www-authenticate"]
    assert challenge.startswith("Bearer")
    assert 'error="insufficient_scope"' in challenge


def test_strict_nation_staffer_test_token(client: TestClient, factory: Factory) -> None:
    nation = factory.nation()
    _make_nation_strict(factory, nation)
    staffer = factory.user(nation, level="staffer")
    token = factory.test_token(nation, staffer)

    response = client.get(f"{nation.prefix}/api/v1/people", headers={"Authorization": f"Bearer {token}"})

    _assert_api_error(response, 403, "insufficient_scope")
    assert 'error="insufficient_scope"' in response.headers["www-authenticate"]


def test_strict_admin_token_allowed(client: TestClient, strict: Setup) -> None:
    token = _tokens(client, strict)["access_token"]

    response = client.get(strict.people_url, headers={"Authorization": f"Bearer {token}"})

    assert response.status_code == 200
    assert set(response.json()) == {"results", "next", "prev"}
