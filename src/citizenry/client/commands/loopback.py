"""The loopback HTTP listener that receives the browser's redirect at the end of ``citizenry login``.

A native app registers a loopback callback such as ``http://127.0.0.1/callback`` and listens on a
port of its choice. The authorization server must accept any port for it (RFC 8252 section 7.3).
The listener serves one request to the callback path, responds with a short plain-text page,
and stops. It never logs a request line, because the query carries the authorization code.
"""

from __future__ import annotations

import http.server
import ipaddress
import socket
import socketserver
import time
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

#: Host names accepted in ``--redirect-uri``, with the address to listen on for each.
LOOPBACK_ADDRESSES = {"127.0.0.1": "127.0.0.1", "localhost": "127.0.0.1", "::1": "::1"}


@dataclass(frozen=True)
class CallbackPage:
    """The response shown in the browser tab: an HTTP status and a short text."""

    status: int
    text: str


class InvalidRedirectUri(ValueError):
    """The redirect URI is not an ``http`` URI on a loopback address."""


@dataclass(frozen=True)
class LoopbackUri:
    """A loopback redirect URI split into what the listener needs."""

    host: str
    port: int
    path: str

    @classmethod
    def parse(cls, uri: str) -> LoopbackUri:
        parts = urlsplit(uri)
        host = parts.hostname or ""
        if parts.scheme != "http" or host not in LOOPBACK_ADDRESSES:
            raise InvalidRedirectUri(
                f"the redirect URI {uri!r} must be http on 127.0.0.1, [::1] or localhost, "
                "such as http://127.0.0.1/callback"
            )
        if parts.query or parts.fragment or parts.username or parts.password:
            raise InvalidRedirectUri(f"the redirect URI {uri!r} must have no query, fragment or user name")
        try:
            port = parts.port or 0
        except ValueError:
            raise InvalidRedirectUri(f"the redirect URI {uri!r} has an invalid port") from None
        return cls(host=host, port=port, path=parts.path or "/")


class _Server(socketserver.TCPServer):
    """A TCP server with the listener's state. It is socketserver's, not http.server's
    HTTPServer, whose bind looks the host name up."""

    allow_reuse_address = False

    def __init__(self, address: tuple[str, int], family: socket.AddressFamily, callback_uri: str) -> None:
        self.address_family = family
        self.callback_uri = callback_uri
        self.handle_callback: Callable[[str], CallbackPage] | None = None
        self.outcome: CallbackPage | None = None
        #: An unexpected error raised while handling the callback, raised again by ``wait``.
        self.failure: Exception | None = None
        super().__init__(address, _CallbackHandler)


class CallbackListener:
    """Listen on a loopback address for the one redirect to the callback.

    The port is the redirect URI's, or a free one the system picks when the URI names none.
    :attr:`redirect_uri` is the URI to send in the authorization request, with that port.
    """

    def __init__(self, redirect_uri: str) -> None:
        uri = LoopbackUri.parse(redirect_uri)
        address = LOOPBACK_ADDRESSES[uri.host]
        family = socket.AF_INET6 if ipaddress.ip_address(address).version == 6 else socket.AF_INET
        self._server = _Server((address, uri.port), family, callback_uri="")
        port = self._server.server_address[1]
        netloc = f"[{uri.host}]:{port}" if ":" in uri.host else f"{uri.host}:{port}"
        self.redirect_uri = urlunsplit(("http", netloc, uri.path, "", ""))
        self._server.callback_uri = self.redirect_uri

    def wait(self, handle: Callable[[str], CallbackPage], *, timeout: float) -> bool:
        """Serve requests until one reaches the callback path, or until ``timeout`` seconds pass.

        ``handle`` receives the callback URL, query included, and returns the page to show.
        Returns False when the time ran out. If ``handle`` raises, the browser gets an error page
        and this method raises the same exception.
        """
        self._server.handle_callback = handle
        deadline = time.monotonic() + timeout
        while self._server.outcome is None:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            self._server.timeout = min(remaining, 0.5)
            self._server.handle_request()
        if self._server.failure is not None:
            raise self._server.failure
        return True

    def close(self) -> None:
        self._server.server_close()


class _CallbackHandler(http.server.BaseHTTPRequestHandler):
    server: _Server

    def version_string(self) -> str:
        return "citizenry-login"

    def do_GET(self) -> None:
        callback = urlsplit(self.server.callback_uri)
        request = urlsplit(self.path)
        handle = self.server.handle_callback
        if request.path != callback.path or handle is None or self.server.outcome is not None:
            self._answer(CallbackPage(404, "This is not the login callback of the citizenry command.\n"))
            return
        try:
            page = handle(urlunsplit(callback._replace(query=request.query)))
        except Exception as error:
            # Without this, socketserver would print the error and the login would wait until its timeout.
            self.server.failure = error
            page = CallbackPage(500, "The login failed in the citizenry command; its terminal shows why.\n")
        self.server.outcome = page
        self._answer(page)

    def _answer(self, page: CallbackPage) -> None:
        body = page.text.encode("utf-8")
        self.send_response(page.status)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("Referrer-Policy", "no-referrer")
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        # The default writes the request line, and with it the authorization code, to stderr.
        return
