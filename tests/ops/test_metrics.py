"""Prometheus metrics: counts by route template, token responses, rate-limit hits and the switch.

The counters live in prometheus_client's default registry for the whole test run, so each test
compares values before and after its own requests.
"""

from __future__ import annotations

import os
import secrets
import socket
import stat
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families
from starlette.testclient import TestClient

from citizenry.app import create_app
from citizenry.ops import metrics
from citizenry.settings import Settings, SettingsError
from tests.factory import CALLBACK, AppInfo, Factory, NationInfo, UserInfo
from tests.flows import authorize, exchange_params

REQUESTS = "citizenry_http_requests_total"
DURATION_COUNT = "citizenry_http_request_duration_seconds_count"
ISSUED = "citizenry_tokens_issued_total"
REFUSED = "citizenry_tokens_refused_total"
RATE_LIMITED = "citizenry_rate_limited_total"


def _scrape(client: TestClient) -> str:
    response = client.get("/metrics")
    assert response.status_code == 200
    return response.text


def _value(exposition: str, sample_name: str, **labels: str) -> float:
    """Return the sum of the samples named ``sample_name`` whose labels include ``labels``."""
    total = 0.0
    for family in text_string_to_metric_families(exposition):
        for sample in family.samples:
            if sample.name == sample_name and labels.items() <= sample.labels.items():
                total += sample.value
    return total


def _route_labels(exposition: str) -> set[str]:
    return {
        sample.labels["route"]
        for family in text_string_to_metric_families(exposition)
        for sample in family.samples
        if sample.name == REQUESTS
    }


def _closed_port() -> int:
    """Return a loopback port that nothing listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def _setup(factory: Factory) -> tuple[NationInfo, UserInfo, AppInfo]:
    nation = factory.nation()
    return nation, factory.user(nation), factory.app(nation)


def test_metrics_exposition_format(client: TestClient) -> None:
    response = client.get("/metrics")

    assert response.status_code == 200
    assert response.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8"
    assert response.headers["cache-control"] == "no-store"
    names = {family.name for family in text_string_to_metric_families(response.text)}
    assert {
        "citizenry_http_requests",
        "citizenry_http_request_duration_seconds",
        "citizenry_tokens_issued",
        "citizenry_tokens_refused",
        "citizenry_rate_limited",
    } <= names


def test_requests_counted_by_route_template(client: TestClient, factory: Factory) -> None:
    nation, user, _ = _setup(factory)
    token = factory.test_token(nation, user)
    person_id = factory.people(nation, 1)[0]
    route = "/api/v1/people/{person_id}"
    before = _scrape(client)

    for _ in range(3):
        response = client.get(
            f"{nation.prefix}/api/v1/people/{person_id}", headers={"Authorization": f"Bearer {token}"}
        )
        assert response.status_code == 200
    missing = client.get(
        f"{nation.prefix}/api/v1/people/999999999", headers={"Authorization": f"Bearer {token}"}
    )
    assert missing.status_code == 404
    after = _scrape(client)

    counted = _value(after, REQUESTS, method="GET", route=route, status="200")
    assert counted - _value(before, REQUESTS, method="GET", route=route, status="200") == 3
    not_found = _value(after, REQUESTS, method="GET", route=route, status="404")
    assert not_found - _value(before, REQUESTS, method="GET", route=route, status="404") == 1
    timed = _value(after, DURATION_COUNT, method="GET", route=route)
    assert timed - _value(before, DURATION_COUNT, method="GET", route=route) == 4


def test_route_labels_hold_no_raw_path(client: TestClient, factory: Factory) -> None:
    nation, user, _ = _setup(factory)
    token = factory.test_token(nation, user)
    person_id = factory.people(nation, 1)[0]
    client.get(f"{nation.prefix}/api/v1/people/{person_id}", headers={"Authorization": f"Bearer {token}"})
    client.get(f"/n/{nation.slug}/no/such/page/{person_id}")
    client.get("/healthz", headers={"Host": f"{nation.slug}.localhost"})

    routes = _route_labels(_scrape(client))

    assert "/api/v1/people/{person_id}" in routes
    assert "/healthz" in routes
    assert "unmatched" in routes
    assert not [route for route in routes if nation.slug in route or str(person_id) in route]


def test_unmatched_request_counted(client: TestClient) -> None:
    labels = {"method": "GET", "route": "unmatched", "status": "404"}
    before = _value(_scrape(client), REQUESTS, **labels)

    response = client.get(f"/no-such-page-{secrets.token_hex(4)}")

    assert response.status_code == 404
    assert _value(_scrape(client), REQUESTS, **labels) - before == 1


def test_unknown_method_labelled_other(client: TestClient) -> None:
    labels = {"method": "other", "route": "/healthz", "status": "405"}
    before = _value(_scrape(client), REQUESTS, **labels)

    response = client.request("BREW", "/healthz")

    assert response.status_code == 405
    assert _value(_scrape(client), REQUESTS, **labels) - before == 1


def test_token_responses_counted(client: TestClient, factory: Factory) -> None:
    nation, user, app = _setup(factory)
    params = {"response_type": "code", "client_id": app.client_id, "redirect_uri": CALLBACK, "state": "s"}
    code = authorize(client, nation.prefix, user.email, params)["code"]
    before = _scrape(client)

    good = client.post(f"{nation.prefix}/oauth/token", data=exchange_params(app, code))
    replayed = client.post(f"{nation.prefix}/oauth/token", data=exchange_params(app, code))
    wrong_secret = client.post(
        f"{nation.prefix}/oauth/token", data=exchange_params(app, "x" * 40, client_secret="wrong")
    )
    refreshed = client.post(
        f"{nation.prefix}/oauth/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": "no-such-token",
            "client_id": app.client_id,
            "client_secret": app.client_secret,
        },
    )
    no_grant_type = client.post(f"{nation.prefix}/oauth/token", data={"code": code})
    after = _scrape(client)

    assert good.status_code == 200
    assert replayed.json()["error"] == "invalid_grant"
    assert wrong_secret.json()["error"] == "invalid_client"
    assert refreshed.json()["error"] == "invalid_grant"
    assert no_grant_type.json()["error"] == "invalid_request"

    def change(name: str, **labels: str) -> float:
        return _value(after, name, **labels) - _value(before, name, **labels)

    assert change(ISSUED, grant_type="authorization_code") == 1
    assert change(ISSUED, grant_type="refresh_token") == 0
    assert change(REFUSED, error="invalid_grant") == 2
    assert change(REFUSED, error="invalid_client") == 1
    assert change(REFUSED, error="invalid_request") == 1


def test_refresh_issue_counted(client: TestClient, factory: Factory) -> None:
    nation, user, app = _setup(factory)
    params = {"response_type": "code", "client_id": app.client_id, "redirect_uri": CALLBACK, "state": "s"}
    code = authorize(client, nation.prefix, user.email, params)["code"]
    first = client.post(f"{nation.prefix}/oauth/token", data=exchange_params(app, code)).json()
    before = _value(_scrape(client), ISSUED, grant_type="refresh_token")

    response = client.post(
        f"{nation.prefix}/oauth/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": first["refresh_token"],
            "client_id": app.client_id,
            "client_secret": app.client_secret,
        },
    )

    assert response.status_code == 200
    assert _value(_scrape(client), ISSUED, grant_type="refresh_token") - before == 1


def test_unsupported_grant_type_not_a_label(client: TestClient, factory: Factory) -> None:
    nation, _, app = _setup(factory)
    grant_type = f"urn:example:{secrets.token_hex(4)}"

    response = client.post(
        f"{nation.prefix}/oauth/token",
        data={"grant_type": grant_type, "client_id": app.client_id, "client_secret": app.client_secret},
    )

    assert response.status_code == 400
    assert grant_type not in _scrape(client)


def test_token_rate_limit_counted_as_refusal(database_url: str, factory: Factory) -> None:
    nation, _, app = _setup(factory)
    settings = Settings(
        database_url=database_url,
        secret_key=secrets.token_urlsafe(48),
        insecure_http=True,
        session_cookie_secure=False,
        oauth_rate_limit_per_app="1/minute",
    )
    data = {"grant_type": "authorization_code", "code": "x", "client_id": app.client_id}
    with TestClient(create_app(settings)) as client:
        before = _scrape(client)
        client.post(f"{nation.prefix}/oauth/token", data=data)
        limited = client.post(f"{nation.prefix}/oauth/token", data=data)
        after = _scrape(client)

    assert limited.status_code == 429
    assert _value(after, REFUSED, error="rate_limited") - _value(before, REFUSED, error="rate_limited") == 1
    hits = _value(after, RATE_LIMITED, scope="oauth-app") - _value(before, RATE_LIMITED, scope="oauth-app")
    assert hits == 1


def test_api_rate_limit_counted(database_url: str, factory: Factory) -> None:
    nation = factory.nation()
    headers = {"Authorization": f"Bearer {factory.test_token(nation, factory.user(nation))}"}
    settings = Settings(
        database_url=database_url,
        secret_key=secrets.token_urlsafe(48),
        insecure_http=True,
        session_cookie_secure=False,
        api_rate_limit_per_token="1/minute",
    )
    with TestClient(create_app(settings)) as client:
        before = _value(_scrape(client), RATE_LIMITED, scope="api-token")
        client.get(f"{nation.prefix}/api/v1/people/count", headers=headers)
        limited = client.get(f"{nation.prefix}/api/v1/people/count", headers=headers)
        after = _value(_scrape(client), RATE_LIMITED, scope="api-token")

    assert limited.status_code == 429
    assert after - before == 1


def test_database_outage_counted_as_refusal(client: TestClient) -> None:
    settings = Settings(
        database_url=f"postgresql+psycopg://postgres@127.0.0.1:{_closed_port()}/none",
        secret_key=secrets.token_urlsafe(48),
        insecure_http=True,
        session_cookie_secure=False,
    )
    before = _value(_scrape(client), REFUSED, error="temporarily_unavailable")
    with TestClient(create_app(settings)) as outage_client:
        response = outage_client.post(
            "/n/alpha/oauth/token",
            data={"grant_type": "authorization_code", "code": "x", "client_id": "y", "client_secret": "z"},
        )

    assert response.status_code == 503
    assert response.json()["error"] == "temporarily_unavailable"
    assert _value(_scrape(client), REFUSED, error="temporarily_unavailable") - before == 1


def test_record_rate_limited(client: TestClient) -> None:
    before = _value(_scrape(client), RATE_LIMITED, scope="sign-in-ip")

    metrics.record_rate_limited("sign-in-ip")
    metrics.record_rate_limited("sign-in-ip")

    assert _value(_scrape(client), RATE_LIMITED, scope="sign-in-ip") - before == 2


def test_metrics_off(database_url: str) -> None:
    settings = Settings(
        database_url=database_url,
        secret_key=secrets.token_urlsafe(48),
        insecure_http=True,
        session_cookie_secure=False,
        metrics_enabled=False,
    )
    with TestClient(create_app(settings)) as client:
        response = client.get("/metrics")

    assert response.status_code == 404


@pytest.mark.parametrize(
    ("value", "expected"), [(None, True), ("", True), ("1", True), ("0", False), ("off", False)]
)
def test_metrics_setting(tmp_path: Path, value: str | None, expected: bool) -> None:
    env = {"CITIZENRY_DATA_DIR": str(tmp_path)}
    if value is not None:
        env["CITIZENRY_METRICS"] = value

    assert Settings.from_env(env).metrics_enabled is expected


def test_metrics_setting_invalid(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="CITIZENRY_METRICS"):
        Settings.from_env({"CITIZENRY_DATA_DIR": str(tmp_path), "CITIZENRY_METRICS": "maybe"})


def test_private_multiprocess_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv(metrics.MULTIPROC_DIR_VARIABLE, raising=False)
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    monkeypatch.setattr("tempfile.tempdir", None)

    with metrics.multiprocess_dir() as folder:
        assert os.environ[metrics.MULTIPROC_DIR_VARIABLE] == str(folder)
        assert folder.parent == tmp_path
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700
        (folder / "counter_1.db").write_bytes(b"")

    assert metrics.MULTIPROC_DIR_VARIABLE not in os.environ
    assert not folder.exists()


def test_configured_multiprocess_dir_emptied(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    folder = tmp_path / "metrics"
    folder.mkdir()
    (folder / "counter_123.db").write_bytes(b"stale")
    (folder / "histogram_123.db").write_bytes(b"stale")
    (folder / "notes.txt").write_text("kept")
    monkeypatch.setenv(metrics.MULTIPROC_DIR_VARIABLE, str(folder))

    with metrics.multiprocess_dir() as used:
        assert used == folder
        assert sorted(path.name for path in folder.iterdir()) == ["notes.txt"]

    assert os.environ[metrics.MULTIPROC_DIR_VARIABLE] == str(folder)
    assert folder.exists()


def test_configured_multiprocess_dir_created(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    folder = tmp_path / "new" / "metrics"
    monkeypatch.setenv(metrics.MULTIPROC_DIR_VARIABLE, str(folder))

    with metrics.multiprocess_dir():
        assert folder.is_dir()
