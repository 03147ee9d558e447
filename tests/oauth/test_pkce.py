"""PKCE (RFC 7636) in the compatible profile: verifier rules, downgrades, plain, and public apps."""

from __future__ import annotations

import base64
import hashlib
import secrets
import string
from dataclasses import dataclass

import pytest
from sqlalchemy.orm import Session
from starlette.testclient import TestClient

from citizenry.oauth.apps import register_app
from citizenry.store.models import App, Nation
from tests.factory import CALLBACK, AppInfo, Factory, NationInfo, UserInfo
from tests.flows import authorize, consent_page, exchange_params, query_of, sign_in

STATE = "pkce-state"


@dataclass(frozen=True)
class Setup:
    nation: NationInfo
    user: UserInfo
    app: AppInfo

    @property
    def token_url(self) -> str:
        return f"{self.nation.prefix}/oauth/token"


def _s256(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()


def _verifier(length: int) -> str:
    alphabet = string.ascii_letters + string.digits + "-._~"
    return "".join(secrets.choice(alphabet) for _ in range(length))


def _params(app: AppInfo, **extra: str) -> dict[str, str]:
    return {
        "response_type": "code",
        "client_id": app.client_id,
        "redirect_uri": CALLBACK,
        "state": STATE,
        **extra,
    }


def _code(client: TestClient, setup: Setup, **extra: str) -> str:
    return authorize(client, setup.nation.prefix, setup.user.email, _params(setup.app, **extra))["code"]


def _s256_code(client: TestClient, setup: Setup, verifier: str) -> str:
    return _code(client, setup, code_challenge=_s256(verifier), code_challenge_method="S256")


def _exchange(client: TestClient, setup: Setup, code: str, **overrides: str):  # type: ignore[no-untyped-def]
    return client.post(setup.token_url, data=exchange_params(setup.app, code, **overrides))


def _public_exchange(client: TestClient, setup: Setup, code: str, **extra: str):  # type: ignore[no-untyped-def]
    """Redeem a public app's code: the app names itself with client_id and sends no secret."""
    params = exchange_params(setup.app, code, **extra)
    del params["client_secret"]
    return client.post(setup.token_url, data=params)


def _allow_plain_pkce(factory: Factory, app: AppInfo) -> None:
    def update(session: Session) -> None:
        row = session.get(App, app.id)
        assert row is not None
        row.allow_plain_pkce = True

    factory.database.transaction(update)


def _public_app(factory: Factory, owner: NationInfo) -> AppInfo:
    def create(session: Session) -> AppInfo:
        nation = session.get(Nation, owner.id)
        assert nation is not None
        row, secret = register_app(
            session, nation=nation, name="Public App", redirect_uris=[CALLBACK], public=True
        )
        assert secret is None
        return AppInfo(id=row.id, client_id=row.client_id, client_secret="", redirect_uris=(CALLBACK,))

    return factory.database.transaction(create)


@pytest.fixture
def setup(factory: Factory) -> Setup:
    nation = factory.nation()
    return Setup(nation=nation, user=factory.user(nation), app=factory.app(nation))


@pytest.fixture
def public(factory: Factory) -> Setup:
    nation = factory.nation()
    return Setup(nation=nation, user=factory.user(nation), app=_public_app(factory, nation))


def _assert_error_redirect(response, setup: Setup, error: str) -> None:  # type: ignore[no-untyped-def]
    assert response.status_code == 302
    location = response.headers["location"]
    assert location.startswith(CALLBACK + "?")
    query = query_of(location)
    assert query["error"] == error
    assert query["state"] == STATE
    assert query["iss"] == f"http://testserver{setup.nation.prefix}"
    assert "code" not in query


def _assert_token_error(response, errors: set[str]) -> None:  # type: ignore[no-untyped-def]
    assert response.status_code == 400
    body = response.json()
    assert body["error"] in errors
    assert "access_token" not in body


# The verifier: 43 to 128 characters from the unreserved set, and it must match the challenge.


@pytest.mark.parametrize(
    "verifier",
    [
        pytest.param(_verifier(42), id="42-chars"),
        pytest.param(_verifier(129), id="129-chars"),
        pytest.param(_verifier(30) + "+" + _verifier(30), id="plus-sign"),
        pytest.param(_verifier(30) + "/" + _verifier(30), id="slash"),
        pytest.param(_verifier(30) + " " + _verifier(30), id="space"),
    ],
)
def test_malformed_verifier_rejected(client: TestClient, setup: Setup, verifier: str) -> None:
    """The challenge is made from the malformed verifier itself, so only the format rule can reject it."""
    code = _s256_code(client, setup, verifier)

    response = _exchange(client, setup, code, code_verifier=verifier)

    _assert_token_error(response, {"invalid_grant", "invalid_request"})


def test_wrong_verifier_is_invalid_grant(client: TestClient, setup: Setup) -> None:
    code = _s256_code(client, setup, _verifier(64))

    response = _exchange(client, setup, code, code_verifier=_verifier(64))

    _assert_token_error(response, {"invalid_grant"})


def test_wrong_verifier_burns_code(client: TestClient, setup: Setup) -> None:
    verifier = _verifier(64)
    code = _s256_code(client, setup, verifier)

    wrong = _exchange(client, setup, code, code_verifier=_verifier(64))
    right = _exchange(client, setup, code, code_verifier=verifier)

    assert wrong.status_code == 400
    _assert_token_error(right, {"invalid_grant"})


@pytest.mark.parametrize("length", [43, 64, 128])
def test_correct_verifier_succeeds(client: TestClient, setup: Setup, length: int) -> None:
    verifier = _verifier(length)
    code = _s256_code(client, setup, verifier)

    response = _exchange(client, setup, code, code_verifier=verifier)

    assert response.status_code == 200, response.text
    assert response.json()["token_type"] == "bearer"


# Downgrades: a verifier for a code issued without a challenge, and no verifier for a code with one.


def test_verifier_without_challenge_rejected(client: TestClient, setup: Setup) -> None:
    code = _code(client, setup)

    response = _exchange(client, setup, code, code_verifier=_verifier(64))

    _assert_token_error(response, {"invalid_grant", "invalid_request"})


def test_challenge_without_verifier_rejected(client: TestClient, setup: Setup) -> None:
    code = _s256_code(client, setup, _verifier(64))

    response = _exchange(client, setup, code)

    _assert_token_error(response, {"invalid_grant", "invalid_request"})


@pytest.mark.parametrize("downgrade", ["verifier-only", "challenge-only"])
def test_downgrade_is_invalid_grant(client: TestClient, setup: Setup, downgrade: str) -> None:
    verifier = _verifier(64)
    if downgrade == "verifier-only":
        response = _exchange(client, setup, _code(client, setup), code_verifier=verifier)
    else:
        response = _exchange(client, setup, _s256_code(client, setup, verifier))

    _assert_token_error(response, {"invalid_grant"})


# The plain method, and a challenge without a method, which RFC 7636 section 4.3 reads as plain.


def test_plain_rejected_by_default(client: TestClient, setup: Setup) -> None:
    sign_in(client, setup.nation.prefix, setup.user.email)

    response = consent_page(
        client,
        setup.nation.prefix,
        _params(setup.app, code_challenge=_verifier(64), code_challenge_method="plain"),
    )

    _assert_error_redirect(response, setup, "invalid_request")


def test_plain_when_app_allows(client: TestClient, factory: Factory, setup: Setup) -> None:
    _allow_plain_pkce(factory, setup.app)
    verifier = _verifier(64)

    wrong = _exchange(
        client,
        setup,
        _code(client, setup, code_challenge=verifier, code_challenge_method="plain"),
        code_verifier=_verifier(64),
    )
    right = _exchange(
        client,
        setup,
        _code(client, setup, code_challenge=verifier, code_challenge_method="plain"),
        code_verifier=verifier,
    )

    _assert_token_error(wrong, {"invalid_grant"})
    assert right.status_code == 200, right.text


def test_missing_method_rejected_by_default(client: TestClient, setup: Setup) -> None:
    sign_in(client, setup.nation.prefix, setup.user.email)

    response = consent_page(
        client, setup.nation.prefix, _params(setup.app, code_challenge=_s256(_verifier(64)))
    )

    _assert_error_redirect(response, setup, "invalid_request")


def test_missing_method_means_plain(client: TestClient, factory: Factory, setup: Setup) -> None:
    """With plain allowed, a challenge without a method is compared as plain text, not as S256."""
    _allow_plain_pkce(factory, setup.app)
    verifier = _verifier(64)

    as_s256 = _exchange(
        client, setup, _code(client, setup, code_challenge=_s256(verifier)), code_verifier=verifier
    )
    as_plain = _exchange(client, setup, _code(client, setup, code_challenge=verifier), code_verifier=verifier)

    _assert_token_error(as_s256, {"invalid_grant"})
    assert as_plain.status_code == 200, as_plain.text


def test_unknown_method_rejected(client: TestClient, setup: Setup) -> None:
    sign_in(client, setup.nation.prefix, setup.user.email)

    response = consent_page(
        client,
        setup.nation.prefix,
        _params(setup.app, code_challenge=_verifier(64), code_challenge_method="S512"),
    )

    _assert_error_redirect(response, setup, "invalid_request")


# Public apps have no secret, so PKCE is what binds the code to the app that requested it.


def test_public_app_needs_challenge(client: TestClient, public: Setup) -> None:
    sign_in(client, public.nation.prefix, public.user.email)

    response = consent_page(client, public.nation.prefix, _params(public.app))

    _assert_error_redirect(response, public, "invalid_request")


def test_public_app_rejects_plain(client: TestClient, public: Setup) -> None:
    sign_in(client, public.nation.prefix, public.user.email)

    response = consent_page(
        client,
        public.nation.prefix,
        _params(public.app, code_challenge=_verifier(64), code_challenge_method="plain"),
    )

    _assert_error_redirect(response, public, "invalid_request")


def test_public_exchange_without_secret(client: TestClient, public: Setup) -> None:
    verifier = _verifier(64)
    code = _s256_code(client, public, verifier)

    response = _public_exchange(client, public, code, code_verifier=verifier)

    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"access_token", "token_type", "scope", "created_at", "expires_in", "refresh_token"}
    assert body["token_type"] == "bearer"
    people = client.get(
        f"{public.nation.prefix}/api/v1/people", headers={"Authorization": f"Bearer {body['access_token']}"}
    )
    assert people.status_code == 200


def test_public_exchange_needs_verifier(client: TestClient, public: Setup) -> None:
    code = _s256_code(client, public, _verifier(64))

    response = _public_exchange(client, public, code)

    _assert_token_error(response, {"invalid_grant", "invalid_request"})


def test_public_exchange_wrong_verifier(client: TestClient, public: Setup) -> None:
    code = _s256_code(client, public, _verifier(64))

    response = _public_exchange(client, public, code, code_verifier=_verifier(64))

    _assert_token_error(response, {"invalid_grant"})
