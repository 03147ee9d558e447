"""``citizenry serve --workers 2`` end to end: probes, metrics summed over workers, JSON logs."""

from __future__ import annotations

import json
import os
import re
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from citizenry.store import migrate
from citizenry.store.db import Database
from tests.e2e.test_quickstart import LiveServer, _approve_in_browser, _every_stored_text
from tests.factory import CALLBACK, Factory
from tests.flows import query_of
from tests.live import free_port

WORKERS = 2
#: Files prometheus_client writes in multiprocess mode, one per kind and process id.
VALUE_FILE = re.compile(r"^counter_(\d+)\.db$")


@dataclass
class ServeProcess:
    process: subprocess.Popen[bytes]
    live: LiveServer
    database_url: str
    #: TMPDIR of the server, where ``serve`` makes its metrics folder.
    temp_dir: Path

    def metrics_dirs(self) -> list[Path]:
        return sorted(self.temp_dir.glob("citizenry-metrics-*"))

    def stop(self) -> None:
        """Stop the server with SIGTERM; kill its process group if it is still running 15 s later."""
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=15)
            raise

    def wait_for_workers(self, deadline: float) -> None:
        """Wait until granian logs that every worker started.

        A SIGTERM while a worker still starts can leave granian 2.8 waiting for that worker forever.
        """
        expected = {f"Started worker-{index}" for index in range(1, WORKERS + 1)}
        while time.monotonic() < deadline:
            messages = {json.loads(line)["message"] for line in self.live.log_path.read_text().splitlines()}
            if expected <= messages:
                return
            time.sleep(0.1)
        raise RuntimeError(f"the workers did not start:\n{self.live.log_path.read_text()}")


def _start(directory: Path) -> ServeProcess:
    """Start ``serve --workers 2`` with granian and JSON logs on a fresh SQLite database."""
    database_url = f"sqlite:///{directory / 'citizenry.sqlite3'}"
    migrate.upgrade(database_url)

    temp_dir = directory / "tmp"
    temp_dir.mkdir()
    log_path = directory / "server.log"
    env = {
        **os.environ,
        "CITIZENRY_DATABASE_URL": database_url,
        "CITIZENRY_DATA_DIR": str(directory),
        "CITIZENRY_SECRET_KEY": secrets.token_urlsafe(48),
        "CITIZENRY_INSECURE_HTTP": "1",
        "CITIZENRY_LOG_LEVEL": "DEBUG",
        "CITIZENRY_LOG_FORMAT": "json",
        "TMPDIR": str(temp_dir),
    }
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)

    port = free_port()
    command = [sys.executable, "-m", "citizenry", "serve", "--port", str(port), "--workers", str(WORKERS)]
    with log_path.open("w") as log:
        process = subprocess.Popen(
            command, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )

    server = ServeProcess(process, LiveServer(f"http://127.0.0.1:{port}", log_path), database_url, temp_dir)
    deadline = time.monotonic() + 30
    while True:
        try:
            requests.get(f"{server.live.base_url}/healthz", timeout=1)
            break
        except requests.ConnectionError:
            if process.poll() is not None or time.monotonic() > deadline:
                server.stop()
                raise RuntimeError(f"the server did not start:\n{log_path.read_text()}") from None
            time.sleep(0.1)

    try:
        server.wait_for_workers(deadline)
    except RuntimeError:
        server.stop()
        raise
    return server


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServeProcess]:
    started = _start(tmp_path_factory.mktemp("serve"))
    try:
        yield started
    finally:
        started.stop()


def _healthz_count(base_url: str) -> float:
    """Return the server's count of GET /healthz requests with status 200, from a fresh connection."""
    text = requests.get(f"{base_url}/metrics", timeout=10).text
    return sum(
        sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == "citizenry_http_requests_total"
        and sample.labels == {"method": "GET", "route": "/healthz", "status": "200"}
    )


def _worker_pids_with_counts(server: ServeProcess) -> set[str]:
    (folder,) = server.metrics_dirs()
    return {match.group(1) for path in folder.iterdir() if (match := VALUE_FILE.match(path.name))}


def test_probes_respond(server: ServeProcess) -> None:
    healthz = requests.get(f"{server.live.base_url}/healthz", timeout=10)
    readyz = requests.get(f"{server.live.base_url}/readyz", timeout=10)

    assert healthz.status_code == 200
    assert healthz.json() == {"status": "ok"}
    assert readyz.status_code == 200
    assert readyz.json() == {"status": "ready"}


def test_metrics_summed_over_workers(server: ServeProcess) -> None:
    base_url = server.live.base_url
    before = _healthz_count(base_url)

    # Each request opens its own connection, and the kernel hands connections to either worker.
    # Requests go out in parallel batches until both workers have counted some.
    sent = 0
    with ThreadPoolExecutor(max_workers=8) as pool:
        for _ in range(20):
            statuses = list(
                pool.map(lambda _: requests.get(f"{base_url}/healthz", timeout=10).status_code, range(40))
            )
            assert statuses == [200] * 40
            sent += 40
            if len(_worker_pids_with_counts(server)) == WORKERS:
                break

    assert len(_worker_pids_with_counts(server)) == WORKERS
    # Whichever worker serves /metrics, it reports the sum over both.
    for _ in range(6):
        assert _healthz_count(base_url) - before == sent


def test_json_log_without_secrets(server: ServeProcess) -> None:
    database = Database(server.database_url)
    factory = Factory(database)
    nation = factory.nation()
    user = factory.user(nation)
    app = factory.app(nation)
    database.dispose()
    base = server.live.nation_url(nation)
    params = {"response_type": "code", "client_id": app.client_id, "redirect_uri": CALLBACK}
    authorize_url = requests.Request("GET", f"{base}/oauth/authorize", params=params).prepare().url
    assert authorize_url is not None

    code = query_of(_approve_in_browser(server.live, nation, user, authorize_url))["code"]
    credentials = {"client_id": app.client_id, "client_secret": app.client_secret}
    first = requests.post(
        f"{base}/oauth/token",
        data={"grant_type": "authorization_code", "code": code, "redirect_uri": CALLBACK, **credentials},
        timeout=10,
    ).json()
    second = requests.post(
        f"{base}/oauth/token",
        data={"grant_type": "refresh_token", "refresh_token": first["refresh_token"], **credentials},
        timeout=10,
    ).json()
    people_page = requests.get(
        f"{base}/api/v1/people", params={"access_token": second["access_token"]}, timeout=10
    )
    requests.post(
        f"{base}/oauth/introspect", data={"token": second["access_token"], **credentials}, timeout=10
    )
    # Failures log too: a replayed refresh token, which revokes the second pair, and a wrong secret.
    requests.post(
        f"{base}/oauth/token",
        data={"grant_type": "refresh_token", "refresh_token": first["refresh_token"], **credentials},
        timeout=10,
    )
    requests.post(
        f"{base}/oauth/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "client_id": app.client_id,
            "client_secret": "x",
        },
        timeout=10,
    )
    requests.post(f"{base}/oauth/revoke", data={"token": second["refresh_token"], **credentials}, timeout=10)

    assert people_page.status_code == 200
    log_text = server.live.log_path.read_text()
    for value in [
        app.client_secret,
        code,
        first["access_token"],
        first["refresh_token"],
        second["access_token"],
        second["refresh_token"],
    ]:
        assert value not in log_text
        assert value not in _every_stored_text(server.database_url)

    entries = [json.loads(line) for line in log_text.splitlines() if line.strip()]
    for entry in entries:
        assert {"time", "level", "logger", "message"} <= set(entry)
    people = [
        entry
        for entry in entries
        if entry["logger"] == "citizenry.requests" and entry["path"] == f"{nation.prefix}/api/v1/people"
    ]
    assert len(people) == 1
    assert people[0]["route"] == "/api/v1/people"
    assert people[0]["status"] == 200
    assert people[0]["nation"] == nation.slug
    assert {entry["logger"] for entry in entries} >= {"citizenry.requests", "_granian", "citizenry.app"}


def test_metrics_folder_removed_on_stop(tmp_path: Path) -> None:
    server = _start(tmp_path)
    try:
        requests.get(f"{server.live.base_url}/healthz", timeout=10)
        assert len(server.metrics_dirs()) == 1
    finally:
        server.stop()

    assert server.process.returncode == 0
    assert server.metrics_dirs() == []


def test_unusable_metrics_folder_stops_serve(tmp_path: Path) -> None:
    database_url = f"sqlite:///{tmp_path / 'citizenry.sqlite3'}"
    migrate.upgrade(database_url)
    (tmp_path / "file").write_text("")
    env = {
        **os.environ,
        "CITIZENRY_DATABASE_URL": database_url,
        "CITIZENRY_DATA_DIR": str(tmp_path),
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "file" / "metrics"),
    }

    result = subprocess.run(
        [sys.executable, "-m", "citizenry", "serve", "--port", str(free_port())],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert result.returncode == 1
    assert "Cannot prepare the folder for metrics" in result.stderr
    assert str(tmp_path / "file") in result.stderr
