"""SQLite passage store: inputs, passages (with their metadata and lexical tokens), documents.

A passage's ``row`` is its row in the FAISS matrix and the BM25 matrices, so every part of the
index agrees on one numbering (0..n-1, no gaps).
"""
from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator

from retrieval.errors import IndexCorruptError
from retrieval.schema import DOCUMENT_FIELDS, PUBLIC, DocumentRef, Passage, Task

SCHEMA = """
CREATE TABLE IF NOT EXISTS inputs (
    sha256 TEXT PRIMARY KEY,
    path TEXT NOT NULL,
    kind TEXT NOT NULL,
    title TEXT NOT NULL DEFAULT '',
    passages INTEGER NOT NULL,
    ingested_at TEXT NOT NULL,
    parser TEXT NOT NULL DEFAULT '',
    access TEXT NOT NULL DEFAULT 'public'
);
CREATE TABLE IF NOT EXISTS passages (
    row INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    input_sha256 TEXT NOT NULL REFERENCES inputs(sha256),
    text TEXT NOT NULL,
    source TEXT, title TEXT, heading TEXT,
    doc_number TEXT, doc_type TEXT, issued_date TEXT, issuer TEXT, signer TEXT,
    bulletin_date TEXT,
    mentions TEXT NOT NULL DEFAULT '[]',
    extra TEXT NOT NULL DEFAULT '{}',
    tokens_vi TEXT NOT NULL,
    tokens_fold TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS passages_doc ON passages(doc_number);
CREATE INDEX IF NOT EXISTS passages_date ON passages(issued_date);
CREATE TABLE IF NOT EXISTS mentions (
    doc_number TEXT NOT NULL,
    row INTEGER NOT NULL REFERENCES passages(row)
);
CREATE INDEX IF NOT EXISTS mentions_doc ON mentions(doc_number);
CREATE TABLE IF NOT EXISTS tasks (
    input_sha256 TEXT NOT NULL REFERENCES inputs(sha256),
    position INTEGER NOT NULL,
    data TEXT NOT NULL
);
"""

# The flat record (document fields spread); a passage's access is its input's, read by a join.
_PASSAGE_COLUMNS = [c for c in Passage(id="", text="").to_dict() if c != "access"]
_DOC_AT = [_PASSAGE_COLUMNS.index(c) for c in DOCUMENT_FIELDS]   # DocumentRef's fields, in its order
_OTHER_AT = [(i, c) for i, c in enumerate(_PASSAGE_COLUMNS) if c not in DOCUMENT_FIELDS]
_TEXT_COLUMNS = {"text": "''", "extra": "'{}'"}   # read as these when a walk leaves the text out
_SQL_VARIABLES = 900   # below SQLite's oldest limit on a statement's parameters (999)
# The passages a reader can read: those whose input is recorded (the join gives their access level).
_READABLE = "passages p JOIN inputs i ON i.sha256 = p.input_sha256"


@dataclass(frozen=True)
class InputRecord:
    sha256: str
    path: str
    kind: str
    title: str
    passages: int
    ingested_at: str
    parser: str = ""   # fingerprint of the ingest code that parsed it
    access: str = PUBLIC


class PassageStore:
    """Read-only by default: readers must never write into a published generation."""

    def __init__(self, path: Path, writable: bool = False):
        self.path = path
        try:
            if writable:
                self.db = sqlite3.connect(str(path), check_same_thread=False)
                self._ensure_schema()
            else:
                if not path.is_file():
                    raise IndexCorruptError(f"passage store {path} is missing")
                self.db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False)
                self.db.execute("SELECT 1 FROM passages LIMIT 1").fetchall()
        except sqlite3.DatabaseError as exc:
            raise IndexCorruptError(f"cannot read passage store {path}: {exc}") from exc
        # Generations written before inputs had an access level: everything in them is public.
        self._has_access = "access" in self._input_columns()

    def _access(self, table: str = "i") -> str:
        """The SQL of an input's access level (``table``: the inputs table's name in the query)."""
        return f"{table}.access" if self._has_access else f"'{PUBLIC}'"

    def _input_columns(self) -> set[str]:
        return {row[1] for row in self.db.execute("PRAGMA table_info(inputs)")}

    def _ensure_schema(self) -> None:
        self.db.executescript(SCHEMA)
        columns = self._input_columns()
        if "parser" not in columns:   # stores written before inputs recorded their parser
            self.db.execute("ALTER TABLE inputs ADD COLUMN parser TEXT NOT NULL DEFAULT ''")
        if "access" not in columns:   # … or their access level
            self.db.execute(f"ALTER TABLE inputs ADD COLUMN access TEXT NOT NULL DEFAULT '{PUBLIC}'")

    def copy_from(self, source: Path) -> None:
        """Replace this store's content with a copy of another store (the previous generation)."""
        src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
        try:
            src.backup(self.db)
        finally:
            src.close()
        self._ensure_schema()

    def close(self) -> None:
        self.db.close()

    # -- inputs -----------------------------------------------------------------------------
    def _input_records(self, where: str = "", params: tuple = ()) -> list[InputRecord]:
        rows = self.db.execute(
            f"SELECT sha256, path, kind, title, passages, ingested_at, parser, {self._access('inputs')}"
            f" FROM inputs {where} ORDER BY ingested_at, path", params).fetchall()
        return [InputRecord(*r) for r in rows]

    def inputs(self) -> list[InputRecord]:
        return self._input_records()

    def inputs_replaced_by(self, path: str, sha256: str) -> list[InputRecord]:
        """Inputs a new one replaces: the same path, or the same content parsed by older code."""
        return self._input_records("WHERE path = ? OR sha256 = ?", (path, sha256))

    def move_input(self, sha256: str, path: str) -> None:
        self.db.execute("UPDATE inputs SET path = ? WHERE sha256 = ?", (path, sha256))

    def set_access(self, sha256: str, access: str) -> None:
        self.db.execute("UPDATE inputs SET access = ? WHERE sha256 = ?", (access, sha256))

    def add_input(self, record: InputRecord) -> None:
        self.db.execute("INSERT INTO inputs (sha256, path, kind, title, passages, ingested_at, parser, access)"
                        " VALUES (?, ?, ?, ?, ?, ?, ?, ?)", (
            record.sha256, record.path, record.kind, record.title, record.passages, record.ingested_at,
            record.parser, record.access))

    def remove_input(self, sha256: str) -> list[int]:
        """Delete an input and its passages; returns the removed rows (caller renumbers)."""
        rows = [r for (r,) in self.db.execute(
            "SELECT row FROM passages WHERE input_sha256 = ? ORDER BY row", (sha256,))]
        self.db.execute("DELETE FROM mentions WHERE row IN (SELECT row FROM passages WHERE input_sha256 = ?)",
                        (sha256,))
        self.db.execute("DELETE FROM passages WHERE input_sha256 = ?", (sha256,))
        self.db.execute("DELETE FROM tasks WHERE input_sha256 = ?", (sha256,))
        self.db.execute("DELETE FROM inputs WHERE sha256 = ?", (sha256,))
        return rows

    def renumber(self) -> None:
        """Close gaps left by removals so rows are 0..n-1 again, keeping their order."""
        pairs = self.db.execute("SELECT row FROM passages ORDER BY row").fetchall()
        for new, (old,) in enumerate(pairs):
            if new != old:
                self.db.execute("UPDATE passages SET row = ? WHERE row = ?", (new, old))
                self.db.execute("UPDATE mentions SET row = ? WHERE row = ?", (new, old))

    # -- passages ---------------------------------------------------------------------------
    def count(self) -> int:
        return self.db.execute("SELECT COUNT(*) FROM passages").fetchone()[0]

    def existing_ids(self, ids: Iterable[str]) -> dict[str, str]:
        """Map of passage id → source for the given ids already in the store."""
        found: dict[str, str] = {}
        for pid in ids:
            row = self.db.execute("SELECT source FROM passages WHERE id = ?", (pid,)).fetchone()
            if row:
                found[pid] = row[0]
        return found

    def add_passages(self, input_sha256: str, passages: list[Passage],
                     tokens_vi: list[list[str]], tokens_fold: list[list[str]]) -> list[int]:
        start = self.count()
        rows = list(range(start, start + len(passages)))
        for row, p, tv, tf in zip(rows, passages, tokens_vi, tokens_fold):
            self.db.execute(
                "INSERT INTO passages (row, id, input_sha256, text, source, title, heading, doc_number,"
                " doc_type, issued_date, issuer, signer, bulletin_date, mentions, extra, tokens_vi, tokens_fold)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (row, p.id, input_sha256, p.text, p.source, p.title, p.heading, p.doc_number, p.doc_type,
                 p.issued_date, p.issuer, p.signer, p.bulletin_date, json.dumps(p.mentions, ensure_ascii=False),
                 json.dumps(p.extra, ensure_ascii=False), json.dumps(tv, ensure_ascii=False),
                 json.dumps(tf, ensure_ascii=False)))
            for number in {n for n in [p.doc_number, *p.mentions] if n}:
                self.db.execute("INSERT INTO mentions VALUES (?, ?)", (number, row))
        return rows

    def _passage_rows(self, where: str = "", params: tuple = (), text: bool = True) -> list[tuple]:
        # Without text: the text and extra columns read as empty (what a walk over every row's
        # numbers, titles and headings needs; most of a row's bytes are its text).
        cols = ", ".join(f"p.{c}" if text or c not in _TEXT_COLUMNS else _TEXT_COLUMNS[c] for c in _PASSAGE_COLUMNS)
        return self.db.execute(f"SELECT p.row, {cols}, {self._access()} FROM {_READABLE} {where} ORDER BY p.row",
                               params).fetchall()

    def passages_of_input(self, sha256: str) -> list[tuple[int, Passage]]:
        return [(r[0], self._passage(r[1:])) for r in self._passage_rows("WHERE p.input_sha256 = ?", (sha256,))]

    def add_tasks(self, input_sha256: str, tasks: list[Task]) -> None:
        self.db.executemany("INSERT INTO tasks VALUES (?, ?, ?)", [
            (input_sha256, i, json.dumps(t.to_record(), ensure_ascii=False)) for i, t in enumerate(tasks)])

    def tasks(self) -> list[Task]:
        """Every task, in ingest order then document order (an index without the table has none)."""
        has_table = self.db.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'tasks'").fetchone()
        if not has_table:
            return []
        rows = self.db.execute(
            f"SELECT t.data, {self._access()} FROM tasks t JOIN inputs i ON i.sha256 = t.input_sha256"
            " ORDER BY i.ingested_at, i.path, t.position")
        return [Task.from_record({**json.loads(data), "access": access}) for data, access in rows]

    def passages(self) -> list[Passage]:
        """All passages in row order."""
        return [self._passage(r[1:]) for r in self._passage_rows()]

    # Records (a row's columns as read) are decoded apart with ``decode``: a reader shared by threads
    # holds its lock only for the read.
    def records_between(self, start: int, stop: int, text: bool = True) -> list[tuple]:
        """The records of rows ``start`` ≤ row < ``stop``, in row order (rows without gaps: see above)."""
        return self._passage_rows("WHERE p.row >= ? AND p.row < ?", (start, stop), text)

    def records_at(self, rows: list[int]) -> list[tuple]:
        """The records of ``rows`` (in row order, each once), in one query."""
        found: list[tuple] = []
        for at in range(0, len(rows), _SQL_VARIABLES):
            chunk = rows[at:at + _SQL_VARIABLES]
            found += self._passage_rows(f"WHERE p.row IN ({','.join('?' * len(chunk))})", tuple(chunk))
        return sorted(found)

    @classmethod
    def decode(cls, record: tuple) -> tuple[int, Passage]:
        """A record's row and passage."""
        return record[0], cls._passage(record[1:])

    def readable_count(self) -> int:
        """Passages whose input is recorded (what the readers above return): ``count`` on a sound store."""
        return self.db.execute(f"SELECT COUNT(*) FROM {_READABLE}").fetchone()[0]

    def row_values(self, column: str) -> list[str]:
        """One field of every passage in row order ("" where it has none): ``access``, ``source``, or
        ``date`` (its document's date, else its bulletin's)."""
        expression = {"access": self._access(), "source": "COALESCE(p.source, '')",
                      "date": "COALESCE(NULLIF(p.issued_date, ''), NULLIF(p.bulletin_date, ''), '')"}[column]
        return [value for (value,) in self.db.execute(
            f"SELECT {expression} FROM {_READABLE} ORDER BY p.row")]

    def tokens(self, field: str) -> Iterator[list[str]]:
        column = {"vi": "tokens_vi", "fold": "tokens_fold"}[field]
        for (raw,) in self.db.execute(f"SELECT {column} FROM passages ORDER BY row"):
            yield json.loads(raw)

    def rows_for_document(self, number: str) -> tuple[list[int], list[int]]:
        """Rows whose own directive is ``number``, and rows that merely mention it."""
        own = [r for (r,) in self.db.execute(
            "SELECT row FROM passages WHERE doc_number = ? ORDER BY row", (number,))]
        mentioned = [r for (r,) in self.db.execute(
            "SELECT DISTINCT row FROM mentions WHERE doc_number = ? ORDER BY row", (number,))]
        return own, [r for r in mentioned if r not in set(own)]

    def numbered_rows(self) -> Iterator[tuple[str, int]]:
        """(document number, row) of every row that is a document's own item or names one."""
        return iter(self.db.execute("SELECT doc_number, row FROM passages WHERE doc_number IS NOT NULL"
                                    " UNION ALL SELECT doc_number, row FROM mentions"))

    def document_numbers(self) -> list[str]:
        return [n for (n,) in self.db.execute("SELECT DISTINCT doc_number FROM mentions ORDER BY doc_number")]

    def commit(self) -> None:
        self.db.commit()

    @staticmethod
    def _passage(row: tuple) -> Passage:
        # By position, not through ``Passage.from_dict``: a served index reads every row once at
        # start (the document catalog), and the generic path took half of that time.
        document = DocumentRef(row[_DOC_AT[0]] or "", *(row[i] for i in _DOC_AT[1:])) \
            if any(row[i] for i in _DOC_AT) else None
        values = {name: row[i] for i, name in _OTHER_AT}
        mentions, extra = values.pop("mentions"), values.pop("extra")
        return Passage(document=document, mentions=json.loads(mentions) if mentions and mentions != "[]" else [],
                       extra=json.loads(extra) if extra and extra != "{}" else {}, access=row[-1], **values)
