"""The shape of a real index, measured: what the synthetic corpus must look like.

Dense: the vectors' mean direction, topic centres (k-means) and the spread around them (PCA of the
residuals), the nearest-neighbour cosine, and how close questions sit to their passages.
Lexical, per BM25 field: passage lengths (resampled as measured), the rank-frequency slope (Zipf)
and vocabulary growth (Heaps) that set the vocabulary of a corpus of any size.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from retrieval.index.hybrid import BM25_FIELDS, DENSE_FILE, STORE_FILE
from retrieval.index.layout import current_generation
from retrieval.index.manifest import Manifest

PCA_COMPONENTS = 64


@dataclass
class FieldShape:
    lengths: list[int]            # tokens of each reference passage (resampled)
    query_lengths: list[int]      # tokens of each reference question
    vocabulary: int               # distinct tokens in the reference
    zipf_s: float                 # frequency ∝ rank^-s
    heaps_k: float                # vocabulary = k · tokens^beta
    heaps_beta: float

    def vocabulary_at(self, tokens: int) -> int:
        return max(self.vocabulary, int(self.heaps_k * tokens ** self.heaps_beta))

    def summary(self) -> dict:
        lengths = np.asarray(self.lengths)
        return {"vocabulary": self.vocabulary, "zipf_s": round(self.zipf_s, 3),
                "heaps_k": round(self.heaps_k, 3), "heaps_beta": round(self.heaps_beta, 3),
                "tokens_per_passage": {"mean": round(float(lengths.mean()), 1),
                                       "p50": int(np.percentile(lengths, 50)),
                                       "p95": int(np.percentile(lengths, 95))},
                "query_tokens_p50": int(np.percentile(self.query_lengths, 50))}


@dataclass
class DenseShape:
    mean: np.ndarray              # the mean vector (e5's vectors share a strong common direction)
    centres: np.ndarray           # topic centres, residual from the mean
    components: np.ndarray        # PCA axes of what is left around the centres
    stds: np.ndarray              # spread along each axis
    rest_std: float               # spread along every other direction
    nn_cosine_p50: float          # median cosine of a passage to its nearest other passage
    pair_cosine_mean: float       # mean cosine of two random passages
    query_cosine_p50: float       # median cosine of a question to its best passage

    def summary(self) -> dict:
        return {"mean_norm": round(float(np.linalg.norm(self.mean)), 3), "topics": len(self.centres),
                "nn_cosine_p50": round(self.nn_cosine_p50, 3), "pair_cosine_mean": round(self.pair_cosine_mean, 3),
                "query_cosine_p50": round(self.query_cosine_p50, 3)}


@dataclass
class CorpusShape:
    reference: str
    passages: int
    dense: DenseShape
    fields: dict[str, FieldShape] = field(default_factory=dict)

    def summary(self) -> dict:
        return {"reference": self.reference, "passages": self.passages, "dense": self.dense.summary(),
                "fields": {name: f.summary() for name, f in self.fields.items()}}


def nn_cosines(vectors: np.ndarray, sample: int = 1000, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    rows = rng.choice(len(vectors), min(sample, len(vectors)), replace=False)
    sims = vectors[rows] @ vectors.T
    sims[np.arange(len(rows)), rows] = -2.0
    return sims.max(axis=1)


def pair_cosine_mean(vectors: np.ndarray, sample: int = 1000, seed: int = 1) -> float:
    rng = np.random.default_rng(seed)
    a, b = (vectors[rng.choice(len(vectors), sample)] for _ in range(2))
    return float((a * b).sum(axis=1).mean())


def fit_dense(vectors: np.ndarray, query_cosine_p50: float, seed: int = 0) -> DenseShape:
    import faiss

    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    mean = vectors.mean(axis=0)
    centred = vectors - mean
    topics = max(8, len(vectors) // 60)
    kmeans = faiss.Kmeans(vectors.shape[1], topics, niter=20, seed=seed, spherical=False)
    kmeans.train(centred)
    _, assign = kmeans.index.search(centred, 1)
    residual = centred - kmeans.centroids[assign[:, 0]]
    _, singular, axes = np.linalg.svd(residual, full_matrices=False)
    variances = singular ** 2 / len(residual)
    kept = min(PCA_COMPONENTS, len(variances) // 2)   # the rest of the spread is taken as even
    rest = float(np.sqrt(variances[kept:].mean()))
    return DenseShape(mean=mean, centres=kmeans.centroids.copy(), components=axes[:kept],
                      stds=np.sqrt(variances[:kept]), rest_std=rest,
                      nn_cosine_p50=float(np.median(nn_cosines(vectors))),
                      pair_cosine_mean=pair_cosine_mean(vectors), query_cosine_p50=query_cosine_p50)


def fit_field(passages: list[list[str]], queries: list[list[str]]) -> FieldShape:
    from collections import Counter

    counts = Counter(t for tokens in passages for t in tokens)
    freqs = np.sort(np.fromiter(counts.values(), dtype=np.float64))[::-1]
    ranks = np.arange(1, len(freqs) + 1)
    # The slope over the body of the curve (the head is a few function words, the tail hapaxes).
    body = slice(9, max(10, len(freqs) // 2))
    zipf_s = float(-np.polyfit(np.log(ranks[body]), np.log(freqs[body]), 1)[0])
    # Heaps: distinct tokens seen after each tenth of the corpus (in a shuffled order).
    order = np.random.default_rng(0).permutation(len(passages))
    seen, total, points = set(), 0, []
    for i, row in enumerate(order, 1):
        seen.update(passages[row])
        total += len(passages[row])
        if i % max(1, len(order) // 10) == 0:
            points.append((total, len(seen)))
    xs, ys = np.log([p[0] for p in points]), np.log([p[1] for p in points])
    beta, log_k = np.polyfit(xs, ys, 1)
    return FieldShape(lengths=[len(t) for t in passages], query_lengths=[max(1, len(q)) for q in queries],
                      vocabulary=len(counts), zipf_s=zipf_s, heaps_k=float(np.exp(log_k)), heaps_beta=float(beta))


def measure(index_root: Path, questions: list[str], query_vectors: np.ndarray | None) -> CorpusShape:
    """The shape of the index at ``index_root``; ``questions`` (text) and their vectors, when given,
    place synthetic queries as far from their passages as real ones are."""
    import faiss

    from retrieval.index.lexical import fold_tokens, vi_tokens
    from retrieval.index.store import PassageStore

    generation = current_generation(index_root)
    manifest = Manifest.load(generation)
    dense = faiss.read_index(str(generation / DENSE_FILE))
    vectors = dense.reconstruct_n(0, dense.ntotal)
    query_cos = float(np.median((query_vectors @ vectors.T).max(axis=1))) if query_vectors is not None else 0.88
    store = PassageStore(generation / STORE_FILE)
    tokenise = {"vi": vi_tokens, "fold": fold_tokens}
    fields = {f: fit_field(list(store.tokens(f)), [tokenise[f](q) for q in questions]) for f in BM25_FIELDS}
    store.close()
    return CorpusShape(reference=str(index_root), passages=manifest.counts.get("passages", len(vectors)),
                       dense=fit_dense(vectors, query_cos), fields=fields)


def save(shape: CorpusShape, path: Path) -> None:
    d = shape.dense
    np.savez(path, mean=d.mean, centres=d.centres, components=d.components, stds=d.stds)
    meta = {"reference": shape.reference, "passages": shape.passages,
            "dense": {"rest_std": d.rest_std, "nn_cosine_p50": d.nn_cosine_p50,
                      "pair_cosine_mean": d.pair_cosine_mean, "query_cosine_p50": d.query_cosine_p50},
            "fields": {name: asdict(f) for name, f in shape.fields.items()}}
    path.with_suffix(".json").write_text(json.dumps(meta), encoding="utf-8")


def load(path: Path) -> CorpusShape:
    arrays = np.load(path)
    meta = json.loads(path.with_suffix(".json").read_text(encoding="utf-8"))
    dense = DenseShape(mean=arrays["mean"], centres=arrays["centres"], components=arrays["components"],
                       stds=arrays["stds"], **meta["dense"])
    return CorpusShape(reference=meta["reference"], passages=meta["passages"], dense=dense,
                       fields={name: FieldShape(**f) for name, f in meta["fields"].items()})
