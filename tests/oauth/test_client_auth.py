"""Client authentication and error responses at the token endpoint."""

from __future__ import annotations

import base64
import hashlib
import secrets
from dataclasses import dataclass
from urllib.parse import quote_plus

import pytest
from sqlalchemy.orm import Session
from starlette.testclient import TestClient

from citizenry.oauth.apps import register_app
from citizenry.store.models import App, Nation
from tests.factory import CALLBACK, AppInfo, Factory, NationInfo, UserInfo
from tests.flows import authorize, exchange_params

#: The fields of an error body (RFC 6749 section 5.2) that this server sends.
ERROR_FIELDS = {"error", "error_description"}


@dataclass(frozen=True)
class Setup:
    nation: NationInfo
    user: UserInfo
    app: AppInfo

    @property
    def token_url(self) -> str:
        return f"{self.nation.prefix}/oauth/token"


def _basic(client_id: str, secret: str) -> dict[str, str]:
    credentials = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    return {"Authorization": f"Basic {credentials}"}


def _code(client: TestClient, setup: Setup, **extra: str) -> str:
    params = {"response_type": "code", "client_id": setup.app.client_id, "redirect_uri": CALLBACK, **extra}
    return authorize(client, setup.nation.prefix, setup.user.email, params)["code"]


def _code_params(code: str) -> dict[str, str]:
    """Return the code exchange parameters without client credentials."""
    return {"grant_type": "authorization_code", "code": code, "redirect_uri": CALLBACK}


def _public_app(factory: Factory, owner: NationInfo) -> AppInfo:
    def create(session: Session) -> AppInfo:
        nation = session.get(Nation, owner.id)
        assert nation is not None
        row, _ = register_app(
            session, nation=nation, name="Public App", redirect_uris=[CALLBACK], public=True
        )
        return AppInfo(id=row.id, client_id=row.client_id, client_secret="", redirect_uris=(CALLBACK,))

    return factory.database.transaction(create)


def _set_secret(factory: Factory, app: AppInfo, secret: str) -> AppInfo:
    """Give ``app`` the client secret ``secret``, stored as its SHA-256 digest as registration stores it."""

    def update(session: Session) -> None:
        row = session.get(App, app.id)
        assert row is not None
        row.client_secret_digest = hashlib.sha256(secret.encode()).digest()

    factory.database.transaction(update)
    return AppInfo(id=app.id, client_id=app.client_id, client_secret=secret, redirect_uris=app.redirect_uris)


def _stored_digest(factory: Factory, app: AppInfo) -> bytes:
    def read(session: Session) -> bytes:
        row = session.get(App, app.id)
        assert row is not None
        assert row.client_secret_digest is not None
        return row.client_secret_digest

    return factory.database.transaction(read)


@pytest.fixture
def setup(factory: Factory) -> Setup:
    nation = factory.nation()
    return Setup(nation=nation, user=factory.user(nation), app=factory.app(nation))


def _assert_error(response, status: int, error: str) -> None:  # type: ignore[no-untyped-def]
    assert response.status_code == status
    assert response.headers["content-type"].startswith("application/json")
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert body["error"] == error
    assert set(body) <= ERROR_FIELDS


def _assert_invalid_client(response) -> None:  # type: ignore[no-untyped-def]
    _assert_error(response, 401, "invalid_client")
    assert response.headers["www-authenticate"].startswith("Basic")


# One case for each error code of RFC 6749 section 5.2.


def test_missing_code_is_invalid_request(client: TestClient, setup: Setup) -> None:
    params = exchange_params(setup.app, "x")
    del params["code"]

    response = client.post(setup.token_url, data=params)

    _assert_error(response, 400, "invalid_request")


def test_repeated_code_is_invalid_request(client: TestClient, setup: Setup) -> None:
    code = _code(client, setup)
    body = "&".join(
        f"{name}={quote_plus(value)}"
        for name, value in [*exchange_params(setup.app, code).items(), ("code", code)]
    )

    response = client.post(
        setup.token_url, content=body, headers={"Content-Type": "application/x-www-form-urlencoded"}
    )

    _assert_error(response, 400, "invalid_request")


def test_unknown_code_is_invalid_grant(client: TestClient, setup: Setup) -> None:
    response = client.post(setup.token_url, data=exchange_params(setup.app, secrets.token_urlsafe(32)))

    _assert_error(response, 400, "invalid_grant")


def test_password_grant_unsupported(client: TestClient, setup: Setup) -> None:
    params = {
        "grant_type": "password",
        "username": setup.user.email,
        "password": "correct horse battery staple",
        "client_id": setup.app.client_id,
        "client_secret": setup.app.client_secret,
    }

    response = client.post(setup.token_url, data=params)

    _assert_error(response, 400, "unsupported_grant_type")


def test_refresh_wider_scope_invalid(client: TestClient, setup: Setup) -> None:
    tokens = client.post(setup.token_url, data=exchange_params(setup.app, _code(client, setup))).json()

    response = client.post(
        setup.token_url,
        data={
            "grant_type": "refresh_token",
            "refresh_token": tokens["refresh_token"],
            "scope": "people:write",
            "client_id": setup.app.client_id,
            "client_secret": setup.app.client_secret,
        },
    )

    _assert_error(response, 400, "invalid_scope")


def test_invalid_scope_keeps_refresh_token(client: TestClient, setup: Setup) -> None:
    tokens = client.post(setup.token_url, data=exchange_params(setup.app, _code(client, setup))).json()
    refresh = {
        "grant_type": "refresh_token",
        "refresh_token": tokens["refresh_token"],
        "client_id": setup.app.client_id,
        "client_secret": setup.app.client_secret,
    }

    wider = client.post(setup.token_url, data={**refresh, "scope": "people:write"})
    retry = client.post(setup.token_url, data=refresh)

    assert wider.status_code == 400
    assert wider.json()["error"] == "invalid_scope"
    assert retry.status_code == 200, retry.text


def test_wrong_basic_secret_invalid_client(client: TestClient, setup: Setup) -> None:
    code = _code(client, setup)

    response = client.post(
        setup.token_url, data=_code_params(code), headers=_basic(setup.app.client_id, secrets.token_hex(32))
    )

    _assert_invalid_client(response)


def test_basic_challenge_names_realm(client: TestClient, setup: Setup) -> None:
    response = client.post(
        setup.token_url, data=_code_params("x"), headers=_basic(setup.app.client_id, secrets.token_hex(32))
    )

    assert response.status_code == 401
    assert "realm=" in response.headers["www-authenticate"]


def test_unknown_basic_client_invalid_client(client: TestClient, setup: Setup) -> None:
    code = _code(client, setup)

    response = client.post(
        setup.token_url,
        data=_code_params(code),
        headers=_basic(secrets.token_hex(32), setup.app.client_secret),
    )

    _assert_invalid_client(response)


def test_wrong_body_secret_invalid_client(client: TestClient, setup: Setup) -> None:
    code = _code(client, setup)

    response = client.post(
        setup.token_url, data=exchange_params(setup.app, code, client_secret=secrets.token_hex(32))
    )

    _assert_invalid_client(response)


# Credentials in one place only, for one client only.


def test_basic_and_other_body_client(client: TestClient, factory: Factory, setup: Setup) -> None:
    other = factory.app(setup.nation)
    code = _code(client, setup)

    response = client.post(
        setup.token_url,
        data={**_code_params(code), "client_id": other.client_id},
        headers=_basic(setup.app.client_id, setup.app.client_secret),
    )

    _assert_error(response, 400, "invalid_request")


def test_basic_and_body_secret(client: TestClient, setup: Setup) -> None:
    code = _code(client, setup)

    response = client.post(
        setup.token_url,
        data={**_code_params(code), "client_secret": setup.app.client_secret},
        headers=_basic(setup.app.client_id, setup.app.client_secret),
    )

    _assert_error(response, 400, "invalid_request")


def test_basic_and_same_body_client(client: TestClient, setup: Setup) -> None:
    code = _code(client, setup)

    response = client.post(
        setup.token_url,
        data={**_code_params(code), "client_id": setup.app.client_id},
        headers=_basic(setup.app.client_id, setup.app.client_secret),
    )

    assert response.status_code == 200, response.text
    assert response.json()["token_type"] == "bearer"


# Secrets are compared with a digest of what the client sends, never with the stored value.


def test_stored_digest_not_a_secret(client: TestClient, factory: Factory, setup: Setup) -> None:
    stored = _stored_digest(factory, setup.app)
    code = _code(client, setup)

    as_hex = client.post(setup.token_url, data=exchange_params(setup.app, code, client_secret=stored.hex()))
    as_base64 = client.post(
        setup.token_url,
        data=_code_params(code),
        headers=_basic(setup.app.client_id, base64.b64encode(stored).decode()),
    )

    _assert_invalid_client(as_hex)
    _assert_invalid_client(as_base64)


def test_empty_secret_invalid_client(client: TestClient, setup: Setup) -> None:
    code = _code(client, setup)

    in_body = client.post(setup.token_url, data=exchange_params(setup.app, code, client_secret=""))
    in_basic = client.post(setup.token_url, data=_code_params(code), headers=_basic(setup.app.client_id, ""))

    _assert_invalid_client(in_body)
    _assert_invalid_client(in_basic)


def test_confidential_app_without_secret(client: TestClient, setup: Setup) -> None:
    code = _code(client, setup)
    params = exchange_params(setup.app, code)
    del params["client_secret"]

    response = client.post(setup.token_url, data=params)

    _assert_invalid_client(response)


def test_public_app_with_secret_rejected(client: TestClient, factory: Factory) -> None:
    nation = factory.nation()
    public = _public_app(factory, nation)
    token_url = f"{nation.prefix}/oauth/token"
    params = {"grant_type": "authorization_code", "code": "x", "redirect_uri": CALLBACK}

    in_body = client.post(
        token_url, data={**params, "client_id": public.client_id, "client_secret": secrets.token_hex(32)}
    )
    in_basic = client.post(token_url, data=params, headers=_basic(public.client_id, secrets.token_hex(32)))

    _assert_invalid_client(in_body)
    _assert_invalid_client(in_basic)


def test_public_basic_secret_with_body_id(client: TestClient, factory: Factory) -> None:
    nation = factory.nation()
    setup = Setup(nation=nation, user=factory.user(nation), app=_public_app(factory, nation))
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    code = _code(client, setup, code_challenge=challenge, code_challenge_method="S256")
    params = {**_code_params(code), "client_id": setup.app.client_id, "code_verifier": verifier}

    response = client.post(
        setup.token_url, data=params, headers=_basic(setup.app.client_id, secrets.token_hex(32))
    )

    _assert_invalid_client(response)


# Basic credentials, raw or form-encoded as RFC 6749 section 2.3.1 specifies.

SPECIAL_SECRET = "a:b%41c+d/e=f%" + secrets.token_hex(16)


def test_special_secret_raw_basic(client: TestClient, factory: Factory, setup: Setup) -> None:
    app = _set_secret(factory, setup.app, SPECIAL_SECRET)
    code = _code(client, setup)

    response = client.post(
        setup.token_url, data=_code_params(code), headers=_basic(app.client_id, SPECIAL_SECRET)
    )

    assert response.status_code == 200, response.text


def test_special_secret_encoded_basic(client: TestClient, factory: Factory, setup: Setup) -> None:
    app = _set_secret(factory, setup.app, SPECIAL_SECRET)
    code = _code(client, setup)

    response = client.post(
        setup.token_url,
        data=_code_params(code),
        headers=_basic(quote_plus(app.client_id), quote_plus(SPECIAL_SECRET)),
    )

    assert response.status_code == 200, response.text


def test_special_secret_in_body(client: TestClient, factory: Factory, setup: Setup) -> None:
    app = _set_secret(factory, setup.app, SPECIAL_SECRET)
    code = _code(client, setup)

    response = client.post(setup.token_url, data=exchange_params(app, code))

    assert response.status_code == 200, response.text


def test_non_ascii_secret_basic(client: TestClient, factory: Factory, setup: Setup) -> None:
    secret = "pässwörd:" + secrets.token_hex(16)
    app = _set_secret(factory, setup.app, secret)

    raw = client.post(
        setup.token_url, data=_code_params(_code(client, setup)), headers=_basic(app.client_id, secret)
    )
    encoded = client.post(
        setup.token_url,
        data=_code_params(_code(client, setup)),
        headers=_basic(app.client_id, quote_plus(secret)),
    )

    assert raw.status_code == 200, raw.text
    assert encoded.status_code == 200, encoded.text


@pytest.mark.parametrize(
    "credentials",
    [
        pytest.param("not base64!", id="not-base64"),
        pytest.param("YWJj", id="no-colon"),
        pytest.param("YWJjOmRlZg", id="missing-padding"),
        pytest.param(base64.b64encode(b"\xff\xfe:\xff").decode(), id="not-utf8"),
        pytest.param("=", id="only-padding"),
    ],
)
def test_malformed_basic_invalid_client(client: TestClient, setup: Setup, credentials: str) -> None:
    response = client.post(
        setup.token_url, data=_code_params("x"), headers={"Authorization": f"Basic {credentials}"}
    )

    _assert_invalid_client(response)


def test_non_ascii_basic_header(app, setup: Setup) -> None:  # type: ignore[no-untyped-def]
    with TestClient(app, base_url="http://testserver", raise_server_exceptions=False) as client:
        response = client.post(
            setup.token_url,
            data=_code_params("x"),
            headers={b"Authorization": b"Basic w6k=\xe9"},
        )

    _assert_invalid_client(response)


# Cache headers, the scope of the code exchange, and the allowed method.


def test_no_store_on_success_and_error(client: TestClient, setup: Setup) -> None:
    code = _code(client, setup)

    success = client.post(setup.token_url, data=exchange_params(setup.app, code))
    error = client.post(setup.token_url, data=exchange_params(setup.app, code))

    assert success.status_code == 200
    assert success.headers["cache-control"] == "no-store"
    assert error.status_code == 400
    assert error.headers["cache-control"] == "no-store"


@pytest.mark.parametrize("approved", ["", "default"])
def test_exchange_scope_cannot_widen(client: TestClient, setup: Setup, approved: str) -> None:
    code = _code(client, setup, scope=approved)

    response = client.post(
        setup.token_url, data=exchange_params(setup.app, code, scope="default people:write admin")
    )

    assert response.status_code == 200, response.text
    assert response.json()["scope"] == approved
    introspection = client.post(
        f"{setup.nation.prefix}/oauth/introspect",
        data={"token": response.json()["access_token"]},
        headers=_basic(setup.app.client_id, setup.app.client_secret),
    )
    assert introspection.status_code == 200
    assert introspection.json()["active"] is True
    assert introspection.json()["scope"] == approved


def test_get_token_endpoint_not_allowed(client: TestClient, setup: Setup) -> None:
    response = client.get(setup.token_url, params=exchange_params(setup.app, "x"))

    assert response.status_code == 405
    assert response.headers["allow"] == "POST"
