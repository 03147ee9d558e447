"""Random credentials and the SHA-256 digests that are all the database keeps of them."""

from __future__ import annotations

import hashlib
import secrets


def digest(value: str) -> bytes:
    return hashlib.sha256(value.encode("utf-8")).digest()


def new_hex_token() -> str:
    """Return 256 random bits as 64 hexadecimal characters, the form NationBuilder's tokens take."""
    return secrets.token_hex(32)


def new_code() -> str:
    """Return 256 random bits, URL-safe, for an authorization code."""
    return secrets.token_urlsafe(32)
