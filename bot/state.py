"""What the gateway must remember across a restart, in one SQLite file of the data directory.

- redelivery keys: a channel's message id answered once, even when the webhook is retried after a
  restart (kept for a day);
- rate-limit hits: a flood is still a flood after a restart (moving window, as `limits` counts);
- the Zalo tokens: a refresh token is single-use, so the one Zalo last issued must outlive the process.

The `limits` library has no SQLite storage (the scale-out mode uses its Redis one: bot/redis_state.py);
the moving window here is the few lines of SQL it takes. The file is created owner-only (it holds
tokens and hashed sender ids); writes are short transactions, so two gateway processes on one
machine can share it.
"""
from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import os
import sqlite3
import time
from pathlib import Path
from typing import Callable, Protocol

from limits import RateLimitItem

from retrieval.privacy import SenderActivity, SenderData
from retrieval.sqlite_files import write_ahead_log

_SCHEMA = """
CREATE TABLE IF NOT EXISTS seen (key TEXT PRIMARY KEY, expires_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS hits (key TEXT NOT NULL, at REAL NOT NULL);
CREATE INDEX IF NOT EXISTS hits_key_at ON hits (key, at);
CREATE TABLE IF NOT EXISTS tokens (name TEXT PRIMARY KEY, origin TEXT NOT NULL, access TEXT NOT NULL,
                                   refresh TEXT NOT NULL);
"""
BUSY_TIMEOUT_S = 10.0


class StateUnavailable(RuntimeError):
    """The gateway's store cannot be read or written (a locked or broken file, Redis down): the
    message is answered with an apology, never guessed at."""


class GatewayStore(Protocol):
    """What the gateway keeps across restarts and shares between processes (SQLite or Redis)."""

    def first_time(self, key: str, ttl_s: float) -> bool: ...

    def hit(self, limits: list[RateLimitItem], key: str) -> bool: ...

    def tokens(self, name: str, configured_access: str, configured_refresh: str) -> tuple[str, str]: ...

    def save_tokens(self, name: str, configured_refresh: str, access: str, refresh: str) -> None: ...

    def close(self) -> None: ...


class GatewaySenderData(GatewayStore, SenderData, Protocol):
    """A gateway store that also answers for what it keeps about each sender (its rate-limit hits)."""


def private_file(path: Path) -> None:
    """Create ``path`` (and its folder) readable by its owner only, before a server writes to it:
    it holds what users asked, or tokens."""
    path.parent.mkdir(parents=True, exist_ok=True)
    os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
    os.chmod(path, 0o600)


def gateway_store(settings, scaled: bool | None = None) -> GatewayStore:
    """Redis when several processes share the work (scale-out mode), else the data directory's SQLite."""
    if settings.scaled if scaled is None else scaled:
        from bot.addresses import RedisAddress
        from bot.redis_state import RedisGatewayState

        return RedisGatewayState(RedisAddress.parse(settings.redis_url))
    return GatewayState(settings.gateway_state_path)


def digest(value: str) -> str:
    """What a configured refresh token is remembered by (never the token itself)."""
    return hashlib.sha256(value.encode()).hexdigest()


@contextlib.contextmanager
def unavailable_on(*errors: type[BaseException]):
    """Turn a store's own errors into StateUnavailable (one type for the gateway to catch)."""
    try:
        yield
    except errors as exc:
        raise StateUnavailable(f"{type(exc).__name__}: {exc}") from exc


class GatewayState:
    """``path`` None keeps everything in memory (a process that needs no restart: tests, tools)."""

    def __init__(self, path: Path | None = None, clock: Callable[[], float] = time.time):
        self.path = path
        self.clock = clock
        if path is not None:
            private_file(path)
        self.db = sqlite3.connect(":memory:" if path is None else path, timeout=BUSY_TIMEOUT_S,
                                  isolation_level=None, check_same_thread=False)
        if path is not None:
            write_ahead_log(self.db)
        self.db.executescript(_SCHEMA)

    def first_time(self, key: str, ttl_s: float) -> bool:
        """True the first time ``key`` is seen within ``ttl_s`` (then it is remembered)."""
        now = self.clock()
        with unavailable_on(sqlite3.Error), self.db:
            self.db.execute("DELETE FROM seen WHERE expires_at <= ?", (now,))
            inserted = self.db.execute("INSERT OR IGNORE INTO seen VALUES (?, ?)", (key, now + ttl_s)).rowcount
        return inserted == 1

    def hit(self, limits: list[RateLimitItem], key: str) -> bool:
        """Count one hit of ``key``; False (and not counted) when any limit's window is full."""
        now = self.clock()
        longest = max(limit.get_expiry() for limit in limits)
        with unavailable_on(sqlite3.Error), self.db:
            self.db.execute("DELETE FROM hits WHERE key = ? AND at <= ?", (key, now - longest))
            for limit in limits:
                (count,) = self.db.execute("SELECT COUNT(*) FROM hits WHERE key = ? AND at > ?",
                                           (key, now - limit.get_expiry())).fetchone()
                if count >= limit.amount:
                    return False
            self.db.execute("INSERT INTO hits VALUES (?, ?)", (key, now))
        return True

    def tokens(self, name: str, configured_access: str, configured_refresh: str) -> tuple[str, str]:
        """The newest (access, refresh) pair for ``name``: the one saved after a refresh, unless the
        configuration has been given another refresh token since (an operator's new one wins)."""
        with unavailable_on(sqlite3.Error):
            row = self.db.execute("SELECT origin, access, refresh FROM tokens WHERE name = ?", (name,)).fetchone()
        if row is not None and row[0] == digest(configured_refresh):
            return row[1], row[2]
        return configured_access, configured_refresh

    def save_tokens(self, name: str, configured_refresh: str, access: str, refresh: str) -> None:
        with unavailable_on(sqlite3.Error), self.db:
            self.db.execute("INSERT OR REPLACE INTO tokens VALUES (?, ?, ?, ?)",
                            (name, digest(configured_refresh), access, refresh))

    # -- the user's rights (retrieval.privacy.SenderData). Rate-limit hits are keyed by the sender;
    # redelivery keys by the channel's message or update id alone (nothing ties them to a user) and
    # last a day; the Zalo tokens are the OA's, not a user's.

    name = "gateway"
    unit = "rate-limit hits"

    def senders(self) -> list[SenderActivity]:
        with unavailable_on(sqlite3.Error):
            rows = self.db.execute("SELECT key, MAX(at) FROM hits GROUP BY key").fetchall()
        return [SenderActivity(key, _moment(at)) for key, at in rows]

    def export(self, sender: str) -> list[dict]:
        with unavailable_on(sqlite3.Error):
            rows = self.db.execute("SELECT at FROM hits WHERE key = ? ORDER BY at", (sender,)).fetchall()
        return [{"rate_limit_hit_at": _moment(at).isoformat(timespec="seconds")} for (at,) in rows]

    def forget(self, sender: str) -> int:
        with unavailable_on(sqlite3.Error), self.db:
            return self.db.execute("DELETE FROM hits WHERE key = ?", (sender,)).rowcount

    def purge(self, before: dt.datetime) -> int:
        with unavailable_on(sqlite3.Error), self.db:
            return self.db.execute("DELETE FROM hits WHERE at < ?", (before.timestamp(),)).rowcount

    def close(self) -> None:
        self.db.close()


def _moment(at: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(at, dt.timezone.utc)

