"""The SQLite files several processes open at once (the action servers of the scaled mode, the
gateway, the CLI, a watcher): whoever opens a fresh file at the same moment as another still starts.

SQLite answers a second `PRAGMA journal_mode=WAL` on a file another connection is switching with
"database is locked" at once (its busy timeout does not cover that pragma). Threads with their own
connections race exactly as processes do. The race itself is rare (about one start in 400 here), so
one test makes it certain (another connection holds the fresh file's write lock while the store
opens) and another starts the stores together behind a barrier.
"""
from __future__ import annotations

import contextlib
import sqlite3
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Callable

import pytest

from bot.state import GatewayState
from retrieval.feedback import FeedbackStore
from retrieval.follow.store import FollowStore
from retrieval.sqlite_files import write_ahead_log
from retrieval.watch.ledger import Ledger



def follows(path: Path) -> FollowStore:
    store = FollowStore.sqlite(path)
    store.followers()          # it connects on first use: its first call is what opens the file
    return store


OPENERS: dict[str, Callable[[Path], object]] = {
    "feedback": FeedbackStore,
    "gateway state": GatewayState,
    "watch ledger": lambda path: Ledger(path, scope="index"),
    "follows": follows,
}
OPENERS_AT_ONCE = 4
ROUNDS = 10


@pytest.fixture
def another_process_writing(tmp_path):
    """A fresh file whose first writer (not yet in WAL mode) holds its write lock for a moment, as a
    process starting a little earlier does while it creates its tables."""
    path = tmp_path / "shared.sqlite3"
    holder = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    holder.execute("BEGIN IMMEDIATE")
    holder.execute("CREATE TABLE earlier (x)")
    done = threading.Timer(0.3, holder.execute, ("COMMIT",))
    done.start()
    yield path
    done.join()
    holder.close()


@pytest.mark.parametrize("store", sorted(OPENERS))
def test_a_store_opened_while_another_process_creates_the_file_waits_for_it(store, another_process_writing):
    opened = OPENERS[store](another_process_writing)
    with contextlib.suppress(AttributeError):   # the feedback store holds no connection
        opened.close()
    with contextlib.closing(sqlite3.connect(another_process_writing)) as db:
        assert db.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        assert db.execute("SELECT count(*) FROM sqlite_master WHERE name != 'earlier'").fetchone()[0] > 0


@pytest.mark.parametrize("store", sorted(OPENERS))
def test_a_fresh_file_opened_by_several_processes_at_once_starts_them_all(store, tmp_path):
    open_store = OPENERS[store]
    for round_ in range(ROUNDS):
        path = tmp_path / f"{round_}.sqlite3"
        together = threading.Barrier(OPENERS_AT_ONCE)

        def start(_: int) -> None:
            together.wait()
            opened = open_store(path)
            with contextlib.suppress(AttributeError):
                opened.close()

        with ThreadPoolExecutor(OPENERS_AT_ONCE) as pool:
            list(pool.map(start, range(OPENERS_AT_ONCE)))   # re-raises a failed start
        with contextlib.closing(sqlite3.connect(path)) as db:
            assert db.execute("PRAGMA journal_mode").fetchone() == ("wal",), (store, round_)


def test_a_file_another_keeps_locked_is_an_error_after_the_patience(tmp_path):
    path = tmp_path / "held.sqlite3"
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("CREATE TABLE t (x)")
    holder.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            write_ahead_log(sqlite3.connect(path, timeout=0.0), patience_s=0.2)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
