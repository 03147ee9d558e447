"""Token stores: the 0600 file, the environment variable, the keyring and its detection."""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import keyring
import keyring.backend
import keyring.backends.fail
import keyring.errors
import pytest
from jaraco.classes import properties

from citizenry.client import (
    TOKEN_ENV_VAR,
    AppCredentials,
    AuthorizationRequest,
    EnvTokenStore,
    FileTokenStore,
    KeyringTokenStore,
    MemoryTokenStore,
    TokenSet,
    TokenStoreError,
    default_token_path,
    default_token_store,
    is_usable_keyring,
)
from tests.client.conftest import Connect, Nation

TOKENS = TokenSet(access_token="a" * 64, refresh_token="r" * 64, expires_at=1_800_000_000.0, scope="default")


class MemoryKeyring(keyring.backend.KeyringBackend):
    """A keyring in memory. Its priority raises, so keyring never picks it by itself."""

    @properties.classproperty
    def priority(cls) -> float:
        raise RuntimeError("only for tests that set it explicitly")

    def __init__(self) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self.entries: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.entries.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.entries[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        if self.entries.pop((service, username), None) is None:
            raise keyring.errors.PasswordDeleteError("no such entry")


@pytest.fixture
def chosen_keyring() -> Iterator[None]:
    """Restore the keyring backend the test changes with ``keyring.set_keyring``."""
    previous = keyring.get_keyring()
    try:
        yield
    finally:
        keyring.set_keyring(previous)


@pytest.fixture
def config_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point platformdirs' user config folder at a temporary folder, and unset CITIZENRY_TOKEN."""
    home = tmp_path / "config"
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home))
    monkeypatch.delenv(TOKEN_ENV_VAR, raising=False)
    return home


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_file_store_round_trip(tmp_path: Path) -> None:
    store = FileTokenStore(tmp_path / "citizenry" / "tokens" / "demo.json")

    assert store.load() is None
    store.save(TOKENS)

    assert store.load() == TOKENS
    assert json.loads(store.path.read_text()) == {
        "access_token": "a" * 64,
        "token_type": "bearer",
        "refresh_token": "r" * 64,
        "expires_at": 1_800_000_000.0,
        "scope": "default",
    }
    assert _mode(store.path) == 0o600
    assert _mode(store.path.parent) == 0o700
    assert os.listdir(store.path.parent) == ["demo.json"]
    store.delete()
    assert store.load() is None
    store.delete()


def test_file_created_0600_under_open_umask(tmp_path: Path) -> None:
    store = FileTokenStore(tmp_path / "tokens.json")
    store.path.write_text("{}")
    store.path.chmod(0o644)
    previous = os.umask(0)
    try:
        store.save(TOKENS)
    finally:
        os.umask(previous)

    assert _mode(store.path) == 0o600
    assert store.load() == TOKENS


def test_file_readable_by_others_rejected(tmp_path: Path) -> None:
    path = tmp_path / "tokens.json"
    path.write_text(json.dumps(TOKENS.to_json()))
    path.chmod(0o640)

    with pytest.raises(TokenStoreError) as caught:
        FileTokenStore(path).load()

    assert str(path) in str(caught.value)
    assert "a" * 64 not in str(caught.value)


def test_file_with_bad_json_rejected(tmp_path: Path) -> None:
    path = tmp_path / "tokens.json"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
    os.write(fd, b"not json")
    os.close(fd)

    with pytest.raises(TokenStoreError):
        FileTokenStore(path).load()


def test_env_store_reads_only() -> None:
    store = EnvTokenStore(environ={TOKEN_ENV_VAR: "t" * 64})

    assert store.load() == TokenSet(access_token="t" * 64)
    assert EnvTokenStore(environ={}).load() is None
    with pytest.raises(TokenStoreError):
        store.save(TOKENS)
    with pytest.raises(TokenStoreError):
        store.delete()


def test_env_token_used_by_client(connect: Connect, nation: Nation, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(TOKEN_ENV_VAR, nation.api_token())
    nation.factory.people(nation.nation, 3)
    store = default_token_store(nation.base_url)

    api = connect(nation.base_url, token_store=store)

    assert isinstance(store, EnvTokenStore)
    assert api.count_people() == 3


def test_fail_keyring_falls_back_to_file(config_home: Path, chosen_keyring: None) -> None:
    keyring.set_keyring(keyring.backends.fail.Keyring())  # type: ignore[no-untyped-call]

    store = default_token_store("http://127.0.0.1:8000/n/demo")

    assert not is_usable_keyring()
    assert isinstance(store, FileTokenStore)
    assert store.path == default_token_path("http://127.0.0.1:8000/n/demo")
    assert store.path.parent == config_home / "citizenry" / "tokens"
    assert store.path.name.startswith("127.0.0.1_8000_n_demo-")
    store.save(TOKENS)
    assert _mode(store.path) == 0o600


def test_usable_keyring_chosen(config_home: Path, chosen_keyring: None) -> None:
    backend = MemoryKeyring()
    keyring.set_keyring(backend)

    store = default_token_store("https://demo.nationbuilder.com")
    store.save(TOKENS)

    assert is_usable_keyring()
    assert isinstance(store, KeyringTokenStore)
    assert json.loads(backend.entries[("citizenry", "https://demo.nationbuilder.com")]) == TOKENS.to_json()
    assert store.load() == TOKENS
    assert not config_home.exists()
    store.delete()
    assert backend.entries == {}
    store.delete()


def test_keyrings_alt_not_usable() -> None:
    plaintext = type("PlaintextKeyring", (MemoryKeyring,), {"__module__": "keyrings.alt.file"})

    assert not is_usable_keyring(plaintext())
    assert is_usable_keyring(MemoryKeyring())


def test_env_variable_wins_over_keyring(config_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(TOKEN_ENV_VAR, "e" * 64)

    store = default_token_store("https://demo.nationbuilder.com")

    assert isinstance(store, EnvTokenStore)
    assert store.load() == TokenSet(access_token="e" * 64)


def test_file_store_keeps_each_refresh(connect: Connect, nation: Nation, tmp_path: Path) -> None:
    store = FileTokenStore(tmp_path / "tokens.json")
    api = connect(nation.base_url, app=nation.credentials, token_store=store)
    first = nation.authorize(api)

    second = api.refresh()
    third = api.refresh()

    assert _mode(store.path) == 0o600
    assert store.load() == third
    refresh_tokens = [first.refresh_token, second.refresh_token, third.refresh_token]
    assert len(set(refresh_tokens)) == 3
    assert None not in refresh_tokens
    assert api.count_people() == 0


def test_reprs_hide_secrets() -> None:
    app = AppCredentials("client-1", "s" * 64, redirect_uri="https://app.example/callback")
    request = AuthorizationRequest(
        url="https://demo.example/oauth/authorize?state=" + "q" * 43,
        state="q" * 43,
        code_verifier="v" * 86,
        redirect_uri=None,
    )

    visible_texts = [
        repr(TOKENS),
        str(TOKENS),
        repr(app),
        repr(request),
        repr(MemoryTokenStore(TOKENS).load()),
    ]

    for secret in ("a" * 64, "r" * 64, "s" * 64, "q" * 43, "v" * 86):
        assert not [text for text in visible_texts if secret in text]
    assert "client-1" in repr(app)
