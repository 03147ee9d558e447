"""Token stores, which keep the client's tokens between runs.

A store contains one :class:`TokenSet`. The client loads it on first use and saves every new pair the
token endpoint returns, so that a rotated refresh token is never lost. :func:`default_token_store`
picks, in order:

1. ``CITIZENRY_TOKEN`` when it is set: an access token (an API token, for example), read-only;
2. the system keyring, when keyring finds a usable backend;
3. a JSON file under platformdirs' user config folder, created readable by its owner only (0600).

keyrings.alt's backends are never used, because they keep tokens in plain files of their own.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import secrets
import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Protocol

import keyring
import keyring.backend
import keyring.backends.fail
import keyring.errors
import platformdirs

from citizenry.client.errors import TokenStoreError
from citizenry.client.tokens import TokenSet

logger = logging.getLogger(__name__)

TOKEN_ENV_VAR = "CITIZENRY_TOKEN"  # noqa: S105 (the variable's name)
KEYRING_SERVICE = "citizenry"
APP_NAME = "citizenry"


class TokenStore(Protocol):
    """The interface of a token store. Implementations must be safe to call from several threads."""

    def load(self) -> TokenSet | None: ...

    def save(self, tokens: TokenSet) -> None: ...

    def delete(self) -> None: ...


class MemoryTokenStore:
    """Keep tokens in memory only; ``on_save`` is called with every pair saved, new refreshes included."""

    def __init__(
        self, tokens: TokenSet | None = None, *, on_save: Callable[[TokenSet], None] | None = None
    ) -> None:
        self._tokens = tokens
        self._on_save = on_save

    def load(self) -> TokenSet | None:
        return self._tokens

    def save(self, tokens: TokenSet) -> None:
        self._tokens = tokens
        if self._on_save is not None:
            self._on_save(tokens)

    def delete(self) -> None:
        self._tokens = None


class EnvTokenStore:
    """Read an access token from an environment variable, ``CITIZENRY_TOKEN`` by default.

    The token has no refresh token and no known expiry. Saving or deleting raises
    :class:`TokenStoreError`, because a process cannot change its caller's environment.
    """

    def __init__(self, variable: str = TOKEN_ENV_VAR, *, environ: Mapping[str, str] | None = None) -> None:
        self.variable = variable
        self._environ = os.environ if environ is None else environ

    def load(self) -> TokenSet | None:
        value = self._environ.get(self.variable, "").strip()
        return TokenSet(access_token=value) if value else None

    def save(self, tokens: TokenSet) -> None:
        raise TokenStoreError(f"{self.variable} is set, so tokens cannot be stored; unset it first")

    def delete(self) -> None:
        raise TokenStoreError(f"{self.variable} is set, so its token cannot be deleted; unset it instead")


def read_private_file(path: Path, *, description: str) -> str | None:
    """Return the text of a file that only its owner may read, or None when it does not exist.

    Raises :class:`TokenStoreError` when the file cannot be read, or when other users may read it
    (POSIX modes only). ``description`` names the file in messages, such as ``"token file"``.
    """
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return None
    except OSError as error:
        raise TokenStoreError(f"cannot read the {description} {path}: {error.strerror}") from error
    with os.fdopen(fd, "r", encoding="utf-8") as file:
        if os.name == "posix" and os.fstat(file.fileno()).st_mode & 0o077:
            raise TokenStoreError(
                f"the {description} {path} is readable by other users; run 'chmod 600 {path}'"
            )
        return file.read()


def write_private_file(path: Path, text: str, *, description: str) -> None:
    """Replace the file at ``path`` with ``text``, readable and writable by its owner only.

    The text goes to a new file, created with mode 0600 (the umask can only narrow that), which is
    then renamed over the old one. So the file is never readable by others, not even for a moment,
    and a crash leaves the old or the new text, never half of it. A missing folder is created with
    mode 0700. On Windows the modes are ignored and the user profile's ACLs apply.
    """
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    try:
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as file:
            file.write(text)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except OSError as error:
        temporary.unlink(missing_ok=True)
        raise TokenStoreError(f"cannot write the {description} {path}: {error.strerror}") from error


def delete_private_file(path: Path, *, description: str) -> None:
    """Delete the file at ``path`` when it exists."""
    try:
        path.unlink(missing_ok=True)
    except OSError as error:
        raise TokenStoreError(f"cannot delete the {description} {path}: {error.strerror}") from error


class FileTokenStore:
    """Keep tokens in a JSON file that only its owner can read or write (see :func:`write_private_file`)."""

    description = "token file"

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()

    def load(self) -> TokenSet | None:
        text = read_private_file(self.path, description=self.description)
        if text is None:
            return None
        try:
            data = json.loads(text)
        except ValueError as error:
            raise TokenStoreError(f"the token file {self.path} is not valid JSON") from error
        return TokenSet.from_json(data)

    def save(self, tokens: TokenSet) -> None:
        text = json.dumps(tokens.to_json())
        with self._lock:
            write_private_file(self.path, text, description=self.description)

    def delete(self) -> None:
        delete_private_file(self.path, description=self.description)


class KeyringTokenStore:
    """Keep tokens in the system keyring, as one JSON entry of service ``citizenry`` named ``key``."""

    def __init__(
        self,
        key: str,
        *,
        service: str = KEYRING_SERVICE,
        backend: keyring.backend.KeyringBackend | None = None,
    ) -> None:
        self.key = key
        self.service = service
        self._backend = backend

    @property
    def backend(self) -> keyring.backend.KeyringBackend:
        return self._backend if self._backend is not None else keyring.get_keyring()

    def load(self) -> TokenSet | None:
        try:
            value = self.backend.get_password(self.service, self.key)
        except keyring.errors.KeyringError as error:
            raise TokenStoreError(f"the keyring failed to read tokens: {type(error).__name__}") from error
        if value is None:
            return None
        try:
            data = json.loads(value)
        except ValueError as error:
            raise TokenStoreError("the keyring entry is not valid JSON") from error
        return TokenSet.from_json(data)

    def save(self, tokens: TokenSet) -> None:
        try:
            self.backend.set_password(self.service, self.key, json.dumps(tokens.to_json()))
        except keyring.errors.KeyringError as error:
            raise TokenStoreError(f"the keyring failed to store tokens: {type(error).__name__}") from error

    def delete(self) -> None:
        try:
            self.backend.delete_password(self.service, self.key)
        except keyring.errors.PasswordDeleteError:
            logger.debug("no keyring entry to delete for %s", self.key)
            return
        except keyring.errors.KeyringError as error:
            raise TokenStoreError(f"the keyring failed to delete tokens: {type(error).__name__}") from error


def is_usable_keyring(backend: keyring.backend.KeyringBackend | None = None) -> bool:
    """Return True when ``backend`` (the one keyring chose, by default) can keep secrets safely.

    keyring falls back to ``keyring.backends.fail.Keyring``, whose every call raises, when it
    finds no backend, as on a server without a desktop session. keyrings.alt's backends work but
    keep secrets in files of their own, unencrypted or with a fixed key, so they do not count.
    """
    chosen = keyring.get_keyring() if backend is None else backend
    if isinstance(chosen, keyring.backends.fail.Keyring):
        return False
    return not type(chosen).__module__.startswith("keyrings.alt")


def default_token_path(key: str) -> Path:
    """Return the token file for ``key`` under the user config folder, such as
    ``~/.config/citizenry/tokens/demo.nationbuilder.com-3f2a9c1d.json`` on Linux."""
    readable = re.sub(r"[^A-Za-z0-9.-]+", "_", key.split("://", 1)[-1]).strip("_")[:80] or "default"
    suffix = hashlib.sha256(key.encode()).hexdigest()[:8]
    return platformdirs.user_config_path(APP_NAME) / "tokens" / f"{readable}-{suffix}.json"


def default_token_store(key: str, *, environ: Mapping[str, str] | None = None) -> TokenStore:
    """Pick the store for ``key`` (a client uses its base URL): the environment, keyring or file."""
    variables = os.environ if environ is None else environ
    if variables.get(TOKEN_ENV_VAR, "").strip():
        logger.info("using the access token in %s", TOKEN_ENV_VAR)
        return EnvTokenStore(environ=variables)

    backend = keyring.get_keyring()
    if is_usable_keyring(backend):
        logger.debug("storing tokens in the keyring %s", type(backend).__name__)
        return KeyringTokenStore(key, backend=backend)

    path = default_token_path(key)
    logger.info("no usable keyring (backend %s); storing tokens in %s", type(backend).__name__, path)
    return FileTokenStore(path)
