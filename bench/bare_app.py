"""The ceiling for bench/people_page.py: a bare Starlette app that returns fixed JSON bytes.

It does no authentication, database work or serialisation, so what it costs is granian, Starlette's
routing and the bytes on the wire. people_page.py serves it with the same granian and worker count as
Citizenry, and points it at the bytes Citizenry returned:

    BENCH_BODY_FILE=body.json BENCH_ROUTE=/n/bench/api/v1/people granian --interface asgi bare_app:app
"""

from __future__ import annotations

import os
from pathlib import Path

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

BODY = Path(os.environ["BENCH_BODY_FILE"]).read_bytes()


async def people(request: Request) -> Response:
    return Response(BODY, media_type="application/json")


async def healthz(request: Request) -> Response:
    return Response(b'{"status": "ok"}', media_type="application/json")


app = Starlette(routes=[Route(os.environ["BENCH_ROUTE"], people), Route("/healthz", healthz)])
