"""The sample app of examples/sample_app, run in this process against a live Citizenry server.

The sample app calls the live server over the network, as it would in production. The admin's
browser is requests: it signs in and decides on the consent page, and the test hands the redirect
to the sample app's callback.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from html import unescape
from urllib.parse import parse_qs, urlsplit

import httpx2
import pytest
import requests
from examples.sample_app import Settings, SettingsError, create_app
from starlette.testclient import TestClient

from citizenry.store.db import Database
from tests.e2e import test_quickstart
from tests.e2e.test_quickstart import LiveServer
from tests.factory import AppInfo, Factory, NationInfo, UserInfo
from tests.flows import decide_signed_out, query_of
from tests.live import free_port

# One `citizenry serve` process per database, with OAuth over plain http.
live_server = test_quickstart.live_server

# Nothing listens here: the test passes the redirect to the sample app, which TestClient serves
# under this address.
SAMPLE = "http://127.0.0.1:9000"
CALLBACK = f"{SAMPLE}/callback"
FIRST_PAGE = [f"First{i} Last{i}" for i in range(10)]
SECOND_PAGE = ["First10 Last10", "First11 Last11"]
REQUIRED = {"SAMPLE_APP_CLIENT_ID": "client-1", "SAMPLE_APP_CALLBACK_URL": CALLBACK}


@dataclass(frozen=True)
class Tour:
    """A nation with 12 people and an admin, an app registered elsewhere, and the sample app."""

    server: LiveServer
    nation: NationInfo
    admin: UserInfo
    app: AppInfo
    sample: TestClient

    @property
    def base(self) -> str:
        return self.server.nation_url(self.nation)


@pytest.fixture
def tour(database: Database, live_server: LiveServer) -> Iterator[Tour]:
    factory = Factory(database)
    nation = factory.nation()
    admin = factory.user(nation)
    factory.people(nation, 12)
    app = factory.app(factory.nation(), redirect_uris=(CALLBACK,))
    settings = Settings(
        client_id=app.client_id,
        client_secret=app.client_secret,
        callback_url=CALLBACK,
        nation_url=f"{live_server.base_url}/n/{{slug}}",
    )
    with TestClient(create_app(settings), base_url=SAMPLE, follow_redirects=False) as sample:
        yield Tour(server=live_server, nation=nation, admin=admin, app=app, sample=sample)


def decide_in_browser(tour: Tour, authorize_url: str, decision: str) -> str:
    """Open the consent page signed out, sign in as the admin and decide. Return the redirect."""
    location = decide_signed_out(tour.base, authorize_url, tour.admin.email, decision)
    assert location.startswith(f"{CALLBACK}?")
    return location


def connect(tour: Tour, decision: str = "authorize") -> httpx2.Response:
    """Press Connect with the tour's nation, decide on the consent page, and open the callback."""
    connected = tour.sample.post("/connect", data={"nation": tour.nation.slug})
    assert connected.status_code == 303
    redirect = decide_in_browser(tour, connected.headers["location"], decision)
    return tour.sample.get(redirect.removeprefix(SAMPLE))


def problem_kind(html: str) -> str | None:
    """Return the ``data-testid`` of the page's alert, which names the problem shown."""
    match = re.search(r'role="alert" data-testid="([^"]+)"', html)
    return match.group(1) if match else None


def names(html: str) -> list[str]:
    return [unescape(name) for name in re.findall(r'data-testid="person-name">([^<]*)<', html)]


def page_link(html: str, rel: str) -> str | None:
    match = re.search(rf'<a href="([^"]+)" rel="{rel}"', html)
    return unescape(match.group(1)) if match else None


def stored_tokens(tour: Tour) -> tuple[str, str]:
    """Return the access and refresh token the sample app keeps for the tour's one browser."""
    session_id = session_payload(tour.sample)["id"]
    tokens = tour.sample.app.state.visits.find(session_id).client.tokens()  # type: ignore[attr-defined]
    return tokens.access_token, tokens.refresh_token


def session_payload(sample: TestClient) -> dict[str, object]:
    """Decode the sample app's signed session cookie (itsdangerous: base64 JSON, timestamp, signature)."""
    value = sample.cookies["sample_app_session"]
    payload: dict[str, object] = json.loads(base64.b64decode(value.split(".")[0]))
    return payload


def api_status(tour: Tour, access_token: str) -> int:
    response = requests.get(
        f"{tour.base}/api/v1/people",
        headers={"Authorization": f"Bearer {access_token}", "Accept": "application/json"},
        timeout=30,
    )
    return response.status_code


def test_connect_list_and_disconnect(tour: Tour) -> None:
    connected = tour.sample.post("/connect", data={"nation": tour.nation.slug.upper()})
    assert connected.status_code == 303
    authorize = urlsplit(connected.headers["location"])
    query = {key: values[0] for key, values in parse_qs(authorize.query).items()}
    assert f"{authorize.scheme}://{authorize.netloc}{authorize.path}" == f"{tour.base}/oauth/authorize"
    assert set(query) == {
        "response_type",
        "client_id",
        "redirect_uri",
        "state",
        "code_challenge",
        "code_challenge_method",
    }
    assert query["client_id"] == tour.app.client_id
    assert query["redirect_uri"] == CALLBACK
    assert query["code_challenge_method"] == "S256"
    session_before = session_payload(tour.sample)["id"]

    redirect = decide_in_browser(tour, connected.headers["location"], "authorize")
    assert query_of(redirect)["state"] == query["state"]
    callback = tour.sample.get(redirect.removeprefix(SAMPLE))
    assert callback.status_code == 303
    assert callback.headers["location"] == "/people"
    # The cookie contains a new session id and nothing else, because the token stays on the server.
    assert set(session_payload(tour.sample)) == {"id"}
    assert session_payload(tour.sample)["id"] != session_before
    cookie = callback.headers["set-cookie"].lower()
    assert "httponly" in cookie
    assert "samesite=lax" in cookie
    access_token, refresh_token = stored_tokens(tour)
    assert access_token not in callback.text
    assert refresh_token not in cookie

    first = tour.sample.get("/people")
    assert first.status_code == 200
    assert names(first.text) == FIRST_PAGE
    assert access_token not in first.text
    assert page_link(first.text, "prev") is None
    next_link = page_link(first.text, "next")
    assert next_link is not None

    second = tour.sample.get(next_link)
    assert second.status_code == 200
    assert names(second.text) == SECOND_PAGE
    assert page_link(second.text, "next") is None
    previous_link = page_link(second.text, "prev")
    assert previous_link is not None
    assert names(tour.sample.get(previous_link).text) == FIRST_PAGE

    disconnected = tour.sample.post("/disconnect")
    assert disconnected.status_code == 303
    assert disconnected.headers["location"] == "/?notice=disconnected"
    assert api_status(tour, access_token) == 401
    assert "sample_app_session" not in tour.sample.cookies
    after = tour.sample.get("/people")
    assert after.status_code == 303
    assert after.headers["location"] == "/"


def test_deny_explains_access_denied(tour: Tour) -> None:
    response = connect(tour, "deny")

    assert response.status_code == 403
    assert problem_kind(response.text) == "access-denied"
    assert f'value="{tour.nation.slug}"' in response.text
    assert tour.sample.get("/people").status_code == 303


def test_unknown_nation_explained(tour: Tour) -> None:
    response = tour.sample.post("/connect", data={"nation": f"{tour.nation.slug}-gone"})

    assert response.status_code == 404
    assert problem_kind(response.text) == "unknown-nation"
    assert "sample_app_session" not in tour.sample.cookies


def test_revoked_token_offers_connect(tour: Tour) -> None:
    connect(tour)
    access_token, refresh_token = stored_tokens(tour)
    revoked = requests.post(
        f"{tour.base}/oauth/revoke",
        data={
            "token": refresh_token,
            "token_type_hint": "refresh_token",
            "client_id": tour.app.client_id,
            "client_secret": tour.app.client_secret,
        },
        timeout=30,
    )
    assert revoked.status_code == 200

    response = tour.sample.get("/people")

    assert response.status_code == 401
    assert problem_kind(response.text) == "connection-ended"
    assert f'value="{tour.nation.slug}"' in response.text
    assert api_status(tour, access_token) == 401
    assert tour.sample.get("/people").status_code == 303


def test_callback_with_wrong_state(tour: Tour) -> None:
    connected = tour.sample.post("/connect", data={"nation": tour.nation.slug})
    redirect = decide_in_browser(tour, connected.headers["location"], "authorize")
    forged = re.sub(r"state=[^&]+", "state=forged", redirect)

    response = tour.sample.get(forged.removeprefix(SAMPLE))
    again = tour.sample.get(redirect.removeprefix(SAMPLE))

    assert response.status_code == 400
    assert problem_kind(response.text) == "authorization-failed"
    # The pending request is used up, so even the genuine redirect is refused afterwards.
    assert again.status_code == 400
    assert problem_kind(again.text) == "authorization-failed"


def test_page_link_must_be_people(tour: Tour) -> None:
    connect(tour)

    for link in ["https://elsewhere.example/api/v1/people", "/api/v1/tags", "//elsewhere.example/x"]:
        response = tour.sample.get("/people", params={"page": link})
        assert response.status_code == 400, link


@pytest.fixture
def offline_sample() -> Iterator[TestClient]:
    """The sample app pointed at a loopback port where nothing listens."""
    settings = Settings(
        client_id="client-1",
        client_secret="secret-1",
        callback_url=CALLBACK,
        nation_url=f"http://127.0.0.1:{free_port()}/n/{{slug}}",
    )
    with TestClient(create_app(settings), base_url=SAMPLE, follow_redirects=False) as sample:
        yield sample


def test_unreachable_nation_explained(offline_sample: TestClient) -> None:
    response = offline_sample.post("/connect", data={"nation": "demo"})

    assert response.status_code == 502
    assert problem_kind(response.text) == "unreachable"
    assert 'value="demo"' in response.text


INVALID_SLUGS = ["", "   ", "demo.nationbuilder.com", "https://demo.nationbuilder.com", "two words", "x" * 64]


@pytest.mark.parametrize("typed", [*INVALID_SLUGS, "../admin"])
def test_invalid_slug_rejected(offline_sample: TestClient, typed: str) -> None:
    response = offline_sample.post("/connect", data={"nation": typed})

    assert response.status_code == 400
    assert problem_kind(response.text) == "invalid-slug"
    assert 'aria-invalid="true"' in response.text
    assert "sample_app_session" not in offline_sample.cookies


def test_home_page_shows_connect_form(offline_sample: TestClient) -> None:
    response = offline_sample.get("/")

    assert response.status_code == 200
    assert problem_kind(response.text) is None
    assert '<form class="connect" method="post" action="/connect">' in response.text


def test_settings_from_env() -> None:
    settings = Settings.from_env(
        {"SAMPLE_APP_CLIENT_ID": "client-1", "SAMPLE_APP_CALLBACK_URL": "https://app.example/oauth/callback"}
    )

    assert settings.client_secret is None
    assert settings.nation_url == "https://{slug}.nationbuilder.com"
    assert settings.base_url("demo") == "https://demo.nationbuilder.com"
    assert settings.callback_path == "/oauth/callback"
    assert settings.https
    assert "s3cr3t" not in repr(Settings.from_env({**REQUIRED, "SAMPLE_APP_CLIENT_SECRET": "s3cr3t"}))


@pytest.mark.parametrize(
    ("env", "variable"),
    [
        ({"SAMPLE_APP_CALLBACK_URL": CALLBACK}, "SAMPLE_APP_CLIENT_ID"),
        ({"SAMPLE_APP_CLIENT_ID": "client-1"}, "SAMPLE_APP_CALLBACK_URL"),
        ({**REQUIRED, "SAMPLE_APP_CALLBACK_URL": "/callback"}, "SAMPLE_APP_CALLBACK_URL"),
        ({**REQUIRED, "SAMPLE_APP_CALLBACK_URL": "http://127.0.0.1:9000"}, "SAMPLE_APP_CALLBACK_URL"),
        ({**REQUIRED, "SAMPLE_APP_NATION_URL": "https://nation.example"}, "SAMPLE_APP_NATION_URL"),
        ({**REQUIRED, "SAMPLE_APP_NATION_URL": "ftp://{slug}.example"}, "SAMPLE_APP_NATION_URL"),
        ({**REQUIRED, "SAMPLE_APP_NATION_URL": "https://x.example/{slug}?a=1"}, "SAMPLE_APP_NATION_URL"),
        ({**REQUIRED, "SAMPLE_APP_SECRET_KEY": "short"}, "SAMPLE_APP_SECRET_KEY"),
    ],
)
def test_settings_errors_name_variable(env: dict[str, str], variable: str) -> None:
    with pytest.raises(SettingsError, match=variable):
        Settings.from_env(env)
