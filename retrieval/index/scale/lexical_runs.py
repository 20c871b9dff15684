"""BM25 at scale: bm25s arrays built from synthetic token ids, saved, loaded memory-mapped, queried.

``bm25s.BM25.index`` walks every document in Python (a set and a count per passage): at 10^6
passages that is minutes of one core. ``build_arrays`` computes the same matrix (bm25s' default
Lucene scoring, k1 1.5, b 0.75) with sorted numpy keys; ``tests/test_scale_bench.py`` checks the two
agree on a small corpus. The index is a plain bm25s index: the serving side is bm25s' own.
"""
from __future__ import annotations

import numpy as np

from retrieval.index.hybrid import import_bm25s
from retrieval.index.scale.synth import TokenCorpus

K1, B = 1.5, 0.75


def token_name(token_id: int) -> str:
    return f"t{token_id}"


def build_arrays(corpus: TokenCorpus) -> dict:
    """bm25s' CSC arrays (documents × vocabulary, column-major) for ``corpus``."""
    n = len(corpus)
    lengths = np.diff(corpus.offsets)
    docs = np.repeat(np.arange(n, dtype=np.int64), lengths)
    keys, tf = np.unique(corpus.tokens.astype(np.int64) * n + docs, return_counts=True)
    del docs
    terms, rows = keys // n, (keys % n).astype(np.int32)
    df = np.bincount(terms, minlength=corpus.vocabulary)
    idf = np.log(1 + (n - df + 0.5) / (df + 0.5))
    avg = lengths.mean()
    tfc = tf / (tf + K1 * (1 - B + B * lengths[rows] / avg))
    data = (idf[terms] * tfc).astype(np.float32)
    indptr = np.zeros(corpus.vocabulary + 1, dtype=np.int64)
    np.cumsum(df, out=indptr[1:])
    return {"data": data, "indices": rows, "indptr": indptr, "num_docs": n}


def retriever_from(corpus: TokenCorpus):
    bm25s = import_bm25s()
    retriever = bm25s.BM25(k1=K1, b=B)
    retriever.scores = build_arrays(corpus)
    retriever.vocab_dict = {token_name(t): t for t in range(corpus.vocabulary)}
    retriever.nonoccurrence_array = None   # only BM25L/BM25+ use one
    return retriever


def query_names(tokens: np.ndarray) -> list[str]:
    return [token_name(int(t)) for t in tokens]
