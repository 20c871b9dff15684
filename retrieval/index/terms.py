"""A BM25 field's vocabulary (token → term id) as a memory-mapped trie instead of a Python dict.

bm25s keeps the vocabulary as ``vocab.index.json`` and loads it into a dict (plus a set of its ids):
at 10^6 passages the folded field's 3.3·10^6 tokens cost ~640 MB in every process that loads it.
``TermLookup`` answers the same two questions (``token in lookup``, ``lookup[token]``) from a
MARISA trie (``terms.marisa``, mapped: its pages are shared by every process serving the
generation) and the term id of each trie key (``terms.ids.npy``: the trie numbers keys in its own
order, not bm25s').
"""
from __future__ import annotations

from pathlib import Path
from typing import Mapping

import numpy as np

TRIE_FILE = "terms.marisa"
IDS_FILE = "terms.ids.npy"


def write_lookup(vocab: Mapping[str, int], directory: Path) -> None:
    """The trie and id table of ``vocab`` (bm25s' token → term id) into ``directory``."""
    import marisa_trie

    trie = marisa_trie.Trie(vocab.keys())
    ids = np.empty(len(trie), dtype=np.int32 if len(vocab) < 2**31 else np.int64)
    for key, key_id in trie.iteritems():
        ids[key_id] = vocab[key]
    trie.save(str(directory / TRIE_FILE))
    np.save(directory / IDS_FILE, ids)


def has_lookup(directory: Path) -> bool:
    return (directory / TRIE_FILE).exists() and (directory / IDS_FILE).exists()


class TermLookup:
    """Read-only token → term id, as the parts of a dict the BM25 readers use."""

    def __init__(self, trie, ids: np.ndarray):
        self._trie, self._ids = trie, ids

    @classmethod
    def open(cls, directory: Path) -> "TermLookup":
        import marisa_trie

        trie = marisa_trie.Trie()
        trie.mmap(str(directory / TRIE_FILE))
        return cls(trie, np.load(directory / IDS_FILE, mmap_mode="r"))

    def __contains__(self, token: object) -> bool:
        return isinstance(token, str) and token in self._trie

    def __getitem__(self, token: str) -> int:
        return int(self._ids[self._trie[token]])   # KeyError when absent, as a dict

    def get(self, token: str, default: int | None = None) -> int | None:
        key_id = self._trie.get(token) if isinstance(token, str) else None
        return default if key_id is None else int(self._ids[key_id])

    def __len__(self) -> int:
        return len(self._ids)
