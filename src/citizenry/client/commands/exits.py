"""Exit codes of the developer commands, and the messages for the SDK's errors.

Each kind of failure a script may want to handle apart has its own exit code. Messages name the
nation's base URL, the request's path and what to do next, never a token, code or secret: the SDK's
exception messages already leave those out.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterator
from contextlib import contextmanager
from enum import IntEnum

import click

from citizenry.client import errors


class ExitCode(IntEnum):
    """The exit status of a developer command."""

    OK = 0
    #: Any failure without a code of its own: a server error, an unreadable response, a token store problem.
    ERROR = 1
    #: An invalid option or argument (click's own code), or an ambiguous choice of nation.
    USAGE = 2
    #: The server could not be reached: connection refused, name not resolved, timed out.
    UNREACHABLE = 3
    #: No tokens, or the tokens were rejected and could not be refreshed: run ``citizenry login``.
    LOGIN_REQUIRED = 4
    #: The authorization was denied on the consent page, or failed with another OAuth error.
    ACCESS_DENIED = 5
    #: The redirect to the callback did not belong to this login (wrong ``state`` or ``iss``).
    INVALID_CALLBACK = 6
    #: No redirect to the callback arrived before ``login --timeout``.
    LOGIN_TIMEOUT = 7
    #: 404: the person (or the endpoint) does not exist.
    NOT_FOUND = 8
    #: 400: the server rejected the request's values, such as an unknown search filter.
    INVALID_INPUT = 9
    #: 429 after the SDK's retries.
    RATE_LIMITED = 10
    #: 403: the token's owner lacks the permission (strict profile).
    FORBIDDEN = 11


class CommandError(click.ClickException):
    """A failure reported as ``Error: message`` on standard error, with the given exit code."""

    def __init__(self, message: str, *, exit_code: ExitCode) -> None:
        super().__init__(message)
        # click declares exit_code per class; an instance value works the same for its main loop.
        self.exit_code = int(exit_code)  # type: ignore[misc]


def login_hint(base_url: str, nation: str | None) -> str:
    """Return the login command for the nation at ``base_url``, to quote in messages."""
    return f"citizenry login --nation {nation or 'SLUG'} --base-url {base_url}"


def _retry_advice(error: errors.RateLimited) -> str:
    if error.retry_after is None:
        return "Retry in a minute."
    seconds = max(1, round(error.retry_after))
    moment = datetime.datetime.now().astimezone() + datetime.timedelta(seconds=seconds)
    return f"Retry in {seconds} s, after {moment:%H:%M:%S}."


def _rejected_values(error: errors.ApiError) -> str:
    if isinstance(error, errors.ValidationFailed) and error.validation_errors:
        return "; ".join(error.validation_errors)
    if isinstance(error, errors.MissingParameters) and error.parameters:
        return f"missing {', '.join(error.parameters)}"
    return error.message or str(error)


def command_error(error: errors.CitizenryError, *, base_url: str, nation: str | None) -> CommandError:
    """Return the message and exit code for an error the SDK raised while talking to ``base_url``."""
    relogin = f"Run '{login_hint(base_url, nation)}' again."

    if isinstance(error, errors.RequestTimeout):
        return CommandError(
            f"{base_url} did not respond in time ({error}). Check that the server is running.",
            exit_code=ExitCode.UNREACHABLE,
        )
    if isinstance(error, errors.TransportError):
        return CommandError(
            f"Cannot reach {base_url} ({error}). Check the address and that the server is running.",
            exit_code=ExitCode.UNREACHABLE,
        )
    if isinstance(error, errors.NotAuthenticated):
        return CommandError(
            f"Not logged in to {base_url}: {error}. Run '{login_hint(base_url, nation)}', "
            "or set CITIZENRY_TOKEN to an API token.",
            exit_code=ExitCode.LOGIN_REQUIRED,
        )
    if isinstance(error, errors.Unauthorized | errors.InvalidGrant):
        return CommandError(
            f"{base_url} rejected the access token, and it could not be refreshed: it expired or was "
            f"revoked, or its owner may no longer use the API. {relogin}",
            exit_code=ExitCode.LOGIN_REQUIRED,
        )
    if isinstance(error, errors.InvalidClient):
        return CommandError(
            f"{base_url} rejected the app's Client ID or client secret. Check CITIZENRY_CLIENT_ID and "
            "CITIZENRY_CLIENT_SECRET, or log in again with the right ones: "
            f"'{login_hint(base_url, nation)}'.",
            exit_code=ExitCode.LOGIN_REQUIRED,
        )
    if isinstance(error, errors.AuthorizationDenied):
        if error.error == "access_denied":
            message = "Access was denied on the consent page, so nothing was stored."
        else:
            detail = f": {error.description}" if error.description else ""
            message = f"The authorization failed with {error.error}{detail}. Nothing was stored."
        return CommandError(message, exit_code=ExitCode.ACCESS_DENIED)
    if isinstance(error, errors.InvalidCallback):
        return CommandError(
            f"The redirect to the callback was rejected: {error}. Nothing was stored.",
            exit_code=ExitCode.INVALID_CALLBACK,
        )
    if isinstance(error, errors.RateLimited):
        return CommandError(
            f"{base_url} rate limited {error.method} {error.path}. {_retry_advice(error)}",
            exit_code=ExitCode.RATE_LIMITED,
        )
    if isinstance(error, errors.NotFound):
        return CommandError(f"Not found: {error.method} {error.path}.", exit_code=ExitCode.NOT_FOUND)
    if isinstance(error, errors.ValidationFailed | errors.BadRequest | errors.MissingParameters):
        return CommandError(
            f"{base_url} rejected {error.method} {error.path}: {_rejected_values(error)}",
            exit_code=ExitCode.INVALID_INPUT,
        )
    if isinstance(error, errors.Forbidden | errors.InsufficientScope):
        return CommandError(
            f"The token's owner may not {error.method} {error.path}: {error.message or error.code}.",
            exit_code=ExitCode.FORBIDDEN,
        )
    return CommandError(str(error), exit_code=ExitCode.ERROR)


@contextmanager
def reported(base_url: str, nation: str | None) -> Iterator[None]:
    """Turn an SDK error raised in the block into a :class:`CommandError`."""
    try:
        yield
    except errors.CitizenryError as error:
        raise command_error(error, base_url=base_url, nation=nation) from None
