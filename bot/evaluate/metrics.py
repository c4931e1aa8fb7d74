"""Retrieval metrics as pure functions of ranks: no model, no index, easy to test.

A question's rank is the 1-based position of its first relevant result after
de-duplication, or None when none of the first `depth` results is relevant.
Each question has one relevant item (its first hit), so the ideal DCG is 1 and
nDCG@k is the mean of 1 / log2(1 + rank) over questions found within k.
"""

from __future__ import annotations

import math
from typing import Callable, Hashable, Iterable, Sequence, TypeVar

import numpy as np

T = TypeVar("T")
Rank = int | None


def first_rank(results: Iterable[T], is_hit: Callable[[T], bool],
               key: Callable[[T], Hashable] | None = None, depth: int = 10) -> Rank:
    """Rank of the first hit among the first `depth` distinct results (by `key`)."""
    seen: set = set()
    for i, item in enumerate(results):
        k = key(item) if key else i
        if k in seen:
            continue
        seen.add(k)
        if len(seen) > depth:
            return None
        if is_hit(item):
            return len(seen)
    return None


def _mean(values: Sequence[float]) -> float | None:
    return round(float(sum(values)) / len(values), 4) if values else None


def recall_at(ranks: Sequence[Rank], k: int) -> float | None:
    """Share of questions whose first hit is within the top k."""
    return _mean([1.0 if r is not None and r <= k else 0.0 for r in ranks])


def mrr_at(ranks: Sequence[Rank], k: int) -> float | None:
    """Mean reciprocal rank, counting 0 beyond k."""
    return _mean([1.0 / r if r is not None and r <= k else 0.0 for r in ranks])


def ndcg_at(ranks: Sequence[Rank], k: int) -> float | None:
    """nDCG@k with one relevant item per question (ideal DCG = 1)."""
    return _mean([1.0 / math.log2(1 + r) if r is not None and r <= k else 0.0 for r in ranks])


def rate(flags: Sequence[bool]) -> float | None:
    """Share of True values; None when there is nothing to count."""
    return _mean([1.0 if f else 0.0 for f in flags])


def latency(ms: Sequence[float]) -> dict:
    """Median and 95th percentile in milliseconds (linear interpolation)."""
    if not ms:
        return {"median": None, "p95": None}
    values = np.asarray(ms, dtype=float)
    return {"median": round(float(np.percentile(values, 50)), 1),
            "p95": round(float(np.percentile(values, 95)), 1)}


def ranking_metrics(ranks: Sequence[Rank], ks: Sequence[int] = (1, 5, 10)) -> dict:
    """R@k for each k, MRR@10 and nDCG@10."""
    out = {f"R@{k}": recall_at(ranks, k) for k in ks}
    out["MRR@10"] = mrr_at(ranks, 10)
    out["nDCG@10"] = ndcg_at(ranks, 10)
    return out
