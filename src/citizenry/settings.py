"""Settings read from ``CITIZENRY_*`` environment variables and checked at start-up."""

from __future__ import annotations

import ipaddress
import os
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from citizenry.logs import LOG_FORMATS
from citizenry.ratelimit import DEFAULT_KEY_PREFIX, check_redis_url, parse_rule

ENV_PREFIX = "CITIZENRY_"

#: A nation slug: a DNS label of lower-case letters, digits and inner hyphens.
SLUG_PATTERN = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")


class SettingsError(ValueError):
    """A setting is missing or has a value that cannot be used."""


def _read_bool(env: Mapping[str, str], key: str, default: bool) -> bool:
    raw = env.get(ENV_PREFIX + key)
    if raw is None or raw == "":
        return default
    value = raw.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off"}:
        return False
    raise SettingsError(f"{ENV_PREFIX}{key}={raw!r} is not a boolean; use 1/0, true/false, yes/no or on/off.")


#: A DNS host name: dot-separated labels of letters, digits and inner hyphens, at most 253 characters.
_LABEL = r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?"
HOST_NAME = re.compile(rf"(?=.{{1,253}}$){_LABEL}(\.{_LABEL})*")


def _read_trusted_proxies(env: Mapping[str, str]) -> tuple[str, ...]:
    """Read the proxy addresses: IP addresses and networks separated by commas, or ``*`` alone."""
    raw = env.get(ENV_PREFIX + "TRUSTED_PROXIES") or ""
    entries = tuple(entry.strip() for entry in raw.split(",") if entry.strip())
    if entries == ("*",):
        return entries
    for entry in entries:
        try:
            if "/" in entry:
                ipaddress.ip_network(entry)
            else:
                ipaddress.ip_address(entry)
        except ValueError:
            raise SettingsError(
                f"{ENV_PREFIX}TRUSTED_PROXIES contains {entry!r}, which is not an IP address or a network "
                "such as 10.0.0.0/24. Separate entries with commas, or write * alone to trust every address."
            ) from None
    return entries


def _read_int(
    env: Mapping[str, str], key: str, default: int, minimum: int, maximum: int | None = None
) -> int:
    raw = env.get(ENV_PREFIX + key)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(f"{ENV_PREFIX}{key}={raw!r} is not an integer.") from None
    if value < minimum:
        raise SettingsError(f"{ENV_PREFIX}{key}={value} is below the minimum of {minimum}.")
    if maximum is not None and value > maximum:
        raise SettingsError(f"{ENV_PREFIX}{key}={value} is above the maximum of {maximum}.")
    return value


#: Database drivers Citizenry is tested with.
DATABASE_DRIVERS = frozenset({"sqlite", "sqlite+pysqlite", "postgresql", "postgresql+psycopg"})


def safe_url(database_url: str) -> str:
    """Return the URL with any password masked, for messages and logs."""
    try:
        return make_url(database_url).render_as_string(hide_password=True)
    except ArgumentError:
        return "<invalid URL>"


def _check_database_url(database_url: str) -> None:
    try:
        url = make_url(database_url)
    except ArgumentError:
        raise SettingsError(
            f"{ENV_PREFIX}DATABASE_URL is not a database URL; use sqlite:///path/to/file.sqlite3 "
            "or postgresql+psycopg://user@host/database."
        ) from None
    if url.drivername not in DATABASE_DRIVERS:
        raise SettingsError(
            f"{ENV_PREFIX}DATABASE_URL uses the driver {url.drivername!r}; use sqlite or postgresql+psycopg."
        )


def _read_rule(env: Mapping[str, str], key: str, default: str) -> str:
    raw = env.get(ENV_PREFIX + key) or default
    try:
        parse_rule(raw)
    except ValueError as error:
        raise SettingsError(f"{ENV_PREFIX}{key}: {error}") from None
    return raw


#: A Redis key prefix: letters, digits and ``_ . : -``, so that keys stay readable in redis-cli.
KEY_PREFIX_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$")


def _read_redis_url(env: Mapping[str, str]) -> str | None:
    raw = (env.get(ENV_PREFIX + "REDIS_URL") or "").strip()
    if not raw:
        return None
    try:
        check_redis_url(raw)
    except ValueError as error:
        raise SettingsError(f"{ENV_PREFIX}REDIS_URL is invalid: {error}.") from None
    return raw


def _read_redis_key_prefix(env: Mapping[str, str]) -> str:
    raw = (env.get(ENV_PREFIX + "REDIS_KEY_PREFIX") or DEFAULT_KEY_PREFIX).strip()
    if not KEY_PREFIX_PATTERN.fullmatch(raw):
        raise SettingsError(
            f"{ENV_PREFIX}REDIS_KEY_PREFIX={raw!r} is invalid; use 1 to 64 letters, digits and _ . : - "
            "starting with a letter or digit."
        )
    return raw


def _load_or_create_secret_key(data_dir: Path) -> str:
    """Return the development signing key kept in ``data_dir``, creating it on first use.

    The file is readable only by its owner. Production deployments set
    ``CITIZENRY_SECRET_KEY`` instead, identical on every host.
    """
    path = data_dir / "secret_key"
    if path.exists():
        return path.read_text().strip()
    data_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(key)
    return key


@dataclass(frozen=True)
class Settings:
    """The server's configuration. Build it with :meth:`from_env` or directly in tests."""

    database_url: str
    secret_key: str = field(repr=False)
    base_domain: str = "localhost"
    default_nation: str | None = None
    insecure_http: bool = False
    access_token_ttl: int = 86400
    authorization_code_ttl: int = 600
    test_token_ttl: int = 86400
    refresh_token_max_age: int = 365 * 86400
    #: Requests per app, and per client IP address, to each OAuth endpoint.
    oauth_rate_limit_per_app: str = "120/minute"
    oauth_rate_limit_per_ip: str = "300/minute"
    #: Sign-in attempts per client IP address, and per e-mail address.
    sign_in_rate_limit_per_ip: str = "30/minute"
    sign_in_rate_limit_per_email: str = "10/minute"
    #: API requests per access token, as NationBuilder allows.
    api_rate_limit_per_token: str = "250/10 seconds"  # noqa: S105 (a rate, not a secret)
    #: URL of the Redis that keeps the rate limit counters of every process. None keeps them in each
    #: process's memory. It is left out of the repr because it may contain a password.
    redis_url: str | None = field(default=None, repr=False)
    #: Start of every key in Redis, so that several deployments can share one server.
    redis_key_prefix: str = DEFAULT_KEY_PREFIX
    #: Connections each server process keeps open to the database, and how many more it may open
    #: under load. A request waits at most ``database_pool_timeout`` seconds for one.
    database_pool_size: int = 20
    database_max_overflow: int = 20
    database_pool_timeout: int = 30
    #: Transactions each server process runs at once; further requests wait for one to end, at most
    #: ``database_pool_timeout`` seconds.
    database_threads: int = 2
    #: PostgreSQL is reached through PgBouncer in transaction mode: no server-side prepared statements.
    database_pgbouncer: bool = False
    log_level: str = "INFO"
    #: ``plain`` text lines, or ``json``: one JSON object per line.
    log_format: str = "plain"
    #: Serve Prometheus metrics at /metrics.
    metrics_enabled: bool = True
    session_cookie_secure: bool = True
    #: Addresses of reverse proxies whose X-Forwarded-For and X-Forwarded-Proto are believed.
    trusted_proxies: tuple[str, ...] = ()

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        data_dir = Path(env.get(ENV_PREFIX + "DATA_DIR") or "var").resolve()
        database_url = env.get(ENV_PREFIX + "DATABASE_URL") or f"sqlite:///{data_dir / 'citizenry.sqlite3'}"
        _check_database_url(database_url)
        if database_url.startswith("sqlite"):
            data_dir.mkdir(parents=True, exist_ok=True)

        secret_key = env.get(ENV_PREFIX + "SECRET_KEY") or _load_or_create_secret_key(data_dir)
        if len(secret_key) < 32:
            raise SettingsError(f"{ENV_PREFIX}SECRET_KEY must be at least 32 characters long.")

        base_domain = (env.get(ENV_PREFIX + "BASE_DOMAIN") or "localhost").strip().lower().rstrip(".")
        if not HOST_NAME.fullmatch(base_domain):
            raise SettingsError(
                f"{ENV_PREFIX}BASE_DOMAIN={base_domain!r} must be a bare host name such as 'example.org'."
            )

        log_level = (env.get(ENV_PREFIX + "LOG_LEVEL") or "INFO").upper()
        if log_level not in {"DEBUG", "INFO", "WARNING", "ERROR"}:
            raise SettingsError(f"{ENV_PREFIX}LOG_LEVEL={log_level!r} must be DEBUG, INFO, WARNING or ERROR.")

        log_format = (env.get(ENV_PREFIX + "LOG_FORMAT") or "plain").strip().lower()
        if log_format not in LOG_FORMATS:
            raise SettingsError(f"{ENV_PREFIX}LOG_FORMAT={log_format!r} must be plain or json.")

        default_nation = (env.get(ENV_PREFIX + "DEFAULT_NATION") or "").strip().lower() or None
        if default_nation is not None and not SLUG_PATTERN.fullmatch(default_nation):
            raise SettingsError(
                f"{ENV_PREFIX}DEFAULT_NATION={default_nation!r} is not a nation slug: use lower-case "
                "letters, digits and inner hyphens."
            )

        insecure_http = _read_bool(env, "INSECURE_HTTP", False)
        return cls(
            database_url=database_url,
            secret_key=secret_key,
            base_domain=base_domain,
            default_nation=default_nation,
            insecure_http=insecure_http,
            access_token_ttl=_read_int(env, "ACCESS_TOKEN_TTL", 86400, 60),
            authorization_code_ttl=_read_int(env, "AUTHORIZATION_CODE_TTL", 600, 10, maximum=600),
            test_token_ttl=_read_int(env, "TEST_TOKEN_TTL", 86400, 60),
            refresh_token_max_age=_read_int(env, "REFRESH_TOKEN_MAX_AGE", 365 * 86400, 3600),
            oauth_rate_limit_per_app=_read_rule(env, "OAUTH_RATE_LIMIT_PER_APP", "120/minute"),
            oauth_rate_limit_per_ip=_read_rule(env, "OAUTH_RATE_LIMIT_PER_IP", "300/minute"),
            sign_in_rate_limit_per_ip=_read_rule(env, "SIGN_IN_RATE_LIMIT_PER_IP", "30/minute"),
            sign_in_rate_limit_per_email=_read_rule(env, "SIGN_IN_RATE_LIMIT_PER_EMAIL", "10/minute"),
            api_rate_limit_per_token=_read_rule(env, "API_RATE_LIMIT_PER_TOKEN", "250/10 seconds"),
            database_pool_size=_read_int(env, "DATABASE_POOL_SIZE", 20, 1, maximum=1000),
            database_max_overflow=_read_int(env, "DATABASE_MAX_OVERFLOW", 20, 0, maximum=1000),
            database_pool_timeout=_read_int(env, "DATABASE_POOL_TIMEOUT", 30, 1, maximum=600),
            # anyio's default thread pool, which runs the transactions, has 40 threads.
            database_threads=_read_int(env, "DATABASE_THREADS", 2, 1, maximum=40),
            database_pgbouncer=_read_bool(env, "DATABASE_PGBOUNCER", False),
            redis_url=_read_redis_url(env),
            redis_key_prefix=_read_redis_key_prefix(env),
            log_level=log_level,
            log_format=log_format,
            metrics_enabled=_read_bool(env, "METRICS", True),
            session_cookie_secure=not insecure_http,
            trusted_proxies=_read_trusted_proxies(env),
        )
