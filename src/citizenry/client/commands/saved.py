"""The state the developer commands keep between runs: the saved logins and the client secrets.

``citizenry login`` saves one login per nation base URL in ``logins.json`` under platformdirs' user
config folder (``~/.config/citizenry/logins.json`` on Linux). A login contains no secret: the base URL,
the nation slug, the app's Client ID and redirect URI, and whether the app is public.

The tokens go to the SDK's :func:`~citizenry.client.default_token_store` for the base URL. The
client secret of a confidential app, which every refresh needs, goes to the same kind of store:
the system keyring when keyring finds a usable backend, else a file readable by its owner only
under ``client-secrets/`` in the same folder. ``CITIZENRY_CLIENT_SECRET`` and ``CITIZENRY_CLIENT_ID``
override what was saved.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import keyring
import keyring.errors
import platformdirs

from citizenry.client.errors import TokenStoreError
from citizenry.client.stores import (
    APP_NAME,
    KEYRING_SERVICE,
    default_token_path,
    delete_private_file,
    is_usable_keyring,
    read_private_file,
    write_private_file,
)

logger = logging.getLogger(__name__)

LOGINS_FILE = "logins.json"
CLIENT_ID_ENV_VAR = "CITIZENRY_CLIENT_ID"
CLIENT_SECRET_ENV_VAR = "CITIZENRY_CLIENT_SECRET"  # noqa: S105 (the variable's name)


@dataclass(frozen=True)
class SavedLogin:
    """A nation the developer logged in to, and the app they logged in with."""

    base_url: str
    nation: str | None
    client_id: str
    redirect_uri: str
    public: bool


def config_folder() -> Path:
    return platformdirs.user_config_path(APP_NAME)


def logins_path() -> Path:
    return config_folder() / LOGINS_FILE


def load_logins() -> dict[str, SavedLogin]:
    """Return the saved logins by base URL; an unreadable entry is skipped with a warning."""
    path = logins_path()
    text = read_private_file(path, description="logins file")
    if text is None:
        return {}
    try:
        entries = json.loads(text).get("logins", [])
    except (ValueError, AttributeError) as error:
        raise TokenStoreError(
            f"the logins file {path} is not a JSON object; delete it and log in again"
        ) from error

    logins = {}
    for entry in entries if isinstance(entries, list) else []:
        login = _login_from_json(entry)
        if login is None:
            logger.warning("skipping an invalid entry of the logins file %s", path)
            continue
        logins[login.base_url] = login
    return logins


def _login_from_json(entry: Any) -> SavedLogin | None:
    if not isinstance(entry, dict):
        return None
    try:
        return SavedLogin(
            base_url=str(entry["base_url"]),
            nation=str(entry["nation"]) if entry.get("nation") else None,
            client_id=str(entry["client_id"]),
            redirect_uri=str(entry["redirect_uri"]),
            public=bool(entry.get("public", False)),
        )
    except KeyError:
        return None


def _write_logins(logins: dict[str, SavedLogin]) -> None:
    entries = [asdict(login) for login in sorted(logins.values(), key=lambda login: login.base_url)]
    text = json.dumps({"logins": entries}, indent=2) + "\n"
    write_private_file(logins_path(), text, description="logins file")


def save_login(login: SavedLogin) -> None:
    """Save ``login``, replacing any earlier login to the same base URL."""
    logins = load_logins()
    logins[login.base_url] = login
    _write_logins(logins)


def forget_login(base_url: str) -> bool:
    """Remove the login to ``base_url``; return False when there was none."""
    logins = load_logins()
    if logins.pop(base_url, None) is None:
        return False
    _write_logins(logins)
    return True


class ClientSecretStore:
    """The client secret of the app logged in to one base URL: in the keyring, or in a 0600 file.

    The keyring entry has the service ``citizenry`` and the name ``client_secret BASE_URL``, next to
    the tokens' entry named ``BASE_URL``.
    """

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self._backend = keyring.get_keyring()
        self.in_keyring = is_usable_keyring(self._backend)
        self.path = config_folder() / "client-secrets" / default_token_path(base_url).name

    @property
    def _keyring_name(self) -> str:
        return f"client_secret {self.base_url}"

    def load(self) -> str | None:
        if self.in_keyring:
            try:
                return self._backend.get_password(KEYRING_SERVICE, self._keyring_name)
            except keyring.errors.KeyringError as error:
                raise TokenStoreError(
                    f"the keyring failed to read the client secret: {type(error).__name__}"
                ) from error
        text = read_private_file(self.path, description="client secret file")
        if text is None:
            return None
        try:
            secret = json.loads(text)["client_secret"]
        except (ValueError, KeyError, TypeError) as error:
            raise TokenStoreError(f"the client secret file {self.path} is not valid; log in again") from error
        return str(secret)

    def save(self, secret: str) -> None:
        if self.in_keyring:
            try:
                self._backend.set_password(KEYRING_SERVICE, self._keyring_name, secret)
            except keyring.errors.KeyringError as error:
                raise TokenStoreError(
                    f"the keyring failed to store the client secret: {type(error).__name__}"
                ) from error
            return
        text = json.dumps({"client_secret": secret})
        write_private_file(self.path, text, description="client secret file")

    def delete(self) -> None:
        if self.in_keyring:
            try:
                self._backend.delete_password(KEYRING_SERVICE, self._keyring_name)
            except keyring.errors.PasswordDeleteError:
                logger.debug("no client secret in the keyring for %s", self.base_url)
            except keyring.errors.KeyringError as error:
                raise TokenStoreError(
                    f"the keyring failed to delete the client secret: {type(error).__name__}"
                ) from error
            return
        delete_private_file(self.path, description="client secret file")
