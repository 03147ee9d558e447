"""A closed-loop HTTP/1.1 load generator: a fixed number of keep-alive connections, each sending its
next request as soon as the previous response has arrived.

It exists because wrk, hey and oha are not installed on the project's machines, and an httpx
client tops out far below what granian serves on a small JSON response. It speaks only what the
benchmarks need: one host on 127.0.0.1, responses framed by Content-Length or chunked encoding, and
no pipelining.

Run it as its own process, so that its CPU time is not shared with the script that drives it:

    python bench/loadgen.py SPEC.json

SPEC.json contains these keys:

- ``port``, ``method``, ``path``, ``headers`` and ``concurrency`` (the number of connections);
- ``warmup`` and ``duration``, in seconds;
- optionally ``min_completed`` and ``max_duration``: the measured phase is extended by ``duration``
  at a time until ``min_completed`` responses have arrived, up to ``max_duration`` seconds;
- either ``body``, sent with every request, or ``bodies_file``, a file with one body per line. Each
  line is sent once, and the run ends early when the lines run out.

The result is one JSON object on standard output. It gives the completed requests and their status
codes, requests per second, latency percentiles in milliseconds and the generator's own CPU use,
all counted over the measured phase that follows the warm-up.
"""

from __future__ import annotations

import asyncio
import json
import resource
import sys
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

try:
    import uvloop
except ImportError:  # the plain asyncio loop works too, a little slower
    uvloop = None

#: Socket errors tolerated before a run is abandoned: a server that keeps dropping connections is broken.
MAX_CONNECTION_ERRORS = 100


class ResponseReader(asyncio.Protocol):
    """Reads one HTTP/1.1 response at a time from a keep-alive connection."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.waiter: asyncio.Future[int] | None = None
        self.status = 0
        self.body_start = -1
        self.content_length = -1
        self.chunked = False
        self.chunk_position = 0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports are not subclasses of asyncio.Transport, but have the same methods.
        self.transport = cast(asyncio.Transport, transport)

    def connection_lost(self, exc: Exception | None) -> None:
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_exception(ConnectionError(f"the server closed the connection: {exc}"))

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        if self.waiter is None or self.waiter.done():
            return
        try:
            end = self._response_end()
        except ValueError as error:
            self.waiter.set_exception(error)
            return
        if end < 0:
            return
        del self.buffer[:end]
        self.waiter.set_result(self.status)
        self.body_start = -1

    def _response_end(self) -> int:
        """Return the offset just past the complete response in the buffer, or -1 if more is needed."""
        if self.body_start < 0:
            header_end = self.buffer.find(b"\r\n\r\n")
            if header_end < 0:
                return -1
            self._read_head(bytes(self.buffer[:header_end]))
            self.body_start = header_end + 4
            self.chunk_position = self.body_start
        if not self.chunked:
            end = self.body_start + self.content_length
            return end if len(self.buffer) >= end else -1
        return self._chunked_end()

    def _read_head(self, head: bytes) -> None:
        lines = head.split(b"\r\n")
        self.status = int(lines[0].split(b" ", 2)[1])
        self.content_length = -1
        self.chunked = False
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            if name == b"content-length":
                self.content_length = int(value)
            elif name == b"transfer-encoding" and b"chunked" in value.lower():
                self.chunked = True
        if not self.chunked and self.content_length < 0:
            raise ValueError("a response has neither Content-Length nor chunked encoding")

    def _chunked_end(self) -> int:
        """Walk the chunks received so far; the last chunk has size 0 and no trailers are expected."""
        while True:
            line_end = self.buffer.find(b"\r\n", self.chunk_position)
            if line_end < 0:
                return -1
            size = int(bytes(self.buffer[self.chunk_position : line_end]).split(b";")[0], 16)
            chunk_end = line_end + 2 + size + 2
            if len(self.buffer) < chunk_end:
                return -1
            self.chunk_position = chunk_end
            if size == 0:
                return chunk_end


@dataclass
class Window:
    """The measured phase and the responses that complete inside it."""

    start: float = 0.0
    end: float = 0.0
    latencies: list[float] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)
    last_finish: float = 0.0
    connection_errors: int = 0
    #: Every response received, in the warm-up and after the measured phase too.
    responses_total: int = 0


@dataclass
class Phases:
    """Lets the connections finish the warm-up together, so the measured phase starts with all busy."""

    warmup_end: float
    duration: float
    connections: int
    window: Window = field(default_factory=Window)
    measuring: asyncio.Event = field(default_factory=asyncio.Event)

    def warmed_up(self) -> None:
        self.connections -= 1
        if self.connections == 0:
            self.window.start = time.perf_counter()
            self.window.end = self.window.start + self.duration
            self.measuring.set()


def request_bytes(spec: dict[str, Any], body: bytes) -> bytes:
    headers = [f"{spec['method']} {spec['path']} HTTP/1.1", f"Host: 127.0.0.1:{spec['port']}"]
    headers += [f"{name}: {value}" for name, value in spec.get("headers", {}).items()]
    if body or spec["method"] != "GET":
        headers.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(headers) + "\r\n\r\n").encode("latin-1") + body


def request_source(spec: dict[str, Any]) -> Iterator[bytes]:
    """Yield the raw requests to send: the same one forever, or one per line of ``bodies_file``."""
    if "bodies_file" not in spec:
        request = request_bytes(spec, spec.get("body", "").encode())
        while True:
            yield request
    with Path(spec["bodies_file"]).open("rb") as lines:
        for line in lines:
            yield request_bytes(spec, line.rstrip(b"\n"))


async def open_connection(port: int) -> ResponseReader:
    loop = asyncio.get_running_loop()
    _, reader = await loop.create_connection(ResponseReader, "127.0.0.1", port)
    return reader


class Connection:
    """One keep-alive connection that sends a request, waits for its response, and repeats."""

    def __init__(self, port: int, requests: Iterator[bytes], window: Window) -> None:
        self.port = port
        self.requests = requests
        self.window = window
        self.reader: ResponseReader | None = None

    async def send_until(self, deadline: float | None, *, record: bool) -> None:
        """Send requests until ``deadline`` (perf_counter seconds; None: the window's end, which can move)
        or until the requests run out."""
        loop = asyncio.get_running_loop()
        while time.perf_counter() < (self.window.end if deadline is None else deadline):
            request = next(self.requests, None)
            if request is None:
                return
            if self.reader is None:
                self.reader = await open_connection(self.port)
            started = time.perf_counter()
            self.reader.waiter = loop.create_future()
            assert self.reader.transport is not None
            self.reader.transport.write(request)
            try:
                status = await self.reader.waiter
            except ConnectionError:
                self.window.connection_errors += 1
                if self.window.connection_errors > MAX_CONNECTION_ERRORS:
                    raise
                self.reader = None
                continue
            finished = time.perf_counter()
            self.window.responses_total += 1
            if record and finished <= self.window.end:
                self.window.latencies.append(finished - started)
                self.window.statuses[status] += 1
                self.window.last_finish = finished

    async def run(self, phases: Phases) -> None:
        try:
            await self.send_until(phases.warmup_end, record=False)
        finally:
            phases.warmed_up()
        await phases.measuring.wait()
        await self.send_until(None, record=True)
        if self.reader is not None and self.reader.transport is not None:
            self.reader.transport.close()


async def run(spec: dict[str, Any]) -> dict[str, Any]:
    """Warm up, wait for every response of the warm-up, then measure from the moment all connections send.

    Throughput is the responses completed in the measured phase divided by the time from its start
    to the last of them. A server that finishes requests in batches, as one that shares its CPU
    among many slow requests does, is then measured over whole batches, not over a window edge
    that falls between two of them.
    """
    requests = request_source(spec)
    phases = Phases(
        warmup_end=time.perf_counter() + spec["warmup"],
        duration=spec["duration"],
        connections=spec["concurrency"],
    )
    window = phases.window
    connections = [Connection(spec["port"], requests, window) for _ in range(spec["concurrency"])]
    tasks = [asyncio.create_task(connection.run(phases)) for connection in connections]

    await phases.measuring.wait()
    cpu_before = _cpu_seconds()
    latest_end = window.start + spec.get("max_duration", spec["duration"])
    while True:
        done, pending = await asyncio.wait(tasks, timeout=max(0.0, window.end - time.perf_counter()))
        if not pending or len(window.latencies) >= spec.get("min_completed", 0) or window.end >= latest_end:
            break
        # Too few responses for a rate: a server this slow is measured for longer.
        window.end = min(latest_end, window.end + spec["duration"])
    cpu_after = _cpu_seconds()
    for task in pending:
        task.cancel()
    await asyncio.gather(*pending, return_exceptions=True)
    for task in done:
        task.result()  # re-raise a failure such as too many connection errors

    elapsed = window.last_finish - window.start if window.latencies else window.end - window.start
    return summary(window, elapsed, not pending, cpu_after - cpu_before)


def summary(window: Window, elapsed: float, exhausted: bool, cpu_seconds: float) -> dict[str, Any]:
    latencies = sorted(window.latencies)
    completed = len(latencies)

    def percentile(fraction: float) -> float | None:
        if not latencies:
            return None
        return round(latencies[min(completed - 1, int(fraction * completed))] * 1000, 2)

    return {
        "completed": completed,
        "statuses": {str(status): count for status, count in sorted(window.statuses.items())},
        "seconds": round(elapsed, 3),
        "requests_per_second": round(completed / elapsed, 1) if elapsed > 0 else 0.0,
        "p50_ms": percentile(0.50),
        "p99_ms": percentile(0.99),
        "max_ms": percentile(1.0),
        "requests_ran_out": exhausted,
        "connection_errors": window.connection_errors,
        "responses_total": window.responses_total,
        # Share of one core the generator used; near 100 means the generator, not the server, set the pace.
        "generator_cpu_percent": round(100 * cpu_seconds / elapsed, 1) if elapsed > 0 else 0.0,
    }


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    if len(sys.argv) != 2:
        sys.exit("usage: python bench/loadgen.py SPEC.json")
    spec = json.loads(Path(sys.argv[1]).read_text())
    result = uvloop.run(run(spec)) if uvloop is not None else asyncio.run(run(spec))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
