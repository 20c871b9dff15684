"""The gateway's state in Redis, for the scale-out mode: every gateway process (and a restarted one)
sees the same redelivery keys, rate-limit windows and Zalo tokens.

Rate limits use the `limits` library's own Redis storage and moving window (the same counting as the
SQLite store of the embedded mode); redelivery keys are `SET NX EX` (first writer wins, Redis expires
them); the tokens are one hash per channel. Every Redis failure surfaces as StateUnavailable, so the
gateway apologises instead of answering twice or without a limit; the client reconnects by itself
once Redis is back.
"""
from __future__ import annotations

import datetime as dt

import redis
from limits import RateLimitItem
from limits.errors import StorageError
from limits.storage import RedisStorage
from limits.strategies import MovingWindowRateLimiter

from bot.addresses import RedisAddress
from bot.state import digest, unavailable_on
from retrieval.privacy import SenderActivity

PREFIX = "trolyao:gateway"
# `limits` keys a moving window as PREFIX:limits:LIMITER/<sender>/<amount>/<multiples>/<granularity>,
# a list of hit timestamps, newest first, expiring with the window.
LIMITS_KEYS = f"{PREFIX}:limits:LIMITER/"
TIMEOUT_S = 2.0    # a Redis that does not answer within this is down, for this message


class RedisGatewayState:
    def __init__(self, address: RedisAddress):
        options = {"socket_timeout": TIMEOUT_S, "socket_connect_timeout": TIMEOUT_S}
        self.redis = redis.Redis(host=address.host, port=address.port, db=address.db, password=address.password,
                                 decode_responses=True, **options)
        storage = RedisStorage(address.url, key_prefix=f"{PREFIX}:limits", wrap_exceptions=True, **options)
        self.limiter = MovingWindowRateLimiter(storage)

    def first_time(self, key: str, ttl_s: float) -> bool:
        with unavailable_on(redis.RedisError):
            return bool(self.redis.set(f"{PREFIX}:seen:{key}", 1, nx=True, ex=max(1, round(ttl_s))))

    def hit(self, limits: list[RateLimitItem], key: str) -> bool:
        """Count one hit of ``key``; False (and not counted) when any limit's window is full."""
        with unavailable_on(StorageError, redis.RedisError):
            if not all(self.limiter.test(limit, key) for limit in limits):
                return False
            for limit in limits:
                self.limiter.hit(limit, key)
        return True

    def tokens(self, name: str, configured_access: str, configured_refresh: str) -> tuple[str, str]:
        """As GatewayState.tokens: the newest pair, unless the operator configured another refresh token."""
        with unavailable_on(redis.RedisError):
            saved = self.redis.hgetall(f"{PREFIX}:tokens:{name}")
        if saved.get("origin") == digest(configured_refresh):
            return saved["access"], saved["refresh"]
        return configured_access, configured_refresh

    def save_tokens(self, name: str, configured_refresh: str, access: str, refresh: str) -> None:
        with unavailable_on(redis.RedisError):
            self.redis.hset(f"{PREFIX}:tokens:{name}",
                            mapping={"origin": digest(configured_refresh), "access": access, "refresh": refresh})

    # -- the user's rights (retrieval.privacy.SenderData), as GatewayState: rate-limit hits only

    name = "gateway"
    unit = "rate-limit hits"

    def _windows(self) -> dict[str, list[str]]:
        """Each sender's rate-limit keys (one per limit)."""
        windows: dict[str, list[str]] = {}
        with unavailable_on(redis.RedisError):
            for key in self.redis.scan_iter(match=f"{LIMITS_KEYS}*", count=500):
                sender = key[len(LIMITS_KEYS):].rsplit("/", 3)[0]
                windows.setdefault(sender, []).append(key)
        return windows

    def _hits(self, keys: list[str]) -> list[float]:
        with unavailable_on(redis.RedisError):
            return sorted({float(at) for key in keys for at in self.redis.lrange(key, 0, -1)})

    def senders(self) -> list[SenderActivity]:
        return [SenderActivity(sender, _moment(max(hits)))
                for sender, keys in self._windows().items() if (hits := self._hits(keys))]

    def export(self, sender: str) -> list[dict]:
        hits = self._hits(self._windows().get(sender, []))
        return [{"rate_limit_hit_at": _moment(at).isoformat(timespec="seconds")} for at in hits]

    def forget(self, sender: str) -> int:
        keys = self._windows().get(sender, [])
        removed = len(self._hits(keys))
        if keys:
            with unavailable_on(redis.RedisError):
                self.redis.delete(*keys)
        return removed

    def purge(self, before: dt.datetime) -> int:
        """Nothing to do: Redis expires each window with its limit, long before any retention."""
        return 0

    def close(self) -> None:
        self.redis.close()


def _moment(at: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(at, dt.timezone.utc)
