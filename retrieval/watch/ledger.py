"""What the watcher has seen, per index (SQLite beside the captures): listings' validators, pages
(URL, capture, hash, validators, fetch time, status), folder files, and each generation's new documents
— what a followers' notifier reads to learn "what did this generation add"."""
from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from retrieval.sqlite_files import write_ahead_log
from retrieval.watch.fetcher import Validators

INGESTED, FAILED, DISCOVERED = "ingested", "failed", "discovered"

SCHEMA = """
CREATE TABLE IF NOT EXISTS listings (scope TEXT, url TEXT, etag TEXT, last_modified TEXT, checked_at TEXT,
    PRIMARY KEY (scope, url));
CREATE TABLE IF NOT EXISTS pages (scope TEXT, url TEXT, source TEXT, path TEXT, sha256 TEXT, etag TEXT,
    last_modified TEXT, fetched_at TEXT, status TEXT, failures INTEGER DEFAULT 0, last_error TEXT,
    generation TEXT, PRIMARY KEY (scope, url));
CREATE TABLE IF NOT EXISTS files (scope TEXT, path TEXT, source TEXT, size INTEGER, mtime_ns INTEGER,
    sha256 TEXT, status TEXT, failures INTEGER DEFAULT 0, last_error TEXT, generation TEXT, seen_at TEXT,
    PRIMARY KEY (scope, path));
CREATE TABLE IF NOT EXISTS generations (scope TEXT, generation TEXT, published_at TEXT,
    PRIMARY KEY (scope, generation));
CREATE TABLE IF NOT EXISTS generation_inputs (scope TEXT, generation TEXT, input TEXT, path TEXT,
    documents TEXT, PRIMARY KEY (scope, generation, input));
"""


@dataclass(frozen=True)
class PageRecord:
    url: str
    path: str | None
    sha256: str | None
    validators: Validators
    status: str
    failures: int


@dataclass(frozen=True)
class FileRecord:
    path: str
    size: int
    mtime_ns: int
    sha256: str | None
    status: str


@dataclass(frozen=True)
class AddedInput:
    """One page or file a generation added: its URL (pages) or path (files), its capture, and the
    numbers of the documents its items cite."""
    input: str
    path: str
    documents: list[str]


class Ledger:
    """Scoped to one index (``scope``: its directory), so watching into another index starts afresh."""

    def __init__(self, path: Path, scope: str):
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path, self.scope = path, scope
        self._db = sqlite3.connect(path, timeout=30, isolation_level=None)
        write_ahead_log(self._db)
        self._db.executescript(SCHEMA)

    def close(self) -> None:
        self._db.close()

    # listings
    def listing(self, url: str) -> Validators:
        row = self._db.execute("SELECT etag, last_modified FROM listings WHERE scope=? AND url=?",
                               (self.scope, url)).fetchone()
        return Validators(*row) if row else Validators()

    def set_listing(self, url: str, validators: Validators, at: str) -> None:
        self._db.execute("INSERT OR REPLACE INTO listings VALUES (?,?,?,?,?)",
                         (self.scope, url, validators.etag, validators.last_modified, at))

    # pages
    def page(self, url: str) -> PageRecord | None:
        row = self._db.execute("SELECT url, path, sha256, etag, last_modified, status, failures FROM pages "
                               "WHERE scope=? AND url=?", (self.scope, url)).fetchone()
        return None if row is None else PageRecord(row[0], row[1], row[2], Validators(row[3], row[4]), row[5], row[6])

    def discover(self, url: str, source: str) -> None:
        """A link seen on a listing: remembered at once, so a crash before its fetch does not lose it."""
        self._db.execute("INSERT OR IGNORE INTO pages (scope, url, source, status) VALUES (?,?,?,?)",
                         (self.scope, url, source, DISCOVERED))

    def pending(self, source: str) -> list[str]:
        """Pages of ``source`` discovered or failed, not yet ingested (retried each cycle)."""
        return [url for (url,) in self._db.execute(
            "SELECT url FROM pages WHERE scope=? AND source=? AND status!=? ORDER BY rowid",
            (self.scope, source, INGESTED))]

    def ingested_sha(self, sha256: str) -> str | None:
        """The URL of an ingested page with these bytes, if any."""
        row = self._db.execute("SELECT url FROM pages WHERE scope=? AND sha256=? AND status=?",
                               (self.scope, sha256, INGESTED)).fetchone()
        return row[0] if row else None

    def page_captured(self, url: str, source: str, path: Path | None, sha256: str, validators: Validators,
                      at: str) -> None:
        self._db.execute(
            "INSERT INTO pages (scope, url, source, path, sha256, etag, last_modified, fetched_at, status) "
            "VALUES (?,?,?,?,?,?,?,?,?) ON CONFLICT (scope, url) DO UPDATE SET "
            "sha256=excluded.sha256, etag=excluded.etag, last_modified=excluded.last_modified, "
            "fetched_at=excluded.fetched_at, path=COALESCE(excluded.path, path)",
            (self.scope, url, source, None if path is None else str(path), sha256, validators.etag,
             validators.last_modified, at, DISCOVERED))

    def page_done(self, url: str, generation: str | None) -> None:
        self._db.execute("UPDATE pages SET status=?, failures=0, last_error=NULL, generation=COALESCE(?, generation) "
                         "WHERE scope=? AND url=?", (INGESTED, generation, self.scope, url))

    def page_failed(self, url: str, source: str, error: str) -> None:
        self._db.execute("INSERT OR IGNORE INTO pages (scope, url, source, status) VALUES (?,?,?,?)",
                         (self.scope, url, source, FAILED))
        self._db.execute("UPDATE pages SET status=?, failures=failures+1, last_error=? WHERE scope=? AND url=?",
                         (FAILED, error, self.scope, url))

    # folder files
    def file(self, path: Path) -> FileRecord | None:
        row = self._db.execute("SELECT path, size, mtime_ns, sha256, status FROM files WHERE scope=? AND path=?",
                               (self.scope, str(path))).fetchone()
        return None if row is None else FileRecord(*row)

    def file_seen(self, path: Path, source: str, size: int, mtime_ns: int, sha256: str, status: str,
                  at: str, error: str | None = None, generation: str | None = None) -> None:
        self._db.execute(
            "INSERT INTO files (scope, path, source, size, mtime_ns, sha256, status, failures, last_error, "
            "generation, seen_at) VALUES (?,?,?,?,?,?,?,?,?,?,?) ON CONFLICT (scope, path) DO UPDATE SET "
            "size=excluded.size, mtime_ns=excluded.mtime_ns, sha256=excluded.sha256, status=excluded.status, "
            "failures=CASE WHEN excluded.status=? THEN failures+1 ELSE 0 END, last_error=excluded.last_error, "
            "generation=COALESCE(excluded.generation, generation), seen_at=excluded.seen_at",
            (self.scope, str(path), source, size, mtime_ns, sha256, status, int(status == FAILED), error,
             generation, at, FAILED))

    # generations
    def record_generation(self, generation: str, at: str, added: list[AddedInput]) -> None:
        with self._db:
            self._db.execute("BEGIN")
            self._db.execute("INSERT OR REPLACE INTO generations VALUES (?,?,?)", (self.scope, generation, at))
            self._db.executemany("INSERT OR REPLACE INTO generation_inputs VALUES (?,?,?,?,?)",
                                 [(self.scope, generation, a.input, a.path, json.dumps(a.documents, ensure_ascii=False))
                                  for a in added])

    def generations(self) -> list[str]:
        return [g for (g,) in self._db.execute(
            "SELECT generation FROM generations WHERE scope=? ORDER BY published_at, rowid", (self.scope,))]

    def added_by(self, generation: str) -> list[AddedInput]:
        """What the watcher's ingest into ``generation`` added (the notifier's question)."""
        return [AddedInput(i, p, json.loads(d)) for i, p, d in self._db.execute(
            "SELECT input, path, documents FROM generation_inputs WHERE scope=? AND generation=? ORDER BY rowid",
            (self.scope, generation))]
