"""One log line per request, with the fields method, path, route, status, duration_ms and nation.

The path is logged without its query string, because query strings can carry secrets
(``access_token``, ``code``). ``route`` is the matched route template or ``unmatched``, and
``nation`` is the slug the request named, when it is a valid slug.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from citizenry.ops.scope import route_template
from citizenry.settings import SLUG_PATTERN

logger = logging.getLogger("citizenry.requests")


def nation_slug(scope: Scope) -> str | None:
    """Return the nation slug the request named (host or path prefix), when it is a valid slug."""
    route = scope.get("state", {}).get("nation_route")
    slug = getattr(route, "slug", None)
    return slug if isinstance(slug, str) and SLUG_PATTERN.fullmatch(slug) else None


class RequestLogMiddleware:
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
            fields: dict[str, Any] = {
                "method": scope["method"],
                "path": scope["path"],
                "route": route_template(scope),
                "status": status,
                "duration_ms": round((time.perf_counter() - started) * 1000, 1),
            }
            slug = nation_slug(scope)
            if slug is not None:
                fields["nation"] = slug
            logger.info("request", extra=fields)
