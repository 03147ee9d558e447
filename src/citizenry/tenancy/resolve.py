"""Find the nation a request is for, before routing, without touching the database.

The slug comes from the first of:

1. the host, ``{slug}.{CITIZENRY_BASE_DOMAIN}`` (so ``demo.localhost:8000`` works in a browser);
2. a path prefix ``/n/{slug}/...`` on any other host, for clients that cannot set the host;
3. ``CITIZENRY_DEFAULT_NATION`` on any other host.

A path prefix becomes the ASGI ``root_path``, so routes match the rest of the path and every URL
the app builds keeps the prefix. Handlers load the nation by slug inside their own transaction.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from starlette.types import ASGIApp, Receive, Scope, Send

from citizenry.settings import SLUG_PATTERN, Settings

PREFIX_PATTERN = re.compile(r"^/n/([^/]+)(?=/|$)")


@dataclass(frozen=True)
class NationRoute:
    """The nation slug of a request and the path prefix it came from. ``slug`` is None when none was found."""

    slug: str | None
    prefix: str = ""


def is_valid_slug(slug: str) -> bool:
    return SLUG_PATTERN.fullmatch(slug) is not None


def host_name(host_header: str) -> str:
    """Return the host name of a ``Host`` header, lower-cased, without port or trailing dot."""
    host = host_header.strip().lower()
    if host.startswith("["):  # IPv6 literal
        return host.split("]", 1)[0] + "]"
    return host.rsplit(":", 1)[0].rstrip(".") if ":" in host else host.rstrip(".")


def resolve_nation(host_header: str, path: str, settings: Settings) -> NationRoute:
    host = host_name(host_header)
    suffix = "." + settings.base_domain
    if host.endswith(suffix):
        label = host[: -len(suffix)]
        if "." not in label:
            # A malformed slug resolves to a name no nation can have, so it is a 404, never another nation.
            return NationRoute(slug=label)

    match = PREFIX_PATTERN.match(path)
    if match:
        # Slugs are case-insensitive like host names: /n/Demo/ is the same nation as /n/demo/.
        return NationRoute(slug=match.group(1).lower(), prefix=match.group(0))

    return NationRoute(slug=settings.default_nation)


class TenancyMiddleware:
    """Store the request's :class:`NationRoute` in ``scope["state"]["nation_route"]``."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.settings = settings

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in {"http", "websocket"}:
            await self.app(scope, receive, send)
            return

        headers = dict(scope.get("headers") or [])
        host = headers.get(b"host", b"").decode("latin-1")
        root_path = scope.get("root_path", "")
        path = scope["path"]
        if root_path and path.startswith(root_path):
            path = path[len(root_path) :]
        route = resolve_nation(host, path, self.settings)
        scope.setdefault("state", {})["nation_route"] = route
        if route.prefix:
            # ASGI's "path" already includes "root_path"; routing matches what follows it.
            scope["root_path"] = root_path + route.prefix
        await self.app(scope, receive, send)
