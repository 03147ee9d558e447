"""The problems the app explains to the admin, each with the HTTP status of the page that shows it.

``kind`` is the page's ``data-testid`` too, so that tests can tell problems apart without reading prose.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    kind: str
    title: str
    detail: str
    status: int


def invalid_slug() -> Problem:
    return Problem(
        kind="invalid-slug",
        title="That is not a nation slug",
        detail="Type only the slug, the part of the address that names the nation: letters, digits, "
        "dashes (-) and underscores (_), such as demo.",
        status=400,
    )


def unknown_nation(slug: str, base_url: str) -> Problem:
    return Problem(
        kind="unknown-nation",
        title=f"No nation has the slug {slug}",
        detail=f"{base_url} answered 404 Not Found. Check the slug and try again.",
        status=404,
    )


def unreachable(base_url: str, reason: str) -> Problem:
    return Problem(
        kind="unreachable",
        title="The nation's server did not respond",
        detail=f"Connecting to {base_url} failed ({reason}). Check the slug, or try again later.",
        status=502,
    )


def access_denied(slug: str) -> Problem:
    return Problem(
        kind="access-denied",
        title=f"{slug} did not give this app access",
        detail="The admin pressed Deny on the nation's consent page, so the app cannot read the "
        "nation's people. Press Connect to ask again.",
        status=403,
    )


def authorization_failed(reason: str) -> Problem:
    return Problem(
        kind="authorization-failed",
        title="The authorization did not complete",
        detail=f"{reason} Press Connect to start again.",
        status=400,
    )


def connection_ended(slug: str) -> Problem:
    return Problem(
        kind="connection-ended",
        title=f"The connection to {slug} has ended",
        detail="The nation no longer accepts the app's access token, and it refused a new one: the "
        "token expired or was revoked, or the admin lost access. Press Connect to ask again.",
        status=401,
    )


def nation_error(base_url: str, reason: str) -> Problem:
    return Problem(
        kind="nation-error",
        title="The nation's server returned an error",
        detail=f"{base_url} failed: {reason}. Try again later.",
        status=502,
    )
