"""Hybrid search: dense (FAISS cosine) + BM25 over Vietnamese tokens + BM25 over folded tokens.

Queries typed without diacritics are the norm in chat. For them the dense model and the
accented BM25 field see the query with diacritics restored from the corpus's own statistics,
and the folded field (which needs no restoration) gets more weight in the fusion.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from retrieval.index.hybrid import HybridIndex
from retrieval.index.lexical import fold_tokens, vi_tokens
from retrieval.schema import Hit
from retrieval.search.fusion import rank_order, reciprocal_rank_fusion
from retrieval.text import has_diacritics, nfc

DEPTH = 100   # how deep each method's ranking goes into the fusion

# Fusion weights, chosen on the benchmark's dev split (see retrieval/bench.py).
WEIGHTS_ACCENTED = {"dense": 1.0, "bm25": 1.0, "bm25_fold": 0.5}
WEIGHTS_FOLDED = {"dense": 1.0, "bm25": 0.5, "bm25_fold": 1.0}


@dataclass(frozen=True)
class SearchFilters:
    """Restrict results to one document (its own passages or those naming it) and/or a date range."""

    doc_number: str | None = None
    date_from: str | None = None   # ISO, inclusive
    date_to: str | None = None     # ISO, inclusive

    @property
    def active(self) -> bool:
        return bool(self.doc_number or self.date_from or self.date_to)


@dataclass(frozen=True)
class QueryView:
    """The forms of one query each method needs."""

    text: str          # as typed (NFC)
    accented: str      # with diacritics restored when typed without them
    restored: bool

    @classmethod
    def of(cls, query: str, restorer) -> "QueryView":
        """``restored`` marks a query typed without any diacritics (the folded field leads then).

        The restorer also mends a half-accented query ("Sở Y tế duoc giao") and leaves a fully
        accented one as typed, so it runs on every query.
        """
        text = nfc(query).strip()
        if restorer is None:
            return cls(text, text, False)
        return cls(text, restorer.restore(text), not has_diacritics(text))


class Searcher:
    def __init__(self, index: HybridIndex, embedder):
        self.index = index
        self.embedder = embedder

    def search(self, query: str, k: int = 10, filters: SearchFilters | None = None,
               methods: tuple[str, ...] = ("dense", "bm25", "bm25_fold")) -> list[Hit]:
        return self.search_many([query], k, filters, methods)[0]

    def search_many(self, queries: list[str], k: int = 10, filters: SearchFilters | None = None,
                    methods: tuple[str, ...] = ("dense", "bm25", "bm25_fold")) -> list[list[Hit]]:
        """Search several queries; the dense side encodes them in one batch."""
        views = [QueryView.of(q, self.index.restorer) for q in queries]
        allowed = self._allowed(filters) if filters and filters.active else None
        vectors = (self.embedder.encode_queries([v.accented for v in views])
                   if "dense" in methods and len(self.index) else None)
        results = []
        for i, view in enumerate(views):
            scores = self.method_scores(view, None if vectors is None else vectors[i])
            rankings = self._rankings(scores, allowed, methods)
            weights = WEIGHTS_FOLDED if view.restored else WEIGHTS_ACCENTED
            fused = reciprocal_rank_fusion(rankings, weights)[:k]
            results.append([
                Hit(self.index.passages[row], score, ranks,
                    signals={m: float(s[row]) for m, s in scores.items()}, row=row)
                for row, score, ranks in fused])
        return results

    def method_scores(self, view: QueryView, vector: np.ndarray | None) -> dict[str, np.ndarray]:
        """Raw per-passage scores of each method (the answer stage reads evidence from them)."""
        scores = {}
        if vector is not None:
            scores["dense"] = self.index.dense_scores(vector)
        scores["bm25"] = self.index.bm25_scores("vi", vi_tokens(view.accented))
        scores["bm25_fold"] = self.index.bm25_scores("fold", fold_tokens(view.text))
        return scores

    @staticmethod
    def _rankings(scores: dict[str, np.ndarray], allowed, methods) -> dict[str, np.ndarray]:
        rankings = {}
        for method in methods:
            if method not in scores:
                continue
            s = scores[method]
            if method != "dense":   # a passage sharing no term with the query is not a lexical hit
                s = np.where(s > 0, s, -np.inf)
            rankings[method] = rank_order(s, allowed, DEPTH)
        return rankings

    def _allowed(self, filters: SearchFilters) -> np.ndarray:
        from retrieval.ingest.references import normalize_doc_number

        mask = np.ones(len(self.index), dtype=bool)
        if filters.doc_number:
            own, mentioned = self.index.store.rows_for_document(normalize_doc_number(filters.doc_number))
            doc_mask = np.zeros_like(mask)
            doc_mask[own + mentioned] = True
            mask &= doc_mask
        if filters.date_from or filters.date_to:
            lo, hi = filters.date_from or "0000-00-00", filters.date_to or "9999-99-99"
            dates = [p.issued_date or p.bulletin_date for p in self.index.passages]
            mask &= np.array([bool(d) and lo <= d <= hi for d in dates], dtype=bool)
        return mask
