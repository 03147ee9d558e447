"""``citizenry whoami`` and ``citizenry logout``."""

from __future__ import annotations

import os

import click

from citizenry.client.commands.exits import reported
from citizenry.client.commands.output import echo_json, fields_table, format_option, print_table
from citizenry.client.commands.saved import ClientSecretStore, forget_login
from citizenry.client.commands.target import nation_options, open_client, resolve_target
from citizenry.client.stores import TOKEN_ENV_VAR


@click.command()
@nation_options
@format_option()
def whoami(nation: str | None, base_url: str | None, output_format: str) -> None:
    """Show the nation and the person record of the token's owner (GET /api/v1/people/me)."""
    target = resolve_target(nation, base_url)
    with reported(target.base_url, target.nation), open_client(target) as client:
        person = client.me()

    if output_format == "json":
        echo_json({"base_url": target.base_url, "nation": target.nation, "person": person})
        return
    name = " ".join(str(part) for part in (person.get("first_name"), person.get("last_name")) if part)
    rows = [
        ("base URL", target.base_url),
        ("nation", target.nation),
        ("person id", person.get("id")),
        ("name", name),
        ("e-mail", person.get("email")),
    ]
    print_table(fields_table(rows))


@click.command()
@nation_options
@click.option(
    "--forget-only",
    is_flag=True,
    help="Delete the stored tokens and login without revoking the tokens, as when the server is gone.",
)
def logout(nation: str | None, base_url: str | None, forget_only: bool) -> None:
    """Revoke the stored tokens on the server, then forget them, the client secret and the login."""
    if os.environ.get(TOKEN_ENV_VAR, "").strip():
        raise click.UsageError(f"{TOKEN_ENV_VAR} is set: unset it, because logout cannot change it.")
    target = resolve_target(nation, base_url)

    with reported(target.base_url, target.nation), open_client(target) as client:
        had_tokens = client.tokens() is not None
        if had_tokens and client.app is None and not forget_only:
            raise click.UsageError(
                "the app's Client ID is unknown, so the tokens cannot be revoked: set CITIZENRY_CLIENT_ID, "
                "or pass --forget-only to delete them without revoking them."
            )
        if forget_only:
            client.token_store.delete()
        else:
            # Revokes the refresh token, and with it every access token of the authorization.
            client.logout()
        ClientSecretStore(target.base_url).delete()
        had_login = forget_login(target.base_url)

    if not had_tokens and not had_login:
        click.echo(f"There was no login to {target.base_url}.", err=True)
    elif not had_tokens:
        click.echo(
            f"Logged out of {target.base_url}: no tokens were stored; the login was deleted.", err=True
        )
    elif forget_only:
        click.echo(f"Logged out of {target.base_url}: the tokens were deleted here, not revoked.", err=True)
    else:
        click.echo(f"Logged out of {target.base_url}: the tokens were revoked and deleted.", err=True)
