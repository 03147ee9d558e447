"""The sample app that ``citizenry demo run`` (and so ``make run``) registers and starts beside the server."""

from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack
from functools import partial
from pathlib import Path

import pytest
import requests
import sqlalchemy as sa
from sqlalchemy.orm import Session

from citizenry.cli.demo import seed_demo
from citizenry.cli.sample_app import (
    SAMPLE_APP_NAME,
    SampleAppCredentials,
    register_sample_app,
    sample_callback_url,
    start_sample_app,
)
from citizenry.oauth.apps import OAuthClient
from citizenry.store import migrate
from citizenry.store.db import Database
from citizenry.store.models import App
from tests.live import free_port


@pytest.fixture
def demo_database(tmp_path: Path) -> Iterator[Database]:
    """A SQLite database of its own with the demo nation, because the demo's slug is fixed."""
    url = f"sqlite:///{tmp_path / 'demo.sqlite3'}"
    migrate.upgrade(url)
    database = Database(url)
    database.transaction(lambda session: seed_demo(session, people=0))
    try:
        yield database
    finally:
        database.dispose()


def _sample_apps(session: Session) -> list[OAuthClient]:
    rows = session.scalars(sa.select(App).where(App.name == SAMPLE_APP_NAME).order_by(App.id))
    return [OAuthClient.from_app(row) for row in rows]


def test_register_sample_app_reuses_app(demo_database: Database) -> None:
    def register(callback_url: str) -> SampleAppCredentials:
        return demo_database.transaction(partial(register_sample_app, callback_url=callback_url))

    first = register(sample_callback_url(8001))
    # Another port on 127.0.0.1 matches the registered callback, so nothing is added.
    second = register(sample_callback_url(9123))
    third = register("http://localhost:8001/callback")
    apps = demo_database.transaction(_sample_apps)

    assert (first.created, second.created, third.created) == (True, False, False)
    assert first.client_id == second.client_id == third.client_id
    assert len({first.client_secret, second.client_secret, third.client_secret}) == 3
    assert len(apps) == 1
    assert apps[0].redirect_uris == ("http://127.0.0.1:8001/callback", "http://localhost:8001/callback")
    assert apps[0].check_client_secret(third.client_secret)
    assert not apps[0].check_client_secret(first.client_secret)
    assert "client_secret=" not in repr(third)


def _never_called(work: object) -> SampleAppCredentials:
    raise AssertionError("the sample app was registered although it cannot start")


def test_sample_app_not_started_on_busy_port() -> None:
    with socket.socket() as busy, ExitStack() as stack:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        started = start_sample_app(
            stack, server_host="127.0.0.1", server_port=8000, port=port, in_transaction=_never_called
        )

    assert started.url is None
    assert started.problem is not None
    assert f"port {port} is in use" in started.problem


@pytest.mark.parametrize(("port", "reason"), [(0, "off"), (8000, "in use"), (65536, "65535")])
def test_sample_app_not_started_on_port(port: int, reason: str) -> None:
    with ExitStack() as stack:
        started = start_sample_app(
            stack, server_host="127.0.0.1", server_port=8000, port=port, in_transaction=_never_called
        )

    assert started.url is None
    assert started.problem is not None
    assert reason in started.problem


def _wait_for(url: str, process: subprocess.Popen[str]) -> requests.Response:
    deadline = time.monotonic() + 60
    while True:
        try:
            return requests.get(url, timeout=2, allow_redirects=False)
        except requests.ConnectionError:
            if process.poll() is not None or time.monotonic() > deadline:
                output = process.stdout.read() if process.stdout else ""
                raise RuntimeError(f"{url} did not answer:\n{output}") from None
            time.sleep(0.2)


def test_demo_run_serves_sample_app(tmp_path: Path) -> None:
    port, sample_port = free_port(), free_port()
    env = {
        **os.environ,
        "CITIZENRY_DATA_DIR": str(tmp_path / "data"),
        "CITIZENRY_SECRET_KEY": secrets.token_urlsafe(48),
        "CITIZENRY_INSECURE_HTTP": "1",
        "CITIZENRY_DEFAULT_NATION": "demo",
        "CITIZENRY_METRICS": "0",
    }
    env.pop("CITIZENRY_DATABASE_URL", None)
    citizenry = [sys.executable, "-m", "citizenry"]
    subprocess.run([*citizenry, "demo", "seed", "--people", "12"], env=env, check=True, capture_output=True)
    # A session of its own, so that SIGINT reaches the server and the sample app as Ctrl-C would.
    process = subprocess.Popen(
        [*citizenry, "demo", "run", "--port", str(port), "--sample-port", str(sample_port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        assert _wait_for(f"http://127.0.0.1:{port}/healthz", process).status_code == 200
        home = _wait_for(f"http://127.0.0.1:{sample_port}/", process)
        connected = requests.post(
            f"http://127.0.0.1:{sample_port}/connect",
            data={"nation": "demo"},
            allow_redirects=False,
            timeout=10,
        )
    finally:
        os.killpg(process.pid, signal.SIGINT)
        output, _ = process.communicate(timeout=60)

    assert home.status_code == 200
    assert connected.status_code == 303
    assert connected.headers["location"].startswith(f"http://127.0.0.1:{port}/n/demo/oauth/authorize?")
    assert f"Sample app:     http://127.0.0.1:{sample_port}" in output
    assert process.returncode == 0, output
    for stopped in (port, sample_port):
        with pytest.raises(requests.ConnectionError):
            requests.get(f"http://127.0.0.1:{stopped}/", timeout=2)
