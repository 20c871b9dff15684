"""Every passage of a loaded generation by row, read from its store when asked for.

A serving process needs a passage's text for the few rows a question returns, and each row's
access, source and date for the whole index. Holding every passage as an object (with the document
catalog) cost +370 MB at 10⁵ passages and +3.5 GB at 10⁶, per process and per worker; read by row
+118 MB and +926 MB (``bench_passages``). A row is one indexed SQLite read (the row is the table's
key), the recent ones are kept, and the per-row fields are codes, 4 bytes a row.
"""
from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Iterator, Sequence
from functools import cached_property, lru_cache, partial
from typing import TypeVar, overload

import numpy as np

from retrieval.errors import IndexCorruptError
from retrieval.index.store import PassageStore
from retrieval.schema import Passage

T = TypeVar("T")
RECENT_ROWS = 4096   # a few hundred questions' hits and evidence
BATCH_ROWS = 2048    # rows read at once when every passage is walked


class PassageRows(Sequence[Passage]):
    """A read-only sequence of a published generation's passages (its store never changes).

    Reads that find fewer rows than the index counts, or a damaged file, raise IndexCorruptError:
    every part of the index numbers the same rows, so a missing one would shift the rest."""

    def __init__(self, store: PassageStore, count: int, recent: int = RECENT_ROWS, batch: int = BATCH_ROWS):
        self._store = store
        self._count = count
        self._batch = batch
        # One connection serves every thread: each read holds the lock, decoding does not.
        self._lock = threading.Lock()
        # A plain function cached, not a bound method: no cycle keeps an old generation alive.
        self._read = lru_cache(maxsize=recent)(partial(_read_row, store, self._lock))

    def __len__(self) -> int:
        return self._count

    @overload
    def __getitem__(self, row: int) -> Passage: ...

    @overload
    def __getitem__(self, row: slice) -> list[Passage]: ...

    def __getitem__(self, row):
        if isinstance(row, slice):
            return self.many(list(range(*row.indices(self._count))))
        row = int(row)
        if row < 0:
            row += self._count
        if not 0 <= row < self._count:
            raise IndexError(f"passage row {row} out of range ({self._count} passages)")
        return self._read(row)

    def many(self, rows: list[int]) -> list[Passage]:
        """The passages of ``rows``, in that order, read in one query (and not kept: a document
        named by thousands of items must not push a question's hits out of the recent ones)."""
        wanted = sorted(set(rows))
        if wanted and not (0 <= wanted[0] and wanted[-1] < self._count):
            raise IndexError(f"passage rows {wanted[0]}..{wanted[-1]} out of range ({self._count} passages)")
        records = _locked(self._store, self._lock, lambda: self._store.records_at(wanted))
        _check_found(self._store, len(records), len(wanted))
        by_row = dict(PassageStore.decode(r) for r in records)
        return [by_row[row] for row in rows]

    def __iter__(self) -> Iterator[Passage]:
        """Every passage in row order, a batch at a time (never all of them held)."""
        return self._walk(text=True)

    def outlines(self) -> Iterator[Passage]:
        """Every passage in row order without its text (and extra fields): what a walk over the
        documents, titles and headings of every row needs, at a fraction of the bytes read."""
        return self._walk(text=False)

    def _walk(self, text: bool) -> Iterator[Passage]:
        for start in range(0, self._count, self._batch):
            stop = min(start + self._batch, self._count)
            records = _locked(self._store, self._lock, lambda: self._store.records_between(start, stop, text))
            _check_found(self._store, len(records), stop - start)
            for record in records:
                yield PassageStore.decode(record)[1]

    # Each row's fields that whole-index masks compare, read once in one query each.
    @cached_property
    def access(self) -> "RowValues":
        return self._column("access")

    @cached_property
    def sources(self) -> "RowValues":
        return self._column("source")

    @cached_property
    def dates(self) -> "RowValues":
        """Each row's document date, else its bulletin's ("" for neither), ISO strings."""
        return self._column("date")

    def _column(self, name: str) -> "RowValues":
        values = _locked(self._store, self._lock, lambda: self._store.row_values(name))
        _check_found(self._store, len(values), self._count)
        return RowValues.of(values)


def _read_row(store: PassageStore, lock: threading.Lock, row: int) -> Passage:
    records = _locked(store, lock, lambda: store.records_between(row, row + 1))
    _check_found(store, len(records), 1)
    return PassageStore.decode(records[0])[1]


def _locked(store: PassageStore, lock: threading.Lock, read: Callable[[], T]) -> T:
    try:
        with lock:
            return read()
    except sqlite3.DatabaseError as exc:
        raise IndexCorruptError(f"passage store {store.path} is damaged ({exc}); re-ingest into a fresh --index") from exc


def _check_found(store: PassageStore, found: int, expected: int) -> None:
    if found != expected:
        raise IndexCorruptError(f"passage store {store.path} has {found} of {expected} rows read; "
                                "re-ingest into a fresh --index")


class RowValues:
    """One string field of every row, as codes into its sorted distinct values: 4 bytes a row
    (sources repeat across thousands of rows; a fixed-width string array would cost the longest)."""

    def __init__(self, values: np.ndarray, codes: np.ndarray):
        self.values = values   # sorted, distinct
        self.codes = codes     # per row: its value's position in ``values``

    @classmethod
    def of(cls, column: Sequence[str]) -> "RowValues":
        values, codes = np.unique(np.array(column, dtype=object), return_inverse=True)
        return cls(values.astype(str) if len(values) else np.zeros(0, dtype=str), codes.astype(np.int32))

    def __len__(self) -> int:
        return len(self.codes)

    def equal(self, value: str) -> np.ndarray:
        """Rows whose value is ``value``."""
        at = int(np.searchsorted(self.values, value))
        if at == len(self.values) or self.values[at] != value:
            return np.zeros(len(self.codes), dtype=bool)
        return self.codes == at

    def between(self, low: str, high: str) -> np.ndarray:
        """Rows whose non-empty value v has ``low`` ≤ v ≤ ``high`` (as strings: ISO dates compare so)."""
        lo = max(int(np.searchsorted(self.values, low, side="left")), int(np.searchsorted(self.values, "", side="right")))
        hi = int(np.searchsorted(self.values, high, side="right"))
        return (self.codes >= lo) & (self.codes < hi)
