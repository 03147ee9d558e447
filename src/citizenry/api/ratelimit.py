"""The API's rate limit: requests per access token in a fixed window, with its headers.

Every API response made with a token carries ``X-RateLimit-Limit``, ``X-RateLimit-Remaining`` and
``X-RateLimit-Reset`` (epoch seconds), as NationBuilder's v1 does, and the ``RateLimit-*`` headers
of its v2 (``RateLimit-Reset`` in seconds from now). A request over the limit gets 429
``rate_limited`` with ``Retry-After``. Other tokens are counted apart.
"""

from __future__ import annotations

import hashlib
import json
import logging
from urllib.parse import parse_qsl

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from citizenry.ops.metrics import record_rate_limited
from citizenry.ratelimit import Quota, RateLimits

logger = logging.getLogger(__name__)


def _token_of(scope: Scope) -> str | None:
    for name, value in scope.get("headers") or []:
        if name == b"authorization":
            _, _, token = value.decode("latin-1").partition(" ")
            return token.strip() or None
    # The last value wins, as in Starlette's query_params, so the count and the authentication
    # always look at the same token.
    query = scope.get("query_string", b"").decode("latin-1")
    tokens = [value for key, value in parse_qsl(query) if key == "access_token"]
    return str(tokens[-1]) if tokens and tokens[-1] else None


def _headers(quota: Quota) -> list[tuple[bytes, bytes]]:
    values = {
        "X-RateLimit-Limit": quota.limit,
        "X-RateLimit-Remaining": quota.remaining,
        "X-RateLimit-Reset": quota.reset_at,
        "RateLimit-Limit": quota.limit,
        "RateLimit-Remaining": quota.remaining,
        "RateLimit-Reset": quota.seconds_left,
    }
    return [(name.lower().encode(), str(value).encode()) for name, value in values.items()]


class ApiRateLimitMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        root_path = scope.get("root_path", "")
        path = scope.get("path", "")
        route_path = path[len(root_path) :] if root_path and path.startswith(root_path) else path
        token = _token_of(scope) if scope["type"] == "http" and route_path.startswith("/api/") else None
        if token is None:
            await self.app(scope, receive, send)
            return

        limits: RateLimits = scope["app"].state.rate_limits
        quota = await limits.hit_api(hashlib.sha256(token.encode("utf-8", "replace")).hexdigest())
        headers = _headers(quota)
        if not quota.allowed:
            logger.warning("API rate limit reached on %s; retry after %ss", route_path, quota.retry_after)
            record_rate_limited("api-token")
            body = json.dumps(
                {
                    "code": "rate_limited",
                    "message": "Too many requests with this token. Retry after the delay given.",
                }
            ).encode()
            await send(
                {
                    "type": "http.response.start",
                    "status": 429,
                    "headers": [
                        (b"content-type", b"application/json"),
                        (b"content-length", str(len(body)).encode()),
                        (b"retry-after", str(quota.retry_after).encode()),
                        *headers,
                    ],
                }
            )
            await send({"type": "http.response.body", "body": body})
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = list(message.get("headers", [])) + headers
            await send(message)

        await self.app(scope, receive, send_with_headers)
