"""The dense (FAISS) structure of a generation: which type, built how, searched how.

- ``flat``: exact inner product over every vector (IndexFlatIP); the vectors are the index itself.
- ``ivf``: IndexIVFFlat, ``nlist`` k-means cells, ``nprobe`` of them scanned per query.
- ``ivfpq``: IVF with 8-bit product-quantised codes (``pq_m`` sub-vectors): small in memory; its
  candidates are rescored exactly against the stored vectors, memory-mapped.
- ``ivfsq``: IndexIVFScalarQuantizer: each vector's residual to its cell centre in ``sq_bits`` per
  dimension (8: one byte, 16: float16), a quarter (half) of IVF-flat's memory. Its cosines come from
  the codes (no exact vectors read at query time); any row's cosine is decoded from its code through
  the index's direct map (``row_cosines``).
- ``hnsw``: IndexHNSWFlat, a graph of ``hnsw_m`` links per vector, ``ef_search`` wide at query time.
- ``auto``: flat up to ``auto_flat_max`` passages, ``AUTO_ANN`` beyond (figures: docs/architecture.md,
  "At national scale", from ``python -m retrieval.index.scale``).

An approximate structure is built from vectors kept beside it (``vectors.npy``), so changing the type
rebuilds the structure and never re-embeds. The manifest records the resolved spec; a search uses what
the manifest says was built, whatever the setting says now.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path

import numpy as np

from retrieval.errors import ConfigError

INDEX_TYPES = ("auto", "flat", "ivf", "ivfpq", "ivfsq", "hnsw")
IVF_TYPES = ("ivf", "ivfpq", "ivfsq")
SQ_BITS = (8, 16)
AUTO_ANN = "ivfsq"   # float16 codes: IVF-flat's recall at 10^6 in half its memory, no exact vectors read
VECTORS_FILE = "vectors.npy"
# An approximate structure returns this many candidates per query: the fusion stands every other
# passage at the weakest candidate's score. Wider than any answer's top 10 so BM25-led passages
# that the dense side also likes keep their dense score.
CANDIDATES = 100
TRAIN_PER_CELL = 40
PQ_MIN_PASSAGES = 39 * 256
# Per type: the fields its structure is built with, and those it is searched with.
_USED = {"flat": ((), ()), "ivf": (("nlist",), ("nprobe",)), "ivfpq": (("nlist", "pq_m"), ("nprobe",)),
         "ivfsq": (("nlist", "sq_bits"), ("nprobe",)),
         "hnsw": (("hnsw_m", "ef_construction"), ("ef_search",))}


@dataclass(frozen=True)
class DenseSpec:
    type: str = "auto"
    nlist: int = 0              # IVF cells; 0: 4·sqrt(passages)
    nprobe: int = 512           # IVF cells scanned per query (R@10 0.9965 at 10^6: make bench-scale)
    pq_m: int = 48              # IVF-PQ sub-vectors (384 / 48 = 8 dimensions each, one byte a code)
    sq_bits: int = 16           # IVF-SQ bits a dimension: 16 (float16) or 8 (uint8: 1.2 points of R@10 less at 10^6)
    hnsw_m: int = 32            # HNSW links per vector
    ef_construction: int = 80   # HNSW candidates kept while linking a vector
    ef_search: int = 400        # HNSW candidates kept while searching (at least CANDIDATES is used)
    auto_flat_max: int = 100_000

    def __post_init__(self) -> None:
        if self.type not in INDEX_TYPES:
            raise ConfigError(f"unknown index type {self.type!r}: TROLYAO_INDEX_TYPE takes one of "
                              f"{', '.join(INDEX_TYPES)}")
        for name in ("nlist", "nprobe", "pq_m", "hnsw_m", "ef_construction", "ef_search", "auto_flat_max"):
            if getattr(self, name) < (0 if name == "nlist" else 1):
                raise ConfigError(f"index {name} must be positive, not {getattr(self, name)}")
        if self.sq_bits not in SQ_BITS:
            raise ConfigError(f"index sq_bits takes one of {SQ_BITS}, not {self.sq_bits}")

    @classmethod
    def from_settings(cls, settings) -> "DenseSpec":
        return cls(type=settings.index_type, nlist=settings.index_nlist, nprobe=settings.index_nprobe,
                   sq_bits=settings.index_sq_bits, hnsw_m=settings.index_hnsw_m, ef_search=settings.index_ef_search)

    def resolved(self, passages: int) -> "DenseSpec":
        """The concrete spec for an index of ``passages`` rows: auto decided, the IVF cells counted."""
        kind = self.type
        if kind == "auto":
            kind = "flat" if passages <= self.auto_flat_max else AUTO_ANN
        nlist = self.nlist
        if kind in IVF_TYPES:
            # FAISS asks ≥ 39 training points per cell; a small corpus still gets a few cells of ≥ 8.
            nlist = nlist or round(4 * math.sqrt(passages))
            nlist = max(1, min(nlist, passages // 8))
        return replace(self, type=kind, nlist=nlist if kind in IVF_TYPES else 0)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "DenseSpec":
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})

    def needs_rebuild(self, built: "DenseSpec") -> bool:
        """The structure itself differs (not only how it is searched). Both specs resolved."""
        return self.type != built.type or any(getattr(self, f) != getattr(built, f) for f in _USED[self.type][0])

    def differs(self, built: "DenseSpec") -> bool:
        """Anything that matters to this type differs, search parameters included. Both specs resolved."""
        return self.needs_rebuild(built) or any(getattr(self, f) != getattr(built, f) for f in _USED[self.type][1])

    @property
    def keeps_vectors(self) -> bool:
        """Approximate structures keep the exact vectors beside them (flat is its own vectors)."""
        return self.type != "flat"


def build(vectors: np.ndarray, spec: DenseSpec, seed: int = 0):
    """A FAISS index of a resolved ``spec`` over L2-normalised ``vectors`` (inner product = cosine)."""
    import faiss

    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    n, dim = vectors.shape
    if spec.type == "flat":
        index = faiss.IndexFlatIP(dim)
    elif spec.type == "hnsw":
        index = faiss.IndexHNSWFlat(dim, spec.hnsw_m, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = spec.ef_construction
    elif spec.type in IVF_TYPES:
        quantizer = faiss.IndexFlatIP(dim)
        if spec.type == "ivf":
            index = faiss.IndexIVFFlat(quantizer, dim, spec.nlist, faiss.METRIC_INNER_PRODUCT)
        elif spec.type == "ivfsq":
            # Residuals to the cell centre, not the vectors: ours share one strong direction, so the
            # residuals' range per dimension is a fraction of the vectors' and the codes' step with it.
            qtype = faiss.ScalarQuantizer.QT_8bit if spec.sq_bits == 8 else faiss.ScalarQuantizer.QT_fp16
            index = faiss.IndexIVFScalarQuantizer(quantizer, dim, spec.nlist, qtype, faiss.METRIC_INNER_PRODUCT,
                                                  True)
        else:
            if dim % spec.pq_m:
                raise ConfigError(f"IVF-PQ needs pq_m dividing the dimension {dim}, not {spec.pq_m}")
            if n < PQ_MIN_PASSAGES:   # 256 codes per sub-vector, each trained on enough points
                raise ConfigError(f"IVF-PQ needs at least {PQ_MIN_PASSAGES} passages, this index has {n}: "
                                  "use flat, ivf or hnsw (TROLYAO_INDEX_TYPE)")
            index = faiss.IndexIVFPQ(quantizer, dim, spec.nlist, spec.pq_m, 8, faiss.METRIC_INNER_PRODUCT)
        index.own_fields = True
        quantizer.this.disown()   # the IVF index frees its quantizer
        # k-means on 40 points a cell (FAISS asks ≥ 39), 10 rounds: at 10^6 passages the cells barely
        # move after that, and training is most of the build. Seeded: a rebuild is reproducible.
        sample = vectors
        if n > TRAIN_PER_CELL * spec.nlist:
            sample = vectors[np.sort(np.random.default_rng(seed).choice(n, TRAIN_PER_CELL * spec.nlist,
                                                                        replace=False))]
        index.cp.seed, index.cp.niter = seed, 10
        if spec.type == "ivfpq":
            index.pq.cp.max_points_per_centroid = 64   # 16k points train each sub-quantizer
        index.train(sample)
    else:
        raise ConfigError(f"index type {spec.type!r} is not resolved (auto is decided by passage count)")
    index.add(vectors)
    if spec.type == "ivfsq":
        # Row → (cell, offset), 8 bytes a row, saved with the index: any row's code can be decoded, so
        # the candidate search scores rows outside the IVF's list without the exact vectors.
        index.make_direct_map()
    configure(index, spec)
    return index


def configure(index, spec: DenseSpec) -> None:
    """Search-time parameters from the spec (what the manifest recorded)."""
    import faiss

    if spec.type in IVF_TYPES:
        faiss.extract_index_ivf(index).nprobe = min(spec.nprobe, spec.nlist)
    elif spec.type == "hnsw":
        index.hnsw.efSearch = max(spec.ef_search, CANDIDATES)


def read_vectors(dense_path: Path, spec: DenseSpec, mmap: bool = False) -> np.ndarray:
    """The exact vectors of the generation holding ``dense_path``, row by row."""
    if spec.keeps_vectors:
        return np.load(dense_path.parent / VECTORS_FILE, mmap_mode="r" if mmap else None)
    import faiss

    index = faiss.read_index(str(dense_path))
    return index.reconstruct_n(0, index.ntotal) if index.ntotal else np.zeros((0, index.d), dtype=np.float32)


def write(dense_path: Path, vectors: np.ndarray, spec: DenseSpec) -> None:
    """The structure at ``dense_path`` and, for an approximate one, the exact vectors beside it."""
    import faiss

    faiss.write_index(build(vectors, spec), str(dense_path))
    if spec.keeps_vectors:
        np.save(dense_path.parent / VECTORS_FILE, np.ascontiguousarray(vectors, dtype=np.float32))


class DenseSearch:
    """Per-passage cosine scores of one query, from whichever structure a generation holds."""

    def __init__(self, index, spec: DenseSpec, vectors: np.ndarray | None = None):
        self.index, self.spec, self.vectors = index, spec, vectors
        configure(index, spec)

    @classmethod
    def open(cls, dense_path: Path, index, spec: DenseSpec) -> "DenseSearch":
        # IVF-PQ's own scores are approximate: its candidates are rescored from the stored vectors,
        # memory-mapped so only the pages touched are resident.
        vectors = read_vectors(dense_path, spec, mmap=True) if spec.type == "ivfpq" else None
        return cls(index, spec, vectors)

    def candidates(self, query: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """The best ``k`` rows by cosine (exact for flat), best first: (scores, rows)."""
        q = np.ascontiguousarray(query.reshape(1, -1), dtype=np.float32)
        wanted = k if self.vectors is None else max(k, CANDIDATES)
        scores, rows = self.index.search(q, min(wanted, self.index.ntotal))
        keep = rows[0] >= 0
        scores, rows = scores[0][keep], rows[0][keep]
        if self.vectors is not None and len(rows):
            order = np.argsort(rows)   # rows in file order: fewer page faults in the memory map
            exact = np.empty(len(rows), dtype=np.float32)
            exact[order] = np.asarray(self.vectors[rows[order]], dtype=np.float32) @ q[0]
            best = np.argsort(-exact, kind="stable")[:k]
            scores, rows = exact[best], rows[best]
        return scores, rows

    @property
    def decodes_rows(self) -> bool:
        """Any row's cosine comes from the structure itself (its codes), not the exact vectors."""
        return self.spec.type == "ivfsq"

    def row_cosines(self, rows: np.ndarray, query: np.ndarray) -> np.ndarray:
        """Cosine of ``query`` with each of ``rows``, decoded from the structure's codes (IVF-SQ)."""
        if not len(rows):
            return np.zeros(0, dtype=np.float32)
        decoded = self.index.reconstruct_batch(np.ascontiguousarray(rows, dtype=np.int64))
        return decoded @ np.asarray(query, dtype=np.float32).ravel()

    def scores(self, query: np.ndarray) -> np.ndarray:
        """One score per passage, in row order: exact for flat; for an approximate structure the
        candidates' scores and, for every other passage, the weakest candidate's."""
        n = self.index.ntotal
        if n == 0:
            return np.zeros(0, dtype=np.float32)
        k = n if self.spec.type == "flat" else min(n, CANDIDATES)
        scores, rows = self.candidates(query, k)
        out = np.full(n, scores.min() if len(scores) else -1.0, dtype=np.float32)
        out[rows] = scores
        return out
