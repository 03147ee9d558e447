"""Rate limits with the ``limits`` library, in a moving window.

Counters live in this process's memory, so with several worker processes each one allows
the full limit. NOTE: a shared Redis store is planned; until then limits are per process.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass

from limits import RateLimitItem, parse
from limits.aio.strategies import FixedWindowRateLimiter, MovingWindowRateLimiter
from limits.storage import storage_from_string

logger = logging.getLogger(__name__)


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


@dataclass(frozen=True)
class Rule:
    name: str
    item: RateLimitItem


class RateLimiter:
    def __init__(self, storage_uri: str = "async+memory://") -> None:
        self._limiter = MovingWindowRateLimiter(storage_from_string(storage_uri))

    async def hit(self, rule: Rule, *identifiers: str) -> None:
        """Count one request; raise :class:`RateLimited` when the rule's limit is already reached."""
        if await self._limiter.hit(rule.item, rule.name, *identifiers):
            return
        stats = await self._limiter.get_window_stats(rule.item, rule.name, *identifiers)
        retry_after = max(1, math.ceil(stats.reset_time - time.time()))
        logger.warning("rate limit %s reached; retry after %ss", rule.name, retry_after)
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
    """The limiters with the rules of one app instance."""

    def __init__(
        self,
        *,
        oauth_per_app: str,
        oauth_per_ip: str,
        sign_in_per_ip: str,
        sign_in_per_email: str,
        api_per_token: str = "250/10 seconds",  # noqa: S107 (a rate, not a secret)
    ):
        self.limiter = RateLimiter()
        # The API's limit is a fixed window, as NationBuilder's is: its headers give the end of
        # the window, when the whole quota comes back.
        self.api_limiter = FixedWindowRateLimiter(storage_from_string("async+memory://"))
        self.api_per_token = parse_rule(api_per_token)
        self.oauth_per_app = Rule("oauth-app", parse_rule(oauth_per_app))
        self.oauth_per_ip = Rule("oauth-ip", parse_rule(oauth_per_ip))
        self.sign_in_per_ip = Rule("sign-in-ip", parse_rule(sign_in_per_ip))
        self.sign_in_per_email = Rule("sign-in-email", parse_rule(sign_in_per_email))

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
