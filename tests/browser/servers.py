"""The two servers a browser test talks to: Citizenry itself, and the app's OAuth callback.

Both listen on 127.0.0.1 only, on ports the operating system picks.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from tests.live import HOST

CALLBACK_PAGE = b"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>App callback</title></head>
<body><h1>App callback</h1></body></html>
"""


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
