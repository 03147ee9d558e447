"""Authorization server metadata (RFC 8414): one issuer per nation, in each address form."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit

import pytest
from authlib.oauth2.rfc8414 import AuthorizationServerMetadata
from starlette.testclient import TestClient

from tests.factory import CALLBACK, AppInfo, Factory, NationInfo, UserInfo
from tests.flows import authorize, exchange_params, query_of, sign_in

WELL_KNOWN = "/.well-known/oauth-authorization-server"


def _setup(factory: Factory) -> tuple[NationInfo, UserInfo, AppInfo]:
    nation = factory.nation()
    return nation, factory.user(nation), factory.app(nation)


@contextmanager
def _browser(app: Any, base_url: str) -> Iterator[TestClient]:
    with TestClient(app, base_url=base_url, follow_redirects=False) as test_client:
        yield test_client


@pytest.fixture
def https_client(app: Any) -> Iterator[TestClient]:
    with _browser(app, "https://testserver") as test_client:
        yield test_client


def _authorization_iss(client: TestClient, prefix: str, user: UserInfo, app: AppInfo) -> str:
    """Approve an authorization request at ``prefix`` and return the ``iss`` of the redirect."""
    params = {"response_type": "code", "client_id": app.client_id, "redirect_uri": CALLBACK, "state": "s"}
    return authorize(client, prefix, user.email, params)["iss"]


def _expected_metadata(issuer: str) -> dict[str, Any]:
    methods = ["client_secret_basic", "client_secret_post", "none"]
    return {
        "issuer": issuer,
        "authorization_endpoint": f"{issuer}/oauth/authorize",
        "token_endpoint": f"{issuer}/oauth/token",
        "revocation_endpoint": f"{issuer}/oauth/revoke",
        "introspection_endpoint": f"{issuer}/oauth/introspect",
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code", "refresh_token"],
        "scopes_supported": ["default"],
        "token_endpoint_auth_methods_supported": methods,
        "revocation_endpoint_auth_methods_supported": methods,
        "introspection_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "code_challenge_methods_supported": ["S256"],
        "authorization_response_iss_parameter_supported": True,
    }


def test_prefix_metadata_document(client: TestClient, factory: Factory) -> None:
    nation = factory.nation()

    response = client.get(f"{nation.prefix}{WELL_KNOWN}")

    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.json() == _expected_metadata(f"http://testserver{nation.prefix}")


def test_prefix_issuer_matches_iss(client: TestClient, factory: Factory) -> None:
    nation, user, app = _setup(factory)

    issuer = client.get(f"{nation.prefix}{WELL_KNOWN}").json()["issuer"]

    assert _authorization_iss(client, nation.prefix, user, app) == issuer


def test_issuer_matches_introspection_iss(client: TestClient, factory: Factory) -> None:
    nation, user, app = _setup(factory)
    params = {"response_type": "code", "client_id": app.client_id, "redirect_uri": CALLBACK}
    code = authorize(client, nation.prefix, user.email, params)["code"]
    tokens = client.post(f"{nation.prefix}/oauth/token", data=exchange_params(app, code)).json()
    metadata = client.get(f"{nation.prefix}{WELL_KNOWN}").json()

    introspection = client.post(
        metadata["introspection_endpoint"],
        data={
            "token": tokens["access_token"],
            "client_id": app.client_id,
            "client_secret": app.client_secret,
        },
    )

    assert introspection.status_code == 200
    assert introspection.json()["iss"] == metadata["issuer"]


def test_path_aware_https_document(https_client: TestClient, factory: Factory) -> None:
    nation = factory.nation()

    response = https_client.get(f"{WELL_KNOWN}/n/{nation.slug}")

    assert response.status_code == 200
    body = response.json()
    assert body == _expected_metadata(f"https://testserver/n/{nation.slug}")
    issuer = urlsplit(body["issuer"])
    assert issuer.scheme == "https"
    assert issuer.query == ""
    assert issuer.fragment == ""
    AuthorizationServerMetadata(body).validate()


def test_path_aware_issuer_matches_iss(https_client: TestClient, factory: Factory) -> None:
    nation, user, app = _setup(factory)

    issuer = https_client.get(f"{WELL_KNOWN}/n/{nation.slug}").json()["issuer"]

    assert _authorization_iss(https_client, nation.prefix, user, app) == issuer


def test_host_form_issuer_matches_iss(app: Any, factory: Factory) -> None:
    nation, user, oauth_app = _setup(factory)

    with _browser(app, f"http://{nation.slug}.localhost") as host_client:
        response = host_client.get(WELL_KNOWN)
        assert response.status_code == 200
        assert response.json() == _expected_metadata(f"http://{nation.slug}.localhost")
        assert _authorization_iss(host_client, "", user, oauth_app) == response.json()["issuer"]


def test_no_implicit_or_password(client: TestClient, factory: Factory) -> None:
    nation = factory.nation()

    body = client.get(f"{nation.prefix}{WELL_KNOWN}").json()

    assert "implicit" not in body["grant_types_supported"]
    assert "password" not in body["grant_types_supported"]
    assert body["response_types_supported"] == ["code"]
    assert body["code_challenge_methods_supported"] == ["S256"]
    assert body["authorization_response_iss_parameter_supported"] is True


def test_unadvertised_grants_rejected(client: TestClient, factory: Factory) -> None:
    nation = factory.nation()
    app = factory.app(nation)
    metadata = client.get(f"{nation.prefix}{WELL_KNOWN}").json()

    for grant_type in ("password", "implicit", "client_credentials"):
        assert grant_type not in metadata["grant_types_supported"], grant_type
        response = client.post(
            metadata["token_endpoint"],
            data={"grant_type": grant_type, "client_id": app.client_id, "client_secret": app.client_secret},
        )
        assert response.status_code == 400, grant_type
        assert response.json()["error"] == "unsupported_grant_type", grant_type


def test_unadvertised_response_type_rejected(client: TestClient, factory: Factory) -> None:
    nation, user, app = _setup(factory)
    sign_in(client, nation.prefix, user.email)
    metadata = client.get(f"{nation.prefix}{WELL_KNOWN}").json()

    response = client.get(
        metadata["authorization_endpoint"],
        params={"response_type": "token", "client_id": app.client_id, "redirect_uri": CALLBACK, "state": "s"},
    )

    assert response.status_code == 302
    query = query_of(response.headers["location"])
    assert query["error"] == "unsupported_response_type"
    assert query["iss"] == metadata["issuer"]


def test_unknown_nation_is_404(client: TestClient, https_client: TestClient, app: Any) -> None:
    responses = {
        "prefix": client.get(f"/n/no-such-nation{WELL_KNOWN}"),
        "path-aware": https_client.get(f"{WELL_KNOWN}/n/no-such-nation"),
    }
    with _browser(app, "http://no-such-nation.localhost") as host_client:
        responses["host"] = host_client.get(WELL_KNOWN)

    for form, response in responses.items():
        assert response.status_code == 404, form
        assert response.headers["content-type"] == "application/json", form
        assert set(response.json()) == {"code", "message"}, form
        assert response.json()["code"] == "not_found", form


def test_path_aware_on_nation_host(app: Any, factory: Factory) -> None:
    nation = factory.nation()
    host_nation = factory.nation()

    with _browser(app, f"http://{host_nation.slug}.localhost") as host_client:
        response = host_client.get(f"{WELL_KNOWN}/n/{nation.slug}")
        advertised = host_client.get(f"/n/{nation.slug}/oauth/authorize")
        assert advertised.status_code == 404
        assert response.status_code == 404
