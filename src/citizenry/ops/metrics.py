"""Prometheus metrics at ``GET /metrics``: requests and latency by route, tokens, rate-limit hits.

With ``PROMETHEUS_MULTIPROC_DIR`` set, as ``citizenry serve`` sets it, each worker process writes
its values to files in that folder, and ``/metrics`` on any worker reports the sum over all of them.
prometheus_client chooses between values in memory and values in files when it is first imported.
This module therefore imports it on first use, inside the worker, even when the CLI process
imported this module before ``serve`` set the variable.

Labels take values from small fixed sets: route templates, never raw paths, and ``other`` for an
unknown method, grant type or error code, so that clients cannot create new time series.
"""

from __future__ import annotations

import logging
import os
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from citizenry.ops.scope import route_template

if TYPE_CHECKING:
    from prometheus_client import Counter, Histogram

logger = logging.getLogger(__name__)

router = APIRouter(include_in_schema=False)

#: The environment variable that switches prometheus_client to one file of values per process.
MULTIPROC_DIR_VARIABLE = "PROMETHEUS_MULTIPROC_DIR"

METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
GRANT_TYPES = frozenset({"authorization_code", "refresh_token"})
#: Error codes of the token endpoint: RFC 6749 section 5.2, Authlib's insecure_transport, and
#: Citizenry's own rate_limited and temporarily_unavailable.
TOKEN_ERRORS = frozenset(
    {
        "invalid_request",
        "invalid_client",
        "invalid_grant",
        "unauthorized_client",
        "unsupported_grant_type",
        "invalid_scope",
        "insecure_transport",
        "rate_limited",
        "server_error",
        "temporarily_unavailable",
    }
)
OTHER = "other"


@dataclass(frozen=True)
class _Instruments:
    requests: Counter
    duration: Histogram
    tokens_issued: Counter
    tokens_refused: Counter
    rate_limited: Counter


_instruments_lock = threading.Lock()
_instruments_made: _Instruments | None = None


def _instruments() -> _Instruments:
    """Return the metrics, registering them in prometheus_client's default registry on first use."""
    global _instruments_made
    with _instruments_lock:
        if _instruments_made is None:
            from prometheus_client import Counter, Histogram

            _instruments_made = _Instruments(
                requests=Counter(
                    "citizenry_http_requests_total",
                    "HTTP requests completed, by method, route template and status code.",
                    ["method", "route", "status"],
                ),
                duration=Histogram(
                    "citizenry_http_request_duration_seconds",
                    "Time from the start of a request to the end of its response, by route template.",
                    ["method", "route"],
                ),
                tokens_issued=Counter(
                    "citizenry_tokens_issued_total",
                    "Successful responses of the token endpoint, by grant type.",
                    ["grant_type"],
                ),
                tokens_refused=Counter(
                    "citizenry_tokens_refused_total",
                    "Error responses of the token endpoint, by OAuth error code.",
                    ["error"],
                ),
                rate_limited=Counter(
                    "citizenry_rate_limited_total",
                    "Requests rejected by a rate limit, by the limit's scope.",
                    ["scope"],
                ),
            )
        return _instruments_made


def record_request(method: str, route: str, status: int, seconds: float) -> None:
    """Count one completed request and its duration."""
    instruments = _instruments()
    method = method if method in METHODS else OTHER
    instruments.requests.labels(method=method, route=route, status=str(status)).inc()
    instruments.duration.labels(method=method, route=route).observe(seconds)


def record_token_response(grant_type: str | None, error: str | None) -> None:
    """Count one response of the token endpoint: a token issued when ``error`` is None, else a rejection."""
    instruments = _instruments()
    if error is None:
        label = grant_type if grant_type in GRANT_TYPES else OTHER
        instruments.tokens_issued.labels(grant_type=label).inc()
    else:
        instruments.tokens_refused.labels(error=error if error in TOKEN_ERRORS else OTHER).inc()


def record_rate_limited(scope: str) -> None:
    """Count one request rejected by the rate limit named ``scope``, such as ``oauth-ip``."""
    _instruments().rate_limited.labels(scope=scope).inc()


class MetricsMiddleware:
    """Count every HTTP request by method, route template and status, and time it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_and_record(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_and_record)
        finally:
            record_request(scope["method"], route_template(scope), status, time.perf_counter() - started)


def render_metrics(accept: str) -> tuple[bytes, str]:
    """Return the exposition of every metric and its content type, in the format that ``accept`` requests.

    In multiprocess mode the values come from every process's files in the folder, dead processes
    included, so counters keep counting across worker restarts.
    """
    from prometheus_client import REGISTRY, CollectorRegistry
    from prometheus_client.exposition import choose_encoder
    from prometheus_client.multiprocess import MultiProcessCollector

    _instruments()
    registry = REGISTRY
    if os.environ.get(MULTIPROC_DIR_VARIABLE):
        registry = CollectorRegistry()
        MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    encoder, content_type = choose_encoder(accept)
    return encoder(registry), content_type


@router.get("/metrics")
async def metrics(request: Request) -> Response:
    body, content_type = render_metrics(request.headers.get("accept", ""))
    return Response(body, media_type=content_type, headers={"Cache-Control": "no-store"})


@contextmanager
def multiprocess_dir() -> Iterator[Path]:
    """Set ``PROMETHEUS_MULTIPROC_DIR`` for the worker processes started inside the block.

    When the variable is set, its folder is created if missing and emptied of the value files
    (``*.db``) an earlier run left, which would otherwise add to the new counts. When it is not
    set, a new private folder is made, and removed with the variable at the end of the block.
    """
    configured = os.environ.get(MULTIPROC_DIR_VARIABLE)
    if configured:
        folder = Path(configured)
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        stale = list(folder.glob("*.db"))
        for path in stale:
            path.unlink()
        logger.info("metrics are kept in %s; removed %d files of an earlier run", folder, len(stale))
        yield folder
        return

    with tempfile.TemporaryDirectory(prefix="citizenry-metrics-", ignore_cleanup_errors=True) as created:
        os.environ[MULTIPROC_DIR_VARIABLE] = created
        try:
            yield Path(created)
        finally:
            os.environ.pop(MULTIPROC_DIR_VARIABLE, None)
