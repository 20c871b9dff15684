"""A deterministic stand-in for the embedding model, for tests of the stages above it."""
from __future__ import annotations

import hashlib

import numpy as np

from retrieval.text import fold, syllables


class HashingEmbedder:
    """Bag of folded syllables hashed into a small normalised vector; counts what it embeds.

    Like e5, any two texts are somewhat alike: one constant component puts unrelated texts at a
    cosine of about 0.7 and near-copies above 0.9, the range the abstention model was fitted on."""

    name = "test-hashing-embedder"
    dim = 64
    BASELINE = 1.53   # the constant component's weight: cos = (b·b' + 1.53²) / (1 + 1.53²)

    def __init__(self, fail_after: int | None = None):
        self.passages_embedded = 0
        self.fail_after = fail_after

    def _vector(self, text: str) -> np.ndarray:
        v = np.zeros(self.dim, dtype=np.float32)
        for s in syllables(text):
            v[int(hashlib.md5(fold(s).encode()).hexdigest(), 16) % (self.dim - 1)] += 1.0
        n = np.linalg.norm(v)
        if n:
            v /= n
        v[-1] = self.BASELINE
        return v / np.linalg.norm(v)

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        return np.stack([self._vector(t) for t in texts]) if texts else np.zeros((0, self.dim), np.float32)

    def encode_passages(self, texts: list[str], progress: bool = False) -> np.ndarray:
        if self.fail_after is not None and self.passages_embedded + len(texts) > self.fail_after:
            raise RuntimeError("simulated crash while embedding")
        self.passages_embedded += len(texts)
        return self.encode_queries(texts)
