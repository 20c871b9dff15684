"""BM25 at scale: bm25s arrays built from synthetic token ids, saved, loaded memory-mapped, queried.

``bm25s.BM25.index`` walks every document in Python (a set and a count per passage): at 10^6
passages that is minutes of one core. ``build_arrays`` computes the same matrix (bm25s' default
Lucene scoring, k1 1.5, b 0.75) with sorted numpy keys; ``tests/test_scale_bench.py`` checks the two
agree on a small corpus. The index is a plain bm25s index: the serving side is bm25s' own.
"""
from __future__ import annotations

import numpy as np

from retrieval.index.bm25field import import_bm25s
from retrieval.index.scale.synth import TokenCorpus

K1, B = 1.5, 0.75


def token_name(token_id: int) -> str:
    return f"t{token_id}"


def build_arrays(corpus: TokenCorpus, chunk: int = 100_000) -> dict:
    """bm25s' CSC arrays (documents × vocabulary, column-major) for ``corpus``.

    Term frequencies are counted a chunk of passages at a time (sorted keys term·m + passage), then
    one stable sort by term keeps each term's passages in order: about 20 bytes a posting at peak."""
    n = len(corpus)
    lengths = np.diff(corpus.offsets)
    terms, rows, counts = [], [], []
    for start in range(0, n, chunk):
        end = min(n, start + chunk)
        m = end - start
        tokens = corpus.tokens[corpus.offsets[start]:corpus.offsets[end]].astype(np.int64)
        keys, tf = np.unique(tokens * m + np.repeat(np.arange(m, dtype=np.int64), lengths[start:end]),
                             return_counts=True)
        terms.append((keys // m).astype(np.int32))
        rows.append((keys % m + start).astype(np.int32))
        counts.append(tf.astype(np.int32))
        del tokens, keys, tf
    order = np.argsort(np.concatenate(terms), kind="stable")
    term = np.concatenate(terms)[order]
    del terms
    row = np.concatenate(rows)[order]
    del rows
    tf = np.concatenate(counts)[order]
    del counts, order
    df = np.bincount(term, minlength=corpus.vocabulary)
    idf = np.log(1 + (n - df + 0.5) / (df + 0.5))
    tfc = tf / (tf + K1 * (1 - B + B * lengths[row] / lengths.mean()))
    data = (idf[term] * tfc).astype(np.float32)
    indptr = np.zeros(corpus.vocabulary + 1, dtype=np.int64)
    np.cumsum(df, out=indptr[1:])
    return {"data": data, "indices": row, "indptr": indptr, "num_docs": n}


def retriever_from(corpus: TokenCorpus):
    bm25s = import_bm25s()
    retriever = bm25s.BM25(k1=K1, b=B)
    retriever.scores = build_arrays(corpus)
    retriever.vocab_dict = {token_name(t): t for t in range(corpus.vocabulary)}
    retriever.nonoccurrence_array = None   # only BM25L/BM25+ use one
    return retriever


def query_names(tokens: np.ndarray) -> list[str]:
    return [token_name(int(t)) for t in tokens]

