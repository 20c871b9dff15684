"""A loaded index generation: passages, dense FAISS matrix, two BM25 fields, diacritic statistics.

Loaded once per process (the CLI, the action server) and kept in memory; everything here is
read-only. Building and updating lives in ``writer``.
"""
from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np

from retrieval.errors import IndexCorruptError
from retrieval.index.dense import DenseSearch
from retrieval.index.layout import current_generation
from retrieval.index.manifest import Manifest
from retrieval.index.store import PassageStore
from retrieval.schema import Passage

log = logging.getLogger(__name__)

DENSE_FILE = "dense.faiss"
STORE_FILE = "store.sqlite"
DIACRITICS_FILE = "diacritics.json"
BM25_FIELDS = ("vi", "fold")


def bm25_dir(generation: Path, field: str) -> Path:
    return generation / f"bm25_{field}"


def import_bm25s():
    """bm25s sets its own logger to DEBUG at import; keep its per-call chatter off stderr."""
    import bm25s

    logging.getLogger("bm25s").setLevel(logging.WARNING)
    return bm25s


@dataclass
class HybridIndex:
    root: Path
    generation: Path
    manifest: Manifest
    passages: list[Passage]
    dense: "faiss.Index"  # noqa: F821 - faiss imported lazily
    bm25: dict[str, "bm25s.BM25"]  # noqa: F821
    store: PassageStore
    restorer: object | None   # DiacriticRestorer, when the generation has statistics
    document_numbers: list[str]   # every document number the passages carry or mention

    @classmethod
    def load(cls, root: Path) -> "HybridIndex":
        import faiss

        bm25s = import_bm25s()
        generation = current_generation(root)
        manifest = Manifest.load(generation)
        try:
            store = PassageStore(generation / STORE_FILE)
            passages = store.passages()
            dense = faiss.read_index(str(generation / DENSE_FILE))
            bm25 = {f: bm25s.BM25.load(str(bm25_dir(generation, f)), show_progress=False, verbosity=0)
                    for f in BM25_FIELDS}
            restorer = _load_restorer(generation)
        except IndexCorruptError:
            raise
        except Exception as exc:  # faiss/bm25s/sqlite each raise their own types on damaged files
            raise IndexCorruptError(f"index at {root} is damaged ({type(exc).__name__}: {exc}); "
                                    "re-ingest into a fresh --index") from exc
        if not (dense.ntotal == len(passages) == manifest.counts.get("passages", -1)):
            raise IndexCorruptError(
                f"index at {root} is inconsistent: {dense.ntotal} vectors, {len(passages)} passages, "
                f"manifest says {manifest.counts.get('passages')}; re-ingest into a fresh --index")
        return cls(root=root, generation=generation, manifest=manifest, passages=passages,
                   dense=dense, bm25=bm25, store=store, restorer=restorer,
                   document_numbers=store.document_numbers())

    def __len__(self) -> int:
        return len(self.passages)

    @cached_property
    def _dense_search(self) -> DenseSearch:
        # The structure the manifest says was built (flat, IVF, HNSW …), searched as it records.
        return DenseSearch.open(self.generation / DENSE_FILE, self.dense, self.manifest.dense_spec)

    def dense_scores(self, query_vector: np.ndarray) -> np.ndarray:
        """Cosine similarity of one (normalised) query vector to every passage, in row order (an
        approximate structure scores its candidates; the rest stand at the weakest candidate's score)."""
        if self.manifest.dense_spec.type != "flat":
            return self._dense_search.scores(query_vector)
        n = len(self.passages)
        if n == 0:
            return np.zeros(0, dtype=np.float32)
        scores, rows = self.dense.search(query_vector.reshape(1, -1).astype(np.float32), n)
        out = np.full(n, -1.0, dtype=np.float32)
        out[rows[0]] = scores[0]
        return out

    def bm25_scores(self, field: str, tokens: list[str]) -> np.ndarray:
        retriever = self.bm25[field]
        known = [t for t in tokens if t in retriever.vocab_dict]
        if not known:
            return np.zeros(len(self.passages), dtype=np.float32)
        return np.asarray(retriever.get_scores(known), dtype=np.float32)


def _load_restorer(generation: Path):
    path = generation / DIACRITICS_FILE
    if not path.exists():
        return None
    from retrieval.index.diacritics import DiacriticRestorer

    return DiacriticRestorer.from_dict(json.loads(path.read_text(encoding="utf-8")))
