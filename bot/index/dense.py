"""Dense backend: FAISS inner product over normalised sentence embeddings.

Exact search (IndexFlatIP) below `ann_threshold` chunks; above it an IVF index
whose probe count keeps recall close to exact (see bench/ for the measurement
that set the default threshold). The raw vectors (vectors.npy) are kept beside
the index so fusion can score any candidate exactly, whatever the index type,
and so the next build can carry them over; only an IVF index has its own file.
"""

from __future__ import annotations

import math
from pathlib import Path

import faiss
import numpy as np


class DenseIndex:
    """FAISS index plus the vectors it was built from (row = chunk position)."""

    def __init__(self, index: faiss.Index, vectors: np.ndarray):
        self.index = index
        self.vectors = vectors

    @classmethod
    def build(cls, vectors: np.ndarray, dimension: int, ann_threshold: int) -> "DenseIndex":
        vectors = np.ascontiguousarray(vectors.reshape(-1, dimension), dtype=np.float32)
        n = len(vectors)
        if n < ann_threshold:
            index = faiss.IndexFlatIP(dimension)
        else:
            nlist = int(4 * math.sqrt(n))
            index = faiss.IndexIVFFlat(faiss.IndexFlatIP(dimension), nlist,
                                       faiss.METRIC_INNER_PRODUCT)
            sample = vectors[np.random.default_rng(0).choice(n, min(n, nlist * 40), replace=False)]
            index.train(sample)
            index.nprobe = max(8, nlist // 16)
        if n:
            index.add(vectors)
        return cls(index, vectors)

    def search(self, query: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Top-k (scores, positions); positions of -1 are padding."""
        if self.index.ntotal == 0:
            return np.zeros(0, dtype=np.float32), np.zeros(0, dtype=np.int64)
        # One query is a memory-bound scan: OpenMP fork/join across the 2 cores
        # costs more than the scan (bench/faiss_threads.py, p95 at 10k: 16 ms with
        # 2 threads, 0.4 ms with 1). The setting is per calling thread, hence here.
        faiss.omp_set_num_threads(1)
        scores, ids = self.index.search(query.reshape(1, -1).astype(np.float32), min(k, self.index.ntotal))
        keep = ids[0] >= 0
        return scores[0][keep], ids[0][keep]

    def similarity(self, query: np.ndarray, positions: np.ndarray) -> np.ndarray:
        """Exact cosine of the query with the given chunk positions."""
        return self.vectors[positions] @ query

    def save(self, folder: Path) -> None:
        np.save(folder / "vectors.npy", self.vectors, allow_pickle=False)
        # An exact index is only a copy of the vectors: rebuilt on load (0.1 s at 100k)
        # rather than written, hashed and fsynced again by every build.
        if not isinstance(self.index, faiss.IndexFlat):
            faiss.write_index(self.index, str(folder / "dense.faiss"))

    @classmethod
    def load(cls, folder: Path) -> "DenseIndex":
        vectors = np.load(folder / "vectors.npy", allow_pickle=False, mmap_mode="r")
        if (folder / "dense.faiss").exists():
            index = faiss.read_index(str(folder / "dense.faiss"))
        else:
            index = faiss.IndexFlatIP(vectors.shape[1])
            index.add(np.ascontiguousarray(vectors, dtype=np.float32))
        return cls(index, vectors)
