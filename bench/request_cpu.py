"""Benchmark: CPU time of one authenticated people page, in process, next to the bare app's.

Run from the repository folder:

    .venv/bin/python bench/request_cpu.py --database sqlite --limits 1,100
    .venv/bin/python bench/request_cpu.py --database postgresql --limits 100 --profile 25

The HTTP benchmarks (people_page.py) give rates that drift with whatever else the machine runs. This
one counts CPU seconds instead, which drift far less. It seeds a nation as people_page.py does, then
sends `GET /n/bench/api/v1/people?limit=N` straight to the ASGI app through httpx2's ASGI transport,
in one process, with no sockets and no server. The figure per page size is the lowest CPU time per
request over several batches (process CPU time, so the database thread counts, and on SQLite the
database engine too; a PostgreSQL server's own CPU is not counted). Then bench/bare_app.py gets the
same requests and returns the bytes Citizenry returned, through the same client, as the floor.

--profile N runs the largest page size once more under cProfile, with the database work moved onto
the event loop's thread so that cProfile sees it, and prints the N functions with the most time of
their own.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import importlib
import os
import pstats
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx2
from benchlib import citizenry_database, citizenry_env, load_average, machine, print_table, remove_workdir
from people_page import PAGE_PATH, seed

from citizenry.store.db import Database

#: Batches per measurement; the figure is the cheapest batch, the one least disturbed.
BATCHES = 5


async def cpu_per_request(app: Any, path: str, headers: dict[str, str], requests: int) -> tuple[float, bytes]:
    """Return the lowest CPU milliseconds per request over the batches, and the last response body."""
    async with app.router.lifespan_context(app), _client(app) as client:
        body = b""
        for _ in range(20):  # warm the caches: statements, templates, connections
            response = await client.get(path, headers=headers)
            if response.status_code != 200:
                raise RuntimeError(f"{path} returned {response.status_code}: {response.text[:200]}")
            body = response.content
        per_batch = max(1, requests // BATCHES)
        best = float("inf")
        for _ in range(BATCHES):
            started = time.process_time()
            for _ in range(per_batch):
                await client.get(path, headers=headers)
            best = min(best, (time.process_time() - started) / per_batch * 1000)
        return best, body


def _client(app: Any) -> httpx2.AsyncClient:
    return httpx2.AsyncClient(transport=httpx2.ASGITransport(app=app), base_url="http://127.0.0.1")


def bare_app(body: bytes, workdir: Path) -> Any:
    """Import bench/bare_app.py serving ``body`` at the people path."""
    body_file = workdir / "body.json"
    body_file.write_bytes(body)
    os.environ["BENCH_BODY_FILE"] = str(body_file)
    os.environ["BENCH_ROUTE"] = PAGE_PATH
    return importlib.import_module("bare_app").app


def profile(app: Any, path: str, headers: dict[str, str], requests: int, top: int) -> None:
    """Print the ``top`` functions by time of their own over ``requests`` requests."""
    original: Callable[..., Any] = Database.run

    async def run_on_loop(self: Database, fn: Callable[..., Any], *args: Any) -> Any:
        return self.transaction(fn, *args)

    async def send_all() -> None:
        async with app.router.lifespan_context(app), _client(app) as client:
            for _ in range(20):
                await client.get(path, headers=headers)
            profiler = cProfile.Profile()
            profiler.enable()
            for _ in range(requests):
                await client.get(path, headers=headers)
            profiler.disable()
            pstats.Stats(profiler).sort_stats("tottime").print_stats(top)

    Database.run = run_on_loop  # type: ignore[method-assign]
    try:
        asyncio.run(send_all())
    finally:
        Database.run = original  # type: ignore[method-assign]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--people", type=int, default=10_000, help="people in the nation")
    parser.add_argument("--limits", default="1,100", help="page sizes to measure, comma-separated")
    parser.add_argument("--requests", type=int, default=500, help="requests per page size")
    parser.add_argument("--profile", type=int, default=0, metavar="N", help="print the top N functions")
    args = parser.parse_args()
    limits = [int(limit) for limit in args.limits.split(",")]

    workdir = Path(tempfile.mkdtemp(prefix="citizenry-cpu-bench-"))
    rows: list[list[Any]] = []
    load_before = load_average()
    try:
        with citizenry_database(args.database, workdir) as database_url:
            token = seed(database_url, workdir, args.people)
            os.environ.update(citizenry_env(database_url, workdir))
            from citizenry.app import create_app_from_env

            app = create_app_from_env()
            headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
            for limit in limits:
                path = f"{PAGE_PATH}?limit={limit}"
                citizenry_ms, body = asyncio.run(cpu_per_request(app, path, headers, args.requests))
                sys.modules.pop("bare_app", None)
                bare = bare_app(body, workdir)
                bare_ms, _ = asyncio.run(cpu_per_request(bare, path, headers, args.requests))
                ratio = round(bare_ms / citizenry_ms, 3)
                rows.append([limit, len(body), round(citizenry_ms, 2), round(bare_ms, 3), ratio])
            if args.profile:
                profile(app, f"{PAGE_PATH}?limit={max(limits)}", headers, args.requests // 2, args.profile)
    finally:
        remove_workdir(workdir)

    print(
        f"\nGET {PAGE_PATH}?limit=N on {args.database}, {args.people} people, in process, lowest CPU of "
        f"{BATCHES} batches; load average {load_before} before, {load_average()} after; {machine()}\n"
    )
    print_table(
        ["limit", "body bytes", "Citizenry CPU ms/request", "bare CPU ms/request", "bare / Citizenry"], rows
    )


if __name__ == "__main__":
    main()
