"""Client authentication at the token, revocation and introspection endpoints.

RFC 6749 section 2.3.1 requires the id and secret in HTTP Basic to be form-encoded first, but many
clients send them raw. Both readings are tried, so a secret with ``+``, ``/``, ``:``, ``=`` or
``%`` works either way.
"""

from __future__ import annotations

import base64
import binascii
import logging
from typing import Any
from urllib.parse import unquote_plus

from authlib.oauth2.rfc6749.errors import InvalidRequestError

logger = logging.getLogger(__name__)


def basic_credentials(headers: Any) -> list[tuple[str, str]]:
    """Return the (client id, secret) readings of a Basic header, raw first; [] when there is none."""
    header = headers.get("Authorization") or ""
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic" or not encoded.strip():
        return []
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, ValueError):  # ValueError: non-ASCII input; UnicodeDecodeError is one too
        return [("", "")]  # present but unreadable: authentication fails with invalid_client
    client_id, separator, secret = decoded.partition(":")
    if not separator:
        return [("", "")]
    readings = [(client_id, secret)]
    form_decoded = (unquote_plus(client_id), unquote_plus(secret))
    if form_decoded != readings[0]:
        readings.append(form_decoded)
    return readings


def authenticate_client_secret_basic(query_client: Any, request: Any) -> Any:
    """Authlib client auth method: HTTP Basic, with the id and secret raw or form-encoded."""
    for client_id, secret in basic_credentials(request.headers):
        client = query_client(client_id) if client_id else None
        if client is not None and client.check_client_secret(secret):
            return client
    return None


def authenticate_none(query_client: Any, request: Any) -> Any:
    """Authlib client auth method for public apps: a client id and no credentials of any kind."""
    if basic_credentials(request.headers) or request.payload.data.get("client_secret"):
        return None
    client_id = request.payload.client_id
    return query_client(client_id) if client_id else None


def validate_single_client(request: Any) -> None:
    """Reject credentials for two clients, or sent both by Basic and in the body (RFC 6749 section 2.3)."""
    readings = basic_credentials(request.headers)
    if not readings:
        return
    if request.form.get("client_secret") is not None:
        raise InvalidRequestError(
            "Send the client credentials either with HTTP Basic or in the body, not both."
        )
    body_client_id = request.form.get("client_id")
    if body_client_id and body_client_id not in {client_id for client_id, _ in readings}:
        raise InvalidRequestError("The request names two different clients.")


def basic_client_id(request: Any) -> str | None:
    readings = basic_credentials(request.headers)
    return readings[0][0] or None if readings else None
