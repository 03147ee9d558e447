"""A real ``citizenry serve`` process on a free 127.0.0.1 port, for tests that talk HTTP to it."""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import requests

HOST = "127.0.0.1"

#: Seconds a server has to respond to its first request.
START_TIMEOUT = 20


def free_port() -> int:
    """Return a port of 127.0.0.1 that was free a moment ago, so nothing listens on it now."""
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def citizenry_server(database_url: str, log_path: Path, **settings: str) -> Iterator[str]:
    """Run ``citizenry serve`` on a free port of 127.0.0.1 and yield its base URL.

    OAuth runs over plain http, as under ``make run``. ``settings`` are more ``CITIZENRY_*``
    variables, such as ``CITIZENRY_API_RATE_LIMIT_PER_TOKEN="1/hour"``. The server's output goes to
    ``log_path``, which the error shows if the server does not start.
    """
    port = free_port()
    env = {
        **os.environ,
        "CITIZENRY_DATABASE_URL": database_url,
        "CITIZENRY_SECRET_KEY": secrets.token_urlsafe(48),
        "CITIZENRY_INSECURE_HTTP": "1",
        **settings,
    }
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "citizenry", "serve", "--host", HOST, "--port", str(port)],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    base_url = f"http://{HOST}:{port}"
    try:
        _wait_until_serving(base_url, process, log_path)
        yield base_url
    finally:
        process.terminate()
        process.wait(timeout=30)


def _wait_until_serving(base_url: str, process: subprocess.Popen[bytes], log_path: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while True:
        try:
            requests.get(f"{base_url}/healthz", timeout=1)
            return
        except requests.ConnectionError:
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the server did not start:\n{log_path.read_text()}") from None
            time.sleep(0.1)
