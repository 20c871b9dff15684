"""Reciprocal-rank fusion: robust to the very different score scales of cosine and BM25."""
from __future__ import annotations

import numpy as np

RRF_K = 60


def rank_order(scores: np.ndarray, allowed: np.ndarray | None, depth: int) -> np.ndarray:
    """Rows of the ``depth`` best positive scores, best first, among allowed rows."""
    masked = scores if allowed is None else np.where(allowed, scores, -np.inf)
    depth = min(depth, len(masked))
    if depth == 0:
        return np.zeros(0, dtype=np.int64)
    top = np.argpartition(-masked, depth - 1)[:depth]
    top = top[np.argsort(-masked[top], kind="stable")]
    return top[np.isfinite(masked[top])]


def reciprocal_rank_fusion(rankings: dict[str, np.ndarray], weights: dict[str, float],
                           k: int = RRF_K) -> list[tuple[int, float, dict[str, int]]]:
    """Fuse ranked row lists into (row, score, {method: 1-based rank}) sorted by score."""
    fused: dict[int, float] = {}
    ranks: dict[int, dict[str, int]] = {}
    for method, rows in rankings.items():
        w = weights.get(method, 1.0)
        for position, row in enumerate(rows.tolist(), start=1):
            fused[row] = fused.get(row, 0.0) + w / (k + position)
            ranks.setdefault(row, {})[method] = position
    ordered = sorted(fused.items(), key=lambda kv: (-kv[1], kv[0]))
    return [(row, score, ranks[row]) for row, score in ordered]
