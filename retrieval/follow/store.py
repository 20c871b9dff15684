"""Subscriptions and the notifications already sent, in SQLite (embedded mode) or PostgreSQL (scale-out).

Tables (one schema in both databases):
- ``follows``: a user (``channel:id``, as everywhere) follows a topic: an agency's canonical name,
  or ``NEWS`` (every new bulletin);
- ``sent``: one row per (user, kind, item) notified. A notification is *claimed* here
  (INSERT … ON CONFLICT DO NOTHING) before it is sent, so a restart, a re-ingest or a second
  gateway process never sends it twice (at most once: a send that fails after its claim is logged,
  not retried);
- ``known``: the task keys and bulletins the notifier has already seen, so it can tell what a new
  generation added even when it missed the generations between (two are kept on disk);
- ``inbound``: when a user last wrote (Zalo and Messenger only allow messages within a window);
- ``pending``: notifications for web chat users, shown at their next visit.

Every statement is written with ``?`` placeholders; PostgreSQL's driver gets them as ``%s``.
"""
from __future__ import annotations

import contextlib
import datetime as dt
import os
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable

from retrieval.privacy import SenderActivity
from retrieval.sqlite_files import write_ahead_log

NEWS = "*tin mới*"   # the topic "every new bulletin" (never an agency name)
# Items recorded as known by one INSERT: two per bound parameter, well under SQLite's 32,766 and
# PostgreSQL's 65,535 parameters.
KNOWN_BATCH = 10_000
SCHEMA_LOCK = 0x74726F6C79616F   # PostgreSQL advisory lock key of this schema's creation ("trolyao")

_TABLES = """
CREATE TABLE IF NOT EXISTS follows (sender TEXT NOT NULL, topic TEXT NOT NULL, created_at DOUBLE PRECISION NOT NULL,
                                    PRIMARY KEY (sender, topic));
CREATE TABLE IF NOT EXISTS sent (sender TEXT NOT NULL, kind TEXT NOT NULL, item TEXT NOT NULL,
                                 at DOUBLE PRECISION NOT NULL, PRIMARY KEY (sender, kind, item));
CREATE TABLE IF NOT EXISTS known (kind TEXT NOT NULL, item TEXT NOT NULL, PRIMARY KEY (kind, item));
CREATE TABLE IF NOT EXISTS inbound (sender TEXT PRIMARY KEY, at DOUBLE PRECISION NOT NULL);
CREATE TABLE IF NOT EXISTS retry (sender TEXT NOT NULL, kind TEXT NOT NULL, item TEXT NOT NULL, text TEXT NOT NULL,
                                  attempts INTEGER NOT NULL, due DOUBLE PRECISION NOT NULL,
                                  at DOUBLE PRECISION NOT NULL, PRIMARY KEY (sender, kind, item));
"""
_PENDING = {
    "sqlite": "CREATE TABLE IF NOT EXISTS pending (id INTEGER PRIMARY KEY AUTOINCREMENT, sender TEXT NOT NULL,"
              " text TEXT NOT NULL, at DOUBLE PRECISION NOT NULL)",
    "postgres": "CREATE TABLE IF NOT EXISTS pending (id BIGSERIAL PRIMARY KEY, sender TEXT NOT NULL,"
                " text TEXT NOT NULL, at DOUBLE PRECISION NOT NULL)",
}


class FollowsUnavailable(RuntimeError):
    """The subscriptions' database cannot be read or written (PostgreSQL down, a locked file)."""


@dataclass(frozen=True)
class Follow:
    sender: str
    topic: str


class FollowStore:
    """One connection, opened on first use and used under a lock (the action server's and the
    gateway's threads share it)."""

    name = "follows"
    unit = "records (subscriptions, notifications sent and waiting)"

    def __init__(self, connect: Callable[[], Any], dialect: str, clock: Callable[[], float] = time.time,
                 errors: tuple[type[BaseException], ...] = (sqlite3.Error,)):
        """``connect`` opens the connection, on first use and again after the database failed (a
        PostgreSQL restart); ``errors`` are the driver's, reported as FollowsUnavailable."""
        self._connect, self.dialect, self.clock, self._errors = connect, dialect, clock, errors
        self._db: Any = None
        self._lock = threading.Lock()

    @classmethod
    def sqlite(cls, path: Path, clock: Callable[[], float] = time.time) -> FollowStore:
        """The embedded mode's file, created owner-only (it names users)."""
        path.parent.mkdir(parents=True, exist_ok=True)
        os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
        os.chmod(path, 0o600)

        def connect() -> sqlite3.Connection:
            db = sqlite3.connect(path, timeout=10.0, isolation_level=None, check_same_thread=False)
            write_ahead_log(db)
            return db

        return cls(connect, "sqlite", clock)

    @classmethod
    def postgres(cls, url: str, clock: Callable[[], float] = time.time) -> FollowStore:
        import psycopg

        return cls(lambda: psycopg.connect(url, autocommit=True, connect_timeout=5), "postgres", clock,
                   (psycopg.Error,))

    def _execute(self, sql: str, params: Iterable[Any], fetch: bool) -> Any:
        if self.dialect == "postgres":
            sql = sql.replace("?", "%s")
        with self._lock:
            try:
                if self._db is None:
                    db = self._connect()
                    with self._schema_turn(db):
                        for statement in [*_TABLES.split(";"), _PENDING[self.dialect]]:
                            if statement.strip():
                                db.execute(statement)
                    self._db = db
                cursor = self._db.execute(sql, tuple(params))
                return cursor.fetchall() if fetch else cursor
            except self._errors as exc:
                if self.dialect == "postgres" and self._db is not None:   # reconnect on the next call
                    with contextlib.suppress(Exception):
                        self._db.close()
                    self._db = None
                where = "PostgreSQL" if self.dialect == "postgres" else "SQLite"
                raise FollowsUnavailable(f"{where}: {type(exc).__name__}: {exc}".strip()) from exc

    @contextlib.contextmanager
    def _schema_turn(self, db: Any):
        """PostgreSQL's CREATE TABLE IF NOT EXISTS fails when two processes run it at once (a unique
        violation in its catalog: two gateways starting on a fresh database), so they take turns under
        an advisory lock. SQLite's write lock already makes them."""
        if self.dialect != "postgres":
            yield
            return
        db.execute("SELECT pg_advisory_lock(%s)", (SCHEMA_LOCK,))
        try:
            yield
        finally:
            db.execute("SELECT pg_advisory_unlock(%s)", (SCHEMA_LOCK,))

    def _run(self, sql: str, params: Iterable[Any] = ()) -> Any:
        return self._execute(sql, params, fetch=False)

    def _rows(self, sql: str, params: Iterable[Any] = ()) -> list[tuple]:
        return self._execute(sql, params, fetch=True)

    # -- subscriptions (written by the action server) ------------------------------------------
    def follow(self, sender: str, topic: str) -> bool:
        """True when this is new (False: the user already followed it)."""
        return self._run("INSERT INTO follows VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
                         (sender, topic, self.clock())).rowcount == 1

    def unfollow(self, sender: str, topic: str | None = None) -> list[str]:
        """Stop following ``topic`` (None: everything); the topics that were followed."""
        topics = self.topics(sender)
        gone = [t for t in topics if topic is None or t == topic]
        if topic is None:
            self._run("DELETE FROM follows WHERE sender = ?", (sender,))
        else:
            self._run("DELETE FROM follows WHERE sender = ? AND topic = ?", (sender, topic))
        return gone

    def topics(self, sender: str) -> list[str]:
        return [t for (t,) in self._rows("SELECT topic FROM follows WHERE sender = ? ORDER BY created_at, topic",
                                         (sender,))]

    def followers(self) -> list[Follow]:
        return [Follow(s, t) for s, t in self._rows("SELECT sender, topic FROM follows ORDER BY sender, topic")]

    # -- never twice ---------------------------------------------------------------------------
    def claim(self, sender: str, kind: str, item: str) -> bool:
        """True for the one caller that may send this notification; False ever after, in any process."""
        return self._run("INSERT INTO sent VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
                         (sender, kind, item, self.clock())).rowcount == 1

    def hold(self, sender: str, kind: str, item: str, text: str, lease_s: float) -> None:
        """A claimed notification about to be sent: kept until ``settled``, so if this process dies
        before it is sent, another (or this one restarted) sends it once the lease is over."""
        now = self.clock()
        self._run("INSERT INTO retry VALUES (?, ?, ?, ?, 0, ?, ?) ON CONFLICT (sender, kind, item) DO NOTHING",
                  (sender, kind, item, text, now + lease_s, now))

    def retry_later(self, sender: str, kind: str, item: str, text: str, backoff_s: float) -> int:
        """A claimed notification whose sending failed for a passing reason: sent again after
        ``backoff_s`` (doubled with each failure) by whichever process takes it first (take_due).
        Returns the failed attempts so far."""
        now = self.clock()
        self._run("INSERT INTO retry VALUES (?, ?, ?, ?, 0, ?, ?) ON CONFLICT (sender, kind, item) DO NOTHING",
                  (sender, kind, item, text, now, now))
        self._run("UPDATE retry SET attempts = attempts + 1 WHERE sender = ? AND kind = ? AND item = ?",
                  (sender, kind, item))
        (attempts,), = self._rows("SELECT attempts FROM retry WHERE sender = ? AND kind = ? AND item = ?",
                                  (sender, kind, item))
        self._run("UPDATE retry SET due = ? WHERE sender = ? AND kind = ? AND item = ?",
                  (now + backoff_s * 2 ** (attempts - 1), sender, kind, item))
        return attempts

    def take_due(self, lease_s: float) -> list[tuple[str, str, str, str]]:
        """The retries due now, each leased to this caller for ``lease_s`` (another process skips it)."""
        now = self.clock()
        taken = []
        for sender, kind, item, text, due in self._rows("SELECT sender, kind, item, text, due FROM retry"
                                                        " WHERE due <= ?", (now,)):
            if self._run("UPDATE retry SET due = ? WHERE sender = ? AND kind = ? AND item = ? AND due = ?",
                         (now + lease_s, sender, kind, item, due)).rowcount == 1:
                taken.append((sender, kind, item, text))
        return taken

    def settled(self, sender: str, kind: str, item: str) -> None:
        """Sent at last, or given up on: no more retries."""
        self._run("DELETE FROM retry WHERE sender = ? AND kind = ? AND item = ?", (sender, kind, item))

    def unknown(self, kind: str, items: Iterable[str]) -> set[str]:
        """Which of ``items`` were not seen before (and remembers them all as seen now).

        The new ones go in by one statement, in one order (up to ``KNOWN_BATCH`` at a time): of two
        processes looking at a generation at once, one finds every new item and the other none, so a
        follower gets one message listing its new tasks, not two halves of it (row by row, each took
        some: seen on PostgreSQL)."""
        seen = {item for (item,) in self._rows("SELECT item FROM known WHERE kind = ?", (kind,))}
        candidates = sorted(set(items) - seen)
        fresh: set[str] = set()
        for start in range(0, len(candidates), KNOWN_BATCH):
            batch = candidates[start:start + KNOWN_BATCH]
            rows = ", ".join(["(?, ?)"] * len(batch))
            fresh.update(item for (item,) in self._rows(
                f"INSERT INTO known VALUES {rows} ON CONFLICT DO NOTHING RETURNING item",
                [value for item in batch for value in (kind, item)]))
        return fresh

    def is_known(self, kind: str, item: str) -> bool:
        return bool(self._rows("SELECT 1 FROM known WHERE kind = ? AND item = ?", (kind, item)))

    # -- channels' windows and the web chat's queue --------------------------------------------
    def wrote(self, sender: str) -> None:
        """The user just sent a message (opens Zalo's and Messenger's reply windows)."""
        self._run("INSERT INTO inbound VALUES (?, ?) ON CONFLICT (sender) DO UPDATE SET at = excluded.at",
                  (sender, self.clock()))

    def last_wrote(self, sender: str) -> float | None:
        rows = self._rows("SELECT at FROM inbound WHERE sender = ?", (sender,))
        return rows[0][0] if rows else None

    def queue(self, sender: str, text: str) -> None:
        self._run("INSERT INTO pending (sender, text, at) VALUES (?, ?, ?)", (sender, text, self.clock()))

    def take_pending(self, sender: str) -> list[str]:
        """The web user's waiting notifications, oldest first, removed as they are handed over."""
        rows = self._rows("SELECT id, text FROM pending WHERE sender = ? ORDER BY id", (sender,))
        for row_id, _ in rows:
            self._run("DELETE FROM pending WHERE id = ?", (row_id,))
        return [text for _, text in rows]

    # -- the user's rights (retrieval.privacy.SenderData) --------------------------------------
    def senders(self) -> list[SenderActivity]:
        rows = self._rows("SELECT sender, MAX(at) FROM (SELECT sender, created_at AS at FROM follows"
                          " UNION ALL SELECT sender, at FROM sent UNION ALL SELECT sender, at FROM pending"
                          " UNION ALL SELECT sender, at FROM inbound UNION ALL SELECT sender, at FROM retry)"
                          " AS held GROUP BY sender")
        return [SenderActivity(sender, _moment(at)) for sender, at in rows]

    def export(self, sender: str) -> list[dict]:
        records = [{"follows": topic} for topic in self.topics(sender)]
        records += [{"notified": kind, "item": item, "at": _moment(at).isoformat(timespec="seconds")}
                    for kind, item, at in self._rows("SELECT kind, item, at FROM sent WHERE sender = ? ORDER BY at",
                                                     (sender,))]
        records += [{"waiting": text} for (text,) in self._rows("SELECT text FROM pending WHERE sender = ?"
                                                                " ORDER BY id", (sender,))]
        records += [{"to_retry": text} for (text,) in self._rows("SELECT text FROM retry WHERE sender = ?"
                                                                 " ORDER BY at", (sender,))]
        return records

    def forget(self, sender: str) -> int:
        return sum(self._run(f"DELETE FROM {table} WHERE sender = ?", (sender,)).rowcount
                   for table in ("follows", "sent", "pending", "inbound", "retry"))

    def purge(self, before: dt.datetime) -> int:
        """Subscriptions stay until the user ends them; what was sent and last-write times age out
        (a purged ``sent`` row is for a task long since past, and the ``known`` keys still guard it)."""
        cutoff = before.timestamp()
        return sum(self._run(f"DELETE FROM {table} WHERE at < ?", (cutoff,)).rowcount
                   for table in ("sent", "pending", "inbound", "retry"))

    def close(self) -> None:
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None


def _moment(at: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(at, dt.timezone.utc)


def follow_store(settings) -> FollowStore:
    """The deployment's store: PostgreSQL in the scale-out mode, else the data directory's SQLite."""
    if settings.scaled:
        return FollowStore.postgres(settings.database_url)
    return FollowStore.sqlite(settings.follows_path)
