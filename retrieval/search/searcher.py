"""Hybrid search: dense (FAISS cosine) + BM25 over Vietnamese tokens + BM25 over folded tokens.

Queries typed without diacritics are the norm in chat. For them the dense model and the
accented BM25 field see the query with diacritics restored from the corpus's own statistics;
the folded field needs no restoration at all.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np

from retrieval.errors import InputError
from retrieval.index.hybrid import HybridIndex
from retrieval.index.lexical import fold_tokens, vi_tokens
from retrieval.schema import Hit
from retrieval.search.candidates import LEXICAL_FIELDS, candidate_search
from retrieval.search.fusion import rank_of, top_rows, weighted_zscore_fusion
from retrieval.text import expand_chat_shorthand, has_diacritics, nfc, syllables

ALL_METHODS = ("dense", "bm25", "bm25_fold")
# Fusion weights per query form ("accented": typed with diacritics; "no_diacritics": typed
# without, so the dense side and the accented field see restored text), chosen by
# cross-validation over the ViCoV19QA dev queries: ``python -m retrieval.search.tune`` writes
# them, with the figures they were chosen on, to this file.
WEIGHTS_FILE = Path(__file__).with_name("weights.json")


def load_weights(path: Path = WEIGHTS_FILE) -> dict[str, dict[str, float]]:
    weights = json.loads(path.read_text(encoding="utf-8"))["weights"]
    for form in ("accented", "no_diacritics"):
        if set(weights.get(form, {})) != set(ALL_METHODS):
            raise ValueError(f"{path}: weights of {form!r} must name {', '.join(ALL_METHODS)}")
    return weights


WEIGHTS = load_weights()


@dataclass(frozen=True)
class SearchFilters:
    """Restrict results to one document (its own passages or those naming it), one input file and/or a
    date range."""

    doc_number: str | None = None
    date_from: str | None = None   # ISO, inclusive
    date_to: str | None = None     # ISO, inclusive
    source: str | None = None      # one input file (a page that names no document of its own)

    @property
    def active(self) -> bool:
        return bool(self.doc_number or self.date_from or self.date_to or self.source)


@dataclass(frozen=True)
class QueryView:
    """The forms of one query each method needs."""

    text: str          # as typed (NFC)
    accented: str      # with diacritics restored (or mended) from the corpus's statistics

    @classmethod
    def of(cls, query: str, restorer) -> "QueryView":
        """The restorer also mends a half-accented query ("Sở Y tế duoc giao") and leaves a fully
        accented one as typed, so it runs on every query."""
        text = expand_chat_shorthand(nfc(query)).strip()
        return cls(text, restorer.restore(text) if restorer is not None else text)


# Above this many passages a search scores candidates, not every passage (candidates.py: the same
# top 10 within the approximate dense structure's recall); below, the exhaustive fusion is fast already.
CANDIDATES_ABOVE = 100_000


def method_tokens(view: QueryView, methods: tuple[str, ...]) -> dict[str, list[str]]:
    """The tokens each BM25 method asked for searches with: the accented field the restored text,
    the folded field the text as typed."""
    tokens = {}
    if "bm25" in methods:
        tokens["bm25"] = vi_tokens(view.accented)
    if "bm25_fold" in methods:
        tokens["bm25_fold"] = fold_tokens(view.text)
    return tokens


class Searcher:
    def __init__(self, index: HybridIndex, embedder, visible: np.ndarray | None = None,
                 candidates_above: int = CANDIDATES_ABOVE):
        """``visible``: the rows this searcher may return (an audience's view; None: every row).
        It masks the candidates before ranking, so a hidden passage never displaces a visible one,
        and the documents only hidden passages carry are unknown to it. A generation without the
        statistics candidate search needs (built before them) is searched exhaustively at any size."""
        self.index = index
        self.embedder = embedder
        self.visible = visible
        self.candidates = candidate_search(index) if len(index) > candidates_above else None
        self.document_numbers = index.document_numbers
        if visible is not None:   # one pass over the numbered rows (not two queries a number)
            seen = {number for number, row in index.store.numbered_rows() if visible[row]}
            self.document_numbers = [number for number in index.document_numbers if number in seen]

    def search(self, query: str, k: int = 10, filters: SearchFilters | None = None,
               methods: tuple[str, ...] = ALL_METHODS) -> list[Hit]:
        return self.search_many([query], k, filters, methods)[0]

    def search_many(self, queries: list[str], k: int = 10, filters: SearchFilters | None = None,
                    methods: tuple[str, ...] = ALL_METHODS) -> list[list[Hit]]:
        """Search several queries; the dense side encodes them in one batch."""
        views = [QueryView.of(q, self.index.restorer) for q in queries]
        allowed = self._allowed(filters) if filters and filters.active else self.visible
        # A query with no word in it ("", "!!!") matches nothing; it must not rank the corpus.
        searchable = [i for i, v in enumerate(views) if syllables(v.text)] if len(self.index) else []
        vectors = (dict(zip(searchable, self.embedder.encode_queries([views[i].accented for i in searchable])))
                   if "dense" in methods and searchable else {})
        results = []
        for i, view in enumerate(views):
            if i not in searchable:
                results.append([])
                continue
            form = "accented" if has_diacritics(view.text) else "no_diacritics"
            weights = {m: w for m, w in WEIGHTS[form].items() if m in methods}
            if not any(weights.values()):   # one method asked for alone, which its form does not weigh
                weights = dict.fromkeys(methods, 1.0)
            if self.candidates is not None:
                ranked = self.candidates.search(vectors.get(i), method_tokens(view, methods), weights, k, allowed)
                results.append([
                    Hit(self.index.passages[row], float(ranked.fused[j]),
                        ranks={m: int(r[j]) for m, r in ranked.ranks.items()},   # among the candidates
                        signals={m: float(s[j]) for m, s in ranked.signals.items()}, row=int(row))
                    for j, row in enumerate(ranked.rows.tolist())])
                continue
            scores = self.method_scores(view, vectors.get(i), methods)
            fused = weighted_zscore_fusion(scores, weights)
            results.append([
                Hit(self.index.passages[row], float(fused[row]),
                    ranks={m: rank_of(s, row) for m, s in scores.items()},
                    signals={m: float(s[row]) for m, s in scores.items()}, row=int(row))
                for row in top_rows(fused, allowed, k)])
        return results

    def method_scores(self, view: QueryView, vector: np.ndarray | None,
                      methods: tuple[str, ...] = ALL_METHODS) -> dict[str, np.ndarray]:
        """Raw per-passage scores of each method asked for (the answer stage reads evidence from them);
        a method left out costs nothing (word segmentation alone is a third of a search)."""
        scores = {}
        if vector is not None and "dense" in methods:
            scores["dense"] = self.index.dense_scores(vector)
        for method, tokens in method_tokens(view, methods).items():
            scores[method] = self.index.bm25_scores(LEXICAL_FIELDS[method], tokens)
        return scores

    @cached_property
    def known_numbers(self):
        """``document_numbers`` looked up by key and leading digits (references.KnownNumbers)."""
        from retrieval.ingest.references import KnownNumbers

        return KnownNumbers(self.document_numbers)

    def resolve_document(self, mention: str) -> str:
        """The indexed document a user's mention names ("924/qd-ubnd", "kế hoạch 143", "143")."""
        from retrieval.ingest.references import normalize_doc_number, resolve_document_mention

        exact = normalize_doc_number(mention)
        if exact in self.known_numbers:
            return exact
        found = resolve_document_mention(mention, self.known_numbers)
        if found is None and mention.strip().isdigit():   # a bare number: "143"
            matches = [n for n in self.document_numbers if n.split("/")[0] == mention.strip()]
            found = matches[0] if len(matches) == 1 else None
        if found is None:
            raise InputError(f"document {mention!r} is not in the index (or names several documents)")
        return found

    def _allowed(self, filters: SearchFilters) -> np.ndarray:
        mask = np.ones(len(self.index), dtype=bool) if self.visible is None else self.visible.copy()
        if filters.doc_number:
            own, mentioned = self.index.store.rows_for_document(self.resolve_document(filters.doc_number))
            doc_mask = np.zeros_like(mask)
            doc_mask[own + mentioned] = True
            mask &= doc_mask
        if filters.source:
            mask &= self.index.passages.sources.equal(filters.source)
        if filters.date_from or filters.date_to:
            mask &= self.index.passages.dates.between(filters.date_from or "0000-00-00", filters.date_to or "9999-99-99")
        return mask
