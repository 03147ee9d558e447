"""The route template that the router records in a request's ASGI scope.

This module imports nothing from Citizenry, so the rate limits, which the settings import, can
import the metrics module that uses it.
"""

from __future__ import annotations

from starlette.types import Scope

#: The route of a request that matched no route, such as a 404 or a request rejected before routing.
UNMATCHED = "unmatched"


def route_template(scope: Scope) -> str:
    """Return the path template of the route that handled the request, or :data:`UNMATCHED`.

    The router leaves the matched route in ``scope["route"]``, also for a 405 on a known path. The
    template, such as ``/api/v1/people/{person_id}``, excludes any ``/n/{slug}`` prefix, which the
    tenancy middleware moves into ``root_path``.
    """
    path = getattr(scope.get("route"), "path", None)
    return path if isinstance(path, str) and path else UNMATCHED
