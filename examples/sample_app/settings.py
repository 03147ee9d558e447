"""The sample app's registration settings, read from ``SAMPLE_APP_*`` environment variables."""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit

#: NationBuilder's address for a nation: each nation has its own host.
NATIONBUILDER_URL = "https://{slug}.nationbuilder.com"
PREFIX = "SAMPLE_APP_"


class SettingsError(ValueError):
    """A missing or invalid setting. The message names the environment variable."""


@dataclass(frozen=True)
class Settings:
    """The app's registration, and the address pattern of the nations it connects to.

    ``nation_url`` is the address of any nation with ``{slug}`` where its slug goes:
    NationBuilder's by default, or ``http://127.0.0.1:8000/n/{slug}`` for a Citizenry server.
    """

    client_id: str
    #: None for a public app, which proves itself with PKCE alone.
    client_secret: str | None = field(repr=False)
    callback_url: str
    nation_url: str = NATIONBUILDER_URL
    #: Signs the session cookie. A random key means sessions end when the app restarts.
    secret_key: str = field(default_factory=lambda: secrets.token_urlsafe(32), repr=False)

    def __post_init__(self) -> None:
        callback = urlsplit(self.callback_url)
        if callback.scheme not in {"http", "https"} or not callback.netloc or not callback.path.strip("/"):
            raise SettingsError(
                f"{PREFIX}CALLBACK_URL={self.callback_url!r} must be an absolute URL with a path, "
                "such as http://127.0.0.1:8001/callback"
            )
        if self.nation_url.count("{slug}") != 1:
            raise SettingsError(
                f"{PREFIX}NATION_URL={self.nation_url!r} must contain {{slug}} once, "
                f"such as {NATIONBUILDER_URL}"
            )
        example = urlsplit(self.base_url("example"))
        if example.scheme not in {"http", "https"} or not example.netloc or example.query:
            raise SettingsError(
                f"{PREFIX}NATION_URL={self.nation_url!r} must be an http(s) address without a query, "
                "such as http://127.0.0.1:8000/n/{slug}"
            )

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        client_id = env.get(PREFIX + "CLIENT_ID", "").strip()
        if not client_id:
            raise SettingsError(f"{PREFIX}CLIENT_ID is missing: set it to the app's Client ID (its Uid)")
        callback_url = env.get(PREFIX + "CALLBACK_URL", "").strip()
        if not callback_url:
            raise SettingsError(
                f"{PREFIX}CALLBACK_URL is missing: set it to the OAuth callback URL the app was "
                "registered with, such as http://127.0.0.1:8001/callback"
            )
        secret_key = env.get(PREFIX + "SECRET_KEY", "")
        if secret_key and len(secret_key) < 32:
            raise SettingsError(f"{PREFIX}SECRET_KEY must be at least 32 characters long")
        chosen_key = {"secret_key": secret_key} if secret_key else {}
        return cls(
            client_id=client_id,
            client_secret=env.get(PREFIX + "CLIENT_SECRET", "").strip() or None,
            callback_url=callback_url,
            nation_url=env.get(PREFIX + "NATION_URL", "").strip() or NATIONBUILDER_URL,
            **chosen_key,
        )

    @property
    def callback_path(self) -> str:
        return urlsplit(self.callback_url).path

    @property
    def https(self) -> bool:
        """True when the app is served over https, so its cookie may travel over https only."""
        return urlsplit(self.callback_url).scheme == "https"

    def base_url(self, slug: str) -> str:
        """Return the base URL of the nation ``slug``, without a trailing slash."""
        return self.nation_url.replace("{slug}", slug).rstrip("/")
