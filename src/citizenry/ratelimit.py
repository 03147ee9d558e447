"""Rate limits with the ``limits`` library.

The OAuth and sign-in limits count in a moving window, and the API's limit in a fixed window.
With ``CITIZENRY_REDIS_URL`` set, the counters live in Redis under keys that start with the key
prefix, so every server process that uses the same Redis and prefix shares them. Without it they
live in this process's memory, and with several worker processes each one allows the full limit.

A Redis failure fails open to this process's memory. A request is then counted per process, as
without Redis, and never gets a 500 because Redis is down. The error is
logged, and Redis is tried again :data:`REDIS_RETRY_SECONDS` later.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar, cast
from urllib.parse import urlsplit

from limits import RateLimitItem, parse
from limits.aio.storage import MemoryStorage, RedisStorage
from limits.aio.strategies import FixedWindowRateLimiter, MovingWindowRateLimiter
from limits.aio.strategies import RateLimiter as Strategy
from limits.errors import StorageError
from limits.util import WindowStats
from redis.asyncio import ConnectionPool, Redis
from redis.asyncio.connection import parse_url
from redis.exceptions import RedisError

from citizenry.ops.metrics import record_rate_limited

logger = logging.getLogger(__name__)

#: Seconds a Redis connection attempt or command may take before the check falls back to memory.
#: ``socket_connect_timeout`` and ``socket_timeout`` in the URL's query string override it.
REDIS_TIMEOUT_SECONDS = 1.0

#: Seconds during which the counters stay in memory after a Redis error, before Redis is tried again.
REDIS_RETRY_SECONDS = 5.0

#: The ``limits`` storage scheme for each Redis URL scheme that redis-py reads.
REDIS_SCHEMES = {"redis": "async+redis", "rediss": "async+rediss", "unix": "async+redis+unix"}

DEFAULT_KEY_PREFIX = "citizenry"

T = TypeVar("T")


class RateLimited(Exception):
    """Too many requests for one key; ``retry_after`` is in whole seconds."""

    def __init__(self, *, scope: str, retry_after: int) -> None:
        super().__init__(f"rate limit reached for {scope}")
        self.scope = scope
        self.retry_after = retry_after


def parse_rule(text: str) -> RateLimitItem:
    """Parse a rule such as ``"60/minute"``; raise ValueError naming the text when it is invalid."""
    try:
        return parse(text)
    except ValueError:
        raise ValueError(f"invalid rate limit {text!r}; write it like '60/minute' or '10/second'") from None


def check_redis_url(url: str) -> None:
    """Raise ValueError when ``url`` is not a Redis URL that redis-py can use.

    The messages never quote the URL, so they cannot show its password.
    """
    example = "write it like redis://127.0.0.1:6379/0, rediss://host:6380/0 or unix:///run/redis.sock"
    if not url.lower().startswith(tuple(f"{scheme}://" for scheme in REDIS_SCHEMES)):
        raise ValueError(f"the scheme must be redis, rediss or unix; {example}")

    parts = urlsplit(url)
    if parts.scheme.lower() == "unix":
        if not parts.path:
            raise ValueError(f"the socket path is missing; {example}")
    else:
        if not parts.hostname:
            raise ValueError(f"the host name is missing; {example}")
        try:
            port = parts.port
        except ValueError:
            port = 0
        if port == 0:
            raise ValueError(f"the port must be a number from 1 to 65535; {example}")
        database = parts.path.strip("/")
        if database and not database.isdigit():
            raise ValueError(f"the database number after the host must be an integer; {example}")

    try:
        parse_url(url)
    except ValueError as error:
        # redis-py's messages name the query parameter, never its value.
        raise ValueError(str(error)) from None


def safe_redis_url(url: str) -> str:
    """Return the URL without its user name, password and query string, for messages and logs."""
    parts = urlsplit(url)
    _, at, host = parts.netloc.rpartition("@")
    netloc = f"***@{host}" if at else host
    return f"{parts.scheme}://{netloc}{parts.path}"


class CounterStorage:
    """The counters' storage: Redis when a URL is given, with this process's memory as the fallback.

    Build it inside the event loop that will use it: the memory storage's locks and the Redis
    connections are bound to that loop.
    """

    def __init__(self, redis_url: str | None = None, key_prefix: str = DEFAULT_KEY_PREFIX) -> None:
        self.memory = MemoryStorage()
        self.redis: RedisStorage | None = None
        self.key_prefix = key_prefix
        self._pool: ConnectionPool | None = None
        self._redis_name = safe_redis_url(redis_url) if redis_url else None
        self._password = str(parse_url(redis_url).get("password") or "") if redis_url else ""
        #: Start of the current Redis outage, by time.monotonic(), or None while Redis responds.
        self._failing_since: float | None = None
        self._failures = 0
        self._retry_at = 0.0
        self._next_warning_at = 0.0
        if redis_url:
            # Values in the URL's query string win over these keyword arguments.
            self._pool = ConnectionPool.from_url(
                redis_url,
                socket_connect_timeout=REDIS_TIMEOUT_SECONDS,
                socket_timeout=REDIS_TIMEOUT_SECONDS,
            )
            scheme, _, rest = redis_url.partition(":")
            self.redis = RedisStorage(
                REDIS_SCHEMES[scheme.lower()] + ":" + rest,
                implementation="redispy",
                key_prefix=key_prefix,
                wrap_exceptions=True,
                # limits passes the pool on to redis.asyncio.Redis, although its annotation lists
                # scalar options only.
                connection_pool=cast(Any, self._pool),
            )

    async def start(self) -> None:
        """Log where the counters live and whether Redis responds to PING; a silent Redis is no error."""
        if self._pool is None:
            logger.info(
                "rate limit counters are kept in this process's memory; "
                "set CITIZENRY_REDIS_URL to share them between processes"
            )
            return

        logger.info(
            "rate limit counters are shared through Redis at %s under the key prefix %r",
            self._redis_name,
            self.key_prefix,
        )
        try:
            await Redis(connection_pool=self._pool).ping()
        except RedisError as error:
            # Requests still try Redis first, so the first of them logs the error again if it lasts.
            logger.warning(
                "Redis at %s did not respond to PING at start-up (%s); until it does, each process "
                "counts in its own memory",
                self._redis_name,
                self._describe(error),
            )

    async def close(self) -> None:
        if self._pool is not None:
            await self._pool.aclose()

    def redis_usable(self) -> bool:
        """Return whether the next check should go to Redis rather than to memory."""
        return self.redis is not None and time.monotonic() >= self._retry_at

    def redis_failed(self, error: BaseException) -> None:
        """Record a Redis error, log it, and keep the counters in memory for a while."""
        now = time.monotonic()
        self._failures += 1
        self._retry_at = now + REDIS_RETRY_SECONDS
        if self._failing_since is None:
            self._failing_since = now
            self._next_warning_at = now + REDIS_RETRY_SECONDS
            logger.error(
                "Redis at %s failed (%s); rate limits are counted in this process's memory "
                "and Redis is tried again in %s seconds",
                self._redis_name,
                self._describe(error),
                REDIS_RETRY_SECONDS,
            )
        elif now >= self._next_warning_at:
            # Requests that were already waiting on Redis fail together, so only one line per
            # interval is logged.
            self._next_warning_at = now + REDIS_RETRY_SECONDS
            logger.warning(
                "Redis at %s still fails (%s); %d errors in %.0f seconds",
                self._redis_name,
                self._describe(error),
                self._failures,
                now - self._failing_since,
            )

    def redis_responded(self) -> None:
        if self._failing_since is None:
            return
        logger.info(
            "Redis at %s responds again after %.0f seconds and %d errors; rate limits are shared again",
            self._redis_name,
            time.monotonic() - self._failing_since,
            self._failures,
        )
        self._failing_since = None
        self._failures = 0

    def _describe(self, error: BaseException) -> str:
        """Name the error's class and message, with the password masked should it appear."""
        text = f"{type(error).__name__}: {error}"
        return text.replace(self._password, "***") if self._password else text


class FallbackLimiter:
    """One ``limits`` strategy over Redis, switching to memory while Redis fails."""

    def __init__(self, strategy: type[Strategy], storage: CounterStorage) -> None:
        self._storage = storage
        self._memory = strategy(storage.memory)
        self._redis = strategy(storage.redis) if storage.redis is not None else None

    async def hit(self, item: RateLimitItem, *identifiers: str) -> bool:
        """Count one request and return False when the limit was already reached."""
        return await self._call(lambda limiter: limiter.hit(item, *identifiers))

    async def get_window_stats(self, item: RateLimitItem, *identifiers: str) -> WindowStats:
        return await self._call(lambda limiter: limiter.get_window_stats(item, *identifiers))

    async def _call(self, operation: Callable[[Strategy], Awaitable[T]]) -> T:
        if self._redis is not None and self._storage.redis_usable():
            try:
                result = await operation(self._redis)
            except StorageError as error:
                self._storage.redis_failed(error.storage_error)
            else:
                self._storage.redis_responded()
                return result
        return await operation(self._memory)


@dataclass(frozen=True)
class Rule:
    name: str
    item: RateLimitItem


class RateLimiter:
    """Rules counted in a moving window, whose :meth:`hit` raises :class:`RateLimited` over the limit."""

    def __init__(self, storage: CounterStorage) -> None:
        self._limiter = FallbackLimiter(MovingWindowRateLimiter, storage)

    async def hit(self, rule: Rule, *identifiers: str) -> None:
        """Count one request; raise :class:`RateLimited` when the rule's limit is already reached."""
        if await self._limiter.hit(rule.item, rule.name, *identifiers):
            return
        stats = await self._limiter.get_window_stats(rule.item, rule.name, *identifiers)
        retry_after = max(1, math.ceil(stats.reset_time - time.time()))
        logger.warning("rate limit %s reached; retry after %ss", rule.name, retry_after)
        record_rate_limited(rule.name)
        raise RateLimited(scope=rule.name, retry_after=retry_after)


@dataclass(frozen=True)
class Quota:
    """The state of one key in its window, for the rate limit headers of a response."""

    limit: int
    remaining: int
    #: Epoch time at which the window ends, in seconds.
    reset_time: float
    allowed: bool

    @property
    def reset_at(self) -> int:
        return math.ceil(self.reset_time)

    @property
    def seconds_left(self) -> int:
        return max(0, math.ceil(self.reset_time - time.time()))

    @property
    def retry_after(self) -> int:
        return max(1, self.seconds_left)


class RateLimits:
    """The limiters with the rules of one app instance.

    Call :meth:`start` and :meth:`close` from the app's lifespan.
    """

    def __init__(
        self,
        *,
        oauth_per_app: str,
        oauth_per_ip: str,
        sign_in_per_ip: str,
        sign_in_per_email: str,
        api_per_token: str = "250/10 seconds",  # noqa: S107 (a rate, not a secret)
        redis_url: str | None = None,
        redis_key_prefix: str = DEFAULT_KEY_PREFIX,
    ):
        self.storage = CounterStorage(redis_url, redis_key_prefix)
        self.limiter = RateLimiter(self.storage)
        # The API's limit is a fixed window, as NationBuilder's is: its headers give the end of
        # the window, when the whole quota comes back.
        self.api_limiter = FallbackLimiter(FixedWindowRateLimiter, self.storage)
        self.api_per_token = parse_rule(api_per_token)
        self.oauth_per_app = Rule("oauth-app", parse_rule(oauth_per_app))
        self.oauth_per_ip = Rule("oauth-ip", parse_rule(oauth_per_ip))
        self.sign_in_per_ip = Rule("sign-in-ip", parse_rule(sign_in_per_ip))
        self.sign_in_per_email = Rule("sign-in-email", parse_rule(sign_in_per_email))

    async def start(self) -> None:
        await self.storage.start()

    async def close(self) -> None:
        await self.storage.close()

    async def check_oauth(self, endpoint: str, client_id: str | None, ip: str) -> None:
        await self.limiter.hit(self.oauth_per_ip, endpoint, ip)
        if client_id:
            await self.limiter.hit(self.oauth_per_app, endpoint, client_id)

    async def hit_api(self, token_key: str) -> Quota:
        """Count one API request made with a token; return its quota, with whether it may proceed."""
        allowed = await self.api_limiter.hit(self.api_per_token, "api", token_key)
        stats = await self.api_limiter.get_window_stats(self.api_per_token, "api", token_key)
        return Quota(
            limit=self.api_per_token.amount,
            remaining=max(0, stats.remaining),
            reset_time=stats.reset_time,
            allowed=allowed,
        )

    async def check_sign_in(self, email: str, ip: str) -> None:
        await self.limiter.hit(self.sign_in_per_ip, ip)
        await self.limiter.hit(self.sign_in_per_email, email.strip().lower())
