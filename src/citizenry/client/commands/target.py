"""The nation a command talks to, and the SDK client that talks to it.

Every command takes ``--nation SLUG`` and ``--base-url URL``. ``--base-url`` wins. ``--nation`` alone
picks the saved login to that nation, else NationBuilder's ``https://SLUG.nationbuilder.com``.
With neither, the command uses the one saved login, and stops with a usage error when there are
several.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import click

from citizenry.client import AppCredentials, Client, default_token_store
from citizenry.client.commands.exits import CommandError, ExitCode, login_hint
from citizenry.client.commands.output import Command
from citizenry.client.commands.saved import (
    CLIENT_ID_ENV_VAR,
    CLIENT_SECRET_ENV_VAR,
    ClientSecretStore,
    SavedLogin,
    load_logins,
)
from citizenry.client.engine import resolve_base_url
from citizenry.client.errors import TokenStoreError
from citizenry.client.stores import TOKEN_ENV_VAR

NATION_HELP = "Slug of the nation. Without --base-url it picks your saved login to that nation."
BASE_URL_HELP = "The nation's base URL, such as http://127.0.0.1:8000/n/demo."


def nation_options(command: Command) -> Command:
    """Add ``--nation`` and ``--base-url`` to a command."""
    command = click.option("--base-url", envvar="CITIZENRY_BASE_URL", show_envvar=True, help=BASE_URL_HELP)(
        command
    )
    return click.option("--nation", envvar="CITIZENRY_NATION", show_envvar=True, help=NATION_HELP)(command)


def checked_base_url(base_url: str | None, nation: str | None) -> str:
    """Return the normalised base URL for ``base_url`` or, without it, NationBuilder's for ``nation``."""
    try:
        if nation is not None:
            resolve_base_url(None, nation)  # checks the slug
        return resolve_base_url(base_url, None if base_url is not None else nation)
    except ValueError as error:
        raise click.UsageError(str(error)) from None


@dataclass(frozen=True)
class Target:
    """The nation a command talks to, and the saved login to it, if any."""

    base_url: str
    nation: str | None
    login: SavedLogin | None


def _load_logins() -> dict[str, SavedLogin]:
    try:
        return load_logins()
    except TokenStoreError as error:
        raise CommandError(str(error), exit_code=ExitCode.ERROR) from None


def _choices(logins: list[SavedLogin]) -> str:
    return ", ".join(f"{login.base_url} (nation {login.nation or '?'})" for login in logins)


def resolve_target(nation: str | None, base_url: str | None) -> Target:
    """Pick the nation from the options and the saved logins; see the module docstring."""
    logins = _load_logins()
    slug = nation.lower() if nation else None

    if base_url is not None:
        url = checked_base_url(base_url, slug)
        login = logins.get(url)
        return Target(base_url=url, nation=slug or (login.nation if login else None), login=login)

    if slug is not None:
        matches = [login for login in logins.values() if login.nation == slug]
        if len(matches) > 1:
            raise click.UsageError(
                f"you are logged in to the nation {slug} on several servers: {_choices(matches)}. "
                "Choose one with --base-url."
            )
        if matches:
            return Target(base_url=matches[0].base_url, nation=slug, login=matches[0])
        url = checked_base_url(None, slug)
        return Target(base_url=url, nation=slug, login=logins.get(url))

    if len(logins) > 1:
        raise click.UsageError(
            f"you are logged in to several nations: {_choices(list(logins.values()))}. "
            "Choose one with --nation or --base-url."
        )
    if logins:
        login = next(iter(logins.values()))
        return Target(base_url=login.base_url, nation=login.nation, login=login)
    if os.environ.get(TOKEN_ENV_VAR, "").strip():
        raise click.UsageError(f"{TOKEN_ENV_VAR} is set, so give the nation's --base-url (or --nation).")
    raise CommandError(
        f"You are not logged in to any nation. Run '{login_hint('URL', None)}' first.",
        exit_code=ExitCode.LOGIN_REQUIRED,
    )


def app_credentials(target: Target) -> AppCredentials | None:
    """Return the app to refresh and revoke tokens with: the environment's, else the saved login's."""
    login = target.login
    client_id = os.environ.get(CLIENT_ID_ENV_VAR, "").strip() or (login.client_id if login else None)
    if not client_id:
        return None

    secret = os.environ.get(CLIENT_SECRET_ENV_VAR) or None
    if secret is None and login is not None and not login.public and login.client_id == client_id:
        try:
            secret = ClientSecretStore(target.base_url).load()
        except TokenStoreError as error:
            raise CommandError(str(error), exit_code=ExitCode.ERROR) from None
    return AppCredentials(client_id, secret, redirect_uri=login.redirect_uri if login else None)


def open_client(target: Target) -> Client:
    """Open an SDK client for ``target``, with its stored tokens and its app's credentials."""
    return Client(
        target.base_url,
        app=app_credentials(target),
        token_store=default_token_store(target.base_url),
    )
