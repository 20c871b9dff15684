"""Every passage of a loaded generation by row, read from its store when asked for.

A serving process needs a passage's text for the few rows a question returns, and each row's
access, source and date for the whole index. Holding every passage as an object cost 1.3 s and
229 MB at 10⁵ passages (13 s and ~2.3 GB at 10⁶, per process and per worker); here a row is one
indexed SQLite read (the row is the table's key), the recent ones are kept, and the per-row fields
are compact arrays.
"""
from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from functools import cached_property, lru_cache
from typing import overload

import numpy as np

from retrieval.index.store import PassageStore
from retrieval.schema import Passage

RECENT_ROWS = 4096   # a few hundred questions' hits and evidence
BATCH_ROWS = 2048    # rows read at once when every passage is walked


class PassageRows(Sequence[Passage]):
    """A read-only sequence of a published generation's passages (its store never changes)."""

    def __init__(self, store: PassageStore, count: int, recent: int = RECENT_ROWS, batch: int = BATCH_ROWS):
        self._store = store
        self._count = count
        self._batch = batch
        # One connection serves every thread of the process: reads take turns.
        self._lock = threading.Lock()
        self._read = lru_cache(maxsize=recent)(self._read_row)

    def __len__(self) -> int:
        return self._count

    @overload
    def __getitem__(self, row: int) -> Passage: ...

    @overload
    def __getitem__(self, row: slice) -> list[Passage]: ...

    def __getitem__(self, row):
        if isinstance(row, slice):
            return [self[r] for r in range(*row.indices(self._count))]
        row = int(row)
        if row < 0:
            row += self._count
        if not 0 <= row < self._count:
            raise IndexError(f"passage row {row} out of range (0..{self._count - 1})")
        return self._read(row)

    def _read_row(self, row: int) -> Passage:
        with self._lock:
            found = self._store.passages_between(row, row + 1)
        if not found:   # the count was checked against the store at load
            raise IndexError(f"passage row {row} is missing from {self._store.path}")
        return found[0]

    def __iter__(self) -> Iterator[Passage]:
        """Every passage in row order, a batch at a time (never all of them held)."""
        for start in range(0, self._count, self._batch):
            with self._lock:
                batch = self._store.passages_between(start, start + self._batch)
            yield from batch

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
        with self._lock:
            return RowValues.of(self._store.row_values(name))


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
