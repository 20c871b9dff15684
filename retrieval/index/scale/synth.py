"""Synthetic corpora shaped like a measured one (``shape.CorpusShape``).

Vectors: topics of ``TOPIC_SIZE`` passages around the reference's own topic centres; each topic and
each passage spread along the reference's residual axes, the split between the two calibrated so
the nearest-neighbour cosine at the reference's size is the reference's. Questions: a passage moved
away until a question's best cosine is the reference's. Tokens: passage lengths resampled from the
reference, tokens drawn from a Zipf law over the vocabulary Heaps' law gives the corpus's size.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from retrieval.index.scale.shape import DenseShape, FieldShape, nn_cosines

TOPIC_SIZE = 20      # a directive's passages and its relays by other agencies and provinces
CHUNK = 100_000


def _noise(shape: DenseShape, rows: int, rng: np.random.Generator) -> np.ndarray:
    z = rng.standard_normal((rows, len(shape.stds)), dtype=np.float32) * shape.stds.astype(np.float32)
    iso = rng.standard_normal((rows, len(shape.mean)), dtype=np.float32) * np.float32(shape.rest_std)
    return z @ shape.components.astype(np.float32) + iso


def _normalise(x: np.ndarray) -> np.ndarray:
    return x / np.linalg.norm(x, axis=1, keepdims=True)


@dataclass(frozen=True)
class VectorModel:
    shape: DenseShape
    within: float          # share (0..1) of the residual spread inside a topic; the rest is between topics
    query_noise: float     # how far a question is moved from its passage

    def topics(self, n: int, seed: int) -> np.ndarray:
        rng = np.random.default_rng(seed)
        count = max(1, -(-n // TOPIC_SIZE))
        picks = rng.integers(0, len(self.shape.centres), count)
        between = np.sqrt(1 - self.within ** 2)
        return (self.shape.mean + self.shape.centres[picks] + between * _noise(self.shape, count, rng)).astype(np.float32)

    def passages(self, n: int, seed: int = 0, out: np.ndarray | None = None) -> np.ndarray:
        """``n`` unit vectors, written into ``out`` (e.g. a memory-mapped .npy) chunk by chunk."""
        out = np.empty((n, len(self.shape.mean)), dtype=np.float32) if out is None else out
        topics = self.topics(n, seed)
        rng = np.random.default_rng(seed + 1)
        for start in range(0, n, CHUNK):
            rows = np.arange(start, min(n, start + CHUNK))
            out[rows] = _normalise(topics[rows // TOPIC_SIZE] + self.within * _noise(self.shape, len(rows), rng))
        return out

    def queries(self, passages: np.ndarray, count: int, seed: int = 2) -> tuple[np.ndarray, np.ndarray]:
        """``count`` questions, each near one passage: (vectors, the passages' rows)."""
        rng = np.random.default_rng(seed)
        rows = np.sort(rng.choice(len(passages), count, replace=False))
        near = np.asarray(passages[rows], dtype=np.float32)
        return _normalise(near + self.query_noise * _noise(self.shape, count, rng)), rows


def calibrate(shape: DenseShape, reference_size: int, seed: int = 0) -> VectorModel:
    """The within-topic share and the question noise that reproduce the reference's figures at its size."""
    n = max(1000, reference_size)
    best = None
    for within in np.linspace(0.3, 1.0, 15):
        model = VectorModel(shape, float(within), 0.0)
        nn = float(np.median(nn_cosines(model.passages(n, seed))))
        if best is None or abs(nn - shape.nn_cosine_p50) < best[0]:
            best = (abs(nn - shape.nn_cosine_p50), float(within))
    within = best[1]
    passages = VectorModel(shape, within, 0.0).passages(n, seed)
    best = None
    for noise in np.linspace(0.2, 3.0, 29):
        queries, _ = VectorModel(shape, within, float(noise)).queries(passages, min(300, n // 4))
        top = float(np.median((queries @ passages.T).max(axis=1)))
        if best is None or abs(top - shape.query_cosine_p50) < best[0]:
            best = (abs(top - shape.query_cosine_p50), float(noise))
    return VectorModel(shape, within, best[1])


@dataclass
class TokenCorpus:
    """Token ids of every passage, concatenated: passage i is ``tokens[offsets[i]:offsets[i+1]]``."""

    tokens: np.ndarray        # int32
    offsets: np.ndarray       # int64, n + 1
    vocabulary: int

    def __len__(self) -> int:
        return len(self.offsets) - 1

    def passage(self, i: int) -> np.ndarray:
        return self.tokens[self.offsets[i]:self.offsets[i + 1]]


def token_corpus(field: FieldShape, n: int, seed: int = 0) -> TokenCorpus:
    rng = np.random.default_rng(seed)
    lengths = rng.choice(np.asarray(field.lengths, dtype=np.int64), n)
    offsets = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    vocabulary = field.vocabulary_at(int(offsets[-1]))
    cdf = np.cumsum(np.arange(1, vocabulary + 1, dtype=np.float64) ** -field.zipf_s)
    cdf /= cdf[-1]
    tokens = np.empty(int(offsets[-1]), dtype=np.int32)
    for start in range(0, len(tokens), 10 * CHUNK):
        end = min(len(tokens), start + 10 * CHUNK)
        tokens[start:end] = np.searchsorted(cdf, rng.random(end - start))
    # Rank r becomes a random id: frequent tokens are not the low ids (as in a real vocabulary).
    tokens = rng.permutation(vocabulary).astype(np.int32)[tokens]
    return TokenCorpus(tokens, offsets, vocabulary)


def query_tokens(corpus: TokenCorpus, field: FieldShape, rows: np.ndarray, seed: int = 3) -> list[np.ndarray]:
    """Each question's tokens, taken from the passage it was drawn near (its length as measured)."""
    rng = np.random.default_rng(seed)
    lengths = rng.choice(np.asarray(field.query_lengths), len(rows))
    return [rng.choice(corpus.passage(int(r)), int(k)) for r, k in zip(rows, lengths)]


def open_array(path: Path, shape: tuple[int, ...]) -> np.ndarray:
    return np.lib.format.open_memmap(path, mode="w+", dtype=np.float32, shape=shape)
