"""One BM25 field on disk: bm25s' own files, and above ``COMPACT_ABOVE`` passages the compact form a
national index needs (``impacts.py``: weights as one byte a posting; ``terms.py``: the vocabulary as
a mapped trie), plus the statistics of a large index's search (``postings.write_stats``).

``load_field`` returns a bm25s ``BM25`` either way, its arrays memory-mapped (plain views) and, for a
compact field, ``vocab_dict`` a ``TermLookup`` and the per-term scale in ``scores``; the readers
(``hybrid.bm25_scores``, ``postings.FieldPostings``) decode what they read.
"""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Mapping

import numpy as np

from retrieval.index.impacts import CODES_FILE, COMPACT_ABOVE, FLOAT_FILE, SCALE_KEY, has_impacts, load_scale, \
    write_impacts
from retrieval.index.postings import write_stats
from retrieval.index.terms import TermLookup, has_lookup, write_lookup


def import_bm25s():
    """bm25s sets its own logger to DEBUG at import; keep its per-call chatter off stderr."""
    import bm25s

    logging.getLogger("bm25s").setLevel(logging.WARNING)
    return bm25s


def compact_wanted(passages: int) -> bool:
    return passages > COMPACT_ABOVE


def save_field(retriever, directory: Path, compact: bool, bits: int = 8) -> None:
    """``retriever`` (an indexed bm25s BM25) saved into ``directory`` with its statistics; ``compact``:
    impacts instead of float weights and the vocabulary as a trie (BM25L/BM25+ never: they score by
    bm25s' own path)."""
    retriever.save(str(directory), show_progress=False)
    if compact and retriever.nonoccurrence_array is None:
        make_compact(directory, retriever.vocab_dict, bits)
    else:
        write_stats(retriever.scores, directory)   # per-term sums for a large index's search


def make_compact(directory: Path, vocab: Mapping[str, int], bits: int = 8) -> None:
    """A saved float field in ``directory`` rewritten compact: the trie of ``vocab`` (its token → term
    id), impacts for the weights, the statistics of the weights as they will be read."""
    write_lookup(vocab, directory)
    write_impacts(directory, bits)
    write_stats(load_field(directory).scores, directory)


def load_field(directory: Path, mmap: bool = True):
    """The field saved in ``directory`` as a bm25s BM25, ready for ``hybrid.bm25_scores``."""
    bm25s = import_bm25s()
    compact, lookup = has_impacts(directory), has_lookup(directory)
    retriever = bm25s.BM25.load(str(directory), data_name=CODES_FILE if compact else FLOAT_FILE,
                                load_vocab=not lookup, mmap=mmap, show_progress=False, verbosity=0)
    # Plain views of the mapped arrays: np.memmap's Python-level __getitem__ would cost more than the
    # scoring itself on every query.
    retriever.scores = {k: np.asarray(v) if isinstance(v, np.ndarray) else v for k, v in retriever.scores.items()}
    if lookup:
        retriever.vocab_dict = TermLookup.open(directory)
    if compact:
        retriever.scores[SCALE_KEY] = load_scale(directory)
    return retriever
