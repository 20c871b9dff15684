"""User feedback on answers (👍 / 👎, and fallbacks where the assistant abstained), kept in SQLite.

The action server records one row per rating; ``trolyao feedback export`` turns the 👎 and
abstained ones into candidate gold items. Several processes may write at once: the database is
in WAL mode, every write is one short transaction on its own connection, and a writer waits
(busy timeout) instead of failing while another one commits.
"""
from __future__ import annotations

import datetime as dt
import json
import sqlite3
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

from retrieval.errors import InputError
from retrieval.privacy import SenderActivity
from retrieval.sqlite_files import write_ahead_log

RATINGS = ("up", "down", "abstained")
BUSY_TIMEOUT_S = 30.0

_SCHEMA = """
CREATE TABLE IF NOT EXISTS feedback (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    conversation_id TEXT NOT NULL,
    rating TEXT NOT NULL CHECK (rating IN ('up', 'down', 'abstained')),
    question TEXT NOT NULL,
    answer TEXT NOT NULL,
    citations TEXT NOT NULL,      -- JSON list of citation objects (trolyao ask --json schema)
    created_at TEXT NOT NULL      -- ISO 8601, UTC
);
CREATE INDEX IF NOT EXISTS feedback_created ON feedback (created_at);
"""


@dataclass
class FeedbackRecord:
    conversation_id: str
    rating: str            # "up" | "down" | "abstained"
    question: str
    answer: str
    citations: list[dict] = field(default_factory=list)
    created_at: str = ""   # ISO 8601 UTC, filled on record() when empty


def default_feedback_path() -> Path:
    """$TROLYAO_FEEDBACK, else $XDG_DATA_HOME (or ~/.local/share)/trolyao/feedback.sqlite3."""
    from retrieval.settings import Settings

    return Settings.load().feedback_path


def _utc_now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


def _normalize_timestamp(value: str) -> str:
    """Stored timestamps are UTC ISO 8601 so that they compare as text."""
    try:
        moment = dt.datetime.fromisoformat(value)
    except ValueError as exc:
        raise InputError(f"created_at: expected an ISO 8601 timestamp, not {value!r}") from exc
    return _utc_iso(moment)


def _utc_iso(moment: dt.datetime) -> str:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.timezone.utc)
    return moment.astimezone(dt.timezone.utc).isoformat(timespec="seconds")


def _since_bound(since: str) -> str:
    """A lower bound comparable with stored timestamps: a date (YYYY-MM-DD) or an ISO datetime."""
    try:
        if len(since) == 10:
            return dt.date.fromisoformat(since).isoformat()
        moment = dt.datetime.fromisoformat(since)
    except ValueError as exc:
        raise InputError(f"since: expected an ISO date or datetime, not {since!r}") from exc
    return _utc_iso(moment)


class FeedbackStore:
    def __init__(self, path: Path | None = None) -> None:
        self.path = Path(path) if path is not None else default_feedback_path()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with closing(self._connect()) as connection:
            write_ahead_log(connection)
            with connection:
                connection.executescript(_SCHEMA)

    def _connect(self) -> sqlite3.Connection:
        connection = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_S, isolation_level=None)
        connection.execute(f"PRAGMA busy_timeout={int(BUSY_TIMEOUT_S * 1000)}")
        return connection

    def record(self, record: FeedbackRecord) -> None:
        if record.rating not in RATINGS:
            raise InputError(f"feedback rating must be one of {', '.join(RATINGS)}, not {record.rating!r}")
        record.created_at = _normalize_timestamp(record.created_at) if record.created_at else _utc_now()
        row = (record.conversation_id, record.rating, record.question, record.answer,
               json.dumps(record.citations, ensure_ascii=False), record.created_at)
        with closing(self._connect()) as connection:
            connection.execute("BEGIN IMMEDIATE")
            try:
                connection.execute("INSERT INTO feedback (conversation_id, rating, question, answer, citations, "
                                   "created_at) VALUES (?, ?, ?, ?, ?, ?)", row)
            except BaseException:
                connection.execute("ROLLBACK")
                raise
            connection.execute("COMMIT")

    def records(self, since: str | None = None, ratings: Iterable[str] | None = None) -> list[FeedbackRecord]:
        """Records in the order they were made; ``since`` is an ISO date or datetime (inclusive)."""
        query = "SELECT conversation_id, rating, question, answer, citations, created_at FROM feedback"
        clauses, params = [], []
        if since:
            clauses.append("created_at >= ?")
            params.append(_since_bound(since))
        if ratings is not None:
            wanted = list(ratings)
            unknown = [r for r in wanted if r not in RATINGS]
            if unknown:
                raise InputError(f"unknown feedback rating {unknown[0]!r} (known: {', '.join(RATINGS)})")
            clauses.append(f"rating IN ({', '.join('?' * len(wanted))})" if wanted else "0")
            params.extend(wanted)
        if clauses:
            query += " WHERE " + " AND ".join(clauses)
        query += " ORDER BY created_at, id"
        with closing(self._connect()) as connection:
            rows = connection.execute(query, params).fetchall()
        return [FeedbackRecord(conversation_id=c, rating=r, question=q, answer=a, citations=json.loads(j),
                               created_at=t) for c, r, q, a, j, t in rows]

    # -- the user's rights (retrieval.privacy.SenderData): their ratings and abstained questions --

    name = "feedback"
    unit = "records (ratings, abstained questions)"

    def senders(self) -> list[SenderActivity]:
        with closing(self._connect()) as connection:
            rows = connection.execute("SELECT conversation_id, MAX(created_at) FROM feedback "
                                      "GROUP BY conversation_id").fetchall()
        return [SenderActivity(sender, dt.datetime.fromisoformat(last)) for sender, last in rows]

    def export(self, sender: str) -> list[dict]:
        with closing(self._connect()) as connection:
            rows = connection.execute("SELECT rating, question, answer, citations, created_at FROM feedback "
                                      "WHERE conversation_id = ? ORDER BY created_at, id", (sender,)).fetchall()
        return [{"rating": r, "question": q, "answer": a, "citations": json.loads(c), "created_at": t}
                for r, q, a, c, t in rows]

    def forget(self, sender: str) -> int:
        return self._delete("DELETE FROM feedback WHERE conversation_id = ?", (sender,))

    def purge(self, before: dt.datetime) -> int:
        return self._delete("DELETE FROM feedback WHERE created_at < ?", (_utc_iso(before),))

    def _delete(self, statement: str, params: tuple) -> int:
        with closing(self._connect()) as connection:
            connection.execute("BEGIN IMMEDIATE")
            try:
                deleted = connection.execute(statement, params).rowcount
            except BaseException:
                connection.execute("ROLLBACK")
                raise
            connection.execute("COMMIT")
        return deleted
