"""The signed-in user and the CSRF token bound to their session.

The session is Starlette's signed cookie. It stores the user id, a fingerprint of the user's
password hash and the CSRF token. Setting a new password changes the fingerprint, which signs out
every session signed in before.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass

from starlette.requests import Request

from citizenry.store.models import User
from citizenry.tenancy.passwords import password_fingerprint

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


@dataclass(frozen=True)
class SignedIn:
    """The user a session names, and the fingerprint of the password hash they signed in with."""

    user_id: int
    fingerprint: str

    def matches(self, user: User) -> bool:
        """Check that ``user`` is this session's user and has not set a new password since."""
        fingerprint = password_fingerprint(user.password_hash)
        return user.id == self.user_id and hmac.compare_digest(fingerprint, self.fingerprint)


def signed_in(request: Request) -> SignedIn | None:
    user_id = request.session.get("user_id")
    fingerprint = request.session.get("fingerprint")
    if not isinstance(user_id, int) or not isinstance(fingerprint, str):
        return None
    return SignedIn(user_id=user_id, fingerprint=fingerprint)


def sign_in(request: Request, user: User) -> None:
    # A new session, with a new CSRF token, so nothing from before sign-in carries over.
    request.session.clear()
    request.session["user_id"] = user.id
    request.session["fingerprint"] = password_fingerprint(user.password_hash)
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
