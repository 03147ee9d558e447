"""The ``citizenry`` command line."""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable
from contextlib import ExitStack
from typing import Any, TypeVar

import click
from rich.console import Console
from rich.progress import Progress
from sqlalchemy.exc import OperationalError

from citizenry import __version__
from citizenry.api.errors import ValidationFailed
from citizenry.api.people_csv import ImportReport, export_people, import_people
from citizenry.cli.demo import (
    DEMO_ADMIN_EMAIL,
    DEMO_PASSWORD,
    DEMO_SLUG,
    DEMO_STAFFER_EMAIL,
    seed_demo,
)
from citizenry.cli.sample_app import start_sample_app
from citizenry.client.commands import COMMANDS as DEVELOPER_COMMANDS
from citizenry.logs import configure_logging, logging_config
from citizenry.oauth.apps import AppOptions, InvalidApp, register_app
from citizenry.oauth.cleanup import delete_expired
from citizenry.oauth.test_tokens import create_test_token
from citizenry.ops.metrics import MULTIPROC_DIR_VARIABLE, multiprocess_dir
from citizenry.panel.members import nations_of_user
from citizenry.panel.pages import describe_duration
from citizenry.panel.reset_links import (
    RESET_LINK_MAX_AGE,
    create_reset_token,
    record_link_created,
    reset_link,
)
from citizenry.settings import Settings, SettingsError, safe_url
from citizenry.store import migrate
from citizenry.store.db import Database
from citizenry.store.models import PERMISSION_LEVELS, PLANS
from citizenry.tenancy.nations import InvalidNation, create_nation, find_nation
from citizenry.tenancy.permissions import Permissions, permissions_for, set_permissions
from citizenry.tenancy.users import (
    InvalidUser,
    add_membership,
    create_user,
    find_membership,
    find_user_by_email,
)

logger = logging.getLogger(__name__)

#: The ASGI application factory both servers load in each worker process.
APP_FACTORY = "citizenry.app:create_app_from_env"
console = Console(highlight=False)
T = TypeVar("T")


def _settings() -> Settings:
    """Read the settings, and set up logging at their level, the first time a command needs them."""
    try:
        settings = Settings.from_env()
    except SettingsError as error:
        raise click.ClickException(str(error)) from None
    configure_logging(settings.log_level, settings.log_format)
    return settings


def _open_migrated_database(settings: Settings) -> Database:
    """Open the database, or stop with a message when it is unreachable or not migrated."""
    database = Database.from_settings(settings)
    try:
        current = migrate.is_current(database.engine, settings.database_url)
    except OperationalError as error:
        database.dispose()
        raise click.ClickException(
            f"Cannot connect to the database at {safe_url(settings.database_url)}: {error.orig}"
        ) from None
    if not current:
        database.dispose()
        raise click.ClickException(
            f"The database at {safe_url(settings.database_url)} is not migrated. Run 'citizenry db "
            "upgrade' first, with the same CITIZENRY_DATABASE_URL (or, for SQLite, the same "
            "CITIZENRY_DATA_DIR or working folder)."
        )
    return database


def _upgrade(settings: Settings) -> None:
    try:
        migrate.upgrade(settings.database_url)
    except OperationalError as error:
        raise click.ClickException(
            f"Cannot migrate the database at {safe_url(settings.database_url)}: {error.orig}"
        ) from None


def _in_transaction(fn: Callable[..., T], *args: Any) -> T:
    """Run ``fn(session, *args)`` in one transaction; input errors become a clear CLI error."""
    database = _open_migrated_database(_settings())
    try:
        return database.transaction(fn, *args)
    except (InvalidNation, InvalidUser, InvalidApp) as error:
        raise click.ClickException(str(error)) from None
    finally:
        database.dispose()


@click.group()
@click.version_option(__version__, prog_name="citizenry")
def main() -> None:
    """Citizenry: a self-hosted, NationBuilder-compatible people platform.

    Settings come from CITIZENRY_* environment variables; see the README.
    """


# The app developer's commands (login, whoami, people, logout), built on the SDK alone.
for developer_command in DEVELOPER_COMMANDS:
    main.add_command(developer_command)


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535), help="TCP port.")
@click.option(
    "--workers",
    default=1,
    show_default=True,
    type=click.IntRange(1, 64),
    help="Server processes. Each keeps its own database connections.",
)
@click.option(
    "--server",
    "server_name",
    type=click.Choice(["granian", "uvicorn"]),
    default="granian",
    show_default=True,
    help="granian for production; uvicorn for development.",
)
@click.option("--reload", is_flag=True, help="Restart when the source changes (development; uses uvicorn).")
def serve(host: str, port: int, workers: int, server_name: str, reload: bool) -> None:
    """Serve the control panel, the OAuth server and the API."""
    settings = _settings()
    _open_migrated_database(settings).dispose()
    if reload and workers > 1:
        raise click.UsageError("--reload restarts one process; leave out --workers.")
    logger.info("serving on %s:%s with %s, %s worker(s)", host, port, server_name, workers)
    # Each worker applies the same logging configuration, so the servers' own lines share the format.
    log_config = logging_config(settings.log_level, settings.log_format)
    with ExitStack() as stack:
        # Set before the workers start, so that each one counts in a file that /metrics sums. A
        # folder named in the environment is prepared even with metrics off, because the token
        # counters still write their files there.
        if settings.metrics_enabled or os.environ.get(MULTIPROC_DIR_VARIABLE):
            try:
                stack.enter_context(multiprocess_dir())
            except OSError as error:
                raise click.ClickException(f"Cannot prepare the folder for metrics: {error}") from None
        _run_server(settings, log_config, host, port, workers, server_name, reload)


def _run_server(
    settings: Settings,
    log_config: dict[str, Any],
    host: str,
    port: int,
    workers: int,
    server_name: str,
    reload: bool,
) -> None:
    if server_name == "uvicorn" or reload:
        import uvicorn

        uvicorn.run(
            APP_FACTORY,
            factory=True,
            host=host,
            port=port,
            workers=workers,
            reload=reload,
            log_level=settings.log_level.lower(),
            log_config=log_config,
            # uvicorn's access log prints query strings, which can carry tokens; the app logs
            # each request itself without them. Forwarded headers are the app's business.
            access_log=False,
            proxy_headers=False,
        )
        return
    from granian.constants import Interfaces
    from granian.log import LogLevels
    from granian.server import Server

    Server(
        APP_FACTORY,
        address=host,
        port=port,
        interface=Interfaces.ASGI,
        workers=workers,
        factory=True,
        log_level=LogLevels(settings.log_level.lower()),
        log_dictconfig=log_config,
        log_access=False,
        respawn_failed_workers=True,
        # A worker that does not stop within 30 s of a shutdown is killed, so the server always exits.
        workers_kill_timeout=30,
    ).serve()


@main.group()
def db() -> None:
    """Work on the database directly: migrations, and people import and export as CSV."""


@db.command("upgrade")
def db_upgrade() -> None:
    """Apply every migration the database lacks."""
    _upgrade(_settings())
    console.print("The database is up to date: every migration is applied.")


@main.group()
def nation() -> None:
    """Manage nations."""


@nation.command("create")
@click.argument("slug")
@click.option("--name", required=True, help="The nation's display name.")
@click.option("--plan", type=click.Choice(PLANS), default="starter", show_default=True, help="Billing plan.")
def nation_create(slug: str, name: str, plan: str) -> None:
    """Create a nation with the slug SLUG."""
    created = _in_transaction(lambda session: create_nation(session, slug=slug, name=name, plan=plan).slug)
    console.print(f"Created nation {created}.")


@nation.command("set")
@click.argument("slug")
@click.option("--name", default=None, help="A new display name.")
@click.option("--plan", type=click.Choice(PLANS), default=None, help="A new billing plan.")
@click.option(
    "--strict/--compatible",
    default=None,
    help="Use the strict OAuth profile for every app on the nation, or the compatible one.",
)
def nation_set(slug: str, name: str | None, plan: str | None, strict: bool | None) -> None:
    """Change a nation's name, plan or OAuth profile."""

    def change(session: Any) -> None:
        target = _require_nation(session, slug)
        if name is not None:
            if not name.strip():
                raise InvalidNation("a nation needs a name")
            target.name = name.strip()
        if plan is not None:
            target.plan = plan
        if strict is not None:
            target.strict_profile = strict

    _in_transaction(change)
    console.print(f"Updated nation {slug}.")


@nation.command("permissions")
@click.argument("slug")
@click.option(
    "--level", type=click.Choice(PERMISSION_LEVELS), required=True, help="The permission level to change."
)
@click.option("--api/--no-api", default=None, help="May members at this level use the API?")
@click.option(
    "--sign-into-apps/--no-sign-into-apps", default=None, help="May members at this level authorize apps?"
)
def nation_permissions(slug: str, level: str, api: bool | None, sign_into_apps: bool | None) -> None:
    """Show or change the switches of one permission level of a nation."""

    def change(session: Any) -> Permissions:
        target = _require_nation(session, slug)
        if api is None and sign_into_apps is None:
            return permissions_for(session, target.id, level)
        return set_permissions(session, target, level, api=api, sign_into_apps=sign_into_apps)

    result = _in_transaction(change)
    console.print(
        f"{slug} {level}: api={'on' if result.api else 'off'} "
        f"sign_into_apps={'on' if result.sign_into_apps else 'off'}"
    )


@main.group()
def user() -> None:
    """Manage users and their memberships."""


@user.command("create")
@click.argument("email")
@click.option("--nation", "slug", required=True, help="Slug of the nation the user joins.")
@click.option(
    "--level",
    type=click.Choice(PERMISSION_LEVELS),
    default="admin",
    show_default=True,
    help="Permission level in the nation.",
)
@click.option("--certified", is_flag=True, help="Mark the user as a certified developer.")
@click.option("--full-name", default="", help="The user's name.")
@click.option(
    "--password-stdin",
    is_flag=True,
    help="Read the password from standard input instead of a prompt.",
)
def user_create(
    email: str, slug: str, level: str, certified: bool, full_name: str, password_stdin: bool
) -> None:
    """Create a user with the address EMAIL and make them a member of a nation."""
    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)

    def create(session: Any) -> int:
        target = _require_nation(session, slug)
        new_user = create_user(
            session,
            email=email,
            password=password,
            full_name=full_name,
            is_certified_developer=certified,
        )
        add_membership(session, user=new_user, nation=target, level=level)
        return new_user.id

    user_id = _in_transaction(create)
    console.print(f"Created user {email.lower()} (id {user_id}) as {level} of {slug}.")


@user.command("reset-link")
@click.argument("email")
@click.option(
    "--nation",
    "slug",
    default=None,
    help="Slug of the nation whose control panel the link opens. Needed when the user belongs to several.",
)
@click.option(
    "--base-url",
    default=None,
    help="The nation's address, such as http://127.0.0.1:8000/n/demo. "
    "Default: https://SLUG.CITIZENRY_BASE_DOMAIN (http with CITIZENRY_INSECURE_HTTP).",
)
def user_reset_link(email: str, slug: str | None, base_url: str | None) -> None:
    """Print a one-time link where the user with the address EMAIL chooses a new password.

    Citizenry sends no e-mail: pass the link on privately. It works once, for an hour, and stops
    working as soon as the password changes.
    """
    settings = _settings()

    def create(session: Any) -> tuple[str, str]:
        target = find_user_by_email(session, email)
        if target is None:
            raise InvalidUser(f"no user has the e-mail address {email!r}")
        chosen = _reset_nation(session, target, slug)
        token = create_reset_token(settings.secret_key, user=target, nation=chosen)
        record_link_created(session, user=target, nation=chosen, actor_user_id=None, via="cli")
        return chosen.slug, token

    chosen_slug, token = _in_transaction(create)
    scheme = "http" if settings.insecure_http else "https"
    click.echo(reset_link(base_url or f"{scheme}://{chosen_slug}.{settings.base_domain}", token))
    lifetime = describe_duration(RESET_LINK_MAX_AGE)
    click.echo(f"The link works once, for {lifetime}. Send it to {email.lower()} privately.", err=True)


def _reset_nation(session: Any, target: Any, slug: str | None) -> Any:
    """Return the nation a reset link opens: ``slug``, or the user's only nation."""
    nations = {row.nation.slug: row.nation for row in nations_of_user(session, target.id)}
    if slug is not None:
        if slug.lower() not in nations:
            _require_nation(session, slug)
            raise InvalidUser(f"{target.email!r} is not a member of the nation {slug!r}")
        return nations[slug.lower()]
    if not nations:
        raise InvalidUser(f"{target.email!r} is not a member of any nation, so a link would open no panel")
    if len(nations) > 1:
        choices = ", ".join(sorted(nations))
        raise InvalidUser(
            f"{target.email!r} belongs to several nations ({choices}); choose one with --nation"
        )
    return next(iter(nations.values()))


def _require_nation(session: Any, slug: str) -> Any:
    found = find_nation(session, slug)
    if found is None:
        raise InvalidNation(f"no nation has the slug {slug!r}; create it with 'citizenry nation create'")
    return found


@main.group("app")
def app_group() -> None:
    """Manage apps (OAuth clients)."""


@app_group.command("create")
@click.option("--nation", "slug", required=True, help="Slug of the nation that owns the app.")
@click.option("--name", required=True, help="The app's name, shown on the consent page.")
@click.option(
    "--redirect-uri",
    "redirect_uris",
    multiple=True,
    required=True,
    help="An OAuth callback URL; repeat for several.",
)
@click.option("--public", is_flag=True, help="A public app: no client secret, and PKCE is required.")
@click.option(
    "--legacy-tokens", is_flag=True, help="Issue access tokens that never expire, without refresh tokens."
)
@click.option("--allow-plain-pkce", is_flag=True, help='Accept the PKCE method "plain" besides S256.')
@click.option("--strict", is_flag=True, help="Use the strict OAuth profile for this app.")
def app_create(
    slug: str,
    name: str,
    redirect_uris: tuple[str, ...],
    public: bool,
    legacy_tokens: bool,
    allow_plain_pkce: bool,
    strict: bool,
) -> None:
    """Register an app and print its Client ID (Uid) and Client Secret, shown only this once."""
    options = AppOptions(
        legacy_tokens=legacy_tokens, allow_plain_pkce=allow_plain_pkce, strict_profile=strict
    )

    def create(session: Any) -> tuple[str, str | None]:
        registered, secret = register_app(
            session,
            nation=_require_nation(session, slug),
            name=name,
            redirect_uris=list(redirect_uris),
            public=public,
            options=options,
        )
        return registered.client_id, secret

    client_id, secret = _in_transaction(create)
    click.echo(f"client_id={client_id}")
    if secret is not None:
        click.echo(f"client_secret={secret}")


@main.group()
def token() -> None:
    """Manage API tokens (test tokens) that act as a member on their own nation."""


@token.command("create")
@click.option("--nation", "slug", required=True, help="Slug of the nation the token is for.")
@click.option("--user", "email", required=True, help="E-mail address of the member the token acts as.")
def token_create(slug: str, email: str) -> None:
    """Create an API token acting as a member of a nation, and print it: it is shown only this once."""
    ttl = _settings().test_token_ttl

    def create(session: Any) -> str:
        target = _require_nation(session, slug)
        member = find_user_by_email(session, email)
        if member is None:
            raise InvalidUser(f"no user has the e-mail address {email!r}")
        if find_membership(session, user_id=member.id, nation_id=target.id) is None:
            raise InvalidUser(
                f"{email!r} is not a member of the nation {slug!r}; add them with 'citizenry user create'"
            )
        _, value = create_test_token(session, nation=target, user=member, ttl=ttl)
        return value

    click.echo(_in_transaction(create))


@db.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--nation", "slug", required=True, help="Slug of the nation to import into.")
def db_import(path: str, slug: str) -> None:
    """Import people from the CSV file PATH straight into the database; bad rows are reported and skipped."""
    with open(path, newline="", encoding="utf-8-sig") as lines, Progress(console=console) as progress:
        task = progress.add_task("Importing", total=None)

        def run(session: Any) -> ImportReport:
            return import_people(
                session,
                _require_nation(session, slug),
                lines,
                on_progress=lambda done: progress.update(task, completed=done),
            )

        try:
            report = _in_transaction(run)
        except ValidationFailed as error:
            raise click.ClickException("; ".join(error.extra["validation_errors"])) from None
        except UnicodeDecodeError:
            raise click.ClickException(f"{path} is not a UTF-8 text file.") from None
    for line, problems in report.errors:
        click.echo(f"line {line}: {'; '.join(problems)}", err=True)
    console.print(f"Imported {report.imported} people; rejected {report.rejected} rows.")
    if report.rejected:
        sys.exit(1)


@db.command("export")
@click.argument("path", type=click.Path(dir_okay=False, writable=True))
@click.option("--nation", "slug", required=True, help="Slug of the nation to export.")
def db_export(path: str, slug: str) -> None:
    """Write the nation's people to the CSV file PATH, straight from the database."""

    def run(session: Any) -> int:
        with open(path, "w", newline="", encoding="utf-8") as out:
            counts = list(export_people(session, _require_nation(session, slug), out))
        return counts[-1] if counts else 0

    console.print(f"Exported {_in_transaction(run)} people to {path}.")


@main.command()
def cleanup() -> None:
    """Delete expired codes and tokens, and revoked or expired authorizations with their tokens.

    Rotated refresh tokens of live authorizations are kept, so a replayed one is still detected.
    Run it from cron or a systemd timer, for example hourly.
    """
    settings = _settings()
    counts = _in_transaction(
        lambda session: delete_expired(session, refresh_token_max_age=settings.refresh_token_max_age)
    )
    console.print(
        f"Deleted: authorizations {counts.authorizations}, "
        f"authorization codes {counts.authorization_codes}, "
        f"access tokens {counts.access_tokens}, API tokens {counts.test_tokens}."
    )


@main.group()
def demo() -> None:
    """Seed and serve the demo nation."""


@demo.command("seed")
@click.option(
    "--people",
    default=300,
    show_default=True,
    type=click.IntRange(0, 100_000),
    help="How many fake people to create, besides the records of the two demo members.",
)
def demo_seed(people: int) -> None:
    """Migrate the database and create the demo nation, unless it exists."""
    _upgrade(_settings())
    result = _in_transaction(lambda session: seed_demo(session, people=people))
    console.print("Created the demo nation." if result.created else "The demo nation already exists.")


@demo.command("run")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535), help="TCP port.")
@click.option(
    "--sample-port",
    default=None,
    type=click.IntRange(0, 65535),
    help="TCP port of the sample app, which runs beside the server on 127.0.0.1. "
    "Default: --port plus 1; 0 leaves the app off.",
)
@click.pass_context
def demo_run(ctx: click.Context, host: str, port: int, sample_port: int | None) -> None:
    """Seed the demo nation, start the sample app, print where to go, and serve."""
    ctx.invoke(demo_seed)
    settings = _settings()
    base = f"http://{DEMO_SLUG}.{settings.base_domain}:{port}"
    with ExitStack() as stack:
        sample = start_sample_app(
            stack,
            server_host=host,
            server_port=port,
            port=port + 1 if sample_port is None else sample_port,
            in_transaction=_in_transaction,
        )
        console.print()
        console.print(f"[bold]Citizenry is starting on http://{host}:{port}[/bold]")
        console.print(f"  Control panel:  {base}/admin")
        console.print(f"                  (or http://{host}:{port}/n/{DEMO_SLUG}/admin)")
        console.print(f"  Nation slug:    {DEMO_SLUG}")
        console.print(f"  Admin sign-in:  {DEMO_ADMIN_EMAIL} / {DEMO_PASSWORD}")
        console.print(f"  Staffer:        {DEMO_STAFFER_EMAIL} / {DEMO_PASSWORD}")
        if sample.url is not None:
            console.print(f"  Sample app:     {sample.url}")
            console.print(f"                  (type {DEMO_SLUG}, sign in as the admin, press Authorize)")
        else:
            console.print(f"  Sample app:     {sample.problem}")
        console.print()
        ctx.invoke(serve, host=host, port=port, reload=False)
