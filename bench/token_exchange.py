"""Benchmark: authorization-code exchanges per second at /oauth/token, against django-oauth-toolkit.

Run from the repository folder:

    .venv/bin/python bench/token_exchange.py --database sqlite --workers 1
    .venv/bin/python bench/token_exchange.py --database postgresql --workers 1,2

Citizenry side: a fresh database with a nation, an admin and a confidential app registered with
`register_app`, as `citizenry app create` does. Before each measurement the script writes --codes
authorization codes straight to the database (an authorization and a code row each, with an S256
PKCE challenge), so that creating codes is not timed. Then it starts `python -m citizenry serve`
(granian) on a free loopback port and bench/loadgen.py sends one form-encoded exchange per code
(client_secret_post with code_verifier) over a fixed number of keep-alive connections.

Reference side, in the same repetition: django-oauth-toolkit with its default settings, installed
with pip into a throw-away virtual environment under the temporary folder (or --venv). The script
generates a Django project there with `django-admin startproject`, adds `oauth2_provider` and its
URLs, and creates a user and a confidential authorization-code Application through Django's ORM.
It writes the grants through the ORM too, with the same PKCE challenge, and serves the project
with the same granian version and worker count in WSGI mode. WSGI is Django's native interface,
and its ASGI mode runs each sync view through a thread hop, which would handicap it. The database
is SQLite (Django's default file, as startproject writes it) or a throw-away PostgreSQL database
with Django's default connection handling. Nothing of the reference stays after the run.

DOT's default `hash_client_secret=True` stores the client secret hashed with Django's default
PBKDF2 (1,000,000 iterations in Django 5.2), which it checks on every exchange.
--dot-unhashed-secret also measures a second application with `hash_client_secret=False`, to show
the gap without that hash.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import secrets
import subprocess
import sys
import tempfile
import venv
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from benchlib import (
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
    postgresql_database,
    postgresql_database_name,
    print_table,
    print_worker_scaling,
    remove_workdir,
    running,
    start_citizenry,
)
from granian import __version__ as GRANIAN_VERSION

from citizenry.oauth.apps import register_app
from citizenry.oauth.digests import digest, new_code
from citizenry.store.db import Database
from citizenry.store.models import Authorization, AuthorizationCode, Nation
from citizenry.store.types import utcnow

REDIRECT_URI = "http://127.0.0.1:9000/callback"

#: One PKCE verifier for every code: each code row stores the challenge, and each exchange proves it.
CODE_VERIFIER = secrets.token_urlsafe(48)
CODE_CHALLENGE = (
    base64.urlsafe_b64encode(hashlib.sha256(CODE_VERIFIER.encode()).digest()).rstrip(b"=").decode()
)

#: Packages of the reference's virtual environment. granian is pinned to the version Citizenry runs on.
REFERENCE_PACKAGES = ["django", "django-oauth-toolkit", "psycopg[binary]", f"granian=={GRANIAN_VERSION}"]

#: Run by the reference's Python inside the generated Django project: creates the user and the
#: applications (`app`), or grants (`grants COUNT FILE APPLICATION_ID`). Its output is one JSON object.
DJANGO_HELPER = """
import json, os, secrets, sys
from datetime import timedelta

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dotbench.settings")
django.setup()

from django.contrib.auth import get_user_model
from django.utils import timezone
from oauth2_provider.models import Application, Grant

REDIRECT_URI, CODE_CHALLENGE = {redirect_uri!r}, {code_challenge!r}
command = sys.argv[1]
if command == "app":
    user = get_user_model().objects.create_user("bench", password=secrets.token_urlsafe(16))
    apps = {{}}
    for name, hashed in (("hashed", True), ("unhashed", False)):
        secret = secrets.token_urlsafe(32)
        app = Application.objects.create(
            name=name,
            user=user,
            client_type=Application.CLIENT_CONFIDENTIAL,
            authorization_grant_type=Application.GRANT_AUTHORIZATION_CODE,
            redirect_uris=REDIRECT_URI,
            client_secret=secret,
            hash_client_secret=hashed,
        )
        apps[name] = {{"id": app.id, "client_id": app.client_id, "client_secret": secret}}
    print(json.dumps(apps))
elif command == "grants":
    count, path, application_id = int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
    user = get_user_model().objects.get(username="bench")
    application = Application.objects.get(id=application_id)
    expires = timezone.now() + timedelta(minutes=10)
    codes = [secrets.token_urlsafe(32) for _ in range(count)]
    Grant.objects.bulk_create(
        [
            Grant(
                user=user,
                code=code,
                application=application,
                expires=expires,
                redirect_uri=REDIRECT_URI,
                scope="read write",
                code_challenge=CODE_CHALLENGE,
                code_challenge_method="S256",
            )
            for code in codes
        ],
        batch_size=2000,
    )
    with open(path, "w") as out:
        out.write("\\n".join(codes) + "\\n")
    print(json.dumps({{"grants": count}}))
"""

#: Appended to the settings that `django-admin startproject` writes. Nothing here changes DOT.
DJANGO_SETTINGS = """
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1"]
INSTALLED_APPS += ["oauth2_provider"]
# Without DEBUG, Django sends tracebacks of 500 responses only to mail_admins, so send them to the log.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {"django.request": {"handlers": ["console"], "level": "ERROR"}},
}
"""

#: The SQLite settings Citizenry applies to its own connections (WAL, synchronous=NORMAL, a 5 s busy
#: timeout), plus BEGIN IMMEDIATE, which Django's documentation recommends against "database is
#: locked" errors. With Django's defaults, half or more of the exchanges at 32 connections failed
#: with that error, and with WAL alone about half still did.
DJANGO_SQLITE_SETTINGS = """
DATABASES["default"]["OPTIONS"] = {
    "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL",
    "timeout": 5,
    "transaction_mode": "IMMEDIATE",
}
"""

DJANGO_POSTGRESQL_SETTINGS = """
DATABASES = {{"default": {{"ENGINE": "django.db.backends.postgresql", "NAME": {name!r},
                          "USER": "postgres", "HOST": "127.0.0.1", "PORT": "5432"}}}}
"""

DJANGO_URLS = """
from django.urls import include
urlpatterns += [path("o/", include("oauth2_provider.urls", namespace="oauth2_provider"))]
"""


@dataclass(frozen=True)
class Client:
    client_id: str
    client_secret: str


def write_exchange_bodies(path: Path, codes: list[str], client: Client) -> None:
    """Write one form-encoded authorization-code exchange per code, one a line."""
    with path.open("w") as out:
        for code in codes:
            body = {
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": REDIRECT_URI,
                "client_id": client.client_id,
                "client_secret": client.client_secret,
                "code_verifier": CODE_VERIFIER,
            }
            out.write(urlencode(body) + "\n")


# Citizenry -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class CitizenrySetup:
    database_url: str
    nation_id: int
    user_id: int
    app_id: int
    client: Client


def set_up_citizenry(database_url: str) -> CitizenrySetup:
    database = Database(database_url)
    try:
        nation_id, user_id = create_nation_and_admin(database)

        def create_app(session: Any) -> tuple[int, Client]:
            app, secret = register_app(
                session, nation=session.get(Nation, nation_id), name="Bench", redirect_uris=[REDIRECT_URI]
            )
            assert secret is not None
            return app.id, Client(app.client_id, secret)

        app_id, client = database.transaction(create_app)
    finally:
        database.dispose()
    return CitizenrySetup(database_url, nation_id, user_id, app_id, client)


def create_citizenry_codes(setup: CitizenrySetup, count: int) -> list[str]:
    """Write ``count`` authorization codes as /oauth/authorize would; return the codes themselves,
    of which the database keeps only digests."""
    codes = [new_code() for _ in range(count)]

    def create(session: Any) -> None:
        expires_at = utcnow() + timedelta(minutes=10)
        authorizations = [
            Authorization(nation_id=setup.nation_id, app_id=setup.app_id, user_id=setup.user_id, scope="")
            for _ in codes
        ]
        session.add_all(authorizations)
        session.flush()
        session.add_all(
            [
                AuthorizationCode(
                    authorization_id=authorization.id,
                    nation_id=setup.nation_id,
                    app_id=setup.app_id,
                    code_digest=digest(code),
                    redirect_uri=REDIRECT_URI,
                    scope="",
                    code_challenge=CODE_CHALLENGE,
                    code_challenge_method="S256",
                    expires_at=expires_at,
                )
                for authorization, code in zip(authorizations, codes, strict=True)
            ]
        )

    database = Database(setup.database_url)
    try:
        database.transaction(create)
    finally:
        database.dispose()
    return codes


def measure_citizenry(
    setup: CitizenrySetup, env: dict[str, str], workdir: Path, workers: int, load: Load, codes: int
) -> dict[str, Any]:
    bodies = workdir / "citizenry-exchanges.txt"
    write_exchange_bodies(bodies, create_citizenry_codes(setup, codes), setup.client)
    server, port = start_citizenry(env, workdir, workers)
    with running(server):
        load = _with_bodies(load, f"/n/{NATION_SLUG}/oauth/token", bodies)
        return measure(server, port, load, workdir, postgresql_database_name(setup.database_url))


def _with_bodies(load: Load, path: str, bodies: Path) -> Load:
    return Load(
        method="POST",
        path=path,
        headers=load.headers,
        concurrency=load.concurrency,
        warmup=load.warmup,
        duration=load.duration,
        bodies_file=bodies,
        min_completed=load.min_completed,
        max_duration=load.max_duration,
    )


# django-oauth-toolkit ------------------------------------------------------------------------


@dataclass(frozen=True)
class Reference:
    """The generated Django project and the applications registered in it."""

    python: Path
    granian: Path
    project: Path
    apps: dict[str, dict[str, Any]]

    def client(self, name: str) -> Client:
        return Client(self.apps[name]["client_id"], self.apps[name]["client_secret"])


def _run(command: list[str], cwd: Path | None = None) -> str:
    completed = subprocess.run(command, cwd=cwd, capture_output=True, text=True, check=False)  # noqa: S603
    if completed.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed:\n{completed.stdout}\n{completed.stderr}")
    return completed.stdout


def install_reference(venv_dir: Path) -> None:
    """Create the reference's virtual environment and install its packages, unless already there."""
    python = venv_dir / "bin" / "python"
    if not python.exists():
        venv.create(venv_dir, with_pip=True)
    _run([str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", *REFERENCE_PACKAGES])


@contextmanager
def reference_project(venv_dir: Path, workdir: Path, database: str) -> Iterator[Reference]:
    """Generate the Django project, migrate its database and register its applications."""
    python, admin = venv_dir / "bin" / "python", venv_dir / "bin" / "django-admin"
    project = workdir / "dotbench"
    project.mkdir()
    _run([str(admin), "startproject", "dotbench", str(project)])
    settings = project / "dotbench" / "settings.py"
    with settings.open("a") as out:
        out.write(DJANGO_SETTINGS)
    with (project / "dotbench" / "urls.py").open("a") as out:
        out.write(DJANGO_URLS)
    (project / "bench_helper.py").write_text(
        DJANGO_HELPER.format(redirect_uri=REDIRECT_URI, code_challenge=CODE_CHALLENGE)
    )

    with _reference_database(database) as postgresql_name:
        with settings.open("a") as out:
            if postgresql_name is None:
                out.write(DJANGO_SQLITE_SETTINGS)
            else:
                out.write(DJANGO_POSTGRESQL_SETTINGS.format(name=postgresql_name))
        _run([str(python), "manage.py", "migrate", "--noinput"], cwd=project)
        apps = json.loads(_run([str(python), "bench_helper.py", "app"], cwd=project))
        yield Reference(python, venv_dir / "bin" / "granian", project, apps)


@contextmanager
def _reference_database(database: str) -> Iterator[str | None]:
    if database == "sqlite":
        yield None
        return
    with postgresql_database("dot_bench") as name:
        yield name


def measure_reference(
    reference: Reference, app: str, workdir: Path, workers: int, load: Load, codes: int
) -> dict[str, Any]:
    codes_file = workdir / "dot-codes.txt"
    application_id = str(reference.apps[app]["id"])
    _run(
        [str(reference.python), "bench_helper.py", "grants", str(codes), str(codes_file), application_id],
        cwd=reference.project,
    )
    bodies = workdir / "dot-exchanges.txt"
    write_exchange_bodies(bodies, codes_file.read_text().split(), reference.client(app))

    port = free_port()
    command = [str(reference.granian), "--interface", "wsgi", "--host", "127.0.0.1", "--port", str(port)]
    command += ["--workers", str(workers), "dotbench.wsgi:application"]
    env = {"PATH": "/usr/bin:/bin", "DJANGO_SETTINGS_MODULE": "dotbench.settings"}
    server = Server(
        f"django-oauth-toolkit ({app} secret, {workers} worker(s))",
        command,
        env=env,
        cwd=reference.project,
        log_path=workdir / "dot.log",
    )
    with running(server):
        server.wait_until_ready(f"http://127.0.0.1:{port}/admin/login/")
        return measure(server, port, _with_bodies(load, "/o/token/", bodies), workdir)


# Report --------------------------------------------------------------------------------------


def _median_or_dash(values: list[float | None]) -> float | str:
    present = [value for value in values if value is not None]
    return median(present) if present else "-"


def summarise(runs: list[dict[str, Any]], worker_counts: list[int], references: list[str]) -> None:
    headers = ["workers", "Citizenry exchanges/s", "p50 ms", "p99 ms", "CPU ms/exchange", "cores used"]
    headers += ["PostgreSQL cores used", "machine cores busy"]
    for app in references:
        headers += [f"DOT ({app} secret)/s", "p99 ms", "CPU ms/exchange", f"Citizenry / DOT ({app})"]
    headers += ["peak RSS/worker MiB", "peak PSS/worker MiB", "Citizenry non-200 (all runs)"]
    rows = []
    for workers in worker_counts:
        mine = [run for run in runs if run["workers"] == workers]
        citizenry = [run["citizenry"] for run in mine]
        row: list[Any] = [
            workers,
            median([r["ok_per_second"] for r in citizenry]),
            median([r["p50_ms"] for r in citizenry]),
            median([r["p99_ms"] for r in citizenry]),
            median([r["cpu_ms_per_request"] for r in citizenry]),
            median([r["memory"]["cores_used"] for r in citizenry]),
            _median_or_dash([r["memory"]["database_cores_used"] for r in citizenry]),
            median([r["machine_cores_busy"] for r in citizenry]),
        ]
        for app in references:
            row += [
                median([run[f"dot_{app}"]["ok_per_second"] for run in mine]),
                median([run[f"dot_{app}"]["p99_ms"] for run in mine]),
                median([run[f"dot_{app}"]["cpu_ms_per_request"] for run in mine]),
                median([run[f"ratio_{app}"] for run in mine], 3),
            ]
        row += [
            max(max(r["memory"]["worker_rss_mib"]) for r in citizenry),
            max(max(r["memory"]["worker_pss_mib"]) for r in citizenry),
            sum(r["non_200"] for r in citizenry),
        ]
        rows.append(row)
    print_table(headers, rows)

    print_worker_scaling(runs, worker_counts, ("citizenry",))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--workers", default="1", help="worker processes, or several counts such as 1,2")
    parser.add_argument("--codes", type=int, default=15_000, help="codes created before each measurement")
    parser.add_argument("--concurrency", type=int, default=32, help="connections kept busy")
    parser.add_argument("--warmup", type=float, default=2.0, help="seconds of load before measuring")
    parser.add_argument(
        "--duration", type=float, default=10.0, help="seconds measured, unless the codes run out"
    )
    parser.add_argument(
        "--max-duration",
        type=float,
        default=90.0,
        help="seconds a slow server is measured for, at most, to collect two responses per connection",
    )
    parser.add_argument("--repeat", type=int, default=3, help="repetitions; the tables show medians")
    parser.add_argument("--venv", type=Path, help="the reference's virtual environment, created if missing")
    parser.add_argument(
        "--dot-unhashed-secret",
        action="store_true",
        help="also measure DOT with hash_client_secret=False (not its default)",
    )
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
    references = ["hashed", "unhashed"] if args.dot_unhashed_secret else ["hashed"]

    workdir = Path(tempfile.mkdtemp(prefix="citizenry-token-bench-"))
    runs: list[dict[str, Any]] = []
    load_before = load_average()
    load = Load(
        method="POST",
        path="",
        headers={"Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"},
        concurrency=args.concurrency,
        warmup=args.warmup,
        duration=args.duration,
        # At two rounds of responses per connection, a server that finishes requests in batches
        # (DOT spends about 0.5 s of CPU on each, hashing the secret) is measured over whole batches.
        min_completed=2 * args.concurrency,
        max_duration=args.max_duration,
    )
    try:
        venv_dir = args.venv or workdir / "reference-venv"
        print(f"installing {', '.join(REFERENCE_PACKAGES)} into {venv_dir}", flush=True)
        install_reference(venv_dir)
        with (
            citizenry_database(args.database, workdir) as database_url,
            reference_project(venv_dir, workdir, args.database) as reference,
        ):
            setup = set_up_citizenry(database_url)
            env = citizenry_env(database_url, workdir, settings)
            for repetition in range(args.repeat):
                for workers in worker_counts:
                    run: dict[str, Any] = {"repetition": repetition, "workers": workers}
                    run["citizenry"] = measure_citizenry(setup, env, workdir, workers, load, args.codes)
                    for app in references:
                        run[f"dot_{app}"] = measure_reference(
                            reference, app, workdir, workers, load, args.codes
                        )
                        run[f"ratio_{app}"] = round(
                            run["citizenry"]["ok_per_second"] / run[f"dot_{app}"]["ok_per_second"], 3
                        )
                    runs.append(run)
                    print(
                        f"repetition {repetition + 1}, {workers} worker(s): Citizenry "
                        f"{run['citizenry']['ok_per_second']}/s, "
                        + ", ".join(f"DOT {app} {run[f'dot_{app}']['ok_per_second']}/s" for app in references)
                        + f", load average {run['citizenry']['load_average_before']}",
                        flush=True,
                    )
    except BaseException:
        print(f"the benchmark failed; its logs are kept in {workdir}", file=sys.stderr)
        raise
    remove_workdir(workdir)

    print(
        f"\nPOST /oauth/token (authorization_code, PKCE S256, client_secret_post) on {args.database}, "
        f"{args.concurrency} connections, {args.duration:g} s after {args.warmup:g} s warm-up, median of "
        f"{args.repeat}; load average {load_before} before, {load_average()} after\n"
    )
    summarise(runs, worker_counts, references)
    if args.json:
        report = {
            "benchmark": "token_exchange",
            "arguments": {key: str(value) for key, value in vars(args).items()},
            "machine": machine(),
            "reference_packages": REFERENCE_PACKAGES,
            "runs": runs,
        }
        args.json.write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
