"""The app's side of the authorization code flow: the request with PKCE, the callback, token forms.

These functions do no I/O; :mod:`citizenry.client.engine` sends the forms they build.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from urllib.parse import parse_qs, urlencode, urlsplit

from citizenry.client.errors import AuthorizationDenied, InvalidCallback
from citizenry.client.tokens import REDACTED, AppCredentials


def code_challenge(code_verifier: str) -> str:
    """Return the S256 challenge of a verifier: BASE64URL(SHA256(verifier)) without padding (RFC 7636 4.2)."""
    digest = hashlib.sha256(code_verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def new_code_verifier() -> str:
    # 64 random bytes make 86 characters of [A-Za-z0-9_-], inside the 43 to 128 RFC 7636 4.1 allows.
    return secrets.token_urlsafe(64)


@dataclass(frozen=True, repr=False)
class AuthorizationRequest:
    """An authorization request to open in the browser, and what its callback must be checked with.

    Keep ``state`` and ``code_verifier`` until the callback arrives, and show them to nobody.
    """

    url: str
    state: str
    code_verifier: str
    redirect_uri: str | None

    def __repr__(self) -> str:
        return (
            f"AuthorizationRequest(url={REDACTED}, state={REDACTED}, code_verifier={REDACTED}, "
            f"redirect_uri={self.redirect_uri!r})"
        )


def build_authorization_request(
    base_url: str,
    app: AppCredentials,
    *,
    redirect_uri: str | None = None,
    scope: str | None = None,
    state: str | None = None,
) -> AuthorizationRequest:
    """Build the URL of ``GET /oauth/authorize`` with a fresh ``state`` and an S256 PKCE challenge."""
    callback = redirect_uri or app.redirect_uri
    chosen_state = state or secrets.token_urlsafe(32)
    verifier = new_code_verifier()
    params = {"response_type": "code", "client_id": app.client_id}
    if callback:
        params["redirect_uri"] = callback
    if scope:
        params["scope"] = scope
    params |= {
        "state": chosen_state,
        "code_challenge": code_challenge(verifier),
        "code_challenge_method": "S256",
    }
    url = f"{base_url}/oauth/authorize?{urlencode(params)}"
    return AuthorizationRequest(url=url, state=chosen_state, code_verifier=verifier, redirect_uri=callback)


def code_from_callback(callback_url: str, request: AuthorizationRequest, *, issuer: str) -> str:
    """Return the authorization code from the redirect to the callback, after checking it.

    Raises :class:`InvalidCallback` when ``state`` differs from the request's (a forged or stale
    redirect), when ``iss`` is present and names another server (RFC 9207), or when there is no
    code, and :class:`AuthorizationDenied` when the server sent an ``error`` instead.
    """
    query = {key: values[0] for key, values in parse_qs(urlsplit(callback_url).query).items()}

    state = query.get("state", "")
    if not hmac.compare_digest(state.encode(), request.state.encode()):
        raise InvalidCallback("the callback's state does not match the authorization request; start again")

    issuer_sent = query.get("iss")
    if issuer_sent is not None and issuer_sent.rstrip("/") != issuer.rstrip("/"):
        raise InvalidCallback("the callback's iss names another authorization server than this client's")

    if "error" in query:
        raise AuthorizationDenied(error=query["error"], description=query.get("error_description"))

    code = query.get("code")
    if not code:
        raise InvalidCallback("the callback has neither a code nor an error")
    return code


def authorization_code_form(
    app: AppCredentials, code: str, *, code_verifier: str | None, redirect_uri: str | None
) -> dict[str, str]:
    """Return the body of the code exchange (RFC 6749 section 4.1.3, RFC 7636 section 4.5)."""
    form = {"grant_type": "authorization_code", "code": code}
    if redirect_uri:
        form["redirect_uri"] = redirect_uri
    if code_verifier:
        form["code_verifier"] = code_verifier
    return form | app.form_fields()


def refresh_form(app: AppCredentials, refresh_token: str) -> dict[str, str]:
    """Return the body of a refresh (RFC 6749 section 6)."""
    return {"grant_type": "refresh_token", "refresh_token": refresh_token} | app.form_fields()


def revocation_form(app: AppCredentials, token: str, *, token_type_hint: str | None) -> dict[str, str]:
    """Return the body of a revocation request (RFC 7009 section 2.1)."""
    form = {"token": token}
    if token_type_hint:
        form["token_type_hint"] = token_type_hint
    return form | app.form_fields()
