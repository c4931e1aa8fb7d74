"""Fusion of the lexical and dense rankings: pure functions of score arrays.

Measured on ALQAC (README, "Measurements"): with the offline MiniLM, which
barely reads Vietnamese (dense R@1 0.27), reciprocal-rank fusion costs 13 to 34
points of R@1 whatever its weight, while a convex combination of min-max
normalised scores with a small dense weight keeps BM25's ranking and lets the
dense side break near ties. Hence `convex`, with the weight a setting.
"""

from __future__ import annotations

import numpy as np


def minmax(scores: np.ndarray) -> np.ndarray:
    """Scale to [0, 1]; a constant array becomes all zeros."""
    scores = np.asarray(scores, dtype=np.float32)
    if scores.size == 0:
        return scores
    low, high = float(scores.min()), float(scores.max())
    if high - low < 1e-9:
        return np.zeros_like(scores)
    return (scores - low) / (high - low)


def convex(lexical: np.ndarray, dense: np.ndarray, dense_weight: float) -> np.ndarray:
    """(1 - w) * minmax(lexical) + w * minmax(dense), over the same candidates."""
    return (1.0 - dense_weight) * minmax(lexical) + dense_weight * minmax(dense)


def rrf(rankings: list[np.ndarray], n: int, k: int = 60, weights: list[float] | None = None) -> np.ndarray:
    """Reciprocal-rank fusion over `n` items; kept for the benchmark's comparison."""
    fused = np.zeros(n, dtype=np.float32)
    for ranking, weight in zip(rankings, weights or [1.0] * len(rankings)):
        fused[ranking] += weight / (k + 1 + np.arange(len(ranking)))
    return fused


def top(scores: np.ndarray, k: int) -> np.ndarray:
    """Indices of the k best scores, best first (stable for ties)."""
    k = min(k, len(scores))
    if k <= 0:
        return np.zeros(0, dtype=np.int64)
    part = np.argpartition(-scores, k - 1)[:k]
    return part[np.lexsort((part, -scores[part]))]
