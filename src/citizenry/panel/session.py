"""The signed-in user and the CSRF token bound to their session.

The session is Starlette's signed cookie; it stores only the user id and the CSRF token.
"""

from __future__ import annotations

import hmac
import secrets

from starlette.requests import Request

CSRF_FIELD = "csrf_token"


def csrf_token(request: Request) -> str:
    token = request.session.get("csrf")
    if not isinstance(token, str):
        token = secrets.token_urlsafe(32)
        request.session["csrf"] = token
    return token


def is_valid_csrf(request: Request, submitted: object) -> bool:
    """Check a form's CSRF token against the session's, and the Origin header when sent."""
    expected = request.session.get("csrf")
    if not isinstance(expected, str) or not isinstance(submitted, str):
        return False
    origin = request.headers.get("origin")
    if origin is not None and origin != f"{request.url.scheme}://{request.url.netloc}":
        return False
    return hmac.compare_digest(expected.encode(), submitted.encode())


def signed_in_user_id(request: Request) -> int | None:
    user_id = request.session.get("user_id")
    return user_id if isinstance(user_id, int) else None


def sign_in(request: Request, user_id: int) -> None:
    # A new session, with a new CSRF token, so nothing from before sign-in carries over.
    request.session.clear()
    request.session["user_id"] = user_id
    request.session["csrf"] = secrets.token_urlsafe(32)


def sign_out(request: Request) -> None:
    request.session.clear()


def safe_next_path(candidate: str | None, default: str) -> str:
    """Return ``candidate`` if it is a path on this site, else ``default``: no open redirects."""
    if (
        not candidate
        or not candidate.startswith("/")
        or candidate.startswith("//")
        or "\\" in candidate
        or any(ord(ch) < 0x20 for ch in candidate)
    ):
        return default
    return candidate
