"""The two servers a browser test talks to: Citizenry itself, and the app's OAuth callback.

Both listen on 127.0.0.1 only, on ports the operating system picks.
"""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import requests

HOST = "127.0.0.1"

CALLBACK_PAGE = b"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>App callback</title></head>
<body><h1>App callback</h1></body></html>
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def citizenry_server(database_url: str, log_path: Path) -> Iterator[str]:
    """Run ``citizenry serve`` on a free port of 127.0.0.1 and yield its base URL.

    OAuth runs over plain http, as under ``make run``. The sign-in limit per client address is
    raised because every test signs in from 127.0.0.1.
    """
    port = free_port()
    env = {
        **os.environ,
        "CITIZENRY_DATABASE_URL": database_url,
        "CITIZENRY_SECRET_KEY": secrets.token_urlsafe(48),
        "CITIZENRY_INSECURE_HTTP": "1",
        "CITIZENRY_SIGN_IN_RATE_LIMIT_PER_IP": "1000/minute",
        "CITIZENRY_METRICS": "0",
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
    deadline = time.monotonic() + 20
    while True:
        try:
            requests.get(f"{base_url}/healthz", timeout=1)
            return
        except requests.ConnectionError:
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the server did not start:\n{log_path.read_text()}") from None
            time.sleep(0.1)


class _CallbackHandler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(CALLBACK_PAGE)))
        self.end_headers()
        self.wfile.write(CALLBACK_PAGE)

    def log_message(self, format: str, *args: object) -> None:
        # The query strings carry authorization codes, which must not reach the test output.
        pass


@contextmanager
def callback_server() -> Iterator[str]:
    """Serve a page for every GET, as an app's redirect URI would, and yield the callback URL."""
    server = ThreadingHTTPServer((HOST, 0), _CallbackHandler)
    thread = threading.Thread(target=server.serve_forever, name="oauth-callback", daemon=True)
    thread.start()
    try:
        yield f"http://{HOST}:{server.server_address[1]}/callback"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
