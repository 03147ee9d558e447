"""Benchmark: authenticated GET /api/v1/people?limit=100 against a bare Starlette ceiling.

Run from the repository folder:

    .venv/bin/python bench/people_page.py --database sqlite --workers 1
    .venv/bin/python bench/people_page.py --database postgresql --workers 1,2

It creates a fresh database with a nation of 10,000 people (imported from generated CSV, as
`citizenry db import` does) and an API token, then starts `python -m citizenry serve` (granian)
on a free loopback port. bench/loadgen.py sends the page request with the bearer token over a fixed
number of keep-alive connections, first for a warm-up and then for the measured duration. Right
after, in the same repetition, bench/bare_app.py serves the bytes Citizenry returned, from the same
granian with the same worker count, and gets the same load. With several worker counts (--workers
1,2) each repetition measures them in turn, and the 2-to-1 ratio is printed.

Each repetition reports requests/s, p50 and p99 latency, the Citizenry-to-bare ratio, CPU time per
request and the peak memory of each worker process. The tables show the medians over the
repetitions, and --json writes every figure.

The same repetition also loads `GET /healthz` on both servers. Citizenry serves it through all of
its middleware (request log, metrics, security headers, nation routing, rate limits, sessions) with
no authentication and no database, so its rate bounds what any Citizenry route can reach on this
machine. The second table compares that bound with the bare people page.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

from benchlib import (
    BENCH_DIR,
    NATION_SLUG,
    Load,
    Server,
    citizenry_database,
    citizenry_env,
    create_nation_and_admin,
    free_port,
    load_average,
    machine,
    measure,
    median,
    parse_setting,
    parse_workers,
    postgresql_database_name,
    print_table,
    print_worker_scaling,
    remove_workdir,
    running,
    start_citizenry,
)
from people_import import write_csv

from citizenry.api.people_csv import import_people
from citizenry.oauth.test_tokens import create_test_token
from citizenry.store.db import Database
from citizenry.store.models import Nation, User

PAGE_PATH = f"/n/{NATION_SLUG}/api/v1/people"
#: The route, without authentication or database work, that both servers serve.
FLOOR_PATH = "/healthz"


def seed(database_url: str, workdir: Path, people: int) -> str:
    """Create the nation, its admin and ``people`` people; return an API token acting as the admin."""
    database = Database(database_url)
    try:
        nation_id, user_id = create_nation_and_admin(database)
        csv_path = workdir / "people.csv"
        write_csv(csv_path, people)
        with csv_path.open(newline="", encoding="utf-8") as lines:
            report = database.transaction(lambda s: import_people(s, s.get(Nation, nation_id), lines))
        if report.imported != people:
            raise RuntimeError(f"imported {report.imported} of {people} people; {report.rejected} rejected")

        def token(session: Any) -> str:
            nation, user = session.get(Nation, nation_id), session.get(User, user_id)
            _, value = create_test_token(session, nation=nation, user=user, ttl=7 * 86400)
            return value

        value: str = database.transaction(token)
        return value
    finally:
        database.dispose()


def start_bare(workdir: Path, workers: int, body_file: Path) -> tuple[Server, int]:
    """Serve bench/bare_app.py with granian, in ASGI mode with ``workers`` workers, as Citizenry runs."""
    port = free_port()
    command = [sys.executable, "-m", "granian", "--interface", "asgi", "--host", "127.0.0.1"]
    command += ["--port", str(port), "--workers", str(workers), "bare_app:app"]
    env = {
        "PATH": "/usr/bin:/bin",
        "PYTHONPATH": str(BENCH_DIR),
        "BENCH_BODY_FILE": str(body_file),
        "BENCH_ROUTE": PAGE_PATH,
    }
    server = Server(
        f"bare Starlette ({workers} worker(s))", command, env=env, cwd=workdir, log_path=workdir / "bare.log"
    )
    try:
        server.wait_until_ready(f"http://127.0.0.1:{port}/healthz")
    except BaseException:
        server.stop()
        raise
    return server, port


def compare_once(
    env: dict[str, str], workdir: Path, workers: int, load: Load, expected_people: int
) -> dict[str, Any]:
    """Measure Citizenry, then the bare app serving the bytes Citizenry returned, back to back.

    Each server also gets the same load on ``FLOOR_PATH``, right after its people page.
    """
    floor_load = dataclasses.replace(load, path=FLOOR_PATH, headers={"Accept": "application/json"})
    server, port = start_citizenry(env, workdir, workers)
    with running(server):
        body = server.wait_until_ready(f"http://127.0.0.1:{port}{load.path}", load.headers)
        database_name = postgresql_database_name(env["CITIZENRY_DATABASE_URL"])
        citizenry = measure(server, port, load, workdir, database_name)
        citizenry_floor = measure(server, port, floor_load, workdir)

    listed = len(json.loads(body)["results"])
    if listed != expected_people:
        raise RuntimeError(f"the page lists {listed} people; expected {expected_people}")
    body_file = workdir / "body.json"
    body_file.write_bytes(body)
    bare_server, bare_port = start_bare(workdir, workers, body_file)
    with running(bare_server):
        if bare_server.wait_until_ready(f"http://127.0.0.1:{bare_port}{load.path}") != body:
            raise RuntimeError("the bare app returned other bytes than Citizenry")
        bare = measure(bare_server, bare_port, load, workdir)
        bare_floor = measure(bare_server, bare_port, floor_load, workdir)

    return {
        "workers": workers,
        "body_bytes": len(body),
        "citizenry": citizenry,
        "bare": bare,
        "citizenry_floor": citizenry_floor,
        "bare_floor": bare_floor,
        "ratio": round(citizenry["ok_per_second"] / bare["ok_per_second"], 3),
        "floor_ratio": round(citizenry_floor["ok_per_second"] / bare["ok_per_second"], 3),
    }


def summarise(runs: list[dict[str, Any]], worker_counts: list[int]) -> None:
    rows = []
    for workers in worker_counts:
        mine = [run for run in runs if run["workers"] == workers]
        citizenry = [run["citizenry"] for run in mine]
        bare = [run["bare"] for run in mine]
        rows.append(
            [
                workers,
                median([r["ok_per_second"] for r in citizenry]),
                median([r["p50_ms"] for r in citizenry]),
                median([r["p99_ms"] for r in citizenry]),
                median([r["ok_per_second"] for r in bare]),
                median([r["p99_ms"] for r in bare]),
                median([run["ratio"] for run in mine], 3),
                median([r["cpu_ms_per_request"] for r in citizenry]),
                median([r["cpu_ms_per_request"] for r in bare]),
                median([r["memory"]["cores_used"] for r in citizenry]),
                _median_or_dash([r["memory"]["database_cores_used"] for r in citizenry]),
                median([r["machine_cores_busy"] for r in citizenry]),
                max(max(r["memory"]["worker_rss_mib"]) for r in citizenry),
                max(max(r["memory"]["worker_pss_mib"]) for r in citizenry),
                median([r["generator_cpu_percent"] for r in bare]),
                sum(r["non_200"] for r in citizenry),
            ]
        )
    print_table(
        [
            "workers",
            "Citizenry req/s",
            "p50 ms",
            "p99 ms",
            "bare req/s",
            "bare p99 ms",
            "ratio",
            "Citizenry CPU ms/req",
            "bare CPU ms/req",
            "Citizenry cores used",
            "PostgreSQL cores used",
            "machine cores busy",
            "peak RSS/worker MiB",
            "peak PSS/worker MiB",
            "generator CPU % (bare)",
            "Citizenry non-200 (all runs)",
        ],
        rows,
    )
    floor_rows = []
    for workers in worker_counts:
        mine = [run for run in runs if run["workers"] == workers]
        floor_rows.append(
            [
                workers,
                median([run["citizenry_floor"]["ok_per_second"] for run in mine]),
                median([run["citizenry_floor"]["cpu_ms_per_request"] for run in mine]),
                median([run["bare_floor"]["ok_per_second"] for run in mine]),
                median([run["bare_floor"]["cpu_ms_per_request"] for run in mine]),
                median([run["bare"]["ok_per_second"] for run in mine]),
                median([run["floor_ratio"] for run in mine], 3),
            ]
        )
    print(f"\nGET {FLOOR_PATH} under the same load, right after each server's people page:\n")
    print_table(
        [
            "workers",
            f"Citizenry {FLOOR_PATH} req/s",
            "CPU ms/req",
            f"bare {FLOOR_PATH} req/s",
            "CPU ms/req",
            "bare people page req/s",
            f"Citizenry {FLOOR_PATH} / bare people page",
        ],
        floor_rows,
    )
    print()
    print_worker_scaling(runs, worker_counts, ("citizenry", "bare"))


def _median_or_dash(values: list[float | None]) -> float | str:
    present = [value for value in values if value is not None]
    return median(present) if present else "-"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--workers", default="1", help="worker processes, or several counts such as 1,2")
    parser.add_argument("--people", type=int, default=10_000, help="people in the nation")
    parser.add_argument("--limit", type=int, default=100, help="the page size requested")
    parser.add_argument("--concurrency", type=int, default=32, help="connections kept busy")
    parser.add_argument("--warmup", type=float, default=2.0, help="seconds of load before measuring")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds measured")
    parser.add_argument("--repeat", type=int, default=3, help="repetitions; the tables show medians")
    parser.add_argument(
        "--setting",
        action="append",
        default=[],
        metavar="CITIZENRY_NAME=VALUE",
        help="a Citizenry setting for the server, such as CITIZENRY_DATABASE_POOL_SIZE=40; repeatable",
    )
    parser.add_argument("--json", type=Path, help="write every figure to this file")
    args = parser.parse_args()
    try:
        worker_counts = parse_workers(args.workers)
        settings = [parse_setting(setting) for setting in args.setting]
    except ValueError as error:
        parser.error(str(error))

    workdir = Path(tempfile.mkdtemp(prefix="citizenry-people-bench-"))
    runs: list[dict[str, Any]] = []
    load_before = load_average()
    try:
        with citizenry_database(args.database, workdir) as database_url:
            token = seed(database_url, workdir, args.people)
            env = citizenry_env(database_url, workdir, settings)
            load = Load(
                method="GET",
                path=f"{PAGE_PATH}?limit={args.limit}",
                headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
                concurrency=args.concurrency,
                warmup=args.warmup,
                duration=args.duration,
            )
            for repetition in range(args.repeat):
                for workers in worker_counts:
                    run = compare_once(env, workdir, workers, load, min(args.limit, 100, args.people))
                    run["repetition"] = repetition
                    runs.append(run)
                    print(
                        f"repetition {repetition + 1}, {workers} worker(s): Citizenry "
                        f"{run['citizenry']['ok_per_second']} req/s, bare "
                        f"{run['bare']['ok_per_second']} req/s, ratio {run['ratio']}, "
                        f"load average {run['citizenry']['load_average_before']}",
                        flush=True,
                    )
    except BaseException:
        print(f"the benchmark failed; its logs are kept in {workdir}", file=sys.stderr)
        raise
    remove_workdir(workdir)

    print(
        f"\nGET {PAGE_PATH}?limit={args.limit} on {args.database}, {args.people} people, "
        f"{args.concurrency} connections, {args.duration:g} s after {args.warmup:g} s warm-up, "
        f"median of {args.repeat}; load average {load_before} before, {load_average()} after\n"
    )
    summarise(runs, worker_counts)
    if args.json:
        report = {
            "benchmark": "people_page",
            "arguments": vars(args) | {"json": str(args.json)},
            "machine": machine(),
            "runs": runs,
        }
        args.json.write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
