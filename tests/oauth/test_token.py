"""The token endpoint: the quick start's code exchange in every encoding real clients use."""

from __future__ import annotations

import base64
import hashlib
import re
import time

from starlette.testclient import TestClient

from tests.factory import CALLBACK, AppInfo, Factory, NationInfo, UserInfo
from tests.flows import authorize, exchange_params

HEX64 = re.compile(r"^[0-9a-f]{64}$")


def _code(client: TestClient, nation: NationInfo, user: UserInfo, app: AppInfo, **extra: str) -> str:
    params = {
        "response_type": "code",
        "client_id": app.client_id,
        "redirect_uri": CALLBACK,
        "state": "s1",
        **extra,
    }
    return authorize(client, nation.prefix, user.email, params)["code"]


def _setup(factory: Factory) -> tuple[NationInfo, UserInfo, AppInfo]:
    nation = factory.nation()
    return nation, factory.user(nation), factory.app(nation)


def _assert_token_body(body: dict[str, object]) -> None:
    assert set(body) == {"access_token", "token_type", "scope", "created_at", "expires_in", "refresh_token"}
    assert HEX64.match(str(body["access_token"]))
    assert HEX64.match(str(body["refresh_token"]))
    assert body["token_type"] == "bearer"
    assert body["scope"] == ""
    assert body["expires_in"] == 86400
    assert isinstance(body["created_at"], int)
    assert abs(body["created_at"] - time.time()) < 60


def test_exchange_json_body_as_in_quick_start(client: TestClient, factory: Factory) -> None:
    nation, user, app = _setup(factory)
    code = _code(client, nation, user, app)

    response = client.post(
        f"{nation.prefix}/oauth/token",
        json=exchange_params(app, code),
        headers={"Accept": "application/json"},
    )

    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["content-type"].startswith("application/json")
    _assert_token_body(response.json())


def _form_exchange(client: TestClient, nation: NationInfo, data: dict[str, str], **kwargs: object):  # type: ignore[no-untyped-def]
    return client.post(f"{nation.prefix}/oauth/token", data=data, **kwargs)


def test_exchange_form_body(client: TestClient, factory: Factory) -> None:
    nation, user, app = _setup(factory)
    code = _code(client, nation, user, app)

    response = _form_exchange(
        client,
        nation,
        exchange_params(app, code),
    )

    assert response.status_code == 200, response.text
    _assert_token_body(response.json())


def test_exchange_http_basic(client: TestClient, factory: Factory) -> None:
    nation, user, app = _setup(factory)
    code = _code(client, nation, user, app)
    credentials = base64.b64encode(f"{app.client_id}:{app.client_secret}".encode()).decode()

    response = _form_exchange(
        client,
        nation,
        {"grant_type": "authorization_code", "code": code, "redirect_uri": CALLBACK},
        headers={"Authorization": f"Basic {credentials}"},
    )

    assert response.status_code == 200, response.text
    _assert_token_body(response.json())


def test_exchange_query_string_empty_body(client: TestClient, factory: Factory) -> None:
    nation, user, app = _setup(factory)
    code = _code(client, nation, user, app)

    response = client.post(
        f"https://testserver{nation.prefix}/oauth/token",
        params=exchange_params(app, code),
        headers={"Content-Type": "application/json"},
    )

    assert response.status_code == 200, response.text


def test_query_credentials_need_https(client: TestClient, factory: Factory) -> None:
    nation, user, app = _setup(factory)
    code = _code(client, nation, user, app)

    response = client.post(f"{nation.prefix}/oauth/token", params=exchange_params(app, code))

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"


def test_wrong_client_secret(client: TestClient, factory: Factory) -> None:
    nation, user, app = _setup(factory)
    code = _code(client, nation, user, app)

    response = _form_exchange(client, nation, exchange_params(app, code, client_secret="0" * 64))

    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"
    assert response.headers["www-authenticate"].startswith("Basic")
    assert response.headers["cache-control"] == "no-store"
    # The code survives a failed client authentication, so the real app can still redeem it.
    retry = _form_exchange(client, nation, exchange_params(app, code))
    assert retry.status_code == 200


def test_unknown_client(client: TestClient, factory: Factory) -> None:
    nation, user, app = _setup(factory)
    code = _code(client, nation, user, app)

    response = _form_exchange(client, nation, exchange_params(app, code, client_id="f" * 64))

    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"
    assert response.headers["www-authenticate"].startswith("Basic")


def test_empty_secret_is_invalid_client(client: TestClient, factory: Factory) -> None:
    nation, user, app = _setup(factory)
    code = _code(client, nation, user, app)

    response = _form_exchange(client, nation, exchange_params(app, code, client_secret=""))

    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"


def test_reused_code_revokes_first_token(client: TestClient, factory: Factory) -> None:
    nation, user, app = _setup(factory)
    code = _code(client, nation, user, app)
    first = _form_exchange(client, nation, exchange_params(app, code))
    assert first.status_code == 200
    token = first.json()["access_token"]
    people = f"{nation.prefix}/api/v1/people"
    assert client.get(people, headers={"Authorization": f"Bearer {token}"}).status_code == 200

    second = _form_exchange(client, nation, exchange_params(app, code))

    assert second.status_code == 400
    assert second.json()["error"] == "invalid_grant"
    assert client.get(people, headers={"Authorization": f"Bearer {token}"}).status_code == 401


def test_code_redeemed_on_other_nation(client: TestClient, factory: Factory) -> None:
    nation, user, app = _setup(factory)
    other = factory.nation()
    code = _code(client, nation, user, app)

    response = _form_exchange(client, other, exchange_params(app, code))

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"


def test_code_bound_to_app(client: TestClient, factory: Factory) -> None:
    nation, user, app = _setup(factory)
    other_app = factory.app(nation)
    code = _code(client, nation, user, app)

    response = _form_exchange(
        client,
        nation,
        exchange_params(app, code, client_id=other_app.client_id, client_secret=other_app.client_secret),
    )

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"


def test_code_bound_to_redirect_uri(client: TestClient, factory: Factory) -> None:
    nation, user, app = _setup(factory)
    code = _code(client, nation, user, app)

    response = _form_exchange(
        client, nation, exchange_params(app, code, redirect_uri="https://app.example/other")
    )

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"


def test_unknown_code(client: TestClient, factory: Factory) -> None:
    nation, _, app = _setup(factory)

    response = _form_exchange(client, nation, exchange_params(app, "not-a-code"))

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"


def test_missing_grant_type(client: TestClient, factory: Factory) -> None:
    nation, _, app = _setup(factory)
    params = exchange_params(app, "x")
    del params["grant_type"]

    response = _form_exchange(client, nation, params)

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"


def test_unsupported_grant_types(client: TestClient, factory: Factory) -> None:
    nation, _, app = _setup(factory)
    for grant_type in ("password", "client_credentials", "implicit", "urn:unknown"):
        response = _form_exchange(client, nation, exchange_params(app, "x", grant_type=grant_type))
        assert response.status_code == 400, grant_type
        assert response.json()["error"] == "unsupported_grant_type", grant_type


def test_json_body_with_non_string_value(client: TestClient, factory: Factory) -> None:
    nation, _, app = _setup(factory)
    body: dict[str, object] = {**exchange_params(app, "x"), "code": ["a", "b"]}

    response = client.post(f"{nation.prefix}/oauth/token", json=body)

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"


def test_malformed_json_body(client: TestClient, factory: Factory) -> None:
    nation, _, _ = _setup(factory)

    response = client.post(
        f"{nation.prefix}/oauth/token", content=b"{not json", headers={"Content-Type": "application/json"}
    )

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"
    assert response.headers["cache-control"] == "no-store"


def test_unsupported_content_type(client: TestClient, factory: Factory) -> None:
    nation, _, _app = _setup(factory)

    response = client.post(
        f"{nation.prefix}/oauth/token",
        content=b"grant_type=authorization_code",
        headers={"Content-Type": "text/plain"},
    )

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"


def test_repeated_parameter(client: TestClient, factory: Factory) -> None:
    nation, _, _app = _setup(factory)

    response = client.post(
        f"{nation.prefix}/oauth/token",
        content=b"grant_type=authorization_code&code=a&code=b",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"


def test_unknown_nation_token_endpoint(client: TestClient) -> None:
    response = client.post("/n/no-such-nation/oauth/token", data={"grant_type": "authorization_code"})

    assert response.status_code == 404
    assert response.json()["error"] == "invalid_request"


def test_refresh_rotates_and_detects_reuse(client: TestClient, factory: Factory) -> None:
    nation, user, app = _setup(factory)
    first = _form_exchange(client, nation, exchange_params(app, _code(client, nation, user, app))).json()
    refresh = {
        "grant_type": "refresh_token",
        "client_id": app.client_id,
        "client_secret": app.client_secret,
    }

    second = _form_exchange(client, nation, {**refresh, "refresh_token": first["refresh_token"]})
    assert second.status_code == 200, second.text
    _assert_token_body(second.json())
    assert second.json()["refresh_token"] != first["refresh_token"]
    people = f"{nation.prefix}/api/v1/people"
    new_token = second.json()["access_token"]
    assert client.get(people, headers={"Authorization": f"Bearer {new_token}"}).status_code == 200
    old_token = first["access_token"]
    assert client.get(people, headers={"Authorization": f"Bearer {old_token}"}).status_code == 401

    replay = _form_exchange(client, nation, {**refresh, "refresh_token": first["refresh_token"]})

    assert replay.status_code == 400
    assert replay.json()["error"] == "invalid_grant"
    assert client.get(people, headers={"Authorization": f"Bearer {new_token}"}).status_code == 401
    newest = _form_exchange(client, nation, {**refresh, "refresh_token": second.json()["refresh_token"]})
    assert newest.status_code == 400


def test_refresh_by_other_app_leaves_token(client: TestClient, factory: Factory) -> None:
    nation, user, app = _setup(factory)
    other = factory.app(nation)
    tokens = _form_exchange(client, nation, exchange_params(app, _code(client, nation, user, app))).json()

    stolen = _form_exchange(
        client,
        nation,
        {
            "grant_type": "refresh_token",
            "refresh_token": tokens["refresh_token"],
            "client_id": other.client_id,
            "client_secret": other.client_secret,
        },
    )
    owner = _form_exchange(
        client,
        nation,
        {
            "grant_type": "refresh_token",
            "refresh_token": tokens["refresh_token"],
            "client_id": app.client_id,
            "client_secret": app.client_secret,
        },
    )

    assert stolen.status_code == 400
    assert stolen.json()["error"] == "invalid_grant"
    assert owner.status_code == 200


def test_pkce_s256(client: TestClient, factory: Factory) -> None:
    nation, user, app = _setup(factory)
    verifier = "v" * 43 + "-._~0123"
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    code = _code(client, nation, user, app, code_challenge=challenge, code_challenge_method="S256")

    wrong = _form_exchange(client, nation, exchange_params(app, code, code_verifier="w" * 50))
    assert wrong.status_code == 400
    assert wrong.json()["error"] == "invalid_grant"

    code = _code(client, nation, user, app, code_challenge=challenge, code_challenge_method="S256")
    missing = _form_exchange(client, nation, exchange_params(app, code))
    assert missing.status_code == 400
    assert missing.json()["error"] == "invalid_grant"

    code = _code(client, nation, user, app, code_challenge=challenge, code_challenge_method="S256")
    right = _form_exchange(client, nation, exchange_params(app, code, code_verifier=verifier))
    assert right.status_code == 200, right.text


def test_verifier_without_challenge_refused(client: TestClient, factory: Factory) -> None:
    nation, user, app = _setup(factory)
    code = _code(client, nation, user, app)

    response = _form_exchange(client, nation, exchange_params(app, code, code_verifier="v" * 50))

    assert response.status_code == 400
    assert response.json()["error"] in {"invalid_request", "invalid_grant"}


def test_get_is_not_allowed(client: TestClient, factory: Factory) -> None:
    nation = factory.nation()

    response = client.get(f"{nation.prefix}/oauth/token")

    assert response.status_code == 405
    assert response.headers["allow"] == "POST"
    assert response.json()["error"] == "invalid_request"
    assert response.headers["cache-control"] == "no-store"
