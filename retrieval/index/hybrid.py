"""A loaded index generation: passages, dense FAISS matrix, two BM25 fields, diacritic statistics.

Loaded once per process (the CLI, the action server); everything here is read-only. The arrays are
memory-mapped and the passages read from the store by row (``rows``), so loading costs the same at
10² and 10⁶ passages. Building and updating lives in ``writer``.
"""
from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np

from retrieval.errors import IndexCorruptError
from retrieval.index.bm25field import load_field
from retrieval.index.dense import DenseSearch, read_vectors
from retrieval.index.impacts import weights as posting_weights
from retrieval.index.layout import current_generation
from retrieval.index.manifest import Manifest
from retrieval.index.moments import DenseMoments
from retrieval.index.postings import FieldPostings
from retrieval.index.rows import PassageRows
from retrieval.index.store import PassageStore

log = logging.getLogger(__name__)

DENSE_FILE = "dense.faiss"
STORE_FILE = "store.sqlite"
DIACRITICS_FILE = "diacritics.json"
BM25_FIELDS = ("vi", "fold")


def bm25_dir(generation: Path, field: str) -> Path:
    return generation / f"bm25_{field}"


@dataclass
class HybridIndex:
    root: Path
    generation: Path
    manifest: Manifest
    passages: PassageRows
    dense: "faiss.Index"  # noqa: F821 - faiss imported lazily
    bm25: dict[str, "bm25s.BM25"]  # noqa: F821
    store: PassageStore
    restorer: object | None   # DiacriticRestorer, when the generation has statistics
    document_numbers: list[str]   # every document number the passages carry or mention

    @classmethod
    def load(cls, root: Path) -> "HybridIndex":
        generation = current_generation(root)
        manifest = Manifest.load(generation)
        try:
            store = PassageStore(generation / STORE_FILE)
            # Only rows whose input is recorded can be read: a store missing some fails the check below.
            passages = PassageRows(store, store.readable_count())
            dense = read_dense(generation / DENSE_FILE)
            # Memory-mapped: a generation's files never change once published (an update writes a
            # new one), and the pages are shared by every process serving the same generation.
            # (a large index's fields compact: weights as impacts, the vocabulary a mapped trie)
            bm25 = {f: load_field(bm25_dir(generation, f)) for f in BM25_FIELDS}
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
    def dense_search(self) -> DenseSearch:
        # The structure the manifest says was built (flat, IVF, HNSW …), searched as it records.
        return DenseSearch.open(self.generation / DENSE_FILE, self.dense, self.manifest.dense_spec)

    @cached_property
    def row_vectors(self) -> np.ndarray:
        """Every passage's exact vector by row, memory-mapped: the flat index's own, or the file an
        approximate structure keeps beside it."""
        flat = self._flat_vectors()
        if flat is not None:
            return flat
        return read_vectors(self.generation / DENSE_FILE, self.manifest.dense_spec, mmap=True)

    @cached_property
    def dense_moments(self) -> DenseMoments | None:
        """The vectors' mean and covariance (None: a generation built before they were kept)."""
        return DenseMoments.load(self.generation)

    @cached_property
    def field_postings(self) -> dict[str, FieldPostings] | None:
        """Both BM25 fields read by term, with their statistics (None: a generation built before
        they were kept)."""
        fields = {f: FieldPostings.open(self.bm25[f], bm25_dir(self.generation, f)) for f in BM25_FIELDS}
        return fields if all(v is not None for v in fields.values()) else None

    def dense_scores(self, query_vector: np.ndarray) -> np.ndarray:
        """Cosine similarity of one (normalised) query vector to every passage, in row order (an
        approximate structure scores its candidates; the rest stand at the weakest candidate's score)."""
        if self.manifest.dense_spec.type != "flat":
            return self.dense_search.scores(query_vector)
        n = len(self.passages)
        if n == 0:
            return np.zeros(0, dtype=np.float32)
        matrix = self._flat_vectors()
        if matrix is not None:   # every score is wanted: one matrix product, no sort of all n
            return inner_products(matrix, query_vector)
        scores, rows = self.dense.search(query_vector.reshape(1, -1).astype(np.float32), n)
        out = np.full(n, -1.0, dtype=np.float32)
        out[rows[0]] = scores[0]
        return out

    def _flat_vectors(self) -> np.ndarray | None:
        """A flat inner-product index's vectors as a (mapped, not copied) matrix; None for other types."""
        if "_flat" not in self.__dict__:
            import faiss

            flat = None
            if isinstance(self.dense, faiss.IndexFlat) and self.dense.metric_type == faiss.METRIC_INNER_PRODUCT:
                n, d = self.dense.ntotal, self.dense.d
                flat = faiss.rev_swig_ptr(self.dense.get_xb(), n * d).reshape(n, d)
            self.__dict__["_flat"] = flat
        return self.__dict__["_flat"]

    def bm25_scores(self, field: str, tokens: list[str]) -> np.ndarray:
        """BM25 of every passage (see ``bm25_scores``)."""
        return bm25_scores(self.bm25[field], tokens, len(self.passages))

    def document_frequencies(self, field: str) -> "DocumentFrequencies":
        return DocumentFrequencies(self.bm25[field])


class DocumentFrequencies:
    """How many passages hold each token of a BM25 field: the length of its postings (a mapping's
    ``get``, read from the index rather than recounted from every passage's tokens)."""

    def __init__(self, retriever):
        self._vocab, self._indptr = retriever.vocab_dict, retriever.scores["indptr"]

    def get(self, token: str, default: int = 0) -> int:
        term = self._vocab.get(token)
        return default if term is None else int(self._indptr[term + 1] - self._indptr[term])


BINCOUNT_POSTINGS = 1 << 23   # postings gathered for one bincount: bounds memory at 10^6 passages


def bm25_scores(retriever, tokens: list[str], n: int) -> np.ndarray:
    """BM25 of ``n`` documents: the query tokens' precomputed postings summed per document (what
    bm25s' get_scores does, in one bincount instead of one np.add.at per token; one per
    ``BINCOUNT_POSTINGS`` postings when the query's postings are longer, as at national scale)."""
    ids = [retriever.vocab_dict[t] for t in tokens if t in retriever.vocab_dict]
    if not ids:
        return np.zeros(n, dtype=np.float32)
    if retriever.nonoccurrence_array is not None:   # BM25L/BM25+ variants: bm25s' own path
        return np.asarray(retriever.get_scores(ids), dtype=np.float32)
    scores = retriever.scores
    indices, indptr = scores["indices"], scores["indptr"]
    spans = [(indptr[i], indptr[i + 1], i) for i in ids]   # a repeated query token counts again, as in bm25s
    total, group, size = None, [], 0
    for position, (a, b, _) in enumerate(spans):
        group.append(spans[position])
        size += b - a
        following = spans[position + 1] if position + 1 < len(spans) else None
        if following is not None and size + following[1] - following[0] <= BINCOUNT_POSTINGS:
            continue   # gather more: one bincount for all of a small index's query
        rows = np.concatenate([indices[x:y] for x, y, _ in group])
        weights = np.concatenate([posting_weights(scores, t, x, y) for x, y, t in group])   # impacts decoded
        part = np.bincount(rows, weights=weights, minlength=n)
        total = part if total is None else total + part
        group, size = [], 0
    return total.astype(np.float32)


def inner_products(matrix: np.ndarray, vector: np.ndarray) -> np.ndarray:
    """``matrix @ vector`` for a C-contiguous float32 matrix, aligned or not.

    A flat index's mapped vectors start at an odd byte offset of its file (after faiss's header);
    numpy hands an unaligned array to its own loop instead of BLAS, ~100× slower (12 ms instead
    of 0.1 ms for 4,000 × 384). faiss's kernel reads unaligned rows at full speed."""
    import faiss

    n, d = matrix.shape
    vector = np.ascontiguousarray(vector, dtype=np.float32).ravel()
    if not matrix.flags.c_contiguous or matrix.dtype != np.float32 or vector.size != d:
        return matrix @ vector
    out = np.empty(n, dtype=np.float32)
    faiss.fvec_inner_products_ny(faiss.swig_ptr(out), faiss.swig_ptr(vector), faiss.swig_ptr(matrix), d, n)
    return out


def read_dense(path: Path) -> "faiss.Index":  # noqa: F821
    """The FAISS index memory-mapped where its type allows: flat codes (flat, HNSW storage) mapped in
    place (IO_FLAG_MMAP_IFC), IVF lists on disk (IO_FLAG_MMAP); any other type is read into memory."""
    import faiss

    for flags in (faiss.IO_FLAG_MMAP_IFC | faiss.IO_FLAG_READ_ONLY, faiss.IO_FLAG_MMAP):
        try:
            return faiss.read_index(str(path), flags)
        except RuntimeError as exc:
            log.debug("cannot memory-map %s with flags %#x (%s)", path, flags, exc)
    return faiss.read_index(str(path))


def _load_restorer(generation: Path):
    path = generation / DIACRITICS_FILE
    if not path.exists():
        return None
    from retrieval.index.diacritics import DiacriticRestorer

    return DiacriticRestorer.from_dict(json.loads(path.read_text(encoding="utf-8")))
