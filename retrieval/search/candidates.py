"""Hybrid search of a large index by candidates: the exhaustive fusion's top k without scoring every
passage (issue 19: 10^6 passages under 100 ms).

The exhaustive search (``searcher.method_scores`` + ``fusion.weighted_zscore_fusion``) scores every
row by every method, then standardises each method over all rows. Its fused score is linear in the
raw scores once each method's mean μ_m and deviation σ_m are known:
fused = Σ_m c_m·s_m − Σ_m c_m·μ_m with c_m = w_m/σ_m. Those moments come from statistics the index
precomputed (``index/moments.py`` for cosines, exact; ``index/postings.py`` for BM25, exact mean,
variance exact but for term co-occurrence, estimated on a fixed row sample). What remains is a top-k
of a weighted sum, found from two lists, in the spirit of MaxScore:

1. *Dense list*: the dense structure's best ``DENSE_DEPTH`` rows (cosines exact), scored fully; the
   k-th best is a threshold θ. A row outside the list has a cosine of at most the list's last one
   (the approximate structure's own assumption); when that alone could reach θ, the list is read
   deeper (a row holding no query term might otherwise be missed).
2. *Essential terms*: with the query terms sorted by the most each can add (c·max weight), the
   weakest ones, whose bounds together with that last cosine stay under θ, cannot lift a row holding
   none of the others into the top k; only rows holding an "essential" term are candidates.
3. *Lexical batches*: those rows' essential weights are summed over the postings (exact); best
   first, a batch of ``LEXICAL_DEPTH`` rows gets the weak terms' exact weights too (lookups keyed in
   the postings' own dtype), and a row whose exact lexical score plus the dense bound reaches θ gets
   its cosine and is scored (the lexically best ``LEXICAL_SCORED`` whatever the bound: a row the
   dense structure missed has a cosine above it). A row after the batch scores at most the batch's
   last partial sum + the weak terms' bounds + the dense bound: under θ, the top k is proven; else
   the next batch is twice as deep, up to ``LEXICAL_MAX`` rows.

It departs from the exhaustive top k by the dense structure's misses, the sampled co-occurrence term
(a near-tie at the k-th place may swap) and, when the bound has not closed by ``LEXICAL_MAX``, a row
deeper in the partial ranking; ``make bench-scale`` measures the three together (recall@10 against
the exhaustive fusion, and how often the bound closed). Ranks reported per method are among the
rows scored here, not the whole index (a row's dense rank is exact within the dense list; its BM25
rank counts only the candidates above it).
"""
from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np

from retrieval.index.dense import DenseSearch
from retrieval.index.moments import DenseMoments
from retrieval.index.postings import FieldPostings, QueryTerms

DENSE_DEPTH = 1000        # rows taken from the dense structure: its last cosine bounds every other row
LEXICAL_DEPTH = 4000      # first batch of rows holding essential terms given the weak terms' weights
LEXICAL_MAX = 4000        # ... and the deepest the batches go when the bound has not closed
LEXICAL_SCORED = 1000    # the lexically best rows scored fully whatever the bound (the dense structure's misses)
SCORE_CHUNK = 500         # lexical candidates whose cosines are read at once (θ rises between chunks)
SEED_POSTINGS = 4096      # without a dense list: the rarest query terms' postings scored first (a first θ)
PARALLEL_TERMS = 8         # fewer query terms than twice this: their lookups stay on one core
SCORE_ALL_ALLOWED = 20_000   # a filter leaving this few rows: score them all, no bounds needed
# What each BM25 method reads (the index's field names).
LEXICAL_FIELDS = {"bm25": "vi", "bm25_fold": "fold"}


@dataclass(frozen=True)
class DenseSide:
    search: DenseSearch        # the generation's structure: its best rows and their cosines
    vectors: np.ndarray | None   # the exact vectors, row-addressable (memory-mapped); None: the
                                 # structure decodes any row's cosine itself (DenseSearch.row_cosines)
    moments: DenseMoments


@dataclass
class Ranked:
    rows: np.ndarray                                   # best first
    fused: np.ndarray                                  # the fusion's score (as the exhaustive search gives)
    signals: dict[str, np.ndarray] = field(default_factory=dict)   # method → raw score of each row
    ranks: dict[str, np.ndarray] = field(default_factory=dict)     # method → rank among the candidates
    scored: int = 0                                    # rows scored exactly (the work done)
    trace: dict = field(default_factory=dict)          # rows, terms and milliseconds of each step (the
                                                       # bench reports them)


class _Laps:
    """Milliseconds spent in each step of one search (``trace["ms"]``: where a slow question's time goes)."""

    def __init__(self):
        self.ms: dict[str, float] = {}
        self._last = time.perf_counter()

    def lap(self, step: str) -> None:
        now = time.perf_counter()
        self.ms[step] = self.ms.get(step, 0.0) + (now - self._last) * 1000
        self._last = now


class _Pool:
    """Rows scored exactly so far, with each method's raw score."""

    def __init__(self, methods: list[str]):
        self.rows = np.zeros(0, dtype=np.int64)
        self.scores = {m: np.zeros(0, dtype=np.float64) for m in methods}

    def add(self, rows: np.ndarray, scores: dict[str, np.ndarray]) -> None:
        self.rows = np.concatenate([self.rows, rows])
        for m in self.scores:
            self.scores[m] = np.concatenate([self.scores[m], scores[m]])


def kth_best(values: np.ndarray, k: int) -> float:
    return float(np.partition(values, len(values) - k)[len(values) - k]) if len(values) >= k else -np.inf


class CandidateSearch:
    def __init__(self, dense: DenseSide | None, lexical: dict[str, FieldPostings], rows: int,
                 depth: int = DENSE_DEPTH, seed_postings: int = SEED_POSTINGS, lexical_depth: int = LEXICAL_DEPTH,
                 score_all_allowed: int = SCORE_ALL_ALLOWED, lexical_max: int = LEXICAL_MAX,
                 lexical_scored: int = LEXICAL_SCORED):
        """``lexical``: method ("bm25", "bm25_fold") → its field; ``rows``: the index's size."""
        self.dense, self.lexical, self.n = dense, lexical, rows
        self.depth, self.seed_postings, self.lexical_depth = depth, seed_postings, lexical_depth
        self.score_all_allowed, self.lexical_max = score_all_allowed, max(lexical_max, lexical_depth)
        self.lexical_scored = lexical_scored
        self._beside = ThreadPoolExecutor(1, thread_name_prefix="dense-list")

    def search(self, vector: np.ndarray | None, tokens: dict[str, list[str]], weights: dict[str, float],
               k: int = 10, allowed: np.ndarray | None = None) -> Ranked:
        """The top ``k`` rows by the weighted z-score fusion of the methods given (dense when
        ``vector`` is; a BM25 method for each entry of ``tokens``), among ``allowed`` rows."""
        laps = _Laps()
        q = None if vector is None or self.dense is None else np.asarray(vector, dtype=np.float32).ravel()
        narrow = allowed is not None and allowed.sum() <= self.score_all_allowed
        # The dense structure's list is read on the other core while the lexical statistics are computed
        # (faiss leaves the GIL; one query's IVF scan runs on one thread).
        listing = (self._beside.submit(self._dense_list, q, self.depth)
                   if q is not None and weights.get("dense", 0.0) > 0 and not narrow else None)
        terms = {m: self.lexical[m].query(t) for m, t in tokens.items()}
        laps.lap("terms")
        methods = (["dense"] if q is not None else []) + list(terms)
        moments = {m: self.lexical[m].moments(t) for m, t in terms.items()}
        if q is not None:
            moments["dense"] = self.dense.moments.mean_std(q)
        coef = {m: weights.get(m, 0.0) / sd if weights.get(m, 0.0) and sd > 0 else 0.0
                for m, (_, sd) in moments.items()}
        offset = sum(coef[m] * moments[m][0] for m in methods)
        laps.lap("moments")
        score = _Scorer(self, q, terms)
        if narrow:   # a narrow filter: all of it
            rows = np.flatnonzero(allowed)
            pool = _Pool(methods)
            pool.add(rows, score.all(rows))
            return self._ranked(pool, coef, offset, k, allowed, score, {"allowed": len(rows)}, laps)

        # 1. Seed: the dense list (its cosines exact); without one, the rarest terms' postings.
        uses_dense = q is not None and coef["dense"] > 0
        seed, trace = [], {}
        for m, t in terms.items():
            if not uses_dense and coef[m] > 0 and len(t):
                field = self.lexical[m]
                lengths = field.length(t.ids)
                order = np.argsort(lengths, kind="stable")
                for term in t.ids[order][np.cumsum(lengths[order]) <= self.seed_postings].tolist():
                    seed.append(np.asarray(field.postings(term)[0], dtype=np.int64))
        depth = self.depth
        while True:
            if listing is not None and depth == self.depth:
                floor, listed = listing.result()
                laps.lap("dense_wait")
            else:
                floor, listed = (self._dense_list(q, depth) if uses_dense
                                 else (-np.inf, (np.zeros(0), np.zeros(0, np.int64))))
            rows = np.unique(np.concatenate(seed + [listed[1]]))
            if allowed is not None:
                rows = rows[allowed[rows]]
            known = None
            if q is not None:   # the listed rows' cosines are exact already
                pos = np.minimum(np.searchsorted(listed[1], rows), max(len(listed[1]) - 1, 0))
                hit = listed[1][pos] == rows if len(listed[1]) else np.zeros(len(rows), dtype=bool)
                known = np.where(hit, listed[0][pos] if len(listed[0]) else 0.0, np.nan)
            pool = _Pool(methods)
            pool.add(rows, score.all(rows, known_dense=known))
            laps.lap("seed")
            raw = score.fused_raw(pool.scores, coef)
            theta = kth_best(raw, k)
            dense_bound = coef["dense"] * floor if uses_dense else 0.0
            if dense_bound == -np.inf:   # the dense list holds every row: the seed has them all
                return self._ranked(pool, coef, offset, k, allowed, score, trace, laps)
            # A row holding no query term scores at most the dense bound: under θ, it cannot enter the
            # top k; else the list is too short for this query, and is read deeper.
            if not uses_dense or dense_bound < theta or depth >= self.n:
                break
            depth *= 4
        trace.update(depth=depth, seed=len(pool.rows))

        # 2. Essential terms: a row outside the dense list has a cosine of at most the list's last
        # one, so the weakest terms (by the most each can add), whose bounds together with that
        # cosine stay under θ, cannot lift a row holding none of the others into the top k.
        lists = sorted(((m, term, count, coef[m] * bound)
                        for m, t in terms.items() if coef[m] > 0
                        for term, count, bound in zip(t.ids.tolist(), t.counts.tolist(),
                                                      self.lexical[m].upper_bounds(t).tolist())),
                       key=lambda x: x[3])
        cumulative = np.cumsum([x[3] for x in lists])
        weak = int(np.searchsorted(dense_bound + cumulative >= theta, True)) if theta > -np.inf else 0
        trace.update(terms=len(lists), essential=len(lists) - weak)
        laps.lap("essential")
        if weak == len(lists):
            return self._ranked(pool, coef, offset, k, allowed, score, trace, laps)
        # 3. Lexical candidates: rows holding an essential term, by those terms' weights (exact: summed
        # over their postings). Best first, batch by batch, each row gets the weak terms' exact weights
        # too; a row whose lexical score with the dense bound reaches θ gets its cosine and is scored.
        # Every row after the batch has at most the batch's last partial sum plus the weak bounds: when
        # that stays under θ no row left can enter (the top k is proven); else the next batch, twice as
        # deep, up to ``lexical_max`` rows (where this departs from an exact top k: make bench-scale
        # measures it as recall@10 against exhaustive search, and how often the bound closed).
        # The rows batches can reach, and the next (its partial sum bounds every row after them).
        essential = _essential_rows(self.n, [(m, *self.lexical[m].postings(term), count)
                                             for m, term, count, _ in lists[weak:]],
                                    pool.rows, allowed, coef, self.lexical_max + 1)
        rows, partial = essential.rows, essential.partial
        laps.lap("union")
        remaining = float(cumulative[weak - 1]) if weak else 0.0   # the most the weak terms add to a row
        taken, depth, theta, rest = 0, self.lexical_depth, kth_best(score.fused_raw(pool.scores, coef), k), np.inf
        while taken < min(len(rows), self.lexical_max):
            batch = np.arange(taken, min(depth, len(rows)))
            batch = batch[np.argsort(rows[batch])]   # rows ascending, as the lookups want them
            signals = {m: essential.sums[m][batch].copy() if m in essential.sums else np.zeros(len(batch))
                       for m in terms}
            self._add_weights([x[:3] for x in lists[:weak]], rows[batch], signals)
            laps.lap("weak")
            lexical = _Scorer.fused_raw(signals, coef)
            self._score_above(pool, rows[batch], signals, lexical, dense_bound, coef, k, score,
                              self.lexical_scored if taken == 0 else 0)
            laps.lap("scored")
            taken, theta = min(depth, len(rows)), kth_best(score.fused_raw(pool.scores, coef), k)
            rest = dense_bound + remaining + (partial[taken] if taken < len(partial) else -np.inf)
            if rest < theta or depth >= self.lexical_max:
                break
            depth *= 2
        # bound: the most a row not scored can reach, in the fusion's units (the tests check it): a row
        # after the batches, ``rest``; one left in a batch or outside the union, under θ (θ only rose).
        trace.update(union=essential.union, lexical=taken, proven=bool(rest < theta), bound=max(rest, theta) - offset,
                     scored_rows=pool.rows)
        return self._ranked(pool, coef, offset, k, allowed, score, trace, laps)

    def _add_weights(self, items: list[tuple[str, int, float]], rows: np.ndarray,
                     out: dict[str, np.ndarray]) -> None:
        """``out[method] +=`` each (method, term, count)'s weights at ``rows`` (ascending): half of the
        terms on the other core (the lookups are numpy binary searches, which leave the GIL)."""
        def add(part, into):
            for m, term, count in part:
                self.lexical[m].add_weights(term, rows, into[m], count)

        if len(items) < 2 * PARALLEL_TERMS:
            add(items, out)
            return
        other = {m: np.zeros_like(v) for m, v in out.items()}
        beside = self._beside.submit(add, items[1::2], other)
        add(items[::2], out)
        beside.result()
        for m, v in other.items():
            out[m] += v

    @staticmethod
    def _score_above(pool: _Pool, rows: np.ndarray, signals: dict[str, np.ndarray], lexical: np.ndarray,
                     dense_bound: float, coef: dict[str, float], k: int, score: "_Scorer", always: int) -> None:
        """Rows whose exact lexical score with the dense bound reaches θ: their cosines, into the
        pool (best first, θ rising as they come, so fewer cosines are read). The ``always`` best
        are scored whatever the bound: a row the approximate dense structure missed has a cosine
        above its bound, and the lexically best rows are where such a row matters most."""
        order = np.argsort(-lexical, kind="stable")
        for start in range(0, len(order), SCORE_CHUNK):
            theta = kth_best(score.fused_raw(pool.scores, coef), k)
            chunk = order[start:start + SCORE_CHUNK]
            forced = np.arange(start, start + len(chunk)) < always
            chunk = np.sort(chunk[(dense_bound + lexical[chunk] >= theta) | forced])
            if not len(chunk):
                break   # later rows score less
            scores = {m: v[chunk] if coef.get(m) else score.lexical(m, rows[chunk]) for m, v in signals.items()}
            if score.q is not None:
                scores["dense"] = score.dense(rows[chunk])
            pool.add(rows[chunk], scores)

    def _dense_list(self, q: np.ndarray, depth: int) -> tuple[float, tuple[np.ndarray, np.ndarray]]:
        """The dense structure's best ``depth`` rows: the bound on every other row's cosine, and the
        rows (ascending) with their cosines."""
        cosines, rows = self.dense.search.candidates(q, min(depth, self.n))
        floor = -np.inf   # every row listed: no other row to bound
        if len(rows) < self.n:   # none unlisted beats the last cosine (the structure's own assumption)
            floor = float(cosines.min()) if len(cosines) else 1.0   # 1: unit vectors
        order = np.argsort(rows)
        return floor, (cosines[order].astype(np.float64), rows[order].astype(np.int64))

    def _ranked(self, pool: _Pool, coef: dict[str, float], offset: float, k: int, allowed, score,
                trace: dict, laps: _Laps) -> Ranked:
        raw = score.fused_raw(pool.scores, coef)
        order = np.lexsort((pool.rows, -raw))[:k]   # best first; ties by row (as a stable sort of rows)
        signals = {m: s[order] for m, s in pool.scores.items()}
        ranks = {m: np.array([int((s > s[i]).sum()) + 1 for i in order], dtype=np.int64)
                 for m, s in pool.scores.items()}
        laps.lap("rank")
        return Ranked(pool.rows[order], raw[order] - offset, signals, ranks, scored=len(pool.rows),
                      trace={**trace, "ms": laps.ms})


def _best_first(values: np.ndarray, count: int) -> np.ndarray:
    """Positions of the ``count`` largest values, largest first (ties by position)."""
    if len(values) > count:
        kth = np.partition(values, len(values) - count)[len(values) - count]   # the count-th largest
        above = np.flatnonzero(values > kth)
        top = np.concatenate([above, np.flatnonzero(values == kth)[:count - len(above)]])   # ties: the first
        return top[np.lexsort((top, -values[top]))]
    return np.argsort(-values, kind="stable")


def _best_rows(values: np.ndarray, count: int) -> np.ndarray:
    """``_best_first`` of an array of every row, most of it −inf: the ``count``-th largest is first
    estimated on every 16th row, so only the few rows above that estimate are partitioned exactly."""
    stride = 16
    if len(values) > 64 * count:
        sample = values[::stride]
        cut = len(sample) - 2 * (count // stride + 1)   # twice the expected share: rarely too high
        threshold = np.partition(sample, cut)[cut]
        near = np.flatnonzero(values >= threshold if threshold > -np.inf else values > threshold)
        if len(near) >= count or threshold == -np.inf:   # (−inf: ``near`` holds every candidate)
            return near[_best_first(values[near], count)]
    return _best_first(values, count)


@dataclass(frozen=True)
class _Essential:
    """The rows holding an essential term (not scored yet, allowed), best first by those terms' weights."""

    rows: np.ndarray              # the best ``count`` rows, best first
    sums: dict[str, np.ndarray]   # method → the essential terms' weighted sum at each of them
    partial: np.ndarray           # the fusion's share of those sums (descending)
    union: int                    # how many rows hold an essential term (with a positive weight)


def _essential_rows(n: int, lists: list[tuple[str, np.ndarray, np.ndarray, float]], scored: np.ndarray,
                    allowed: np.ndarray | None, coef: dict[str, float], count: int) -> _Essential:
    """The best ``count`` rows by the weighted sums of the (method, rows, weights, factor) lists. A row
    whose sum is 0 (impacts round a tiny weight to 0) counts as holding none: it is bounded as they are."""
    methods = sorted({m for m, _, _, _ in lists})
    if sum(len(r) for _, r, _, _ in lists) > n // 16:   # long lists: sums in an array of every row
        # float32 and intp keys: these scattered adds are most of a long question's time, and both
        # halve it; the best rows' sums are read back in float64 (as the rows scored are).
        sums = {m: np.zeros(n, dtype=np.float32) for m in methods}
        for m, rows, weights, factor in lists:   # a term's rows are distinct: one fancy add each
            sums[m][np.asarray(rows).astype(np.intp)] += np.asarray(weights, dtype=np.float32) * np.float32(factor)
        partial = np.zeros(n, dtype=np.float32)
        for m, v in sums.items():
            partial += np.float32(coef[m]) * v
        partial[partial <= 0] = -np.inf
        partial[scored] = -np.inf
        if allowed is not None:
            partial[~allowed] = -np.inf
        top = _best_rows(partial, count)
        top = top[partial[top] > -np.inf]
        best = {m: v[top].astype(np.float64) for m, v in sums.items()}
        exact = _Scorer.fused_raw(best, coef)
        order = np.lexsort((top, -exact))   # float64's order of the rows float32 chose (a near-tie may swap)
        return _Essential(top[order], {m: v[order] for m, v in best.items()}, exact[order],
                          int(np.count_nonzero(partial > -np.inf)))
    every = {m: np.concatenate([np.asarray(r, dtype=np.int64) for x, r, _, _ in lists if x == m]) for m in methods}
    unique, inverse = np.unique(np.concatenate(list(every.values())), return_inverse=True)
    split = np.cumsum([len(every[m]) for m in methods])[:-1]
    sums = {m: np.bincount(part, minlength=len(unique),
                           weights=np.concatenate([np.asarray(w, dtype=np.float64) * f
                                                   for x, _, w, f in lists if x == m]))
            for m, part in zip(methods, np.split(inverse, split))}
    partial = _Scorer.fused_raw(sums, coef)
    keep = (partial > 0) & ~np.isin(unique, scored) & (allowed[unique] if allowed is not None else True)
    unique, partial, sums = unique[keep], partial[keep], {m: v[keep] for m, v in sums.items()}
    top = _best_first(partial, count)
    return _Essential(unique[top], {m: v[top] for m, v in sums.items()}, partial[top], len(unique))


class _Scorer:
    """Exact raw scores of given rows (ascending), method by method."""

    def __init__(self, search: CandidateSearch, q: np.ndarray | None, terms: dict[str, QueryTerms]):
        self.search, self.q, self.terms = search, q, terms

    def dense(self, rows: np.ndarray) -> np.ndarray:
        if self.search.dense.vectors is None:   # IVF-SQ: cosines decoded from its codes, no exact vectors
            return self.search.dense.search.row_cosines(rows, self.q).astype(np.float64)
        vectors = np.asarray(self.search.dense.vectors)   # a plain view of the map: no memmap __getitem__
        return (vectors[rows] @ self.q).astype(np.float64) if len(rows) else np.zeros(0, dtype=np.float64)

    def lexical(self, method: str, rows: np.ndarray) -> np.ndarray:
        return self.search.lexical[method].scores_at(self.terms[method], rows)

    def all(self, rows: np.ndarray, known_dense: np.ndarray | None = None) -> dict[str, np.ndarray]:
        out = {}
        if self.q is not None:
            dense = np.asarray(known_dense, dtype=np.float64).copy() if known_dense is not None else \
                np.full(len(rows), np.nan)
            missing = np.isnan(dense)
            dense[missing] = self.dense(rows[missing])
            out["dense"] = dense
        lexical = {m: np.zeros(len(rows), dtype=np.float64) for m in self.terms}
        self.search._add_weights([(m, term, count) for m, t in self.terms.items()
                                  for term, count in zip(t.ids.tolist(), t.counts.tolist())], rows, lexical)
        return {**out, **lexical}

    @staticmethod
    def fused_raw(scores: dict[str, np.ndarray], coef: dict[str, float]) -> np.ndarray:
        size = len(next(iter(scores.values()))) if scores else 0
        return sum((coef[m] * s for m, s in scores.items() if coef.get(m)), np.zeros(size, dtype=np.float64))


def candidate_search(index) -> CandidateSearch | None:
    """The candidate search of a loaded ``HybridIndex``; None when its generation was built without
    the statistics it needs (such an index is searched exhaustively)."""
    fields, moments = index.field_postings, index.dense_moments
    if fields is None or moments is None:
        return None
    search = index.dense_search
    dense = DenseSide(search, None if search.decodes_rows else index.row_vectors, moments)
    return CandidateSearch(dense, {m: fields[f] for m, f in LEXICAL_FIELDS.items()}, len(index))
