"""A BM25 field's postings read term by term, and the per-term statistics a large index's search
needs (``retrieval/search/candidates.py``), precomputed when the generation is built.

bm25s stores a field as CSC arrays: term ``t``'s postings are ``indices[indptr[t]:indptr[t+1]]``
(rows, ascending) with their precomputed BM25 weights in ``data``. A query's BM25 score of a row is
the sum of its terms' weights there (a term repeated in the query counts again, as in bm25s).

Statistics (files ``stats.*.npy`` beside bm25s' own, memory-mapped): per term the sum, the sum of
squares and the largest of its weights, and a fixed random sample of rows as a little CSC of its
own. From them a query's score mean over every row is exact (the sums), its variance is exact but
for the terms' co-occurrence, which the sample estimates (so an index no larger than the sample
gets an exact variance), and each term's maximum bounds what it can add to any row (MaxScore).
A generation written before these files existed has none: ``FieldPostings.open`` returns None
and such an index is searched exhaustively.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping  # noqa: F401 - the vocabulary: a dict or a TermLookup

import numpy as np

from retrieval.index.impacts import SCALE_KEY, decode, posting_terms, weights

STATS_VERSION = 1
STATS_FILE = "stats.json"
SAMPLE_ROWS = 65_536      # rows whose scores estimate a query's co-occurrence term (see moments)
_ARRAYS = ("term_sum", "term_sumsq", "term_max", "sample_indptr", "sample_local", "sample_data")
_CHUNK = 8_000_000        # postings handled at once while building (bounded memory at 10^6 rows)


def _array_path(directory: Path, name: str) -> Path:
    return directory / f"stats.{name}.npy"


def write_stats(scores: dict, directory: Path, sample_rows: int = SAMPLE_ROWS, seed: int = 0) -> dict:
    """Per-term statistics of bm25s CSC arrays ``scores`` (data, indices, indptr, num_docs), written
    into ``directory``; returns what ``stats.json`` records."""
    indices, indptr = scores["indices"], np.asarray(scores["indptr"], dtype=np.int64)
    n, vocabulary = int(scores["num_docs"]), len(indptr) - 1
    term_sum = np.zeros(vocabulary, dtype=np.float64)
    term_sumsq = np.zeros(vocabulary, dtype=np.float64)
    term_max = np.zeros(vocabulary, dtype=np.float32)
    sample = (np.arange(n) if n <= sample_rows
              else np.sort(np.random.default_rng(seed).choice(n, sample_rows, replace=False)))
    local_of = np.full(n, -1, dtype=np.int32)
    local_of[sample] = np.arange(len(sample), dtype=np.int32)
    sample_terms, sample_local, sample_data = [], [], []
    for start in range(0, int(indptr[-1]), _CHUNK):
        end = min(int(indptr[-1]), start + _CHUNK)
        # Term of each posting in the chunk; sorted, so one searchsorted over indptr finds them all.
        term = posting_terms(indptr, start, end)
        chunk = np.asarray(weights(scores, term, start, end), dtype=np.float32)   # impacts decoded
        w = chunk.astype(np.float64)
        term_sum += np.bincount(term, weights=w, minlength=vocabulary)
        term_sumsq += np.bincount(term, weights=w * w, minlength=vocabulary)
        starts = np.concatenate([[0], np.flatnonzero(np.diff(term)) + 1])   # each term's run in the chunk
        np.maximum.at(term_max, term[starts], np.maximum.reduceat(w, starts).astype(np.float32))
        rows = np.asarray(indices[start:end])
        if np.any((np.diff(rows) <= 0) & (np.diff(term) == 0)):   # the lookups' searchsorted needs it
            raise ValueError("BM25 postings are not sorted by row within each term")
        local = local_of[rows]
        kept = local >= 0
        if np.any(kept):
            sample_terms.append(term[kept])
            sample_local.append(local[kept])
            sample_data.append(chunk[kept])
    terms = np.concatenate(sample_terms) if sample_terms else np.zeros(0, dtype=np.int64)
    sample_indptr = np.zeros(vocabulary + 1, dtype=np.int64)
    np.cumsum(np.bincount(terms, minlength=vocabulary), out=sample_indptr[1:])
    arrays = {"term_sum": term_sum, "term_sumsq": term_sumsq, "term_max": term_max,
              "sample_indptr": sample_indptr,
              "sample_local": np.concatenate(sample_local) if sample_local else np.zeros(0, dtype=np.int32),
              "sample_data": np.concatenate(sample_data) if sample_data else np.zeros(0, dtype=np.float32)}
    for name, array in arrays.items():
        np.save(_array_path(directory, name), array)
    meta = {"version": STATS_VERSION, "rows": n, "vocabulary": vocabulary, "sample_rows": int(len(sample)),
            "seed": seed}
    (directory / STATS_FILE).write_text(json.dumps(meta) + "\n", encoding="utf-8")
    return meta


@dataclass(frozen=True)
class QueryTerms:
    """A query's known terms in one field: unique term ids (ascending) and how often each was asked."""

    ids: np.ndarray       # int64
    counts: np.ndarray    # float64 multiplicities

    def __len__(self) -> int:
        return len(self.ids)


class FieldPostings:
    """One BM25 field: postings by term, weights at given rows, a query's score moments and bounds."""

    def __init__(self, vocab: "Mapping[str, int]", scores: dict, stats: dict[str, np.ndarray], meta: dict):
        self.vocab = vocab
        # Plain ndarray views of bm25s' maps (np.memmap's own __getitem__ costs more than a lookup).
        self.data, self.indices = np.asarray(scores["data"]), np.asarray(scores["indices"])
        self.indptr = np.asarray(scores["indptr"])
        self.rows = int(scores["num_docs"])
        self.scale = scores.get(SCALE_KEY)   # a compact field's per-term scale (impacts.py); None: float weights
        self.stats, self.meta = stats, meta

    @classmethod
    def open(cls, retriever, directory: Path) -> "FieldPostings | None":
        """The field of a loaded bm25s ``retriever`` with the statistics saved in ``directory``;
        None when the generation has none (or they do not match the arrays)."""
        meta_path = directory / STATS_FILE
        if not meta_path.exists() or retriever.nonoccurrence_array is not None:   # BM25L/BM25+: no sums
            return None
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        scores = retriever.scores
        if (meta.get("version") != STATS_VERSION or meta.get("rows") != int(scores["num_docs"])
                or meta.get("vocabulary") != len(scores["indptr"]) - 1):
            return None
        stats = {name: np.load(_array_path(directory, name), mmap_mode="r") for name in _ARRAYS}
        # Plain ndarray views of the maps: np.memmap's own __getitem__ costs more than the lookups.
        return cls(retriever.vocab_dict, scores, {k: np.asarray(v) for k, v in stats.items()}, meta)

    def query(self, tokens: list[str]) -> QueryTerms:
        ids = [self.vocab[t] for t in tokens if t in self.vocab]
        unique, counts = np.unique(np.asarray(ids, dtype=np.int64), return_counts=True)
        return QueryTerms(unique, counts.astype(np.float64))

    def postings(self, term: int) -> tuple[np.ndarray, np.ndarray]:
        """Rows (ascending) holding ``term`` and its weight in each."""
        a, b = self.indptr[term], self.indptr[term + 1]
        return self.indices[a:b], decode(self.data[a:b], self.scale, term)

    def length(self, terms: np.ndarray) -> np.ndarray:
        return self.indptr[terms + 1] - self.indptr[terms]

    def upper_bounds(self, query: QueryTerms) -> np.ndarray:
        """The most each term can add to any row's score."""
        return self.stats["term_max"][query.ids].astype(np.float64) * query.counts

    def add_weights(self, term: int, rows: np.ndarray, out: np.ndarray, factor: float = 1.0) -> None:
        """``out[i] += factor ·`` weight of ``term`` at ``rows[i]`` (rows ascending); by whichever of
        the two is shorter, so a frequent term never costs a pass over its whole postings."""
        a, b = self.indptr[term], self.indptr[term + 1]
        postings, stored = self.indices[a:b], self.data[a:b]   # still encoded: decoded where they hit
        if not len(postings) or not len(rows):
            return
        # Keys of the postings' own dtype: searchsorted would otherwise convert the whole (mapped,
        # possibly million-long) postings array to the keys' dtype at every call.
        rows = rows.astype(postings.dtype, copy=False) if rows[-1] <= np.iinfo(postings.dtype).max else rows
        if len(postings) < len(rows):
            pos = np.minimum(np.searchsorted(rows, postings), len(rows) - 1)
            hit = rows[pos] == postings
            np.add.at(out, pos[hit], factor * decode(stored[hit], self.scale, term))
        else:
            pos = np.minimum(np.searchsorted(postings, rows), len(postings) - 1)
            hit = postings[pos] == rows
            out[hit] += factor * decode(stored[pos[hit]], self.scale, term)

    def scores_at(self, query: QueryTerms, rows: np.ndarray) -> np.ndarray:
        """Exact BM25 of ``rows`` (ascending)."""
        out = np.zeros(len(rows), dtype=np.float64)
        for term, count in zip(query.ids.tolist(), query.counts.tolist()):
            self.add_weights(term, rows, out, count)
        return out

    def moments(self, query: QueryTerms) -> tuple[float, float]:
        """Mean and standard deviation of the query's score over every row.

        s = Σ m_t w_t. E[s] = Σ m_t μ_t, μ_t = Σ_rows w_t / n: exact. Var[s] = Σ m_t² Var[w_t] (exact,
        from the sums of squares) + the terms' covariances, estimated on the row sample as the mean of
        (s − E[s])² − Σ m_t² (w_t − μ_t)² (centred: the known means add no sampling noise). An index
        no larger than the sample gets the exact variance."""
        n = self.rows
        if not len(query) or n == 0:
            return 0.0, 0.0
        m2 = query.counts ** 2
        mu_t = self.stats["term_sum"][query.ids] / n
        mean = float(query.counts @ mu_t)
        own = float(m2 @ (self.stats["term_sumsq"][query.ids] / n - mu_t ** 2))
        size = self.meta["sample_rows"]
        indptr = self.stats["sample_indptr"]
        spans = [(indptr[t], indptr[t + 1]) for t in query.ids.tolist()]
        local = np.concatenate([self.stats["sample_local"][a:b] for a, b in spans])
        # m_t w_t of each sampled posting, in float64 at once (a float64 factor on the float32 slice).
        mw = np.concatenate([self.stats["sample_data"][a:b] * np.float64(m)
                             for (a, b), m in zip(spans, query.counts.tolist())])
        s = np.bincount(local, weights=mw, minlength=size)        # each sampled row's score
        # Per row, Σ m²(w_t − μ_t)² over every query term = d − 2e + Σ m² μ_t² (absent terms have
        # w = 0), d = Σ m² w², e = Σ m² w μ_t over the terms it holds: only their means are needed,
        # plain sums (e per term: m_t μ_t times its sampled m w).
        lengths = np.array([b - a for a, b in spans], dtype=np.int64)
        starts, held = np.cumsum(lengths) - lengths, lengths > 0
        per_term = np.zeros(len(spans))
        if held.any():   # each held term's run of mw (an empty one would read its neighbour's first value)
            per_term[held] = np.add.reduceat(mw, starts[held])
        d = float(np.square(mw).sum()) / size   # (not a BLAS dot: its threads spin on a busy machine)
        e = float((query.counts * mu_t * per_term).sum()) / size
        covariance = float(np.mean((s - mean) ** 2)) - d + 2 * e - float(m2 @ mu_t ** 2)
        return mean, max(own + covariance, 0.0) ** 0.5
