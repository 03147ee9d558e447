"""Logging set-up for the server and the CLI."""

from __future__ import annotations

import logging


def configure_logging(level: str) -> None:
    logging.basicConfig(
        level=level,
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
    )
    quiet_authlib()
    if level != "DEBUG":
        # Alembic reports every migration step at INFO; the CLI prints its own summary.
        logging.getLogger("alembic").setLevel(logging.WARNING)


def quiet_authlib() -> None:
    """Keep Authlib below DEBUG: its debug lines include whole token responses."""
    authlib = logging.getLogger("authlib")
    if authlib.getEffectiveLevel() < logging.INFO:
        authlib.setLevel(logging.INFO)
