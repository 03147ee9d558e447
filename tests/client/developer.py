"""A developer's machine for the CLI tests: the ``citizenry`` command run in a home folder of its own.

Each command runs as a subprocess, as a developer would run it: as ``python -m
citizenry.client.commands``, the same commands without the server's, which starts about a second
sooner than ``python -m citizenry``, or as the latter where a test requests it. Each runs with
``HOME`` and ``XDG_CONFIG_HOME`` in a temporary folder, so that the token and settings files land
there, and with keyring's fail backend, so that the 0600 file store is used and no real keyring is
touched. Every proxy variable names a closed port on 127.0.0.1, with ``NO_PROXY=127.0.0.1``: a
request to any other host, such as a NationBuilder URL built from ``--nation``, fails on this
machine instead of leaving it.

:func:`run_login` drives ``citizenry login --no-browser``: it reads the authorization URL the
command prints, signs in and decides on the consent page over HTTP, and then requests the
redirect's Location, which is the command's loopback callback, with a plain HTTP client.
"""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

from tests.e2e.test_quickstart import LiveServer
from tests.factory import AppInfo, NationInfo, UserInfo
from tests.flows import decide_signed_out
from tests.live import free_port

#: The module that runs the developer commands alone.
COMMANDS = "citizenry.client.commands"

#: The loopback callback the test apps register, without a port (RFC 8252 section 7.3).
LOOPBACK_CALLBACK = "http://127.0.0.1/callback"


def closed_port() -> int:
    """Return a port on 127.0.0.1 that nothing listens on (free a moment ago)."""
    return free_port()


@dataclass(frozen=True)
class Seeded:
    """A nation with an admin, the admin's own person record, other people, and an app."""

    nation: NationInfo
    admin: UserInfo
    app: AppInfo
    #: The admin's person record.
    me: int
    #: Every person's id, in id order, the admin's record included.
    people: list[int]


@dataclass(frozen=True)
class Result:
    returncode: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        return json.loads(self.stdout)

    def json_lines(self) -> list[Any]:
        return [json.loads(line) for line in self.stdout.splitlines() if line.strip()]


@dataclass
class LoginRun:
    """What ``citizenry login`` did: its exit status and output, and what the browser saw."""

    returncode: int
    stdout: str
    stderr: str
    authorize_url: str
    location: str
    page_status: int


@dataclass
class Developer:
    home: Path
    base_url: str
    #: The standard output and error of every command run, to check that no secret was printed.
    outputs: list[str] = field(default_factory=list)

    @property
    def env(self) -> dict[str, str]:
        proxy = f"http://127.0.0.1:{closed_port()}"
        inherited = {name: value for name, value in os.environ.items() if not name.startswith("CITIZENRY_")}
        return {
            **inherited,
            "HOME": str(self.home),
            "XDG_CONFIG_HOME": str(self.home / ".config"),
            "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring",
            "BROWSER": "true",
            "HTTP_PROXY": proxy,
            "HTTPS_PROXY": proxy,
            "ALL_PROXY": proxy,
            "NO_PROXY": "127.0.0.1",
            "COLUMNS": "200",
        }

    @property
    def config(self) -> Path:
        return self.home / ".config" / "citizenry"

    def run(self, *args: str, env: dict[str, str] | None = None, timeout: float = 60) -> Result:
        completed = subprocess.run(
            [sys.executable, "-m", COMMANDS, *args],
            env={**self.env, **(env or {})},
            capture_output=True,
            text=True,
            stdin=subprocess.DEVNULL,
            timeout=timeout,
        )
        self.outputs += [completed.stdout, completed.stderr]
        return Result(completed.returncode, completed.stdout, completed.stderr)

    def files(self, folder: str) -> list[Path]:
        path = self.config / folder
        return sorted(path.iterdir()) if path.exists() else []

    def token_file(self) -> Path:
        (path,) = self.files("tokens")
        return path

    def tokens(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(self.token_file().read_text())
        return data

    def logins(self) -> list[dict[str, Any]]:
        path = self.config / "logins.json"
        if not path.exists():
            return []
        entries: list[dict[str, Any]] = json.loads(path.read_text())["logins"]
        return entries


def consent(
    server: LiveServer, nation: NationInfo, admin: UserInfo, authorize_url: str, decision: str
) -> str:
    """Open ``authorize_url`` signed out, sign in as ``admin``, decide; return the redirect's Location."""
    return decide_signed_out(server.nation_url(nation), authorize_url, admin.email, decision)


def _read_lines(stream: Any, lines: queue.Queue[str], kept: list[str]) -> None:
    for line in stream:
        kept.append(line)
        lines.put(line)


def run_login(
    developer: Developer,
    server: LiveServer,
    seeded: Seeded,
    *,
    decision: str = "authorize",
    change_location: Callable[[str], str] | None = None,
    args: tuple[str, ...] = (),
    env: dict[str, str] | None = None,
    program: str = COMMANDS,
) -> LoginRun:
    """Run ``citizenry login --no-browser`` to the end, playing the browser's part.

    ``program`` is the module to run: ``citizenry`` for the full command.
    """
    credentials = {
        "CITIZENRY_CLIENT_ID": seeded.app.client_id,
        "CITIZENRY_CLIENT_SECRET": seeded.app.client_secret,
    }
    command = [
        sys.executable,
        "-m",
        program,
        "login",
        "--nation",
        seeded.nation.slug,
        "--base-url",
        developer.base_url,
        "--no-browser",
        "--timeout",
        "60",
        *args,
    ]
    lines: queue.Queue[str] = queue.Queue()
    stderr: list[str] = []
    with subprocess.Popen(
        command,
        env={**developer.env, **credentials, **(env or {})},
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as process:
        reader = threading.Thread(target=_read_lines, args=(process.stderr, lines, stderr), daemon=True)
        reader.start()
        try:
            authorize_url = ""
            while not authorize_url.startswith(f"{developer.base_url}/oauth/authorize?"):
                authorize_url = lines.get(timeout=30).strip()
            location = consent(server, seeded.nation, seeded.admin, authorize_url, decision)
            if change_location is not None:
                location = change_location(location)
            page = requests.get(location, timeout=30)
            assert process.stdout is not None
            stdout = process.stdout.read()
            process.wait(timeout=60)
        finally:
            if process.poll() is None:
                process.kill()
            reader.join(timeout=10)
    developer.outputs += [stdout, "".join(stderr)]
    return LoginRun(
        returncode=process.returncode,
        stdout=stdout,
        stderr="".join(stderr),
        authorize_url=authorize_url,
        location=location,
        page_status=page.status_code,
    )
