"""``citizenry login``: the authorization code flow with PKCE, from a terminal and a browser.

The command listens on a loopback port, prints the authorization URL (and opens it unless
``--no-browser``), waits for the browser's redirect to the callback, and lets the SDK check
``state`` and exchange the code. It then saves the login and the app's client secret (see
:mod:`citizenry.client.commands.saved`); the SDK saves the tokens.
"""

from __future__ import annotations

import logging
import os
import webbrowser
from dataclasses import replace

import click

from citizenry.client import (
    AppCredentials,
    AuthorizationDenied,
    CitizenryError,
    Client,
    FileTokenStore,
    InvalidCallback,
    KeyringTokenStore,
    TokenSet,
    TokenStore,
    default_token_store,
)
from citizenry.client.commands.exits import CommandError, ExitCode, command_error, reported
from citizenry.client.commands.loopback import CallbackListener, CallbackPage, InvalidRedirectUri
from citizenry.client.commands.saved import (
    CLIENT_ID_ENV_VAR,
    CLIENT_SECRET_ENV_VAR,
    ClientSecretStore,
    SavedLogin,
    save_login,
)
from citizenry.client.commands.target import checked_base_url, resolve_target
from citizenry.client.stores import TOKEN_ENV_VAR

logger = logging.getLogger(__name__)

DEFAULT_REDIRECT_URI = "http://127.0.0.1/callback"
CLOSE_TAB = "You can close this tab and return to the terminal."


def _choose_app(
    previous: SavedLogin | None, base_url: str, client_id: str | None, client_secret: str | None, public: bool
) -> AppCredentials:
    """Take the app's credentials from the options, else the earlier login to ``base_url``, else prompts."""
    if not client_id:
        client_id = previous.client_id if previous else str(click.prompt("Client ID (Uid)", err=True))
    same_app = previous if previous is not None and previous.client_id == client_id else None

    if public or (same_app is not None and same_app.public and not client_secret):
        return AppCredentials(client_id)
    if client_secret:
        return AppCredentials(client_id, client_secret)
    if same_app is not None:
        stored = ClientSecretStore(base_url).load()
        if stored:
            return AppCredentials(client_id, stored)
    secret = str(click.prompt("Client secret (input hidden)", hide_input=True, err=True))
    return AppCredentials(client_id, secret)


def _describe_store(store: TokenStore) -> str:
    if isinstance(store, FileTokenStore):
        return f"the file {store.path}"
    if isinstance(store, KeyringTokenStore):
        return f"the system keyring (service {store.service})"
    return type(store).__name__


def _open_browser(url: str) -> None:
    try:
        opened = webbrowser.open(url)
    except webbrowser.Error as error:
        logger.debug("no browser could be opened: %s", error)
        opened = False
    if not opened:
        click.echo("No browser could be opened: open the address above yourself.", err=True)


def _failure_page(error: CitizenryError, base_url: str, nation: str) -> CallbackPage:
    if isinstance(error, AuthorizationDenied) and error.error == "access_denied":
        return CallbackPage(400, f"Access was denied, so the citizenry command stored nothing. {CLOSE_TAB}\n")
    if isinstance(error, InvalidCallback):
        return CallbackPage(
            400,
            "This redirect does not belong to the login in progress, so the citizenry command "
            f"stopped without storing anything. {CLOSE_TAB}\n",
        )
    reason = command_error(error, base_url=base_url, nation=nation).message
    return CallbackPage(400, f"The login failed: {reason}\n{CLOSE_TAB}\n")


def _listen(redirect_uri: str) -> CallbackListener:
    try:
        return CallbackListener(redirect_uri)
    except InvalidRedirectUri as error:
        raise click.BadParameter(str(error), param_hint="--redirect-uri") from None
    except OSError as error:
        raise CommandError(
            f"Cannot listen for the callback {redirect_uri}: {error.strerror}. "
            "Leave the port out of --redirect-uri to get a free one.",
            exit_code=ExitCode.ERROR,
        ) from None


@click.command()
@click.option("--nation", required=True, help="Slug of the nation to log in to.")
@click.option(
    "--base-url",
    help="The nation's base URL, such as http://127.0.0.1:8000/n/demo. Default: https://SLUG.nationbuilder.com.",
)
@click.option(
    "--client-id",
    envvar=CLIENT_ID_ENV_VAR,
    show_envvar=True,
    help="The app's Client ID (Uid). Default: the one of your last login to the base URL, else a prompt.",
)
@click.option(
    "--client-secret",
    envvar=CLIENT_SECRET_ENV_VAR,
    show_envvar=True,
    help="The app's client secret. Prefer the variable, because other users can see command lines. "
    "Default: the stored one of the same app, else a hidden prompt.",
)
@click.option("--public", is_flag=True, help="The app is public: it has no client secret.")
@click.option(
    "--redirect-uri",
    default=DEFAULT_REDIRECT_URI,
    show_default=True,
    help="The app's registered loopback callback. The command listens on its port, or on a free port "
    "when it names none.",
)
@click.option("--no-browser", is_flag=True, help="Only print the authorization URL; open no browser.")
@click.option(
    "--timeout",
    type=click.FloatRange(min=1),
    default=300,
    show_default=True,
    help="Seconds to wait for the browser's redirect to the callback.",
)
def login(
    nation: str,
    base_url: str | None,
    client_id: str | None,
    client_secret: str | None,
    public: bool,
    redirect_uri: str,
    no_browser: bool,
    timeout: float,
) -> None:
    """Authorize an app on a nation in the browser, and store its tokens for the other commands."""
    if os.environ.get(TOKEN_ENV_VAR, "").strip():
        raise click.UsageError(
            f"{TOKEN_ENV_VAR} is set, and it would replace the tokens of a login; unset it."
        )
    slug = nation.lower()
    url = checked_base_url(base_url, slug)
    previous = resolve_target(slug, url).login
    with reported(url, slug):
        app = _choose_app(previous, url, client_id, client_secret, public)

    listener = _listen(redirect_uri)
    store = default_token_store(url)
    try:
        with Client(url, app=replace(app, redirect_uri=listener.redirect_uri), token_store=store) as client:
            outcome = _authorize(client, listener, nation=slug, no_browser=no_browser, timeout=timeout)
    finally:
        listener.close()

    if outcome is None:
        raise CommandError(
            f"No redirect to the callback arrived within {timeout:g} s; nothing was stored. "
            "Run the command again, or give a longer --timeout.",
            exit_code=ExitCode.LOGIN_TIMEOUT,
        )
    if isinstance(outcome, CitizenryError):
        raise command_error(outcome, base_url=url, nation=slug)

    with reported(url, slug):
        _remember(url, slug, app, redirect_uri)
    click.echo(f"Logged in to {url} (nation {slug}). The tokens are in {_describe_store(store)}.", err=True)


def _authorize(
    client: Client, listener: CallbackListener, *, nation: str, no_browser: bool, timeout: float
) -> TokenSet | CitizenryError | None:
    """Show the authorization URL and wait for the redirect to the callback, then complete the flow.

    Returns the tokens, the error that stopped the flow, or None when no redirect arrived in time.
    """
    request = client.authorization_request()
    click.echo(
        "Open this address in a browser, sign in as an admin of the nation and authorize the app:", err=True
    )
    click.echo(request.url, err=True)
    if not no_browser:
        _open_browser(request.url)
    click.echo(f"Waiting up to {timeout:g} s for the redirect to {listener.redirect_uri} ...", err=True)

    outcome: TokenSet | CitizenryError | None = None

    def complete(callback_url: str) -> CallbackPage:
        nonlocal outcome
        try:
            outcome = client.complete_authorization(callback_url, request)
        except CitizenryError as error:
            outcome = error
            return _failure_page(error, client.base_url, nation)
        return CallbackPage(200, f"You are logged in to {client.base_url}. {CLOSE_TAB}\n")

    listener.wait(complete, timeout=timeout)
    return outcome


def _remember(base_url: str, nation: str, app: AppCredentials, redirect_uri: str) -> None:
    """Save the login, and the client secret that later refreshes need."""
    secrets = ClientSecretStore(base_url)
    if app.client_secret is None:
        secrets.delete()
    else:
        secrets.save(app.client_secret)
    login = SavedLogin(
        base_url=base_url,
        nation=nation,
        client_id=app.client_id,
        redirect_uri=redirect_uri,
        public=app.client_secret is None,
    )
    save_login(login)
