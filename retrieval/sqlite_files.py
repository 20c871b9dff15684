"""Opening the SQLite files that several processes share (the embedded mode's stores).

Each store keeps its file in WAL mode so readers never wait for a writer. Two processes opening a
fresh file at once (the action servers and the gateway starting together) race on that switch: the
second gets "database is locked" at once, since SQLite's busy timeout does not cover
``PRAGMA journal_mode``; so the switch is tried again until the first has made it.
"""
from __future__ import annotations

import sqlite3
import time

WAL_PATIENCE_S = 10.0


def write_ahead_log(db: sqlite3.Connection, patience_s: float = WAL_PATIENCE_S) -> None:
    """Switch ``db``'s file to WAL, waiting up to ``patience_s`` for another connection's switch."""
    deadline = time.monotonic() + patience_s
    while True:
        try:
            db.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.02)
