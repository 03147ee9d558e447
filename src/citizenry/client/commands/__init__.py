"""The app developer's commands of ``citizenry``: login, whoami, people and logout.

They are built on the SDK alone, like any app would be, and the server's ``citizenry`` command
registers them next to its own. ``login`` runs the authorization code flow with PKCE through a
loopback callback; the others call the API with the stored tokens, refreshing them as needed.
:mod:`citizenry.client.commands.saved` describes what is stored where, and
:class:`~citizenry.client.commands.exits.ExitCode` lists the exit codes.
"""

from __future__ import annotations

import click

from citizenry.client.commands.account import logout, whoami
from citizenry.client.commands.login import login
from citizenry.client.commands.people import people

COMMANDS: tuple[click.Command, ...] = (login, whoami, people, logout)

__all__ = ["COMMANDS"]
