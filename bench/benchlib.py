"""Helpers shared by the HTTP benchmarks: servers on free loopback ports, the load generator,
memory sampling, throw-away PostgreSQL databases and the summary tables."""

from __future__ import annotations

import json
import os
import platform
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql
from sqlalchemy.orm import Session

from citizenry.store import migrate
from citizenry.store.db import Database
from citizenry.tenancy.nations import create_nation
from citizenry.tenancy.users import add_membership, create_user

BENCH_DIR = Path(__file__).resolve().parent
REPOSITORY = BENCH_DIR.parent

#: The server every benchmark uses: the PostgreSQL at 127.0.0.1:5432 that the tests use too.
POSTGRESQL_ADMIN_URL = os.environ.get("BENCH_POSTGRESQL_URL", "postgresql://postgres@127.0.0.1:5432/test")

#: Seconds a server may take from start to its first successful response.
START_TIMEOUT_SECONDS = 60.0

#: Seconds a server gets to stop after SIGINT before its process group is killed.
STOP_TIMEOUT_SECONDS = 20.0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def load_average() -> list[float]:
    """Return the 1, 5 and 15 minute load averages from /proc/loadavg."""
    return [float(value) for value in Path("/proc/loadavg").read_text().split()[:3]]


def machine() -> dict[str, Any]:
    return {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "processor": _cpu_model(),
    }


def _cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.machine()


def median(values: Sequence[float], digits: int = 2) -> float:
    return round(statistics.median(values), digits)


class ServerError(RuntimeError):
    """A benchmark server that did not start, or responded with an unexpected status."""


class Server:
    """A server process started in its own process group, stopped by SIGINT, then SIGKILL if it hangs."""

    def __init__(
        self, name: str, command: Sequence[str], *, env: Mapping[str, str], cwd: Path, log_path: Path
    ) -> None:
        self.name = name
        self.log_path = log_path
        self._log = log_path.open("ab")
        self.process = subprocess.Popen(  # noqa: S603 (the command is built by the benchmark)
            list(command),
            env=dict(env),
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def wait_until_ready(self, url: str, headers: Mapping[str, str] | None = None) -> bytes:
        """Poll ``url`` until it responds with status 200, and return the response body."""
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise ServerError(
                    f"{self.name} exited with code {self.process.returncode}; see {self.log_path}"
                )
            try:
                return http_get(url, headers)
            except (urllib.error.URLError, ConnectionError, ServerError):
                time.sleep(0.2)
        raise ServerError(
            f"{self.name} did not respond to {url} within {START_TIMEOUT_SECONDS} s; see {self.log_path}"
        )

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=STOP_TIMEOUT_SECONDS)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        # Worker processes that outlived their parent are still in the group the server started.
        with suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self._log.close()


@contextmanager
def running(server: Server) -> Iterator[Server]:
    try:
        yield server
    finally:
        server.stop()


def http_get(url: str, headers: Mapping[str, str] | None = None) -> bytes:
    """GET a loopback URL; raise ServerError unless the status is 200."""
    request = urllib.request.Request(url, headers=dict(headers or {}))  # noqa: S310 (http on 127.0.0.1)
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
        if response.status != 200:
            raise ServerError(f"GET {url} returned status {response.status}")
        body: bytes = response.read()
        return body


# Memory --------------------------------------------------------------------------------------


def _children(pid: int) -> list[int]:
    """Return the direct children of ``pid``, from /proc/PID/task/*/children."""
    children: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            children += [int(child) for child in (task / "children").read_text().split()]
        except OSError:
            continue
    return children


def _descendants(pid: int) -> list[int]:
    found: list[int] = []
    pending = [pid]
    while pending:
        current = pending.pop()
        for child in _children(current):
            found.append(child)
            pending.append(child)
    return found


def _memory_kib(pid: int) -> tuple[int, int] | None:
    """Return (RSS, PSS) of a process in KiB from /proc/PID/smaps_rollup, or None once it has exited."""
    values: dict[str, int] = {}
    try:
        text = Path(f"/proc/{pid}/smaps_rollup").read_text()
    except OSError:
        return None
    for line in text.splitlines():
        name, _, rest = line.partition(":")
        if name in {"Rss", "Pss"}:
            values[name] = int(rest.split()[0])
    return values.get("Rss", 0), values.get("Pss", 0)


def _cpu_seconds(pid: int) -> float | None:
    """Return the user and system CPU time a process has used, from /proc/PID/stat."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name in brackets may contain spaces, so count the fields after its closing bracket.
    fields = text.rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def _postgresql_backends(database_name: str) -> list[int]:
    """Return the PostgreSQL server processes connected to ``database_name``.

    A backend's command line reads "postgres: 15/main: USER DATABASE ADDRESS(PORT) STATE".
    """
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and f" {database_name} " in _command_line(int(entry.name)):
            pids.append(int(entry.name))
    return pids


def _busy_jiffies() -> tuple[int, int]:
    """Return the busy and total CPU time of the whole machine so far, in clock ticks, from /proc/stat."""
    fields = [int(value) for value in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle and iowait
    return sum(fields) - idle, sum(fields)


def _command_line(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


@dataclass
class MemorySampler:
    """Samples, in a thread, the peak RSS and PSS of a server process and each of its descendants,
    and the CPU time they use while it runs.

    RSS counts shared pages (the interpreter, libraries) in every process. PSS divides them among
    the processes that share them, so the PSS of the workers adds up to what they cost together.
    """

    pid: int
    #: A PostgreSQL database whose server processes (backends) are sampled for CPU time too.
    database_name: str | None = None
    interval: float = 0.25
    peaks: dict[int, tuple[int, int]] = field(default_factory=dict)
    commands: dict[int, str] = field(default_factory=dict)
    #: CPU seconds of each process at its first and at its latest sample.
    cpu: dict[int, tuple[float, float]] = field(default_factory=dict)
    database_cpu: dict[int, tuple[float, float]] = field(default_factory=dict)
    started: float = 0.0
    stopped: float = 0.0
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def __enter__(self) -> MemorySampler:
        self.started = time.monotonic()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        assert self._thread is not None
        self._thread.join()
        self.stopped = time.monotonic()

    def _run(self) -> None:
        while True:
            stopping = self._stop.is_set()
            for pid in [self.pid, *_descendants(self.pid)]:
                cpu = _cpu_seconds(pid)
                if cpu is not None:
                    self.cpu[pid] = (self.cpu.get(pid, (cpu, cpu))[0], cpu)
                memory = _memory_kib(pid)
                if memory is None:
                    continue
                old = self.peaks.get(pid, (0, 0))
                self.peaks[pid] = (max(old[0], memory[0]), max(old[1], memory[1]))
                if pid not in self.commands:
                    self.commands[pid] = _command_line(pid)
            if self.database_name is not None:
                for pid in _postgresql_backends(self.database_name):
                    cpu = _cpu_seconds(pid)
                    if cpu is not None:
                        self.database_cpu[pid] = (self.database_cpu.get(pid, (cpu, cpu))[0], cpu)
            if stopping:
                return
            self._stop.wait(self.interval)

    def report(self) -> dict[str, Any]:
        """Summarise the peaks in MiB: the main process, and the worker processes it started.

        granian runs each worker in a child process; with one worker there is still one child.
        """
        workers = [pid for pid in self.peaks if pid != self.pid]
        main = self.peaks.get(self.pid, (0, 0))
        wall = max(self.stopped - self.started, 1e-9)
        cpu_seconds = sum(last - first for first, last in self.cpu.values())
        database_seconds = sum(last - first for first, last in self.database_cpu.values())
        return {
            "cpu_seconds": round(cpu_seconds, 2),
            "cores_used": round(cpu_seconds / wall, 2),
            # A backend that connected after the first sample misses its CPU time before its first sample.
            "database_cores_used": round(database_seconds / wall, 2) if self.database_name else None,
            "main_rss_mib": _mib(main[0]),
            "worker_rss_mib": [_mib(self.peaks[pid][0]) for pid in workers],
            "worker_pss_mib": [_mib(self.peaks[pid][1]) for pid in workers],
            "worker_commands": sorted({self.commands.get(pid, "")[:120] for pid in workers}),
        }


def _mib(kib: int) -> float:
    return round(kib / 1024, 1)


# Load ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Load:
    """The requests the load generator sends, and for how long."""

    method: str
    path: str
    headers: Mapping[str, str]
    concurrency: int
    warmup: float
    duration: float
    body: str = ""
    bodies_file: Path | None = None
    #: The measured phase is extended until this many responses have arrived, up to max_duration.
    min_completed: int = 0
    max_duration: float | None = None


def run_load(port: int, load: Load, workdir: Path) -> dict[str, Any]:
    """Run bench/loadgen.py in its own process against ``port`` and return its JSON result."""
    spec: dict[str, Any] = {
        "port": port,
        "method": load.method,
        "path": load.path,
        "headers": dict(load.headers),
        "concurrency": load.concurrency,
        "warmup": load.warmup,
        "duration": load.duration,
        "min_completed": load.min_completed,
        "max_duration": load.max_duration or load.duration,
    }
    if load.bodies_file is not None:
        spec["bodies_file"] = str(load.bodies_file)
    else:
        spec["body"] = load.body
    spec_path = workdir / f"load-{secrets.token_hex(4)}.json"
    spec_path.write_text(json.dumps(spec))
    completed = subprocess.run(  # noqa: S603
        [sys.executable, str(BENCH_DIR / "loadgen.py"), str(spec_path)],
        capture_output=True,
        text=True,
        check=False,
    )
    if completed.returncode != 0:
        raise ServerError(f"the load generator failed:\n{completed.stderr}")
    result: dict[str, Any] = json.loads(completed.stdout)
    return result


def measure(
    server: Server, port: int, load: Load, workdir: Path, database_name: str | None = None
) -> dict[str, Any]:
    """Run the load against a ready server while sampling its memory and CPU time, and those of
    the PostgreSQL backends of ``database_name`` if given.

    Only 200 responses count towards ``ok_per_second``; ``non_200`` counts the rest. A 4xx means the
    benchmark sent something wrong, so it stops the run, as does a run without any 200.
    """
    before = load_average()
    busy_before, total_before = _busy_jiffies()
    with MemorySampler(server.process.pid, database_name) as sampler:
        result = run_load(port, load, workdir)
    busy_after, total_after = _busy_jiffies()
    result["memory"] = sampler.report()
    # Cores busy on the whole machine, this benchmark and everything else together.
    result["machine_cores_busy"] = round(
        (os.cpu_count() or 1) * (busy_after - busy_before) / max(total_after - total_before, 1), 2
    )
    result["load_average_before"] = before
    result["load_average_after"] = load_average()

    statuses: dict[str, int] = result["statuses"]
    ok = statuses.get("200", 0)
    if ok == 0 or any(status.startswith("4") for status in statuses):
        raise ServerError(f"{server.name} returned statuses {statuses}, expected 200; see {server.log_path}")
    result["ok_per_second"] = round(ok / result["seconds"], 1)
    # CPU time of the server's processes (a database server's excluded) over every response it sent.
    result["cpu_ms_per_request"] = round(
        1000 * result["memory"]["cpu_seconds"] / result["responses_total"], 2
    )
    result["non_200"] = result["completed"] - ok
    if result["non_200"]:
        print(f"warning: {server.name} returned statuses {statuses}; see {server.log_path}", file=sys.stderr)
        SERVERS_WITH_ERRORS.append(server.name)
    return result


#: Names of the servers that returned a status other than 200 during this run.
SERVERS_WITH_ERRORS: list[str] = []


def remove_workdir(workdir: Path) -> None:
    """Remove the temporary folder, unless a server returned errors, in which case keep it for its logs."""
    if SERVERS_WITH_ERRORS:
        print(f"logs of {', '.join(sorted(set(SERVERS_WITH_ERRORS)))} are kept in {workdir}", file=sys.stderr)
        return
    shutil.rmtree(workdir, ignore_errors=True)


# PostgreSQL ----------------------------------------------------------------------------------


@contextmanager
def postgresql_database(prefix: str) -> Iterator[str]:
    """Create an empty database named ``prefix`` plus a random suffix, yield its name, then drop it."""
    name = f"{prefix}_{secrets.token_hex(4)}"
    with psycopg.connect(POSTGRESQL_ADMIN_URL, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield name
    finally:
        with psycopg.connect(POSTGRESQL_ADMIN_URL, autocommit=True) as admin:
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def postgresql_database_name(url: str) -> str | None:
    """Return the database name of a PostgreSQL URL, or None for another database such as SQLite."""
    return url.rsplit("/", 1)[1] if url.startswith("postgresql") else None


def postgresql_url(database: str, driver: str = "postgresql+psycopg") -> str:
    """Return the URL of ``database`` on the same server as :data:`POSTGRESQL_ADMIN_URL`."""
    base, _, _ = POSTGRESQL_ADMIN_URL.rpartition("/")
    return f"{driver}://{base.split('://', 1)[1]}/{database}"


# Reporting -----------------------------------------------------------------------------------


def parse_workers(text: str) -> list[int]:
    """Parse ``--workers``: one count such as ``2``, or several such as ``1,2`` measured in turn."""
    try:
        counts = [int(part) for part in text.split(",")]
    except ValueError:
        raise ValueError(
            f"invalid --workers {text!r}; write a count such as 2, or counts such as 1,2"
        ) from None
    if not counts or any(count < 1 for count in counts):
        raise ValueError(f"invalid --workers {text!r}; each count must be at least 1")
    return counts


def print_table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """Print a Markdown table, so that the output can go into docs/benchmarks.md as it is."""
    print("| " + " | ".join(headers) + " |")
    print("| " + " | ".join("---" for _ in headers) + " |")
    for row in rows:
        print("| " + " | ".join(str(cell) for cell in row) + " |")


# Citizenry -----------------------------------------------------------------------------------

#: Rate limits far above any rate measured here, so that the benchmark measures the work, not a 429.
#: The limits are still checked on every request, as in production.
UNREACHED_RATE_LIMIT = "10000000/minute"

#: The slug of the nation the benchmarks create; requests reach it under /n/bench.
NATION_SLUG = "bench"

#: The admin's sign-in, which the benchmarks never use. The password only has to pass validation.
ADMIN_EMAIL = "admin@bench.example"
ADMIN_PASSWORD = secrets.token_urlsafe(16)


@contextmanager
def citizenry_database(kind: str, workdir: Path) -> Iterator[str]:
    """Yield the URL of a new, migrated database: a SQLite file in ``workdir``, or a PostgreSQL database."""
    if kind == "sqlite":
        url = f"sqlite:///{workdir / 'citizenry.sqlite3'}"
        migrate.upgrade(url)
        yield url
        return
    with postgresql_database("citizenry_bench") as name:
        url = postgresql_url(name)
        migrate.upgrade(url)
        yield url


def citizenry_env(database_url: str, workdir: Path, settings: Sequence[str] = ()) -> dict[str, str]:
    """Return the environment for ``citizenry serve``: the defaults, except the rate limits and plain
    http, then ``settings`` (``NAME=VALUE`` strings such as ``CITIZENRY_DATABASE_POOL_SIZE=40``)."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("CITIZENRY_")}
    env.update(
        {
            "CITIZENRY_DATABASE_URL": database_url,
            "CITIZENRY_DATA_DIR": str(workdir),
            "CITIZENRY_SECRET_KEY": secrets.token_urlsafe(48),
            # OAuth over http, which is safe on 127.0.0.1 only.
            "CITIZENRY_INSECURE_HTTP": "1",
            "CITIZENRY_OAUTH_RATE_LIMIT_PER_APP": UNREACHED_RATE_LIMIT,
            "CITIZENRY_OAUTH_RATE_LIMIT_PER_IP": UNREACHED_RATE_LIMIT,
            "CITIZENRY_API_RATE_LIMIT_PER_TOKEN": UNREACHED_RATE_LIMIT,
        }
    )
    for setting in settings:
        name, _, value = setting.partition("=")
        env[name] = value
    return env


def parse_setting(text: str) -> str:
    """Check one ``--setting`` value: ``CITIZENRY_NAME=VALUE``."""
    name, equals, _ = text.partition("=")
    if not equals or not name.startswith("CITIZENRY_"):
        raise ValueError(f"invalid --setting {text!r}; write CITIZENRY_NAME=VALUE")
    return text


def start_citizenry(env: Mapping[str, str], workdir: Path, workers: int) -> tuple[Server, int]:
    """Start ``python -m citizenry serve`` (granian) on a free port and wait for /healthz."""
    port = free_port()
    command = [sys.executable, "-m", "citizenry", "serve", "--host", "127.0.0.1", "--port", str(port)]
    command += ["--workers", str(workers)]
    server = Server(
        f"Citizenry ({workers} worker(s))", command, env=env, cwd=workdir, log_path=workdir / "citizenry.log"
    )
    try:
        server.wait_until_ready(f"http://127.0.0.1:{port}/healthz")
    except BaseException:
        server.stop()
        raise
    return server, port


def create_nation_and_admin(database: Database) -> tuple[int, int]:
    """Create the nation :data:`NATION_SLUG` and an admin member; return their ids."""

    def create(session: Session) -> tuple[int, int]:
        nation = create_nation(session, slug=NATION_SLUG, name="Bench", plan="enterprise")
        user = create_user(session, email=ADMIN_EMAIL, password=ADMIN_PASSWORD)
        add_membership(session, user=user, nation=nation, level="admin")
        return nation.id, user.id

    ids: tuple[int, int] = database.transaction(create)
    return ids


def print_worker_scaling(runs: list[dict[str, Any]], worker_counts: list[int], sides: Sequence[str]) -> None:
    """Print, for two worker counts, the median over repetitions of each side's throughput ratio."""
    if len(worker_counts) != 2:
        return
    low, high = worker_counts
    for side in sides:
        ratios = []
        for repetition in sorted({run["repetition"] for run in runs}):
            by_workers = {run["workers"]: run for run in runs if run["repetition"] == repetition}
            ratios.append(by_workers[high][side]["ok_per_second"] / by_workers[low][side]["ok_per_second"])
        print(
            f"{side}: {high} workers / {low} worker(s) = {median(ratios, 3)} (per repetition: "
            f"{', '.join(f'{ratio:.2f}' for ratio in ratios)})"
        )
