"""Rasa's conversations as stored by its SQL tracker store, for the user's rights (retrieval.privacy).

The stack chooses the store (bot/processes.py): SQLite `conversations.sqlite3` in the data directory,
or PostgreSQL at TROLYAO_DATABASE_URL in the scale-out mode. Both hold Rasa's table `events`: one row
per event, `sender_id`, `timestamp` (epoch seconds) and the event itself as JSON in `data`. Rasa
reads a conversation back from these rows on every turn (no cache), so deleting a sender's rows
empties their conversation for the next turn. Rasa only reads the current session (sessions expire
after an hour of silence, domain.yml), so deleting rows older than the retention never cuts into a
live one. A store whose file or table does not exist yet holds nothing.
"""
from __future__ import annotations

import datetime as dt
import json
import sqlite3
from contextlib import closing
from pathlib import Path
from typing import Any

from retrieval.privacy import SenderActivity

BUSY_TIMEOUT_S = 10.0
CONNECT_TIMEOUT_S = 5


class ConversationsUnavailable(RuntimeError):
    """The tracker store cannot be read or changed (PostgreSQL down, a broken file)."""


def _event(data: str | None, timestamp: float | None) -> dict[str, Any]:
    try:
        event = json.loads(data) if data else {}
    except ValueError:
        event = {"data": data}
    event.setdefault("timestamp", timestamp)
    return event


def _moment(timestamp: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(timestamp, dt.timezone.utc)


class SQLiteConversations:
    """Rasa's tracker store in SQLite (the embedded mode)."""

    name = "conversations"
    unit = "events"

    def __init__(self, path: Path):
        self.path = path

    def _rows(self, query: str, params: tuple = ()) -> list[tuple]:
        if not self.path.exists():
            return []
        with closing(self._connect()) as db:
            try:
                return db.execute(query, params).fetchall()
            except sqlite3.OperationalError as exc:
                if "no such table" in str(exc):
                    return []
                raise ConversationsUnavailable(f"{self.path}: {exc}") from exc

    def _delete(self, statement: str, params: tuple) -> int:
        if not self.path.exists():
            return 0
        with closing(self._connect()) as db:
            try:
                with db:
                    return db.execute(statement, params).rowcount
            except sqlite3.OperationalError as exc:
                if "no such table" in str(exc):
                    return 0
                raise ConversationsUnavailable(f"{self.path}: {exc}") from exc

    def _connect(self) -> sqlite3.Connection:
        try:
            return sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_S)
        except sqlite3.Error as exc:
            raise ConversationsUnavailable(f"{self.path}: {exc}") from exc

    def senders(self) -> list[SenderActivity]:
        return [SenderActivity(sender, _moment(last)) for sender, last in
                self._rows("SELECT sender_id, MAX(timestamp) FROM events GROUP BY sender_id")]

    def export(self, sender: str) -> list[dict[str, Any]]:
        return [_event(data, at) for data, at in
                self._rows("SELECT data, timestamp FROM events WHERE sender_id = ? ORDER BY id", (sender,))]

    def forget(self, sender: str) -> int:
        return self._delete("DELETE FROM events WHERE sender_id = ?", (sender,))

    def purge(self, before: dt.datetime) -> int:
        return self._delete("DELETE FROM events WHERE timestamp < ?", (before.timestamp(),))


class PostgresConversations:
    """Rasa's tracker store in PostgreSQL (the scale-out mode), through psycopg 3."""

    name = "conversations"
    unit = "events"

    def __init__(self, url: str):
        self.url = url

    def _run(self, statement: str, params: tuple = (), fetch: bool = True) -> list[tuple] | int:
        import psycopg

        try:
            with psycopg.connect(self.url, connect_timeout=CONNECT_TIMEOUT_S) as db:
                exists = db.execute("SELECT to_regclass('events')").fetchone()[0]
                if exists is None:      # Rasa creates it on its first start
                    return [] if fetch else 0
                cursor = db.execute(statement, params)
                return cursor.fetchall() if fetch else cursor.rowcount
        except psycopg.Error as exc:
            raise ConversationsUnavailable(f"PostgreSQL: {type(exc).__name__}: {exc}".strip()) from exc

    def senders(self) -> list[SenderActivity]:
        return [SenderActivity(sender, _moment(last)) for sender, last in
                self._run("SELECT sender_id, MAX(timestamp) FROM events GROUP BY sender_id")]

    def export(self, sender: str) -> list[dict[str, Any]]:
        return [_event(data, at) for data, at in
                self._run("SELECT data, timestamp FROM events WHERE sender_id = %s ORDER BY id", (sender,))]

    def forget(self, sender: str) -> int:
        return self._run("DELETE FROM events WHERE sender_id = %s", (sender,), fetch=False)

    def purge(self, before: dt.datetime) -> int:
        return self._run("DELETE FROM events WHERE timestamp < %s", (before.timestamp(),), fetch=False)
