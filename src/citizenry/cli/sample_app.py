"""The sample app beside the demo server: its registration on the demo nation, and its process.

The app lives in examples/sample_app of the repository, outside the installed package, so it runs
only from a checkout. Its client secret is not stored anywhere: each ``demo run`` gives the app a
new one and passes it to the app's process in the environment.
"""

from __future__ import annotations

import logging
import os
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import click
from sqlalchemy import select
from sqlalchemy.orm import Session

from citizenry.cli.demo import DEMO_SLUG
from citizenry.oauth.apps import (
    AppOptions,
    InvalidApp,
    OAuthClient,
    regenerate_secret,
    register_app,
    update_app,
)
from citizenry.store.models import App
from citizenry.tenancy.nations import find_nation

logger = logging.getLogger(__name__)

SAMPLE_APP_NAME = "Citizenry Sample App"
#: The repository folder that contains examples/sample_app, when Citizenry runs from a checkout.
REPOSITORY = Path(__file__).resolve().parents[3]
SAMPLE_APP_FOLDER = REPOSITORY / "examples" / "sample_app"
LOOPBACK = "127.0.0.1"
#: Seconds the app's process has to stop after SIGTERM before it is killed.
STOP_TIMEOUT = 10


@dataclass(frozen=True, repr=False)
class SampleAppCredentials:
    client_id: str
    client_secret: str
    callback_url: str
    #: True when this run registered the app, False when it reused the app with a new secret.
    created: bool


def sample_callback_url(port: int) -> str:
    return f"http://{LOOPBACK}:{port}/callback"


def register_sample_app(session: Session, *, callback_url: str) -> SampleAppCredentials:
    """Register the sample app on the demo nation, or give the one registered before a new secret.

    A loopback callback URL matches a registered one whatever its port (RFC 8252 section 7.3), so
    the URL is added only when no registered one matches it.
    """
    nation = find_nation(session, DEMO_SLUG)
    if nation is None:
        raise LookupError("the demo nation does not exist. Run 'citizenry demo seed' first")
    existing = session.scalar(
        select(App)
        .where(App.nation_id == nation.id, App.name == SAMPLE_APP_NAME, App.client_secret_digest.is_not(None))
        .order_by(App.id)
        .limit(1)
    )
    if existing is None:
        app, secret = register_app(session, nation=nation, name=SAMPLE_APP_NAME, redirect_uris=[callback_url])
        assert secret is not None
        return SampleAppCredentials(app.client_id, secret, callback_url, created=True)

    if not OAuthClient.from_app(existing).check_redirect_uri(callback_url):
        options = AppOptions(
            legacy_tokens=existing.legacy_tokens,
            allow_plain_pkce=existing.allow_plain_pkce,
            strict_profile=existing.strict_profile,
        )
        uris = [*(redirect.uri for redirect in existing.redirect_uris), callback_url]
        update_app(session, existing, name=existing.name, redirect_uris=uris, options=options)
    secret = regenerate_secret(session, existing)
    return SampleAppCredentials(existing.client_id, secret, callback_url, created=False)


def is_port_free(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind((LOOPBACK, port))
        except OSError:
            return False
        return True


@contextmanager
def sample_app_process(
    credentials: SampleAppCredentials, *, port: int, nation_url: str
) -> Iterator[subprocess.Popen[bytes]]:
    """Run the sample app with uvicorn on 127.0.0.1:``port`` until the block ends.

    ``nation_url`` is the address of a nation with ``{slug}`` in place of its slug. The process
    shares the terminal, so Ctrl-C stops it together with the server. The end of the block stops
    it too, with SIGTERM.
    """
    env = {
        **os.environ,
        "SAMPLE_APP_CLIENT_ID": credentials.client_id,
        "SAMPLE_APP_CLIENT_SECRET": credentials.client_secret,
        "SAMPLE_APP_CALLBACK_URL": credentials.callback_url,
        "SAMPLE_APP_NATION_URL": nation_url,
    }
    command = [
        sys.executable,
        "-m",
        "uvicorn",
        "examples.sample_app:create_app_from_env",
        "--factory",
        "--app-dir",
        str(REPOSITORY),
        "--host",
        LOOPBACK,
        "--port",
        str(port),
        # The access log would print the callback's query string, which carries the code.
        "--no-access-log",
        "--log-level",
        "warning",
    ]
    process = subprocess.Popen(command, env=env)  # noqa: S603 (a fixed command)
    logger.info("sample app started on port %s (pid %s)", port, process.pid)
    try:
        yield process
    finally:
        _stop(process)


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            logger.warning("the sample app did not stop within %s s; killing it", STOP_TIMEOUT)
            process.kill()
            process.wait()
    logger.info("sample app stopped (exit status %s)", process.returncode)


@dataclass(frozen=True)
class SampleAppStart:
    """The sample app's URL, or the reason it does not run."""

    url: str | None
    problem: str | None = None


def start_sample_app(
    stack: ExitStack,
    *,
    server_host: str,
    server_port: int,
    port: int,
    in_transaction: Callable[[Callable[[Session], SampleAppCredentials]], SampleAppCredentials],
) -> SampleAppStart:
    """Register the sample app and start it until ``stack`` closes, unless ``port`` is 0.

    The server keeps running when the app cannot start, so every failure is returned, not raised.
    """
    if port == 0:
        return SampleAppStart(url=None, problem="off (--sample-port 0)")
    if not (SAMPLE_APP_FOLDER / "__init__.py").is_file():
        return SampleAppStart(url=None, problem=f"not started: {SAMPLE_APP_FOLDER} is missing")
    if port > 65535:
        problem = f"not started: {port} is above the highest TCP port, 65535. Choose one with --sample-port"
        return SampleAppStart(url=None, problem=problem)
    if port == server_port or not is_port_free(port):
        return SampleAppStart(
            url=None,
            problem=f"not started: port {port} is in use. Choose another with "
            "SAMPLE_PORT=... (make run) or --sample-port",
        )

    callback_url = sample_callback_url(port)
    # The CLI's transactions turn InvalidApp into a ClickException, and other callers get InvalidApp.
    try:
        credentials = in_transaction(lambda session: register_sample_app(session, callback_url=callback_url))
    except (InvalidApp, LookupError, click.ClickException) as error:
        logger.warning("the sample app could not be registered: %s", error)
        return SampleAppStart(url=None, problem=f"not started: registering it failed: {error}")

    # The app calls the server from this machine, so a server on every address is called on loopback.
    host = LOOPBACK if server_host in {"", "0.0.0.0", "::"} else server_host  # noqa: S104 (compared, not bound)
    if ":" in host:
        host = f"[{host}]"
    nation_url = f"http://{host}:{server_port}/n/{{slug}}"
    stack.enter_context(sample_app_process(credentials, port=port, nation_url=nation_url))
    return SampleAppStart(url=f"http://{LOOPBACK}:{port}")
