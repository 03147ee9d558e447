"""Every request has a timeout: a server that accepts and never responds raises RequestTimeout."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import pytest

from citizenry.client import RequestTimeout, TransportError
from tests.client.conftest import Connect

TOKEN = "a" * 64


@pytest.fixture
def silent_server() -> Iterator[str]:
    """Yield the base URL of a server on 127.0.0.1 that accepts connections and never responds."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    listener.settimeout(0.05)
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept_forever() -> None:
        while not stop.is_set():
            try:
                connection, _ = listener.accept()
            except TimeoutError:
                continue
            accepted.append(connection)

    thread = threading.Thread(target=accept_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}/n/demo"
    finally:
        stop.set()
        thread.join()
        for connection in accepted:
            connection.close()
        listener.close()


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def test_silent_server_times_out(connect: Connect, silent_server: str) -> None:
    api = connect(silent_server, network=True, access_token=TOKEN, timeout=0.3)
    started = time.monotonic()

    with pytest.raises(RequestTimeout) as caught:
        api.count_people()

    elapsed = time.monotonic() - started
    assert 0.3 <= elapsed < 3
    assert TOKEN not in str(caught.value)


def test_refused_connection_is_transport_error(connect: Connect) -> None:
    api = connect(f"http://127.0.0.1:{_closed_port()}", network=True, access_token=TOKEN, timeout=2)

    with pytest.raises(TransportError) as caught:
        api.count_people()

    assert not isinstance(caught.value, RequestTimeout)
    assert TOKEN not in str(caught.value)
