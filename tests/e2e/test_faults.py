"""Faults against real processes: the database stopping under a running server, and SIGKILL mid-write.

The outage test stops its database, so it runs a PostgreSQL cluster of its own, made with initdb
in a temporary folder. The shared test server must keep running for everyone else.
"""

from __future__ import annotations

import csv
import glob
import os
import secrets
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
import sqlalchemy as sa
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from citizenry.oauth.digests import digest, new_code
from citizenry.store.db import Database
from citizenry.store.models import (
    AccessToken,
    AuditEvent,
    Authorization,
    AuthorizationCode,
    Person,
    RefreshToken,
    Tag,
    Tagging,
)
from citizenry.store.types import utcnow
from tests.conftest import IN_CI
from tests.factory import CALLBACK, AppInfo, Factory, NationInfo, UserInfo
from tests.flows import exchange_params
from tests.live import free_port

#: A request to a server whose database is down must fail well before the pool's 30 s timeout.
FAIL_FAST_SECONDS = 5
#: Seconds a server may take to return 200 again after its database returns.
RECOVERY_SECONDS = 15
#: Rows in the CSV file that the import kill test interrupts. Importing them took about 9 s on
#: SQLite on a 2-CPU machine (measured with `citizenry db import`), so the kill comes mid-import.
BIG_IMPORT_ROWS = 200_000
BIG_IMPORT_TAGS = '["fault-a", "fault-b"]'


# --- Processes -----------------------------------------------------------------------------------


@dataclass
class Server:
    """A ``citizenry serve`` process group on 127.0.0.1, so SIGKILL reaches its workers too."""

    process: subprocess.Popen[bytes]
    base_url: str
    log_path: Path

    def nation_url(self, nation: NationInfo) -> str:
        return f"{self.base_url}{nation.prefix}"

    def kill(self) -> None:
        """Send SIGKILL to the server and its workers, and wait for the server to exit."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.kill()


def _start_server(database_url: str, directory: Path) -> Server:
    port = free_port()
    log_path = directory / "server.log"
    env = {
        **os.environ,
        "CITIZENRY_DATABASE_URL": database_url,
        "CITIZENRY_DATA_DIR": str(directory),
        "CITIZENRY_SECRET_KEY": secrets.token_urlsafe(48),
        "CITIZENRY_INSECURE_HTTP": "1",
        "CITIZENRY_LOG_LEVEL": "INFO",
        # Every exchange in these tests comes from one client address.
        "CITIZENRY_OAUTH_RATE_LIMIT_PER_APP": "100000/minute",
        "CITIZENRY_OAUTH_RATE_LIMIT_PER_IP": "100000/minute",
        "CITIZENRY_API_RATE_LIMIT_PER_TOKEN": "100000/minute",
    }
    with log_path.open("a") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "citizenry", "serve", "--port", str(port)],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    server = Server(process, f"http://127.0.0.1:{port}", log_path)
    deadline = time.monotonic() + 30
    while True:
        try:
            requests.get(f"{server.base_url}/healthz", timeout=1)
            return server
        except requests.ConnectionError:
            if process.poll() is not None or time.monotonic() > deadline:
                server.stop()
                raise RuntimeError(f"the server did not start:\n{log_path.read_text()}") from None
            time.sleep(0.1)


@pytest.fixture
def start_server() -> Iterator[Callable[[str, Path], Server]]:
    """Start servers on request, and stop every one of them after the test."""
    started: list[Server] = []

    def start(database_url: str, directory: Path) -> Server:
        server = _start_server(database_url, directory)
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


@dataclass
class PrivateCluster:
    """A PostgreSQL cluster in a temporary folder, listening on 127.0.0.1 only, with trust auth."""

    bin_dir: Path
    directory: Path
    port: int
    #: The command prefix that runs PostgreSQL's programs, which refuse to run as root.
    run_as: list[str] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, program: str, *args: str) -> None:
        command = [*self.run_as, str(self.bin_dir / program), *args]
        result = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)
        if result.returncode != 0:
            raise RuntimeError(f"{program} failed with exit code {result.returncode}:\n{result.stderr}")

    def init(self) -> None:
        self._run("initdb", "-D", str(self.directory / "data"), "-U", "postgres", "--auth=trust", "--no-sync")

    def start(self) -> None:
        options = f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.directory}"
        log = str(self.directory / "postgresql.log")
        self._run("pg_ctl", "start", "-D", str(self.directory / "data"), "-l", log, "-w", "-o", options)

    def stop(self) -> None:
        self._run("pg_ctl", "stop", "-D", str(self.directory / "data"), "-m", "immediate", "-w")

    def is_running(self) -> bool:
        status = [*self.run_as, str(self.bin_dir / "pg_ctl"), "status", "-D", str(self.directory / "data")]
        return subprocess.run(status, capture_output=True, timeout=30, check=False).returncode == 0


def _skip_or_fail(reason: str) -> None:
    if IN_CI:
        pytest.fail(f"{reason} (under CI=true the fault tests must run)")
    pytest.skip(reason)


@pytest.fixture
def private_cluster() -> Iterator[PrivateCluster]:
    """Yield a running cluster of this test's own, and stop and delete it afterwards."""
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not candidates:
        _skip_or_fail("initdb is not installed under /usr/lib/postgresql/*/bin")
    run_as: list[str] = []
    directory = Path(tempfile.mkdtemp(prefix="citizenry-pg-"))
    if os.geteuid() == 0:
        # initdb and postgres refuse to run as root; the postgres account owns the cluster instead.
        if shutil.which("runuser") is None:
            shutil.rmtree(directory)
            _skip_or_fail("running as root, and runuser is missing to run initdb as postgres")
        shutil.chown(directory, "postgres", "postgres")
        run_as = ["runuser", "-u", "postgres", "--"]
    cluster = PrivateCluster(Path(candidates[-1]).parent, directory, free_port(), run_as)
    try:
        cluster.init()
        cluster.start()
        yield cluster
    finally:
        if cluster.is_running():
            cluster.stop()
        shutil.rmtree(directory, ignore_errors=True)


def _citizenry(database_url: str, directory: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run one CLI command against ``database_url``."""
    env = {**os.environ, "CITIZENRY_DATABASE_URL": database_url, "CITIZENRY_DATA_DIR": str(directory)}
    return subprocess.run(
        [sys.executable, "-m", "citizenry", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


# --- The database stops under a running server ---------------------------------------------------


@dataclass(frozen=True)
class Timed:
    response: requests.Response
    seconds: float


def _timed(send: Callable[[], requests.Response]) -> Timed:
    started = time.monotonic()
    response = send()
    return Timed(response, time.monotonic() - started)


def test_database_outage_fails_fast(
    private_cluster: PrivateCluster, start_server: Callable[[str, Path], Server], tmp_path: Path
) -> None:
    """Check for a quick 503 while the database is down, and a 200 once it returns, without a restart."""
    upgrade = _citizenry(private_cluster.url, tmp_path, "db", "upgrade")
    assert upgrade.returncode == 0, upgrade.stderr
    database = Database(private_cluster.url, pool=None)
    factory = Factory(database)
    nation = factory.nation()
    user = factory.user(nation)
    app = factory.app(nation)
    api_token = factory.test_token(nation, user)
    database.dispose()
    server = start_server(private_cluster.url, tmp_path)
    headers = {"Authorization": f"Bearer {api_token}", "Accept": "application/json"}
    token_form = {
        "grant_type": "refresh_token",
        "refresh_token": "0" * 64,
        "client_id": app.client_id,
        "client_secret": app.client_secret,
    }

    def people() -> requests.Response:
        return requests.get(f"{server.nation_url(nation)}/api/v1/people", headers=headers, timeout=60)

    def token() -> requests.Response:
        return requests.post(f"{server.nation_url(nation)}/oauth/token", data=token_form, timeout=60)

    def probe(path: str) -> requests.Response:
        return requests.get(f"{server.base_url}{path}", timeout=60)

    assert people().status_code == 200
    assert probe("/readyz").status_code == 200

    private_cluster.stop()
    outage = [_timed(people) for _ in range(3)]
    token_outage = _timed(token)
    ready = _timed(lambda: probe("/readyz"))
    alive = _timed(lambda: probe("/healthz"))

    print("outage seconds, API:", [round(timed.seconds, 3) for timed in outage])
    print(
        "outage seconds, token, readyz, healthz:",
        *(round(t.seconds, 3) for t in (token_outage, ready, alive)),
    )
    for timed in outage:
        assert timed.response.status_code == 503
        assert timed.response.headers["retry-after"] == "5"
        assert timed.response.json()["code"] == "service_unavailable"
        assert timed.seconds < FAIL_FAST_SECONDS
    assert token_outage.response.status_code == 503
    assert token_outage.response.headers["retry-after"] == "5"
    assert token_outage.response.headers["cache-control"] == "no-store"
    assert token_outage.response.json()["error"] == "temporarily_unavailable"
    assert token_outage.seconds < FAIL_FAST_SECONDS
    assert ready.response.status_code == 503
    assert ready.seconds < FAIL_FAST_SECONDS
    assert alive.response.status_code == 200

    private_cluster.start()
    deadline = time.monotonic() + RECOVERY_SECONDS
    recovered = people()
    while recovered.status_code != 200 and time.monotonic() < deadline:
        time.sleep(0.5)
        recovered = people()

    assert recovered.status_code == 200, recovered.text
    assert server.process.poll() is None
    assert probe("/readyz").status_code == 200
    after = token()
    assert after.status_code == 400
    assert after.json()["error"] == "invalid_grant"
    assert "Traceback" not in server.log_path.read_text()


# --- SIGKILL in the middle of a people import ------------------------------------------------------


@pytest.fixture(scope="module")
def big_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("import") / "big.csv"
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(["first_name", "last_name", "email", "tags"])
        for i in range(BIG_IMPORT_ROWS):
            writer.writerow([f"First{i}", f"Last{i}", f"person{i}@example.org", BIG_IMPORT_TAGS])
    return path


def _import_holds_write_lock(database_url: str) -> bool:
    """Return whether another connection has started writing people rows in its transaction."""
    url = sa.engine.make_url(database_url)
    if url.get_backend_name() == "sqlite":
        assert url.database is not None
        return _sqlite_write_locked(url.database)
    return _postgresql_people_written(database_url)


def _sqlite_write_locked(path: str) -> bool:
    # The import's first INSERT takes SQLite's one write lock and keeps it until it commits.
    connection = sqlite3.connect(path, timeout=0, isolation_level=None)
    try:
        connection.execute("BEGIN IMMEDIATE")
    except sqlite3.OperationalError:
        return True
    finally:
        if connection.in_transaction:
            connection.execute("ROLLBACK")
        connection.close()
    return False


def _postgresql_people_written(database_url: str) -> bool:
    engine = sa.create_engine(database_url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as connection:
            writers = connection.scalar(
                sa.text(
                    "SELECT count(*) FROM pg_locks JOIN pg_class ON pg_class.oid = pg_locks.relation "
                    "WHERE pg_class.relname = 'people' AND pg_locks.mode = 'RowExclusiveLock' "
                    "AND pg_locks.pid <> pg_backend_pid() "
                    "AND pg_locks.database = (SELECT oid FROM pg_database WHERE datname = current_database())"
                )
            )
    finally:
        engine.dispose()
    return bool(writers)


def _import_counts(database: Database, nation: NationInfo) -> tuple[int, int, int]:
    """Return the nation's numbers of people, taggings and tags."""

    def count(session: Session) -> tuple[int, int, int]:
        people = session.scalar(select(func.count(Person.id)).where(Person.nation_id == nation.id))
        taggings = session.scalar(
            select(func.count(Tagging.id))
            .join(Person, Person.id == Tagging.person_id)
            .where(Person.nation_id == nation.id)
        )
        tags = session.scalar(select(func.count(Tag.id)).where(Tag.nation_id == nation.id))
        return people or 0, taggings or 0, tags or 0

    return database.transaction(count)


def test_killed_import_leaves_nothing(
    database_url: str, database: Database, big_csv: Path, tmp_path: Path
) -> None:
    """Leave no people, taggings or tags behind when ``db import`` dies by SIGKILL mid-write.

    The import writes every row in one transaction, so a process killed before its commit leaves
    the nation as it was, and the next import into it succeeds.
    """
    nation = Factory(database).nation()
    env = {**os.environ, "CITIZENRY_DATABASE_URL": database_url, "CITIZENRY_DATA_DIR": str(tmp_path)}
    with (tmp_path / "import.log").open("w") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "citizenry", "db", "import", str(big_csv), "--nation", nation.slug],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 60
        while not _import_holds_write_lock(database_url):
            assert process.poll() is None, (tmp_path / "import.log").read_text()
            assert time.monotonic() < deadline, "the import did not start writing within 60 s"
            time.sleep(0.05)
        # Let a few batches of 5000 rows go in before the kill.
        time.sleep(1.0)
        assert process.poll() is None, "the import finished before the kill; use a bigger file"
        process.kill()
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=10)

    assert process.returncode == -signal.SIGKILL
    assert _import_counts(database, nation) == (0, 0, 0)

    small_csv = tmp_path / "small.csv"
    small_csv.write_text(
        "first_name,email,tags\n"
        + "".join(f'Again{i},again{i}@example.org,"[""fault-a""]"\n' for i in range(100)),
        encoding="utf-8",
    )
    again = _citizenry(database_url, tmp_path, "db", "import", str(small_csv), "--nation", nation.slug)
    assert again.returncode == 0, again.stderr
    assert _import_counts(database, nation) == (100, 100, 1)


# --- SIGKILL in the middle of token exchanges ------------------------------------------------------

#: Codes the exchange kill test creates, and the exchanges after which it kills the server.
CODES = 300
SUCCESSES_BEFORE_KILL = 30
CLIENTS = 16


def _create_codes(database: Database, nation: NationInfo, user: UserInfo, app: AppInfo) -> list[str]:
    """Create ``CODES`` unused codes, each under an authorization of its own, as the consent page would."""
    codes = [new_code() for _ in range(CODES)]

    def create(session: Session) -> None:
        expires_at = utcnow() + timedelta(minutes=10)
        for code in codes:
            authorization = Authorization(nation_id=nation.id, app_id=app.id, user_id=user.id, scope="")
            session.add(authorization)
            session.flush()
            session.add(
                AuthorizationCode(
                    authorization_id=authorization.id,
                    nation_id=nation.id,
                    app_id=app.id,
                    code_digest=digest(code),
                    redirect_uri=CALLBACK,
                    scope="",
                    expires_at=expires_at,
                )
            )

    database.transaction(create)
    return codes


@dataclass(frozen=True)
class CodeState:
    used: bool
    authorization_revoked: bool
    access_digests: list[bytes]
    #: (token digest, the id of the access token it was issued with) of each refresh token.
    refresh_tokens: list[tuple[bytes, int]]
    access_ids: list[int]
    #: The access token ids named by the token.issued audit events of the code's authorization.
    audited_access_ids: list[int]


def _code_states(database: Database, nation: NationInfo, codes: list[str]) -> dict[str, CodeState]:
    def read(session: Session) -> dict[str, CodeState]:
        rows = {
            row.code_digest: row
            for row in session.scalars(
                select(AuthorizationCode).where(AuthorizationCode.nation_id == nation.id)
            )
        }
        audited: dict[int, list[int]] = {}
        for event in session.scalars(
            select(AuditEvent).where(AuditEvent.nation_id == nation.id, AuditEvent.kind == "token.issued")
        ):
            audited.setdefault(event.detail["authorization_id"], []).append(event.detail["access_token_id"])
        states = {}
        for code in codes:
            row = rows[digest(code)]
            authorization = session.get(Authorization, row.authorization_id)
            assert authorization is not None
            access = list(
                session.scalars(
                    select(AccessToken)
                    .where(AccessToken.authorization_id == row.authorization_id)
                    .order_by(AccessToken.id)
                )
            )
            refresh = list(
                session.scalars(
                    select(RefreshToken)
                    .where(RefreshToken.authorization_id == row.authorization_id)
                    .order_by(RefreshToken.id)
                )
            )
            states[code] = CodeState(
                used=row.used_at is not None,
                authorization_revoked=authorization.revoked_at is not None,
                access_digests=[token.token_digest for token in access],
                refresh_tokens=[(token.token_digest, token.access_token_id) for token in refresh],
                access_ids=[token.id for token in access],
                audited_access_ids=sorted(audited.get(row.authorization_id, [])),
            )
        return states

    return database.transaction(read)


def test_killed_exchanges_leave_whole_rows(
    database_url: str, database: Database, start_server: Callable[[str, Path], Server], tmp_path: Path
) -> None:
    """Leave each code either unredeemed or redeemed in full when the server dies by SIGKILL.

    The invariant, per authorization code, each under an authorization of its own:

    - unused (``used_at`` NULL): the authorization has no access token, no refresh token and no
      ``token.issued`` audit event;
    - used: the authorization has exactly one access token, one refresh token that points at that
      access token, and one ``token.issued`` event naming that access token;
    - no authorization is revoked, because no code was presented twice;
    - every exchange that returned 200 before the kill is used, with the tokens it returned.

    The invariant is true because the claim of the code, the token rows and the audit event share
    one transaction, so an exchange killed before its commit leaves none of them.
    """
    factory = Factory(database)
    nation = factory.nation()
    user = factory.user(nation)
    app = factory.app(nation)
    codes = _create_codes(database, nation, user, app)
    server = start_server(database_url, tmp_path)
    url = f"{server.nation_url(nation)}/oauth/token"
    answers: dict[str, dict[str, Any]] = {}
    lock = threading.Lock()
    enough = threading.Event()

    def exchange(code: str) -> None:
        if enough.is_set():
            return
        try:
            response = requests.post(url, data=exchange_params(app, code), timeout=30)
        except requests.ConnectionError:
            return
        # The status check after the kill reports any response other than 200 sent before it.
        with lock:
            is_json = response.headers.get("content-type", "").startswith("application/json")
            answers[code] = {"status": response.status_code, "body": response.json() if is_json else {}}
            if sum(answer["status"] == 200 for answer in answers.values()) >= SUCCESSES_BEFORE_KILL:
                enough.set()

    def kill_when_enough() -> None:
        enough.wait(timeout=60)
        server.kill()

    with ThreadPoolExecutor(max_workers=CLIENTS) as pool:
        killer = threading.Thread(target=kill_when_enough)
        killer.start()
        list(pool.map(exchange, codes))
        enough.set()
        killer.join(timeout=30)
    assert server.process.poll() is not None

    statuses = sorted({answer["status"] for answer in answers.values()})
    assert statuses == [200], answers
    states = _code_states(database, nation, codes)
    unused = [code for code, state in states.items() if not state.used]
    used = [code for code, state in states.items() if state.used]
    print(f"{len(answers)} exchanges answered 200 before the kill; {len(used)} codes used in all")
    assert len(used) >= SUCCESSES_BEFORE_KILL
    assert unused, "every code was redeemed before the kill; raise CODES"
    for code in unused:
        state = states[code]
        assert state.access_digests == []
        assert state.refresh_tokens == []
        assert state.audited_access_ids == []
    for code in used:
        state = states[code]
        assert len(state.access_ids) == 1
        assert state.refresh_tokens == [(state.refresh_tokens[0][0], state.access_ids[0])]
        assert state.audited_access_ids == state.access_ids
    assert [code for code, state in states.items() if state.authorization_revoked] == []
    for code, answer in answers.items():
        state = states[code]
        assert state.access_digests == [digest(answer["body"]["access_token"])]
        assert state.refresh_tokens[0][0] == digest(answer["body"]["refresh_token"])
