"""The dense vectors' mean and covariance, precomputed when a generation is built.

The search fuses z-scores: a method's score of a row minus its mean over every row, over its
standard deviation. For cosine scores both follow from two moments of the vectors: for a query q,
mean = q·μ and variance = qᵀCq (C the vectors' covariance), so a large index's search standardises
its dense scores exactly without scoring every row. A generation written before this file existed
has none (None): such an index is searched exhaustively.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

MOMENTS_FILE = "dense_moments.npz"
_CHUNK = 100_000


@dataclass(frozen=True)
class DenseMoments:
    mean: np.ndarray          # (d,) float64
    covariance: np.ndarray    # (d, d) float64
    rows: int

    @classmethod
    def of(cls, vectors: np.ndarray) -> "DenseMoments":
        """Two passes over ``vectors`` (possibly memory-mapped), centred before the products so the
        small variance of cosines near 0.9 is not lost to cancellation."""
        n, d = vectors.shape
        total = np.zeros(d, dtype=np.float64)
        for start in range(0, n, _CHUNK):
            total += np.asarray(vectors[start:start + _CHUNK], dtype=np.float64).sum(axis=0)
        mean = total / max(n, 1)
        covariance = np.zeros((d, d), dtype=np.float64)
        for start in range(0, n, _CHUNK):
            x = np.asarray(vectors[start:start + _CHUNK], dtype=np.float32) - mean.astype(np.float32)
            covariance += (x.T @ x).astype(np.float64)
        return cls(mean, covariance / max(n, 1), n)

    def save(self, generation: Path) -> None:
        np.savez(generation / MOMENTS_FILE, mean=self.mean, covariance=self.covariance, rows=self.rows)

    @classmethod
    def load(cls, generation: Path) -> "DenseMoments | None":
        path = generation / MOMENTS_FILE
        if not path.exists():
            return None
        with np.load(path) as stored:
            return cls(stored["mean"], stored["covariance"], int(stored["rows"]))

    def mean_std(self, query: np.ndarray) -> tuple[float, float]:
        """Mean and standard deviation of ``query``'s inner product with every vector."""
        q = np.asarray(query, dtype=np.float64).ravel()
        return float(q @ self.mean), float(max(q @ self.covariance @ q, 0.0)) ** 0.5
