"""``python -m citizenry.client.commands``: the developer commands alone, without the server's.

It starts faster than ``citizenry``, which loads the server's modules for its other commands.
"""

from __future__ import annotations

import click

from citizenry.client.commands import COMMANDS


@click.group(commands=list(COMMANDS))
def developer() -> None:
    """Log in to a nation and call its API: the app developer's commands of citizenry."""


developer(prog_name="citizenry")
