"""Password hashing with argon2id (argon2-cffi's defaults: t=3, m=64 MiB, p=4)."""

from __future__ import annotations

import hashlib

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()

#: Verified against when the e-mail address is unknown, so a sign-in takes as long either way.
_DUMMY_HASH = _hasher.hash("citizenry-dummy-password")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def password_fingerprint(password_hash: str) -> str:
    """Return a short digest of a password hash; it changes whenever the password is set again."""
    return hashlib.sha256(password_hash.encode()).hexdigest()[:32]


def verify_password(password_hash: str | None, password: str) -> bool:
    """Check ``password`` against ``password_hash``; None stands for an unknown user."""
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False
