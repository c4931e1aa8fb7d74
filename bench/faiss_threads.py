"""One query against an exact FAISS index: OpenMP with 1 thread against the default (all cores).

    python bench/faiss_threads.py [--sizes 10000,100000] [--rounds 200]

Why `DenseIndex.search` sets one thread: a single query is a memory-bound scan,
and fork/join across the cores cost more than the scan itself on this machine.
Random unit vectors of the model's dimension; medians and p95 over `--rounds`
queries, both settings in the same run.
"""

from __future__ import annotations

import argparse
import statistics
import time

import faiss
import numpy as np
from timing import percentile


def timed(index: faiss.Index, queries: np.ndarray, threads: int) -> tuple[float, float]:
    faiss.omp_set_num_threads(threads)
    index.search(queries[:1], 100)  # warm-up
    ms = []
    for q in queries:
        started = time.perf_counter()
        index.search(q[None, :], 100)
        ms.append((time.perf_counter() - started) * 1000)
    return statistics.median(ms), percentile(ms, 0.95)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", default="10000,100000")
    ap.add_argument("--rounds", type=int, default=200)
    ap.add_argument("--dimension", type=int, default=384)
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    default = faiss.omp_get_max_threads()
    print(f"| chunks | 1 thread: median / p95 (ms) | {default} threads: median / p95 (ms) |")
    print("|---|---|---|")
    for size in (int(s) for s in args.sizes.split(",")):
        vectors = rng.standard_normal((size, args.dimension), dtype=np.float32)
        faiss.normalize_L2(vectors)
        index = faiss.IndexFlatIP(args.dimension)
        index.add(vectors)
        queries = vectors[rng.choice(size, args.rounds, replace=False)]
        one = timed(index, queries, 1)
        many = timed(index, queries, default)
        print(f"| {size:,} | {one[0]:.2f} / {one[1]:.2f} | {many[0]:.2f} / {many[1]:.2f} |")


if __name__ == "__main__":
    main()
