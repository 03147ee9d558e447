"""Settings read from the environment: host names and proxy addresses are checked at start-up."""

from __future__ import annotations

from pathlib import Path

import pytest

from citizenry.settings import Settings, SettingsError
from tests.factory import settings_env


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("localhost", "localhost"),
        ("People.Example.org.", "people.example.org"),
        ("xn--bcher-kva.example", "xn--bcher-kva.example"),
    ],
)
def test_base_domain_accepted(tmp_path: Path, raw: str, expected: str) -> None:
    assert Settings.from_env(settings_env(tmp_path, BASE_DOMAIN=raw)).base_domain == expected


BAD_DOMAINS = ["not a domain", "example.org:8000", "https://example.org", "-bad.example", "a..b", "a_b.org"]
BAD_PROXIES = ["not-an-ip", "10.0.0.1/24", "10.0.0.300", "127.0.0.1;10.0.0.1", "*,10.0.0.1"]


@pytest.mark.parametrize("raw", BAD_DOMAINS)
def test_base_domain_rejected(tmp_path: Path, raw: str) -> None:
    with pytest.raises(SettingsError, match="CITIZENRY_BASE_DOMAIN"):
        Settings.from_env(settings_env(tmp_path, BASE_DOMAIN=raw))


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("", ()),
        ("127.0.0.1", ("127.0.0.1",)),
        (" 10.0.0.10, 10.0.0.11 ,", ("10.0.0.10", "10.0.0.11")),
        ("10.0.0.0/24,::1,fd00::/8", ("10.0.0.0/24", "::1", "fd00::/8")),
        ("*", ("*",)),
    ],
)
def test_trusted_proxies_accepted(tmp_path: Path, raw: str, expected: tuple[str, ...]) -> None:
    assert Settings.from_env(settings_env(tmp_path, TRUSTED_PROXIES=raw)).trusted_proxies == expected


@pytest.mark.parametrize("raw", BAD_PROXIES)
def test_trusted_proxies_rejected(tmp_path: Path, raw: str) -> None:
    with pytest.raises(SettingsError, match="CITIZENRY_TRUSTED_PROXIES"):
        Settings.from_env(settings_env(tmp_path, TRUSTED_PROXIES=raw))


@pytest.mark.parametrize(("raw", "expected"), [("on", True), ("off", False), ("YES", True), ("0", False)])
def test_boolean_words(tmp_path: Path, raw: str, expected: bool) -> None:
    assert Settings.from_env(settings_env(tmp_path, METRICS=raw)).metrics_enabled is expected


def test_boolean_rejected(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="on/off"):
        Settings.from_env(settings_env(tmp_path, METRICS="maybe"))
