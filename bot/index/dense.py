"""Dense backend: FAISS inner product over normalised sentence embeddings.

Exact search (IndexFlatIP) below `ann_threshold` chunks; above it an IVF index
whose probe count keeps recall close to exact. The raw vectors (vectors.npy)
are kept so fusion can score any candidate exactly, whatever the index type,
and so the next build can carry them over. Only an IVF index has a file of its
own; the exact one is filled from vectors.npy on load.
"""

from __future__ import annotations

import math
from pathlib import Path

import faiss
import numpy as np

_BLOCK = 16_384  # rows copied at a time: no full-size temporary on top of the index


def write_vectors(path: Path, old: np.ndarray, keep: np.ndarray, new: list[np.ndarray],
                  order: np.ndarray | None) -> np.ndarray:
    """A new version's vectors.npy: the old rows at `keep`, then the new rows (permuted by
    `order`), streamed to disk in blocks so the build holds no full copy in memory."""
    dimension = old.shape[1]
    rows = len(keep) + sum(len(v) for v in new)
    out = np.lib.format.open_memmap(path, mode="w+", dtype=np.float32, shape=(rows, dimension))
    for start in range(0, len(keep), _BLOCK):
        stop = min(start + _BLOCK, len(keep))
        out[start:stop] = old[keep[start:stop]]
    at = len(keep)
    for block in new:
        out[at:at + len(block)] = block
        at += len(block)
    if order is not None:  # never in practice (new ids follow old ones); correct if it happens
        out[:] = np.array(out)[order]
    out.flush()
    return out


def _add(index: faiss.Index, vectors: np.ndarray) -> None:
    """Add (memory-mapped) vectors block by block: no full in-memory copy first."""
    for start in range(0, len(vectors), _BLOCK):
        index.add(np.ascontiguousarray(vectors[start:start + _BLOCK], dtype=np.float32))


class DenseIndex:
    """FAISS index plus the vectors it was built from (row = chunk position)."""

    def __init__(self, index: faiss.Index, vectors: np.ndarray):
        self.index = index
        self.vectors = vectors

    @staticmethod
    def write_ann(folder: Path, vectors: np.ndarray, ann_threshold: int) -> None:
        """Past `ann_threshold` chunks, train and save an IVF index over the version's
        vectors. Below it nothing is written: the exact index is built at load."""
        n, dimension = vectors.shape
        if n < ann_threshold:
            return
        # FAISS wants about 39 training points per list; a tiny index gets fewer lists.
        nlist = max(1, min(int(4 * math.sqrt(n)), n // 39))
        quantizer = faiss.IndexFlatIP(dimension)  # referenced here until written
        index = faiss.IndexIVFFlat(quantizer, dimension, nlist, faiss.METRIC_INNER_PRODUCT)
        sample = np.ascontiguousarray(vectors[np.sort(np.random.default_rng(0).choice(
            n, min(n, nlist * 40), replace=False))], dtype=np.float32)
        index.train(sample)
        index.nprobe = max(8, nlist // 16)
        _add(index, vectors)
        faiss.write_index(index, str(folder / "dense.faiss"))

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

    @classmethod
    def load(cls, folder: Path) -> "DenseIndex":
        vectors = np.load(folder / "vectors.npy", allow_pickle=False, mmap_mode="r")
        if (folder / "dense.faiss").exists():
            return cls(faiss.read_index(str(folder / "dense.faiss")), vectors)
        index = faiss.IndexFlatIP(vectors.shape[1])
        _add(index, vectors)
        # The exact index holds the vectors already: read them from its own memory rather
        # than keep a second copy mapped (150 MB at 100k chunks).
        stored = faiss.rev_swig_ptr(index.get_xb(), index.ntotal * index.d) if index.ntotal else \
            np.zeros(0, np.float32)
        return cls(index, stored.reshape(index.ntotal, index.d))
